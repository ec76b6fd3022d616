//! SMB1 (CIFS) messages, only as far as SMB2 setup analysis needs them ([MS-CIFS] 2.2.3.1,
//! 2.2.4.52, [MS-SMB] 2.2.4.5-6): the 32-byte header (command, status, flags, ids), the
//! multi-protocol NEGOTIATE request (dialect strings such as "NT LM 0.12", "SMB 2.002",
//! "SMB 2.???") and its response's DialectIndex (0xFFFF = no common dialect), and the
//! security blob of extended-security SESSION_SETUP_ANDX. Other commands: header only.
//!
//! Contract: [`parse`] takes one session-service payload starting at `\xffSMB`. The header
//! must be complete; the body is a `Result` of its own (lax, like the SMB2 parser), so a cut
//! message still yields command and status. Strings are borrowed (`Cow`, lossy), blobs are
//! borrowed slices.

use std::borrow::Cow;

use nom::bytes::complete::{tag, take, take_until};
use nom::multi::many0;
use nom::number::complete::{le_u16, le_u32, u8};
use nom::sequence::{delimited, preceded};
use nom::Parser;
use thiserror::Error;

use crate::proto::code_table::code_table;
use crate::proto::ntstatus::NtStatus;
use crate::proto::wire::{field, leading, offset_of, NomErr, Short};

/// `\xffSMB`.
pub const PROTOCOL_ID: [u8; 4] = [0xFF, b'S', b'M', b'B'];
/// Header length.
pub const HEADER_LEN: usize = 32;

/// FLAGS2 bit: the status field is an NTSTATUS, not a DOS class/code pair.
pub const FLAGS2_NT_STATUS: u16 = 0x4000;
/// FLAGS2 bit: strings are UTF-16LE.
pub const FLAGS2_UNICODE: u16 = 0x8000;
/// FLAGS2 bit: extended security (SPNEGO blobs in SESSION_SETUP_ANDX).
pub const FLAGS2_EXTENDED_SECURITY: u16 = 0x0800;
/// FLAGS2 bit: signatures required.
pub const FLAGS2_SECURITY_SIGNATURE_REQUIRED: u16 = 0x0010;
/// FLAGS bit: this is a reply.
pub const FLAGS_REPLY: u8 = 0x80;

/// Errors of the SMB1 parser; offsets count from `\xffSMB`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Smb1Error {
    #[error("SMB1: bad protocol id")]
    BadMagic,
    #[error("SMB1: {what} at offset {offset} needs {needed} bytes, {available} available")]
    Truncated {
        what: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
}

impl Smb1Error {
    /// True when more bytes might have made the parse succeed.
    pub fn is_truncated(&self) -> bool {
        matches!(self, Smb1Error::Truncated { .. })
    }
}

/// SMB1 command code (open enumeration).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Smb1Command(pub u8);

// Names as [MS-CIFS] gives them, without `SMB_COM_`.
code_table!(Smb1Command, unknown = "{:#04x}", {
    CLOSE = 0x04,
    TRANSACTION = 0x25,
    ECHO = 0x2B,
    READ_ANDX = 0x2E,
    WRITE_ANDX = 0x2F,
    TRANSACTION2 = 0x32,
    TREE_DISCONNECT = 0x71,
    NEGOTIATE = 0x72,
    SESSION_SETUP_ANDX = 0x73,
    LOGOFF_ANDX = 0x74,
    TREE_CONNECT_ANDX = 0x75,
    NT_CREATE_ANDX = 0xA2,
});

/// The header's status field, whose form FLAGS2_NT_STATUS selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Smb1Status {
    Nt(NtStatus),
    /// Pre-NT error class and code (e.g. ERRDOS/ERRnoaccess).
    Dos {
        class: u8,
        code: u16,
    },
}

