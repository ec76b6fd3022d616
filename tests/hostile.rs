//! Hostile captures with resource limits: a record claiming 4 GiB, a NetBIOS length of 16 MiB
//! never delivered, ASN.1 nested thousands deep, a gzip bomb, millions of SYN-only flows and
//! endless overlapping retransmissions. Each must finish, within its time limit, under its
//! memory cap.
//!
//! Each test re-runs itself in a child process (this test binary, filtered to the one test,
//! `HOSTILE_CHILD` set) so that the child's peak RSS (`VmHWM` in /proc/self/status) measures
//! that one analysis alone; the input is built by the parent (or generated on the fly by the
//! child, never held whole). The heavy variants are `#[ignore]`d and run by `.ci/run` in
//! release: `cargo test --release --test hostile -- --include-ignored`. Measured peaks are
//! recorded in fuzz/README.md.

use smbtriage::capture::CaptureReader;
use smbtriage::findings::rules::{self, Context};
use smbtriage::flow::{At, FlowConfig};
use smbtriage::pipeline;
use smbtriage::proto::gss::spnego;
use smbtriage::proto::kerberos;
use smbtriage::setup::{Analyzer, SetupOptions};
use smbtriage::testkit::{
    nbss_frame, smb, Dir, Linktype, Packet, PcapWriter, TcpConversation, TcpFlags,
};
use smbtriage::{analyze, Options};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MIB: u64 = 1024 * 1024;

/// Runs `work` in a child process and checks its peak RSS and wall time. In the child (the
/// same test re-run with `HOSTILE_CHILD=<name>`) it runs `work` and prints the peak.
fn in_child(name: &str, input: Option<&Path>, cap_mib: u64, limit: Duration, work: impl FnOnce()) {
    if std::env::var("HOSTILE_CHILD").as_deref() == Ok(name) {
        work();
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let hwm = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
        println!("HOSTILE_PEAK_KIB={hwm}");
        return;
    }
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        name,
        "--exact",
        "--nocapture",
        "--include-ignored",
        "--test-threads=1",
    ])
    .env("HOSTILE_CHILD", name)
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    if let Some(p) = input {
        cmd.env("HOSTILE_INPUT", p);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn child test");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    let status = child.wait().unwrap();
    let out = reader.join().unwrap();
    assert!(status.success(), "{name}: child failed:\n{out}");
    let peak_kib: u64 = out
        .lines()
        .find_map(|l| l.split("HOSTILE_PEAK_KIB=").nth(1))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name}: no peak reported:\n{out}"));
    eprintln!(
        "{name}: peak RSS {:.1} MiB (cap {cap_mib} MiB), {took:.2?}",
        peak_kib as f64 / 1024.0
    );
    assert!(
        peak_kib <= cap_mib * 1024,
        "{name}: peak RSS {peak_kib} KiB over the {cap_mib} MiB cap"
    );
}

fn input_path() -> PathBuf {
    PathBuf::from(std::env::var_os("HOSTILE_INPUT").expect("HOSTILE_INPUT"))
}

struct TempFile(PathBuf);

