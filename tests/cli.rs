//! The built binary as a user or a CI job runs it: formats, exit codes, scan, explain.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_smbtriage");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("CI")
        .output()
        .expect("run smbtriage")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("smbtriage-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn default_table_names_the_failure_and_exits_1() {
    let o = run(&[fixture("tree-bad-network-name.pcap").to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    let out = stdout(&o);
    assert!(out.contains("tree-connect-bad-network-name"), "{out}");
    assert!(out.contains(r"\\nas1.corp.example\dta"), "{out}");
    assert!(out.contains("req 10 / rsp 11"), "{out}");
    assert!(
        !out.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn healthy_capture_exits_0() {
    let o = run(&[fixture("smb2-healthy-ntlm.pcap").to_str().unwrap()]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
}

#[test]
fn fail_on_and_min_severity_set_the_exit_code() {
    let bad = fixture("tree-bad-network-name.pcap");
    let warn = fixture("negotiate-no-response.pcap");
    let info = fixture("kerberos-preauth-ok.pcap");
    let cases: &[(&Path, &[&str], i32)] = &[
        (&bad, &["--fail-on", "error"], 1),
        (&bad, &["--fail-on", "warning"], 1),
        (&bad, &["--fail-on", "info"], 1),
        (&bad, &["--fail-on", "never"], 0),
        (&warn, &["--fail-on", "error"], 0),
        (&warn, &["--fail-on", "warning"], 1),
        (&warn, &["--fail-on", "never"], 0),
        (&info, &["--fail-on", "info"], 0),
        (&info, &["--fail-on", "info", "--min-severity", "info"], 1),
        (
            &info,
            &["--fail-on", "warning", "--min-severity", "info"],
            0,
        ),
    ];
    for (file, flags, expected) in cases {
        let mut args: Vec<&str> = flags.to_vec();
        args.push(file.to_str().unwrap());
        let o = run(&args);
        assert_eq!(code(&o), *expected, "{args:?}");
    }
}

#[test]
fn json_follows_the_contract() {
    let o = run(&[
        "--format",
        "json",
        fixture("negotiate-timeout.pcap").to_str().unwrap(),
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON document");
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["tool"]["name"], "smbtriage");
    let file = &doc["files"][0];
    assert_eq!(file["packets"], 6);
    let f = &file["findings"][0];
    assert_eq!(f["id"], "negotiate-timeout");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["phase"], "negotiate");
    assert_eq!(f["frames"]["request"], 4);
    assert_eq!(f["frames"]["ack"], 5);
    assert_eq!(f["frames"]["reset"], 6);
    assert_eq!(f["client"], "192.0.2.10:49740");
    assert_eq!(f["server"], "192.0.2.20:445");
    let time = f["time"].as_str().expect("time");
    assert!(
        time.ends_with('Z') && time.len() == "2023-11-14T22:13:20.000300Z".len(),
        "{time}"
    );
    assert!(f["remediation"].as_array().is_some_and(|r| !r.is_empty()));
}

#[test]
fn jsonl_sarif_and_junit_parse() {
    let file = fixture("kerberos-spn-unknown-cname.pcap");
    let f = file.to_str().unwrap();
    let o = run(&["--format", "jsonl", "--min-severity", "info", f]);
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| l["file"].as_str() == Some(f)));
    assert!(lines
        .iter()
        .any(|l| l["kerberos_error"]["name"] == "KDC_ERR_S_PRINCIPAL_UNKNOWN"));

    let o = run(&["--format", "sarif", f]);
    let sarif: serde_json::Value = serde_json::from_slice(&o.stdout).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "kerberos-spn-unknown"));

    let o = run(&["--format", "junit", f]);
    let xml = stdout(&o);
    let doc = roxmltree::Document::parse(&xml).expect("JUnit is XML");
    assert_eq!(doc.root_element().tag_name().name(), "testsuites");
    assert!(doc.descendants().any(|n| n.has_tag_name("testcase")));
}

#[test]
fn output_file_and_explain() {
    let dir = scratch("out");
    let out = dir.join("report.json");
    let o = run(&[
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
        fixture("tree-access-denied.pcap").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    assert!(o.stdout.is_empty());
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        doc["files"][0]["findings"][0]["id"],
        "tree-connect-access-denied"
    );

    let o = run(&["explain", "encryption-required"]);
    assert_eq!(code(&o), 0);
    let text = stdout(&o);
    assert!(
        text.contains("Get-SmbServerConfiguration") && text.contains("Get-SmbShare"),
        "{text}"
    );
    let o = run(&["explain", "no-such-id"]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("negotiate-timeout"));
}

#[test]
fn unreadable_inputs_are_one_line_errors_with_exit_2() {
    let dir = scratch("bad");
    let text = dir.join("notes.pcap");
    std::fs::write(&text, "this is not a capture\n").unwrap();
    for (path, needle) in [
        (dir.join("missing.pcap"), "cannot open"),
        (text, "not a pcap or pcapng capture"),
    ] {
        let o = run(&[path.to_str().unwrap()]);
        assert_eq!(code(&o), 2);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(
            err.contains(needle) && err.contains(path.to_str().unwrap()),
            "{err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
    }
    let o = run(&["--no-such-flag"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn scan_reports_every_file_and_keeps_going() {
    let dir = scratch("scan");
    let good = std::fs::read(fixture("tree-bad-network-name.pcap")).unwrap();
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("good.pcap"), &good).unwrap();
    std::fs::write(
        dir.join("sub/healthy.pcap"),
        std::fs::read(fixture("smb2-healthy-ntlm.pcap")).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("truncated.pcap"), &good[..good.len() - 40]).unwrap();
    let mut corrupt = good.clone();
    corrupt[30..40].copy_from_slice(&[0xff; 10]);
    std::fs::write(dir.join("corrupt.pcap"), &corrupt).unwrap();
    std::fs::write(dir.join("empty.pcap"), b"").unwrap();
    std::fs::write(dir.join("text.pcap"), b"hello, world").unwrap();
    std::fs::write(dir.join("ignored.txt"), b"not scanned").unwrap();

    let o = run(&[
        "scan",
        dir.to_str().unwrap(),
        "--format",
        "json",
        "--jobs",
        "2",
    ]);
    assert_eq!(code(&o), 2, "unreadable files make the scan exit 2");
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let files = doc["files"].as_array().unwrap();
    let names: Vec<&str> = files
        .iter()
        .map(|f| f["path"].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "corrupt.pcap",
            "empty.pcap",
            "good.pcap",
            "healthy.pcap",
            "text.pcap",
            "truncated.pcap"
        ]
    );
    let by_name = |n: &str| &files[names.iter().position(|x| *x == n).unwrap()];
    assert_eq!(
        by_name("good.pcap")["findings"][0]["id"],
        "tree-connect-bad-network-name"
    );
    assert!(by_name("empty.pcap")["errors"][0]
        .as_str()
        .unwrap()
        .contains("empty"));
    assert!(by_name("text.pcap")["errors"][0]
        .as_str()
        .unwrap()
        .contains("not a pcap"));
    let truncated = by_name("truncated.pcap");
    assert!(truncated["errors"][0]
        .as_str()
        .unwrap()
        .contains("truncated"));
    assert!(truncated["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "capture-incomplete"));
    assert!(by_name("healthy.pcap")["findings"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// A path that cannot be followed is one unreadable entry among the others, not the end of
/// the scan.
#[test]
fn scan_goes_on_past_a_missing_input() {
    let dir = scratch("scan-missing");
    std::fs::copy(fixture("tree-bad-network-name.pcap"), dir.join("good.pcap")).unwrap();
    let missing = dir.join("not-there");
    let o = run(&[
        "scan",
        missing.to_str().unwrap(),
        dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 2, "{}", String::from_utf8_lossy(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert!(files[0]["path"].as_str().unwrap().ends_with("good.pcap"));
    assert_eq!(
        files[0]["findings"][0]["id"],
        "tree-connect-bad-network-name"
    );
    assert!(files[1]["path"].as_str().unwrap().ends_with("not-there"));
    assert!(files[1]["errors"][0]
        .as_str()
        .unwrap()
        .contains("not-there: "));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not-there: "));
}

#[test]
fn scan_output_is_the_same_with_one_or_two_jobs() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let one = run(&[
        "scan",
        fixtures.to_str().unwrap(),
        "--format",
        "jsonl",
        "--jobs",
        "1",
        "--fail-on",
        "never",
    ]);
    let two = run(&[
        "scan",
        fixtures.to_str().unwrap(),
        "--format",
        "jsonl",
        "--jobs",
        "2",
        "--fail-on",
        "never",
    ]);
    assert_eq!(code(&one), 0);
    assert!(!one.stdout.is_empty());
    assert_eq!(one.stdout, two.stdout);
    let include = run(&[
        "scan",
        fixtures.to_str().unwrap(),
        "--include",
        "tree-*.pcap",
        "--exclude",
        "*other*",
        "--format",
        "json",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&include.stdout).unwrap();
    let paths: Vec<String> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["path"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        paths,
        ["tree-access-denied.pcap", "tree-bad-network-name.pcap"]
    );
}

#[test]
fn verbose_shows_the_timeline_and_quiet_only_the_summary() {
    let f = fixture("smb2-healthy-ntlm.pcap");
    let v = stdout(&run(&["-v", f.to_str().unwrap()]));
    assert!(
        v.contains("NEGOTIATE") && v.contains("TREE_CONNECT") && v.contains("STATUS_SUCCESS"),
        "{v}"
    );
    let q = stdout(&run(&[
        "-q",
        fixture("tree-bad-network-name.pcap").to_str().unwrap(),
    ]));
    assert_eq!(q.lines().count(), 1, "{q}");
}

#[test]
fn dump_prints_json_lines_in_frame_order() {
    let o = run(&[
        "dump",
        "--proto",
        "all",
        fixture("kerberos-spn-unknown-cname.pcap").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0);
    let frames: Vec<u64> = stdout(&o)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
            v["frame"]
                .as_u64()
                .or_else(|| v["first_frame"].as_u64())
                .expect("frame")
        })
        .collect();
    assert!(!frames.is_empty());
    assert!(frames.windows(2).all(|w| w[0] <= w[1]), "{frames:?}");
}

#[test]
fn unsupported_link_type_is_reported_once_and_not_fatal() {
    use smbtriage::testkit::{Linktype, PcapWriter, Timestamp};
    let dir = scratch("linktype");
    let path = dir.join("usb.pcap");
    let mut w = PcapWriter::new(Vec::new(), Linktype(189)).unwrap();
    for i in 0..3 {
        w.write_packet(Timestamp::from_secs(1_700_000_000 + i), &[0u8; 40])
            .unwrap();
    }
    std::fs::write(&path, w.into_inner()).unwrap();
    let o = run(&["--format", "json", path.to_str().unwrap()]);
    assert_eq!(
        code(&o),
        0,
        "a capture of another link type is read, not an input error"
    );
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let errors = doc["files"][0]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0]
        .as_str()
        .unwrap()
        .contains("3 frame(s) of unsupported link type 189"));
}
