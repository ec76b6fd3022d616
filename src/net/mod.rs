//! Frames in, IP packets out: link layers, IPv4/IPv6, fragment reassembly, TCP/UDP headers.
//!
//! [`NetDecoder::decode`] turns one [`Frame`](crate::capture::Frame) into a [`Packet`] with its
//! TCP segment or UDP datagram. Parsing is lax where the capture cut a packet short (snaplen):
//! the headers and the bytes that were captured are returned, and `missing` says how many
//! payload bytes the packet had beyond them, so reassembly can record a gap instead of
//! inventing bytes. IP fragments are held (bounded, evicted after [`FRAGMENT_TIMEOUT_NS`] of
//! capture time) until the datagram is whole. Slicing and defragmentation use `etherparse`.

pub mod link;

use crate::capture::{Frame, Timestamp};
use etherparse::defrag::IpDefragPool;
use etherparse::{IpNumber, LaxIpSlice, SlicedPacket, TcpSlice, UdpSlice};
use link::{IpVersion, LinkOutcome};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Fragments older than this (capture time) are dropped.
pub const FRAGMENT_TIMEOUT_NS: i64 = 30_000_000_000;
/// At most this many datagrams may be in reassembly at once.
const MAX_PENDING_DATAGRAMS: usize = 4096;

/// Why a frame yielded no packet. None of these stop the analysis.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("unsupported link type {0}")]
    UnsupportedLinktype(i32),
    #[error("{layer} header cut short: needs {need} bytes, frame has {have}")]
    Truncated {
        layer: &'static str,
        need: usize,
        have: usize,
    },
    #[error("malformed {layer} header: {reason}")]
    Malformed { layer: &'static str, reason: String },
    #[error("IP fragment could not be reassembled: {0}")]
    Defrag(String),
}

/// TCP header flags that matter to reassembly and the findings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
}

#[derive(Debug, Clone)]
pub struct TcpSegment<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// The captured payload bytes.
    pub payload: Cow<'a, [u8]>,
    /// Payload bytes the packet carried beyond what was captured (snaplen cut).
    pub missing: u32,
}

#[derive(Debug, Clone)]
pub struct UdpDatagram<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: Cow<'a, [u8]>,
    pub missing: u32,
}

#[derive(Debug, Clone)]
pub enum Transport<'a> {
    Tcp(TcpSegment<'a>),
    Udp(UdpDatagram<'a>),
    /// Another IP protocol (ICMP, ...), by number.
    Other(u8),
}

/// An IP packet (or a reassembled datagram) and its transport header.
#[derive(Debug, Clone)]
pub struct Packet<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub transport: Transport<'a>,
}

/// What one frame decoded to.
#[derive(Debug)]
pub enum Decoded<'a> {
    Packet(Packet<'a>),
    /// An IP fragment, held until its datagram is complete.
    FragmentHeld,
    /// ARP, LLDP and other non-IP frames.
    NotIp,
}

/// Counters for what was seen but not handed on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetStats {
    pub not_ip: u64,
    pub fragments: u64,
    pub reassembled: u64,
    pub dropped_fragments: u64,
    pub errors: u64,
    /// Frames per unsupported link type.
    pub unsupported_links: BTreeMap<i32, u64>,
}

/// Stateful decoder: only IP reassembly keeps state between frames.
pub struct NetDecoder {
    defrag: IpDefragPool<i64, ()>,
    pending: usize,
    last_sweep: i64,
    pub stats: NetStats,
}

impl Default for NetDecoder {
    fn default() -> Self {
        Self {
            defrag: IpDefragPool::new(),
            pending: 0,
            last_sweep: i64::MIN,
            stats: NetStats::default(),
        }
    }
}

