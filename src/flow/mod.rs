//! Conversations: TCP connections reassembled per direction, UDP datagrams per 4-tuple.
//!
//! [`FlowTable::process`] takes decoded packets in capture order and reports to a
//! [`FlowSink`]: for TCP, handshake, data (as soon as it is contiguous), gaps, ACK progress,
//! FIN and RST, each with the frame and time it happened; for UDP, each datagram. Each
//! connection is oriented client → server (the SYN's sender, else the side not on a well-known
//! service port). Memory is bounded: out-of-order bytes are capped per connection and in
//! total, and idle connections are evicted by capture time; every cap that bites is counted in
//! [`FlowStats`].

mod hash;
mod seq;
mod tcp;

pub use hash::{FastHasher, FastMap, FastState};
pub use seq::{Chunk, GapReason, HalfStats, HalfStream};
use tcp::{close, emit, orient, pending_of, segment};

use crate::capture::Timestamp;
use crate::net::{Packet, TcpSegment, Transport, UdpDatagram};
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};

/// Direction of travel within a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dir {
    ToServer,
    ToClient,
}

impl Dir {
    pub fn reverse(self) -> Self {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }

    pub fn index(self) -> usize {
        match self {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        }
    }
}

/// Where and when something happened: the frame being processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    pub frame: u64,
    pub ts: Timestamp,
}

/// A conversation's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnInfo {
    /// Conversation index in order of first packet, per protocol (like Wireshark's stream index).
    pub id: u64,
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub first: At,
}

/// Why a TCP connection's record ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CloseReason {
    /// Both sides sent FIN and every byte was delivered; or one side reset the connection
    /// and nothing followed for [`FlowConfig::linger_ns`].
    Finished,
    /// No packet for longer than the idle timeout.
    Idle,
    /// A new SYN reused the 4-tuple.
    Reused,
    /// The capture ended.
    CaptureEnd,
}

/// What happened on a TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpEvent<'a> {
    Syn,
    SynAck,
    Data {
        dir: Dir,
        offset: u64,
        bytes: &'a [u8],
    },
    Gap {
        dir: Dir,
        offset: u64,
        len: u64,
        reason: GapReason,
    },
    /// `dir`'s sender acknowledged the opposite stream up to `acked` (an offset in it).
    Ack {
        dir: Dir,
        acked: u64,
        bare: bool,
    },
    Fin {
        dir: Dir,
    },
    Rst {
        dir: Dir,
    },
    /// The connection's record ends; nothing more is reported for it.
    Closed {
        reason: CloseReason,
        summary: ConnSummary,
    },
}

/// What a connection amounted to, given when it closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnSummary {
    pub packets: u64,
    pub last: At,
    /// Per direction, indexed by [`Dir::index`]: to-server first.
    pub halves: [HalfStats; 2],
}

/// Receives what the flow layer reconstructs.
pub trait FlowSink {
    fn tcp(&mut self, conn: &ConnInfo, at: At, event: TcpEvent<'_>);
    fn udp(&mut self, conn: &ConnInfo, at: At, dir: Dir, datagram: &UdpDatagram<'_>);
}

/// Hands every event to two sinks in turn.
pub struct Tee<'a>(pub &'a mut dyn FlowSink, pub &'a mut dyn FlowSink);

impl FlowSink for Tee<'_> {
    fn tcp(&mut self, conn: &ConnInfo, at: At, event: TcpEvent<'_>) {
        self.0.tcp(conn, at, event);
        self.1.tcp(conn, at, event);
    }

    fn udp(&mut self, conn: &ConnInfo, at: At, dir: Dir, datagram: &UdpDatagram<'_>) {
        self.0.udp(conn, at, dir, datagram);
        self.1.udp(conn, at, dir, datagram);
    }
}

/// Limits and service ports.
#[derive(Debug, Clone)]
pub struct FlowConfig {
    /// Ports that identify the server side when the handshake was not captured.
    pub server_ports: Vec<u16>,
    pub max_pending_per_conn: usize,
    pub max_pending_total: usize,
    /// Connections silent this long (capture time) are closed and forgotten.
    pub idle_timeout_ns: i64,
    /// How long a finished connection stays in the table (capture time, counted from its
    /// last packet): a reset one whole, in case the peer's data in flight still arrives; one
    /// closed by FIN from both sides only as a marker that absorbs the last ACK and
    /// retransmitted FINs, its state already handed on and dropped.
    pub linger_ns: i64,
    /// At most this many connections are tracked; beyond it the least recently active goes.
    pub max_conns: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        Self {
            server_ports: vec![445, 139, 88, 53, 135, 389, 464, 636, 3268],
            max_pending_per_conn: 1 << 20,
            max_pending_total: 32 << 20,
            idle_timeout_ns: 900_000_000_000,
            linger_ns: 5_000_000_000,
            max_conns: 200_000,
        }
    }
}

