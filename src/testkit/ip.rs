//! IPv4 and IPv6 packets, whole or fragmented. Fragments come back as separate whole packets so
//! a test can write them in any order, duplicate or drop one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::transport::internet_checksum;

pub const PROTO_TCP: u8 = 6;
pub const PROTO_UDP: u8 = 17;
const IPV6_FRAGMENT: u8 = 44;

/// An IPv4 header without options. `fragment_offset` is in bytes and must be a multiple of 8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv4Header {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub id: u16,
    pub ttl: u8,
    pub dont_fragment: bool,
    pub more_fragments: bool,
    pub fragment_offset: u16,
}

impl Ipv4Header {
    /// TTL 128 as Windows sends, id 0, not fragmented.
    pub fn new(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8) -> Self {
        Ipv4Header {
            src,
            dst,
            protocol,
            id: 0,
            ttl: 128,
            dont_fragment: false,
            more_fragments: false,
            fragment_offset: 0,
        }
    }

    /// Header with total length and checksum filled in, followed by `payload`.
    ///
    /// # Panics
    /// If the packet would exceed 65535 bytes.
    pub fn build(&self, payload: &[u8]) -> Vec<u8> {
        let total = u16::try_from(20 + payload.len()).expect("IPv4 packet over 65535 bytes");
        let flags_offset = u16::from(self.dont_fragment) << 14
            | u16::from(self.more_fragments) << 13
            | (self.fragment_offset >> 3) & 0x1fff;
        let mut p = Vec::with_capacity(usize::from(total));
        p.push(0x45); // version 4, 5 words
        p.push(0); // DSCP/ECN
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&self.id.to_be_bytes());
        p.extend_from_slice(&flags_offset.to_be_bytes());
        p.push(self.ttl);
        p.push(self.protocol);
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(&self.src.octets());
        p.extend_from_slice(&self.dst.octets());
        let sum = internet_checksum(&[&p]);
        p[10..12].copy_from_slice(&sum.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    /// Splits `payload` into fragments carrying at most `max_fragment` bytes each (rounded
    /// down to a multiple of 8, as offsets require), in order. DF is cleared; this header's own
    /// offset and MF are honoured, so a fragment can itself be refragmented.
    ///
    /// # Panics
    /// If `max_fragment` is below 8.
    pub fn fragments(&self, payload: &[u8], max_fragment: usize) -> Vec<Vec<u8>> {
        let size = fragment_size(max_fragment);
        let count = payload.len().div_ceil(size).max(1);
        (0..count)
            .map(|i| {
                let chunk = &payload[i * size..payload.len().min((i + 1) * size)];
                let header = Ipv4Header {
                    dont_fragment: false,
                    more_fragments: i + 1 < count || self.more_fragments,
                    fragment_offset: self.fragment_offset + offset_u16(i * size),
                    ..self.clone()
                };
                header.build(chunk)
            })
            .collect()
    }
}

/// The IPv6 Fragment extension header. `offset` is in bytes and must be a multiple of 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Fragment {
    pub offset: u16,
    pub more: bool,
    pub id: u32,
}

/// An IPv6 header, optionally followed by a Fragment header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ipv6Header {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    /// The upper-layer protocol, after any Fragment header.
    pub next_header: u8,
    pub hop_limit: u8,
    pub fragment: Option<Ipv6Fragment>,
}

impl Ipv6Header {
    /// Hop limit 128 as Windows sends, not fragmented.
    pub fn new(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8) -> Self {
        Ipv6Header {
            src,
            dst,
            next_header,
            hop_limit: 128,
            fragment: None,
        }
    }

    /// Header (and Fragment header) with payload length filled in, followed by `payload`.
    ///
    /// # Panics
    /// If the payload exceeds 65535 bytes (jumbograms are out of scope).
    pub fn build(&self, payload: &[u8]) -> Vec<u8> {
        let ext_len = if self.fragment.is_some() { 8 } else { 0 };
        let len = u16::try_from(ext_len + payload.len()).expect("IPv6 payload over 65535 bytes");
        let mut p = Vec::with_capacity(40 + usize::from(len));
        p.extend_from_slice(&0x6000_0000u32.to_be_bytes()); // version 6, no class, no flow
        p.extend_from_slice(&len.to_be_bytes());
        p.push(if self.fragment.is_some() {
            IPV6_FRAGMENT
        } else {
            self.next_header
        });
        p.push(self.hop_limit);
        p.extend_from_slice(&self.src.octets());
        p.extend_from_slice(&self.dst.octets());
        if let Some(frag) = self.fragment {
            p.push(self.next_header);
            p.push(0);
            p.extend_from_slice(&(frag.offset & 0xfff8 | u16::from(frag.more)).to_be_bytes());
            p.extend_from_slice(&frag.id.to_be_bytes());
        }
        p.extend_from_slice(payload);
        p
    }