impl TempFile {
    fn write(tag: &str, bytes: &[u8]) -> TempFile {
        let path =
            std::env::temp_dir().join(format!("smbtriage-hostile-{tag}-{}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn pcap(packets: &[Packet]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), Linktype::ETHERNET).unwrap();
    w.write_packets(packets).unwrap();
    w.into_inner()
}

/// Analyses the capture at HOSTILE_INPUT as `smbtriage analyze` does.
fn analyze_input() -> smbtriage::report::FileReport {
    analyze(&input_path(), &Options::default())
}

/// Runs the whole pipeline and the findings over a capture generated on the fly.
fn analyze_stream(source: impl Read + Send + 'static) -> (u64, usize) {
    let reader = CaptureReader::from_reader(Path::new("generated.pcap"), source).unwrap();
    let mut analyzer = Analyzer::new(SetupOptions::default());
    let summary = pipeline::run_reader(reader, &FlowConfig::default(), &mut analyzer);
    assert!(summary.read_error.is_none(), "{:?}", summary.read_error);
    let analysis = analyzer.finish();
    let ctx = Context {
        end: summary.last.unwrap_or(At {
            frame: 0,
            ts: Default::default(),
        }),
        negotiate_timeout_ns: 20_000_000_000,
        truncated: false,
        corrupt: None,
        cut_frames: 0,
    };
    let findings = rules::run(&analysis, &ctx, Vec::new());
    (summary.packets, findings.len())
}

/// A classic pcap (Ethernet, microseconds) produced record by record from a closure that
/// writes frame `i` into the buffer, or returns false at the end.
struct Generated<F> {
    next: F,
    i: u64,
    buf: Vec<u8>,
    pos: usize,
    started: bool,
}

impl<F: FnMut(u64, &mut Vec<u8>) -> bool> Generated<F> {
    fn new(next: F) -> Self {
        Generated {
            next,
            i: 0,
            buf: Vec::new(),
            pos: 0,
            started: false,
        }
    }
}

impl<F: FnMut(u64, &mut Vec<u8>) -> bool> Read for Generated<F> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if !self.started {
                self.started = true;
                let w = PcapWriter::new(Vec::new(), Linktype::ETHERNET).unwrap();
                self.buf = w.into_inner();
            } else {
                let mut frame = Vec::new();
                if !(self.next)(self.i, &mut frame) {
                    return Ok(0);
                }
                let us = self.i;
                self.i += 1;
                let ts_sec = 1_700_000_000 + (us / 1_000_000) as u32;
                let ts_usec = (us % 1_000_000) as u32;
                for v in [ts_sec, ts_usec, frame.len() as u32, frame.len() as u32] {
                    self.buf.extend_from_slice(&v.to_le_bytes());
                }
                self.buf.extend_from_slice(&frame);
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Ethernet + IPv4 + TCP (no options), checksums left zero.
#[allow(clippy::too_many_arguments)]
fn tcp_frame(
    out: &mut Vec<u8>,
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    flags: u8,
    payload: &[u8],
) {
    out.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
    let total = (40 + payload.len()) as u16;
    out.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0x40,
        0,
        64,
        6,
        0,
        0,
    ]);
    out.extend_from_slice(&src);
    out.extend_from_slice(&dst);
    out.extend_from_slice(&sport.to_be_bytes());
    out.extend_from_slice(&dport.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    out.extend_from_slice(payload);
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

fn syn_flood(flows: u64) {
    let source = Generated::new(move |i, out| {
        if i >= flows {
            return false;
        }
        let host = (i / 60_000) as u32;
        let src = (0x0a00_0000 + host).to_be_bytes();
        tcp_frame(
            out,
            src,
            [192, 0, 2, 20],
            1024 + (i % 60_000) as u16,
            445,
            i as u32,
            SYN,
            &[],
        );
        true
    });
    let (packets, findings) = analyze_stream(source);
    assert_eq!(packets, flows);
    eprintln!("{flows} SYN-only flows: {findings} findings");
}

#[test]
fn syn_only_flows() {
    in_child("syn_only_flows", None, 256, Duration::from_secs(60), || {
        syn_flood(50_000)
    });
}

/// Five times the flow table's 200 000-connection cap. Connections that never carried an SMB
/// message are not kept after they close, and failed attempts are kept up to a cap, so memory
/// follows the flow table, not the file.
#[test]
#[ignore = "heavy: run by .ci/run in release"]
fn millions_of_syn_only_flows() {
    in_child(
        "millions_of_syn_only_flows",
        None,
        1024,
        Duration::from_secs(180),
        || syn_flood(1_000_000),
    );
}

/// One connection to 445 whose first data segment was never captured; after it, `count`
/// segments of 1400 bytes, each starting one byte later than the one before (every one
/// overlaps all its neighbours), then `count` copies of a segment already delivered.
fn overlapping_retransmissions(count: u64) {
    let client = [192, 0, 2, 10];
    let server = [192, 0, 2, 20];
    let payload = vec![0x5a; 1400];
    let source = Generated::new(move |i, out| {
        let (src, dst, sport, dport) = (client, server, 50_000, 445);
        match i {
            0 => tcp_frame(out, src, dst, sport, dport, 999, SYN, &[]),
            1 => tcp_frame(out, dst, src, dport, sport, 4999, SYN | ACK, &[]),
            2 => tcp_frame(out, src, dst, sport, dport, 1000, ACK, &payload[..100]),
            n if n < 3 + count => {
                let seq = 1000 + 100 + 1400 + (n - 3) as u32;
                tcp_frame(out, src, dst, sport, dport, seq, ACK, &payload);
            }
            n if n < 3 + 2 * count => tcp_frame(out, src, dst, sport, dport, 1000, ACK, &payload),
            _ => return false,
        }
        true
    });
    let (packets, _) = analyze_stream(source);
    assert_eq!(packets, 3 + 2 * count);
}

#[test]
fn endless_overlapping_retransmissions() {
    in_child(
        "endless_overlapping_retransmissions",
        None,
        256,
        Duration::from_secs(60),
        || overlapping_retransmissions(20_000),
    );
}

#[test]
#[ignore = "heavy: run by .ci/run in release"]
fn endless_overlapping_retransmissions_heavy() {
    in_child(
        "endless_overlapping_retransmissions_heavy",
        None,
        256,
        Duration::from_secs(120),
        || overlapping_retransmissions(1_000_000),
    );
}

#[test]
fn record_claiming_4_gib() {
    let mut file = pcap(&[]);
    let mut conv = TcpConversation::v4(445);
    let syn = conv.syn();
    file.extend_from_slice(&pcap(std::slice::from_ref(&syn))[24..]);
    for v in [1_700_000_001u32, 0, u32::MAX, u32::MAX] {
        file.extend_from_slice(&v.to_le_bytes());
    }
    file.extend_from_slice(&[0u8; 4096]);
    let tmp = TempFile::write("4gib", &file);
    in_child(
        "record_claiming_4_gib",
        Some(&tmp.0),
        64,
        Duration::from_secs(30),
        || {
            let report = analyze_input();
            assert_eq!(report.packets, 1);
            assert!(!report.errors.is_empty(), "the bad record is reported");
        },
    );
}

#[test]
fn netbios_16_mib_never_delivered() {
    let mut conv = TcpConversation::v4(445);
    let mut packets = conv.handshake();
    // A Direct TCP header announcing 16 MiB - 1, then 6 MiB of it, then the client resets.
    let mut data = vec![0x00, 0xff, 0xff, 0xff];
    data.extend_from_slice(b"\xfeSMB");
    data.resize(6 << 20, 0x41);
    packets.extend(conv.client_send(&data, 1460));
    packets.push(conv.rst_from_client());
    let tmp = TempFile::write("nbss16m", &pcap(&packets));
    drop(packets);
    in_child(
        "netbios_16_mib_never_delivered",
        Some(&tmp.0),
        64,
        Duration::from_secs(60),
        || {
            let report = analyze_input();
            assert!(report.errors.is_empty(), "{:?}", report.errors);
        },
    );
}

/// `depth` constructed DER elements inside each other.
fn nested(tag: u8, depth: usize) -> Vec<u8> {
    let mut inner = vec![0x05, 0x00];
    for _ in 0..depth {
        let len = inner.len() as u32;
        let mut next = vec![tag, 0x84];
        next.extend_from_slice(&len.to_be_bytes());
        next.extend_from_slice(&inner);
        inner = next;
    }
    inner
}

#[test]
fn asn1_nested_thousands_deep() {
    // 10 000 levels: the deepest blob that still fits a SESSION_SETUP security buffer.
    let depth = 10_000;
    let blobs = [
        nested(0xa0, depth),
        [&[0x60u8, 0x84, 0, 1, 0, 0][..], &nested(0x30, depth)].concat(),
        [&[0xa1u8, 0x84, 0, 1, 0, 0][..], &nested(0x30, depth)].concat(),
        [&[0x6cu8, 0x84, 0, 1, 0, 0][..], &nested(0x30, depth)].concat(),
        nested(0x6e, depth),
        nested(0x7e, depth),
    ];
    // The parsers run on a small stack: any recursion must be bounded by the parser, not by
    // the input.
    let parsed = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn({
            let blobs = blobs.clone();
            move || {
                for b in &blobs {
                    let _ = spnego::parse_security_blob(b);
                    let _ = spnego::classify_mech_token(b);
                    let _ = kerberos::parse_message(b);
                    let _ = kerberos::parse_gss_krb5(b);
                }
            }
        })
        .unwrap()
        .join();
    assert!(parsed.is_ok(), "a parser overflowed a 256 KiB stack");

    // The same blobs through the whole pipeline: in SESSION_SETUP and over UDP 88.
    let mut conv = TcpConversation::v4(445);
    let mut packets = conv.handshake();
    for (i, b) in blobs.iter().enumerate() {
        let req = smb::message(
            &smb::Header::request(smbtriage::proto::smb2::Smb2Command::SESSION_SETUP, i as u64),
            &smb::session_setup_request(1, 0, b),
        );
        packets.extend(conv.client_send(&nbss_frame(&req), 1460));
    }
    let mut kdc = smbtriage::testkit::UdpExchange::new(
        (smbtriage::testkit::CLIENT_V4, 50_001).into(),
        ([192, 0, 2, 30], 88).into(),
    );
    for b in &blobs {
        packets.extend(kdc.client_send(&b[..b.len().min(60_000)]));
    }
    let tmp = TempFile::write("asn1", &pcap(&packets));
    in_child(
        "asn1_nested_thousands_deep",
        Some(&tmp.0),
        64,
        Duration::from_secs(30),
        || {
            let report = analyze_input();
            assert!(report.errors.is_empty(), "{:?}", report.errors);
        },
    );
}

/// A gzip "bomb": `members` gzip members of `records` identical 64 KiB TCP segments each,
/// concatenated (legal gzip); ~1 KiB of file per 64 MiB of capture.
fn gzip_bomb(members: usize, records: usize) -> Vec<u8> {
    use flate2::{write::GzEncoder, Compression};
    let mut frame = Vec::new();
    tcp_frame(
        &mut frame,
        [192, 0, 2, 10],
        [192, 0, 2, 20],
        50_000,
        445,
        1000,
        ACK,
        &[0; 65_000],
    );
    let mut body = Vec::with_capacity(records * (frame.len() + 16));
    for i in 0..records as u32 {
        for v in [1_700_000_000 + i, 0, frame.len() as u32, frame.len() as u32] {
            body.extend_from_slice(&v.to_le_bytes());
        }
        body.extend_from_slice(&frame);
    }
    let gz = |bytes: &[u8]| {
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    };
    let mut out = gz(&pcap(&[]));
    let member = gz(&body);
    for _ in 0..members {
        out.extend_from_slice(&member);
    }
    out
}

#[test]
fn gzip_bomb_small() {
    let tmp = TempFile::write("gz-small", &gzip_bomb(2, 256));
    in_child(
        "gzip_bomb_small",
        Some(&tmp.0),
        128,
        Duration::from_secs(60),
        || {
            let report = analyze_input();
            assert_eq!(report.packets, 512);
            assert!(report.errors.is_empty(), "{:?}", report.errors);
        },
    );
}

#[test]
#[ignore = "heavy: run by .ci/run in release"]
fn gzip_bomb_one_gib() {
    let bomb = gzip_bomb(16, 1024);
    assert!(
        bomb.len() < 4 * MIB as usize,
        "the bomb is small: {}",
        bomb.len()
    );
    let tmp = TempFile::write("gz-1g", &bomb);
    in_child(
        "gzip_bomb_one_gib",
        Some(&tmp.0),
        128,
        Duration::from_secs(120),
        || {
            let report = analyze_input();
            assert_eq!(report.packets, 16 * 1024);
            assert!(report.errors.is_empty(), "{:?}", report.errors);
        },
    );
}

#[test]
fn tcp_syn_helper_is_a_syn() {
    // Guards the hand-written frames above: the pipeline must see them as TCP SYNs.
    let mut frame = Vec::new();
    tcp_frame(
        &mut frame,
        [10, 0, 0, 1],
        [192, 0, 2, 20],
        1024,
        445,
        7,
        SYN,
        &[],
    );
    let mut seen = false;
    let source = Generated::new(move |i, out| {
        if i > 0 {
            return false;
        }
        out.extend_from_slice(&frame);
        true
    });
    let reader = CaptureReader::from_reader(Path::new("one.pcap"), source).unwrap();
    let mut analyzer = Analyzer::new(SetupOptions::default());
    let summary = pipeline::run_reader(reader, &FlowConfig::default(), &mut analyzer);
    if summary.flow.tcp_conns == 1 {
        seen = true;
    }
    assert!(seen, "{summary:?}");
    let _ = (Dir::ToServer, TcpFlags::SYN);
}
