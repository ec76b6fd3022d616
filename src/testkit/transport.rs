//! TCP and UDP segments with checksums computed over the IPv4 or IPv6 pseudo-header, so that
//! checksum-validating dissectors (tshark with checks on) accept every generated frame.

use std::net::{IpAddr, SocketAddr};
use std::ops::BitOr;

use super::ip::{PROTO_TCP, PROTO_UDP};

/// The Internet checksum (RFC 1071) of the concatenation of `parts`: the ones' complement of
/// the ones' complement sum of 16-bit big-endian words, an odd final byte padded with zero.
pub fn internet_checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u64 = 0;
    let mut high: Option<u8> = None;
    // Byte by byte so that a part of odd length pairs with the next part's first byte.
    for &b in parts.iter().flat_map(|p| p.iter()) {
        match high.take() {
            None => high = Some(b),
            Some(h) => sum += u64::from(u16::from_be_bytes([h, b])),
        }
    }
    if let Some(h) = high {
        sum += u64::from(h) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The checksum of a TCP or UDP segment (header with a zero checksum field, plus payload).
///
/// # Panics
/// If `src` and `dst` are of different families.
pub fn transport_checksum(src: IpAddr, dst: IpAddr, protocol: u8, segment: &[u8]) -> u16 {
    let len = segment.len() as u32;
    let pseudo: Vec<u8> = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => [
            &s.octets()[..],
            &d.octets(),
            &[0, protocol],
            &(len as u16).to_be_bytes(),
        ]
        .concat(),
        (IpAddr::V6(s), IpAddr::V6(d)) => [
            &s.octets()[..],
            &d.octets(),
            &len.to_be_bytes(),
            &[0, 0, 0, protocol],
        ]
        .concat(),
        _ => panic!("mixed IPv4/IPv6 addresses {src} -> {dst}"),
    };
    internet_checksum(&[&pseudo, segment])
}

/// TCP header flags (the low byte of the flags field).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);

    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;

    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

/// A TCP header. The only option supported is MSS, which stacks send on SYN segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpHeader {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub mss: Option<u16>,
}

impl TcpHeader {
    /// The segment (header and payload) with its checksum for the given IP endpoints.
    ///
    /// # Panics
    /// If `src` and `dst` are of different families.
    pub fn build(&self, src: IpAddr, dst: IpAddr, payload: &[u8]) -> Vec<u8> {
        let header_len: u8 = if self.mss.is_some() { 24 } else { 20 };
        let mut s = Vec::with_capacity(usize::from(header_len) + payload.len());
        s.extend_from_slice(&self.src_port.to_be_bytes());
        s.extend_from_slice(&self.dst_port.to_be_bytes());
        s.extend_from_slice(&self.seq.to_be_bytes());
        s.extend_from_slice(&self.ack.to_be_bytes());
        s.push((header_len / 4) << 4);
        s.push(self.flags.0);
        s.extend_from_slice(&self.window.to_be_bytes());
        s.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        if let Some(mss) = self.mss {
            s.extend_from_slice(&[2, 4]);
            s.extend_from_slice(&mss.to_be_bytes());
        }
        s.extend_from_slice(payload);
        let sum = transport_checksum(src, dst, PROTO_TCP, &s);
        s[16..18].copy_from_slice(&sum.to_be_bytes());
        s
    }
}

/// A UDP datagram (header and payload) with its checksum.
///
/// # Panics
/// If the addresses are of different families or the datagram exceeds 65535 bytes.
pub fn udp_datagram(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(8 + payload.len()).expect("UDP datagram over 65535 bytes");
    let mut d = Vec::with_capacity(usize::from(len));
    d.extend_from_slice(&src.port().to_be_bytes());
    d.extend_from_slice(&dst.port().to_be_bytes());
    d.extend_from_slice(&len.to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(payload);
    // A computed zero is sent as all ones: zero on the wire means "no checksum".
    let sum = match transport_checksum(src.ip(), dst.ip(), PROTO_UDP, &d) {
        0 => 0xffff,
        sum => sum,
    };
    d[6..8].copy_from_slice(&sum.to_be_bytes());
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn checksum_of_rfc1071_example() {
        // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2; checksum is its
        // complement.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&[&data]), !0xddf2);
        // Split at an odd boundary: same result.
        assert_eq!(internet_checksum(&[&data[..3], &data[3..]]), !0xddf2);
    }

    #[test]
    fn tcp_checksum_agrees_with_etherparse_v4_and_v6() {
        let header = TcpHeader {
            src_port: 49_152,
            dst_port: 445,
            seq: 0xffff_fff0,
            ack: 7,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            window: 64_240,
            mss: Some(1460),
        };
        let v4 = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
        let seg = header.build(v4.0.into(), v4.1.into(), b"odd");
        let slice = etherparse::TcpSlice::from_slice(&seg).unwrap();
        assert_eq!(slice.options(), &[2, 4, 0x05, 0xb4]);
        assert_eq!(slice.payload(), b"odd");
        let expected = slice
            .calc_checksum_ipv4(v4.0.octets(), v4.1.octets())
            .unwrap();
        assert_eq!(slice.checksum(), expected);
        // Summing over the pseudo-header and a segment with its checksum in place yields 0.
        assert_eq!(
            transport_checksum(v4.0.into(), v4.1.into(), PROTO_TCP, &seg),
            0
        );

        let v6 = (
            Ipv6Addr::LOCALHOST,
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
        );
        let seg = header.build(v6.0.into(), v6.1.into(), b"payload");
        let slice = etherparse::TcpSlice::from_slice(&seg).unwrap();
        let expected = slice
            .calc_checksum_ipv6(v6.0.octets(), v6.1.octets())
            .unwrap();
        assert_eq!(slice.checksum(), expected);
    }

    #[test]
    fn udp_checksum_agrees_with_etherparse() {
        let src = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 1), 53_000));
        let dst = SocketAddr::from((Ipv4Addr::new(10, 0, 0, 2), 88));
        let d = udp_datagram(src, dst, b"kerberos");
        let slice = etherparse::UdpSlice::from_slice(&d).unwrap();
        let expected = slice
            .to_header()
            .calc_checksum_ipv4_raw([10, 0, 0, 1], [10, 0, 0, 2], b"kerberos")
            .unwrap();
        assert_eq!(slice.checksum(), expected);
        assert_eq!(slice.length(), 16);
    }
}
