//! The capture → net → flow pipeline on captures built by `smbtriage::testkit`.

use smbtriage::capture::{CaptureError, CaptureReader};
use smbtriage::flow::{
    At, CloseReason, ConnInfo, Dir as FlowDir, FlowConfig, FlowSink, GapReason, TcpEvent,
};
use smbtriage::net::UdpDatagram;
use smbtriage::pipeline::{self, CaptureSummary};
use smbtriage::testkit::{
    self, Dir, IfTsresol, Link, Linktype, Packet, PcapFormat, PcapWriter, PcapngWriter,
    TcpConversation, TcpFlags, Timestamp, TsResolution, UdpExchange, Vlan,
};
use std::io::Cursor;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// Everything the flow layer reported, flattened for assertions.
#[derive(Debug, Default)]
struct Recorder {
    events: Vec<(u64, i64, String)>,
    streams: [Vec<u8>; 2],
    udp: Vec<(u64, FlowDir, Vec<u8>)>,
    conns: Vec<ConnInfo>,
}

impl FlowSink for Recorder {
    fn tcp(&mut self, conn: &ConnInfo, at: At, event: TcpEvent<'_>) {
        if !self.conns.contains(conn) {
            self.conns.push(conn.clone());
        }
        let text = match event {
            TcpEvent::Data { dir, bytes, .. } => {
                self.streams[dir.index()].extend_from_slice(bytes);
                format!("data {dir:?} {}", bytes.len())
            }
            TcpEvent::Gap {
                dir,
                offset,
                len,
                reason,
            } => format!("gap {dir:?} {offset}+{len} {reason:?}"),
            TcpEvent::Ack { dir, acked, bare } => format!("ack {dir:?} {acked} bare={bare}"),
            TcpEvent::Closed { reason, summary } => {
                format!(
                    "closed {reason:?} packets={} last={}",
                    summary.packets, summary.last.frame
                )
            }
            other => format!("{other:?}"),
        };
        self.events.push((at.frame, at.ts.nanos(), text));
    }

    fn udp(&mut self, _conn: &ConnInfo, at: At, dir: FlowDir, d: &UdpDatagram<'_>) {
        self.udp.push((at.frame, dir, d.payload.to_vec()));
    }
}

impl Recorder {
    /// The `Closed` events, in order.
    fn closed(&self) -> Vec<&(u64, i64, String)> {
        self.events
            .iter()
            .filter(|e| e.2.starts_with("closed"))
            .collect()
    }

    fn find(&self, prefix: &str) -> Option<&(u64, i64, String)> {
        self.events.iter().find(|e| e.2.starts_with(prefix))
    }
}

fn pcap(link: Link, packets: &[Packet]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), link.linktype()).unwrap();
    w.write_packets(packets).unwrap();
    w.into_inner()
}

fn run(bytes: Vec<u8>) -> (Recorder, CaptureSummary) {
    let reader = CaptureReader::from_reader(Path::new("mem.pcap"), Cursor::new(bytes)).unwrap();
    let mut rec = Recorder::default();
    let summary = pipeline::run_reader(reader, &FlowConfig::default(), &mut rec);
    (rec, summary)
}

fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn negotiate_acked_then_reset_has_frames_and_delays() {
    let mut c = TcpConversation::v4(445);
    let mut pkts = c.handshake();
    pkts.extend(c.client_send(&payload(300), 1460)); // frame 4, after SYN, SYN-ACK, ACK
    c.advance(Duration::from_micros(200));
    pkts.push(c.ack_from_server()); // frame 5
    c.advance(Duration::from_secs(60));
    pkts.push(c.rst_from_client()); // frame 6
    let (rec, summary) = run(pcap(c.link(), &pkts));
    assert_eq!(summary.packets, 6);
    assert!(summary.read_error.is_none());
    assert_eq!(rec.find("Syn").unwrap().0, 1);
    assert_eq!(rec.find("SynAck").unwrap().0, 2);
    let data = rec.find("data ToServer 300").unwrap();
    let ack = rec.find("ack ToClient 300 bare=true").unwrap();
    assert_eq!((data.0, ack.0), (4, 5));
    assert_eq!(
        ack.1 - data.1,
        200_000,
        "the server's ACK came 200 µs after the request"
    );
    let rst = rec.find("Rst").unwrap();
    assert_eq!(rst.2, "Rst { dir: ToServer }");
    assert_eq!(rst.0, 6);
    assert_eq!(rst.1 - data.1, 60_000_200_000);
    let conn = &rec.conns[0];
    assert_eq!(conn.server.port(), 445);
    assert_eq!(conn.client, SocketAddr::from((testkit::CLIENT_V4, 49152)));
}

