//! Differential suite: what `smbtriage dump` reconstructs must agree with tshark, the reference
//! dissector, on every capture in `../shared/captures`.
//!
//! Needs tshark and `../shared`, so every test here is `#[ignore]`d from plain `cargo test`;
//! `.ci/run` runs them with `cargo test --release --test tshark_diff -- --ignored`. A
//! disagreement fails with a table of what each side saw. Known tshark problems are listed in
//! [`ALLOWED`] with the reason, instead of being worked around in the code.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const SMBTRIAGE: &str = env!("CARGO_BIN_EXE_smbtriage");

/// (capture path suffix, check, why tshark is not ground truth there).
const ALLOWED: &[(&str, &str, &str)] = &[];

fn shared_captures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/captures")
}

fn captures() -> Vec<PathBuf> {
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
    walk(&shared_captures(), &mut out);
    out.sort();
    assert!(
        !out.is_empty(),
        "no captures under {}",
        shared_captures().display()
    );
    out
}

fn short(path: &Path) -> String {
    path.strip_prefix(shared_captures())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn allowed(path: &Path, check: &str) -> bool {
    let name = short(path);
    ALLOWED
        .iter()
        .any(|(file, c, _)| name.ends_with(file) && *c == check)
}

/// tshark's standard output. A non-zero exit is accepted only for a damaged or cut capture,
/// after which tshark has printed everything before the damage; any other failure (a bad
/// filter, say) fails the suite rather than comparing against nothing.
fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .expect("tshark must be installed to run this suite (apt-get install -y tshark)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success()
            || stderr.contains("cut short")
            || stderr.contains("damaged or corrupt")
            || stderr.contains("appears to be damaged"),
        "tshark {args:?} failed: {stderr}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn dump(path: &Path, proto: &str) -> Vec<Value> {
    let out = Command::new(SMBTRIAGE)
        .args(["dump", "--proto", proto])
        .arg(path)
        .output()
        .expect("run smbtriage");
    assert!(
        out.status.success() || out.status.code() == Some(0),
        "smbtriage dump failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("dump prints JSON lines"))
        .collect()
}

/// Collects disagreements and fails once, with all of them.
#[derive(Default)]
struct Report {
    rows: Vec<String>,
    checked: usize,
}

impl Report {
    fn check(&mut self, path: &Path, check: &str, ours: String, theirs: String) {
        self.checked += 1;
        if ours != theirs && !allowed(path, check) {
            self.rows.push(format!(
                "{:<55} {:<28} smbtriage={:<24} tshark={}",
                short(path),
                check,
                ours,
                theirs
            ));
        }
    }

    fn finish(self, what: &str) {
        println!("{what}: {} comparisons", self.checked);
        assert!(self.checked > 0, "{what}: nothing was compared");
        if !self.rows.is_empty() {
            panic!(
                "{what}: {} disagreements with tshark\n{}",
                self.rows.len(),
                self.rows.join("\n")
            );
        }
    }
}

#[test]
#[ignore = "needs tshark and ../shared/captures; run by .ci/run"]
fn frame_counts_match_tshark() {
    let mut report = Report::default();
    for path in captures() {
        let p = path.to_str().unwrap();
        let theirs = tshark(&["-r", p, "-T", "fields", "-e", "frame.number"])
            .lines()
            .count();
        let ours = smbtriage::capture::CaptureReader::open(&path)
            .map(|mut r| {
                while let Ok(Some(_)) = r.next_frame() {}
                r.frames_read()
            })
            .unwrap_or(0);
        report.check(&path, "frame count", ours.to_string(), theirs.to_string());
    }
    report.finish("frame counts");
}

/// tshark's TCP streams on the setup ports: stream index → first frame.
fn tshark_streams(path: &str) -> BTreeMap<u64, u64> {
    let mut streams = BTreeMap::new();
    let text = tshark(&[
        "-r",
        path,
        "-Y",
        "tcp.port == 445 || tcp.port == 139 || tcp.port == 88",
        "-T",
        "fields",
        "-e",
        "tcp.stream",
        "-e",
        "frame.number",
    ]);
    for line in text.lines() {
        let mut f = line.split('\t');
        if let (Some(Ok(s)), Some(Ok(n))) = (f.next().map(str::parse), f.next().map(str::parse)) {
            streams.entry(s).or_insert(n);
        }
    }
    streams
}

/// Parses `-z follow,tcp,raw,N` output (tshark prints the streams in no particular order):
/// stream index → node address → bytes sent.
fn parse_follow(text: &str) -> BTreeMap<u64, BTreeMap<String, u64>> {
    let mut result: BTreeMap<u64, BTreeMap<String, u64>> = BTreeMap::new();
    let mut stream = None;
    let mut nodes: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("Filter: tcp.stream eq ") {
            stream = n.trim().parse().ok();
            nodes.clear();
        } else if let Some(rest) = line.strip_prefix("Node ") {
            if let (Some(s), Some((_, addr))) = (stream, rest.split_once(": ")) {
                nodes.push(addr.to_string());
                result.entry(s).or_default().insert(addr.to_string(), 0);
            }
        } else if let (Some(s), 2) = (stream, nodes.len()) {
            let node = if line.starts_with('\t') {
                &nodes[1]
            } else {
                &nodes[0]
            };
            let hex = line.trim();
            if !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                *result
                    .entry(s)
                    .or_default()
                    .entry(node.clone())
                    .or_default() += (hex.len() / 2) as u64;
            }
        }
    }
    result
}

