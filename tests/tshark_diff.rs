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

mod common;

use common::{shared_capture_files, short, SMBTRIAGE};

/// (capture path suffix, check, why tshark is not ground truth there).
const ALLOWED: &[(&str, &str, &str)] = &[];

fn captures() -> Vec<PathBuf> {
    shared_capture_files()
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

/// tshark's packet trees for the frames matching `filter`, as `-T json --no-duplicate-keys`
/// prints them: one object per frame, a key that repeats (two SMB2 messages of a compound, two
/// Kerberos messages in one segment) merged into an array. `-T fields` flattens a frame into
/// comma-joined columns, which loses which message an optional field (a tree path, a Kerberos
/// realm) belongs to as soon as a frame holds more than one message; the tree keeps it.
fn tshark_tree(path: &str, filter: &str) -> Vec<Value> {
    let text = tshark(&[
        "-r",
        path,
        "-Y",
        filter,
        "-T",
        "json",
        "--no-duplicate-keys",
    ]);
    if text.trim().is_empty() {
        return Vec::new();
    }
    match serde_json::from_str(&text) {
        Ok(Value::Array(frames)) => frames,
        other => panic!("tshark -T json on {path}: unexpected output {other:?}"),
    }
}

fn layers(frame: &Value) -> &Value {
    &frame["_source"]["layers"]
}

fn frame_number(frame: &Value) -> u64 {
    layers(frame)["frame"]["frame.number"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .expect("frame.number")
}

/// `v` itself, or each element if tshark merged repeated keys into an array.
fn each(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    }
}

/// Every value of `key` anywhere below `v` (object keys in serde_json's sorted order, array
/// elements in tshark's order), without looking inside the objects `skip` rejects.
fn find_all<'a>(v: &'a Value, key: &str, skip: &dyn Fn(&Value) -> bool, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == key {
                    out.extend(each(child));
                } else if !skip(child) {
                    find_all(child, key, skip, out);
                }
            }
        }
        Value::Array(items) => {
            for item in items.iter().filter(|i| !skip(i)) {
                find_all(item, key, skip, out);
            }
        }
        _ => {}
    }
}

