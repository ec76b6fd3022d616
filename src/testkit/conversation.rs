//! Stateful builders for one TCP connection or one UDP exchange between a client and a server.
//! They track sequence numbers, IP ids and a clock, and return framed packets rather than
//! writing them, so a test stays in control of what the capture finally holds.

use std::net::SocketAddr;
use std::time::Duration;

use super::ip::{ip_fragments, ip_packet, PROTO_TCP, PROTO_UDP};
use super::transport::{udp_datagram, TcpHeader};
use super::{Dir, Link, Packet, TcpFlags, Timestamp, CLIENT_V4, SERVER_V4, START};

/// Gap between consecutive packets unless a test says otherwise: a plausible LAN round trip.
const DEFAULT_STEP: Duration = Duration::from_micros(100);

/// The time stamps of a builder's packets. Each packet comes `step` after the previous one,
/// unless [`Clock::at`] or [`Clock::advance`] placed the next one explicitly.
#[derive(Clone, Debug)]
struct Clock {
    last: Timestamp,
    next: Option<Timestamp>,
    step: Duration,
}

impl Clock {
    fn new() -> Self {
        Clock {
            last: START,
            next: Some(START),
            step: DEFAULT_STEP,
        }
    }

    fn tick(&mut self) -> Timestamp {
        let ts = self.next.take().unwrap_or(self.last + self.step);
        self.last = ts;
        ts
    }

    fn at(&mut self, ts: Timestamp) {
        self.next = Some(ts);
    }

    /// Relative to the previous packet, so "the ACK came 200 µs after the request" is
    /// `advance(200 µs)` right after building the request; calls accumulate.
    fn advance(&mut self, d: Duration) {
        self.next = Some(self.next.unwrap_or(self.last) + d);
    }
}

/// Per-direction state, indexed by [`Dir`].
fn side(dir: Dir) -> usize {
    match dir {
        Dir::ToServer => 0,
        Dir::ToClient => 1,
    }
}

fn endpoints(client: SocketAddr, server: SocketAddr, dir: Dir) -> (SocketAddr, SocketAddr) {
    match dir {
        Dir::ToServer => (client, server),
        Dir::ToClient => (server, client),
    }
}

/// The link and clock accessors of a packet builder with `link` and `clock` fields.
macro_rules! clocked {
    ($builder:ty) => {
        impl $builder {
            pub fn link(&self) -> Link {
                self.link
            }

            /// The next packet is stamped `ts`.
            pub fn at(&mut self, ts: Timestamp) -> &mut Self {
                self.clock.at(ts);
                self
            }

            /// The next packet comes `d` after the previous one (instead of one step after).
            pub fn advance(&mut self, d: Duration) -> &mut Self {
                self.clock.advance(d);
                self
            }

            /// Time of the most recent packet (the start time before any).
            pub fn now(&self) -> Timestamp {
                self.clock.last
            }
        }
    };
}

clocked!(TcpConversation);
clocked!(UdpExchange);

/// Builds the segments of one TCP connection.
///
/// Every segment with ACK set acknowledges everything the peer has sent so far through this
/// builder, including segments a test later drops — which is what a capture that lost packets
/// looks like. Sequence numbers wrap modulo 2^32.
#[derive(Clone, Debug)]
pub struct TcpConversation {
    client: SocketAddr,
    server: SocketAddr,
    link: Link,
    clock: Clock,
    next_seq: [u32; 2],
    ip_id: [u16; 2],
    window: [u16; 2],
    mss: u16,
}

impl TcpConversation {
    /// Ethernet framing, initial sequence numbers 1000 (client) and 5000 (server), windows of
    /// 64240, MSS 1460 announced on SYNs, first packet at [`START`], 100 µs apart.
    ///
    /// # Panics
    /// If `client` and `server` are of different families.
    pub fn new(client: SocketAddr, server: SocketAddr) -> Self {
        assert_eq!(
            client.is_ipv4(),
            server.is_ipv4(),
            "mixed IPv4/IPv6 endpoints"
        );
        TcpConversation {
            client,
            server,
            link: Link::default(),
            clock: Clock::new(),
            next_seq: [1000, 5000],
            ip_id: [0x0100, 0x4000],
            window: [64_240, 64_240],
            mss: 1460,
        }
    }

