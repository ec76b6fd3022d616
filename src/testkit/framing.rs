//! Record framing that SMB, Kerberos and DNS put on top of TCP, so tests can wrap message bytes
//! exactly as a client would before handing them to [`super::TcpConversation`].

/// NetBIOS session-service message (RFC 1002), the framing of SMB over TCP 445 and 139:
/// type 0 (session message), then a 24-bit big-endian length (the flags byte's extension bit
/// is the length's top bit, so 17 bits are usable).
///
/// # Panics
/// If `msg` is longer than 0x1FFFF bytes.
pub fn nbss_frame(msg: &[u8]) -> Vec<u8> {
    assert!(msg.len() <= 0x1_ffff, "NBSS message over 0x1ffff bytes");
    let len = (msg.len() as u32).to_be_bytes();
    [&[0x00, len[1], len[2], len[3]][..], msg].concat()
}

/// Kerberos over TCP (RFC 4120 section 7.2.2): a 4-byte big-endian record length, whose top
/// bit is reserved and left clear.
///
/// # Panics
/// If `msg` is 2^31 bytes or longer.
pub fn krb_tcp_frame(msg: &[u8]) -> Vec<u8> {
    let len = u32::try_from(msg.len())
        .ok()
        .filter(|l| l & 0x8000_0000 == 0)
        .expect("Kerberos record of 2^31 bytes or more");
    [&len.to_be_bytes()[..], msg].concat()
}

/// DNS over TCP (RFC 1035 section 4.2.2): a 2-byte big-endian message length.
///
/// # Panics
/// If `msg` is longer than 65535 bytes.
pub fn dns_tcp_frame(msg: &[u8]) -> Vec<u8> {
    let len = u16::try_from(msg.len()).expect("DNS message over 65535 bytes");
    [&len.to_be_bytes()[..], msg].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixes() {
        let msg = vec![0xfeu8; 0x1_0203];
        assert_eq!(&nbss_frame(&msg)[..4], &[0x00, 0x01, 0x02, 0x03]);
        assert_eq!(nbss_frame(b"ab"), [0, 0, 0, 2, b'a', b'b']);
        assert_eq!(krb_tcp_frame(b"abc"), [0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(dns_tcp_frame(b"x"), [0, 1, b'x']);
    }
}
