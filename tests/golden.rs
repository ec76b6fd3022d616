//! Golden findings: every fixture in `fixtures/` is analysed and its findings (all severities)
//! compared, as the JSON contract prints them, with `fixtures/<name>.findings.json`.
//!
//! `SMBTRIAGE_UPDATE_GOLDEN=1 cargo test --test golden` rewrites the golden files; review the
//! diff before committing. The tests also hold the catalog to account: every finding id is
//! produced by some fixture, and no healthy fixture produces a warning or an error.

use smbtriage::findings::{FindingId, Severity, Stage};
use smbtriage::report::{json, Report};
use smbtriage::{analyze, Options};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Fixtures of healthy setups: nothing above info may come out of them.
const HEALTHY: &[&str] = &[
    "smb2-healthy-ntlm",
    "smb3-healthy-kerberos-encrypted",
    "smb1-upgrade",
    "kerberos-preauth-ok",
    "kerberos-more-preauth-then-ok",
    "kerberos-skipped-ntlm-repeated",
    "kerberos-udp-fragmented",
    "compound-request",
    "async-pending",
    "netbios-139",
    "message-split-segments",
    "several-messages-one-segment",
];

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/ exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no fixtures");
    out
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string()
}

/// The report of one fixture as the JSON contract prints it, with a stable path.
fn golden_text(path: &Path) -> (String, Report) {
    let mut file = analyze(path, &Options::default());
    file.path = format!(
        "fixtures/{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
    );
    file.errors = file
        .errors
        .iter()
        .map(|e| e.replace(&path.display().to_string(), &file.path))
        .collect();
    let report = Report {
        files: vec![file],
        ..Report::default()
    };
    let mut out = Vec::new();
    json::write_json(&report, &mut out).expect("write json");
    let value: serde_json::Value = serde_json::from_slice(&out).expect("valid json");
    let mut text = serde_json::to_string_pretty(&value).expect("pretty");
    text.push('\n');
    (text, report)
}

#[test]
fn findings_match_golden_files() {
    let update = std::env::var_os("SMBTRIAGE_UPDATE_GOLDEN").is_some();
    let mut stale = Vec::new();
    for path in fixtures() {
        let golden = path.with_extension("findings.json");
        let (text, _) = golden_text(&path);
        if update {
            std::fs::write(&golden, &text).expect("write golden");
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(expected) if expected == text => {}
            Ok(expected) => stale.push(format!(
                "{}: findings differ from {}\n--- expected\n{expected}\n--- got\n{text}",
                stem(&path),
                golden.display()
            )),
            Err(_) => stale.push(format!(
                "{}: no golden file {}",
                stem(&path),
                golden.display()
            )),
        }
    }
    assert!(
        stale.is_empty(),
        "{} fixture(s) disagree with their golden findings (SMBTRIAGE_UPDATE_GOLDEN=1 to regenerate, then review):\n{}",
        stale.len(),
        stale.join("\n")
    );
}

#[test]
fn every_finding_id_is_produced_by_a_fixture() {
    let mut seen = BTreeSet::new();
    for path in fixtures() {
        let (_, report) = golden_text(&path);
        seen.extend(report.files[0].findings.iter().map(|f| f.id));
    }
    let missing: Vec<&str> = FindingId::ALL
        .iter()
        .filter(|id| !seen.contains(id))
        .map(|id| id.as_str())
        .collect();
    assert!(missing.is_empty(), "no fixture produces {missing:?}");
}

#[test]
fn healthy_fixtures_produce_nothing_above_info() {
    for name in HEALTHY {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/{name}.pcap"));
        let (_, report) = golden_text(&path);
        let file = &report.files[0];
        assert!(file.errors.is_empty(), "{name}: {:?}", file.errors);
        let loud: Vec<String> = file
            .findings
            .iter()
            .filter(|f| f.severity > Severity::Info)
            .map(|f| format!("{} {}: {}", f.severity, f.id, f.message))
            .collect();
        assert!(loud.is_empty(), "{name} is healthy but produced {loud:#?}");
    }
}

#[test]
fn healthy_fixtures_pass_every_stage() {
    for name in HEALTHY {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/{name}.pcap"));
        let (_, report) = golden_text(&path);
        for v in &report.files[0].verdicts {
            assert!(
                v.stages.each().iter().all(|(_, s)| *s == Stage::Ok),
                "{name}: {} -> {} has {:?}",
                v.client,
                v.server,
                v.stages
            );
        }
    }
}

/// A stage is `failed` only where a finding of that connection, in that phase, says why (a
/// signing problem can break any stage after the session: it says why wherever it shows).
#[test]
fn every_failed_stage_has_its_finding() {
    let mut failed = 0;
    for path in fixtures() {
        let (_, report) = golden_text(&path);
        let file = &report.files[0];
        for v in &file.verdicts {
            for (stage, state) in v.stages.each() {
                if state != Stage::Failed {
                    continue;
                }
                failed += 1;
                let explained = file.findings.iter().any(|f| {
                    f.client == Some(v.client)
                        && f.server == Some(v.server)
                        && (f.phase.as_str().replace('-', "_") == stage
                            || f.id == FindingId::SigningProblem)
                });
                assert!(
                    explained,
                    "{}: {} -> {}: {stage} failed, and no finding says why",
                    stem(&path),
                    v.client,
                    v.server
                );
            }
        }
    }
    assert!(
        failed >= 10,
        "only {failed} failed stages among the fixtures"
    );
}