fn strings(v: &Value, key: &str, skip: &dyn Fn(&Value) -> bool) -> Vec<String> {
    let mut found = Vec::new();
    find_all(v, key, skip, &mut found);
    found
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn first(v: &Value, key: &str) -> Option<String> {
    strings(v, key, &|_| false).into_iter().next()
}

/// A number as tshark prints it (`0x00000311` or `785`) or as `dump` does (`"0x0311"`, 785).
fn number(v: &str) -> Option<u64> {
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

fn json_number(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str().and_then(number))
}

/// Renders the multiset of messages in one frame, order-independent.
fn sorted(mut items: Vec<String>) -> String {
    items.sort();
    if items.is_empty() {
        "-".into()
    } else {
        items.join("; ")
    }
}

/// The identity of one SMB2 message: command, direction, message id, and the status of a
/// response (a request's status field is ChannelSequence in SMB 3.x, so it is not compared).
fn smb2_key(cmd: u64, response: bool, msg_id: u64, status: Option<u64>) -> String {
    if response {
        format!(
            "cmd {cmd} rsp #{msg_id} 0x{:08x}",
            status.unwrap_or(u64::MAX)
        )
    } else {
        format!("cmd {cmd} req #{msg_id}")
    }
}

/// The per-command fields of one SMB2 message, normalised to compare values, not spellings.
#[derive(Default)]
struct Smb2Fields {
    /// NEGOTIATE: the offered dialects (request) or the chosen one (response), as numbers.
    dialect: Option<String>,
    /// TREE_CONNECT request: the share path.
    tree: Option<String>,
    share_flags: Option<u64>,
    session_flags: Option<u64>,
    ntlmssp_user: Option<String>,
    ntlmssp_domain: Option<String>,
}

impl Smb2Fields {
    /// (name, value) of the fields present.
    fn present(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut put = |name, v: Option<String>| {
            if let Some(v) = v {
                out.push((name, v));
            }
        };
        put("dialect", self.dialect.clone());
        put("tree", self.tree.clone());
        put(
            "share_flags",
            self.share_flags.map(|f| format!("0x{f:08x}")),
        );
        put(
            "session_flags",
            self.session_flags.map(|f| format!("0x{f:04x}")),
        );
        put("ntlmssp user", self.ntlmssp_user.clone());
        put("ntlmssp domain", self.ntlmssp_domain.clone());
        out
    }
}

fn dialect_list(values: impl IntoIterator<Item = u64>) -> Option<String> {
    let list: Vec<String> = values.into_iter().map(|d| format!("0x{d:04x}")).collect();
    (!list.is_empty()).then(|| list.join(","))
}

/// tshark's SMB2 messages in one frame: (identity, fields). A transform (encrypted) or
/// compression header carries no `smb2.cmd` and is not a message here.
fn tshark_smb2(frame: &Value) -> Vec<(String, Smb2Fields)> {
    let mut out = Vec::new();
    for msg in each(&layers(frame)["smb2"]) {
        // The header's own fields: a body can repeat a name (an AAPL create context carries
        // an `smb2.nt_status` of its own).
        let header = &msg["SMB2 Header"];
        let (Some(cmd), Some(response), Some(msg_id)) = (
            first(header, "smb2.cmd").and_then(|c| number(&c)),
            first(header, "smb2.flags.response"),
            first(header, "smb2.msg_id").and_then(|m| number(&m)),
        ) else {
            continue;
        };
        let response = response == "1";
        let status = first(header, "smb2.nt_status").and_then(|s| number(&s));
        let all = |key| strings(msg, key, &|_| false);
        // tshark repeats the tree path of a TREE_CONNECT request as a generated field; only
        // the request carries it on the wire, and only there does `dump` print it.
        let tree = (cmd == 3 && !response)
            .then(|| all("smb2.tree").into_iter().next())
            .flatten();
        // tshark prints an empty NTLMSSP string as NULL.
        let ntlm = |key| {
            all(key)
                .into_iter()
                .next()
                .map(|s| if s == "NULL" { String::new() } else { s })
        };
        let fields = Smb2Fields {
            dialect: (cmd == 0)
                .then(|| dialect_list(all("smb2.dialect").iter().filter_map(|d| number(d))))
                .flatten(),
            tree,
            share_flags: all("smb2.share_flags").first().and_then(|f| number(f)),
            // Only SUCCESS and MORE_PROCESSING_REQUIRED carry a SESSION_SETUP response body;
            // any other status carries an ERROR response (MS-SMB2 2.2.2), which has the same
            // StructureSize 9, and tshark 4.0 reads its ErrorContextCount and Reserved bytes
            // as SessionFlags (e.g. lab/smb-session-bad-password.pcap frame 11).
            session_flags: matches!(status, Some(0 | 0xc000_0016))
                .then(|| all("smb2.session_flags").first().and_then(|f| number(f)))
                .flatten(),
            ntlmssp_user: ntlm("ntlmssp.auth.username"),
            ntlmssp_domain: ntlm("ntlmssp.auth.domain"),
        };
        out.push((smb2_key(cmd, response, msg_id, status), fields));
    }
    out
}

/// `dump --proto smb2`'s record as (identity, fields).
fn our_smb2(r: &Value) -> (String, Smb2Fields) {
    let response = r["response"].as_bool().unwrap_or(false);
    let key = smb2_key(
        r["cmd"].as_u64().unwrap_or(u64::MAX),
        response,
        r["msg_id"].as_u64().unwrap_or(u64::MAX),
        json_number(&r["status"]),
    );
    let text = |k: &str| r[k].as_str().map(str::to_string);
    let dialect = if response {
        json_number(&r["dialect"]).and_then(|d| dialect_list([d]))
    } else {
        dialect_list(each(&r["dialects"]).into_iter().filter_map(json_number))
    };
    let fields = Smb2Fields {
        dialect,
        tree: text("path"),
        share_flags: json_number(&r["share_flags"]),
        session_flags: json_number(&r["session_flags"]),
        ntlmssp_user: text("ntlmssp_user"),
        ntlmssp_domain: text("ntlmssp_domain"),
    };
    (key, fields)
}

/// Groups (frame, item) pairs by frame.
fn by_frame<T>(items: impl IntoIterator<Item = (u64, T)>) -> BTreeMap<u64, Vec<T>> {
    let mut map: BTreeMap<u64, Vec<T>> = BTreeMap::new();
    for (frame, item) in items {
        map.entry(frame).or_default().push(item);
    }
    map
}

#[test]
#[ignore = "needs tshark and ../shared/captures; run by .ci/run"]
fn smb2_messages_match_tshark() {
    let mut report = Report::default();
    for path in captures() {
        let p = path.to_str().unwrap();
        let theirs = by_frame(tshark_tree(p, "smb2").iter().flat_map(|f| {
            tshark_smb2(f)
                .into_iter()
                .map(move |m| (frame_number(f), m))
        }));
        let ours = by_frame(
            dump(&path, "smb2")
                .iter()
                .filter(|r| r["proto"] == "smb2")
                .map(|r| (r["frame"].as_u64().unwrap_or(0), our_smb2(r))),
        );
        let frames: std::collections::BTreeSet<u64> =
            theirs.keys().chain(ours.keys()).copied().collect();
        for frame in frames {
            let (ours, theirs) = (
                ours.get(&frame).map(Vec::as_slice).unwrap_or_default(),
                theirs.get(&frame).map(Vec::as_slice).unwrap_or_default(),
            );
            let keys = |msgs: &[(String, Smb2Fields)]| {
                sorted(msgs.iter().map(|(k, _)| k.clone()).collect())
            };
            report.check(&path, &format!("frame {frame}"), keys(ours), keys(theirs));
            // Per-command fields, wherever tshark shows them, of the messages both sides saw.
            for (key, their_fields) in theirs {
                let Some((_, our_fields)) = ours.iter().find(|(k, _)| k == key) else {
                    continue;
                };
                let our_present = our_fields.present();
                for (name, value) in their_fields.present() {
                    let ours = our_present
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map_or("-".to_string(), |(_, v)| v.clone());
                    report.check(&path, &format!("frame {frame} {key} {name}"), ours, value);
                }
            }
        }
    }
    report.finish("SMB2 messages");
}

/// One Kerberos message as compared: msg-type, error-code, sname (components joined by `/`)
/// and realm.
fn krb_key(msg_type: u64, error: Option<u64>, sname: Option<&str>, realm: Option<&str>) -> String {
    let error = error.map_or("-".to_string(), |e| e.to_string());
    format!(
        "type {msg_type} err {error} sname {} realm {}",
        sname.unwrap_or("-"),
        realm.unwrap_or("-")
    )
}

/// A Kerberos message as tshark shows it. Messages nested in another (the AP-REQ inside a
/// TGS-REQ's PA-TGS-REQ, a FAST armor) are part of their outer message and not counted, nor are
/// their snames and realms: `dump` prints one record per outer message.
struct TsharkKrb {
    msg_type: u64,
    error_code: Option<u64>,
    snames: Vec<String>,
    realms: Vec<String>,
}

/// Kerberos messages in one tshark frame: those on port 88 (a top-level `kerberos` layer) and
/// those in SMB2 security buffers (under `smb2.security_blob_tree`). Kerberos inside SMB1 or
/// DCE/RPC is not `dump`'s business.
fn tshark_krb(frame: &Value) -> Vec<TsharkKrb> {
    let layers = layers(frame);
    let mut krb_layers: Vec<&Value> = each(&layers["kerberos"]);
    for smb2 in each(&layers["smb2"]) {
        let mut blobs = Vec::new();
        find_all(smb2, "smb2.security_blob_tree", &|_| false, &mut blobs);
        for blob in blobs {
            find_all(blob, "kerberos", &|_| false, &mut krb_layers);
        }
    }
    let is_message = |v: &Value| v.get("kerberos.msg_type").is_some();
    let mut out = Vec::new();
    for layer in krb_layers {
        let Value::Object(map) = layer else { continue };
        for msg in map.values().flat_map(each).filter(|v| is_message(v)) {
            let Some(msg_type) = msg["kerberos.msg_type"].as_str().and_then(number) else {
                continue;
            };
            let mut sname_elements = Vec::new();
            find_all(
                msg,
                "kerberos.sname_element",
                &is_message,
                &mut sname_elements,
            );
            out.push(TsharkKrb {
                msg_type,
                error_code: strings(msg, "kerberos.error_code", &is_message)
                    .first()
                    .and_then(|e| number(e)),
                snames: sname_elements
                    .iter()
                    .map(|s| strings(s, "kerberos.SNameString", &|_| false).join("/"))
                    .collect(),
                realms: strings(msg, "kerberos.realm", &is_message),
            });
        }
    }
    out
}

#[test]
#[ignore = "needs tshark and ../shared/captures; run by .ci/run"]
fn kerberos_messages_match_tshark() {
    let mut report = Report::default();
    for path in captures() {
        let p = path.to_str().unwrap();
        let ours = by_frame(
            dump(&path, "kerberos")
                .into_iter()
                .filter(|r| r["proto"] == "kerberos")
                .map(|r| (r["frame"].as_u64().unwrap_or(0), r)),
        );
        let theirs = by_frame(
            tshark_tree(p, "kerberos")
                .iter()
                .flat_map(|f| tshark_krb(f).into_iter().map(move |m| (frame_number(f), m))),
        );
        let frames: std::collections::BTreeSet<u64> =
            theirs.keys().chain(ours.keys()).copied().collect();
        for frame in frames {
            let ours = ours.get(&frame).map(Vec::as_slice).unwrap_or_default();
            let theirs = theirs.get(&frame).map(Vec::as_slice).unwrap_or_default();
            let our_keys: Vec<String> = ours
                .iter()
                .map(|r| {
                    krb_key(
                        r["msg_type"].as_u64().unwrap_or(u64::MAX),
                        r["error_code"].as_u64(),
                        r["sname"].as_str(),
                        r["realm"].as_str(),
                    )
                })
                .collect();
            // Which realm: `dump`'s is the req-body realm of a KDC-REQ, the ticket's realm of
            // a KDC-REP or AP-REQ, and the realm of a KRB-ERROR. tshark calls each of these
            // `kerberos.realm` (a crealm is `kerberos.crealm`), so with nested messages left
            // out (`-T fields` would add the PA-TGS-REQ ticket's realm and sname to a TGS-REQ's)
            // every message of these captures shows exactly one realm and one sname. Should
            // tshark ever show several, ours must be one of them; otherwise they print joined
            // by `|`.
            let pick = |alternatives: &[String], ours: &[Option<&str>]| -> Option<String> {
                match alternatives {
                    [] => None,
                    [one] => Some(one.clone()),
                    several => Some(
                        several
                            .iter()
                            .find(|a| ours.contains(&Some(a.as_str())))
                            .cloned()
                            .unwrap_or_else(|| several.join("|")),
                    ),
                }
            };
            let our_snames: Vec<Option<&str>> = ours.iter().map(|r| r["sname"].as_str()).collect();
            let our_realms: Vec<Option<&str>> = ours.iter().map(|r| r["realm"].as_str()).collect();
            let their_keys: Vec<String> = theirs
                .iter()
                .map(|m| {
                    krb_key(
                        m.msg_type,
                        m.error_code,
                        pick(&m.snames, &our_snames).as_deref(),
                        pick(&m.realms, &our_realms).as_deref(),
                    )
                })
                .collect();
            report.check(
                &path,
                &format!("frame {frame}"),
                sorted(our_keys),
                sorted(their_keys),
            );
        }
    }
    report.finish("Kerberos messages");
}
