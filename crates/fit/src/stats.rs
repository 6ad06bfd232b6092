//! The statistics a fit states: the Kolmogorov–Smirnov test of inter-arrival times against
//! the exponential (is the arrival process Poisson?), and the holding times fitted as
//! exponential and as lognormal by maximum likelihood, the better one chosen by AIC.

use serde::Serialize;

/// Fewest inter-arrival times the Poisson test is run on (below it the test has no power
/// worth stating).
pub const MIN_GAPS: usize = 20;

/// Fewest completed calls the holding-time distributions are fitted to.
pub const MIN_HOLDS: usize = 10;

/// Stephens' (1974) critical values of the modified statistic for the exponential with its
/// mean estimated from the sample: (significance level, value), from the weakest evidence to
/// the strongest.
const STEPHENS_EXP: [(f64, f64); 5] = [(0.15, 0.926), (0.10, 0.995), (0.05, 1.094), (0.025, 1.184), (0.01, 1.298)];

/// The level the Poisson test rejects at.
pub const LEVEL: f64 = 0.05;

/// The Kolmogorov–Smirnov test of inter-arrival times against the exponential.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ExpTest {
    /// Inter-arrival times tested.
    pub n: usize,
    /// Their mean, s (the exponential's, by maximum likelihood).
    pub mean_s: f64,
    /// The largest distance between the sample's distribution and the exponential's.
    pub d: f64,
    /// Stephens' modified statistic (D − 0.2/n)(√n + 0.26 + 0.5/√n), compared with his table
    /// for an estimated mean.
    pub statistic: f64,
    /// The smallest tabled level the statistic is significant at (0.15, 0.10, 0.05, 0.025,
    /// 0.01), `None` when it is below even the 15 % value: the data agree with Poisson.
    pub significant_at: Option<f64>,
    /// Whether Poisson is rejected at [`LEVEL`].
    pub rejected: bool,
}

/// Tests `gaps` (s, each above 0) against the exponential with their mean; `None` with fewer
/// than [`MIN_GAPS`].
pub fn exponential_ks(gaps: &[f64]) -> Option<ExpTest> {
    let n = gaps.len();
    if n < MIN_GAPS {
        return None;
    }
    let mean = gaps.iter().sum::<f64>() / n as f64;
    if mean.is_nan() || mean <= 0.0 {
        return None;
    }
    let mut x = gaps.to_vec();
    x.sort_by(f64::total_cmp);
    let nf = n as f64;
    let d = x
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let f = 1.0 - (-v / mean).exp();
            ((i + 1) as f64 / nf - f).max(f - i as f64 / nf)
        })
        .fold(0.0, f64::max);
    let statistic = (d - 0.2 / nf) * (nf.sqrt() + 0.26 + 0.5 / nf.sqrt());
    let significant_at = STEPHENS_EXP.iter().rev().find(|(_, c)| statistic > *c).map(|(a, _)| *a);
    Some(ExpTest {
        n,
        mean_s: mean,
        d,
        statistic,
        significant_at,
        rejected: significant_at.is_some_and(|a| a <= LEVEL),
    })
}

/// A holding-time distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dist {
    /// Exponential.
    Exponential,
    /// Lognormal.
    Lognormal,
}

/// Holding times fitted both ways.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HoldFit {
    /// Completed calls fitted.
    pub n: usize,
    /// Their mean, s (the exponential's maximum-likelihood mean).
    pub mean_s: f64,
    /// Their median, s.
    pub median_s: f64,
    /// The lognormal's μ and σ (of the natural logarithm of seconds).
    pub lognormal_mu: f64,
    /// σ.
    pub lognormal_sigma: f64,
    /// Akaike's information criterion of each (2k − 2 ln L; k = 1 and 2): lower is better.
    pub aic_exponential: f64,
    /// AIC of the lognormal.
    pub aic_lognormal: f64,
    /// The lower AIC.
    pub best: Dist,
}