impl Smb1Status {
    /// True for NT success or DOS class 0.
    pub fn is_success(&self) -> bool {
        match self {
            Smb1Status::Nt(s) => *s == NtStatus::STATUS_SUCCESS,
            Smb1Status::Dos { class, .. } => *class == 0,
        }
    }
}

/// SMB1 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb1Header {
    pub command: Smb1Command,
    pub status: Smb1Status,
    pub flags: u8,
    pub flags2: u16,
    /// PIDHigh << 16 | PIDLow.
    pub pid: u32,
    pub tid: u16,
    pub uid: u16,
    pub mid: u16,
}

impl Smb1Header {
    /// FLAGS_REPLY.
    pub fn is_response(&self) -> bool {
        self.flags & FLAGS_REPLY != 0
    }
}

/// SMB1 message body, decoded where setup analysis needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Smb1Body<'a> {
    /// The client's dialect strings in order (DialectIndex counts into this list).
    NegotiateRequest { dialects: Vec<Cow<'a, str>> },
    /// The chosen index; 0xFFFF means none was acceptable.
    NegotiateResponse { word_count: u8, dialect_index: u16 },
    /// Extended-security SESSION_SETUP_ANDX request (WordCount 12).
    SessionSetupRequest { security_blob: &'a [u8] },
    /// Extended-security SESSION_SETUP_ANDX response (WordCount 4).
    SessionSetupResponse {
        action: u16,
        security_blob: &'a [u8],
    },
    /// Any other command or form: the raw parameter words and data bytes.
    Other {
        word_count: u8,
        words: &'a [u8],
        bytes: &'a [u8],
    },
}

/// One SMB1 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smb1Message<'a> {
    pub header: Smb1Header,
    pub body: Result<Smb1Body<'a>, Smb1Error>,
}

/// "No common dialect" in a NEGOTIATE response.
pub const NO_DIALECT: u16 = 0xFFFF;

/// Parses one SMB1 message.
pub fn parse(buf: &[u8]) -> Result<Smb1Message<'_>, Smb1Error> {
    // A header the message ends inside is one error at its start, whichever field it ends in.
    let short = |_: NomErr<'_>| Smb1Error::from(Short::at(buf, 0, HEADER_LEN, "SMB1 header"));
    let (rest, magic) = take(PROTOCOL_ID.len()).parse(buf).map_err(short)?;
    if magic != PROTOCOL_ID {
        return Err(Smb1Error::BadMagic);
    }
    let (body, (command, status, flags, flags2, pid_high, _signature, _reserved)) =
        (u8, le_u32, u8, le_u16, le_u16, take(8usize), le_u16)
            .parse(rest)
            .map_err(short)?;
    let (body, (tid, pid_low, uid, mid)) = (le_u16, le_u16, le_u16, le_u16)
        .parse(body)
        .map_err(short)?;
    let status = if flags2 & FLAGS2_NT_STATUS != 0 {
        Smb1Status::Nt(NtStatus(status))
    } else {
        // ErrorClass, a reserved byte, then the 16-bit ErrorCode.
        Smb1Status::Dos {
            class: status as u8,
            code: (status >> 16) as u16,
        }
    };
    let header = Smb1Header {
        command: Smb1Command(command),
        status,
        flags,
        flags2,
        pid: (u32::from(pid_high) << 16) | u32::from(pid_low),
        tid,
        uid,
        mid,
    };
    Ok(Smb1Message {
        header,
        body: parse_body(&header, buf, body),
    })
}