    /// Default IPv4 addresses, client port 49152, server port `server_port`.
    pub fn v4(server_port: u16) -> Self {
        Self::new((CLIENT_V4, 49_152).into(), (SERVER_V4, server_port).into())
    }

    pub fn with_link(mut self, link: Link) -> Self {
        self.link = link;
        self
    }

    /// Initial sequence numbers: the SYN and SYN-ACK carry exactly these.
    pub fn with_isn(mut self, client: u32, server: u32) -> Self {
        self.next_seq = [client, server];
        self
    }

    /// Time between consecutive packets.
    pub fn with_step(mut self, step: Duration) -> Self {
        self.clock.step = step;
        self
    }

    /// The sequence number the next segment in `dir` will carry.
    pub fn next_seq(&self, dir: Dir) -> u32 {
        self.next_seq[side(dir)]
    }

    /// Window advertised from now on by the sender in `dir` (0 for zero-window tests).
    pub fn set_window(&mut self, dir: Dir, window: u16) -> &mut Self {
        self.window[side(dir)] = window;
        self
    }

    /// Client SYN with the MSS option.
    pub fn syn(&mut self) -> Packet {
        self.emit(Dir::ToServer, TcpFlags::SYN, &[], 1)
    }

    /// Server SYN-ACK with the MSS option.
    pub fn syn_ack(&mut self) -> Packet {
        self.emit(Dir::ToClient, TcpFlags::SYN | TcpFlags::ACK, &[], 1)
    }

    /// SYN, SYN-ACK, ACK.
    pub fn handshake(&mut self) -> Vec<Packet> {
        vec![self.syn(), self.syn_ack(), self.ack_from_client()]
    }

    /// `data` from the client in segments of at most `mss` bytes, ACK on all, PSH on the last.
    ///
    /// # Panics
    /// If `mss` is 0.
    pub fn client_send(&mut self, data: &[u8], mss: usize) -> Vec<Packet> {
        self.send(Dir::ToServer, data, mss)
    }

    /// `data` from the server in segments of at most `mss` bytes, ACK on all, PSH on the last.
    ///
    /// # Panics
    /// If `mss` is 0.
    pub fn server_send(&mut self, data: &[u8], mss: usize) -> Vec<Packet> {
        self.send(Dir::ToClient, data, mss)
    }

    pub fn ack_from_client(&mut self) -> Packet {
        self.emit(Dir::ToServer, TcpFlags::ACK, &[], 0)
    }

    pub fn ack_from_server(&mut self) -> Packet {
        self.emit(Dir::ToClient, TcpFlags::ACK, &[], 0)
    }

    pub fn fin_from_client(&mut self) -> Packet {
        self.emit(Dir::ToServer, TcpFlags::FIN | TcpFlags::ACK, &[], 1)
    }

    pub fn fin_from_server(&mut self) -> Packet {
        self.emit(Dir::ToClient, TcpFlags::FIN | TcpFlags::ACK, &[], 1)
    }

    /// RST+ACK, as Windows sends when it abandons a connection.
    pub fn rst_from_client(&mut self) -> Packet {
        self.emit(Dir::ToServer, TcpFlags::RST | TcpFlags::ACK, &[], 0)
    }

    /// RST+ACK; right after [`Self::syn`] this is a refused connection.
    pub fn rst_from_server(&mut self) -> Packet {
        self.emit(Dir::ToClient, TcpFlags::RST | TcpFlags::ACK, &[], 0)
    }

    /// One segment with an explicit sequence number, flags and payload, leaving the
    /// conversation's sequence state untouched: retransmissions (same or different bytes),
    /// overlaps, keep-alives and zero-window probes. ACK, when set, acknowledges as usual.
    pub fn segment(&mut self, dir: Dir, seq: u32, flags: TcpFlags, payload: &[u8]) -> Packet {
        let (src, dst) = endpoints(self.client, self.server, dir);
        let ack = if flags.contains(TcpFlags::ACK) {
            self.next_seq[1 - side(dir)]
        } else {
            0
        };
        let header = TcpHeader {
            src_port: src.port(),
            dst_port: dst.port(),
            seq,
            ack,
            flags,
            window: self.window[side(dir)],
            mss: flags.contains(TcpFlags::SYN).then_some(self.mss),
        };
        let segment = header.build(src.ip(), dst.ip(), payload);
        let id = &mut self.ip_id[side(dir)];
        let ip = ip_packet(src.ip(), dst.ip(), PROTO_TCP, *id, &segment);
        *id = id.wrapping_add(1);
        Packet {
            ts: self.clock.tick(),
            bytes: self.link.frame(&ip, dir),
        }
    }