    /// Splits `payload` into fragments carrying at most `max_fragment` bytes each (rounded
    /// down to a multiple of 8), each with a Fragment header of identification `id`, in order.
    ///
    /// # Panics
    /// If `max_fragment` is below 8.
    pub fn fragments(&self, payload: &[u8], max_fragment: usize, id: u32) -> Vec<Vec<u8>> {
        let size = fragment_size(max_fragment);
        let count = payload.len().div_ceil(size).max(1);
        (0..count)
            .map(|i| {
                let chunk = &payload[i * size..payload.len().min((i + 1) * size)];
                let header = Ipv6Header {
                    fragment: Some(Ipv6Fragment {
                        offset: offset_u16(i * size),
                        more: i + 1 < count,
                        id,
                    }),
                    ..self.clone()
                };
                header.build(chunk)
            })
            .collect()
    }
}

/// An unfragmented packet of either family.
///
/// # Panics
/// If `src` and `dst` are of different families.
pub fn ip_packet(src: IpAddr, dst: IpAddr, protocol: u8, id: u16, payload: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Ipv4Header {
            id,
            ..Ipv4Header::new(s, d, protocol)
        }
        .build(payload),
        (IpAddr::V6(s), IpAddr::V6(d)) => Ipv6Header::new(s, d, protocol).build(payload),
        _ => panic!("mixed IPv4/IPv6 addresses {src} -> {dst}"),
    }
}

/// `payload` split into fragments of at most `max_fragment` bytes, either family; `id` is
/// truncated to 16 bits for IPv4.
///
/// # Panics
/// If `src` and `dst` are of different families, or `max_fragment` is below 8.
pub fn ip_fragments(
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    id: u32,
    payload: &[u8],
    max_fragment: usize,
) -> Vec<Vec<u8>> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Ipv4Header {
            id: id as u16,
            ..Ipv4Header::new(s, d, protocol)
        }
        .fragments(payload, max_fragment),
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            Ipv6Header::new(s, d, protocol).fragments(payload, max_fragment, id)
        }
        _ => panic!("mixed IPv4/IPv6 addresses {src} -> {dst}"),
    }
}

fn fragment_size(max_fragment: usize) -> usize {
    assert!(max_fragment >= 8, "fragments carry at least 8 bytes");
    max_fragment & !7
}

fn offset_u16(offset: usize) -> u16 {
    u16::try_from(offset).expect("fragment offset over 65535 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_checksum_matches_a_known_header() {
        // The worked example from RFC 1071 folklore (Wikipedia's "IPv4 header checksum"):
        // 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7.
        let h = Ipv4Header {
            dont_fragment: true,
            ttl: 64,
            ..Ipv4Header::new(
                Ipv4Addr::new(192, 168, 0, 1),
                Ipv4Addr::new(192, 168, 0, 199),
                PROTO_UDP,
            )
        };
        let p = h.build(&[0u8; 0x73 - 20]);
        assert_eq!(
            &p[..20],
            &[
                0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0xb8, 0x61, 192, 168, 0, 1, 192, 168,
                0, 199
            ]
        );
        let parsed = etherparse::Ipv4HeaderSlice::from_slice(&p).unwrap();
        assert_eq!(parsed.to_header().calc_header_checksum(), 0xb861);
    }

    #[test]
    fn ipv4_fragments_reassemble_to_the_payload() {
        let payload: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let h = Ipv4Header {
            id: 0x1234,
            ..Ipv4Header::new(Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST, PROTO_UDP)
        };
        let frags = h.fragments(&payload, 300); // 296 per fragment
        assert_eq!(frags.len(), 4);
        let mut joined = Vec::new();
        for (i, f) in frags.iter().enumerate() {
            let s = etherparse::Ipv4HeaderSlice::from_slice(f).unwrap();
            assert_eq!(s.identification(), 0x1234);
            assert_eq!(usize::from(s.fragments_offset().byte_offset()), i * 296);
            assert_eq!(s.more_fragments(), i < 3);
            assert_eq!(s.header_checksum(), s.to_header().calc_header_checksum());
            joined.extend_from_slice(&f[20..]);
        }
        assert_eq!(joined, payload);
    }

    #[test]
    fn ipv6_fragments_carry_a_fragment_header() {
        let payload = vec![7u8; 100];
        let frags = ip_fragments(
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
            PROTO_UDP,
            0xdead_beef,
            &payload,
            64,
        );
        assert_eq!(frags.len(), 2);
        assert_eq!(frags[0][6], IPV6_FRAGMENT);
        assert_eq!(&frags[0][4..6], &(8u16 + 64).to_be_bytes());
        assert_eq!(
            &frags[0][40..48],
            &[PROTO_UDP, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef]
        );
        assert_eq!(
            &frags[1][40..48],
            &[PROTO_UDP, 0, 0, 64, 0xde, 0xad, 0xbe, 0xef]
        );
        assert_eq!(frags[1].len(), 48 + 36);
    }
}
