//! Mutilated captures: every fixture cut at chosen offsets (file header, record header, TCP
//! header and payload, SMB2 header, DER length), with bytes flipped, record lengths set to 0
//! and 0xFFFFFFFF, records duplicated and reordered, and gzip-compressed then cut. Every run
//! must end in a report — findings, or a read error saying what went wrong — never a panic,
//! within a time bound; a few go through the binary to check SPEC §8's exit codes.
//!
//! The variants are chosen deterministically and bounded (a few dozen per fixture) so the
//! suite stays fast in a debug build.

use smbtriage::findings::{FindingId, Severity};
use smbtriage::report::{exit_code, FileReport, Report};
use smbtriage::Options;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_smbtriage");
/// One mutilated capture of a few KiB must be analysed well within this, even unoptimised.
const PER_RUN: Duration = Duration::from_secs(3);

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("fixtures/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read fixture"))
        })
        .collect();
    out.sort();
    assert!(out.len() >= 20, "fixtures/ holds the scenario captures");
    out
}

/// A classic little-endian pcap split into its parts.
struct Pcap {
    header: Vec<u8>,
    /// Each record: its 16-byte header and data; the last may be cut short.
    records: Vec<Vec<u8>>,
    /// Byte offset of each record in the file.
    starts: Vec<usize>,
}

impl Pcap {
    fn split(bytes: &[u8]) -> Pcap {
        assert_eq!(
            &bytes[..4],
            &[0xd4, 0xc3, 0xb2, 0xa1],
            "fixtures are LE pcap"
        );
        let mut records = Vec::new();
        let mut starts = Vec::new();
        let mut at = 24;
        while at < bytes.len() {
            let caplen = bytes
                .get(at + 8..at + 12)
                .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap()) as usize);
            let end = (at + 16 + caplen).min(bytes.len());
            starts.push(at);
            records.push(bytes[at..end].to_vec());
            at = end;
        }
        Pcap {
            header: bytes[..24].to_vec(),
            records,
            starts,
        }
    }

    fn join(&self, order: &[usize]) -> Vec<u8> {
        let mut out = self.header.clone();
        for &i in order {
            out.extend_from_slice(&self.records[i]);
        }
        out
    }

    fn is_boundary(&self, offset: usize) -> bool {
        offset == 24 || self.starts.contains(&offset)
    }
}

/// Deterministic sampler (LCG): the same variants on every run.
struct Sample(u64);

impl Sample {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n.max(1) as u64) as usize
    }
}

fn find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    hay.windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect()
}

