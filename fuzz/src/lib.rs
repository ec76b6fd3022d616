//! Fuzz targets for smbtriage: one function per target, each taking arbitrary bytes and
//! panicking only on a bug (a panic inside smbtriage, or a broken invariant checked here).
//!
//! The same functions back the libFuzzer targets (`cargo fuzz run <name>`) and the plain
//! binaries that replay a corpus or run the random driver ([`driver`]) where libFuzzer is
//! not available.
#![forbid(unsafe_code)]

pub mod driver;
pub mod mutate;

use smbtriage::analyze::Settling;
use smbtriage::{analyze_reader, Options};
use smbtriage::capture::CaptureReader;
use smbtriage::findings::rules::Context;
use smbtriage::findings::Severity;
use smbtriage::flow::{At, Chunk, ConnInfo, Dir, FlowConfig, FlowSink, FlowTable, HalfStream};
use smbtriage::flow::{TcpEvent, Tee};
use smbtriage::net::{Packet, TcpFlags, TcpSegment, Transport, UdpDatagram};
use smbtriage::pipeline;
use smbtriage::proto::gss::{ntlmssp, spnego};
use smbtriage::proto::{dns, kerberos, nbss, smb1, smb2};
use smbtriage::report::dump::ConversationLog;
use smbtriage::report::table::{Detail, TableOptions};
use smbtriage::report::{FileReport, Report};
use smbtriage::setup::{Analyzer, SetupOptions};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

/// Reads bytes as a capture to its end, touching every frame's bytes.
pub fn capture_reader(data: &[u8]) {
    let Ok(mut reader) =
        CaptureReader::from_reader(Path::new("fuzz.pcap"), Cursor::new(data.to_vec()))
    else {
        return;
    };
    let mut last = 0;
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                assert_eq!(frame.number, last + 1, "frame numbers are consecutive");
                last = frame.number;
                std::hint::black_box(frame.data.iter().fold(0u8, |a, b| a ^ b));
                std::hint::black_box(frame.is_cut());
            }
            Ok(None) => break,
            Err(e) => {
                std::hint::black_box(e.to_string());
                break;
            }
        }
    }
    assert!(
        matches!(reader.next_frame(), Ok(None)),
        "a stream ends for good"
    );
}

/// Little reader over fuzzer bytes: each call takes what it needs, zeros past the end.
struct Ops<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Ops<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, at: 0 }
    }
    fn done(&self) -> bool {
        self.at >= self.data.len()
    }
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
}

/// Drives one [`HalfStream`] with segments cut from one known byte stream, in any order,
/// duplicated and overlapping, with ACKs, snaplen cuts and FIN. Checks that chunks come out
/// contiguous, that every delivered byte is the stream's byte at that offset (never invented),
/// and that the buffer accounting adds up.
pub fn reassembler(data: &[u8]) {
    let mut ops = Ops::new(data);
    let isn = ops.u32();
    let truth: Vec<u8> = (0..70_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut half = HalfStream::default();
    let with_syn = ops.u8() & 1 == 1;
    if with_syn {
        half.on_syn(isn.wrapping_sub(1));
    }
    let mut next = None::<u64>;
    let mut buffered: isize = 0;
    // Stream offset 0 is the base sequence number, which is `isn` only after a SYN: `shift`
    // maps offsets to positions in `truth`.
    let check = |c: Chunk<'_>, shift: u32, next: &mut Option<u64>| {
        let (offset, len) = match c {
            Chunk::Data { offset, bytes } => {
                let start = (offset as u32).wrapping_add(shift) as usize;
                if offset < 1 << 31 {
                    if let Some(expected) = truth.get(start..start + bytes.len()) {
                        assert_eq!(bytes, expected, "delivered bytes differ from the stream");
                    }
                }
                (offset, bytes.len() as u64)
            }
            Chunk::Gap { offset, len, .. } => (offset, len),
        };
        if let Some(n) = *next {
            assert_eq!(offset, n, "chunks are contiguous");
        }
        *next = Some(offset + len);
    };
    let mut steps = 0;
    while !ops.done() && steps < 4096 {
        steps += 1;
        let op = ops.u8() % 6;
        let (seq, payload, missing, fin) = match op {
            0..=2 => {
                let off = u32::from(ops.u16());
                let len = usize::from(ops.u8()) * 4;
                let missing = u64::from(ops.u8() % 8);
                let fin = ops.u8().is_multiple_of(16);
                let start = off as usize;
                let end = (start + len).min(truth.len());
                (
                    isn.wrapping_add(off),
                    &truth[start.min(end)..end],
                    missing,
                    fin,
                )
            }
            5 => {
                // An arbitrary sequence number, usually far from the stream: must be absorbed.
                let seq = ops.u32();
                let rel = seq.wrapping_sub(isn) as usize;
                let len = usize::from(ops.u8());
                let end = (rel.saturating_add(len)).min(truth.len());
                (seq, truth.get(rel..end).unwrap_or_default(), 0, false)
            }
            _ => (0, &[][..], 0, false),
        };
        let shift = half.base_seq().unwrap_or(seq).wrapping_sub(isn);
        let out = &mut |c: Chunk<'_>| check(c, shift, &mut next);
        buffered += match op {
            0..=2 | 5 => half.push(seq, payload, missing, fin, out),
            3 => half.on_peer_ack(u64::from(ops.u16()), out),
            _ => half.skip_first_hole(out),
        };
        assert_eq!(buffered, half.pending_bytes() as isize, "buffer accounting");
    }
    let shift = half.base_seq().unwrap_or(isn).wrapping_sub(isn);
    buffered += half.flush(&mut |c| check(c, shift, &mut next));
    assert_eq!(half.pending_bytes(), 0, "flush empties the buffer");
    assert_eq!(buffered, 0, "buffer accounting after flush");
}

