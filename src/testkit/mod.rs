//! Support for tests, fixtures and benchmarks, not part of the stable API: builds real capture
//! files from code. Compiled only for the crate's own tests and with the `testkit` feature,
//! which the tests, benches and examples turn on (a dev-dependency of the crate on itself): the
//! library as built for users contains none of it.
//!
//! Contract:
//! - Takes plain values (addresses, ports, payload bytes, timestamps) and emits bytes exactly as
//!   a capture tool would have written them: classic pcap ([`PcapWriter`]) or pcapng
//!   ([`PcapngWriter`]), holding frames framed by [`Link`] around IPv4/IPv6 packets ([`ip`])
//!   around TCP/UDP segments ([`transport`]) with correct lengths and checksums, so that tshark
//!   and our own reader see the same thing.
//! - Builders return packets instead of writing them ([`TcpConversation`], [`UdpExchange`]), so
//!   a test can reorder, duplicate, drop or alter them before handing them to a writer.
//! - Message builders produce the application bytes those packets carry: SMB1/SMB2/SMB3 and
//!   NetBIOS ([`smb`]), SPNEGO/NTLMSSP/krb5 tokens ([`gss`]), Kerberos ([`krb`], on the DER
//!   encoder [`der`]) and DNS ([`dns`]); each parses with `crate::proto` and with tshark.
//! - [`scenarios`] assembles them into the named captures committed under `fixtures/`, and
//!   [`gen`] into large benchmark captures of any size.
//! - Deterministic: no randomness and no wall clock. Default addresses, MACs and start time are
//!   the constants below, so a fixture is byte-identical on every run.
//! - Test support may panic on programmer errors (mixing IPv4 and IPv6 in one packet, a zero
//!   MSS); each such function says so. Writers return `io::Result` and never panic.
//! - Memory: builders hold only the packets they return; writers stream to any `Write`.
#![doc(hidden)]

mod conversation;
pub mod der;
pub mod dns;
mod framing;
pub mod gen;
pub mod gss;
pub mod ip;
pub mod krb;
pub mod link;
mod pcap;
pub mod scenarios;
pub mod smb;
pub mod transport;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::{Add, AddAssign};
use std::time::Duration;

pub use conversation::{TcpConversation, UdpExchange};
pub use framing::{dns_tcp_frame, krb_tcp_frame, nbss_frame};
pub use link::{Link, Vlan};
pub use pcap::{Endian, IfTsresol, PcapFormat, PcapWriter, PcapngWriter, TsResolution};
pub use pcap_parser::Linktype;
pub use transport::TcpFlags;

/// Client address used by fixtures unless a test picks its own (TEST-NET-1, RFC 5737).
pub const CLIENT_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
/// Server address used by fixtures unless a test picks its own (TEST-NET-1, RFC 5737).
pub const SERVER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);
/// IPv6 client address (documentation prefix, RFC 3849).
pub const CLIENT_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10);
/// IPv6 server address (documentation prefix, RFC 3849).
pub const SERVER_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x20);
/// Client MAC: locally administered, so it can never clash with a real vendor prefix.
pub const CLIENT_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
/// Server MAC: locally administered.
pub const SERVER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
/// Time of the first packet of a builder unless a test sets one: 2023-11-14T22:13:20Z.
pub const START: Timestamp = Timestamp::from_secs(1_700_000_000);

/// A capture timestamp: nanoseconds since the Unix epoch, the finest resolution any writer
/// supports, so converting to micro- or nanosecond files never needs rounding twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub nanos: u64,
}

impl Timestamp {
    pub const fn from_nanos(nanos: u64) -> Self {
        Timestamp { nanos }
    }

    pub const fn from_micros(micros: u64) -> Self {
        Timestamp {
            nanos: micros.saturating_mul(1_000),
        }
    }

    pub const fn from_secs(secs: u64) -> Self {
        Timestamp {
            nanos: secs.saturating_mul(1_000_000_000),
        }
    }

    /// Rounds to the nearest nanosecond; negative or out-of-range values saturate.
    pub fn from_secs_f64(secs: f64) -> Self {
        Timestamp {
            nanos: (secs * 1e9).round() as u64,
        }
    }

    /// Whole seconds since the epoch.
    pub const fn secs(self) -> u64 {
        self.nanos / 1_000_000_000
    }

    /// Nanoseconds within the second.
    pub const fn subsec_nanos(self) -> u32 {
        (self.nanos % 1_000_000_000) as u32
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    /// Saturates rather than wraps: a fixture far in the future is still ordered correctly.
    fn add(self, d: Duration) -> Timestamp {
        let d = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        Timestamp {
            nanos: self.nanos.saturating_add(d),
        }
    }
}

impl AddAssign<Duration> for Timestamp {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

/// `len` bytes that look random but are the same on every run: xorshift32 from `seed`. Stands
/// in for what a real peer draws at random or encrypts (GUIDs, salts, nonces, signatures,
/// ciphertext), so fixtures stay byte-identical.
pub fn filler(seed: u32, len: usize) -> Vec<u8> {
    // xorshift has a fixed point at 0; any other start walks the full 2^32 - 1 cycle.
    let mut x = seed ^ 0x9E37_79B9;
    if x == 0 {
        x = 1;
    }
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// One captured frame as a builder made it: link-layer bytes and the time it was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    pub ts: Timestamp,
    pub bytes: Vec<u8>,
}

/// Which way a packet travels in a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    ToServer,
    ToClient,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filler_is_deterministic_and_seed_dependent() {
        assert_eq!(filler(1, 32), filler(1, 32));
        assert_ne!(filler(1, 32), filler(2, 32));
        assert_eq!(filler(0x9E37_79B9, 4).len(), 4);
    }

    #[test]
    fn timestamp_constructors_agree() {
        assert_eq!(Timestamp::from_secs(2), Timestamp::from_micros(2_000_000));
        assert_eq!(
            Timestamp::from_secs_f64(1.000_000_2),
            Timestamp::from_nanos(1_000_000_200)
        );
        let t = Timestamp::from_secs(10) + Duration::from_micros(200);
        assert_eq!((t.secs(), t.subsec_nanos()), (10, 200_000));
        let mut u = t;
        u += Duration::from_secs(60);
        assert_eq!(u.secs(), 70);
        assert_eq!(
            Timestamp::from_nanos(u64::MAX) + Duration::from_secs(1),
            Timestamp::from_nanos(u64::MAX)
        );
    }
}