#[test]
fn fin_from_both_sides_closes_at_once_and_absorbs_stragglers() {
    let mut c = TcpConversation::v4(445);
    let mut pkts = c.handshake();
    pkts.extend(c.client_send(b"hello", 1460));
    pkts.extend(c.server_send(b"world!", 1460));
    pkts.push(c.fin_from_server());
    pkts.push(c.fin_from_client());
    // The last ACK, and a retransmitted FIN a second later: same connection, no new one.
    pkts.push(c.ack_from_server());
    c.advance(Duration::from_secs(1));
    pkts.push(c.fin_from_client());
    let (rec, _) = run(pcap(c.link(), &pkts));
    let fins: Vec<_> = rec
        .events
        .iter()
        .filter(|e| e.2.starts_with("Fin"))
        .collect();
    assert_eq!(fins.len(), 2);
    assert_eq!(fins[0].2, "Fin { dir: ToClient }");
    assert_eq!(rec.streams[0], b"hello");
    assert_eq!(rec.streams[1], b"world!");
    // Closed at the second FIN (frame 7), not at the end of the capture.
    let last = rec.events.last().unwrap();
    assert_eq!(
        (last.0, last.2.as_str()),
        (7, "closed Finished packets=7 last=7")
    );
    assert_eq!(rec.conns.len(), 1, "stragglers opened no new connection");
}

#[test]
fn data_reordered_behind_both_fins_is_still_delivered() {
    let mut c = TcpConversation::v4(445);
    let mut pkts = c.handshake();
    let first = c.client_send(b"hello ", 1460);
    let late = c.client_send(b"world", 1460);
    pkts.extend(first);
    pkts.push(c.fin_from_client());
    pkts.push(c.fin_from_server());
    // The segment before the client's FIN arrives last: the connection must wait for it.
    pkts.extend(late);
    let n = pkts.len() as u64;
    let (rec, _) = run(pcap(c.link(), &pkts));
    assert_eq!(rec.streams[0], b"hello world");
    let closed = rec.closed();
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(closed[0].0, n, "closed when the last byte came: {closed:?}");
    assert!(closed[0].2.starts_with("closed Finished"), "{closed:?}");
}

#[test]
fn reset_connection_lingers_then_closes() {
    let mut c = TcpConversation::v4(445);
    let mut pkts = c.handshake();
    pkts.extend(c.client_send(b"hello", 1460));
    pkts.push(c.rst_from_server());
    // Data in flight after the reset still belongs to the connection...
    c.advance(Duration::from_secs(2));
    pkts.extend(c.client_send(b"late", 1460));
    // ...and once it has been silent past the linger, the next packet of the capture (on
    // another connection) closes it.
    let mut other = TcpConversation::new(
        SocketAddr::from((testkit::CLIENT_V4, 50_000)),
        SocketAddr::from((testkit::SERVER_V4, 445)),
    );
    other.at(c.now() + Duration::from_secs(6));
    let first_other = pkts.len() as u64 + 1;
    pkts.push(other.syn());
    let (rec, _) = run(pcap(c.link(), &pkts));
    assert_eq!(rec.streams[0], b"hellolate");
    let closed = rec.closed();
    assert_eq!(closed[0].0, first_other, "{closed:?}");
    assert!(
        closed[0].2.starts_with("closed Finished packets=6"),
        "{closed:?}"
    );
    assert!(
        closed[1].2.starts_with("closed CaptureEnd packets=1"),
        "{closed:?}"
    );
}

