//! The SMB1 multi-protocol NEGOTIATE and its answers, and the NetBIOS session request of
//! port 139.

use super::*;

/// SMB1 header ([MS-CIFS] 2.2.3.1) for NEGOTIATE, as a Windows client (request) or a server
/// (response) writes it: NT status codes, Unicode, extended security, long names.
fn smb1_header(reply: bool) -> Vec<u8> {
    let mut h = vec![0xFF, b'S', b'M', b'B', 0x72];
    h.extend_from_slice(&[0; 4]); // Status
    h.push(if reply { 0x98 } else { 0x18 }); // case-insensitive, canonical paths (+ reply)
    h.extend_from_slice(&0xC853u16.to_le_bytes()); // Flags2
    h.extend_from_slice(&[0; 2]); // PIDHigh
    h.extend_from_slice(&[0; 8]); // SecurityFeatures
    h.extend_from_slice(&[0; 2]); // Reserved
    h.extend_from_slice(&0xFFFFu16.to_le_bytes()); // TID
    h.extend_from_slice(&0xFEFFu16.to_le_bytes()); // PIDLow
    h.extend_from_slice(&[0; 2]); // UID
    h.extend_from_slice(&[0; 2]); // MID
    h
}

/// The SMB1 multi-protocol NEGOTIATE request ([MS-SMB] 2.2.4.5.1): dialect strings in order.
pub fn smb1_negotiate_request(dialects: &[&str]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for d in dialects {
        bytes.push(0x02);
        bytes.extend_from_slice(d.as_bytes());
        bytes.push(0);
    }
    let mut m = smb1_header(false);
    m.push(0); // WordCount
    m.extend_from_slice(&u16le(bytes.len()));
    m.extend_from_slice(&bytes);
    m
}

/// The dialects a Windows client that also speaks SMB2 offers in its SMB1 NEGOTIATE.
pub const SMB1_WINDOWS_DIALECTS: [&str; 3] = ["NT LM 0.12", "SMB 2.002", "SMB 2.???"];

/// The SMB1 NEGOTIATE response of a server that accepts none of the dialects: WordCount 1,
/// DialectIndex 0xFFFF ([MS-CIFS] 2.2.4.52.2).
pub fn smb1_negotiate_no_dialect() -> Vec<u8> {
    let mut m = smb1_header(true);
    m.push(1);
    m.extend_from_slice(&0xFFFFu16.to_le_bytes());
    m.extend_from_slice(&[0, 0]); // ByteCount
    m
}

/// First-level encoding of a NetBIOS name (RFC 1001 14.1): padded to 15 characters, the
/// suffix byte, each half-byte as a letter from 'A', behind the length byte 32 and before the
/// empty scope.
fn netbios_name(name: &str, suffix: u8) -> Vec<u8> {
    let mut raw = [b' '; 16];
    for (slot, b) in raw
        .iter_mut()
        .zip(name.to_ascii_uppercase().bytes().take(15))
    {
        *slot = b;
    }
    raw[15] = suffix;
    let mut out = vec![32];
    for b in raw {
        out.push(b'A' + (b >> 4));
        out.push(b'A' + (b & 0x0F));
    }
    out.push(0);
    out
}

/// NetBIOS SESSION REQUEST (RFC 1002 4.3.2) from `calling` (workstation service, suffix
/// 0x00) to `called` (file server service, suffix 0x20), with its 4-byte header.
pub fn nbss_session_request(called: &str, calling: &str) -> Vec<u8> {
    let names = [netbios_name(called, 0x20), netbios_name(calling, 0x00)].concat();
    let len = u16le(names.len());
    [&[0x81, 0, len[1], len[0]][..], &names].concat()
}

/// POSITIVE SESSION RESPONSE (RFC 1002 4.3.3).
pub fn nbss_positive_response() -> Vec<u8> {
    vec![0x82, 0, 0, 0]
}