/// Checks what a [`FlowTable`] reports: per connection and direction, data and gaps
/// contiguous, nothing after `Closed`.
#[derive(Default)]
struct FlowChecker {
    next: HashMap<(u64, Dir), u64>,
    closed: HashMap<u64, bool>,
}

impl FlowSink for FlowChecker {
    fn tcp(&mut self, conn: &ConnInfo, _at: At, event: TcpEvent<'_>) {
        assert!(
            !self.closed.get(&conn.id).copied().unwrap_or(false),
            "event after Closed"
        );
        let (dir, offset, len) = match event {
            TcpEvent::Data { dir, offset, bytes } => (dir, offset, bytes.len() as u64),
            TcpEvent::Gap {
                dir, offset, len, ..
            } => (dir, offset, len),
            TcpEvent::Closed { .. } => {
                self.closed.insert(conn.id, true);
                return;
            }
            _ => return,
        };
        let next = self.next.entry((conn.id, dir)).or_insert(offset);
        assert_eq!(*next, offset, "stream chunks are contiguous");
        *next = offset + len;
    }

    fn udp(&mut self, _conn: &ConnInfo, _at: At, _dir: Dir, _datagram: &UdpDatagram<'_>) {}
}

/// The connection table with small caps, fed TCP and UDP packets between a few addresses,
/// with arbitrary flags, sequence numbers, times and payloads, into the setup analyzer.
pub fn flow_table(data: &[u8]) {
    let mut ops = Ops::new(data);
    let cfg = FlowConfig {
        max_pending_per_conn: 2048,
        max_pending_total: 4096,
        idle_timeout_ns: 5_000_000_000,
        max_conns: 4,
        ..FlowConfig::default()
    };
    let mut table = FlowTable::new(cfg);
    let mut checker = FlowChecker::default();
    let ctx = Context {
        end: At {
            frame: 0,
            ts: smbtriage::capture::Timestamp(0),
        },
        negotiate_timeout_ns: 20_000_000_000,
        truncated: false,
        corrupt: None,
        cut_frames: 0,
    };
    // Pruning from two settled summaries on, so that it runs on every input that settles any.
    let mut analyzer = Settling::new(SetupOptions::default(), ctx.clone(), true).prune_from(2);
    let payload_pool: Vec<u8> = data.iter().rev().copied().collect();
    let mut ts = 1_700_000_000_000_000_000i64;
    let mut frame = 0;
    while !ops.done() && frame < 2048 {
        frame += 1;
        let sel = ops.u8();
        let host = |i: u8| IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + (i % 3)));
        let ports = [445u16, 139, 88, 53, 49152, 49153];
        let (a, b) = (host(sel), host(sel >> 2));
        let (pa, pb) = (
            ports[usize::from(sel >> 4) % 6],
            ports[usize::from(ops.u8()) % 6],
        );
        let flags_byte = ops.u8();
        let seq = ops.u32();
        let ack = ops.u32();
        let plen = usize::from(ops.u8()) * 2;
        let start = usize::from(ops.u16()) % payload_pool.len().max(1);
        let payload = payload_pool.get(start..(start + plen).min(payload_pool.len()));
        let payload = Cow::Borrowed(payload.unwrap_or_default());
        let missing = u32::from(ops.u8() % 4) * 100;
        ts += i64::from(ops.u16()) * 1_000_000;
        let transport = if flags_byte & 0x80 != 0 {
            Transport::Udp(UdpDatagram {
                src_port: pa,
                dst_port: pb,
                payload,
                missing,
            })
        } else {
            Transport::Tcp(TcpSegment {
                src_port: pa,
                dst_port: pb,
                seq,
                ack,
                flags: TcpFlags {
                    syn: flags_byte & 1 != 0,
                    ack: flags_byte & 2 != 0,
                    fin: flags_byte & 4 != 0,
                    rst: flags_byte & 8 != 0,
                    psh: flags_byte & 16 != 0,
                },
                window: 0,
                payload,
                missing,
            })
        };
        let packet = Packet {
            src: a,
            dst: b,
            transport,
        };
        let at = At {
            frame,
            ts: smbtriage::capture::Timestamp(ts),
        };
        table.process(&packet, at, &mut Tee(&mut checker, &mut analyzer));
    }
    table.finish(&mut Tee(&mut checker, &mut analyzer));
    let ctx = Context {
        end: At {
            frame,
            ts: smbtriage::capture::Timestamp(ts),
        },
        ..ctx
    };
    std::hint::black_box(analyzer.finish(&ctx).findings);
}