#[test]
fn out_of_order_retransmitted_and_wrapping_stream_reassembles() {
    let data = payload(10_000);
    let mut c = TcpConversation::v4(445).with_isn(u32::MAX - 3000, 77);
    let mut pkts = c.handshake();
    let mut segs = c.client_send(&data, 1000);
    segs.swap(2, 5);
    segs.insert(7, segs[3].clone());
    pkts.extend(segs);
    let (rec, _) = run(pcap(c.link(), &pkts));
    assert_eq!(rec.streams[0], data);
    assert!(rec.events.iter().all(|e| !e.2.starts_with("gap")));
}

#[test]
fn lost_segment_acked_by_peer_is_a_gap_and_stream_resumes() {
    let data = payload(3000);
    let mut c = TcpConversation::v4(445);
    let mut pkts = c.handshake();
    let mut segs = c.client_send(&data, 1000);
    segs.remove(1); // bytes 1000..2000 never captured
    pkts.extend(segs);
    pkts.push(c.ack_from_server());
    let (rec, _) = run(pcap(c.link(), &pkts));
    let gap = rec.find("gap").unwrap();
    assert_eq!(gap.2, "gap ToServer 1000+1000 NotCaptured");
    let mut expected = data[..1000].to_vec();
    expected.extend_from_slice(&data[2000..]);
    assert_eq!(rec.streams[0], expected);
}

#[test]
fn snaplen_cut_segment_becomes_a_gap() {
    let mut c = TcpConversation::v4(445);
    let mut pkts = c.handshake();
    pkts.extend(c.client_send(&payload(500), 1460));
    pkts.extend(c.server_send(&payload(40), 1460));
    let mut w = PcapWriter::new(Vec::new(), c.link().linktype()).unwrap();
    for (i, p) in pkts.iter().enumerate() {
        if i == 3 {
            w.write_packet_cut(p.ts, &p.bytes, 128).unwrap(); // 54 header bytes + 74 of payload
        } else {
            w.write_packet(p.ts, &p.bytes).unwrap();
        }
    }
    let (rec, summary) = run(w.into_inner());
    assert_eq!(summary.cut_frames, 1);
    assert_eq!(rec.find("gap").unwrap().2, "gap ToServer 74+426 SnaplenCut");
    assert_eq!(rec.streams[0].len(), 74);
    assert_eq!(rec.streams[1].len(), 40);
}

#[test]
fn mid_stream_capture_is_oriented_by_service_port() {
    let mut c = TcpConversation::v4(445);
    c.handshake();
    let mut pkts = c.server_send(b"response first", 1460);
    pkts.extend(c.client_send(b"then a request", 1460));
    let (rec, _) = run(pcap(c.link(), &pkts));
    assert_eq!(rec.conns[0].server.port(), 445);
    assert_eq!(rec.streams[1], b"response first");
    assert_eq!(rec.streams[0], b"then a request");
}

#[test]
fn port_reuse_after_reset_starts_a_new_connection() {
    let mut first = TcpConversation::v4(445);
    let mut pkts = first.handshake();
    pkts.push(first.rst_from_server());
    let mut second = TcpConversation::v4(445).with_isn(900_000, 5);
    second.at(first.now());
    pkts.extend(second.handshake());
    let (rec, _) = run(pcap(first.link(), &pkts));
    assert_eq!(rec.conns.len(), 2);
    assert!(rec.events.iter().any(|e| e.2.starts_with("closed Reused")));
}

#[test]
fn fragmented_udp_reassembles_in_any_order_v4_and_v6() {
    for v6 in [false, true] {
        let (client, server): (SocketAddr, SocketAddr) = if v6 {
            (
                (testkit::CLIENT_V6, 50_000).into(),
                (testkit::SERVER_V6, 88).into(),
            )
        } else {
            (
                (testkit::CLIENT_V4, 50_000).into(),
                (testkit::SERVER_V4, 88).into(),
            )
        };
        let body = payload(3000);
        let mut x = UdpExchange::new(client, server).with_fragment_size(1000);
        let mut pkts = x.server_send(&body);
        assert!(pkts.len() >= 3, "the datagram must be fragmented");
        pkts.swap(0, 2);
        let (rec, summary) = run(pcap(x.link(), &pkts));
        assert_eq!(rec.udp.len(), 1, "v6={v6}");
        assert_eq!(
            rec.udp[0].0,
            pkts.len() as u64,
            "delivered with the last fragment"
        );
        assert_eq!(rec.udp[0].1, FlowDir::ToClient);
        assert_eq!(rec.udp[0].2, body);
        assert_eq!(summary.net.reassembled, 1);
    }
}

