//! Kerberos V5 record parsers (RFC 4120), for KDC traffic on port 88 and for the krb5
//! tokens carried in SMB security buffers.
//!
//! Contract:
//! - [`parse_message`] takes the bytes of one DER-encoded message (one UDP payload, one TCP
//!   record without its marker, or a GSS inner token) and returns a [`KrbMessage`] that
//!   borrows them: AS-REQ, AS-REP, TGS-REQ, TGS-REP, AP-REQ, AP-REP or KRB-ERROR. Anything
//!   else, and any malformed input, is a [`KrbError`] naming the field and its offset.
//! - [`tcp_record_len`] reads the 4-byte record marker a caller needs to frame a TCP stream;
//!   records over [`MAX_RECORD_LEN`] are refused so a stream never makes us buffer more.
//! - [`parse_gss_krb5`] unwraps the GSS-API krb5 token (RFC 4121 §4.1) a SPNEGO parser hands
//!   over, or takes a bare message.
//! - [`KrbErrorCode`], [`KrbMsgType`], [`PaDataType`] and [`EType`] are open newtypes: unknown
//!   numbers survive and print. [`classify_error`] is SPEC §5's pre-authentication rule.
//! - Memory and safety: no ciphertext is copied (only its etype, kvno and length are kept);
//!   lengths are checked before use; indefinite and over-long lengths are rejected; parsing
//!   follows the fixed RFC 4120 schema without recursing into unknown content, so nesting depth
//!   is bounded by the schema and never by the input. No input can make these functions panic.

mod classify;
mod codes;
mod error_code;
mod gss;
mod records;

use thiserror::Error;

pub use crate::proto::asn1::{Class, Tag};
pub use classify::{classify_error, ErrorClass};
pub use codes::{ApOptions, EType, KdcOptions, KrbMsgType, PaDataType};
pub use error_code::KrbErrorCode;
pub use gss::{parse_gss_krb5, GssKrb5Token, GssTokId, Krb5Mech};
pub use records::{
    ApRep, ApReq, EData, EncryptedPart, EtypeInfo2Entry, KdcRep, KdcReq, KdcReqBody, KerbErrorData,
    KerbExtError, KerberosTime, KrbErrorMessage, PaData, PrincipalName, Ticket,
};

use crate::proto::asn1::{self, Reader};

