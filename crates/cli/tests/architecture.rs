//! The layout the README's architecture section promises, checked on the sources: every crate
//! depends only on crates on a lower floor, and inside each crate the modules that name each
//! other (`crate::x`) form no circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The floors, lowest first (README, "Dependency order").
const FLOORS: &[&[&str]] = &[
    &["time"],
    &["input", "frame", "policer", "bfd"],
    &["capture", "trafgen", "bgp"],
    &["interconnect"],
    &["dataplane"],
    &["sim"],
    &["fit"],
    &["cli"],
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn floor(krate: &str) -> usize {
    FLOORS.iter().position(|f| f.contains(&krate)).unwrap_or_else(|| panic!("{krate} is on no floor"))
}

#[test]
fn crates_depend_only_on_lower_floors() {
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let krate = dir.file_name().unwrap().to_str().unwrap().to_string();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let own = floor(&krate);
        for dep in manifest.lines().filter_map(|l| l.trim().strip_prefix("xconnect-")) {
            let dep = dep.split(['.', ' ', '=']).next().unwrap();
            assert!(floor(dep) < own, "{krate} (floor {own}) depends on {dep} (floor {})", floor(dep));
        }
        seen.insert(krate);
    }
    let listed: BTreeSet<String> = FLOORS.iter().flat_map(|f| f.iter().map(|s| s.to_string())).collect();
    assert_eq!(seen, listed, "every crate on a floor, every floor's crate present");
}

/// `crate::name` references of each module (a file of `src/`) to the crate's other modules.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = std::fs::read_dir(src)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "rs").then(|| p.file_stem().unwrap().to_str().unwrap().to_string())
        })
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut graph = BTreeMap::new();
    for m in &modules {
        let text = std::fs::read_to_string(src.join(format!("{m}.rs"))).unwrap();
        // Tests may reach anywhere, and doc links are not dependencies: the module's own code
        // is what is layered.
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut uses = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if modules.contains(&name) && &name != m {
                uses.insert(name);
            }
            // `use crate::{a, b::c}`
            if rest.starts_with('{') {
                let inner = &rest[1..rest.find('}').unwrap_or(rest.len())];
                for part in inner.split(',') {
                    let name = part.trim().split("::").next().unwrap().to_string();
                    if modules.contains(&name) && &name != m {
                        uses.insert(name);
                    }
                }
            }
        }
        graph.insert(m.clone(), uses);
    }
    graph
}

/// A circle in `graph`, if there is one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            return Some(path[i..].iter().cloned().chain([n.to_string()]).collect());
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in &graph[n] {
            if let Some(c) = visit(m, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_circle_inside_any_crate() {
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let src = entry.unwrap().path().join("src");
        let graph = module_graph(&src);
        assert_eq!(circle(&graph), None, "{}: {graph:?}", src.display());
    }
    // The check itself finds a circle when there is one.
    let g: BTreeMap<String, BTreeSet<String>> = [("a", "b"), ("b", "c"), ("c", "a")]
        .into_iter()
        .map(|(x, y)| (x.to_string(), BTreeSet::from([y.to_string()])))
        .collect();
    assert_eq!(circle(&g), Some(vec!["a".into(), "b".into(), "c".into(), "a".into()]));
}

#[test]
fn the_simulator_handles_no_update_itself() {
    // One BGP peer: the simulator drives crates/bgp's Peer and never decodes or judges an
    // UPDATE on its own.
    let failover = std::fs::read_to_string(root().join("crates/sim/src/failover.rs")).unwrap();
    let code = failover.split("#[cfg(test)]").next().unwrap();
    for forbidden in ["Update {", "Action::Update", "policy.check(", "ImportPolicy::check", "Message::decode"] {
        assert!(!code.contains(forbidden), "failover.rs handles UPDATEs itself: {forbidden}");
    }
    assert!(code.contains("PeerAction::Accepted"));
}

#[test]
fn the_simulator_and_the_speaker_detect_with_one_bfd() {
    // One BFD: the simulator's detection is crates/bfd's Session in virtual time, the same
    // state machine `xconnect bgp --bfd` drives over UDP; no detection arithmetic of its own.
    let failover = std::fs::read_to_string(root().join("crates/sim/src/failover.rs")).unwrap();
    let code = failover.split("#[cfg(test)]").next().unwrap();
    assert!(code.contains("xconnect_bfd::Session::new"), "the simulator runs BFD sessions");
    for forbidden in ["u64::from(multiplier) *", "* u64::from(multiplier)", "multiplier) * interval"] {
        assert!(!code.contains(forbidden), "failover.rs computes BFD detection itself: {forbidden}");
    }
    let speaker = std::fs::read_to_string(root().join("crates/bgp/src/bfd_link.rs")).unwrap();
    assert!(speaker.contains("Session::new"), "the speaker runs the same sessions");
}