/// Caps that bit and oddities seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FlowStats {
    pub tcp_conns: u64,
    pub udp_conns: u64,
    pub conn_cap_hits: u64,
    pub total_cap_hits: u64,
    pub evicted_idle: u64,
    pub evicted_for_room: u64,
}

struct TcpConn {
    info: ConnInfo,
    halves: [HalfStream; 2],
    /// Highest offset each side has acknowledged of the opposite stream.
    acked: [Option<u64>; 2],
    syn_seen: bool,
    synack_seen: bool,
    fin_seen: [bool; 2],
    rst_seen: bool,
    /// Waiting in the table's `finished` queue.
    queued: bool,
    /// `Closed` was sent (a connection is closed once).
    closed: bool,
    last_ts: Timestamp,
    packets: u64,
    last: At,
}

impl TcpConn {
    fn both_fins(&self) -> bool {
        self.fin_seen.iter().all(|f| *f)
    }
}

/// What stays of a connection closed by FIN from both sides while it lingers.
struct Marker {
    id: u64,
    last_ts: Timestamp,
}

struct UdpConv {
    info: ConnInfo,
    last_ts: Timestamp,
}

/// One end of a conversation, packed so that comparing and hashing it costs a few word
/// operations (a `SocketAddr` hashes field by field, through its enum tags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Endpoint {
    ip: u128,
    port: u16,
    v6: bool,
}

impl Endpoint {
    fn of(addr: SocketAddr) -> Self {
        let (ip, v6) = match addr.ip() {
            IpAddr::V4(a) => (u128::from(u32::from(a)), false),
            IpAddr::V6(a) => (u128::from(a), true),
        };
        Self {
            ip,
            port: addr.port(),
            v6,
        }
    }
}

/// A conversation's identity whichever way a packet travels: its two ends in a fixed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key(Endpoint, Endpoint);

impl Hash for Key {
    fn hash<H: Hasher>(&self, h: &mut H) {
        for e in [&self.0, &self.1] {
            h.write_u64(e.ip as u64);
            h.write_u64((e.ip >> 64) as u64 ^ (u64::from(e.port) << 1 | u64::from(e.v6)));
        }
    }
}

/// When the table is full, `1 / EVICTION_BATCH_DIVISOR` of it is evicted at once.
const EVICTION_BATCH_DIVISOR: usize = 16;

fn key(a: SocketAddr, b: SocketAddr) -> Key {
    let (a, b) = (Endpoint::of(a), Endpoint::of(b));
    if a <= b {
        Key(a, b)
    } else {
        Key(b, a)
    }
}

/// The conversation table.
pub struct FlowTable {
    cfg: FlowConfig,
    tcp: FastMap<Key, TcpConn>,
    udp: FastMap<Key, UdpConv>,
    /// Connections closed by FIN from both sides, lingering.
    markers: FastMap<Key, Marker>,
    /// Finished connections waiting out the linger, by deadline: (deadline, key, id).
    finished: VecDeque<(Timestamp, Key, u64)>,
    pending_total: usize,
    last_sweep: Timestamp,
    last_at: Option<At>,
    pub stats: FlowStats,
}

impl FlowTable {
    pub fn new(cfg: FlowConfig) -> Self {
        Self {
            cfg,
            tcp: FastMap::default(),
            udp: FastMap::default(),
            markers: FastMap::default(),
            finished: VecDeque::new(),
            pending_total: 0,
            last_sweep: Timestamp::default(),
            last_at: None,
            stats: FlowStats::default(),
        }
    }

    /// Out-of-order bytes buffered over all connections (bounded by the caps in
    /// [`FlowConfig`], give or take the segment being processed).
    pub fn pending_bytes(&self) -> usize {
        self.pending_total
    }

    /// TCP connections and UDP conversations currently tracked (each at most
    /// [`FlowConfig::max_conns`]).
    pub fn open_conversations(&self) -> (usize, usize) {
        (self.tcp.len(), self.udp.len())
    }

    /// Feeds one packet.
    pub fn process(&mut self, packet: &Packet<'_>, at: At, sink: &mut dyn FlowSink) {
        self.last_at = Some(at);
        if self
            .finished
            .front()
            .is_some_and(|(deadline, _, _)| at.ts > *deadline)
        {
            self.forget_finished(at, sink);
        }
        if at.ts.since(self.last_sweep) > 1_000_000_000 {
            self.last_sweep = at.ts;
            self.evict_idle(at, sink);
        }
        match &packet.transport {
            Transport::Tcp(seg) => {
                let src = SocketAddr::new(packet.src, seg.src_port);
                let dst = SocketAddr::new(packet.dst, seg.dst_port);
                self.tcp_segment(src, dst, seg, at, sink);
            }
            Transport::Udp(dgram) => {
                let src = SocketAddr::new(packet.src, dgram.src_port);
                let dst = SocketAddr::new(packet.dst, dgram.dst_port);
                self.udp_datagram(src, dst, dgram, at, sink);
            }
            Transport::Other(_) => {}
        }
    }