#[test]
#[ignore = "needs tshark and ../shared/captures; run by .ci/run"]
fn tcp_bytes_per_direction_match_tshark_follow() {
    let mut report = Report::default();
    for path in captures() {
        let p = path.to_str().unwrap();
        let streams = tshark_streams(p);
        if streams.is_empty() {
            continue;
        }
        let mut args: Vec<String> = vec!["-r".into(), p.into(), "-q".into()];
        for s in streams.keys() {
            args.push("-z".into());
            args.push(format!("follow,tcp,raw,{s}"));
        }
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let followed = parse_follow(&tshark(&arg_refs));
        let ours: Vec<Value> = dump(&path, "tcp")
            .into_iter()
            .filter(|r| r["proto"] == "tcp")
            .collect();
        for (stream, first_frame) in &streams {
            let theirs = followed.get(stream).cloned().unwrap_or_default();
            let check = format!("stream {stream} (frame {first_frame})");
            let Some(rec) = ours
                .iter()
                .find(|r| r["first_frame"].as_u64() == Some(*first_frame))
            else {
                report.check(&path, &check, "missing".into(), "present".into());
                continue;
            };
            let client = rec["client"].as_str().unwrap_or_default().to_string();
            let server = rec["server"].as_str().unwrap_or_default().to_string();
            let ours_text = format!(
                "{}→{} {} / {}",
                client, server, rec["bytes_to_server"], rec["bytes_to_client"]
            );
            let theirs_text = format!(
                "{}→{} {} / {}",
                client,
                server,
                theirs.get(&client).copied().unwrap_or(0),
                theirs.get(&server).copied().unwrap_or(0)
            );
            report.check(&path, &check, ours_text, theirs_text);
        }
    }
    report.finish("TCP reassembled bytes");
}

#[test]
#[ignore = "needs tshark and ../shared/captures; run by .ci/run"]
fn udp_kerberos_datagrams_match_tshark() {
    let mut report = Report::default();
    for path in captures() {
        let p = path.to_str().unwrap();
        let theirs = tshark(&[
            "-r",
            p,
            "-Y",
            "udp.port == 88",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ])
        .lines()
        .count() as u64;
        let on_88 = |r: &Value| {
            ["client", "server"]
                .iter()
                .any(|k| r[*k].as_str().is_some_and(|a| a.ends_with(":88")))
        };
        let ours: u64 = dump(&path, "tcp")
            .iter()
            .filter(|r| r["proto"] == "udp" && on_88(r))
            .map(|r| r["packets"].as_u64().unwrap_or(0))
            .sum();
        if theirs > 0 || ours > 0 {
            report.check(
                &path,
                "UDP/88 datagrams",
                ours.to_string(),
                theirs.to_string(),
            );
        }
    }
    report.finish("UDP/88 datagrams");
}
