//! Charts as inline SVG: a line, step or point chart with reference lines, markers and shaded
//! spans, and a bar chart of a distribution. Written here rather than with plotters because
//! the report needs what a drawing backend does not give: a DOM the browser test can read
//! (`figure.chart` with its series, axis labels and legend as text), colours and dashes set by
//! the page's stylesheet (so print and colour-blind readers get the same classes), and no font
//! stack at build time (plotters measures text with a TrueType font; here the browser lays text
//! out itself).
//!
//! Colours come from the page's CSS (`.s0` … `.s6`: the Okabe–Ito palette, safe for the common
//! colour-vision deficiencies), and every series also has its own dash pattern, so that lines are
//! told apart in grey print too.

use std::fmt::Write;

use super::escape;

/// Width and height of the SVG's coordinate space.
const W: f64 = 760.0;
const H: f64 = 280.0;
/// Margins: left (y tick labels and the axis label), right, top, bottom (x ticks and label).
const ML: f64 = 70.0;
const MR: f64 = 20.0;
const MT: f64 = 16.0;
const MB: f64 = 46.0;

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A polyline through the points (gaps where a value is missing).
    Line,
    /// Dots.
    Points,
}

/// One series: a name for the legend and its points.
#[derive(Debug, Clone)]
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, Option<f64>)>,
    pub mark: Mark,
}

impl Line {
    pub fn new(name: &str, xs: &[f64], ys: impl IntoIterator<Item = Option<f64>>, mark: Mark) -> Line {
        Line { name: name.to_string(), points: xs.iter().copied().zip(ys).collect(), mark }
    }
}

/// A line chart.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// A stable id (`data-chart`), for the tests and for links.
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub lines: Vec<Line>,
    /// Horizontal reference lines: (y, label), e.g. the tier.
    pub hlines: Vec<(f64, String)>,
    /// Vertical markers: (x, label), e.g. "link down".
    pub vlines: Vec<(f64, String)>,
    /// Shaded spans of x: (from, to, label), e.g. the outage.
    pub spans: Vec<(f64, f64, String)>,
    /// The y axis starts at 0 (rates, counts: values that are never negative) rather than at
    /// the data's minimum.
    pub y_from_zero: bool,
    /// A fixed y range (MOS: 1 to 4.5).
    pub y_range: Option<(f64, f64)>,
    /// A fixed x range; markers outside it are left out (the caller says them in words).
    pub x_range: Option<(f64, f64)>,
}

/// Round tick steps: 1, 2, 2.5 or 5 × 10^k, about `n` of them over `span`.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let raw = span / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 && out.len() < 50 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

/// A number for a tick label: no more digits than the step needs.
fn tick_text(v: f64, step: f64) -> String {
    // The fewest decimals that write the step exactly (0.25 needs two, 20 none).
    let mut decimals = 0usize;
    while decimals < 6 {
        let scaled = step * 10f64.powi(decimals as i32);
        if (scaled.round() - scaled).abs() < 1e-6 * scaled.abs().max(1.0) {
            break;
        }
        decimals += 1;
    }
    let s = format!("{v:.decimals$}");
    if s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
        "0".into()
    } else {
        s
    }
}

/// The data's range, widened when flat, or `fallback` without data.
fn range(values: impl Iterator<Item = f64>, fallback: (f64, f64)) -> (f64, f64) {
    let (lo, hi) =
        values.filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return fallback;
    }
    if hi - lo < 1e-12 {
        let pad = if hi.abs() > 0.0 { hi.abs() * 0.1 } else { 1.0 };
        return (lo - pad, hi + pad);
    }
    (lo, hi)
}

