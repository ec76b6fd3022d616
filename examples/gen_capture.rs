//! Writes a deterministic benchmark capture: `gen_capture OUT.pcap SIZE_MB [SEED [GAP_US]]`,
//! GAP_US being the mean capture-time gap between packets (default 12 µs).
//! Prints the findings `smbtriage analyze` must report for it, as JSON: `expected`, errors
//! and warnings by id (what `analyze` shows by default); `expected_info`, info findings by id
//! (shown with `--min-severity info`); `ntlm_by_name`, the NTLMSSP sessions by server name
//! without a Kerberos attempt, per client and server name (one info `kerberos-fallback-ntlm`
//! each).

use smbtriage::testkit::gen;

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
    let by_id = |m: &std::collections::BTreeMap<&'static str, u64>| {
        m.iter()
            .map(|(k, v)| (k.to_string(), (*v).into()))
            .collect::<serde_json::Map<String, serde_json::Value>>()
    };
    let ntlm_by_name: Vec<serde_json::Value> = summary
        .ntlm_by_name
        .iter()
        .map(|((client, server), sessions)| {
            serde_json::json!({"client": client.to_string(), "server": server, "sessions": sessions})
        })
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "path": out,
            "bytes": summary.bytes,
            "packets": summary.packets,
            "smb_connections": summary.smb_connections,
            "expected": by_id(&summary.expected),
            "expected_info": by_id(&summary.expected_info),
            "ntlm_by_name": ntlm_by_name,
        })
    );
    Ok(())
}
