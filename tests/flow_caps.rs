//! Buffering caps hold on adversarial input (SPEC §9: memory bounded by the number of open
//! connections, never by file size): one-sided flows whose holes never fill, many connections
//! with huge out-of-order windows, and floods of tiny flows. Packets are fed to the flow table
//! (and the setup analyzer behind it) directly, so each case runs in milliseconds.

use smbtriage::capture::Timestamp;
use smbtriage::flow::{At, FlowConfig, FlowTable};
use smbtriage::net::{Packet, TcpFlags, TcpSegment, Transport};
use smbtriage::setup::{Analyzer, SetupOptions};
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};

const SEGMENT: usize = 1460;

fn client(n: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | n))
}

const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20));

fn segment<'a>(
    src: IpAddr,
    src_port: u16,
    seq: u32,
    flags: TcpFlags,
    payload: &'a [u8],
) -> Packet<'a> {
    Packet {
        src,
        dst: SERVER,
        transport: Transport::Tcp(TcpSegment {
            src_port,
            dst_port: 445,
            seq,
            ack: 0,
            flags,
            window: 65_535,
            payload: Cow::Borrowed(payload),
            missing: 0,
        }),
    }
}

const SYN: TcpFlags = TcpFlags {
    syn: true,
    ack: false,
    fin: false,
    rst: false,
    psh: false,
};

const DATA: TcpFlags = TcpFlags {
    syn: false,
    ack: false,
    fin: false,
    rst: false,
    psh: true,
};

struct Feed {
    flows: FlowTable,
    analyzer: Analyzer,
    frame: u64,
}

impl Feed {
    fn new(cfg: FlowConfig) -> Self {
        Self {
            flows: FlowTable::new(cfg),
            analyzer: Analyzer::new(SetupOptions::default()),
            frame: 0,
        }
    }

    fn packet(&mut self, p: &Packet<'_>) {
        self.frame += 1;
        let at = At {
            frame: self.frame,
            ts: Timestamp::from_parts(1_700_000_000, self.frame, 1_000_000),
        };
        self.flows.process(p, at, &mut self.analyzer);
    }
}

#[test]
fn one_sided_flow_with_a_hole_that_never_fills_stays_under_the_connection_cap() {
    let cfg = FlowConfig {
        max_pending_per_conn: 64 * 1024,
        max_pending_total: 1 << 20,
        ..FlowConfig::default()
    };
    let per_conn = cfg.max_pending_per_conn;
    let mut feed = Feed::new(cfg);
    let payload = vec![0x42u8; SEGMENT];
    feed.packet(&segment(client(1), 50_000, 1000, SYN, &[]));
    // The first 100 bytes never arrive; 8 MiB follow them, from the client only.
    for i in 0..(8 << 20) / SEGMENT as u32 {
        let seq = 1101 + i * SEGMENT as u32;
        feed.packet(&segment(client(1), 50_000, seq, DATA, &payload));
        assert!(feed.flows.pending_bytes() <= per_conn);
    }
    assert!(feed.flows.stats.conn_cap_hits > 0);
    assert_eq!(feed.flows.stats.total_cap_hits, 0);
}

#[test]
fn many_connections_with_huge_out_of_order_windows_stay_under_the_total_cap() {
    let cfg = FlowConfig {
        max_pending_per_conn: 1 << 20,
        max_pending_total: 256 * 1024,
        ..FlowConfig::default()
    };
    let total = cfg.max_pending_total;
    let mut feed = Feed::new(cfg);
    let payload = vec![0x17u8; 60 * 1024];
    for c in 0..500 {
        feed.packet(&segment(client(c), 50_000, 1000, SYN, &[]));
        // Far ahead of the stream: a window nothing will ever fill.
        for w in 0..4u32 {
            let seq = 1001 + 1_000_000 + w * 200_000;
            feed.packet(&segment(client(c), 50_000, seq, DATA, &payload));
            // The cap is checked after each segment is buffered, so one segment may top it.
            assert!(feed.flows.pending_bytes() <= total + payload.len());
        }
    }
    assert!(feed.flows.stats.total_cap_hits > 0);
    assert_eq!(feed.flows.open_conversations().0, 500);
}

#[test]
fn a_flood_of_tiny_flows_never_tracks_more_than_max_conns() {
    let cfg = FlowConfig {
        max_conns: 1000,
        ..FlowConfig::default()
    };
    let mut feed = Feed::new(cfg);
    let flows = 100_000u32;
    for c in 0..flows {
        feed.packet(&segment(
            client(c),
            40_000 + (c % 20_000) as u16,
            c,
            SYN,
            &[],
        ));
        assert!(feed.flows.open_conversations().0 <= 1000);
    }
    let stats = feed.flows.stats;
    assert_eq!(stats.tcp_conns, u64::from(flows));
    assert!(stats.evicted_for_room >= u64::from(flows) - 1000);
}