    /// Ends the capture: delivers what is buffered, with gaps, and closes every connection in
    /// the order they started.
    pub fn finish(&mut self, sink: &mut dyn FlowSink) {
        let at = self.last_at.unwrap_or(At {
            frame: 0,
            ts: Timestamp::default(),
        });
        // The order by keys alone: collecting the connections themselves would hold a second
        // copy of a full table (a SYN flood's 200 000 connections are ~100 MB).
        let mut order: Vec<(u64, Key)> = self.tcp.iter().map(|(k, c)| (c.info.id, *k)).collect();
        order.sort_unstable_by_key(|(id, _)| *id);
        self.finished.clear();
        self.markers.clear();
        for (_, k) in order {
            if let Some(mut conn) = self.tcp.remove(&k) {
                close(&mut conn, at, CloseReason::CaptureEnd, sink);
            }
        }
        self.pending_total = 0;
        self.udp.clear();
    }

    fn tcp_segment(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        seg: &TcpSegment<'_>,
        at: At,
        sink: &mut dyn FlowSink,
    ) {
        let k = key(src, dst);
        let fresh_syn = seg.flags.syn && !seg.flags.ack;
        if !self.markers.is_empty() {
            if let Some(m) = self.markers.get_mut(&k) {
                if !fresh_syn {
                    // A straggler (the last ACK, a retransmitted FIN) after the close.
                    m.last_ts = at.ts;
                    return;
                }
                self.markers.remove(&k); // the 4-tuple is reused
            }
        }
        if fresh_syn {
            let reused = self.tcp.get(&k).is_some_and(|conn| {
                conn.info.client == src
                    && (conn.rst_seen || conn.fin_seen.iter().all(|f| *f) || {
                        let client = &conn.halves[Dir::ToServer.index()];
                        client.base_seq() != Some(seg.seq.wrapping_add(1))
                            && client.next_offset() > 0
                    })
            });
            if reused {
                if let Some(mut old) = self.tcp.remove(&k) {
                    self.pending_total = self.pending_total.saturating_sub(pending_of(&old));
                    close(&mut old, at, CloseReason::Reused, sink);
                }
            }
        }
        if self.tcp.len() >= self.cfg.max_conns && !self.tcp.contains_key(&k) {
            self.evict_oldest(at, sink);
        }
        // One lookup per packet: the connection is found or created in place.
        let stats = &mut self.stats;
        let cfg = &self.cfg;
        let conn = self.tcp.entry(k).or_insert_with(|| {
            let (client, server) = orient(cfg, src, dst, Some(seg));
            let id = stats.tcp_conns;
            stats.tcp_conns += 1;
            TcpConn {
                info: ConnInfo {
                    id,
                    client,
                    server,
                    first: at,
                },
                halves: [HalfStream::default(), HalfStream::default()],
                acked: [None, None],
                syn_seen: false,
                synack_seen: false,
                fin_seen: [false, false],
                rst_seen: false,
                queued: false,
                closed: false,
                last_ts: at.ts,
                packets: 0,
                last: at,
            }
        });
        conn.last_ts = at.ts;
        conn.packets += 1;
        conn.last = at;
        let dir = if src == conn.info.client {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        let delta = segment(conn, dir, seg, at, sink);
        let conn_pending = pending_of(conn);
        // Both sides are done and every byte was handed on: close now, and keep only a small
        // marker while the connection lingers.
        let done =
            conn.both_fins() && conn_pending == 0 && conn.halves.iter().all(HalfStream::complete);
        if done {
            close(conn, at, CloseReason::Finished, sink);
        }
        let newly_finished = !conn.queued && (done || conn.rst_seen || conn.both_fins());
        conn.queued |= newly_finished;
        let id = conn.info.id;
        self.account(delta);
        if newly_finished {
            let deadline = Timestamp(at.ts.0.saturating_add(self.cfg.linger_ns));
            self.finished.push_back((deadline, k, id));
        }
        if done {
            self.tcp.remove(&k);
            if self.markers.len() >= self.cfg.max_conns {
                self.markers.clear();
            }
            self.markers.insert(k, Marker { id, last_ts: at.ts });
            return;
        }
        if conn_pending > self.cfg.max_pending_per_conn {
            self.stats.conn_cap_hits += 1;
            self.give_up_holes(&k, at, sink);
        } else if self.pending_total > self.cfg.max_pending_total {
            self.stats.total_cap_hits += 1;
            self.give_up_holes(&k, at, sink);
        }
    }

    fn give_up_holes(&mut self, k: &Key, at: At, sink: &mut dyn FlowSink) {
        let Some(conn) = self.tcp.get_mut(k) else {
            return;
        };
        let mut delta = 0;
        for dir in [Dir::ToServer, Dir::ToClient] {
            let info = &conn.info;
            delta += conn.halves[dir.index()].flush(&mut |c| emit(sink, info, at, dir, c));
        }
        self.account(delta);
    }

    fn account(&mut self, delta: isize) {
        self.pending_total = self.pending_total.saturating_add_signed(delta);
    }

    fn udp_datagram(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        dgram: &UdpDatagram<'_>,
        at: At,
        sink: &mut dyn FlowSink,
    ) {
        let k = key(src, dst);
        if self.udp.len() >= self.cfg.max_conns && !self.udp.contains_key(&k) {
            self.stats.evicted_for_room += 1;
            self.udp.clear();
        }
        let stats = &mut self.stats;
        let cfg = &self.cfg;
        let conv = self.udp.entry(k).or_insert_with(|| {
            let (client, server) = orient(cfg, src, dst, None);
            let id = stats.udp_conns;
            stats.udp_conns += 1;
            UdpConv {
                info: ConnInfo {
                    id,
                    client,
                    server,
                    first: at,
                },
                last_ts: at.ts,
            }
        });
        conv.last_ts = at.ts;
        let dir = if src == conv.info.client {
            Dir::ToServer
        } else {
            Dir::ToClient
        };
        sink.udp(&conv.info, at, dir, dgram);
    }

    /// Forgets the finished connections whose linger has passed: a lingering marker is
    /// dropped, a reset connection closed. One that saw packets since it was queued goes back
    /// with a later deadline; the queue stays in deadline order as long as capture time runs
    /// forward.
    fn forget_finished(&mut self, at: At, sink: &mut dyn FlowSink) {
        let linger = self.cfg.linger_ns;
        while let Some(&(deadline, k, id)) = self.finished.front() {
            if at.ts <= deadline {
                break;
            }
            self.finished.pop_front();
            let last_ts = match (self.tcp.get(&k), self.markers.get(&k)) {
                (Some(c), _) if c.info.id == id => c.last_ts,
                (_, Some(m)) if m.id == id => m.last_ts,
                _ => continue, // already gone (reused, evicted)
            };
            if at.ts.since(last_ts) <= linger {
                let later = Timestamp(last_ts.0.saturating_add(linger));
                self.finished.push_back((later, k, id));
                continue;
            }
            if self.markers.get(&k).is_some_and(|m| m.id == id) {
                self.markers.remove(&k);
            } else if let Some(mut conn) = self.tcp.remove(&k) {
                self.pending_total = self.pending_total.saturating_sub(pending_of(&conn));
                close(&mut conn, at, CloseReason::Finished, sink);
            }
        }
    }

    fn evict_idle(&mut self, at: At, sink: &mut dyn FlowSink) {
        let timeout = self.cfg.idle_timeout_ns;
        let mut idle: Vec<Key> = self
            .tcp
            .iter()
            .filter(|(_, c)| at.ts.since(c.last_ts) > timeout)
            .map(|(k, _)| *k)
            .collect();
        idle.sort_by_key(|k| self.tcp.get(k).map(|c| c.info.id));
        for k in idle {
            if let Some(mut conn) = self.tcp.remove(&k) {
                self.stats.evicted_idle += 1;
                self.pending_total = self.pending_total.saturating_sub(pending_of(&conn));
                close(&mut conn, at, CloseReason::Idle, sink);
            }
        }
        self.udp.retain(|_, c| at.ts.since(c.last_ts) <= timeout);
        self.markers
            .retain(|_, m| at.ts.since(m.last_ts) <= timeout);
    }

    /// Makes room by closing the least recently active connections: a sixteenth of the table
    /// at once, so that a flood of new connections costs one scan of the table per batch
    /// rather than one per connection.
    fn evict_oldest(&mut self, at: At, sink: &mut dyn FlowSink) {
        let mut by_age: Vec<(Timestamp, u64, Key)> = self
            .tcp
            .iter()
            .map(|(k, c)| (c.last_ts, c.info.id, *k))
            .collect();
        let batch = (by_age.len() / EVICTION_BATCH_DIVISOR).clamp(1, by_age.len().max(1));
        if by_age.len() > batch {
            by_age.select_nth_unstable(batch - 1);
            by_age.truncate(batch);
        }
        by_age.sort_unstable();
        for (_, _, k) in by_age {
            if let Some(mut conn) = self.tcp.remove(&k) {
                self.stats.evicted_for_room += 1;
                self.pending_total = self.pending_total.saturating_sub(pending_of(&conn));
                close(&mut conn, at, CloseReason::Idle, sink);
            }
        }
    }
}