/// NetBIOS session service: header and message.
pub fn nbss(data: &[u8]) {
    if let Ok(h) = nbss::parse_header(data) {
        std::hint::black_box(h.record_len());
    }
    if let Ok((msg, used)) = nbss::parse_message(data) {
        assert!(used <= data.len(), "consumed more than given");
        std::hint::black_box(format!("{msg:?}"));
    }
}

/// SMB1 messages.
pub fn smb1(data: &[u8]) {
    if let Ok(msg) = smb1::parse(data) {
        std::hint::black_box(format!("{msg:?}"));
    }
}

/// SMB2: the PDU classifier, the compound walk with every body, and each body parser on its
/// own (the input standing for one message).
pub fn smb2(data: &[u8]) {
    if let Ok(pdu) = smb2::parse_pdu(data) {
        std::hint::black_box(format!("{pdu:?}"));
    }
    let bound = data.len() / smb2::HEADER_LEN + 2;
    let mut count = 0;
    for item in smb2::messages(data) {
        count += 1;
        assert!(count <= bound, "the compound walk must end");
        if let Ok(m) = item {
            std::hint::black_box(format!("{m:?}"));
        }
    }
    std::hint::black_box(format!("{:?}", smb2::NegotiateRequest::parse(data)));
    std::hint::black_box(format!("{:?}", smb2::NegotiateResponse::parse(data)));
    std::hint::black_box(format!("{:?}", smb2::SessionSetupRequest::parse(data)));
    std::hint::black_box(format!("{:?}", smb2::SessionSetupResponse::parse(data)));
    std::hint::black_box(format!("{:?}", smb2::TreeConnectRequest::parse(data)));
    std::hint::black_box(format!("{:?}", smb2::TreeConnectResponse::parse(data)));
    std::hint::black_box(format!("{:?}", smb2::ErrorResponse::parse(data)));
    std::hint::black_box(format!("{:?}", smb2::ReadResponse::parse(data)));
    std::hint::black_box(format!("{:?}", smb2::WriteRequest::parse(data)));
    std::hint::black_box(format!("{:?}", smb2::Smb2Header::parse(data)));
}

/// SPNEGO / GSS-API security buffers, and whatever token they carry.
pub fn spnego(data: &[u8]) {
    std::hint::black_box(format!("{:?}", spnego::classify_mech_token(data)));
    let Ok(blob) = spnego::parse_security_blob(data) else {
        return;
    };
    let token = match &blob {
        spnego::SecurityBlob::NegTokenInit(init) => init.mech_token_kind(),
        spnego::SecurityBlob::NegTokenResp(resp) => resp.response_token_kind(),
        _ => None,
    };
    match token {
        Some(spnego::MechToken::Ntlmssp(b)) => ntlmssp(b),
        Some(spnego::MechToken::Kerberos(k)) => kerberos(k.inner),
        _ => {}
    }
    std::hint::black_box(format!("{blob:?}"));
}

/// NTLMSSP messages and their AV pairs.
pub fn ntlmssp(data: &[u8]) {
    let Ok(msg) = ntlmssp::parse(data) else {
        return;
    };
    match &msg {
        ntlmssp::NtlmMessage::Challenge(c) => {
            let info = &c.target_info;
            std::hint::black_box((
                info.target_name(),
                info.flags(),
                info.nb_domain_name(),
                info.nb_computer_name(),
                info.dns_computer_name(),
                info.dns_domain_name(),
                info.timestamp(),
            ));
            for pair in info.iter().take(10_000).flatten() {
                std::hint::black_box((pair.as_string(), pair.as_u32(), pair.as_u64()));
            }
        }
        ntlmssp::NtlmMessage::Authenticate(a) => {
            std::hint::black_box(a.ntlm_version());
            if let Some(v2) = a.ntlmv2_response() {
                std::hint::black_box(v2.av_pairs.target_name());
                for pair in v2.av_pairs.iter().take(10_000).flatten() {
                    std::hint::black_box(pair.as_string());
                }
            }
        }
        _ => {}
    }
    std::hint::black_box(format!("{msg:?}"));
}