/// `body` is what follows the header in `buf`.
fn parse_body<'a>(
    header: &Smb1Header,
    buf: &'a [u8],
    body: &'a [u8],
) -> Result<Smb1Body<'a>, Smb1Error> {
    let (rest, word_count) = field(buf, body, "SMB1 WordCount", 1, u8)?;
    let words_len = usize::from(word_count) * 2;
    let (rest, words) = field(
        buf,
        rest,
        "SMB1 parameter words",
        words_len,
        take(words_len),
    )?;
    let (rest, byte_count) = field(buf, rest, "SMB1 ByteCount", 2, le_u16)?;
    let byte_count = usize::from(byte_count);
    let bytes_at = offset_of(buf, rest);
    let (_, bytes) = field(buf, rest, "SMB1 data bytes", byte_count, take(byte_count))?;
    let response = header.is_response();
    let extended = header.flags2 & FLAGS2_EXTENDED_SECURITY != 0;
    // The blob leads the data bytes; its length is a parameter word, never trusted.
    let security_blob = |len: u16| {
        let len = usize::from(len);
        take(len)
            .parse(bytes)
            .map(|(_, blob)| blob)
            .map_err(|_: NomErr<'_>| Smb1Error::Truncated {
                what: "SESSION_SETUP_ANDX security blob",
                offset: bytes_at,
                needed: len,
                available: bytes.len(),
            })
    };
    Ok(match (header.command, response, word_count) {
        (Smb1Command::NEGOTIATE, false, _) => Smb1Body::NegotiateRequest {
            dialects: dialect_strings(bytes),
        },
        (Smb1Command::NEGOTIATE, true, 1..) => Smb1Body::NegotiateResponse {
            word_count,
            dialect_index: word(words, 0),
        },
        (Smb1Command::SESSION_SETUP_ANDX, false, 12) if extended => Smb1Body::SessionSetupRequest {
            security_blob: security_blob(word(words, 7))?,
        },
        (Smb1Command::SESSION_SETUP_ANDX, true, 4) if extended => Smb1Body::SessionSetupResponse {
            action: word(words, 2),
            security_blob: security_blob(word(words, 3))?,
        },
        _ => Smb1Body::Other {
            word_count,
            words,
            bytes,
        },
    })
}

/// Parameter word `n`; the callers have checked WordCount, so the 0 for a missing word is
/// never what they get.
fn word(words: &[u8], n: usize) -> u16 {
    leading(words, preceded(take(n.saturating_mul(2)), le_u16)).unwrap_or_default()
}

/// Splits `0x02 "name" 0x00` entries; stops at the first entry without a terminator.
fn dialect_strings(bytes: &[u8]) -> Vec<Cow<'_, str>> {
    // BufferFormat 0x02 marks a dialect string; anything else ends the list.
    let dialect = delimited(tag(&[0x02][..]), take_until(&[0][..]), tag(&[0][..]))
        .map(String::from_utf8_lossy);
    many0(dialect)
        .parse(bytes)
        .map_or_else(|_: NomErr<'_>| Vec::new(), |(_, dialects)| dialects)
}

