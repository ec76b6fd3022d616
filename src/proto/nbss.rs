//! NetBIOS session service framing (RFC 1002 section 4.3) and its Direct-TCP cousin
//! ([MS-SMB2] 2.1): a 4-byte header — type, flags, length — in front of every SMB message.
//!
//! Contract: [`parse_header`] reads the 4-byte header; [`parse_message`] reads one whole
//! record and borrows its payload. Neither keeps state nor copies bytes. The length is read as
//! 24 bits (flags byte as the high byte): on port 139 only the E bit (bit 0 of the flags) may be
//! set, which gives RFC 1002's 17-bit length, and on port 445 Direct TCP uses all 24 bits. A
//! record that is not all there yet is [`NbssError::Incomplete`] with the bytes still needed,
//! so a reassembler can wait for more and call again.

use nom::bytes::complete::{tag, take};
use nom::combinator::peek;
use nom::multi::fill;
use nom::number::complete::{be_u16, be_u24, be_u32, u8};
use nom::Parser;
use thiserror::Error;

use crate::proto::code_table::code_table;
use crate::proto::wire::{offset_of, NomErr};

/// Size of the session-service header.
pub const HEADER_LEN: usize = 4;

/// Errors from the session-service parsers.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NbssError {
    /// Fewer bytes than the header or the record it announces.
    #[error("NBSS: incomplete record, {needed} more bytes needed")]
    Incomplete {
        /// Bytes missing from the end of the input.
        needed: usize,
    },
    /// A type byte RFC 1002 does not define: not a session-service header (or out of sync).
    #[error("NBSS: unknown message type {0:#04x} at offset 0")]
    UnknownType(u8),
    /// A control message whose body does not fit its type.
    #[error("NBSS: malformed {what} at offset {offset}")]
    Malformed {
        /// Which part was being parsed.
        what: &'static str,
        /// Offset from the start of the record.
        offset: usize,
    },
}

/// Session-service message type (open enumeration).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NbssType(pub u8);

code_table!(NbssType, unknown = "{:#04x}", {
    SESSION_MESSAGE = 0x00,
    SESSION_REQUEST = 0x81,
    POSITIVE_RESPONSE = 0x82 => "POSITIVE_SESSION_RESPONSE",
    NEGATIVE_RESPONSE = 0x83 => "NEGATIVE_SESSION_RESPONSE",
    RETARGET_RESPONSE = 0x84 => "RETARGET_SESSION_RESPONSE",
    KEEPALIVE = 0x85 => "SESSION_KEEP_ALIVE",
});

/// Error code of a NEGATIVE SESSION RESPONSE (RFC 1002 4.3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NbssNegativeCode(pub u8);

code_table!(NbssNegativeCode, unknown = "{:#04x}", {
    NOT_LISTENING_ON_CALLED_NAME = 0x80,
    NOT_LISTENING_FOR_CALLING_NAME = 0x81,
    CALLED_NAME_NOT_PRESENT = 0x82,
    INSUFFICIENT_RESOURCES = 0x83,
    UNSPECIFIED_ERROR = 0x8F,
});

/// The 4-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NbssHeader {
    /// Message type.
    pub msg_type: NbssType,
    /// Flags byte (bit 0 is RFC 1002's length extension; Direct TCP's high length byte).
    pub flags: u8,
    /// Length of the payload after the header.
    pub length: u32,
}

impl NbssHeader {
    /// Header plus payload, in bytes.
    pub fn record_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.length as usize)
    }
}

/// A NetBIOS name from a SESSION REQUEST, first-level decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetbiosName {
    /// The 15-character name with trailing spaces removed.
    pub name: String,
    /// The 16th byte: the NetBIOS suffix (0x20 = file server service).
    pub suffix: u8,
    /// The scope labels after the name, dot-joined; empty when there is none.
    pub scope: String,
}

/// One session-service record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NbssMessage<'a> {
    /// An SMB message (or any other session payload).
    SessionMessage(&'a [u8]),
    /// The client's session request naming the server and itself.
    SessionRequest {
        /// Name of the server the client wants.
        called: NetbiosName,
        /// Name of the client.
        calling: NetbiosName,
    },
    /// The server accepted the session request.
    PositiveResponse,
    /// The server refused the session request.
    NegativeResponse(NbssNegativeCode),
    /// The server redirected the client elsewhere.
    RetargetResponse {
        /// IPv4 address to retry at.
        ip: [u8; 4],
        /// TCP port to retry at.
        port: u16,
    },
    /// Keep-alive: no payload.
    Keepalive,
}

/// Reads the 4-byte header. Unknown types are an error: the caller is not at a record start.
pub fn parse_header(input: &[u8]) -> Result<NbssHeader, NbssError> {
    header(input).map(|(_, header)| header)
}

/// Reads one whole record; returns it and the number of bytes it occupies.
pub fn parse_message(input: &[u8]) -> Result<(NbssMessage<'_>, usize), NbssError> {
    let (rest, header) = header(input)?;
    let length = header.length as usize;
    let (_, payload) = take(length)
        .parse(rest)
        .map_err(|_: NomErr<'_>| NbssError::Incomplete {
            needed: length.saturating_sub(rest.len()),
        })?;
    Ok((
        parse_payload(header.msg_type, payload)?,
        header.record_len(),
    ))
}

