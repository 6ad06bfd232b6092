//! Shared helpers: fixture paths, running the binary, external tools.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// The repository's fixtures/pcap directory.
pub fn pcap_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pcap")
}

/// A fixture capture by name.
pub fn pcap(name: &str) -> PathBuf {
    pcap_dir().join(name)
}

/// Every capture in fixtures/pcap, sorted.
pub fn all_pcaps() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(pcap_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("pcap" | "pcapng")))
        .collect();
    v.sort();
    assert!(v.len() >= 20, "fixtures/pcap is missing captures: {v:?}");
    v
}

/// Runs the xconnect binary.
pub fn xconnect(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xconnect")).args(args).output().expect("running xconnect")
}

/// Runs the xconnect binary, which must succeed, and reads the JSON it prints.
pub fn json_of(args: &[&str]) -> Value {
    let out = xconnect(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Whether an external tool is on PATH. Under `CI=true` a missing tool fails the test; elsewhere
/// the test is skipped with a loud message on stderr.
pub fn require_tool(tool: &str) -> bool {
    let found =
        Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{tool} is not installed, and CI=true requires it (.ci/run installs it)");
        }
        eprintln!("SKIPPED: {tool} is not installed; this test did not run (install it, see the README)");
    }
    found
}

/// Checks `value` against the subset of JSON Schema the schema file uses: type, required,
/// additionalProperties: false, properties, items, minItems, $ref to #/$defs, enum, minimum,
/// maximum, exclusiveMinimum. Returns the first violation with its JSON path.
pub fn check(schema: &Value, root: &Value, value: &Value, path: &str) -> Result<(), String> {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => &root["$defs"][r.trim_start_matches("#/$defs/")],
        None => schema,
    };
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() {
        let one = |t: &str| match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_u64() || value.is_i64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        };
        if !types.iter().any(|t| one(t)) {
            return Err(format!("{path}: expected {}, found {value}", types.join(" or ")));
        }
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        if !e.contains(value) {
            return Err(format!("{path}: {value} is not one of {e:?}"));
        }
    }
    if let (Some(x), Some(min)) = (value.as_f64(), schema.get("minimum").and_then(Value::as_f64)) {
        if x < min {
            return Err(format!("{path}: {x} < minimum {min}"));
        }
    }
    if let (Some(x), Some(max)) = (value.as_f64(), schema.get("maximum").and_then(Value::as_f64)) {
        if x > max {
            return Err(format!("{path}: {x} > maximum {max}"));
        }
    }
    if let (Some(x), Some(min)) = (value.as_f64(), schema.get("exclusiveMinimum").and_then(Value::as_f64)) {
        if x <= min {
            return Err(format!("{path}: {x} <= exclusive minimum {min}"));
        }
    }
    if let Some(obj) = value.as_object() {
        for r in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            let k = r.as_str().unwrap();
            if !obj.contains_key(k) {
                return Err(format!("{path}: missing required {k}"));
            }
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(s, root, v, &format!("{path}.{k}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{path}: {k} is not in the schema"))
                }
                None => {}
            }
        }
    }
    if let (Some(min), Some(arr)) = (schema.get("minItems").and_then(Value::as_u64), value.as_array()) {
        if (arr.len() as u64) < min {
            return Err(format!("{path}: {} items, fewer than {min}", arr.len()));
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            check(items, root, v, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}