/// Fits `holds` (s, each above 0); `None` with fewer than [`MIN_HOLDS`].
pub fn fit_holding(holds: &[f64]) -> Option<HoldFit> {
    let n = holds.len();
    if n < MIN_HOLDS || holds.iter().any(|h| h.is_nan() || *h <= 0.0) {
        return None;
    }
    let nf = n as f64;
    let mean = holds.iter().sum::<f64>() / nf;
    // Exponential: ln L = −n ln(mean) − Σx / mean = −n ln(mean) − n.
    let ll_exp = -nf * mean.ln() - nf;
    let logs: Vec<f64> = holds.iter().map(|h| h.ln()).collect();
    let mu = logs.iter().sum::<f64>() / nf;
    let var = logs.iter().map(|l| (l - mu).powi(2)).sum::<f64>() / nf;
    // Every holding time equal: the lognormal degenerates (σ = 0, infinite likelihood).
    let sigma = var.sqrt().max(1e-9);
    // Lognormal: ln L = −Σ ln x − n ln σ − n/2 ln 2π − n/2 (at the maximum).
    let ll_ln = -logs.iter().sum::<f64>() - nf * sigma.ln() - nf / 2.0 * (2.0 * std::f64::consts::PI).ln() - nf / 2.0;
    let (aic_exponential, aic_lognormal) = (2.0 - 2.0 * ll_exp, 4.0 - 2.0 * ll_ln);
    let mut sorted = holds.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median_s = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
    Some(HoldFit {
        n,
        mean_s: mean,
        median_s,
        lognormal_mu: mu,
        lognormal_sigma: sigma,
        aic_exponential,
        aic_lognormal,
        best: if aic_lognormal < aic_exponential { Dist::Lognormal } else { Dist::Exponential },
    })
}

/// The median of `v` (`None` when empty).
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn exp(rng: &mut StdRng, mean: f64) -> f64 {
        -(1.0 - rng.random::<f64>()).ln() * mean
    }

    #[test]
    fn exponential_gaps_pass_and_others_fail() {
        let mut rng = StdRng::seed_from_u64(3);
        // Over 200 samples of 500 exponential gaps, the test rejects about 5 % (its level).
        let rejected = (0..200)
            .filter(|_| {
                let g: Vec<f64> = (0..500).map(|_| exp(&mut rng, 2.0)).collect();
                exponential_ks(&g).unwrap().rejected
            })
            .count();
        assert!((2..=20).contains(&rejected), "{rejected} of 200 rejected at 5 %");
        // Evenly spaced arrivals (a dialer), and uniform gaps: rejected.
        let even: Vec<f64> = (0..100).map(|i| 1.0 + 0.01 * (i % 3) as f64).collect();
        assert!(exponential_ks(&even).unwrap().rejected);
        let uniform: Vec<f64> = (0..500).map(|_| rng.random_range(0.0..4.0)).collect();
        let t = exponential_ks(&uniform).unwrap();
        assert!(t.rejected && t.significant_at == Some(0.01), "{t:?}");
        assert!(exponential_ks(&even[..MIN_GAPS - 1]).is_none(), "too few to test");
    }

    #[test]
    fn the_statistic_matches_a_hand_computation() {
        // Gaps 1, 2, 3 … 20 (mean 10.5): D is the largest of i/n − F(x_i) and F(x_i) − (i−1)/n.
        let g: Vec<f64> = (1..=20).map(f64::from).collect();
        let t = exponential_ks(&g).unwrap();
        let f = |x: f64| 1.0 - (-x / 10.5).exp();
        let d = (1..=20)
            .map(|i| {
                let x = f64::from(i);
                (f64::from(i) / 20.0 - f(x)).max(f(x) - f64::from(i - 1) / 20.0)
            })
            .fold(0.0, f64::max);
        assert!((t.d - d).abs() < 1e-12);
        assert!((t.statistic - (d - 0.01) * (20f64.sqrt() + 0.26 + 0.5 / 20f64.sqrt())).abs() < 1e-12);
    }

    #[test]
    fn holding_times_choose_the_distribution_they_came_from() {
        let mut rng = StdRng::seed_from_u64(9);
        let e: Vec<f64> = (0..2000).map(|_| exp(&mut rng, 180.0)).collect();
        let f = fit_holding(&e).unwrap();
        assert_eq!(f.best, Dist::Exponential);
        assert!((f.mean_s - 180.0).abs() < 10.0, "{f:?}");
        // Lognormal(ln 120, 0.8) by Box–Muller.
        let l: Vec<f64> = (0..2000)
            .map(|_| {
                let (u, v): (f64, f64) = (1.0 - rng.random::<f64>(), rng.random());
                let z = (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos();
                (120f64.ln() + 0.8 * z).exp()
            })
            .collect();
        let f = fit_holding(&l).unwrap();
        assert_eq!(f.best, Dist::Lognormal);
        assert!((f.lognormal_mu - 120f64.ln()).abs() < 0.05 && (f.lognormal_sigma - 0.8).abs() < 0.05, "{f:?}");
        assert!(fit_holding(&l[..MIN_HOLDS - 1]).is_none());
        assert!(fit_holding(&[1.0; 20]).is_some(), "equal holding times do not break the lognormal");
    }
}