/// Reads the payload of a record of type `msg_type`, as far as it goes: for a record a framer
/// cut short or kept only the start of, whose header promises more than there is.
pub fn parse_payload(msg_type: NbssType, payload: &[u8]) -> Result<NbssMessage<'_>, NbssError> {
    Ok(match msg_type {
        NbssType::SESSION_MESSAGE => NbssMessage::SessionMessage(payload),
        NbssType::SESSION_REQUEST => {
            let (rest, called) = netbios_name(payload, HEADER_LEN)?;
            let calling_at = HEADER_LEN.saturating_add(offset_of(payload, rest));
            let (_, calling) = netbios_name(rest, calling_at)?;
            NbssMessage::SessionRequest { called, calling }
        }
        NbssType::POSITIVE_RESPONSE => NbssMessage::PositiveResponse,
        NbssType::NEGATIVE_RESPONSE => {
            let (_, code) = u8
                .parse(payload)
                .map_err(|_: NomErr<'_>| NbssError::Malformed {
                    what: "negative session response error code",
                    offset: HEADER_LEN,
                })?;
            NbssMessage::NegativeResponse(NbssNegativeCode(code))
        }
        NbssType::RETARGET_RESPONSE => {
            let (_, (ip, port)) =
                (be_u32, be_u16)
                    .parse(payload)
                    .map_err(|_: NomErr<'_>| NbssError::Malformed {
                        what: "retarget session response address",
                        offset: HEADER_LEN,
                    })?;
            NbssMessage::RetargetResponse {
                ip: ip.to_be_bytes(),
                port,
            }
        }
        _ => NbssMessage::Keepalive,
    })
}

fn header(input: &[u8]) -> Result<(&[u8], NbssHeader), NbssError> {
    // The flags byte is also the high byte of the 24-bit length (see the module doc).
    let (rest, (msg_type, flags, length)) =
        (u8, peek(u8), be_u24)
            .parse(input)
            .map_err(|_: NomErr<'_>| NbssError::Incomplete {
                needed: HEADER_LEN.saturating_sub(input.len()),
            })?;
    let msg_type = NbssType(msg_type);
    if msg_type.name().is_none() {
        return Err(NbssError::UnknownType(msg_type.0));
    }
    let header = NbssHeader {
        msg_type,
        flags,
        length,
    };
    Ok((rest, header))
}