impl std::fmt::Debug for NetDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetDecoder")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl NetDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes one frame. Errors are counted in [`NetStats`] too.
    pub fn decode<'a>(&mut self, frame: &Frame<'a>) -> Result<Decoded<'a>, NetError> {
        let result = self.decode_inner(frame.data, frame.linktype, frame.ts);
        match &result {
            Err(NetError::UnsupportedLinktype(lt)) => {
                *self.stats.unsupported_links.entry(*lt).or_default() += 1;
            }
            Err(_) => self.stats.errors += 1,
            Ok(Decoded::NotIp) => self.stats.not_ip += 1,
            Ok(_) => {}
        }
        result
    }

    fn decode_inner<'a>(
        &mut self,
        data: &'a [u8],
        linktype: crate::capture::Linktype,
        ts: Timestamp,
    ) -> Result<Decoded<'a>, NetError> {
        let (version, ip) = match link::strip(linktype, data)? {
            LinkOutcome::Ip(version, ip) => (version, ip),
            LinkOutcome::NotIp => return Ok(Decoded::NotIp),
        };
        // Only the IP layer is sliced here (not through `LaxSlicedPacket`, which would also
        // parse the transport header, only for `transport` to parse it again).
        let (sliced, _) = LaxIpSlice::from_slice(ip).map_err(|e| NetError::Malformed {
            layer: ip_layer(version),
            reason: e.to_string(),
        })?;
        let (src, dst, payload, claimed_total) = match &sliced {
            LaxIpSlice::Ipv4(v4) => {
                let h = v4.header();
                (
                    IpAddr::V4(h.source_addr()),
                    IpAddr::V4(h.destination_addr()),
                    v4.payload(),
                    usize::from(h.total_len()),
                )
            }
            LaxIpSlice::Ipv6(v6) => {
                let h = v6.header();
                (
                    IpAddr::V6(h.source_addr()),
                    IpAddr::V6(h.destination_addr()),
                    v6.payload(),
                    40 + usize::from(h.payload_length()),
                )
            }
        };
        if payload.fragmented {
            return self.defragment(ip, ts, src, dst);
        }
        let missing = if payload.incomplete {
            u32::try_from(claimed_total.saturating_sub(ip.len())).unwrap_or(u32::MAX)
        } else {
            0
        };
        let transport = transport(payload.ip_number, payload.payload, missing)?;
        Ok(Decoded::Packet(Packet {
            src,
            dst,
            transport,
        }))
    }

    fn defragment<'a>(
        &mut self,
        ip: &'a [u8],
        ts: Timestamp,
        src: IpAddr,
        dst: IpAddr,
    ) -> Result<Decoded<'a>, NetError> {
        self.stats.fragments += 1;
        self.sweep(ts.nanos());
        let strict = SlicedPacket::from_ip(ip).map_err(|e| NetError::Malformed {
            layer: "IP fragment",
            reason: e.to_string(),
        })?;
        if self.pending >= MAX_PENDING_DATAGRAMS {
            self.defrag = IpDefragPool::new();
            self.stats.dropped_fragments += self.pending as u64;
            self.pending = 0;
        }
        match self.defrag.process_sliced_packet(&strict, ts.nanos(), ()) {
            Ok(None) => {
                self.pending += 1;
                Ok(Decoded::FragmentHeld)
            }
            Ok(Some(whole)) => {
                self.stats.reassembled += 1;
                self.pending = self.pending.saturating_sub(1);
                let transport = transport(whole.ip_number, &whole.payload, 0)?.into_owned();
                self.defrag.return_buf(whole);
                Ok(Decoded::Packet(Packet {
                    src,
                    dst,
                    transport,
                }))
            }
            Err(e) => {
                self.stats.dropped_fragments += 1;
                Err(NetError::Defrag(e.to_string()))
            }
        }
    }

    /// Drops fragments that waited too long, at most once per second of capture time.
    fn sweep(&mut self, now: i64) {
        if now.saturating_sub(self.last_sweep) < 1_000_000_000 {
            return;
        }
        self.last_sweep = now;
        self.defrag
            .retain(|&t| now.saturating_sub(t) <= FRAGMENT_TIMEOUT_NS);
    }
}

impl<'a> Transport<'a> {
    fn into_owned(self) -> Transport<'static> {
        match self {
            Transport::Tcp(t) => Transport::Tcp(TcpSegment {
                payload: Cow::Owned(t.payload.into_owned()),
                ..t
            }),
            Transport::Udp(u) => Transport::Udp(UdpDatagram {
                payload: Cow::Owned(u.payload.into_owned()),
                ..u
            }),
            Transport::Other(p) => Transport::Other(p),
        }
    }
}

fn transport(proto: IpNumber, bytes: &[u8], missing: u32) -> Result<Transport<'_>, NetError> {
    match proto {
        IpNumber::TCP => {
            let tcp = TcpSlice::from_slice(bytes).map_err(|e| NetError::Malformed {
                layer: "TCP",
                reason: e.to_string(),
            })?;
            Ok(tcp_segment(&tcp, missing))
        }
        IpNumber::UDP => {
            let udp = UdpSlice::from_slice_lax(bytes).map_err(|e| NetError::Malformed {
                layer: "UDP",
                reason: e.to_string(),
            })?;
            Ok(udp_datagram(&udp, missing))
        }
        other => Ok(Transport::Other(other.0)),
    }
}

fn tcp_segment<'a>(tcp: &TcpSlice<'a>, missing: u32) -> Transport<'a> {
    Transport::Tcp(TcpSegment {
        src_port: tcp.source_port(),
        dst_port: tcp.destination_port(),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: TcpFlags {
            syn: tcp.syn(),
            ack: tcp.ack(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            psh: tcp.psh(),
        },
        window: tcp.window_size(),
        payload: Cow::Borrowed(tcp.payload()),
        missing,
    })
}

fn udp_datagram<'a>(udp: &UdpSlice<'a>, missing: u32) -> Transport<'a> {
    Transport::Udp(UdpDatagram {
        src_port: udp.source_port(),
        dst_port: udp.destination_port(),
        payload: Cow::Borrowed(udp.payload()),
        missing,
    })
}

fn ip_layer(version: IpVersion) -> &'static str {
    match version {
        IpVersion::V4 => "IPv4",
        IpVersion::V6 => "IPv6",
    }
}
