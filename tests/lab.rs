//! The real-peer lab's check (issue 9): smbtriage on the captures `tests/lab/run.sh` just made
//! with real Samba, a real KDC and real clients, against `tests/lab/expected.tsv`, which was
//! written from what the clients printed.
//!
//! Needs the lab's work dir (`$LAB_WORK`, default `/tmp/smbtriage-lab`) and tshark, so it is
//! `#[ignore]`d; `.ci/run` runs it after the lab:
//! `LAB_WORK=... cargo test --release --test lab -- --ignored --nocapture`.
//! For each scenario it checks that the client printed what the expectations say (else the lab,
//! not smbtriage, is broken), finds the evidence frames with tshark, and then checks that every
//! expected finding is present at those frames and that no other error or warning is reported.
//! All problems are collected and reported together.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

fn work_dir() -> PathBuf {
    std::env::var_os("LAB_WORK")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/smbtriage-lab"))
}

/// One line of expected.tsv.
#[derive(Debug, Clone)]
struct Row {
    scenario: String,
    kind: String,
    what: String,
    severity: String,
    locate: String,
    code: String,
    name: String,
    fields: Vec<(String, String)>,
}

fn cell(s: &str) -> String {
    if s == "-" {
        String::new()
    } else {
        s.to_string()
    }
}

fn load_rows() -> Vec<Row> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/expected.tsv");
    let text = std::fs::read_to_string(&path).expect("read tests/lab/expected.tsv");
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(
            cols.len() == 7,
            "expected.tsv line {}: 7 tab-separated columns, got {}",
            n + 1,
            cols.len()
        );
        let mut parts = cols[6].split(';');
        let name = cell(parts.next().unwrap_or(""));
        let fields = parts
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        rows.push(Row {
            scenario: cols[0].to_string(),
            kind: cols[1].to_string(),
            what: cell(cols[2]),
            severity: cell(cols[3]),
            locate: cell(cols[4]),
            code: cell(cols[5]),
            name,
            fields,
        });
    }
    rows
}

// ---------------------------------------------------------------------------------------------
// tshark view of a capture
// ---------------------------------------------------------------------------------------------

const FIELDS: &[&str] = &[
    "frame.number",
    "frame.len",
    "frame.cap_len",
    "ip.src",
    "ip.dst",
    "tcp.stream",
    "udp.stream",
    "tcp.srcport",
    "tcp.dstport",
    "udp.srcport",
    "udp.dstport",
    "tcp.flags.syn",
    "tcp.flags.ack",
    "tcp.flags.reset",
    "tcp.flags.fin",
    "tcp.len",
    "smb2.cmd",
    "smb2.flags.response",
    "smb2.msg_id",
    "smb2.nt_status",
    "smb.cmd",
    "smb.flags.response",
    "kerberos.msg_type",
    "kerberos.error_code",
    "dns.flags.response",
    "dns.resp.type",
    "dns.resp.name",
];

#[derive(Debug, Default, Clone)]
struct Frame {
    n: u64,
    len: u64,
    cap_len: u64,
    src: String,
    dst: String,
    stream: String,
    sport: u64,
    dport: u64,
    syn: bool,
    ack: bool,
    rst: bool,
    fin: bool,
    tcp_len: u64,
    smb2: Vec<(u64, bool, u64, u64)>, // cmd, response, msg_id, status
    smb1: Vec<(u64, bool)>,
    krb_types: Vec<u64>,
    krb_errors: Vec<u64>,
    dns_response: bool,
    dns_cname_names: Vec<String>,
}

fn num(s: &str) -> u64 {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16).unwrap_or(0)
    } else {
        s.parse().unwrap_or(0)
    }
}

fn list(s: &str) -> Vec<&str> {
    s.split(',').filter(|x| !x.is_empty()).collect()
}

fn flag(s: &str) -> bool {
    matches!(s.split(',').next(), Some("1" | "True" | "true"))
}

