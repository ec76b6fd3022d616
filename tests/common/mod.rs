//! What the suites over real captures share: where the captures are, how to list them, and how
//! to ask the `smbtriage` binary for its JSON report on one. Each suite uses part of it.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const SMBTRIAGE: &str = env!("CARGO_BIN_EXE_smbtriage");

/// `../shared/captures`, beside the checkout.
pub fn shared_captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures")
}

/// Every capture file below `dir` (`.pcap`, `.pcapng`, `.cap`, `.gz`), sorted.
pub fn captures_in(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng" | "cap" | "gz")
            ) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// Every shared capture; fails when there are none (`../shared` missing).
pub fn shared_capture_files() -> Vec<PathBuf> {
    let out = captures_in(&shared_captures());
    assert!(
        !out.is_empty(),
        "no captures under {}",
        shared_captures().display()
    );
    out
}

/// A shared capture's path below `../shared/captures`, for messages.
pub fn short(path: &Path) -> String {
    path.strip_prefix(shared_captures())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The binary's JSON report (every severity, exit code ignored) for one capture: the `files[0]`
/// object, or why there is none.
pub fn report(path: &Path) -> Result<Value, String> {
    let out = Command::new(SMBTRIAGE)
        .args([
            "--format",
            "json",
            "--min-severity",
            "info",
            "--fail-on",
            "never",
        ])
        .arg(path)
        .output()
        .map_err(|e| format!("run smbtriage: {e}"))?;
    let mut doc: Value = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "smbtriage did not print one JSON document for {} ({e}; exit {:?}): {}\n{}",
            path.display(),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    Ok(doc["files"][0].take())
}