#[test]
fn pcapng_with_two_interfaces_of_different_link_types() {
    let mut eth = TcpConversation::v4(445).with_link(Link::ethernet(Vlan::QinQ {
        outer: 10,
        inner: 20,
    }));
    let mut sll2 = TcpConversation::v4(139).with_link(Link::LinuxSll2 { ifindex: 3 });
    sll2.at(Timestamp::from_secs(1_700_000_100));
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    let if0 = w
        .add_interface(eth.link().linktype(), 65535, IfTsresol::MICRO)
        .unwrap();
    let if1 = w
        .add_interface(sll2.link().linktype(), 65535, IfTsresol::NANO)
        .unwrap();
    w.write_packets(if0, &eth.handshake()).unwrap();
    let late = sll2.handshake();
    w.write_packets(if1, &late).unwrap();
    w.write_packets(if0, &eth.client_send(b"eth data", 1460))
        .unwrap();
    let (rec, summary) = run(w.into_inner());
    assert_eq!(summary.packets, 7);
    assert_eq!(rec.conns.len(), 2);
    let syn_139 = rec.events.iter().filter(|e| e.2 == "Syn").nth(1).unwrap();
    assert_eq!(syn_139.0, 4);
    assert_eq!(syn_139.1, late[0].ts.nanos as i64);
    assert_eq!(rec.streams[0], b"eth data");
}

#[test]
fn big_endian_nanosecond_pcap_keeps_nanoseconds() {
    let mut c = TcpConversation::v4(445);
    c.at(Timestamp::from_nanos(1_700_000_000_123_456_789));
    let pkts = c.handshake();
    let format = PcapFormat {
        endian: testkit::Endian::Big,
        resolution: TsResolution::Nano,
        snaplen: 65535,
    };
    let mut w = PcapWriter::with_format(Vec::new(), c.link().linktype(), format).unwrap();
    w.write_packets(&pkts).unwrap();
    let (rec, _) = run(w.into_inner());
    assert_eq!(rec.events[0].1, 1_700_000_000_123_456_789);
}

#[test]
fn truncated_file_is_analysed_up_to_the_cut() {
    let mut c = TcpConversation::v4(445);
    let mut pkts = c.handshake();
    pkts.extend(c.client_send(&payload(200), 1460));
    let mut bytes = pcap(c.link(), &pkts);
    bytes.truncate(bytes.len() - 50);
    let (rec, summary) = run(bytes);
    assert_eq!(summary.packets, 3);
    assert!(matches!(
        summary.read_error,
        Some(CaptureError::Truncated { last_frame: 3, .. })
    ));
    assert!(rec.find("SynAck").is_some());
}

#[test]
fn syn_answered_by_reset() {
    let mut c = TcpConversation::v4(445);
    let syn = c.syn();
    let rst = c.segment(Dir::ToClient, 0, TcpFlags::RST | TcpFlags::ACK, &[]);
    let (rec, _) = run(pcap(c.link(), &[syn, rst]));
    assert_eq!(rec.find("Syn").unwrap().0, 1);
    assert_eq!(rec.find("Rst").unwrap().2, "Rst { dir: ToClient }");
}

#[test]
fn linux_sll_null_and_raw_links_decode() {
    for link in [
        Link::LinuxSll,
        Link::Null {
            inet6: testkit::link::BsdInet6::Darwin,
        },
        Link::Raw(Linktype(101)),
        Link::Raw(Linktype(228)),
    ] {
        let mut c = TcpConversation::v4(445).with_link(link);
        let mut pkts = c.handshake();
        pkts.extend(c.client_send(b"abc", 1460));
        let (rec, _) = run(pcap(link, &pkts));
        assert_eq!(rec.streams[0], b"abc", "{link:?}");
    }
}