impl Chart {
    /// The chart as a `<figure>` with an inline SVG and a legend.
    pub fn render(&self) -> String {
        let xs = self.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0));
        let (x0, x1) = match self.x_range {
            Some(r) => r,
            None => range(
                xs.chain(self.vlines.iter().map(|v| v.0)).chain(self.spans.iter().flat_map(|s| [s.0, s.1])),
                (0.0, 1.0),
            ),
        };
        let ys = self.lines.iter().flat_map(|l| l.points.iter().filter_map(|p| p.1));
        let (mut y0, mut y1) = match self.y_range {
            Some(r) => r,
            None => range(ys.chain(self.hlines.iter().map(|h| h.0)), (0.0, 1.0)),
        };
        if self.y_from_zero && self.y_range.is_none() {
            // Counts and rates: the axis starts at 0, and all zeros still show a unit of room.
            y0 = 0.0;
            if y1 <= 0.0 {
                y1 = 1.0;
            }
        }
        if self.y_range.is_none() {
            y1 += (y1 - y0) * 0.05;
        }
        let px = |x: f64| ML + (x - x0) / (x1 - x0) * (W - ML - MR);
        let py = |y: f64| H - MB - (y - y0) / (y1 - y0) * (H - MT - MB);
        let mut s = open_figure(&self.id, &self.title);
        // Shaded spans first, under everything.
        for (a, b, label) in self.spans.iter().filter(|s| s.1 >= x0 && s.0 <= x1) {
            let (xa, xb) = (px(a.max(x0)), px(b.min(x1)));
            let _ = write!(
                s,
                "<g class=\"span\"><rect x=\"{xa:.1}\" y=\"{MT}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}</title></rect>\
                 <text x=\"{:.1}\" y=\"{:.1}\" class=\"span-label\">{}</text></g>",
                (xb - xa).max(1.0),
                H - MT - MB,
                escape(label),
                xa + 3.0,
                MT + 12.0,
                escape(label)
            );
        }
        y_axis(&mut s, (y0, y1), py, &self.y_label, false);
        let xt = ticks(x0, x1, 8);
        let xstep = if xt.len() > 1 { xt[1] - xt[0] } else { 1.0 };
        s.push_str("<g class=\"axis x\">");
        let _ = write!(
            s,
            "<line class=\"axis-line\" x1=\"{ML}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>",
            W - MR,
            H - MB,
            H - MB
        );
        for &t in &xt {
            let x = px(t);
            let _ = write!(
                s,
                "<line class=\"tick-mark\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/><text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                H - MB,
                H - MB + 4.0,
                H - MB + 16.0,
                tick_text(t, xstep)
            );
        }
        let _ = write!(
            s,
            "<text class=\"axis-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
            ML + (W - ML - MR) / 2.0,
            H - 8.0,
            escape(&self.x_label)
        );
        // Reference lines and markers.
        for (y, label) in &self.hlines {
            let yy = py(*y);
            let _ = write!(
                s,
                "<g class=\"ref\"><line x1=\"{ML}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text></g>",
                W - MR,
                W - MR - 4.0,
                yy - 4.0,
                escape(label)
            );
        }
        // Markers: a line each; labels of markers closer than 80 px share one text (events of
        // one failover fall within a second of each other), stacked in rows when groups crowd.
        let mut marks: Vec<(f64, &str)> =
            self.vlines.iter().filter(|v| (x0..=x1).contains(&v.0)).map(|(x, l)| (px(*x), l.as_str())).collect();
        marks.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut groups: Vec<(f64, Vec<&str>)> = Vec::new();
        for &(xx, label) in &marks {
            let _ = write!(
                s,
                "<g class=\"marker\"><line x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{MT}\" y2=\"{:.1}\"/></g>",
                H - MB
            );
            match groups.last_mut() {
                Some((at, labels)) if xx - *at < 80.0 => {
                    if !labels.contains(&label) {
                        labels.push(label);
                    }
                }
                _ => groups.push((xx, vec![label])),
            }
        }
        for (i, (xx, labels)) in groups.iter().enumerate() {
            // Near the right edge the text runs leftwards.
            let (tx, anchor) = if *xx > W - MR - 200.0 { (xx - 3.0, "end") } else { (xx + 3.0, "start") };
            let _ = write!(
                s,
                "<text class=\"marker-label\" x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
                MT + 24.0 + 12.0 * (i % 3) as f64,
                escape(&labels.join(", "))
            );
        }
        // The series.
        for (i, l) in self.lines.iter().enumerate() {
            let _ = write!(s, "<g class=\"series s{}\" data-series=\"{}\">", i % 7, escape(&l.name));
            match l.mark {
                Mark::Line => {
                    let mut run = String::new();
                    let flush = |run: &mut String, s: &mut String| {
                        if !run.is_empty() {
                            let _ = write!(s, "<polyline points=\"{}\"/>", run.trim_end());
                            run.clear();
                        }
                    };
                    for &(x, y) in &l.points {
                        match y.filter(|v| v.is_finite()) {
                            Some(y) => {
                                let _ = write!(run, "{:.1},{:.1} ", px(x), py(y.clamp(y0, y1)));
                            }
                            None => flush(&mut run, &mut s),
                        }
                    }
                    flush(&mut run, &mut s);
                }
                Mark::Points => {
                    for &(x, y) in &l.points {
                        if let Some(y) = y.filter(|v| v.is_finite()) {
                            let _ =
                                write!(s, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\"/>", px(x), py(y.clamp(y0, y1)));
                        }
                    }
                }
            }
            s.push_str("</g>");
        }
        let drawn = self.lines.iter().any(|l| l.points.iter().any(|p| p.1.is_some_and(f64::is_finite)));
        if !drawn {
            let _ = write!(
                s,
                "<text class=\"no-data\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">no value in this run</text>",
                ML + (W - ML - MR) / 2.0,
                MT + (H - MT - MB) / 2.0
            );
        }
        s.push_str("</svg>");
        s.push_str(&legend(self.lines.iter().map(|l| (l.name.as_str(), l.mark))));
        s.push_str("</figure>");
        s
    }
}