impl From<Short> for Smb1Error {
    fn from(s: Short) -> Self {
        Smb1Error::Truncated {
            what: s.what,
            offset: s.offset,
            needed: s.needed,
            available: s.available,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::test_hex as hex;

    #[test]
    fn command_table_names_every_entry() {
        crate::proto::code_table::assert_names_round_trip(Smb1Command::ALL, Smb1Command::name);
        assert_eq!(Smb1Command::NT_CREATE_ANDX.to_string(), "NT_CREATE_ANDX");
        assert_eq!(Smb1Command(0x0a).to_string(), "0x0a");
    }

    #[test]
    fn negotiate_request_offering_smb2() {
        // ../shared/captures/lab/smb1-negotiate-upgrade.pcap frame 4 (Direct-TCP header
        // removed): smbclient's multi-protocol NEGOTIATE.
        let msg = hex(
            "ff534d4272000000001843c80000000000000000000000000000feff0000000000310002\
            4e54204c414e4d414e20312e3000024e54204c4d20302e31320002534d4220322e3030320002534d4220\
            322e3f3f3f00",
        );
        let m = parse(&msg).unwrap();
        assert_eq!(m.header.command, Smb1Command::NEGOTIATE);
        assert!(!m.header.is_response());
        assert_eq!(m.header.status, Smb1Status::Nt(NtStatus::STATUS_SUCCESS));
        assert_eq!(m.header.pid, 0xfffe);
        let Ok(Smb1Body::NegotiateRequest { dialects }) = m.body else {
            panic!("{:?}", m.body)
        };
        assert_eq!(
            dialects,
            vec!["NT LANMAN 1.0", "NT LM 0.12", "SMB 2.002", "SMB 2.???"]
        );
    }

    #[test]
    fn negotiate_response_without_common_dialect() {
        // ../shared/captures/lab/smb1-only-client-refused.pcap frame 6: the SMB2-only server
        // answers an NT1-only client with DialectIndex 0xFFFF.
        let msg = hex("ff534d4272000000008803c00000000000000000000000000000feff0000000001ffff0000");
        let m = parse(&msg).unwrap();
        assert!(m.header.is_response());
        assert!(m.header.status.is_success());
        assert_eq!(
            m.body,
            Ok(Smb1Body::NegotiateResponse {
                word_count: 1,
                dialect_index: NO_DIALECT
            })
        );
    }

    // ../shared/captures/zeek/raw_ntlm_in_smb.pcap frame 20: SESSION_SETUP_ANDX response
    // with STATUS_MORE_PROCESSING_REQUIRED and a bare NTLMSSP CHALLENGE blob (first 60 bytes
    // of the message kept, the blob cut: the parse must report truncation, not fail).
    #[test]
    fn session_setup_response_cut() {
        let msg = hex(
            "ff534d4273160000c08801c8000000000000000000000000ffff01000008010004ff005f01\
            0000ea0034014e544c4d53535000020000001e001e0038000000",
        );
        let m = parse(&msg).unwrap();
        assert_eq!(m.header.command, Smb1Command::SESSION_SETUP_ANDX);
        assert_eq!(
            m.header.status,
            Smb1Status::Nt(NtStatus::STATUS_MORE_PROCESSING_REQUIRED)
        );
        assert_eq!(m.header.uid, 0x0800);
        assert!(m.body.unwrap_err().is_truncated());
    }

    #[test]
    fn session_setup_request_blob() {
        // ../shared/captures/zeek/raw_ntlm_in_smb.pcap frame 19: extended-security request
        // carrying a bare NTLMSSP NEGOTIATE.
        let msg = hex("ff534d4273000000000801c8000000000000000000000000ffff0100000001000cff000000\
            04110a000700000000002800000000005cc000805f004e544c4d535350000100000005028862000000000000\
            000000000000000000000601b01d0f000000004d006100630020004f005300200058002000310030002e00\
            31003000000053004d00420046005300200033002e0030002e0030000000");
        let m = parse(&msg).unwrap();
        let Ok(Smb1Body::SessionSetupRequest { security_blob }) = m.body else {
            panic!("{:?}", m.body)
        };
        assert_eq!(security_blob.len(), 0x28);
        assert!(security_blob.starts_with(b"NTLMSSP\0"));
    }

    #[test]
    fn dos_status_and_errors() {
        let mut msg =
            hex("ff534d4272000000008803c00000000000000000000000000000feff0000000001ffff0000");
        msg[10] = 0; // FLAGS2 without NT_STATUS
        msg[11] = 0;
        msg[5] = 1;
        msg[7] = 5;
        let m = parse(&msg).unwrap();
        assert_eq!(m.header.status, Smb1Status::Dos { class: 1, code: 5 });
        assert!(!m.header.status.is_success());
        assert_eq!(parse(b"\xfeSMB0000"), Err(Smb1Error::BadMagic));
        assert!(parse(b"\xffSMB").unwrap_err().is_truncated());
        assert!(parse(&msg[..33]).unwrap().body.unwrap_err().is_truncated());
        assert_eq!(dialect_strings(b"\x02abc"), Vec::<Cow<str>>::new());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse(&data);
            let mut m = PROTOCOL_ID.to_vec();
            m.extend(&data);
            let _ = parse(&m);
            let _ = dialect_strings(&data);
        }
    }
}
