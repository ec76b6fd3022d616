//! Link layers: find where the IP packet starts in a frame.
//!
//! Ethernet (with any stack of 802.1Q / 802.1ad / QinQ tags), Linux cooked SLL and SLL2, raw
//! IP and BSD null/loopback. Everything that is not IPv4 or IPv6 is [`LinkOutcome::NotIp`].

use super::NetError;
use crate::capture::Linktype;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;

/// LINKTYPE_ values (tcpdump.org) this module understands beyond pcap-parser's constants.
const LINKTYPE_RAW_OPENBSD: i32 = 12;
const LINKTYPE_RAW_BSDOS: i32 = 14;
const LINKTYPE_LINUX_SLL2: i32 = 276;

/// BSD address families that mean IPv6 (they differ between BSDs).
const AF_INET: u32 = 2;
const AF_INET6_VALUES: [u32; 3] = [24, 28, 30];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpVersion {
    V4,
    V6,
}

/// Where the frame's IP packet is, if it has one.
#[derive(Debug, PartialEq, Eq)]
pub enum LinkOutcome<'a> {
    Ip(IpVersion, &'a [u8]),
    NotIp,
}

/// Strips the link-layer header of `data` captured with link type `linktype`.
pub fn strip(linktype: Linktype, data: &[u8]) -> Result<LinkOutcome<'_>, NetError> {
    match linktype.0 {
        1 => ethernet(data),
        0 => bsd_null(data, false),
        108 => bsd_null(data, true),
        101 | LINKTYPE_RAW_OPENBSD | LINKTYPE_RAW_BSDOS => raw_ip(data),
        228 => Ok(LinkOutcome::Ip(IpVersion::V4, data)),
        229 => Ok(LinkOutcome::Ip(IpVersion::V6, data)),
        113 => {
            let proto = be16(data, 14).ok_or(short("Linux SLL", 16, data))?;
            by_ethertype(proto, rest(data, 16))
        }
        LINKTYPE_LINUX_SLL2 => {
            let proto = be16(data, 0).ok_or(short("Linux SLL2", 20, data))?;
            if data.len() < 20 {
                return Err(short("Linux SLL2", 20, data));
            }
            by_ethertype(proto, rest(data, 20))
        }
        other => Err(NetError::UnsupportedLinktype(other)),
    }
}

fn ethernet(data: &[u8]) -> Result<LinkOutcome<'_>, NetError> {
    let mut ethertype = be16(data, 12).ok_or(short("Ethernet", 14, data))?;
    let mut at = 14;
    // Each VLAN tag is 4 bytes: TCI then the next ethertype.
    while matches!(
        ethertype,
        ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD
    ) {
        ethertype = be16(data, at + 2).ok_or(short("802.1Q tag", at + 4, data))?;
        at += 4;
    }
    by_ethertype(ethertype, rest(data, at))
}

fn bsd_null(data: &[u8], network_order: bool) -> Result<LinkOutcome<'_>, NetError> {
    let bytes: [u8; 4] =
        data.get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or(short("BSD loopback", 4, data))?;
    // DLT_NULL uses the capturing host's byte order, which the file does not record: accept both.
    let family = if network_order {
        u32::from_be_bytes(bytes)
    } else {
        let le = u32::from_le_bytes(bytes);
        if le > 0xffff {
            u32::from_be_bytes(bytes)
        } else {
            le
        }
    };
    let payload = rest(data, 4);
    if family == AF_INET {
        Ok(LinkOutcome::Ip(IpVersion::V4, payload))
    } else if AF_INET6_VALUES.contains(&family) {
        Ok(LinkOutcome::Ip(IpVersion::V6, payload))
    } else {
        Ok(LinkOutcome::NotIp)
    }
}

fn raw_ip(data: &[u8]) -> Result<LinkOutcome<'_>, NetError> {
    match data.first().map(|b| b >> 4) {
        Some(4) => Ok(LinkOutcome::Ip(IpVersion::V4, data)),
        Some(6) => Ok(LinkOutcome::Ip(IpVersion::V6, data)),
        Some(_) => Ok(LinkOutcome::NotIp),
        None => Err(short("raw IP", 1, data)),
    }
}

fn by_ethertype(ethertype: u16, payload: &[u8]) -> Result<LinkOutcome<'_>, NetError> {
    Ok(match ethertype {
        ETHERTYPE_IPV4 => LinkOutcome::Ip(IpVersion::V4, payload),
        ETHERTYPE_IPV6 => LinkOutcome::Ip(IpVersion::V6, payload),
        _ => LinkOutcome::NotIp,
    })
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn rest(data: &[u8], at: usize) -> &[u8] {
    data.get(at..).unwrap_or_default()
}

fn short(layer: &'static str, need: usize, data: &[u8]) -> NetError {
    NetError::Truncated {
        layer,
        need,
        have: data.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP4: [u8; 2] = [0x45, 0x00];

    #[test]
    fn ethernet_with_qinq_tags() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x08, 0x00]);
        f.extend_from_slice(&IP4);
        assert_eq!(
            strip(Linktype(1), &f).unwrap(),
            LinkOutcome::Ip(IpVersion::V4, &IP4[..])
        );
    }

    #[test]
    fn arp_is_not_ip() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x06, 0, 1]);
        assert_eq!(strip(Linktype(1), &f).unwrap(), LinkOutcome::NotIp);
    }

    #[test]
    fn sll_and_sll2() {
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x86, 0xdd, 0x60]);
        assert_eq!(
            strip(Linktype(113), &sll).unwrap(),
            LinkOutcome::Ip(IpVersion::V6, &[0x60][..])
        );
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&IP4);
        assert_eq!(
            strip(Linktype(276), &sll2).unwrap(),
            LinkOutcome::Ip(IpVersion::V4, &IP4[..])
        );
    }

    #[test]
    fn bsd_null_in_either_byte_order() {
        let le = [2, 0, 0, 0, 0x45];
        let be = [0, 0, 0, 2, 0x45];
        let v6 = [30, 0, 0, 0, 0x60];
        assert_eq!(
            strip(Linktype(0), &le).unwrap(),
            LinkOutcome::Ip(IpVersion::V4, &[0x45][..])
        );
        assert_eq!(
            strip(Linktype(0), &be).unwrap(),
            LinkOutcome::Ip(IpVersion::V4, &[0x45][..])
        );
        assert_eq!(
            strip(Linktype(108), &be).unwrap(),
            LinkOutcome::Ip(IpVersion::V4, &[0x45][..])
        );
        assert_eq!(
            strip(Linktype(0), &v6).unwrap(),
            LinkOutcome::Ip(IpVersion::V6, &[0x60][..])
        );
    }

    #[test]
    fn raw_ip_by_version_nibble() {
        assert_eq!(
            strip(Linktype(101), &[0x60]).unwrap(),
            LinkOutcome::Ip(IpVersion::V6, &[0x60][..])
        );
        assert_eq!(
            strip(Linktype(12), &[0x45]).unwrap(),
            LinkOutcome::Ip(IpVersion::V4, &[0x45][..])
        );
    }

    #[test]
    fn short_and_unknown_are_errors() {
        assert!(matches!(
            strip(Linktype(1), &[0; 5]),
            Err(NetError::Truncated { .. })
        ));
        let mut tagged = vec![0u8; 12];
        tagged.extend_from_slice(&[0x81, 0x00, 0x00]);
        assert!(matches!(
            strip(Linktype(1), &tagged),
            Err(NetError::Truncated { .. })
        ));
        assert!(matches!(
            strip(Linktype(147), &[0; 40]),
            Err(NetError::UnsupportedLinktype(147))
        ));
    }
}
