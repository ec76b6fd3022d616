//! SMB2/SMB3 record parsers ([MS-SMB2] section 2.2): the 64-byte header, compounded
//! messages, the bodies setup analysis needs (NEGOTIATE, SESSION_SETUP, TREE_CONNECT, ERROR),
//! the sizes of READ/WRITE payloads, and the encryption and compression transform headers.
//!
//! Contract: input is one session-service payload (the bytes after the NBSS header).
//! [`parse_pdu`] tells plain, encrypted and compressed payloads apart; [`messages`] walks the
//! NextCommand chain of a plain one. Parsing is lax, like etherparse: a message whose body is
//! cut (snaplen) or malformed is still yielded with its header, and its `body` is the error
//! that stopped it. Every offset and length from the wire is bounds-checked; a bad NextCommand
//! ends the walk with an error item. Nothing is copied except small fixed fields and names:
//! security buffers and context data borrow the input, and READ/WRITE data are never touched.
//!
//! How: each fixed layout (the header, a body's fixed part, a transform header) is one nom
//! tuple run by `wire::record` over exactly the bytes the structure
//! takes, so a message that ends inside it is one `Truncated` for the whole structure; buffers
//! addressed by (offset, length) go through `wire::bytes_at`. nom's errors become
//! [`Smb2Error`]s at those two calls and never leave `proto/`.

mod codes;
mod error;
mod header;
mod negotiate;
mod session_setup;
mod transform;
mod tree_connect;

use nom::bytes::complete::take;
use nom::number::complete::le_u16;
use nom::sequence::preceded;
use nom::Parser;
use thiserror::Error;

use crate::proto::ntstatus::NtStatus;
use crate::proto::wire::{bytes_at, leading, NomErr, Short};

pub use codes::{
    cipher, compression_algorithm, hash_algorithm, signing_algorithm, Capabilities, Dialect,
    HeaderFlags, NegotiateContextType, SecurityMode, SessionFlags, SessionSetupFlags,
    ShareCapabilities, ShareFlags, ShareType, Smb2Command, TreeConnectFlags,
};
pub use error::{ErrorResponse, ReadResponse, WriteRequest};
pub use header::{field, HeaderIds, HeaderView, Smb2Header, HEADER_LEN, MIN_LAX_LEN, PROTOCOL_ID};
pub use negotiate::{NegotiateContext, NegotiateRequest, NegotiateResponse};
pub use session_setup::{SessionSetupRequest, SessionSetupResponse};
pub use transform::{
    parse_compression_transform, parse_transform, CompressionTransformHeader, TransformHeader,
    COMPRESSION_PROTOCOL_ID, COMPRESSION_TRANSFORM_HEADER_LEN, TRANSFORM_HEADER_LEN,
    TRANSFORM_PROTOCOL_ID,
};
pub use tree_connect::{TreeConnectRequest, TreeConnectResponse};

/// Errors of the SMB2 parsers. Offsets count from the start of the message (its header)
/// unless stated otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Smb2Error {
    /// The bytes end before a structure does: snaplen cut, or a length that lies.
    #[error("SMB2: {what} at offset {offset} needs {needed} bytes, {available} available")]
    Truncated {
        what: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    /// No `\xfeSMB` (or transform magic) where a header must start.
    #[error("SMB2: bad protocol id at offset {offset}")]
    BadMagic { offset: usize },
    /// A field whose value cannot be right (e.g. NextCommand shorter than a header).
    #[error("SMB2: impossible {what} {value} at offset {offset}")]
    Invalid {
        what: &'static str,
        offset: usize,
        value: u64,
    },
}

impl Smb2Error {
    /// True when more bytes might have made the parse succeed.
    pub fn is_truncated(&self) -> bool {
        matches!(self, Smb2Error::Truncated { .. })
    }
}

