//! End-to-end throughput on a generated capture (see `smbtriage::testkit::gen`), layer by layer:
//!
//! - `floor`: a bare pcap-parser loop, the fastest any reader can go;
//! - `reader`: our [`CaptureReader`];
//! - `decode`: reader + link/IP/TCP/UDP decoding;
//! - `reassembly`: reader + decoding + the flow table (TCP reassembly) into a sink that only
//!   counts;
//! - `analyze`: the whole pipeline, `analyze`, in bytes/s and in packets/s.
//!
//! Before measuring, the findings of `analyze` are checked against what the generator made:
//! errors and warnings against `expected` (the injected failures), info findings against
//! `expected_info` (one `kerberos-fallback-ntlm` per client and server name of the mixed
//! estate).
//! `SMBTRIAGE_BENCH_MB` sets the capture size (default 64), `SMBTRIAGE_BENCH_DIR` where it is
//! written (default: the system temp dir).

use smbtriage::testkit::gen;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pcap_parser::{PcapBlockOwned, PcapError};
use smbtriage::capture::CaptureReader;
use smbtriage::flow::{At, ConnInfo, Dir, FlowConfig, FlowSink, FlowTable, TcpEvent};
use smbtriage::net::{Decoded, NetDecoder, UdpDatagram};
use smbtriage::{analyze, Options};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Capture {
    path: PathBuf,
    bytes: u64,
    packets: u64,
}

fn capture() -> Capture {
    let mb: u64 = std::env::var("SMBTRIAGE_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let dir = std::env::var_os("SMBTRIAGE_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("smbtriage-bench"));
    std::fs::create_dir_all(&dir).expect("bench data directory");
    let path = dir.join(format!("bench-{mb}m.pcap"));
    let cfg = gen::GenConfig::sized(mb << 20);
    let out = BufWriter::new(File::create(&path).expect("create bench capture"));
    let summary = gen::generate(out, &cfg).expect("write bench capture");
    check_findings(&path, &summary);
    eprintln!(
        "bench capture {}: {} bytes, {} packets, {} SMB connections",
        path.display(),
        summary.bytes,
        summary.packets,
        summary.smb_connections
    );
    Capture {
        bytes: std::fs::metadata(&path).map_or(summary.bytes, |m| m.len()),
        packets: summary.packets,
        path,
    }
}

/// The benchmark is only worth something if the analysis is right. `analyze` keeps
/// every severity (`--min-severity info`).
fn check_findings(path: &Path, summary: &gen::GenSummary) {
    let report = analyze(path, &Options::default());
    let mut got = gen::Counts::default();
    for f in &report.findings {
        got.add(f.id.as_str(), f.severity.as_str());
    }
    let want = summary.counts();
    assert_eq!(
        got.expected, want.expected,
        "errors and warnings differ from the injected failures"
    );
    assert_eq!(
        got.info, want.info,
        "info findings differ from the generated ones (per client and server name: {:?})",
        summary.ntlm_by_name
    );
}

fn floor(path: &Path) -> u64 {
    let file = File::open(path).expect("open");
    let mut reader = pcap_parser::create_reader(256 * 1024, file).expect("pcap");
    let mut bytes = 0;
    loop {
        match reader.next() {
            Ok((consumed, block)) => {
                if let PcapBlockOwned::Legacy(b) = block {
                    bytes += b.data.len() as u64;
                }
                reader.consume(consumed);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    break;
                }
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    bytes
}

fn reader(path: &Path) -> u64 {
    let mut r = CaptureReader::open(path).expect("open");
    let mut bytes = 0;
    while let Ok(Some(f)) = r.next_frame() {
        bytes += f.data.len() as u64;
    }
    bytes
}

fn decode(path: &Path) -> u64 {
    let mut r = CaptureReader::open(path).expect("open");
    let mut net = NetDecoder::new();
    let mut packets = 0;
    while let Ok(Some(f)) = r.next_frame() {
        if let Ok(Decoded::Packet(_)) = net.decode(&f) {
            packets += 1;
        }
    }
    packets
}

/// Counts what reassembly delivers.
#[derive(Default)]
struct Counting {
    bytes: u64,
    events: u64,
}

impl FlowSink for Counting {
    fn tcp(&mut self, _: &ConnInfo, _: At, event: TcpEvent<'_>) {
        self.events += 1;
        if let TcpEvent::Data { bytes, .. } = event {
            self.bytes += bytes.len() as u64;
        }
    }

    fn udp(&mut self, _: &ConnInfo, _: At, _: Dir, d: &UdpDatagram<'_>) {
        self.bytes += d.payload.len() as u64;
    }
}

fn reassembly(path: &Path) -> u64 {
    let mut r = CaptureReader::open(path).expect("open");
    let mut net = NetDecoder::new();
    let mut flows = FlowTable::new(FlowConfig::default());
    let mut sink = Counting::default();
    while let Ok(Some(f)) = r.next_frame() {
        let at = At {
            frame: f.number,
            ts: f.ts,
        };
        if let Ok(Decoded::Packet(p)) = net.decode(&f) {
            flows.process(&p, at, &mut sink);
        }
    }
    flows.finish(&mut sink);
    sink.bytes + sink.events
}

fn bench(c: &mut Criterion) {
    let cap = capture();
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Bytes(cap.bytes));
    let path = cap.path.as_path();
    g.bench_function("floor", |b| b.iter(|| floor(path)));
    g.bench_function("reader", |b| b.iter(|| reader(path)));
    g.bench_function("decode", |b| b.iter(|| decode(path)));
    g.bench_function("reassembly", |b| b.iter(|| reassembly(path)));
    g.bench_function("analyze", |b| {
        b.iter(|| analyze(path, &Options::default()).findings.len())
    });
    g.finish();
    let mut g = c.benchmark_group("pipeline-packets");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(cap.packets));
    g.bench_function("analyze", |b| {
        b.iter(|| analyze(path, &Options::default()).findings.len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