/// Decodes one first-level encoded name (RFC 1001 14.1): a 32-byte label of half-bytes
/// offset by 'A', then optional scope labels, then a zero byte. `base` is the offset of
/// `input` in the record, for errors.
fn netbios_name(input: &[u8], base: usize) -> Result<(&[u8], NetbiosName), NbssError> {
    let malformed = |what, rest: &[u8]| NbssError::Malformed {
        what,
        offset: base.saturating_add(offset_of(input, rest)),
    };
    let (rest, _) = tag(&[32u8][..])
        .parse(input)
        .map_err(|_: NomErr<'_>| malformed("NetBIOS name length", input))?;
    let (mut rest, encoded) = take(32usize)
        .parse(rest)
        .map_err(|_: NomErr<'_>| malformed("NetBIOS name", rest))?;
    let half_bytes = (u8, u8).map_opt(|(hi, lo)| {
        let (hi, lo) = (hi.wrapping_sub(b'A'), lo.wrapping_sub(b'A'));
        (hi <= 15 && lo <= 15).then_some((hi << 4) | lo)
    });
    let mut raw = [0u8; 16];
    fill(half_bytes, &mut raw)
        .parse(encoded)
        .map_err(|e: NomErr<'_>| {
            // The pair that failed: `encoded` starts one byte into the name.
            let left = match e {
                nom::Err::Error(e) | nom::Err::Failure(e) => e.input.len(),
                nom::Err::Incomplete(_) => 0,
            };
            NbssError::Malformed {
                what: "NetBIOS name half-byte",
                offset: base.saturating_add(1 + encoded.len().saturating_sub(left)),
            }
        })?;
    let mut labels: Vec<String> = Vec::new();
    loop {
        let (after_len, len) = u8
            .parse(rest)
            .map_err(|_: NomErr<'_>| malformed("NetBIOS scope", rest))?;
        if len == 0 {
            rest = after_len;
            break;
        }
        // Labels are at most 63 bytes (DNS rules); anything larger is a compression pointer
        // or garbage, neither of which a session request carries.
        if len > 63 {
            return Err(malformed("NetBIOS scope label length", rest));
        }
        let (after_label, label) = take(len)
            .parse(after_len)
            .map_err(|_: NomErr<'_>| malformed("NetBIOS scope label", after_len))?;
        labels.push(String::from_utf8_lossy(label).into_owned());
        rest = after_label;
    }
    let [name @ .., suffix] = raw;
    let name = String::from_utf8_lossy(&name).trim_end().to_string();
    let name = NetbiosName {
        name,
        suffix,
        scope: labels.join("."),
    };
    Ok((rest, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::test_hex as hex;

    #[test]
    fn code_tables_name_every_entry() {
        use crate::proto::code_table::assert_names_round_trip;
        assert_names_round_trip(NbssType::ALL, NbssType::name);
        assert_names_round_trip(NbssNegativeCode::ALL, NbssNegativeCode::name);
        assert_eq!(NbssType::KEEPALIVE.to_string(), "SESSION_KEEP_ALIVE");
        assert_eq!(NbssType(0x86).to_string(), "0x86");
        assert_eq!(NbssNegativeCode(0x01).to_string(), "0x01");
    }

    // ../shared/captures/lab/smb-tree-bad-name.pcap frame 19: the Direct-TCP header of an
    // SMB2 TREE_CONNECT response (0x49 = 73 payload bytes), followed by its payload.
    const FRAME19: &str =
        "00000049fe534d4240000100cc0000c00300010019000000000000000600000000000000\
        00000000000000008b76994b000000008bc102ea23b8c20bf32c03c6e759f20f090000000000000000";

    #[test]
    fn session_message_from_capture() {
        let bytes = hex(FRAME19);
        let (msg, used) = parse_message(&bytes).unwrap();
        assert_eq!(used, 77);
        match msg {
            NbssMessage::SessionMessage(p) => assert_eq!(&p[..4], b"\xfeSMB"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn incomplete_record_says_how_much_is_missing() {
        let bytes = hex(FRAME19);
        assert_eq!(
            parse_message(&bytes[..60]),
            Err(NbssError::Incomplete { needed: 17 })
        );
        assert_eq!(
            parse_header(&bytes[..1]),
            Err(NbssError::Incomplete { needed: 3 })
        );
    }

    #[test]
    fn direct_tcp_uses_24_bit_length() {
        // ../shared/captures/lab/smb-large-read.pcap frame 25: a 1 MiB READ response starts
        // with length 0x100050, which needs the high byte.
        let header = parse_header(&hex("00100050fe534d42")).unwrap();
        assert_eq!(header.length, 0x10_0050);
        assert_eq!(header.flags, 0x10);
    }

    // No public capture here carries port-139 session setup, so these records are built
    // from RFC 1002 4.3.2 and RFC 1001 14.1: "NAS1" <20> called by "CLIENT" <00>.
    fn encode(name: &str, suffix: u8) -> Vec<u8> {
        let mut raw = [b' '; 16];
        raw[..name.len()].copy_from_slice(name.as_bytes());
        raw[15] = suffix;
        let mut out = vec![32];
        for b in raw {
            out.push(b'A' + (b >> 4));
            out.push(b'A' + (b & 0x0f));
        }
        out.push(0);
        out
    }

    #[test]
    fn session_request_names() {
        let mut body = encode("NAS1", 0x20);
        body.extend(encode("CLIENT", 0x00));
        let mut rec = vec![0x81, 0, 0, body.len() as u8];
        rec.extend(&body);
        let (msg, used) = parse_message(&rec).unwrap();
        assert_eq!(used, rec.len());
        match msg {
            NbssMessage::SessionRequest { called, calling } => {
                assert_eq!(called.name, "NAS1");
                assert_eq!(called.suffix, 0x20);
                assert_eq!(calling.name, "CLIENT");
                assert_eq!(calling.scope, "");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn control_messages() {
        assert_eq!(
            parse_message(&[0x82, 0, 0, 0]).unwrap().0,
            NbssMessage::PositiveResponse
        );
        assert_eq!(
            parse_message(&[0x85, 0, 0, 0]).unwrap().0,
            NbssMessage::Keepalive
        );
        let (neg, _) = parse_message(&[0x83, 0, 0, 1, 0x82]).unwrap();
        assert_eq!(
            neg,
            NbssMessage::NegativeResponse(NbssNegativeCode::CALLED_NAME_NOT_PRESENT)
        );
        assert!(matches!(
            parse_message(&[0x83, 0, 0, 0]),
            Err(NbssError::Malformed { .. })
        ));
        let (re, _) = parse_message(&[0x84, 0, 0, 6, 10, 0, 0, 1, 0, 139]).unwrap();
        assert_eq!(
            re,
            NbssMessage::RetargetResponse {
                ip: [10, 0, 0, 1],
                port: 139
            }
        );
        assert_eq!(
            parse_header(&[0x42, 0, 0, 0]),
            Err(NbssError::UnknownType(0x42))
        );
    }

    #[test]
    fn bad_names_are_errors() {
        let mut body = encode("NAS1", 0x20);
        body[5] = b'z';
        body.extend(encode("CLIENT", 0));
        let mut rec = vec![0x81, 0, 0, body.len() as u8];
        rec.extend(&body);
        assert!(matches!(
            parse_message(&rec),
            Err(NbssError::Malformed { offset: 9, .. })
        ));
        assert!(parse_message(&[0x81, 0, 0, 1, 32]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse_header(&data);
            let _ = parse_message(&data);
        }

        #[test]
        fn session_requests_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..120)) {
            let mut rec = vec![0x81, 0, 0, body.len() as u8];
            rec.extend(&body);
            let _ = parse_message(&rec);
        }
    }
}