#[test]
fn idle_connections_are_evicted_by_capture_time() {
    let mut a = TcpConversation::v4(445);
    let mut pkts = a.handshake();
    let mut b = TcpConversation::new(
        (testkit::CLIENT_V4, 50_001).into(),
        (testkit::SERVER_V4, 445).into(),
    );
    b.at(a.now() + Duration::from_secs(3600));
    pkts.extend(b.handshake());
    let reader =
        CaptureReader::from_reader(Path::new("m"), Cursor::new(pcap(a.link(), &pkts))).unwrap();
    let mut rec = Recorder::default();
    let cfg = FlowConfig {
        idle_timeout_ns: 600_000_000_000,
        ..FlowConfig::default()
    };
    let summary = pipeline::run_reader(reader, &cfg, &mut rec);
    assert_eq!(summary.flow.evicted_idle, 1);
    let first_close = rec.find("closed").unwrap();
    assert!(first_close
        .2
        .starts_with(&format!("closed {:?}", CloseReason::Idle)));
}

#[test]
fn per_connection_cap_gives_up_on_holes() {
    let mut c = TcpConversation::v4(445);
    let mut pkts = c.handshake();
    let mut segs = c.client_send(&payload(20_000), 1000);
    segs.remove(0); // a hole at the start that is never filled or acknowledged
    pkts.extend(segs);
    let reader =
        CaptureReader::from_reader(Path::new("m"), Cursor::new(pcap(c.link(), &pkts))).unwrap();
    let mut rec = Recorder::default();
    let cfg = FlowConfig {
        max_pending_per_conn: 4096,
        ..FlowConfig::default()
    };
    let summary = pipeline::run_reader(reader, &cfg, &mut rec);
    assert!(summary.flow.conn_cap_hits >= 1);
    assert_eq!(rec.streams[0].len(), 19_000);
    let gap = rec.find("gap").unwrap();
    assert!(
        gap.2.ends_with(&format!("{:?}", GapReason::GaveUp)),
        "{}",
        gap.2
    );
}

/// Connections still open when the capture ends close in the order they started, whatever
/// order the table holds them in.
#[test]
fn open_connections_close_at_the_end_in_order_of_first_packet() {
    #[derive(Default)]
    struct Closes(Vec<(u64, u16, CloseReason)>);
    impl FlowSink for Closes {
        fn tcp(&mut self, conn: &ConnInfo, _: At, event: TcpEvent<'_>) {
            if let TcpEvent::Closed { reason, .. } = event {
                self.0.push((conn.id, conn.client.port(), reason));
            }
        }
        fn udp(&mut self, _: &ConnInfo, _: At, _: FlowDir, _: &UdpDatagram<'_>) {}
    }
    let server: SocketAddr = "192.0.2.20:445".parse().unwrap();
    let mut packets = Vec::new();
    let mut link = None;
    // Client ports in an order unrelated to the table's hashing.
    let ports: Vec<u16> = (0..300u32)
        .map(|i| 1024 + (i * 7919 % 300) as u16)
        .collect();
    for (i, port) in ports.iter().enumerate() {
        let client = SocketAddr::new("10.0.0.1".parse().unwrap(), *port);
        let mut c = TcpConversation::new(client, server);
        c.at(Timestamp::from_secs(1_700_000_000 + i as u64));
        link = Some(c.link());
        packets.push(c.syn());
    }
    let bytes = pcap(link.unwrap(), &packets);
    let reader = CaptureReader::from_reader(Path::new("mem.pcap"), Cursor::new(bytes)).unwrap();
    let mut closes = Closes::default();
    pipeline::run_reader(reader, &FlowConfig::default(), &mut closes);
    let expected: Vec<(u64, u16, CloseReason)> = ports
        .iter()
        .enumerate()
        .map(|(i, p)| (i as u64, *p, CloseReason::CaptureEnd))
        .collect();
    assert_eq!(closes.0, expected);
}
