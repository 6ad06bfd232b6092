//! What `xconnect generate` writes, built and checked from what it was asked: plain calls
//! ([`Source`]) or SIP dialogs with their media ([`DialogSource`]).

use std::net::Ipv4Addr;

use xconnect_frame::VlanId;

use crate::dialog::{DialogPlan, DialogSource};
use crate::mix::{Frames, Mix};
use crate::source::{AddressPlan, Arrivals, CallPlan, Directions, Phase, Source};
use crate::Codec;

/// 2026-01-01T00:00:00Z: generated captures start here, so that the same arguments give the
/// same bytes.
pub const GENERATE_EPOCH_NS: u64 = 1_767_225_600_000_000_000;

/// What `generate` is asked (each field as given on the command line; [`Generator::new`]
/// checks them all).
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateAsk {
    /// Concurrent calls.
    pub calls: u64,
    /// Seconds of calls.
    pub seconds: f64,
    /// Codec.
    pub codec: Codec,
    /// Packet time, ms.
    pub ptime_ms: u32,
    /// 802.1Q VLAN id, if tagged.
    pub vlan: Option<u16>,
    /// Phases.
    pub phase: Phase,
    /// Both legs of each call (always with `sip`).
    pub both_directions: bool,
    /// Seed.
    pub seed: u64,
    /// Talkspurts and silences.
    pub silence_suppression: bool,
    /// The customer's prefix, e.g. "203.0.113.0/24".
    pub customer_prefix: String,
    /// Each call a SIP dialog with SDP and RTCP.
    pub sip: bool,
    /// Comfort noise in the pauses (needs `silence_suppression`).
    pub comfort_noise: bool,
    /// Share of calls with RFC 4733 DTMF.
    pub dtmf_share: Option<f64>,
    /// Share of calls switched to T.38 fax.
    pub t38_share: Option<f64>,
}

/// The address plan of calls from `--customer-prefix` (to the provider's media range).
pub fn customer_addresses(prefix: &str) -> Result<AddressPlan, String> {
    let (net, len) = prefix
        .split_once('/')
        .and_then(|(a, l)| Some((a.parse::<Ipv4Addr>().ok()?, l.parse::<u8>().ok().filter(|l| *l <= 30)?)))
        .ok_or_else(|| {
            format!("--customer-prefix {prefix:?}: expected an IPv4 prefix such as 203.0.113.0/24 (at most /30)")
        })?;
    Ok(AddressPlan { customer: (net, len), ..AddressPlan::default() })
}

/// The frames of a `generate` run, in time order.
pub enum Generator {
    /// Calls without signalling (one [`Source`] per class of a mix).
    Plain(Mix<Source>),
    /// SIP dialogs with their media (one [`DialogSource`] per class of a mix).
    Dialogs(Box<Mix<DialogSource>>),
}

/// What `generate` adds to plain calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signalling {
    /// Each call a SIP dialog with SDP and RTCP.
    pub sip: bool,
    /// Comfort noise in the pauses (needs silence suppression).
    pub comfort_noise: bool,
    /// Share of calls with RFC 4733 DTMF.
    pub dtmf_share: Option<f64>,
    /// Share of calls switched to T.38 fax.
    pub t38_share: Option<f64>,
}

impl Signalling {
    fn check(&self) -> Result<(), String> {
        for (flag, share) in [("--dtmf-share", self.dtmf_share), ("--t38-share", self.t38_share)] {
            if let Some(x) = share {
                if !(0.0..=1.0).contains(&x) {
                    return Err(format!("{flag} {x}: expected a share of the calls from 0 to 1, e.g. 0.1"));
                }
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for Generator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Generator::Plain(_) => "Generator::Plain",
            Generator::Dialogs(_) => "Generator::Dialogs",
        })
    }
}