/// Offsets to cut at: inside the file header, record headers, TCP headers and payloads,
/// SMB2 headers and DER lengths, plus an even spread.
fn cut_offsets(bytes: &[u8], pcap: &Pcap, rng: &mut Sample) -> Vec<usize> {
    let mut cuts = vec![0, 1, 4, 12, 20, 23, 24];
    for _ in 0..3 {
        let r = pcap.starts[rng.below(pcap.starts.len())];
        cuts.extend([r + 1, r + 8, r + 15]);
        // Ethernet 14 + IPv4 20: TCP header, then payload.
        cuts.extend([r + 16 + 14 + 20 + 6, r + 16 + 14 + 20 + 30]);
    }
    let smb2 = find_all(bytes, b"\xfeSMB");
    for _ in 0..3.min(smb2.len()) {
        let at = smb2[rng.below(smb2.len())];
        cuts.extend([at + 2, at + 12, at + 40, at + 63]);
    }
    // DER: a constructed tag followed by a long-form length; cut inside the length.
    let der: Vec<usize> = bytes
        .windows(2)
        .enumerate()
        .filter(|(_, w)| matches!(w[0], 0x30 | 0x60..=0x7e | 0xa0..=0xa4) && w[1] == 0x82)
        .map(|(i, _)| i)
        .collect();
    for _ in 0..3.min(der.len()) {
        cuts.push(der[rng.below(der.len())] + 2);
    }
    for i in 1..8 {
        cuts.push(bytes.len() * i / 8);
    }
    cuts.push(bytes.len() - 1);
    cuts.retain(|&c| c < bytes.len());
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

struct Variant {
    label: String,
    bytes: Vec<u8>,
    /// The file ends inside a record (or its header): a read error must be reported.
    cut_inside: bool,
}

fn variants(bytes: &[u8], seed: u64) -> Vec<Variant> {
    let pcap = Pcap::split(bytes);
    let mut rng = Sample(seed);
    let mut out = Vec::new();
    for cut in cut_offsets(bytes, &pcap, &mut rng) {
        out.push(Variant {
            label: format!("cut at {cut}"),
            bytes: bytes[..cut].to_vec(),
            cut_inside: !pcap.is_boundary(cut),
        });
    }
    for _ in 0..12 {
        let mut b = bytes.to_vec();
        let at = 24 + rng.below(b.len() - 24);
        b[at] ^= 1 << rng.below(8);
        out.push(Variant {
            label: format!("bit flipped at {at}"),
            bytes: b,
            cut_inside: false,
        });
    }
    let n = pcap.records.len();
    for rec in [0, n / 2, n - 1] {
        for (field, value) in [(8, 0u32), (8, u32::MAX), (12, 0), (12, u32::MAX)] {
            let mut b = bytes.to_vec();
            let at = pcap.starts[rec] + field;
            if at + 4 <= b.len() {
                b[at..at + 4].copy_from_slice(&value.to_le_bytes());
                out.push(Variant {
                    label: format!("record {} length field +{field} = {value:#x}", rec + 1),
                    bytes: b,
                    cut_inside: false,
                });
            }
        }
    }
    let whole: Vec<usize> = (0..n).filter(|&i| pcap.records[i].len() >= 16).collect();
    if whole.len() >= 2 {
        let mid = whole[whole.len() / 2];
        let mut order: Vec<usize> = whole.clone();
        order.insert(order.iter().position(|&i| i == mid).unwrap(), mid);
        out.push(Variant {
            label: format!("record {} duplicated", mid + 1),
            bytes: pcap.join(&order),
            cut_inside: false,
        });
        let mut order = whole.clone();
        let (a, c) = (rng.below(order.len()), rng.below(order.len()));
        order.swap(a, c);
        out.push(Variant {
            label: format!("records {} and {} swapped", a + 1, c + 1),
            bytes: pcap.join(&order),
            cut_inside: false,
        });
        let mut order = whole.clone();
        order.reverse();
        out.push(Variant {
            label: "records reversed".into(),
            bytes: pcap.join(&order),
            cut_inside: false,
        });
        let order: Vec<usize> = whole.iter().flat_map(|&i| [i, i]).collect();
        out.push(Variant {
            label: "every record twice".into(),
            bytes: pcap.join(&order),
            cut_inside: false,
        });
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    let gz = gz.finish().unwrap();
    for cut in [gz.len() / 3, gz.len() - 9] {
        out.push(Variant {
            label: format!("gzip cut at {cut}"),
            bytes: gz[..cut].to_vec(),
            cut_inside: true,
        });
    }
    out
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("smbtriage-mutilation-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn analyze(path: &Path) -> Result<FileReport, String> {
    panic::catch_unwind(AssertUnwindSafe(|| {
        smbtriage::analyze(path, &Options::default())
    }))
    .map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

fn library_exit(report: &FileReport, fail_on: Severity) -> u8 {
    let report = Report {
        files: vec![report.clone()],
        ..Report::default()
    };
    exit_code(&report, Some(fail_on))
}

#[test]
fn every_mutilated_fixture_ends_in_a_report() {
    let tmp = TempDir::new("lib");
    let started = Instant::now();
    let mut runs = 0;
    let mut failures = Vec::new();
    for (i, (name, bytes)) in fixtures().iter().enumerate() {
        for v in variants(bytes, 0x5eed + i as u64) {
            let path = tmp.0.join(format!("{name}.pcap"));
            std::fs::write(&path, &v.bytes).unwrap();
            let t = Instant::now();
            let result = analyze(&path);
            let took = t.elapsed();
            runs += 1;
            let what = format!("{name}: {}", v.label);
            let failed_before = failures.len();
            match result {
                Err(msg) => failures.push(format!("{what}: panicked: {msg}")),
                Ok(report) => {
                    if took > PER_RUN {
                        failures.push(format!("{what}: took {took:?}"));
                    }
                    if v.cut_inside && report.errors.is_empty() {
                        failures.push(format!("{what}: a cut file read without an error"));
                    }
                    // Reading stopped early (a cut, a corrupt record or gzip stream): the
                    // findings must say so, or --fail-on would pass a capture missing its end.
                    let stopped = report.errors.iter().any(|e| {
                        e.contains("(truncated capture)")
                            || e.contains("corrupt record after frame")
                            || e.contains("gzip data is corrupt")
                    });
                    if stopped
                        && report.packets > 0
                        && !report
                            .findings
                            .iter()
                            .any(|f| f.id == FindingId::CaptureIncomplete)
                    {
                        failures.push(format!(
                            "{what}: stopped early without capture-incomplete: {:?}",
                            report.errors
                        ));
                    }
                }
            }
            // SMBTRIAGE_KEEP_FAILED=DIR keeps the failing inputs for a closer look.
            if let Some(keep) = std::env::var_os("SMBTRIAGE_KEEP_FAILED") {
                if failures.len() > failed_before {
                    let file = format!("{name}-{}.pcap", failures.len());
                    let _ = std::fs::create_dir_all(&keep);
                    let _ = std::fs::write(Path::new(&keep).join(file), &v.bytes);
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{runs} mutilated captures analysed in {:?}",
        started.elapsed()
    );
}

/// SPEC §8 through the binary: 2 for a file that cannot be read at all, else 0/1 by
/// `--fail-on`, the same as the library decides.
#[test]
fn exit_codes_of_mutilated_captures() {
    let tmp = TempDir::new("bin");
    let fixtures = fixtures();
    let healthy = &fixtures
        .iter()
        .find(|(n, _)| n == "smb2-healthy-ntlm")
        .expect("healthy fixture")
        .1;
    let failing = &fixtures
        .iter()
        .find(|(n, _)| n == "tree-bad-network-name")
        .expect("failing fixture")
        .1;
    let pcap = Pcap::split(healthy);
    let cut_record = pcap.starts[pcap.starts.len() / 2] + 20;
    let mut bad_len = healthy.clone();
    let last = *pcap.starts.last().unwrap();
    bad_len[last + 8..last + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let cases: Vec<(&str, Vec<u8>, &str, u8)> = vec![
        ("empty", Vec::new(), "error", 2),
        ("header-cut", healthy[..13].to_vec(), "error", 2),
        (
            "not-a-capture",
            b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            "error",
            2,
        ),
        ("healthy-cut", healthy[..cut_record].to_vec(), "error", 0),
        ("healthy-cut", healthy[..cut_record].to_vec(), "warning", 1),
        ("healthy-bad-len", bad_len, "error", 0),
        (
            "failing-cut",
            failing[..failing.len() - 3].to_vec(),
            "error",
            1,
        ),
        (
            "failing-cut",
            failing[..failing.len() - 3].to_vec(),
            "never",
            0,
        ),
    ];
    for (name, bytes, fail_on, expected) in cases {
        let path = tmp.0.join(format!("{name}.pcap"));
        std::fs::write(&path, &bytes).unwrap();
        let t = Instant::now();
        let out = Command::new(BIN)
            .arg(&path)
            .args(["--format", "json", "--fail-on", fail_on])
            .output()
            .expect("run smbtriage");
        assert!(t.elapsed() < PER_RUN * 2, "{name}: slow");
        let code = out.status.code().expect("exited, not killed");
        assert_eq!(
            code,
            i32::from(expected),
            "{name} --fail-on {fail_on}: stderr {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{name}: stdout is not one JSON document: {e}"));
        let file = &doc["files"][0];
        if expected == 2 || name.contains("cut") || name.contains("bad-len") {
            assert!(
                file["errors"].as_array().is_some_and(|e| !e.is_empty()),
                "{name}: the read problem is reported: {file}"
            );
        }
        if fail_on != "never" {
            let severity = match fail_on {
                "warning" => Severity::Warning,
                _ => Severity::Error,
            };
            let report = smbtriage::analyze(&path, &Options::default());
            assert_eq!(
                library_exit(&report, severity),
                expected,
                "{name}: library and binary agree"
            );
        }
    }
}