fn tshark_frames(path: &Path) -> Result<Vec<Frame>, String> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args(["-T", "fields"]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    cmd.args([
        "-E",
        "separator=\t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    let out = cmd
        .output()
        .map_err(|e| format!("tshark could not run ({e}); apt-get install tshark"))?;
    if !out.status.success() {
        return Err(format!(
            "tshark failed on {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut frames = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let c: Vec<&str> = line.split('\t').collect();
        let g = |i: usize| c.get(i).copied().unwrap_or("");
        let (sport, dport, stream) = if !g(5).is_empty() {
            (num(g(7)), num(g(8)), format!("t{}", g(5)))
        } else {
            (num(g(9)), num(g(10)), format!("u{}", g(6)))
        };
        let cmds = list(g(16));
        let resp = list(g(17));
        let ids = list(g(18));
        let sts = list(g(19));
        let smb2 = (0..cmds.len())
            .map(|i| {
                (
                    num(cmds[i]),
                    resp.get(i).is_some_and(|r| flag(r)),
                    ids.get(i).map(|x| num(x)).unwrap_or(u64::MAX),
                    sts.get(i).map(|x| num(x)).unwrap_or(0),
                )
            })
            .collect();
        let c1 = list(g(20));
        let r1 = list(g(21));
        let smb1 = (0..c1.len())
            .map(|i| (num(c1[i]), r1.get(i).is_some_and(|r| flag(r))))
            .collect();
        let types: Vec<u64> = list(g(25)).iter().map(|x| num(x)).collect();
        let names: Vec<String> = list(g(26)).iter().map(|s| s.to_string()).collect();
        let dns_cname_names = types
            .iter()
            .zip(names.iter())
            .filter(|(t, _)| **t == 5)
            .map(|(_, n)| n.to_ascii_lowercase())
            .collect();
        frames.push(Frame {
            n: num(g(0)),
            len: num(g(1)),
            cap_len: num(g(2)),
            src: g(3).split(',').next().unwrap_or("").to_string(),
            dst: g(4).split(',').next().unwrap_or("").to_string(),
            stream,
            sport,
            dport,
            syn: flag(g(11)),
            ack: flag(g(12)),
            rst: flag(g(13)),
            fin: flag(g(14)),
            tcp_len: num(g(15)),
            smb2,
            smb1,
            krb_types: list(g(22)).iter().map(|x| num(x)).collect(),
            krb_errors: list(g(23)).iter().map(|x| num(x)).collect(),
            dns_response: flag(g(24)),
            dns_cname_names,
        });
    }
    Ok(frames)
}

/// Frames by role, for a locator; `any` holds a frame one of the finding's frames must equal.
#[derive(Debug, Default)]
struct Located {
    roles: Vec<(&'static str, u64)>,
    any: Option<u64>,
}

fn nth(spec: &str) -> (&str, usize) {
    match spec.split_once('#') {
        Some((s, n)) => (s, n.parse().unwrap_or(1)),
        None => (spec, 1),
    }
}

fn smb2_request_for(frames: &[Frame], rsp: &Frame, cmd: u64, msg_id: u64) -> Option<u64> {
    frames
        .iter()
        .filter(|f| f.n < rsp.n && f.stream == rsp.stream)
        .filter(|f| {
            f.smb2
                .iter()
                .any(|&(c, r, id, _)| c == cmd && !r && id == msg_id)
        })
        .map(|f| f.n)
        .next_back()
}

fn locate(frames: &[Frame], spec: &str) -> Result<Located, String> {
    let mut out = Located::default();
    let parts: Vec<&str> = spec.split(':').collect();
    match parts[0] {
        "" => {}
        "smb2" if parts.len() == 3 => {
            let cmd = num(parts[1]);
            let (status, n) = nth(parts[2]);
            let status = num(status);
            let mut hits = frames.iter().filter_map(|f| {
                f.smb2
                    .iter()
                    .find(|&&(c, r, _, s)| c == cmd && r && s == status)
                    .map(|&(_, _, id, _)| (f, id))
            });
            let (rsp, id) = hits.nth(n - 1).ok_or_else(|| {
                format!("tshark shows no SMB2 response #{n} cmd {cmd} status {status:#x}")
            })?;
            out.roles.push(("response", rsp.n));
            let req = smb2_request_for(frames, rsp, cmd, id)
                .ok_or_else(|| format!("no request for the SMB2 response in frame {}", rsp.n))?;
            out.roles.push(("request", req));
        }
        "smb1-negotiate" => {
            let req = frames
                .iter()
                .find(|f| f.smb1.iter().any(|&(c, r)| c == 0x72 && !r))
                .ok_or("tshark shows no SMB1 NEGOTIATE request")?;
            let rsp = frames
                .iter()
                .find(|f| f.n > req.n && f.smb1.iter().any(|&(c, r)| c == 0x72 && r))
                .ok_or("tshark shows no SMB1 NEGOTIATE response")?;
            out.roles.push(("request", req.n));
            out.roles.push(("response", rsp.n));
        }
        "krb" | "krb-smb" if parts.len() == 2 => {
            let (code, n) = nth(parts[1]);
            let code = num(code);
            let in_smb = parts[0] == "krb-smb";
            let rsp = frames
                .iter()
                .filter(|f| f.krb_errors.contains(&code))
                .filter(|f| in_smb != f.smb2.is_empty())
                .nth(n - 1)
                .ok_or_else(|| format!("tshark shows no KRB-ERROR #{n} with code {code}"))?;
            out.roles.push(("response", rsp.n));
            let req = if in_smb {
                let &(cmd, _, id, _) = rsp.smb2.iter().find(|x| x.1).ok_or("no SMB2 response")?;
                smb2_request_for(frames, rsp, cmd, id)
            } else {
                frames
                    .iter()
                    .filter(|f| f.n < rsp.n && f.stream == rsp.stream)
                    .filter(|f| f.krb_types.iter().any(|t| *t == 10 || *t == 12))
                    .map(|f| f.n)
                    .next_back()
            }
            .ok_or_else(|| format!("no request for the KRB-ERROR in frame {}", rsp.n))?;
            out.roles.push(("request", req));
        }
        "tcp-refused" if parts.len() == 3 => {
            let (ip, port) = (parts[1], num(parts[2]));
            let syn = frames
                .iter()
                .find(|f| f.syn && !f.ack && f.dst == ip && f.dport == port)
                .ok_or_else(|| format!("no SYN to {ip}:{port}"))?;
            let rst = frames
                .iter()
                .find(|f| f.n > syn.n && f.rst && f.src == ip && f.stream == syn.stream)
                .ok_or_else(|| format!("no RST from {ip}"))?;
            out.roles.push(("syn", syn.n));
            out.roles.push(("reset", rst.n));
        }
        "negotiate-unanswered" | "negotiate-open" if parts.len() == 2 => {
            let ip = parts[1];
            let req = frames
                .iter()
                .find(|f| {
                    f.dst == ip
                        && (f.smb2.iter().any(|&(c, r, _, _)| c == 0 && !r)
                            || f.smb1.iter().any(|&(c, r)| c == 0x72 && !r))
                })
                .ok_or_else(|| format!("no NEGOTIATE request to {ip}"))?;
            let ack = frames
                .iter()
                .find(|f| {
                    f.n > req.n
                        && f.src == ip
                        && f.stream == req.stream
                        && f.tcp_len == 0
                        && !f.syn
                        && !f.fin
                        && !f.rst
                })
                .ok_or_else(|| format!("no ACK from {ip} after the NEGOTIATE"))?;
            out.roles.push(("request", req.n));
            out.roles.push(("ack", ack.n));
            if parts[0] == "negotiate-unanswered" {
                let end = frames
                    .iter()
                    .find(|f| f.n > req.n && f.stream == req.stream && (f.fin || f.rst))
                    .ok_or("the connection does not end in the capture")?;
                out.roles
                    .push((if end.rst { "reset" } else { "fin" }, end.n));
            } else if let Some(end) = frames
                .iter()
                .find(|f| f.n > req.n && f.stream == req.stream && (f.fin || f.rst))
            {
                return Err(format!(
                    "the capture should stop before the connection ends, but frame {} ends it",
                    end.n
                ));
            }
        }
        "snaplen" => {
            // SPEC §7: snaplen cuts of SMB/Kerberos messages (a cut DNS answer is no finding).
            let smb_or_krb =
                |f: &Frame| [445, 139, 88].contains(&f.sport) || [445, 139, 88].contains(&f.dport);
            let cut = frames
                .iter()
                .find(|f| f.cap_len < f.len && smb_or_krb(f))
                .ok_or("no SMB or Kerberos frame is cut by the snaplen")?;
            out.any = Some(cut.n);
        }
        "dns-cname" if parts.len() == 2 => {
            let name = parts[1].to_ascii_lowercase();
            let f = frames
                .iter()
                .find(|f| f.dns_response && f.dns_cname_names.contains(&name))
                .ok_or_else(|| format!("no DNS answer with a CNAME for {name}"))?;
            out.roles.push(("dns", f.n));
        }
        _ => return Err(format!("unknown locator {spec:?}")),
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// smbtriage
// ---------------------------------------------------------------------------------------------

fn analyze(path: &Path) -> Result<Vec<Value>, String> {
    let file = common::report(path)?;
    if let Some(errors) = file["errors"].as_array() {
        if !errors.is_empty() {
            return Err(format!("smbtriage file errors: {errors:?}"));
        }
    }
    Ok(file["findings"].as_array().cloned().unwrap_or_default())
}

fn rank(severity: &str) -> u8 {
    match severity {
        "error" => 3,
        "warning" => 2,
        "info" => 1,
        _ => 0,
    }
}

fn brief(f: &Value) -> String {
    let frames = f["frames"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let code = if f["status"].is_object() {
        f["status"]["name"].as_str().unwrap_or("").to_string()
    } else if f["kerberos_error"].is_object() {
        format!("krb {}", f["kerberos_error"]["code"])
    } else {
        String::new()
    };
    format!(
        "{}({}) [{}] {}",
        f["id"].as_str().unwrap_or("?"),
        f["severity"].as_str().unwrap_or("?"),
        frames,
        code
    )
    .trim_end()
    .to_string()
}

/// Why finding `f` does not satisfy expect row `row` at `loc`, or `None` when it does.
fn mismatch(f: &Value, row: &Row, loc: &Located) -> Option<String> {
    if f["id"].as_str() != Some(row.what.as_str()) {
        return Some("id".into());
    }
    let mut why = Vec::new();
    if f["severity"].as_str() != Some(row.severity.as_str()) {
        why.push(format!("severity {}", f["severity"]));
    }
    for (role, n) in &loc.roles {
        if f["frames"][role].as_u64() != Some(*n) {
            why.push(format!("frames.{role}={}≠{n}", f["frames"][role]));
        }
    }
    if let Some(n) = loc.any {
        let named = f["frames"]
            .as_object()
            .is_some_and(|m| m.values().any(|v| v.as_u64() == Some(n)));
        if !named {
            why.push(format!("does not name frame {n}"));
        }
    }
    if !row.code.is_empty() {
        if row.code.starts_with("0x") {
            let got = f["status"]["code"].as_str().map(num);
            if got != Some(num(&row.code)) || f["status"]["name"].as_str() != Some(&row.name) {
                why.push(format!("status {}", f["status"]));
            }
        } else if f["kerberos_error"]["code"].as_u64() != Some(num(&row.code))
            || f["kerberos_error"]["name"].as_str() != Some(&row.name)
        {
            why.push(format!("kerberos_error {}", f["kerberos_error"]));
        }
    }
    for (k, v) in &row.fields {
        let got = f[k.as_str()].as_str().unwrap_or("");
        if !got.eq_ignore_ascii_case(v) {
            why.push(format!("{k}={got:?}≠{v:?}"));
        }
    }
    (!why.is_empty()).then(|| why.join(", "))
}

fn check_scenario(work: &Path, scenario: &str, rows: &[&Row]) -> (Vec<String>, String, String) {
    let mut problems = Vec::new();
    let result_path = work.join("results").join(format!("{scenario}.txt"));
    let capture = work.join("captures").join(format!("{scenario}.pcap"));
    let client = std::fs::read_to_string(&result_path).unwrap_or_default();
    let client_summary = client
        .lines()
        .filter(|l| !l.starts_with('$') && !l.trim().is_empty())
        .filter(|l| l.contains("failed") || l.contains("exit") || l.contains(':'))
        .rfind(|l| !l.contains("Password for") && !l.contains("Warning: Your password"))
        .unwrap_or("(no client output)")
        .trim()
        .to_string();
    if client.is_empty() || !capture.exists() {
        problems.push(format!(
            "{scenario}: the lab did not produce {} and {}",
            result_path.display(),
            capture.display()
        ));
        return (problems, client_summary, String::new());
    }
    // The lab itself: did the real client do what the expectations were written from?
    for row in rows.iter().filter(|r| r.kind == "client") {
        if !client.contains(&row.what) {
            problems.push(format!(
                "{scenario}: LAB: the client did not print {:?} (see {})",
                row.what,
                result_path.display()
            ));
        }
    }
    let frames = match tshark_frames(&capture) {
        Ok(f) => f,
        Err(e) => {
            problems.push(format!("{scenario}: {e}"));
            return (problems, client_summary, String::new());
        }
    };
    for row in rows.iter().filter(|r| r.kind == "capture") {
        if let Err(e) = locate(&frames, &row.locate) {
            problems.push(format!(
                "{scenario}: LAB: capture lacks {}: {e}",
                row.locate
            ));
        }
    }
    let findings = match analyze(&capture) {
        Ok(f) => f,
        Err(e) => {
            problems.push(format!("{scenario}: {e}"));
            return (problems, client_summary, String::new());
        }
    };
    let got = findings
        .iter()
        .filter(|f| f["severity"] != "info" || f["id"] != "kerberos-preauth-required")
        .map(brief)
        .collect::<Vec<_>>()
        .join("; ");
    let mut used = vec![false; findings.len()];
    for row in rows.iter().filter(|r| r.kind == "expect") {
        let loc = match locate(&frames, &row.locate) {
            Ok(l) => l,
            Err(e) => {
                problems.push(format!(
                    "{scenario}: LAB: cannot locate {} for {}: {e}",
                    row.locate, row.what
                ));
                continue;
            }
        };
        let hit = findings
            .iter()
            .enumerate()
            .find(|(i, f)| !used[*i] && mismatch(f, row, &loc).is_none());
        match hit {
            Some((i, _)) => used[i] = true,
            None => {
                let near: Vec<String> = findings
                    .iter()
                    .filter(|f| f["id"].as_str() == Some(row.what.as_str()))
                    .filter_map(|f| mismatch(f, row, &loc))
                    .collect();
                problems.push(format!(
                    "{scenario}: missing {} ({}) at {:?}{}{}",
                    row.what,
                    row.severity,
                    loc.roles,
                    loc.any
                        .map(|n| format!(" naming frame {n}"))
                        .unwrap_or_default(),
                    if near.is_empty() {
                        String::new()
                    } else {
                        format!("; same id found but: {}", near.join(" | "))
                    }
                ));
            }
        }
    }
    for (i, f) in findings.iter().enumerate() {
        let sev = f["severity"].as_str().unwrap_or("");
        if used[i] || rank(sev) < 2 {
            continue;
        }
        let allowed = rows.iter().any(|r| {
            r.kind == "allow"
                && f["id"].as_str() == Some(r.what.as_str())
                && rank(sev) <= rank(&r.severity)
        });
        if !allowed {
            problems.push(format!("{scenario}: unexpected {}", brief(f)));
        }
    }
    (problems, client_summary, got)
}

#[test]
#[ignore = "needs the lab's captures (tests/lab/run.sh, as root) and tshark; run from .ci/run"]
fn lab_findings_match_what_the_real_clients_did() {
    let work = work_dir();
    assert!(
        work.join("captures").is_dir(),
        "no lab captures under {} (run tests/lab/run.sh as root first, or set LAB_WORK)",
        work.display()
    );
    let rows = load_rows();
    let mut by_scenario: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        by_scenario.entry(r.scenario.as_str()).or_default().push(r);
    }
    let only: Option<Vec<String>> = std::env::var("LAB_SCENARIOS")
        .ok()
        .map(|s| s.split_whitespace().map(str::to_string).collect());
    let mut problems = Vec::new();
    let (mut passed, mut failed) = (0, 0);
    println!("| scenario | client | smbtriage (besides pre-auth info) | verdict |");
    println!("|---|---|---|---|");
    for (scenario, rows) in &by_scenario {
        if let Some(only) = &only {
            if !only.iter().any(|s| s == scenario) {
                continue;
            }
        }
        let (p, client, got) = check_scenario(&work, scenario, rows);
        let verdict = if p.is_empty() { "pass" } else { "FAIL" };
        if p.is_empty() {
            passed += 1;
        } else {
            failed += 1;
        }
        println!(
            "| {scenario} | {client} | {} | {verdict} |",
            if got.is_empty() { "none" } else { &got }
        );
        problems.extend(p);
    }
    println!("lab: {passed} passed, {failed} failed");
    assert!(passed + failed > 0, "no scenario was checked");
    assert!(
        problems.is_empty(),
        "{} problems in the real-peer lab:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