/// The figure, its caption, and the SVG's opening with the same title for screen readers.
fn open_figure(id: &str, title: &str) -> String {
    let (id, title) = (escape(id), escape(title));
    format!(
        "<figure class=\"chart\" data-chart=\"{id}\"><figcaption id=\"{id}-title\">{title}</figcaption>\
         <svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"{id}-title\" preserveAspectRatio=\"xMidYMid meet\">\
         <title>{title}</title>"
    )
}

/// The y axis over `(lo, hi)`: grid lines, tick labels (whole numbers only when `counts`),
/// and its label.
fn y_axis(s: &mut String, (lo, hi): (f64, f64), py: impl Fn(f64) -> f64, label: &str, counts: bool) {
    let yt = ticks(lo, hi, 5);
    let step = if yt.len() > 1 { yt[1] - yt[0] } else { 1.0 };
    s.push_str("<g class=\"axis y\">");
    for &t in yt.iter().filter(|t| !counts || t.fract() == 0.0) {
        let y = py(t);
        let _ = write!(
            s,
            "<line class=\"grid\" x1=\"{ML}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/><text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - MR,
            ML - 6.0,
            y + 4.0,
            tick_text(t, if counts { step.max(1.0) } else { step })
        );
    }
    let _ = write!(
        s,
        "<text class=\"axis-label\" transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text></g>",
        MT + (H - MT - MB) / 2.0,
        escape(label)
    );
}

/// The legend under a chart: one swatch per series, in the series' class.
fn legend<'a>(items: impl Iterator<Item = (&'a str, Mark)>) -> String {
    let mut s = String::from("<ul class=\"legend\">");
    for (i, (name, mark)) in items.enumerate() {
        let swatch = match mark {
            Mark::Line => "<line x1=\"0\" x2=\"24\" y1=\"6\" y2=\"6\"/>",
            Mark::Points => "<circle cx=\"12\" cy=\"6\" r=\"4\"/>",
        };
        let _ = write!(
            s,
            "<li><svg class=\"series s{}\" viewBox=\"0 0 24 12\" width=\"24\" height=\"12\" aria-hidden=\"true\">{swatch}</svg>{}</li>",
            i % 7,
            escape(name)
        );
    }
    s.push_str("</ul>");
    s
}

/// A bar chart of a distribution: `bins` of (label, count).
#[derive(Debug, Clone)]
pub struct Bars {
    pub id: String,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub bins: Vec<(String, u64)>,
}