    fn send(&mut self, dir: Dir, data: &[u8], mss: usize) -> Vec<Packet> {
        assert!(mss > 0, "MSS must be positive");
        let count = data.chunks(mss).count();
        data.chunks(mss)
            .enumerate()
            .map(|(i, chunk)| {
                let flags = if i + 1 == count {
                    TcpFlags::ACK | TcpFlags::PSH
                } else {
                    TcpFlags::ACK
                };
                self.emit(dir, flags, chunk, chunk.len() as u32)
            })
            .collect()
    }

    /// A segment at the current sequence number, which then advances by `consumed` (the
    /// payload length, plus one for SYN and FIN).
    fn emit(&mut self, dir: Dir, flags: TcpFlags, payload: &[u8], consumed: u32) -> Packet {
        let seq = self.next_seq[side(dir)];
        let packet = self.segment(dir, seq, flags, payload);
        self.next_seq[side(dir)] = seq.wrapping_add(consumed);
        packet
    }
}

/// Builds the datagrams of one UDP exchange (DNS, Kerberos), optionally IP-fragmented.
#[derive(Clone, Debug)]
pub struct UdpExchange {
    client: SocketAddr,
    server: SocketAddr,
    link: Link,
    clock: Clock,
    ip_id: [u16; 2],
    fragment_size: Option<usize>,
}

impl UdpExchange {
    /// Ethernet framing, no fragmentation, first packet at [`START`], 100 µs apart.
    ///
    /// # Panics
    /// If `client` and `server` are of different families.
    pub fn new(client: SocketAddr, server: SocketAddr) -> Self {
        assert_eq!(
            client.is_ipv4(),
            server.is_ipv4(),
            "mixed IPv4/IPv6 endpoints"
        );
        UdpExchange {
            client,
            server,
            link: Link::default(),
            clock: Clock::new(),
            ip_id: [0x0200, 0x5000],
            fragment_size: None,
        }
    }

    pub fn with_link(mut self, link: Link) -> Self {
        self.link = link;
        self
    }

    pub fn with_step(mut self, step: Duration) -> Self {
        self.clock.step = step;
        self
    }

    /// Datagrams whose IP payload exceeds `max_fragment` bytes are sent as fragments of at
    /// most that size (rounded down to a multiple of 8), in order.
    ///
    /// # Panics
    /// If `max_fragment` is below 8.
    pub fn with_fragment_size(mut self, max_fragment: usize) -> Self {
        assert!(max_fragment >= 8, "fragments carry at least 8 bytes");
        self.fragment_size = Some(max_fragment);
        self
    }

    /// One datagram from the client: a single packet, or its fragments.
    pub fn client_send(&mut self, payload: &[u8]) -> Vec<Packet> {
        self.send(Dir::ToServer, payload)
    }

    /// One datagram from the server: a single packet, or its fragments.
    pub fn server_send(&mut self, payload: &[u8]) -> Vec<Packet> {
        self.send(Dir::ToClient, payload)
    }