/// The body of a message, decoded as far as setup analysis needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    NegotiateRequest(NegotiateRequest<'a>),
    NegotiateResponse(NegotiateResponse<'a>),
    SessionSetupRequest(SessionSetupRequest<'a>),
    SessionSetupResponse(SessionSetupResponse<'a>),
    TreeConnectRequest(TreeConnectRequest<'a>),
    TreeConnectResponse(TreeConnectResponse),
    /// The ERROR response body ([MS-SMB2] 2.2.2), also used by STATUS_PENDING interims.
    Error(ErrorResponse<'a>),
    /// Only the sizes, so a caller can skip the data.
    ReadResponse(ReadResponse),
    /// Only the sizes, so a caller can skip the data.
    WriteRequest(WriteRequest),
    /// Any other command: the header says all that setup analysis needs.
    HeaderOnly,
}

/// One SMB2 message of a (possibly compounded) payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smb2Message<'a> {
    /// Offset of the header in the session-service payload.
    pub offset: usize,
    pub header: Smb2Header,
    /// The message's bytes: from its header to the next message or the end of the payload.
    pub bytes: &'a [u8],
    /// The decoded body, or why it could not be decoded (see [`Smb2Error::is_truncated`]).
    pub body: Result<Body<'a>, Smb2Error>,
}

/// A session-service payload that starts with one of the SMB2-family magics.
#[derive(Debug, Clone)]
pub enum Smb2Pdu<'a> {
    /// `\xfeSMB`: one or more plain messages.
    Messages(Messages<'a>),
    /// `\xfdSMB`: encrypted; only the transform header is readable.
    Encrypted(TransformHeader<'a>),
    /// `\xfcSMB`: compressed.
    Compressed(CompressionTransformHeader<'a>),
}

/// Classifies a session-service payload by its magic.
pub fn parse_pdu(payload: &[u8]) -> Result<Smb2Pdu<'_>, Smb2Error> {
    let (_, magic) = take(PROTOCOL_ID.len())
        .parse(payload)
        .map_err(|_: NomErr<'_>| Short::at(payload, 0, PROTOCOL_ID.len(), "SMB2 protocol id"))?;
    match magic {
        m if m == PROTOCOL_ID => Ok(Smb2Pdu::Messages(messages(payload))),
        m if m == TRANSFORM_PROTOCOL_ID => parse_transform(payload).map(Smb2Pdu::Encrypted),
        m if m == COMPRESSION_PROTOCOL_ID => {
            parse_compression_transform(payload).map(Smb2Pdu::Compressed)
        }
        _ => Err(Smb2Error::BadMagic { offset: 0 }),
    }
}

/// Walks the NextCommand chain of a plain payload.
pub fn messages(payload: &[u8]) -> Messages<'_> {
    Messages {
        payload,
        offset: 0,
        pending: None,
        done: payload.is_empty(),
    }
}

/// Iterator over the messages of one payload; see [`messages`].
///
/// Each step advances by a NextCommand of at least 64 bytes or stops, so the walk ends after
/// at most `len / 64 + 2` items whatever the bytes say.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    payload: &'a [u8],
    offset: usize,
    pending: Option<Smb2Error>,
    done: bool,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Smb2Message<'a>, Smb2Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(err) = self.pending.take() {
            return Some(Err(err));
        }
        if self.done {
            return None;
        }
        let rest = self.payload.get(self.offset..).unwrap_or_default();
        let header = match Smb2Header::parse(rest) {
            Ok(h) => h,
            Err(e) => {
                self.done = true;
                return Some(Err(shift(e, self.offset)));
            }
        };
        let next = header.next_command as usize;
        let end = if next == 0 {
            rest.len()
        } else {
            next.min(rest.len())
        };
        let bytes = rest.get(..end).unwrap_or(rest);
        let message = Smb2Message {
            offset: self.offset,
            header,
            bytes,
            body: parse_body(&header, bytes),
        };
        if next == 0 {
            self.done = true;
        } else if next < HEADER_LEN {
            self.done = true;
            self.pending = Some(Smb2Error::Invalid {
                what: "NextCommand",
                offset: self.offset.saturating_add(field::NEXT_COMMAND.start),
                value: u64::from(header.next_command),
            });
        } else if next >= rest.len() {
            self.done = true;
            self.pending = Some(Smb2Error::Truncated {
                what: "compounded message",
                offset: self.offset.saturating_add(next),
                needed: next.saturating_add(MIN_LAX_LEN),
                available: rest.len(),
            });
        } else {
            self.offset = self.offset.saturating_add(next);
        }
        Some(Ok(message))
    }
}

/// Parses a single message that starts at the beginning of `bytes` and ends with it.
pub fn parse_message(bytes: &[u8]) -> Result<Smb2Message<'_>, Smb2Error> {
    let header = Smb2Header::parse(bytes)?;
    Ok(Smb2Message {
        offset: 0,
        header,
        bytes,
        body: parse_body(&header, bytes),
    })
}

fn shift(err: Smb2Error, by: usize) -> Smb2Error {
    match err {
        Smb2Error::Truncated {
            what,
            offset,
            needed,
            available,
        } => Smb2Error::Truncated {
            what,
            offset: offset.saturating_add(by),
            needed,
            available,
        },
        Smb2Error::BadMagic { offset } => Smb2Error::BadMagic {
            offset: offset.saturating_add(by),
        },
        Smb2Error::Invalid {
            what,
            offset,
            value,
        } => Smb2Error::Invalid {
            what,
            offset: offset.saturating_add(by),
            value,
        },
    }
}

