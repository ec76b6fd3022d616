//! Settling connections as they close (what `analyze` does, to keep memory flat) must not
//! change a single finding, count or timeline: every capture here is analysed twice, once with
//! every connection and Kerberos exchange kept whole until the end of the capture (the plain
//! setup [`Analyzer`] and `rules::run`) and once as `analyze` does it ([`Settling`]), and the
//! two reports must be identical.
//!
//! Plain `cargo test` covers the fixtures and a generated capture with hundreds of
//! connections and injected failures of every kind; `../shared/captures` is covered by the
//! `#[ignore]`d test, which `.ci/run` runs.

// The benchmark's generator; this test uses only part of it.
mod common;
use smbtriage::testkit::gen;

use common::captures_in;

use smbtriage::analyze::Settling;
use smbtriage::capture::{CaptureError, CaptureReader};
use smbtriage::findings::rules::{self, Context};
use smbtriage::findings::verdict;
use smbtriage::flow::{At, FlowConfig};
use smbtriage::pipeline;
use smbtriage::report::timeline;
use smbtriage::setup::{Analyzer, SetupOptions};
use std::path::{Path, PathBuf};

/// One analysis, reduced to what the report shows of it.
#[derive(Debug, PartialEq)]
struct Outcome {
    findings: String,
    connections: usize,
    sessions: u64,
    timelines: String,
    verdicts: String,
    /// Findings by id and severity, as the generator's summary has them.
    counts: gen::Counts,
}

fn counts(findings: &[smbtriage::findings::Finding]) -> gen::Counts {
    let mut c = gen::Counts::default();
    for f in findings {
        c.add(f.id.as_str(), f.severity.as_str());
    }
    c
}

/// What was settled, to show the comparison is not vacuous.
#[derive(Debug, Default)]
struct Tally {
    whole: usize,
    settled: usize,
    krb_whole: usize,
    krb_settled: usize,
    /// Settled summaries folded into totals.
    pruned: u64,
}

fn context(last: Option<At>, truncated: bool, cut_frames: u64) -> Context {
    Context {
        end: last.unwrap_or(At {
            frame: 0,
            ts: Default::default(),
        }),
        negotiate_timeout_ns: 20_000_000_000,
        truncated,
        corrupt: None,
        cut_frames,
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).expect("serialises")
}

/// Everything kept whole until the end.
fn keep_all(path: &Path) -> Option<Outcome> {
    let reader = CaptureReader::open(path).ok()?;
    let mut analyzer = Analyzer::new(SetupOptions::default());
    let s = pipeline::run_reader(reader, &FlowConfig::default(), &mut analyzer);
    let truncated = matches!(s.read_error, Some(CaptureError::Truncated { .. }));
    let ctx = context(s.last, truncated, s.cut_frames);
    let analysis = analyzer.finish();
    assert!(analysis.smb_settled.is_empty() && analysis.kerberos_settled.is_empty());
    let timelines: Vec<_> = analysis.smb.iter().map(timeline::connection).collect();
    let mut verdicts: Vec<_> = analysis
        .smb
        .iter()
        .map(|c| verdict::of(c, &ctx))
        .chain(
            analysis
                .failed_connects
                .iter()
                .filter(|a| !a.kerberos)
                .map(verdict::of_failed_connect),
        )
        .collect();
    verdicts.sort_by_key(|v| v.first_frame);
    let findings = rules::run(&analysis, &ctx, Vec::new());
    Some(Outcome {
        findings: json(&findings),
        counts: counts(&findings),
        connections: analysis.smb.len(),
        sessions: analysis.smb.iter().map(|c| c.sessions() as u64).sum(),
        timelines: json(&timelines),
        verdicts: json(&verdicts),
    })
}

/// As `analyze` does it, pruning from a few settled summaries on so that small captures
/// exercise it.
fn settling(path: &Path, tally: &mut Tally) -> Option<Outcome> {
    let reader = CaptureReader::open(path).ok()?;
    let mut sink =
        Settling::new(SetupOptions::default(), context(None, false, 0), true).prune_from(4);
    let s = pipeline::run_reader(reader, &FlowConfig::default(), &mut sink);
    let truncated = matches!(s.read_error, Some(CaptureError::Truncated { .. }));
    let done = sink.finish(&context(s.last, truncated, s.cut_frames));
    let a = &done.analysis;
    tally.whole += a.smb.len();
    tally.settled += a.smb_settled.len();
    tally.krb_whole += a.kerberos.len();
    tally.krb_settled += a.kerberos_settled.len();
    tally.pruned += a.smb_pruned.connections;
    Some(Outcome {
        findings: json(&done.findings),
        counts: counts(&done.findings),
        connections: a.smb.len() + a.smb_settled.len() + a.smb_pruned.connections as usize,
        sessions: a.smb.iter().map(|c| c.sessions() as u64).sum::<u64>()
            + a.smb_settled
                .iter()
                .map(|c| u64::from(c.sessions))
                .sum::<u64>()
            + a.smb_pruned.sessions,
        timelines: json(&done.timelines),
        verdicts: json(&done.verdicts),
    })
}

/// Compares both ways on every file; returns the problems.
fn compare(paths: &[PathBuf], tally: &mut Tally) -> Vec<String> {
    compare_keeping(paths, tally).0
}

