//! Findings against real captures: what `smbtriage analyze` diagnoses on every capture in
//! `../shared/captures` must account for every setup failure tshark, the reference dissector,
//! shows there, and must match the expected failures written down in `lab/TRUTH.tsv`.
//!
//! Needs tshark and `../shared`, so every test here is `#[ignore]`d from plain `cargo test`;
//! `.ci/run` runs them with
//! `cargo test --release --test findings_shared -- --ignored --nocapture`, which prints one
//! table row per capture. Each test collects every problem and fails once with all of them;
//! it refuses to pass when tshark failed or when nothing was checked. Captures where tshark is
//! known not to be ground truth are listed in [`ALLOWED`] with the reason, instead of bending
//! the checks.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

use common::{shared_capture_files, shared_captures, short};

/// (capture path suffix, failing frame, why tshark is not ground truth there). Empty: no
/// tshark failure has needed excusing so far (the dissector assertions in
/// `zeek/kerberos_tso.pcapng` frames 5, 7 and 211 hit successful NEGOTIATE responses).
const ALLOWED: &[(&str, u64, &str)] = &[];

/// The finding ids of SPEC §7, the contract this suite checks against.
const SPEC_IDS: &[&str] = &[
    "tcp-connect-failed",
    "negotiate-timeout",
    "negotiate-no-response",
    "negotiate-failed",
    "session-setup-no-response",
    "session-setup-failed",
    "kerberos-error",
    "kerberos-spn-unknown",
    "kerberos-fallback-ntlm",
    "kerberos-preauth-required",
    "signing-problem",
    "tree-connect-bad-network-name",
    "tree-connect-access-denied",
    "encryption-required",
    "tree-connect-failed",
    "smb-encrypted",
    "capture-incomplete",
];

const STATUS_MORE_PROCESSING_REQUIRED: u64 = 0xc000_0016;
const STATUS_PENDING: u64 = 0x0000_0103;
const KDC_ERR_PREAUTH_REQUIRED: u64 = 25;
const KRB_ERR_RESPONSE_TOO_BIG: u64 = 52;

fn captures() -> Vec<PathBuf> {
    shared_capture_files()
}

fn allowed(path: &Path, frame: u64) -> Option<&'static str> {
    let name = short(path);
    ALLOWED
        .iter()
        .find(|(file, f, _)| name.ends_with(file) && *f == frame)
        .map(|(_, _, why)| *why)
}