/// Whether a response carries the ERROR body instead of the command's own. Status alone does
/// not decide it: MORE_PROCESSING_REQUIRED on SESSION_SETUP and BUFFER_OVERFLOW on the
/// data-returning commands come with the normal body ([MS-SMB2] 3.3.4.4).
fn is_error_response(header: &Smb2Header) -> bool {
    if !header.is_response() || header.status == NtStatus::STATUS_SUCCESS {
        return false;
    }
    match header.status {
        NtStatus::STATUS_MORE_PROCESSING_REQUIRED => header.command != Smb2Command::SESSION_SETUP,
        NtStatus::STATUS_BUFFER_OVERFLOW => !matches!(
            header.command,
            Smb2Command::READ
                | Smb2Command::IOCTL
                | Smb2Command::QUERY_INFO
                | Smb2Command::QUERY_DIRECTORY
                | Smb2Command::CHANGE_NOTIFY
        ),
        _ => true,
    }
}

/// ERROR bodies have StructureSize 9.
const ERROR_STRUCTURE_SIZE: u16 = 9;

fn parse_body<'a>(header: &Smb2Header, msg: &'a [u8]) -> Result<Body<'a>, Smb2Error> {
    let response = header.is_response();
    if is_error_response(header) {
        // An error status with a body of another shape (rare; e.g. IOCTL with data) falls
        // through to the command's own parser.
        let structure_size = leading(msg, preceded(take(HEADER_LEN), le_u16));
        if structure_size == Some(ERROR_STRUCTURE_SIZE) || msg.len() <= HEADER_LEN {
            return ErrorResponse::parse(msg).map(Body::Error);
        }
    }
    match (header.command, response) {
        (Smb2Command::NEGOTIATE, false) => NegotiateRequest::parse(msg).map(Body::NegotiateRequest),
        (Smb2Command::NEGOTIATE, true) => {
            NegotiateResponse::parse(msg).map(Body::NegotiateResponse)
        }
        (Smb2Command::SESSION_SETUP, false) => {
            SessionSetupRequest::parse(msg).map(Body::SessionSetupRequest)
        }
        (Smb2Command::SESSION_SETUP, true) => {
            SessionSetupResponse::parse(msg).map(Body::SessionSetupResponse)
        }
        (Smb2Command::TREE_CONNECT, false) => {
            TreeConnectRequest::parse(msg).map(Body::TreeConnectRequest)
        }
        (Smb2Command::TREE_CONNECT, true) => {
            TreeConnectResponse::parse(msg).map(Body::TreeConnectResponse)
        }
        (Smb2Command::READ, true) => ReadResponse::parse(msg).map(Body::ReadResponse),
        (Smb2Command::WRITE, false) => WriteRequest::parse(msg).map(Body::WriteRequest),
        _ => Ok(Body::HeaderOnly),
    }
}

/// A variable buffer given by (offset from the header start, length). An empty buffer is
/// fine wherever its offset points; a non-empty one must not overlap the header.
fn buffer<'a>(
    msg: &'a [u8],
    offset: usize,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], Smb2Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if offset < HEADER_LEN {
        return Err(Smb2Error::Invalid {
            what,
            offset,
            value: offset as u64,
        });
    }
    Ok(bytes_at(msg, offset, len, what)?)
}