impl Generator {
    /// Checks `ask` and builds its calls; the error names the option and what it takes.
    pub fn new(ask: &GenerateAsk) -> Result<(Generator, CallPlan), String> {
        let seconds = ask.seconds;
        if !(seconds > 0.0 && seconds <= 86_400.0) {
            return Err(format!("--seconds {seconds}: expected more than 0 and at most 86400 (one day)"));
        }
        let vlan = ask
            .vlan
            .map(|v| VlanId::try_new(v).ok_or_else(|| format!("--vlan {v}: a VLAN id is 0-4095")))
            .transpose()?;
        let addresses = customer_addresses(&ask.customer_prefix)?;
        if ask.comfort_noise && !ask.silence_suppression {
            return Err("--comfort-noise fills the pauses of --silence-suppression: give both".into());
        }
        let signalling = Signalling {
            sip: ask.sip,
            comfort_noise: ask.comfort_noise,
            dtmf_share: ask.dtmf_share,
            t38_share: ask.t38_share,
        };
        let plan = CallPlan {
            calls: ask.calls,
            codec: ask.codec,
            ptime_ms: ask.ptime_ms,
            vlan,
            phase: ask.phase,
            // A SIP call has both legs.
            directions: if ask.both_directions || ask.sip { Directions::Both } else { Directions::ToProvider },
            seed: ask.seed,
            start_ns: GENERATE_EPOCH_NS,
            duration_ns: (seconds * 1e9) as u64,
            addresses,
            silence_suppression: ask.silence_suppression,
            arrivals: Arrivals::Fixed,
        };
        let generator = Generator::of_plans(std::slice::from_ref(&plan), signalling)?;
        Ok((generator, plan))
    }

    /// The generator of several plans sent together (a scenario's traffic mix, each plan in
    /// its own address lane), with `signalling`.
    pub fn of_plans(plans: &[CallPlan], signalling: Signalling) -> Result<Generator, String> {
        signalling.check()?;
        if plans.is_empty() {
            return Err("no calls to generate".into());
        }
        Ok(if signalling.sip {
            let dialogs = plans
                .iter()
                .map(|p| {
                    DialogSource::new(&DialogPlan {
                        calls: p.clone(),
                        comfort_noise: signalling.comfort_noise,
                        dtmf_share: signalling.dtmf_share.unwrap_or(0.0),
                        t38_share: signalling.t38_share.unwrap_or(0.0),
                    })
                    .map_err(|e| e.to_string())
                })
                .collect::<Result<Vec<_>, _>>()?;
            Generator::Dialogs(Box::new(Mix::new(dialogs)))
        } else {
            let sources =
                plans.iter().map(|p| Source::new(p).map_err(|e| e.to_string())).collect::<Result<Vec<_>, _>>()?;
            Generator::Plain(Mix::new(sources))
        })
    }

    /// Writes the next frame into `buf` (at least [`crate::dialog::MAX_FRAME`] bytes) and
    /// returns its time (ns) and length, or `None` at the end.
    pub fn next_into(&mut self, buf: &mut [u8]) -> Option<(u64, usize)> {
        match self {
            Generator::Plain(s) => s.next_into(buf),
            Generator::Dialogs(d) => d.next_into(buf),
        }
    }

    /// Bytes the caller's buffer needs.
    pub fn frame_len(&self) -> usize {
        match self {
            Generator::Plain(s) => s.frame_len(),
            Generator::Dialogs(d) => d.frame_len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask() -> GenerateAsk {
        GenerateAsk {
            calls: 2,
            seconds: 0.1,
            codec: Codec::G711U,
            ptime_ms: 20,
            vlan: None,
            phase: Phase::Random,
            both_directions: false,
            seed: 1,
            silence_suppression: false,
            customer_prefix: "203.0.113.0/24".into(),
            sip: false,
            comfort_noise: false,
            dtmf_share: None,
            t38_share: None,
        }
    }

    #[test]
    fn every_option_is_checked_with_its_name() {
        for (a, msg) in [
            (GenerateAsk { seconds: 0.0, ..ask() }, "--seconds 0"),
            (GenerateAsk { vlan: Some(5000), ..ask() }, "--vlan 5000"),
            (GenerateAsk { customer_prefix: "203.0.113.0/31".into(), ..ask() }, "--customer-prefix"),
            (GenerateAsk { comfort_noise: true, sip: true, ..ask() }, "--comfort-noise"),
            (GenerateAsk { sip: true, dtmf_share: Some(1.5), ..ask() }, "--dtmf-share 1.5"),
            (GenerateAsk { calls: 0, ..ask() }, "at least 1"),
        ] {
            let e = Generator::new(&a).unwrap_err();
            assert!(e.contains(msg), "{e}");
        }
        let (mut g, plan) = Generator::new(&GenerateAsk { sip: true, ..ask() }).unwrap();
        assert_eq!(plan.directions, Directions::Both, "a SIP call has both legs");
        let mut buf = vec![0u8; crate::dialog::MAX_FRAME];
        // The first INVITE goes out around the epoch (signalling precedes the media).
        let (t, _) = g.next_into(&mut buf).unwrap();
        assert!(t.abs_diff(GENERATE_EPOCH_NS) < 10_000_000_000, "{t}");
    }
}