/// Why a Kerberos message or record could not be parsed. Offsets count from the start of
/// the bytes handed to the public function.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KrbError {
    #[error("Kerberos {what} at offset {offset}: input ends inside the element")]
    Truncated { what: &'static str, offset: usize },
    #[error("Kerberos {what} at offset {offset}: length {len} runs past the {available} bytes of its parent")]
    LengthOverrun {
        what: &'static str,
        offset: usize,
        len: usize,
        available: usize,
    },
    #[error("Kerberos {what} at offset {offset}: indefinite length is not DER")]
    IndefiniteLength { what: &'static str, offset: usize },
    #[error("Kerberos {what} at offset {offset}: length field of {octets} octets is too long")]
    LengthTooLong {
        what: &'static str,
        offset: usize,
        octets: u8,
    },
    #[error("Kerberos {what} at offset {offset}: expected {expected}, found {found}")]
    UnexpectedTag {
        what: &'static str,
        offset: usize,
        expected: Tag,
        found: Tag,
    },
    #[error("Kerberos {what} at offset {offset}: required field missing")]
    Missing { what: &'static str, offset: usize },
    #[error("Kerberos {what} at offset {offset}: {reason}")]
    InvalidValue {
        what: &'static str,
        offset: usize,
        reason: &'static str,
    },
    #[error("Kerberos message at offset {offset}: {found} is not a message this parser handles")]
    UnsupportedMessage { offset: usize, found: Tag },
    #[error("Kerberos TCP record marker: length {len} exceeds the {cap}-byte cap")]
    RecordTooLong { len: usize, cap: usize },
    #[error("Kerberos TCP record marker {marker:#010x}: reserved high bit is set")]
    RecordReservedBit { marker: u32 },
    #[error("GSS-API token at offset {offset}: mechanism is not Kerberos V5")]
    NotKrb5Mechanism { offset: usize },
    #[error("GSS-API krb5 token: token id {tok_id} does not carry a Kerberos message")]
    UnsupportedToken { tok_id: GssTokId },
}

/// The schema walk's errors are this module's own, variant for variant.
impl From<asn1::Error> for KrbError {
    fn from(e: asn1::Error) -> KrbError {
        match e {
            asn1::Error::Truncated { what, offset } => KrbError::Truncated { what, offset },
            asn1::Error::LengthOverrun {
                what,
                offset,
                len,
                available,
            } => KrbError::LengthOverrun {
                what,
                offset,
                len,
                available,
            },
            asn1::Error::IndefiniteLength { what, offset } => {
                KrbError::IndefiniteLength { what, offset }
            }
            asn1::Error::LengthTooLong {
                what,
                offset,
                octets,
            } => KrbError::LengthTooLong {
                what,
                offset,
                octets,
            },
            asn1::Error::UnexpectedTag {
                what,
                offset,
                expected,
                found,
            } => KrbError::UnexpectedTag {
                what,
                offset,
                expected,
                found,
            },
            asn1::Error::Missing { what, offset } => KrbError::Missing { what, offset },
            asn1::Error::InvalidValue {
                what,
                offset,
                reason,
            } => KrbError::InvalidValue {
                what,
                offset,
                reason,
            },
        }
    }
}

/// One parsed Kerberos message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KrbMessage<'a> {
    AsReq(KdcReq<'a>),
    AsRep(KdcRep<'a>),
    TgsReq(KdcReq<'a>),
    TgsRep(KdcRep<'a>),
    ApReq(ApReq<'a>),
    ApRep(ApRep),
    Error(KrbErrorMessage<'a>),
}

impl<'a> KrbMessage<'a> {
    pub fn msg_type(&self) -> KrbMsgType {
        match self {
            KrbMessage::AsReq(_) => KrbMsgType::AS_REQ,
            KrbMessage::AsRep(_) => KrbMsgType::AS_REP,
            KrbMessage::TgsReq(_) => KrbMsgType::TGS_REQ,
            KrbMessage::TgsRep(_) => KrbMsgType::TGS_REP,
            KrbMessage::ApReq(_) => KrbMsgType::AP_REQ,
            KrbMessage::ApRep(_) => KrbMsgType::AP_REP,
            KrbMessage::Error(_) => KrbMsgType::KRB_ERROR,
        }
    }

    /// The error code of a KRB-ERROR.
    pub fn error_code(&self) -> Option<KrbErrorCode> {
        match self {
            KrbMessage::Error(e) => Some(e.error_code),
            _ => None,
        }
    }

    /// The client: the request body's cname, the reply's cname or the error's cname.
    pub fn cname(&self) -> Option<&PrincipalName<'a>> {
        match self {
            KrbMessage::AsReq(r) | KrbMessage::TgsReq(r) => r.body.cname.as_ref(),
            KrbMessage::AsRep(r) | KrbMessage::TgsRep(r) => Some(&r.cname),
            KrbMessage::Error(e) => e.cname.as_ref(),
            KrbMessage::ApReq(_) | KrbMessage::ApRep(_) => None,
        }
    }

    /// The service: what a request asks for, whom a ticket is for, or the error's sname.
    pub fn sname(&self) -> Option<&PrincipalName<'a>> {
        match self {
            KrbMessage::AsReq(r) | KrbMessage::TgsReq(r) => r.body.sname.as_ref(),
            KrbMessage::AsRep(r) | KrbMessage::TgsRep(r) => Some(&r.ticket.sname),
            KrbMessage::ApReq(r) => Some(&r.ticket.sname),
            KrbMessage::Error(e) => Some(&e.sname),
            KrbMessage::ApRep(_) => None,
        }
    }

    /// The service's realm, chosen like [`KrbMessage::sname`].
    pub fn realm(&self) -> Option<&str> {
        match self {
            KrbMessage::AsReq(r) | KrbMessage::TgsReq(r) => Some(&r.body.realm),
            KrbMessage::AsRep(r) | KrbMessage::TgsRep(r) => Some(&r.ticket.realm),
            KrbMessage::ApReq(r) => Some(&r.ticket.realm),
            KrbMessage::Error(e) => Some(&e.realm),
            KrbMessage::ApRep(_) => None,
        }
    }
}

/// Parses one DER Kerberos message. Bytes after the message are ignored.
pub fn parse_message(input: &[u8]) -> Result<KrbMessage<'_>, KrbError> {
    parse_message_in(Reader::new(input))
}

/// Parses the message at the reader's position, keeping offsets relative to the reader's
/// input (the GSS wrapper uses this so errors point into the whole token).
fn parse_message_in(mut der: Reader<'_>) -> Result<KrbMessage<'_>, KrbError> {
    let outer = der.read("message")?;
    if outer.tag.class != Class::Application || !outer.tag.constructed {
        return Err(KrbError::UnsupportedMessage {
            offset: outer.offset,
            found: outer.tag,
        });
    }
    let kind = KrbMsgType(outer.tag.number);
    let what = kind.name().unwrap_or("message");
    let seq = || -> Result<Reader<'_>, KrbError> {
        Ok(outer.contents().expect(Tag::SEQUENCE, what)?.contents())
    };
    Ok(match kind {
        KrbMsgType::AS_REQ => KrbMessage::AsReq(records::kdc_req(seq()?, kind)?),
        KrbMsgType::TGS_REQ => KrbMessage::TgsReq(records::kdc_req(seq()?, kind)?),
        KrbMsgType::AS_REP => KrbMessage::AsRep(records::kdc_rep(seq()?, kind)?),
        KrbMsgType::TGS_REP => KrbMessage::TgsRep(records::kdc_rep(seq()?, kind)?),
        KrbMsgType::AP_REQ => KrbMessage::ApReq(records::ap_req(seq()?)?),
        KrbMsgType::AP_REP => KrbMessage::ApRep(records::ap_rep(seq()?)?),
        KrbMsgType::KRB_ERROR => KrbMessage::Error(records::krb_error(seq()?)?),
        _ => {
            return Err(KrbError::UnsupportedMessage {
                offset: outer.offset,
                found: outer.tag,
            })
        }
    })
}

/// Size of the TCP record marker (RFC 4120 §7.2.2).
pub const RECORD_MARKER_LEN: usize = 4;
/// Largest TCP record accepted. Real messages stay well under 64 KiB even with big PACs;
/// the cap bounds what a caller buffers while waiting for a record to complete.
pub const MAX_RECORD_LEN: usize = 1 << 20;

/// Reads a TCP record marker: `None` until 4 bytes are available, else the length of the
/// message that follows the marker (the record spans `RECORD_MARKER_LEN + len` bytes).
/// A set reserved bit or a length over [`MAX_RECORD_LEN`] is an error, after which the
/// stream cannot be framed.
pub fn tcp_record_len(input: &[u8]) -> Option<Result<usize, KrbError>> {
    let marker: [u8; RECORD_MARKER_LEN] = input.get(..RECORD_MARKER_LEN)?.try_into().ok()?;
    let marker = u32::from_be_bytes(marker);
    if marker & 0x8000_0000 != 0 {
        return Some(Err(KrbError::RecordReservedBit { marker }));
    }
    Some(match usize::try_from(marker) {
        Ok(len) if len <= MAX_RECORD_LEN => Ok(len),
        _ => Err(KrbError::RecordTooLong {
            len: usize::try_from(marker).unwrap_or(usize::MAX),
            cap: MAX_RECORD_LEN,
        }),
    })
}

#[cfg(test)]
mod tests;