    fn send(&mut self, dir: Dir, payload: &[u8]) -> Vec<Packet> {
        let (src, dst) = endpoints(self.client, self.server, dir);
        let datagram = udp_datagram(src, dst, payload);
        let id = &mut self.ip_id[side(dir)];
        let packets = match self.fragment_size {
            Some(max) if datagram.len() > max => ip_fragments(
                src.ip(),
                dst.ip(),
                PROTO_UDP,
                u32::from(*id),
                &datagram,
                max,
            ),
            _ => vec![ip_packet(src.ip(), dst.ip(), PROTO_UDP, *id, &datagram)],
        };
        *id = id.wrapping_add(1);
        packets
            .iter()
            .map(|ip| Packet {
                ts: self.clock.tick(),
                bytes: self.link.frame(ip, dir),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{SlicedPacket, TransportSlice};

    fn tcp(p: &Packet) -> (u32, u32, u8, Vec<u8>) {
        let sliced = SlicedPacket::from_ethernet(&p.bytes).unwrap();
        match sliced.transport {
            Some(TransportSlice::Tcp(t)) => (
                t.sequence_number(),
                t.acknowledgment_number(),
                t.slice()[13],
                t.payload().to_vec(),
            ),
            other => panic!("not TCP: {other:?}"),
        }
    }

    #[test]
    fn sequence_numbers_wrap_and_acks_follow() {
        let mut c = TcpConversation::v4(445).with_isn(0xffff_fffe, 10);
        let hs = c.handshake();
        assert_eq!(tcp(&hs[0]).0, 0xffff_fffe);
        assert_eq!(tcp(&hs[0]).2, TcpFlags::SYN.0);
        assert_eq!((tcp(&hs[1]).0, tcp(&hs[1]).1), (10, 0xffff_ffff));
        assert_eq!((tcp(&hs[2]).0, tcp(&hs[2]).1), (0xffff_ffff, 11));

        let data: Vec<u8> = (0..10).collect();
        let segs = c.client_send(&data, 4);
        let parsed: Vec<_> = segs.iter().map(tcp).collect();
        assert_eq!(
            parsed.iter().map(|s| s.0).collect::<Vec<_>>(),
            [0xffff_ffff, 3, 7]
        );
        assert_eq!(parsed[0].2, TcpFlags::ACK.0);
        assert_eq!(parsed[2].2, (TcpFlags::ACK | TcpFlags::PSH).0);
        let joined: Vec<u8> = parsed.iter().flat_map(|s| s.3.clone()).collect();
        assert_eq!(joined, data);
        assert_eq!(tcp(&c.ack_from_server()).1, 9);
        assert_eq!(c.next_seq(Dir::ToServer), 9);

        let fin = tcp(&c.fin_from_client());
        assert_eq!((fin.0, fin.2), (9, (TcpFlags::FIN | TcpFlags::ACK).0));
        assert_eq!(tcp(&c.ack_from_server()).1, 10);
    }

    #[test]
    fn explicit_segments_leave_state_alone() {
        let mut c = TcpConversation::v4(445);
        c.handshake();
        let seq = c.next_seq(Dir::ToServer);
        c.client_send(b"abcd", 1460);
        let retrans = tcp(&c.segment(Dir::ToServer, seq, TcpFlags::ACK, b"abXd"));
        assert_eq!((retrans.0, retrans.3.as_slice()), (seq, &b"abXd"[..]));
        assert_eq!(c.next_seq(Dir::ToServer), seq + 4);
    }

    #[test]
    fn clock_steps_and_explicit_times() {
        let mut c = TcpConversation::v4(445).with_step(Duration::from_millis(1));
        let hs = c.handshake();
        let times: Vec<_> = hs.iter().map(|p| p.ts).collect();
        assert_eq!(
            times,
            [
                START,
                START + Duration::from_millis(1),
                START + Duration::from_millis(2)
            ]
        );
        c.advance(Duration::from_micros(200));
        assert_eq!(
            c.ack_from_server().ts,
            START + Duration::from_millis(2) + Duration::from_micros(200)
        );
        c.advance(Duration::from_secs(30))
            .advance(Duration::from_secs(30));
        let rst = c.rst_from_client();
        assert_eq!(rst.ts.secs(), START.secs() + 60);
        c.at(Timestamp::from_secs(5));
        assert_eq!(c.ack_from_client().ts, Timestamp::from_secs(5));
        assert_eq!(c.now(), Timestamp::from_secs(5));
    }

    #[test]
    fn udp_fragments_reassemble_with_a_valid_checksum() {
        let mut u = UdpExchange::new((CLIENT_V4, 50_000).into(), (SERVER_V4, 88).into())
            .with_fragment_size(504);
        let payload = vec![0x6au8; 1200];
        let frags = u.client_send(&payload);
        assert_eq!(frags.len(), 3); // 1208 bytes of UDP in 504-byte pieces
        let mut ip_payload = Vec::new();
        for f in &frags {
            ip_payload.extend_from_slice(&f.bytes[14 + 20..]);
        }
        let udp = etherparse::UdpSlice::from_slice(&ip_payload).unwrap();
        let expected = udp
            .to_header()
            .calc_checksum_ipv4_raw(CLIENT_V4.octets(), SERVER_V4.octets(), &payload)
            .unwrap();
        assert_eq!(udp.checksum(), expected);
        assert_eq!(u.server_send(b"short").len(), 1);
    }
}
