//! Link-layer framing around IP packets: Ethernet II with optional 802.1Q / QinQ tags, Linux
//! cooked SLL and SLL2, BSD null/loopback and raw IP. [`Link`] picks the framing for a whole
//! capture and knows its link type; the free functions build single headers for tests that
//! need something a conversation would not send (another ethertype, a foreign address family).

use pcap_parser::Linktype;

use super::{Dir, CLIENT_MAC, SERVER_MAC};

pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
pub const ETHERTYPE_VLAN: u16 = 0x8100;
pub const ETHERTYPE_QINQ: u16 = 0x88a8;

/// Linux `PACKET_HOST`: addressed to the capturing machine.
pub const SLL_HOST: u8 = 0;
/// Linux `PACKET_OUTGOING`: sent by the capturing machine.
pub const SLL_OUTGOING: u8 = 4;
const ARPHRD_ETHER: u16 = 1;

/// BSD `AF_INET`, the same on every BSD.
pub const AF_INET: u32 = 2;

/// BSD `AF_INET6`, which differs between the BSDs; a reader must accept all three.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BsdInet6 {
    /// NetBSD, OpenBSD, BSD/OS.
    NetBsd = 24,
    /// FreeBSD, DragonFly BSD.
    FreeBsd = 28,
    /// macOS and iOS.
    Darwin = 30,
}

/// VLAN tagging of an Ethernet frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Vlan {
    #[default]
    Untagged,
    /// One 802.1Q tag.
    Dot1q(u16),
    /// 802.1ad: an outer service tag (0x88a8) around an inner 802.1Q tag.
    QinQ { outer: u16, inner: u16 },
}

/// How every frame of a capture is framed. Captures are taken on the client, which decides
/// the SLL packet type and which MAC is the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Ethernet {
        client: [u8; 6],
        server: [u8; 6],
        vlan: Vlan,
    },
    LinuxSll,
    LinuxSll2 {
        ifindex: u32,
    },
    /// BSD loopback: a 4-byte address family in the capturing host's byte order, written here
    /// as little-endian (x86 and ARM hosts).
    Null {
        inet6: BsdInet6,
    },
    /// The IP packet alone, under a raw-IP link type: `RAW` (101, either family), `IPV4`
    /// (228), `IPV6` (229), or the historical DLT 12 / 14.
    Raw(Linktype),
}

impl Default for Link {
    /// Untagged Ethernet between the default MACs.
    fn default() -> Self {
        Link::ethernet(Vlan::Untagged)
    }
}

impl Link {
    /// Untagged or tagged Ethernet between the default MACs.
    pub fn ethernet(vlan: Vlan) -> Link {
        Link::Ethernet {
            client: CLIENT_MAC,
            server: SERVER_MAC,
            vlan,
        }
    }

    pub fn linktype(&self) -> Linktype {
        match self {
            Link::Ethernet { .. } => Linktype::ETHERNET,
            Link::LinuxSll => Linktype::LINUX_SLL,
            Link::LinuxSll2 { .. } => Linktype::LINUX_SLL2,
            Link::Null { .. } => Linktype::NULL,
            Link::Raw(linktype) => *linktype,
        }
    }

    /// Frames one IP packet; its family is read from the version nibble.
    pub fn frame(&self, ip: &[u8], dir: Dir) -> Vec<u8> {
        let is_v6 = ip.first().is_some_and(|b| b >> 4 == 6);
        let ethertype = if is_v6 {
            ETHERTYPE_IPV6
        } else {
            ETHERTYPE_IPV4
        };
        let (packet_type, sender) = match dir {
            Dir::ToServer => (SLL_OUTGOING, CLIENT_MAC),
            Dir::ToClient => (SLL_HOST, SERVER_MAC),
        };
        match *self {
            Link::Ethernet {
                client,
                server,
                vlan,
            } => {
                let (src, dst) = match dir {
                    Dir::ToServer => (client, server),
                    Dir::ToClient => (server, client),
                };
                ethernet_frame(dst, src, vlan, ethertype, ip)
            }
            Link::LinuxSll => sll_frame(packet_type, sender, ethertype, ip),
            Link::LinuxSll2 { ifindex } => sll2_frame(packet_type, ifindex, sender, ethertype, ip),
            Link::Null { inet6 } => {
                let af = if is_v6 { inet6 as u32 } else { AF_INET };
                null_frame(af, ip)
            }
            Link::Raw(_) => ip.to_vec(),
        }
    }
}