/// As [`compare`], also returning each file's counts of findings as `analyze` made them.
fn compare_keeping(
    paths: &[PathBuf],
    tally: &mut Tally,
) -> (Vec<String>, Vec<Option<gen::Counts>>) {
    let mut problems = Vec::new();
    let mut made = Vec::new();
    for path in paths {
        let whole = keep_all(path);
        let settled = settling(path, tally);
        made.push(settled.as_ref().map(|s| s.counts.clone()));
        if whole != settled {
            let (w, s) = (whole.unwrap(), settled.unwrap());
            let what = if w.findings != s.findings {
                format!(
                    "findings differ:\n--- whole\n{}\n--- settled\n{}",
                    w.findings, s.findings
                )
            } else if w.timelines != s.timelines {
                "timelines differ".to_string()
            } else if w.verdicts != s.verdicts {
                format!(
                    "verdicts differ:\n--- whole\n{}\n--- settled\n{}",
                    w.verdicts, s.verdicts
                )
            } else {
                format!(
                    "counts differ: {} connections / {} sessions whole, {} / {} settled",
                    w.connections, w.sessions, s.connections, s.sessions
                )
            };
            problems.push(format!("{}: {what}", path.display()));
        }
    }
    (problems, made)
}

#[test]
fn settling_changes_nothing_on_the_fixtures() {
    let paths = captures_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"));
    assert!(paths.len() >= 30, "fixtures missing: {}", paths.len());
    let mut tally = Tally::default();
    let problems = compare(&paths, &mut tally);
    println!("fixtures: {tally:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    // Healthy and failing connections were settled; those that stay whole (encryption-required,
    // still open when the capture ended) exercised the other path.
    assert!(tally.settled >= 25 && tally.whole >= 1, "{tally:?}");
    assert!(tally.krb_settled >= 1 && tally.krb_whole >= 1, "{tally:?}");
}

#[test]
fn settling_changes_nothing_on_a_generated_capture() {
    // Hundreds of interleaved connections, Kerberos on UDP and TCP, loss, reordering, and
    // failures of every kind that correlate across connections.
    let path = std::env::temp_dir().join(format!("smbtriage-settle-{}.pcap", std::process::id()));
    let mut cfg = gen::GenConfig::sized(24 << 20);
    cfg.failures_per_kind = 6;
    cfg.seed = 7;
    let summary = gen::generate(
        std::io::BufWriter::new(std::fs::File::create(&path).expect("temp file")),
        &cfg,
    )
    .expect("generates");
    assert!(summary.smb_connections >= 80, "{summary:?}");
    // The mixed estate (NTLMSSP by server name, Kerberos offered, never tried) is there, with
    // more sessions than (client, server name) pairs, so the info finding must aggregate.
    let sessions: u64 = summary.ntlm_by_name.values().sum();
    assert!(
        summary.ntlm_by_name.len() >= 8 && sessions > summary.ntlm_by_name.len() as u64,
        "{summary:?}"
    );
    let mut tally = Tally::default();
    let (problems, made) = compare_keeping(std::slice::from_ref(&path), &mut tally);
    let _ = std::fs::remove_file(&path);
    println!("generated: {summary:?}; {tally:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    // Exactly the findings the generator made: errors and warnings for the injected failures
    // only, and one info kerberos-fallback-ntlm per (client, server name) of the mixed estate.
    assert_eq!(
        made[0].as_ref(),
        Some(&summary.counts()),
        "findings differ from the generated ones ({sessions} mixed-estate sessions: {:?})",
        summary.ntlm_by_name
    );
    // Healthy and failing connections alike settle as they close; only those the capture
    // leaves open (and any encryption-required one) stay whole.
    assert!(
        tally.settled as u64 + tally.pruned >= summary.smb_connections * 9 / 10,
        "{tally:?}"
    );
}

/// A capture that spans many minutes with failures far apart: the summaries of connections
/// closed long before and far from every failure are folded into totals, and nothing changes.
#[test]
fn pruning_long_settled_connections_changes_nothing() {
    let path = std::env::temp_dir().join(format!("smbtriage-prune-{}.pcap", std::process::id()));
    let mut cfg = gen::GenConfig::sized(12 << 20);
    cfg.failures_per_kind = 1;
    cfg.seed = 11;
    cfg.mean_gap_us = 400_000;
    cfg.concurrent = 2;
    let summary = gen::generate(
        std::io::BufWriter::new(std::fs::File::create(&path).expect("temp file")),
        &cfg,
    )
    .expect("generates");
    let mut tally = Tally::default();
    let (problems, made) = compare_keeping(std::slice::from_ref(&path), &mut tally);
    let _ = std::fs::remove_file(&path);
    println!("paced: {} packets, {tally:?}", summary.packets);
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert_eq!(made[0].as_ref(), Some(&summary.counts()));
    assert!(tally.pruned >= 5, "too little was pruned: {tally:?}");
}

#[test]
#[ignore = "needs ../shared/captures; run by .ci/run"]
fn settling_changes_nothing_on_shared_captures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures");
    let paths = captures_in(&dir);
    assert!(
        paths.len() >= 100,
        "{}: {} captures",
        dir.display(),
        paths.len()
    );
    let mut tally = Tally::default();
    let problems = compare(&paths, &mut tally);
    println!(
        "settle vs keep-all on {} shared captures: {} problem(s); {tally:?}",
        paths.len(),
        problems.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