impl Bars {
    pub fn render(&self) -> String {
        let most = self.bins.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
        let n = self.bins.len().max(1) as f64;
        let bw = (W - ML - MR) / n;
        let py = |y: f64| H - MB - y / (most * 1.05) * (H - MT - MB);
        let mut s = open_figure(&self.id, &self.title);
        y_axis(&mut s, (0.0, most * 1.05), py, &self.y_label, true);
        s.push_str("<g class=\"axis x\">");
        let label_every = (self.bins.len() / 12).max(1);
        for (i, (label, _)) in self.bins.iter().enumerate() {
            if i % label_every == 0 {
                let _ = write!(
                    s,
                    "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                    ML + bw * (i as f64 + 0.5),
                    H - MB + 16.0,
                    escape(label)
                );
            }
        }
        let _ = write!(
            s,
            "<text class=\"axis-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
            ML + (W - ML - MR) / 2.0,
            H - 8.0,
            escape(&self.x_label)
        );
        let _ = write!(s, "<g class=\"series s0 bars\" data-series=\"{}\">", escape(&self.y_label));
        for (i, (label, count)) in self.bins.iter().enumerate() {
            let y = py(*count as f64);
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}: {count}</title></rect>",
                ML + bw * i as f64 + 1.0,
                (bw - 2.0).max(1.0),
                (H - MB - y).max(0.0),
                escape(label)
            );
        }
        s.push_str("</g></svg>");
        s.push_str(&legend(std::iter::once((self.y_label.as_str(), Mark::Line))));
        s.push_str("</figure>");
        s
    }
}

/// A sparkline: a tiny line of `values` (ms), its largest value in its title.
pub fn sparkline(values: &[f64]) -> String {
    if values.is_empty() {
        return String::from("<span class=\"none\">none</span>");
    }
    let (w, h) = (120.0, 24.0);
    let most = values.iter().copied().fold(0.0f64, f64::max).max(1e-9);
    let n = values.len().max(2) as f64 - 1.0;
    let mut pts = String::new();
    for (i, v) in values.iter().enumerate() {
        let _ = write!(pts, "{:.1},{:.1} ", i as f64 / n * w, h - 2.0 - v / most * (h - 4.0));
    }
    format!(
        "<svg class=\"spark series s0\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"jitter up to {most:.3} ms\"><title>jitter over time, up to {most:.3} ms</title><polyline points=\"{}\"/></svg>",
        pts.trim_end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(0.0, 1.0, 4), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        let t = ticks(3.2, 187.0, 8);
        assert!(t.first().unwrap() >= &3.2 && t.last().unwrap() <= &187.0 && t.len() >= 4, "{t:?}");
        assert_eq!(tick_text(0.25, 0.25), "0.25");
        assert_eq!(tick_text(20.0, 20.0), "20");
        assert_eq!(tick_text(0.5, 0.5), "0.5");
    }

    #[test]
    fn a_chart_has_its_parts_and_no_non_numbers() {
        let c = Chart {
            id: "rate".into(),
            title: "Rate <a&b>".into(),
            x_label: "time (s)".into(),
            y_label: "Mbit/s".into(),
            lines: vec![Line::new("offered", &[0.0, 1.0, 2.0], [Some(1.0), None, Some(f64::NAN)], Mark::Line)],
            hlines: vec![(100.0, "tier".into())],
            vlines: vec![(1.0, "link down".into())],
            spans: vec![(1.0, 1.5, "outage".into())],
            y_from_zero: true,
            y_range: None,
            x_range: None,
        };
        let s = c.render();
        assert!(s.contains("Rate &lt;a&amp;b&gt;") && s.contains("time (s)") && s.contains("Mbit/s"), "{s}");
        assert!(s.contains("data-series=\"offered\"") && s.contains("outage") && s.contains("link down"));
        // Markers close together share one label.
        let crowded = Chart {
            vlines: vec![(1.0, "link down".into()), (1.01, "detected".into()), (1.02, "detected".into())],
            ..c.clone()
        }
        .render();
        assert_eq!(crowded.matches("class=\"marker-label\"").count(), 1, "{crowded}");
        assert!(crowded.contains("link down, detected<"), "{crowded}");
        assert_eq!(crowded.matches("<g class=\"marker\">").count(), 3);
        assert!(!s.contains("NaN") && !s.contains("inf"), "{s}");
        // A fixed x range leaves out the markers beyond it.
        let narrow = Chart { x_range: Some((0.0, 0.5)), ..c.clone() }.render();
        assert!(!narrow.contains("link down") && !narrow.contains("outage") && narrow.contains("axis x"));
        // An empty chart still has axes.
        let empty =
            Chart { id: "e".into(), lines: vec![Line::new("x", &[], [], Mark::Line)], ..Chart::default() }.render();
        assert!(!empty.contains("NaN") && empty.contains("axis x"));
    }
}