/// tshark's standard output, and whether tshark said the file was cut short. A non-zero exit is
/// accepted only for a damaged or cut capture, after which tshark has printed everything before
/// the damage; any other failure (a bad field name, say) fails the suite rather than comparing
/// against nothing.
fn tshark(args: &[&str]) -> (String, bool) {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .expect("tshark must be installed to run this suite (apt-get install -y tshark)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let cut = stderr.contains("cut short")
        || stderr.contains("damaged or corrupt")
        || stderr.contains("appears to be damaged");
    assert!(
        out.status.success() || cut,
        "tshark {args:?} failed: {stderr}"
    );
    (String::from_utf8_lossy(&out.stdout).into_owned(), cut)
}

/// What smbtriage reports for one capture: its findings (all severities) and its file errors.
struct Analysis {
    findings: Vec<Value>,
    errors: Vec<String>,
}

fn analyze(path: &Path) -> Analysis {
    let file = common::report(path).unwrap_or_else(|e| panic!("{e}"));
    Analysis {
        findings: file["findings"].as_array().cloned().unwrap_or_default(),
        errors: file["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| e.to_string()).collect())
            .unwrap_or_default(),
    }
}

fn severity(f: &Value) -> &str {
    f["severity"].as_str().unwrap_or("?")
}

fn id(f: &Value) -> &str {
    f["id"].as_str().unwrap_or("?")
}

fn frame(f: &Value, role: &str) -> Option<u64> {
    f["frames"][role].as_u64()
}

fn names_frame(f: &Value, n: u64) -> bool {
    f["frames"]
        .as_object()
        .is_some_and(|o| o.values().any(|v| v.as_u64() == Some(n)))
}

/// `0xc00000cc` → 0xc00000cc; tshark and smbtriage both print hex statuses.
fn hex(s: &str) -> Option<u64> {
    let s = s.trim();
    u64::from_str_radix(s.strip_prefix("0x").or(s.strip_prefix("0X"))?, 16).ok()
}

fn status_code(f: &Value) -> Option<u64> {
    f["status"]["code"].as_str().and_then(hex)
}

fn krb_code(f: &Value) -> Option<u64> {
    f["kerberos_error"]["code"].as_u64()
}

/// One line summarising a finding, for failure messages.
fn brief(f: &Value) -> String {
    let mut s = format!("{}/{} frames={}", id(f), severity(f), f["frames"]);
    if let Some(st) = f["status"].as_object() {
        let _ = write!(s, " status={}", Value::Object(st.clone()));
    }
    if let Some(k) = f["kerberos_error"].as_object() {
        let _ = write!(s, " kerberos_error={}", Value::Object(k.clone()));
    }
    for key in ["share", "spn", "server"] {
        if let Some(v) = f[key].as_str() {
            let _ = write!(s, " {key}={v}");
        }
    }
    s
}

fn by_severity(findings: &[Value]) -> String {
    let count = |sev: &str| findings.iter().filter(|f| severity(f) == sev).count();
    format!(
        "E{} W{} I{}",
        count("error"),
        count("warning"),
        count("info")
    )
}

// ---------------------------------------------------------------------------------------------
// tshark's view of a capture
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Failure {
    /// An SMB1/SMB2 NEGOTIATE, SESSION_SETUP or TREE_CONNECT response with a failing status;
    /// `status` 0xffff stands for an SMB1 NEGOTIATE response selecting DialectIndex 0xFFFF.
    Smb { cmd: &'static str, status: u64 },
    /// A KRB-ERROR other than the normal pre-auth round trip (25) and the UDP→TCP retry (52),
    /// on port 88 or inside SESSION_SETUP.
    Kerberos { code: u64 },
}

impl Failure {
    fn describe(&self) -> String {
        match self {
            Failure::Smb { cmd, status } => format!("{cmd} {status:#010x}"),
            Failure::Kerberos { code } => format!("KRB-ERROR {code}"),
        }
    }
}

/// Everything tshark shows that bears on connection setup.
#[derive(Default)]
struct TsharkView {
    /// Failing responses and post-pre-auth KRB-ERRORs, by frame.
    failures: Vec<(u64, Failure)>,
    /// SMB NEGOTIATE / SESSION_SETUP / TREE_CONNECT requests with no response of the same
    /// command later in their TCP stream: (frame, family).
    unanswered: Vec<(u64, &'static str)>,
    /// SYN and RST frames of TCP streams that never saw a SYN-ACK.
    refused: BTreeSet<u64>,
    /// Capture defects that touch connection setup (the issue's wording for
    /// `capture-incomplete`): a file cut short, or frames carrying an SMB NEGOTIATE /
    /// SESSION_SETUP / TREE_CONNECT or a Kerberos message that are cut by the snaplen or follow
    /// lost bytes. A cut READ or QUERY_DIRECTORY does not count.
    defects: Vec<String>,
    /// NEGOTIATE responses whose SPNEGO hint lists Kerberos (MS KRB5 or KRB5).
    kerberos_offered: BTreeSet<u64>,
    /// TGS-REQs anywhere in the capture (port 88 or inside SMB).
    tgs_requests: usize,
}

const FIELDS: &[&str] = &[
    "frame.number",
    "tcp.stream",
    "tcp.flags.syn",
    "tcp.flags.ack",
    "tcp.flags.reset",
    "smb2.cmd",
    "smb2.flags.response",
    "smb2.nt_status",
    "smb.cmd",
    "smb.flags.response",
    "smb.nt_status",
    "smb.dialect.index",
    "kerberos.msg_type",
    "kerberos.error_code",
    "spnego.MechType",
];

fn list(field: &str) -> Vec<&str> {
    field.split(',').filter(|s| !s.is_empty()).collect()
}

fn num(s: &str) -> Option<u64> {
    hex(s).or_else(|| s.trim().parse().ok())
}

fn smb2_family(cmd: u64) -> Option<&'static str> {
    match cmd {
        0 => Some("NEGOTIATE"),
        1 => Some("SESSION_SETUP"),
        3 => Some("TREE_CONNECT"),
        _ => None,
    }
}

fn smb1_family(cmd: u64) -> Option<&'static str> {
    match cmd {
        0x72 => Some("NEGOTIATE"),
        0x73 => Some("SESSION_SETUP"),
        0x75 => Some("TREE_CONNECT"),
        _ => None,
    }
}

fn is_failing(family: &str, status: u64) -> bool {
    status != 0
        && status != STATUS_PENDING
        && !(family == "SESSION_SETUP" && status == STATUS_MORE_PROCESSING_REQUIRED)
}

fn tshark_view(path: &Path) -> TsharkView {
    let p = path.to_str().expect("UTF-8 path");
    let mut args = vec!["-r", p, "-T", "fields", "-E", "separator=\t"];
    for f in FIELDS {
        args.push("-e");
        args.push(f);
    }
    let (text, cut) = tshark(&args);
    let mut view = TsharkView::default();
    if cut {
        view.defects.push("file cut short".into());
    }
    // Per TCP stream: requests per family (in frame order) and the number of responses.
    let mut requests: BTreeMap<(String, &str), Vec<u64>> = BTreeMap::new();
    let mut responses: BTreeMap<(String, &str), usize> = BTreeMap::new();
    let mut syn_frames: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut synack: BTreeSet<String> = BTreeSet::new();
    for line in text.lines() {
        let c: Vec<&str> = line.split('\t').collect();
        let col = |i: usize| c.get(i).copied().unwrap_or("");
        let Ok(n) = col(0).parse::<u64>() else {
            continue;
        };
        let stream = col(1).to_string();
        if !stream.is_empty() {
            let (syn, ack, rst) = (col(2) == "1", col(3) == "1", col(4) == "1");
            if syn && ack {
                synack.insert(stream.clone());
            } else if syn || rst {
                syn_frames.entry(stream.clone()).or_default().push(n);
            }
        }
        // SMB2: one value per SMB2 header in the frame (compounds and several PDUs per segment).
        let (cmds, resp, status) = (list(col(5)), list(col(6)), list(col(7)));
        for (i, cmd) in cmds.iter().enumerate() {
            let Some(family) = num(cmd).and_then(smb2_family) else {
                continue;
            };
            if resp.get(i) == Some(&"1") {
                *responses.entry((stream.clone(), family)).or_default() += 1;
                let st = status.get(i).and_then(|s| hex(s)).unwrap_or(0);
                if is_failing(family, st) {
                    view.failures.push((
                        n,
                        Failure::Smb {
                            cmd: family,
                            status: st,
                        },
                    ));
                }
            } else {
                requests
                    .entry((stream.clone(), family))
                    .or_default()
                    .push(n);
            }
        }
        // SMB1: `smb.cmd` lists the AndX chain (0xff ends it); one flags/status per header.
        let cmds1 = list(col(8));
        if let Some(family) = cmds1.iter().filter_map(|c| num(c)).find_map(smb1_family) {
            if col(9).split(',').next() == Some("1") {
                *responses.entry((stream.clone(), family)).or_default() += 1;
                let st = list(col(10)).first().and_then(|s| hex(s)).unwrap_or(0);
                if family == "NEGOTIATE" && list(col(11)).iter().any(|d| num(d) == Some(0xffff)) {
                    view.failures.push((
                        n,
                        Failure::Smb {
                            cmd: "SMB1 NEGOTIATE",
                            status: 0xffff,
                        },
                    ));
                } else if is_failing(family, st) {
                    view.failures.push((
                        n,
                        Failure::Smb {
                            cmd: family,
                            status: st,
                        },
                    ));
                }
            } else {
                requests
                    .entry((stream.clone(), family))
                    .or_default()
                    .push(n);
            }
        }
        if cmds.first().and_then(|c| num(c)) == Some(0)
            && resp.first() == Some(&"1")
            && list(col(14))
                .iter()
                .any(|m| *m == "1.2.840.48018.1.2.2" || *m == "1.2.840.113554.1.2.2")
        {
            view.kerberos_offered.insert(n);
        }
        view.tgs_requests += list(col(12)).iter().filter(|t| num(t) == Some(12)).count();
        // Kerberos: error codes appear only for KRB-ERROR (msg_type 30).
        if list(col(12)).iter().any(|t| num(t) == Some(30)) {
            for code in list(col(13)).iter().filter_map(|c| num(c)) {
                if code != KDC_ERR_PREAUTH_REQUIRED && code != KRB_ERR_RESPONSE_TOO_BIG {
                    view.failures.push((n, Failure::Kerberos { code }));
                }
            }
        }
    }
    for ((stream, family), reqs) in &requests {
        let answered = responses
            .get(&(stream.clone(), *family))
            .copied()
            .unwrap_or(0);
        // An SMB1 NEGOTIATE upgraded to SMB2 is answered by an SMB2 NEGOTIATE response: the
        // count per family covers both dialects.
        for f in reqs.iter().skip(answered) {
            view.unanswered.push((*f, family));
        }
    }
    for (stream, frames) in syn_frames {
        if !synack.contains(&stream) {
            view.refused.extend(frames);
        }
    }
    let (defects, _) = tshark(&[
        "-r",
        p,
        "-Y",
        "(frame.cap_len < frame.len || tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment) \
         && (smb2.cmd in {0, 1, 3} || smb.cmd in {0x72, 0x73, 0x75} || kerberos)",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    let defect_frames: Vec<&str> = defects.lines().collect();
    if !defect_frames.is_empty() {
        view.defects.push(format!(
            "{} setup frame(s) cut or after lost bytes, from {}",
            defect_frames.len(),
            defect_frames[0]
        ));
    }
    view.failures.sort_by_key(|(n, _)| *n);
    view.unanswered.sort();
    view
}

/// Is `f` the finding for the failure at frame `n`? It must name `n` as its response (or as
/// the response of one of the repeats it stands for) and carry the same status or Kerberos
/// error code.
fn explains(f: &Value, n: u64, failure: &Failure) -> bool {
    let repeat = f["repeated"]
        .as_array()
        .is_some_and(|r| r.iter().any(|x| x["response"].as_u64() == Some(n)));
    if frame(f, "response") != Some(n) && !repeat {
        return false;
    }
    match failure {
        Failure::Smb { status: 0xffff, .. } => id(f) == "negotiate-failed",
        Failure::Smb { status, .. } => status_code(f) == Some(*status),
        Failure::Kerberos { code } => krb_code(f) == Some(*code),
    }
}

/// In a capture where tshark shows no failing response, an `error`/`warning` finding is still
/// right when tshark shows what it is about: an unanswered request, a refused connection, a
/// damaged capture. Returns why it is justified, or `None`.
fn justified(f: &Value, view: &TsharkView) -> Option<String> {
    let unanswered = |family: &'static str| {
        frame(f, "request").is_some_and(|r| view.unanswered.contains(&(r, family)))
    };
    match id(f) {
        "capture-incomplete" if !view.defects.is_empty() => Some(view.defects.join(", ")),
        "capture-incomplete" if !view.unanswered.is_empty() => {
            Some("requests without responses (one-sided capture?)".into())
        }
        "negotiate-timeout" | "negotiate-no-response" if unanswered("NEGOTIATE") => {
            Some("NEGOTIATE unanswered".into())
        }
        "session-setup-no-response" if unanswered("SESSION_SETUP") => {
            Some("SESSION_SETUP unanswered".into())
        }
        "kerberos-fallback-ntlm"
            if frame(f, "negotiate").is_some_and(|n| view.kerberos_offered.contains(&n))
                && view.tgs_requests == 0 =>
        {
            Some("the server offers Kerberos, and the client asked for no service ticket".into())
        }
        "tcp-connect-failed"
            if ["reset", "syn"]
                .iter()
                .any(|r| frame(f, r).is_some_and(|n| view.refused.contains(&n))) =>
        {
            Some("SYN without SYN-ACK".into())
        }
        _ => None,
    }
}

fn print_table(title: &str, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(widths.len() - 1) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    println!("\n{title}");
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                let _ = write!(s, "{:<w$}  ", cell, w = widths[i]);
            }
        }
        println!("{}", s.trim_end());
    };
    line(header.to_vec());
    line(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect(),
    );
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

#[test]
#[ignore = "needs tshark and ../shared/captures; run by .ci/run"]
fn every_failure_tshark_shows_has_a_finding() {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut checked = 0usize;
    for path in captures() {
        let name = short(&path);
        let view = tshark_view(&path);
        let analysis = analyze(&path);
        let mut verdict = Vec::new();
        for (n, failure) in &view.failures {
            checked += 1;
            if analysis.findings.iter().any(|f| explains(f, *n, failure)) {
                continue;
            }
            if let Some(why) = allowed(&path, *n) {
                verdict.push(format!("allowed {n}: {why}"));
                continue;
            }
            let near: Vec<String> = analysis
                .findings
                .iter()
                .filter(|f| names_frame(f, *n))
                .map(brief)
                .collect();
            let msg = format!(
                "tshark frame {n} {}: no finding names it as response with that code{}",
                failure.describe(),
                if near.is_empty() {
                    String::new()
                } else {
                    format!(" (naming it: {})", near.join("; "))
                }
            );
            problems.push(format!("{name}: {msg}"));
            verdict.push(format!("MISSING {n} {}", failure.describe()));
        }
        if view.failures.is_empty() {
            for f in analysis
                .findings
                .iter()
                .filter(|f| matches!(severity(f), "error" | "warning"))
            {
                checked += 1;
                match justified(f, &view) {
                    Some(why) => verdict.push(format!("{} ok: {why}", id(f))),
                    None => {
                        problems.push(format!(
                            "{name}: tshark shows no failure, yet smbtriage reports {}",
                            brief(f)
                        ));
                        verdict.push(format!("UNEXPECTED {}/{}", id(f), severity(f)));
                    }
                }
            }
        }
        if !analysis.errors.is_empty() {
            verdict.push(format!("file errors: {}", analysis.errors.join("; ")));
        }
        let failures = if view.failures.is_empty() {
            "-".to_string()
        } else {
            let mut s: Vec<String> = view
                .failures
                .iter()
                .take(4)
                .map(|(n, f)| format!("{n} {}", f.describe()))
                .collect();
            if view.failures.len() > 4 {
                s.push(format!("+{} more", view.failures.len() - 4));
            }
            s.join(", ")
        };
        let bad = verdict
            .iter()
            .any(|v| v.starts_with("MISSING") || v.starts_with("UNEXPECTED"));
        let mut v = if bad { "FAIL" } else { "ok" }.to_string();
        if !verdict.is_empty() {
            let _ = write!(v, " ({})", verdict.join("; "));
        }
        rows.push(vec![name, failures, by_severity(&analysis.findings), v]);
    }
    print_table(
        "Findings vs tshark on ../shared/captures",
        &["capture", "failures tshark shows", "findings", "verdict"],
        &rows,
    );
    println!("{checked} checks, {} problems", problems.len());
    assert!(checked > 0, "nothing was checked");
    assert!(
        problems.is_empty(),
        "{} problems with smbtriage's findings against tshark:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// lab/TRUTH.tsv
// ---------------------------------------------------------------------------------------------

/// One expected finding derived from a TRUTH row.
#[derive(Debug)]
struct Expected {
    /// Acceptable ids (the first is the preferred one, printed in messages).
    ids: Vec<&'static str>,
    /// Frames by role that the finding must carry.
    frames: Vec<(&'static str, u64)>,
    /// If `Some`, at least one of the finding's frames must equal it (capture-incomplete: the
    /// first cut frame or the last complete record; the role name is smbtriage's choice).
    any_frame: Option<u64>,
    status: Option<(u64, Option<String>)>,
    kerberos: Option<(u64, String)>,
    /// Exact severity required; `None`: error or warning.
    severity: Option<&'static str>,
    share: Option<String>,
    spn: Option<String>,
    server: Option<String>,
}

impl Expected {
    fn new(ids: &[&'static str]) -> Self {
        Expected {
            ids: ids.to_vec(),
            frames: Vec::new(),
            any_frame: None,
            status: None,
            kerberos: None,
            severity: None,
            share: None,
            spn: None,
            server: None,
        }
    }

    fn describe(&self) -> String {
        let mut s = format!("{} frames={:?}", self.ids.join("|"), self.frames);
        if let Some(n) = self.any_frame {
            let _ = write!(s, " naming frame {n}");
        }
        if let Some((c, name)) = &self.status {
            let _ = write!(s, " status={c:#010x} {}", name.as_deref().unwrap_or(""));
        }
        if let Some((c, name)) = &self.kerberos {
            let _ = write!(s, " kerberos_error={c} {name}");
        }
        if let Some(sev) = self.severity {
            let _ = write!(s, " severity={sev}");
        }
        for (k, v) in [
            ("share", &self.share),
            ("spn", &self.spn),
            ("server", &self.server),
        ] {
            if let Some(v) = v {
                let _ = write!(s, " {k}={v}");
            }
        }
        s
    }

    /// `None` when `f` matches, else why not.
    fn mismatch(&self, f: &Value) -> Option<String> {
        let mut why = Vec::new();
        if !self.ids.contains(&id(f)) {
            return Some(format!("id {}", id(f)));
        }
        for (role, n) in &self.frames {
            if frame(f, role) != Some(*n) {
                why.push(format!("frames.{role}={:?}≠{n}", frame(f, role)));
            }
        }
        if let Some(n) = self.any_frame {
            if !names_frame(f, n) {
                why.push(format!("does not name frame {n}"));
            }
        }
        if let Some((code, name)) = &self.status {
            if status_code(f) != Some(*code) {
                why.push(format!("status {}≠{code:#010x}", f["status"]["code"]));
            }
            if let Some(name) = name {
                if f["status"]["name"].as_str() != Some(name) {
                    why.push(format!("status name {}≠{name}", f["status"]["name"]));
                }
            }
        }
        if let Some((code, name)) = &self.kerberos {
            if krb_code(f) != Some(*code) || f["kerberos_error"]["name"].as_str() != Some(name) {
                why.push(format!(
                    "kerberos_error {}≠{code} {name}",
                    f["kerberos_error"]
                ));
            }
        }
        match self.severity {
            Some(sev) if severity(f) != sev => why.push(format!("severity {}≠{sev}", severity(f))),
            None if !matches!(severity(f), "error" | "warning") => {
                why.push(format!("severity {}", severity(f)))
            }
            _ => {}
        }
        let eq = |key: &str, want: &Option<String>, contains: bool| -> Option<String> {
            let want = want.as_ref()?;
            let got = f[key].as_str().unwrap_or("").to_ascii_lowercase();
            let w = want.to_ascii_lowercase();
            let ok = if contains { got.contains(&w) } else { got == w };
            (!ok).then(|| format!("{key} {:?}≠{want:?}", f[key].as_str()))
        };
        why.extend(eq("share", &self.share, false));
        why.extend(eq("spn", &self.spn, true));
        why.extend(eq("server", &self.server, false));
        (!why.is_empty()).then(|| why.join(", "))
    }
}

/// What a row expects beyond "these findings are present".
#[derive(Debug, Default)]
struct RowRule {
    expected: Vec<Expected>,
    /// No `error` finding at all in the capture.
    no_error: bool,
    /// No `warning` finding either.
    no_warning: bool,
}

/// A finding id that opens the row's notes (`negotiate-timeout: …`, `smb-encrypted (info): …`):
/// the lab's author names the finding the capture is for.
fn note_id(notes: &str) -> Option<&'static str> {
    let head: String = notes
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || *c == '-')
        .collect();
    SPEC_IDS.iter().copied().find(|i| *i == head)
}

fn first_token(s: &str) -> String {
    s.split_whitespace().next().unwrap_or("").to_string()
}

fn frames_list(s: &str) -> Vec<u64> {
    s.split(',').filter_map(|x| x.trim().parse().ok()).collect()
}

/// "… server TCP ACK frame 7 …" → 7.
fn frame_after(text: &str, marker: &str) -> Option<u64> {
    let rest = &text[text.find(marker)? + marker.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())?
        .parse()
        .ok()
}

/// Did the client report a failure (any run exiting non-zero)?
fn client_failed(result: &str) -> bool {
    result.contains("exit 1") || result.contains("failed")
}

/// The TRUTH.tsv columns an expectation is derived from.
#[derive(Clone, Copy)]
struct Row<'a> {
    phase: &'a str,
    code: &'a str,
    name: &'a str,
    req: &'a str,
    rsp: &'a str,
    target: &'a str,
    notes: &'a str,
    client_result: &'a str,
    observed: &'a str,
}

/// TRUTH phase → finding id. The mapping, per the SPEC §7 catalog:
///
/// | TRUTH phase, expected_code            | finding id                                    |
/// |---------------------------------------|-----------------------------------------------|
/// | `tcp`                                 | `tcp-connect-failed` (frames `syn`, `reset`)  |
/// | `negotiate`, hex status or `0xffff`   | `negotiate-failed` (`request`, `response`)    |
/// | `negotiate`, `timeout`                | `negotiate-timeout` (`request`, `ack`, `fin` or `reset`) |
/// | `negotiate`, `no-response`            | `negotiate-no-response` (`request`, `ack`)    |
/// | `session-setup`, hex status           | `session-setup-failed`, or `encryption-required` when the notes say so |
/// | `session-setup`, decimal code         | a KRB-ERROR inside SESSION_SETUP: `kerberos-error` |
/// | `kerberos`, 7 for a `cifs/` SPN       | `kerberos-spn-unknown`                        |
/// | `kerberos`, other codes               | `kerberos-error`                              |
/// | `tree-connect`, 0xc00000cc            | `tree-connect-bad-network-name`               |
/// | `tree-connect`, 0xc0000022            | `tree-connect-access-denied`, or `encryption-required` when the notes say so |
/// | `tree-connect`, other statuses        | `tree-connect-failed`                         |
/// | `capture`                             | `capture-incomplete` naming the row's first cut / last complete frame |
/// | `multiple`                            | one of the above per `observed_failures` entry |
/// | `-` (expected `none`)                 | no `error`; no `warning` unless the notes allow one |
///
/// Severity: SPEC's fixed severity per id; for the Kerberos ids `error` when the client reported
/// a failure and `warning` when it succeeded anyway (a later attempt or NTLM worked), or as the
/// notes say ("should be a warning"). A finding id opening the notes (`kerberos-fallback-ntlm:
/// …`, `smb-encrypted (info): …`) must be present too.
fn expectation(row: &Row) -> Result<RowRule, String> {
    let Row {
        phase,
        code,
        name,
        req,
        rsp,
        target,
        notes,
        client_result,
        observed,
    } = *row;
    let mut rule = RowRule::default();
    let encryption = notes.contains("encryption-required");
    let warning_per_notes = notes.contains("should be a warning") || notes.contains("(warning)");
    let kerberos_severity = if warning_per_notes || !client_failed(client_result) {
        "warning"
    } else {
        "error"
    };
    let (req_n, rsp_n) = (
        req.trim().parse::<u64>().ok(),
        rsp.trim().parse::<u64>().ok(),
    );
    let req_rsp = |e: &mut Expected| {
        if let Some(n) = req_n {
            e.frames.push(("request", n));
        }
        if let Some(n) = rsp_n {
            e.frames.push(("response", n));
        }
    };
    let target_tok = first_token(target);
    match phase {
        "-" => {
            rule.no_error = true;
            rule.no_warning = !(notes.contains("warning at most") || warning_per_notes);
        }
        "tcp" => {
            let mut e = Expected::new(&["tcp-connect-failed"]);
            e.frames = vec![("syn", req_n.ok_or("no SYN frame")?)];
            e.frames.push(("reset", rsp_n.ok_or("no RST frame")?));
            e.severity = Some("error");
            e.server = Some(target_tok);
            rule.expected.push(e);
        }
        "negotiate" if code == "timeout" => {
            let mut e = Expected::new(&["negotiate-timeout"]);
            e.frames.push(("request", req_n.ok_or("no request frame")?));
            e.frames.push((
                "ack",
                frame_after(name, "ACK frame").ok_or("no ACK frame in expected_name")?,
            ));
            let end = if name.contains("RST") { "reset" } else { "fin" };
            e.frames.push((end, rsp_n.ok_or("no FIN/RST frame")?));
            e.severity = Some("error");
            e.server = Some(target_tok);
            rule.expected.push(e);
        }
        "negotiate" if code == "no-response" => {
            let mut e = Expected::new(&["negotiate-no-response"]);
            e.frames.push(("request", req_n.ok_or("no request frame")?));
            e.frames.push((
                "ack",
                frame_after(name, "ACK frame").ok_or("no ACK frame in expected_name")?,
            ));
            e.severity = Some("warning");
            e.server = Some(target_tok);
            rule.expected.push(e);
        }
        "negotiate" => {
            let status = hex(code).ok_or_else(|| format!("negotiate code {code:?}"))?;
            let mut e = Expected::new(&["negotiate-failed"]);
            req_rsp(&mut e);
            if status != 0xffff {
                e.status = Some((status, Some(name.to_string())));
            }
            e.severity = Some("error");
            rule.expected.push(e);
        }
        "session-setup" | "tree-connect" | "kerberos" if code.starts_with("0x") => {
            let status = hex(code).ok_or_else(|| format!("status {code:?}"))?;
            let id = match (phase, status) {
                (_, 0xc000_0022) if encryption => "encryption-required",
                ("session-setup", _) => "session-setup-failed",
                ("tree-connect", 0xc000_00cc) => "tree-connect-bad-network-name",
                ("tree-connect", 0xc000_0022) => "tree-connect-access-denied",
                ("tree-connect", _) => "tree-connect-failed",
                _ => return Err(format!("phase {phase} with status {code}")),
            };
            let mut e = Expected::new(&[id]);
            req_rsp(&mut e);
            e.status = Some((status, Some(name.to_string())));
            e.severity = Some("error");
            if phase == "tree-connect" {
                e.share = Some(target_tok);
            }
            rule.expected.push(e);
        }
        "session-setup" | "kerberos" => {
            let krb: u64 = code
                .parse()
                .map_err(|_| format!("phase {phase} code {code:?}"))?;
            let id = if krb == 7 && target_tok.starts_with("cifs/") {
                "kerberos-spn-unknown"
            } else {
                "kerberos-error"
            };
            let mut e = Expected::new(&[id]);
            req_rsp(&mut e);
            e.kerberos = Some((krb, name.to_string()));
            e.severity = Some(kerberos_severity);
            if phase == "kerberos" {
                e.spn = Some(target_tok.split('@').next().unwrap_or("").to_string());
            }
            if warning_per_notes {
                rule.no_error = true;
            }
            rule.expected.push(e);
        }
        "capture" => {
            let mut e = Expected::new(&["capture-incomplete"]);
            e.any_frame = Some(req_n.ok_or("no frame for the capture row")?);
            e.severity = Some("warning");
            rule.expected.push(e);
        }
        "multiple" => {
            // observed_failures: "<phase> <NAME> (<code>) req N rsp M …; …", one per failure.
            let (reqs, rsps) = (frames_list(req), frames_list(rsp));
            let entries: Vec<&str> = observed.split("; ").collect();
            if entries.len() != reqs.len() || reqs.len() != rsps.len() {
                return Err(format!("multiple: {entries:?} vs {reqs:?}/{rsps:?}"));
            }
            for ((entry, r), s) in entries.iter().zip(&reqs).zip(&rsps) {
                let words: Vec<&str> = entry.split_whitespace().collect();
                let (Some(p), Some(n), Some(c)) = (words.first(), words.get(1), words.get(2))
                else {
                    return Err(format!("observed_failures entry {entry:?}"));
                };
                let c = c.trim_matches(|ch| ch == '(' || ch == ')');
                let share = words.iter().find(|w| w.starts_with("\\\\")).copied();
                let (r, s) = (r.to_string(), s.to_string());
                let sub = expectation(&Row {
                    phase: p,
                    code: c,
                    name: n,
                    req: &r,
                    rsp: &s,
                    target: share.unwrap_or(""),
                    notes: "",
                    client_result,
                    observed: "",
                })?;
                rule.expected.extend(sub.expected);
            }
        }
        other => return Err(format!("unknown TRUTH phase {other:?}")),
    }
    if let Some(named) = note_id(notes) {
        if !rule.expected.iter().any(|e| e.ids.contains(&named)) {
            let mut e = Expected::new(&[named]);
            e.severity = match named {
                "smb-encrypted" | "kerberos-preauth-required" => Some("info"),
                "kerberos-fallback-ntlm" | "negotiate-no-response" | "capture-incomplete" => {
                    Some("warning")
                }
                _ => Some("error"),
            };
            rule.expected.push(e);
        }
    }
    Ok(rule)
}

#[test]
#[ignore = "needs tshark and ../shared/captures; run by .ci/run"]
fn lab_truth_findings_are_reported() {
    let dir = shared_captures().join("lab");
    let truth = std::fs::read_to_string(dir.join("TRUTH.tsv")).expect("read lab/TRUTH.tsv");
    let mut lines = truth.lines();
    let header: Vec<&str> = lines.next().expect("TRUTH header").split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("TRUTH.tsv has no column {name}"))
    };
    let (c_file, c_result, c_phase, c_code, c_name) = (
        col("file"),
        col("client_result"),
        col("phase"),
        col("expected_code"),
        col("expected_name"),
    );
    let (c_req, c_rsp, c_target, c_observed, c_check, c_notes) = (
        col("fail_request_frame"),
        col("fail_response_frame"),
        col("share_or_spn"),
        col("observed_failures"),
        col("check"),
        col("notes"),
    );
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut checked = 0usize;
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let c: Vec<&str> = line.split('\t').collect();
        let get = |i: usize| c.get(i).copied().unwrap_or("");
        let file = get(c_file);
        let phase = get(c_phase);
        if get(c_check) != "ok" {
            rows.push(vec![
                file.to_string(),
                phase.to_string(),
                "-".into(),
                format!("skipped: check = {:?}", get(c_check)),
            ]);
            continue;
        }
        let rule = match expectation(&Row {
            phase,
            code: get(c_code),
            name: get(c_name),
            req: get(c_req),
            rsp: get(c_rsp),
            target: get(c_target),
            notes: get(c_notes),
            client_result: get(c_result),
            observed: get(c_observed),
        }) {
            Ok(rule) => rule,
            Err(e) => panic!("TRUTH row {file}: cannot derive the expectation: {e}"),
        };
        let path = dir.join(file);
        let analysis = analyze(&path);
        let mut verdict = Vec::new();
        for e in &rule.expected {
            checked += 1;
            if analysis.findings.iter().any(|f| e.mismatch(f).is_none()) {
                continue;
            }
            let near: Vec<String> = analysis
                .findings
                .iter()
                .filter(|f| e.ids.contains(&id(f)))
                .map(|f| format!("{} [{}]", brief(f), e.mismatch(f).unwrap_or_default()))
                .collect();
            problems.push(format!(
                "{file}: expected {}; smbtriage: {}",
                e.describe(),
                if near.is_empty() {
                    format!(
                        "no such finding (has: {})",
                        analysis
                            .findings
                            .iter()
                            .map(|f| format!("{}/{}", id(f), severity(f)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                } else {
                    near.join("; ")
                }
            ));
            verdict.push(format!("MISSING {}", e.ids[0]));
        }
        let expected_here = |f: &Value| rule.expected.iter().any(|e| e.mismatch(f).is_none());
        for f in &analysis.findings {
            let unexpected = match severity(f) {
                "error" => rule.no_error,
                "warning" => rule.no_warning,
                _ => false,
            };
            if rule.no_error || rule.no_warning {
                checked += 1;
            }
            if unexpected && !expected_here(f) {
                problems.push(format!(
                    "{file}: row expects no {} finding, smbtriage reports {}",
                    severity(f),
                    brief(f)
                ));
                verdict.push(format!("UNEXPECTED {}/{}", id(f), severity(f)));
            }
        }
        if rule.expected.is_empty() && !(rule.no_error || rule.no_warning) {
            panic!("TRUTH row {file}: nothing to check");
        }
        if rule.expected.is_empty() {
            checked += 1;
        }
        let expected = if rule.expected.is_empty() {
            format!("no error{}", if rule.no_warning { "/warning" } else { "" })
        } else {
            rule.expected
                .iter()
                .map(|e| e.ids[0])
                .collect::<Vec<_>>()
                .join(" + ")
        };
        let v = if verdict.is_empty() {
            format!("ok ({})", by_severity(&analysis.findings))
        } else {
            format!(
                "FAIL {} ({})",
                verdict.join("; "),
                by_severity(&analysis.findings)
            )
        };
        rows.push(vec![file.to_string(), phase.to_string(), expected, v]);
    }
    print_table(
        "Findings vs lab/TRUTH.tsv",
        &["capture", "phase", "expected", "verdict"],
        &rows,
    );
    println!("{checked} checks, {} problems", problems.len());
    assert!(checked > 0, "nothing was checked");
    assert!(
        problems.is_empty(),
        "{} problems with smbtriage's findings against lab/TRUTH.tsv:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Precision: every error and warning, listed with why it is a real problem
// ---------------------------------------------------------------------------------------------

/// Every `error` and `warning` smbtriage reports on `../shared/captures`, at the default
/// `--min-severity`, as (capture, id, severity, request frame — or the first evidence frame when
/// there is no request —, why it is a real problem). The list is exact: a finding not on it is
/// noise until someone writes down why it is real, and a listed one that disappears is a lost
/// diagnosis. Healthy captures appear nowhere.
const PROBLEMS: &[(&str, &str, &str, u64, &str)] = &[
    ("corelight-zerologon/CVE-2020-1472_exploit_win2019.pcap", "session-setup-failed", "error", 861, "the server refused this NTLM logon with STATUS_LOGON_FAILURE (MANIFEST: one SESSION_SETUP LOGON_FAILURE)"),
    ("lab/ad-krb-bad-password.pcap", "kerberos-error", "error", 3, "kinit: Password incorrect (KDC_ERR_PREAUTH_FAILED after the benign 25)"),
    ("lab/ad-krb-bad-password.pcapng", "kerberos-error", "error", 3, "kinit: Password incorrect (pcapng copy)"),
    ("lab/ad-krb-client-revoked.pcap", "kerberos-error", "error", 3, "kinit: credentials revoked; the account is disabled (KDC_ERR_CLIENT_REVOKED)"),
    ("lab/ad-krb-cname-nospn-fallback-ntlm.pcap", "kerberos-spn-unknown", "warning", 31, "no SPN cifs/files.corp.example for the CNAME alias; smbclient then used NTLM and succeeded (warning); the retried TGS-REQ 43/45 is its repeat"),
    ("lab/ad-krb-cname-nospn-fallback-ntlm.pcap", "kerberos-fallback-ntlm", "warning", 50, "Kerberos failed (KDC_ERR_S_PRINCIPAL_UNKNOWN) and the session fell back to NTLM"),
    ("lab/ad-krb-cname-nospn-fallback-ntlm.pcapng", "kerberos-spn-unknown", "warning", 31, "as the .pcap copy"),
    ("lab/ad-krb-cname-nospn-fallback-ntlm.pcapng", "kerberos-fallback-ntlm", "warning", 50, "as the .pcap copy"),
    ("lab/ad-krb-cname-nospn-required.pcap", "kerberos-spn-unknown", "error", 31, "no SPN for the CNAME alias and Kerberos required: smbclient gave up (NT_STATUS_INVALID_PARAMETER)"),
    ("lab/ad-krb-cname-nospn-required.pcapng", "kerberos-spn-unknown", "error", 31, "as the .pcap copy"),
    ("lab/ad-krb-skew-as.pcap", "kerberos-error", "error", 3, "kinit: Clock skew too great (KRB_AP_ERR_SKEW)"),
    ("lab/ad-krb-skew-as.pcapng", "kerberos-error", "error", 3, "as the .pcap copy"),
    ("lab/ad-krb-smb-apreq-skew.pcap", "kerberos-error", "warning", 51, "the AP-REQ in SESSION_SETUP was refused for a 1 h clock skew; the client re-synced and a second attempt worked (warning); the two TGS-REQ skew errors are its repeats"),
    ("lab/ad-krb-smb-badoption-benign.pcap", "kerberos-error", "warning", 41, "the KDC refused the forwarded-TGT request (KDC_ERR_BADOPTION); setup still worked, TRUTH allows a warning at most"),
    ("lab/ad-krb-smb-tree-access-denied.pcap", "tree-connect-access-denied", "error", 63, "smbclient: tree connect failed NT_STATUS_ACCESS_DENIED for \\\\dc01.corp.example\\hr"),
    ("lab/ad-krb-smb-tree-bad-name.pcap", "tree-connect-bad-network-name", "error", 63, "smbclient: tree connect failed NT_STATUS_BAD_NETWORK_NAME (misspelt share)"),
    ("lab/ad-krb-spn-on-wrong-account.pcap", "session-setup-failed", "error", 39, "the SPN sits on the wrong account; the DC cannot decrypt the ticket: NT_STATUS_LOGON_FAILURE"),
    ("lab/ad-krb-spn-on-wrong-account.pcapng", "session-setup-failed", "error", 39, "as the .pcap copy"),
    ("lab/ad-krb-tcp-cname-nospn-required.pcap", "kerberos-spn-unknown", "error", 37, "no SPN for the CNAME alias, KDC over TCP; smbclient gave up; TGS-REQ 47/51 is its repeat"),
    ("lab/ad-krb-unknown-client.pcap", "kerberos-error", "error", 1, "kinit: client not found in the Kerberos database (KDC_ERR_C_PRINCIPAL_UNKNOWN)"),
    ("lab/krb-mit-tcp-bad-password.pcap", "kerberos-error", "error", 14, "MIT KDC: wrong password (KDC_ERR_PREAUTH_FAILED)"),
    ("lab/krb-mit-tcp-skew-as.pcap", "kerberos-error", "error", 12, "MIT KDC: clock skew on the AS-REQ"),
    ("lab/krb-mit-tcp-skew-tgs.pcap", "kerberos-error", "error", 24, "MIT KDC: clock skew on the TGS-REQ for cifs/app1; the client's retry 32/36 is its repeat"),
    ("lab/krb-mit-tcp-unknown-client.pcap", "kerberos-error", "error", 4, "MIT KDC: unknown client principal"),
    ("lab/krb-mit-tcp-unknown-spn.pcap", "kerberos-spn-unknown", "error", 24, "MIT KDC: no principal cifs/legacy.krb.example; the retry 34/36 is its repeat"),
    ("lab/krb-mit-udp-bad-password.pcap", "kerberos-error", "error", 3, "MIT KDC over UDP: wrong password"),
    ("lab/krb-mit-udp-bad-password.pcapng", "kerberos-error", "error", 3, "as the .pcap copy"),
    ("lab/krb-mit-udp-skew-as.pcap", "kerberos-error", "error", 3, "MIT KDC over UDP: clock skew on the AS-REQ"),
    ("lab/krb-mit-udp-skew-tgs.pcap", "kerberos-error", "error", 5, "MIT KDC over UDP: clock skew on the TGS-REQ; the retry 7/8 is its repeat"),
    ("lab/krb-mit-udp-unknown-client.pcap", "kerberos-error", "error", 1, "MIT KDC over UDP: unknown client principal"),
    ("lab/krb-mit-udp-unknown-spn.pcap", "kerberos-spn-unknown", "error", 5, "MIT KDC over UDP: no principal cifs/legacy.krb.example; the retry 7/8 is its repeat"),
    ("lab/krb-mit-udp-unknown-spn.pcapng", "kerberos-spn-unknown", "error", 5, "as the .pcap copy"),
    ("lab/smb-encrypt-server-smb2_10.pcap", "encryption-required", "error", 10, "server-wide smb encrypt = required, client limited to SMB 2.1: session refused"),
    ("lab/smb-encrypt-server-smb2_10.pcapng", "encryption-required", "error", 10, "as the .pcap copy"),
    ("lab/smb-encrypt-share-smb2_10.pcap", "encryption-required", "error", 20, "share requires encryption, client limited to SMB 2.1: TREE_CONNECT ACCESS_DENIED"),
    ("lab/smb-encrypt-share-smb2_10.pcapng", "encryption-required", "error", 20, "as the .pcap copy"),
    ("lab/smb-multi-session-interleaved.pcap", "tree-connect-bad-network-name", "error", 18, "one of five parallel runs asked for the misspelt share dta"),
    ("lab/smb-multi-session-interleaved.pcap", "session-setup-failed", "error", 37, "one of five parallel runs used a wrong password (LOGON_FAILURE)"),
    ("lab/smb-multi-session-interleaved.pcap", "tree-connect-access-denied", "error", 70, "one of five parallel runs was denied the finance share"),
    ("lab/smb-negotiate-no-common-dialect.pcap", "negotiate-failed", "error", 4, "client min SMB3_11 against server max SMB2_10: STATUS_NOT_SUPPORTED"),
    ("lab/smb-negotiate-no-common-dialect.pcapng", "negotiate-failed", "error", 4, "as the .pcap copy"),
    ("lab/smb-negotiate-no-response.pcap", "negotiate-no-response", "warning", 6, "the NEGOTIATE is unanswered when the capture ends (derived from the timeout capture)"),
    ("lab/smb-negotiate-timeout-60s.pcap", "negotiate-timeout", "error", 4, "impacket waited 60 s for a NEGOTIATE answer and closed"),
    ("lab/smb-negotiate-timeout.pcap", "negotiate-timeout", "error", 6, "smbclient: NT_STATUS_IO_TIMEOUT after 20 s"),
    ("lab/smb-negotiate-timeout.pcapng", "negotiate-timeout", "error", 6, "as the .pcap copy"),
    ("lab/smb-session-bad-password.pcap", "session-setup-failed", "error", 10, "smbclient: NT_STATUS_LOGON_FAILURE, wrong password"),
    ("lab/smb-session-bad-password.pcapng", "session-setup-failed", "error", 10, "as the .pcap copy"),
    ("lab/smb-session-unknown-user.pcap", "session-setup-failed", "error", 10, "smbclient: NT_STATUS_LOGON_FAILURE, unknown user"),
    ("lab/smb-tree-access-denied.pcap", "tree-connect-access-denied", "error", 18, "valid users excludes dwright: ACCESS_DENIED"),
    ("lab/smb-tree-access-denied.pcapng", "tree-connect-access-denied", "error", 18, "as the .pcap copy"),
    ("lab/smb-tree-bad-name-sll2.pcap", "tree-connect-bad-network-name", "error", 18, "misspelt share, Linux cooked capture"),
    ("lab/smb-tree-bad-name-snaplen128.pcap", "capture-incomplete", "warning", 4, "snaplen 128 cut every SMB message: names and paths are missing"),
    ("lab/smb-tree-bad-name-snaplen128.pcap", "tree-connect-bad-network-name", "error", 18, "the BAD_NETWORK_NAME status survives the snaplen cut"),
    ("lab/smb-tree-bad-name-truncated.pcap", "capture-incomplete", "warning", 18, "the file ends inside the TREE_CONNECT response record"),
    ("lab/smb-tree-bad-name.pcap", "tree-connect-bad-network-name", "error", 18, "smbclient: NT_STATUS_BAD_NETWORK_NAME"),
    ("lab/smb-tree-bad-name.pcapng", "tree-connect-bad-network-name", "error", 18, "as the .pcap copy"),
    ("lab/smb1-only-client-refused.pcap", "negotiate-failed", "error", 4, "SMB1-only client, server min SMB2_02: DialectIndex 0xFFFF"),
    ("lab/tcp-connect-refused.pcap", "tcp-connect-failed", "error", 3, "no listener: SYN answered by RST"),
    ("suricata-verify/bug-8278-krb5-03.pcap", "kerberos-spn-unknown", "error", 20, "TGS-REQ for host/anything rejected with KDC_ERR_S_PRINCIPAL_UNKNOWN after pre-authentication"),
    ("suricata-verify/bug-8629-async-oneside.pcap", "capture-incomplete", "warning", 1, "only the client's side was captured: no server packet at all"),
    ("zeek/optional-service-name.pcap", "kerberos-error", "error", 3, "the KDC answered the AS-REQ with KRB_ERR_GENERIC"),
];

#[test]
#[ignore = "needs ../shared/captures; run by .ci/run"]
fn every_error_and_warning_is_a_listed_real_problem() {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let mut files = 0usize;
    for path in captures() {
        files += 1;
        let name = short(&path);
        for f in analyze(&path)
            .findings
            .iter()
            .filter(|f| matches!(severity(f), "error" | "warning"))
        {
            let key = frame(f, "request").or_else(|| {
                f["frames"]
                    .as_object()
                    .and_then(|o| o.values().filter_map(Value::as_u64).min())
            });
            let listed = PROBLEMS.iter().position(|(file, i, sev, n, _)| {
                *file == name && *i == id(f) && *sev == severity(f) && Some(*n) == key
            });
            match listed {
                Some(k) if seen.insert(k) => {}
                Some(_) => problems.push(format!("{name}: said twice: {}", brief(f))),
                None => problems.push(format!("{name}: not a listed problem: {}", brief(f))),
            }
        }
    }
    for (k, (file, i, sev, n, why)) in PROBLEMS.iter().enumerate() {
        if !seen.contains(&k) {
            problems.push(format!(
                "{file}: listed {sev} {i} at frame {n} ({why}) was not reported"
            ));
        }
    }
    println!(
        "{files} captures, {} listed problems, {} findings out of place",
        PROBLEMS.len(),
        problems.len()
    );
    assert!(files > 0, "no captures");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The stage verdicts and the findings tell one story: a stage is `failed` only where a finding
/// of that connection says why (at any severity: a refused probe is info), and every finding
/// that names a failed phase of an SMB connection has that stage failed.
#[test]
#[ignore = "needs ../shared/captures; run by .ci/run"]
fn verdicts_agree_with_the_findings() {
    let phase_stage = |phase: &str| match phase {
        "negotiate" => Some("negotiate"),
        "session-setup" => Some("session_setup"),
        "tree-connect" => Some("tree_connect"),
        "tcp" => Some("tcp"),
        _ => None,
    };
    // Ids that mean the phase itself failed (Kerberos errors and warnings need not).
    let breaks = |id: &str| {
        matches!(
            id,
            "tcp-connect-failed"
                | "negotiate-timeout"
                | "negotiate-failed"
                | "session-setup-no-response"
                | "session-setup-failed"
                | "tree-connect-bad-network-name"
                | "tree-connect-access-denied"
                | "tree-connect-failed"
                | "encryption-required"
        )
    };
    let mut problems = Vec::new();
    let mut verdicts = 0usize;
    for path in captures() {
        let name = short(&path);
        let file = common::report(&path).unwrap_or_else(|e| panic!("{e}"));
        let findings = file["findings"].as_array().cloned().unwrap_or_default();
        for v in file["verdicts"].as_array().into_iter().flatten() {
            verdicts += 1;
            let (client, server) = (&v["client"], &v["server"]);
            let mine: Vec<&Value> = findings
                .iter()
                .filter(|f| &f["client"] == client && &f["server"] == server)
                .collect();
            for (stage, state) in v["stages"].as_object().into_iter().flatten() {
                let explained = mine
                    .iter()
                    .any(|f| f["phase"].as_str().and_then(phase_stage) == Some(stage.as_str()));
                if state == "failed" && !explained {
                    problems.push(format!(
                        "{name}: {client} -> {server}: {stage} failed, no finding says why"
                    ));
                }
            }
            for f in mine.iter().filter(|f| breaks(id(f))) {
                let Some(stage) = f["phase"].as_str().and_then(phase_stage) else {
                    continue;
                };
                if v["stages"][stage] != "failed" {
                    problems.push(format!(
                        "{name}: {} but the {stage} stage is {}",
                        brief(f),
                        v["stages"][stage]
                    ));
                }
            }
        }
    }
    println!("{verdicts} verdicts, {} disagreements", problems.len());
    assert!(verdicts > 0, "no verdicts");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