/// Kerberos: a DER message, a GSS-wrapped token, and the TCP record marker.
pub fn kerberos(data: &[u8]) {
    if let Ok(msg) = kerberos::parse_message(data) {
        std::hint::black_box((msg.msg_type(), msg.error_code(), msg.realm()));
        std::hint::black_box((format!("{:?}", msg.cname()), format!("{:?}", msg.sname())));
        match &msg {
            kerberos::KrbMessage::Error(e) => {
                std::hint::black_box((e.nt_status(), e.padata_types(), format!("{e:?}")));
            }
            kerberos::KrbMessage::AsReq(r) | kerberos::KrbMessage::TgsReq(r) => {
                std::hint::black_box((r.has_preauth(), format!("{:?}", r.tgs_ap_req())));
            }
            other => {
                std::hint::black_box(format!("{other:?}"));
            }
        }
    }
    if let Ok(tok) = kerberos::parse_gss_krb5(data) {
        std::hint::black_box(format!("{tok:?}"));
    }
    if let Some(Ok(len)) = kerberos::tcp_record_len(data) {
        if let Some(record) = data.get(4..4 + len.min(data.len())) {
            std::hint::black_box(kerberos::parse_message(record).is_ok());
        }
    }
}

/// DNS messages (UDP form, and the TCP length prefix).
pub fn dns(data: &[u8]) {
    if let Ok(msg) = dns::parse_message(data) {
        std::hint::black_box(msg.addresses().count() + msg.aliases().count());
        std::hint::black_box(format!("{msg:?}"));
    }
    if let Some(len) = dns::tcp_message_len(data) {
        if let Some(m) = data.get(2..).and_then(|d| d.get(..len.min(d.len()))) {
            std::hint::black_box(dns::parse_message(m).is_ok());
        }
    }
}

/// The whole pipeline on one capture, as `analyze` and `dump` run it, down to the reports.
pub fn pipeline(data: &[u8]) {
    let report = analyze_bytes(data, &Options::default());
    let report = Report {
        files: vec![report],
        ..Report::default()
    };
    // Every output format: names and paths from the capture reach each of them.
    let mut out = Vec::new();
    smbtriage::report::json::write_json(&report, &mut out).expect("json to memory");
    smbtriage::report::json::write_jsonl(&report, &mut out).expect("jsonl to memory");
    smbtriage::report::sarif::write_sarif(&report, &mut out).expect("sarif to memory");
    smbtriage::report::junit::write_junit(&report, Some(Severity::Warning), &mut out)
        .expect("junit to memory");
    for (color, detail) in [(false, Detail::Normal), (true, Detail::Verbose)] {
        let options = TableOptions { color, detail };
        smbtriage::report::table::write_table(&report, &options, &mut out)
            .expect("table to memory");
    }
    std::hint::black_box(smbtriage::report::exit_code(&report, None));
}

/// `analyze` over bytes instead of a path (the same function, connections settled as
/// they close, timelines on), after a `dump` pass over the same bytes (records and
/// conversations, everything kept).
pub fn analyze_bytes(data: &[u8], opts: &Options) -> FileReport {
    let path = Path::new("fuzz.pcap");
    let open = || CaptureReader::from_reader(path, Cursor::new(data.to_vec()));
    if let Ok(reader) = open() {
        let mut flow_cfg = FlowConfig::default();
        flow_cfg
            .server_ports
            .extend(opts.smb_ports.iter().chain(&opts.kerberos_ports));
        let setup_opts = SetupOptions {
            keep_records: true,
            ..SetupOptions::default()
        };
        let mut analyzer = Analyzer::new(setup_opts);
        let mut log = ConversationLog::default();
        pipeline::run_reader(reader, &flow_cfg, &mut Tee(&mut log, &mut analyzer));
        let analysis = analyzer.finish();
        for record in &analysis.records {
            std::hint::black_box(serde_json::to_string(record).expect("record to json"));
        }
        for c in log.into_records() {
            std::hint::black_box(serde_json::to_string(&c).expect("conversation to json"));
        }
    }
    match open() {
        Ok(reader) => {
            let opts = Options {
                timelines: true,
                ..opts.clone()
            };
            analyze_reader(path, reader, &opts)
        }
        Err(e) => FileReport::failed(path, e),
    }
}
