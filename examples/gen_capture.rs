//! Writes a deterministic benchmark capture: `gen_capture OUT.pcap SIZE_MB [SEED [GAP_US]]`,
//! GAP_US being the mean capture-time gap between packets (default 12 µs).
//! Prints the findings `smbtriage analyze` must report for it, as JSON.

// Shared with the benchmarks, which also use what this binary does not.
#[allow(dead_code)]
#[path = "../benches/support/gen.rs"]
mod gen;

use std::fs::File;
use std::io::BufWriter;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(out), Some(mb)) = (args.get(1), args.get(2).and_then(|s| s.parse::<u64>().ok()))
    else {
        eprintln!("usage: gen_capture OUT.pcap SIZE_MB [SEED [GAP_US]]");
        std::process::exit(2);
    };
    let mut cfg = gen::GenConfig::sized(mb << 20);
    if let Some(seed) = args.get(3).and_then(|s| s.parse().ok()) {
        cfg.seed = seed;
    }
    if let Some(gap) = args.get(4).and_then(|s| s.parse().ok()) {
        cfg.mean_gap_us = gap;
    }
    let summary = gen::generate(BufWriter::with_capacity(1 << 20, File::create(out)?), &cfg)?;
    let expected: serde_json::Map<String, serde_json::Value> = summary
        .expected
        .iter()
        .map(|(k, v)| (k.to_string(), (*v).into()))
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "path": out,
            "bytes": summary.bytes,
            "packets": summary.packets,
            "smb_connections": summary.smb_connections,
            "expected": expected,
        })
    );
    Ok(())
}