/// Ethernet II header (plus VLAN tags) and payload. No FCS, as most captures have none.
pub fn ethernet_frame(
    dst: [u8; 6],
    src: [u8; 6],
    vlan: Vlan,
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(22 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    // Priority 0, DEI 0: the tag control field is just the 12-bit VLAN id.
    match vlan {
        Vlan::Untagged => {}
        Vlan::Dot1q(id) => {
            f.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
            f.extend_from_slice(&(id & 0x0fff).to_be_bytes());
        }
        Vlan::QinQ { outer, inner } => {
            f.extend_from_slice(&ETHERTYPE_QINQ.to_be_bytes());
            f.extend_from_slice(&(outer & 0x0fff).to_be_bytes());
            f.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
            f.extend_from_slice(&(inner & 0x0fff).to_be_bytes());
        }
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Linux cooked header v1 (16 bytes): packet type, ARPHRD, address length, 8-byte address
/// field, protocol.
pub fn sll_frame(packet_type: u8, sender: [u8; 6], protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(16 + payload.len());
    f.extend_from_slice(&u16::from(packet_type).to_be_bytes());
    f.extend_from_slice(&ARPHRD_ETHER.to_be_bytes());
    f.extend_from_slice(&6u16.to_be_bytes());
    f.extend_from_slice(&sender);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&protocol.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Linux cooked header v2 (20 bytes): protocol first, then reserved, interface index, ARPHRD,
/// packet type, address length and the 8-byte address field.
pub fn sll2_frame(
    packet_type: u8,
    ifindex: u32,
    sender: [u8; 6],
    protocol: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(20 + payload.len());
    f.extend_from_slice(&protocol.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&ifindex.to_be_bytes());
    f.extend_from_slice(&ARPHRD_ETHER.to_be_bytes());
    f.push(packet_type);
    f.push(6);
    f.extend_from_slice(&sender);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

/// BSD null/loopback header: the address family as a little-endian u32.
pub fn null_frame(af: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(4 + payload.len());
    f.extend_from_slice(&af.to_le_bytes());
    f.extend_from_slice(payload);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP4: [u8; 4] = [0x45, 0, 0, 0];
    const IP6: [u8; 4] = [0x60, 0, 0, 0];

    #[test]
    fn ethernet_tags_are_laid_out_outer_first() {
        let f = Link::ethernet(Vlan::QinQ {
            outer: 100,
            inner: 200,
        })
        .frame(&IP4, Dir::ToServer);
        assert_eq!(&f[..6], &SERVER_MAC);
        assert_eq!(&f[6..12], &CLIENT_MAC);
        assert_eq!(
            &f[12..22],
            &[0x88, 0xa8, 0, 100, 0x81, 0x00, 0, 200, 0x08, 0x00]
        );
        assert_eq!(&f[22..], &IP4);

        let f = Link::ethernet(Vlan::Dot1q(5)).frame(&IP6, Dir::ToClient);
        assert_eq!(&f[..6], &CLIENT_MAC);
        assert_eq!(&f[12..18], &[0x81, 0x00, 0, 5, 0x86, 0xdd]);
    }

    #[test]
    fn cooked_headers_have_their_fixed_sizes() {
        let f = Link::LinuxSll.frame(&IP4, Dir::ToServer);
        assert_eq!(f.len(), 16 + 4);
        assert_eq!(&f[..6], &[0, SLL_OUTGOING, 0, 1, 0, 6]);
        assert_eq!(&f[6..12], &CLIENT_MAC);
        assert_eq!(&f[14..16], &[0x08, 0x00]);

        let f = Link::LinuxSll2 { ifindex: 3 }.frame(&IP6, Dir::ToClient);
        assert_eq!(f.len(), 20 + 4);
        assert_eq!(&f[..12], &[0x86, 0xdd, 0, 0, 0, 0, 0, 3, 0, 1, SLL_HOST, 6]);
        assert_eq!(&f[12..18], &SERVER_MAC);
    }

    #[test]
    fn null_and_raw_links() {
        let null = Link::Null {
            inet6: BsdInet6::Darwin,
        };
        assert_eq!(&null.frame(&IP6, Dir::ToServer)[..4], &[30, 0, 0, 0]);
        assert_eq!(&null.frame(&IP4, Dir::ToServer)[..4], &[2, 0, 0, 0]);
        assert_eq!(null.linktype(), Linktype::NULL);
        let raw = Link::Raw(Linktype::IPV6);
        assert_eq!(raw.frame(&IP6, Dir::ToServer), IP6.to_vec());
        assert_eq!(raw.linktype(), Linktype(229));
    }
}