impl From<Short> for Smb2Error {
    fn from(s: Short) -> Self {
        Smb2Error::Truncated {
            what: s.what,
            offset: s.offset,
            needed: s.needed,
            available: s.available,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::proto::test_hex as hex;

    // ../shared/captures/zeek/smb1-misnamed.pcap frame 1: a compounded CREATE + QUERY_INFO +
    // CLOSE request (NextCommand 0x98, 0x68, 0), without the 4-byte Direct-TCP header.
    const COMPOUND: &str = "fe534d4240000100000000000500000108000000980000006d07000000000000\
        fffe000001000000310000000004000070e64a7da9d54c55983812e3859ae768\
        39000000020000000000000000000000000000000000000080001000800000000700000001000000\
        000000007800000080000000180000000000000000000000000000001000040000000000000000004d78\
        416300000000fe534d424000010000000000100000010c000000680000006e07000000000000fffe\
        0000010000003100000000040000b538b460d245d64f16a339f832971d242900011264040000000000\
        00000000000000000000000000fffffffffffffffffffffffffffffffffe534d42400001000000000006\
        0000010c000000000000006f07000000000000fffe00000100000031000000000400001ff971cc5ccd\
        f7275cdc142d85b798851800000000000000ffffffffffffffffffffffffffffffff";

    #[test]
    fn compound_walk() {
        let bytes = hex(COMPOUND);
        let items: Vec<_> = messages(&bytes).collect();
        assert_eq!(items.len(), 3);
        let cmds: Vec<_> = items
            .iter()
            .map(|m| m.as_ref().unwrap().header.command)
            .collect();
        assert_eq!(
            cmds,
            vec![
                Smb2Command::CREATE,
                Smb2Command::QUERY_INFO,
                Smb2Command::CLOSE
            ]
        );
        let second = items[1].as_ref().unwrap();
        assert_eq!(second.offset, 0x98);
        assert!(second.header.is_related());
        assert_eq!(second.header.message_id, 0x76e);
        assert_eq!(second.bytes.len(), 0x68);
        assert_eq!(second.body, Ok(Body::HeaderOnly));
    }

    #[test]
    fn next_command_shorter_than_a_header_is_an_error_item() {
        let mut bytes = hex(COMPOUND);
        bytes[20] = 0x10;
        let items: Vec<_> = messages(&bytes).collect();
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        assert!(matches!(
            items[1],
            Err(Smb2Error::Invalid {
                what: "NextCommand",
                offset: 20,
                value: 0x10
            })
        ));
    }

    #[test]
    fn next_command_past_the_end_is_an_error_item() {
        let bytes = hex(COMPOUND);
        let items: Vec<_> = messages(&bytes[..0x98 + 0x60]).collect();
        assert_eq!(items.len(), 3);
        assert_eq!(items[1].as_ref().unwrap().bytes.len(), 0x60);
        assert!(items[2].as_ref().unwrap_err().is_truncated());
    }

    #[test]
    fn garbage_after_a_message_is_an_error_item() {
        let mut bytes = hex(COMPOUND);
        bytes[0x98] = 0;
        let items: Vec<_> = messages(&bytes).collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1], Err(Smb2Error::BadMagic { offset: 0x98 }));
    }

    // ../shared/captures/lab/smb-tree-bad-name-snaplen128.pcap frame 19: TREE_CONNECT
    // response cut by the snaplen inside the header; status must survive.
    #[test]
    fn snaplen_cut_message_keeps_header_and_reports_truncated_body() {
        let bytes = hex("fe534d4240000100cc0000c003000100190000000000000006000000000000000000000000000000518cc92f\
            00000000a25aa4c8d30e051b9655");
        let items: Vec<_> = messages(&bytes).collect();
        assert_eq!(items.len(), 1);
        let m = items[0].as_ref().unwrap();
        assert_eq!(m.header.status, NtStatus::STATUS_BAD_NETWORK_NAME);
        assert!(m.body.as_ref().unwrap_err().is_truncated());
    }

    #[test]
    fn pdu_dispatch() {
        assert!(matches!(
            parse_pdu(&hex(COMPOUND)),
            Ok(Smb2Pdu::Messages(_))
        ));
        assert_eq!(
            parse_pdu(b"\xffSMB").unwrap_err(),
            Smb2Error::BadMagic { offset: 0 }
        );
        assert!(parse_pdu(b"\xfe").unwrap_err().is_truncated());
        assert_eq!(messages(&[]).count(), 0);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_payloads_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = parse_pdu(&data);
            let _ = parse_message(&data);
            let n = messages(&data).count();
            proptest::prop_assert!(n <= data.len() / HEADER_LEN + 2);
        }

        #[test]
        fn arbitrary_bodies_never_panic(
            command in 0u16..20,
            flags in 0u32..16,
            status in proptest::sample::select(vec![0u32, 0xC000_0016, 0x8000_0005, 0xC000_00CC]),
            next in proptest::sample::select(vec![0u32, 8, 64, 72, 200]),
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..300),
        ) {
            let mut msg = hex(COMPOUND)[..HEADER_LEN].to_vec();
            msg[8..12].copy_from_slice(&status.to_le_bytes());
            msg[12..14].copy_from_slice(&command.to_le_bytes());
            msg[16..20].copy_from_slice(&flags.to_le_bytes());
            msg[20..24].copy_from_slice(&next.to_le_bytes());
            msg.extend(&body);
            let n = messages(&msg).count();
            proptest::prop_assert!(n <= msg.len() / HEADER_LEN + 2);
            let _ = parse_message(&msg);
        }
    }
}
