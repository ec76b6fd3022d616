//! GSS-API tokens as SMB carries them in security buffers: the InitialContextToken wrapper
//! (RFC 2743 3.1), SPNEGO negTokenInit/negTokenResp (RFC 4178, with Microsoft's NegTokenInit2
//! negHints from [MS-SPNG] 2.2.1), bare NTLMSSP, and bare Kerberos GSS tokens (RFC 4121 4.1).
//!
//! Contract: [`parse_security_blob`] classifies one buffer and decodes the SPNEGO layer;
//! mechanism tokens stay borrowed and are only classified ([`classify_mech_token`]):
//! NTLMSSP bytes go to `gss::ntlmssp`, Kerberos inner bytes (after the 2-byte tok_id) go to
//! `proto::kerberos`. Elements are read with der-parser (through `proto::asn1`) in exactly this
//! structure: the walk descends a fixed number of levels (never recursing on input), accepts
//! only definite lengths of at most 4 length bytes and single-octet tags, and checks every
//! length against the bytes present.

use thiserror::Error;

use super::ntlmssp;
use crate::proto::asn1::{self, ElementFault, HeaderFault};

/// SPNEGO, 1.3.6.1.5.5.2.
pub const OID_SPNEGO: &str = "1.3.6.1.5.5.2";
/// Kerberos V5, 1.2.840.113554.1.2.2.
pub const OID_KRB5: &str = "1.2.840.113554.1.2.2";
/// Microsoft's legacy Kerberos OID, 1.2.840.48018.1.2.2.
pub const OID_MS_KRB5: &str = "1.2.840.48018.1.2.2";
/// Kerberos user-to-user, 1.2.840.113554.1.2.2.3.
pub const OID_KRB5_U2U: &str = "1.2.840.113554.1.2.2.3";
/// IAKERB, 1.3.6.1.5.2.5: macOS (LKDC) wraps its krb5 AP-REQ/AP-REP tokens in this OID.
pub const OID_IAKERB: &str = "1.3.6.1.5.2.5";
/// NTLMSSP, 1.3.6.1.4.1.311.2.2.10.
pub const OID_NTLMSSP: &str = "1.3.6.1.4.1.311.2.2.10";
/// NEGOEX, 1.3.6.1.4.1.311.2.2.30.
pub const OID_NEGOEX: &str = "1.3.6.1.4.1.311.2.2.30";

/// Errors of the SPNEGO/GSS parser; offsets count from the start of the security buffer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SpnegoError {
    #[error("SPNEGO: {what} at offset {offset} needs {needed} bytes, {available} available")]
    Truncated {
        what: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("SPNEGO: {what} at offset {offset}: expected tag {expected:#04x}, found {found:#04x}")]
    UnexpectedTag {
        what: &'static str,
        offset: usize,
        expected: u8,
        found: u8,
    },
    /// Indefinite, over-long or multi-byte-tag encodings, which DER and these tokens never use.
    #[error("SPNEGO: unsupported encoding of {what} at offset {offset}")]
    BadEncoding { what: &'static str, offset: usize },
    /// Not a GSS-API, SPNEGO, NTLMSSP or Kerberos token.
    #[error("SPNEGO: unrecognised security buffer (first byte {0:#04x})")]
    Unrecognized(u8),
}

/// SPNEGO negState.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegState {
    AcceptCompleted,
    AcceptIncomplete,
    Reject,
    RequestMic,
    Other(u32),
}

impl NegState {
    fn from_value(v: u32) -> NegState {
        match v {
            0 => NegState::AcceptCompleted,
            1 => NegState::AcceptIncomplete,
            2 => NegState::Reject,
            3 => NegState::RequestMic,
            other => NegState::Other(other),
        }
    }
}

/// Kerberos token ids (RFC 4121 4.1, RFC 1964 1.1).
pub mod tok_id {
    pub const AP_REQ: u16 = 0x0100;
    pub const AP_REP: u16 = 0x0200;
    pub const KRB_ERROR: u16 = 0x0300;
}

/// A Kerberos GSS token: mechanism OID, token id and the Kerberos message after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KerberosToken<'a> {
    pub mech: String,
    /// See [`tok_id`].
    pub tok_id: u16,
    /// The DER Kerberos message (AP-REQ, AP-REP or KRB-ERROR) for `proto::kerberos`.
    pub inner: &'a [u8],
}

/// What a mechToken/responseToken holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MechToken<'a> {
    Ntlmssp(&'a [u8]),
    Kerberos(KerberosToken<'a>),
    /// Anything else (NEGOEX, raw Kerberos without GSS framing, unknown).
    Raw(&'a [u8]),
}

/// Microsoft negHints ([MS-SPNG] 2.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegHints<'a> {
    pub hint_name: Option<String>,
    pub hint_address: Option<&'a [u8]>,
}

/// negTokenInit (and NegTokenInit2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegTokenInit<'a> {
    /// Dotted OIDs, most preferred first.
    pub mech_types: Vec<String>,
    /// Content of the reqFlags BIT STRING (unused-bits byte included).
    pub req_flags: Option<&'a [u8]>,
    pub mech_token: Option<&'a [u8]>,
    pub neg_hints: Option<NegHints<'a>>,
    pub mech_list_mic: Option<&'a [u8]>,
}

impl<'a> NegTokenInit<'a> {
    /// Classifies the optimistic mechToken.
    pub fn mech_token_kind(&self) -> Option<MechToken<'a>> {
        self.mech_token.map(classify_mech_token)
    }
}

/// negTokenResp.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegTokenResp<'a> {
    pub neg_state: Option<NegState>,
    pub supported_mech: Option<String>,
    pub response_token: Option<&'a [u8]>,
    pub mech_list_mic: Option<&'a [u8]>,
}

impl<'a> NegTokenResp<'a> {
    /// Classifies the responseToken.
    pub fn response_token_kind(&self) -> Option<MechToken<'a>> {
        self.response_token.map(classify_mech_token)
    }
}

/// A classified security buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityBlob<'a> {
    /// Zero-length buffer (e.g. a NEGOTIATE response without a token).
    Empty,
    NegTokenInit(NegTokenInit<'a>),
    NegTokenResp(NegTokenResp<'a>),
    /// Bare NTLMSSP (SMB1 clients without SPNEGO).
    Ntlmssp(&'a [u8]),
    /// Bare Kerberos GSS token.
    Kerberos(KerberosToken<'a>),
    /// A GSS InitialContextToken for another mechanism.
    OtherGss {
        mech: String,
        inner: &'a [u8],
    },
}

/// Classifies and decodes one security buffer.
pub fn parse_security_blob(buf: &[u8]) -> Result<SecurityBlob<'_>, SpnegoError> {
    let Some(&first) = buf.first() else {
        return Ok(SecurityBlob::Empty);
    };
    if ntlmssp::is_ntlmssp(buf) {
        return Ok(SecurityBlob::Ntlmssp(buf));
    }
    match first {
        TAG_APPLICATION_0 => parse_gss(buf),
        TAG_CTX_0 | TAG_CTX_1 => parse_negotiation_token(buf, 0),
        other => Err(SpnegoError::Unrecognized(other)),
    }
}

/// Tells NTLMSSP and Kerberos tokens apart; never fails.
pub fn classify_mech_token(buf: &[u8]) -> MechToken<'_> {
    if ntlmssp::is_ntlmssp(buf) {
        return MechToken::Ntlmssp(buf);
    }
    if let Ok(SecurityBlob::Kerberos(k)) = parse_gss(buf) {
        return MechToken::Kerberos(k);
    }
    MechToken::Raw(buf)
}

const TAG_APPLICATION_0: u8 = 0x60;
const TAG_CTX_0: u8 = 0xA0;
const TAG_CTX_1: u8 = 0xA1;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_OID: u8 = 0x06;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_BIT_STRING: u8 = 0x03;
const TAG_ENUMERATED: u8 = 0x0A;
const TAG_GENERAL_STRING: u8 = 0x1B;

/// One DER element: its tag, content, and absolute offset.
#[derive(Debug, Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    offset: usize,
    content: &'a [u8],
    content_offset: usize,
}

/// Reads one element at the start of `buf` (which sits at absolute `base`); returns it and
/// the bytes after it. der-parser reads the header; its faults become this module's errors.
fn read_tlv<'a>(
    buf: &'a [u8],
    base: usize,
    what: &'static str,
) -> Result<(Tlv<'a>, &'a [u8]), SpnegoError> {
    let truncated = |at: usize, needed: usize| SpnegoError::Truncated {
        what,
        offset: base.saturating_add(at),
        needed,
        available: buf.len().saturating_sub(at),
    };
    let bad = SpnegoError::BadEncoding { what, offset: base };
    // These tokens never use the multi-octet tag form: refused before anything else.
    if buf.first().is_some_and(|&id| id & 0x1F == 0x1F) {
        return Err(bad);
    }
    match asn1::split_element(buf) {
        // Only a 32-bit target could fail to address the end of a 4-octet length.
        Ok((header, _, _)) if header.header_len.checked_add(header.len).is_none() => Err(bad),
        Ok((header, content, rest)) => Ok((
            Tlv {
                tag: header.identifier,
                offset: base,
                content,
                content_offset: base.saturating_add(header.header_len),
            },
            rest,
        )),
        // Cut in the identifier, the first length octet, or the length octets after it.
        Err(ElementFault::Header(HeaderFault::Truncated)) => Err(match buf.get(1) {
            _ if buf.is_empty() => truncated(0, 2),
            None => truncated(1, 1),
            Some(&first) => truncated(2, usize::from(first & 0x7F)),
        }),
        // The indefinite form, or a length field over 4 octets (over 4 GiB).
        Err(ElementFault::Header(_)) => Err(bad),
        Err(ElementFault::ContentOverrun {
            header_len, len, ..
        }) => Err(truncated(header_len, len)),
    }
}

/// Reads one element and requires its tag.
fn expect<'a>(
    buf: &'a [u8],
    base: usize,
    tag: u8,
    what: &'static str,
) -> Result<(Tlv<'a>, &'a [u8]), SpnegoError> {
    let (tlv, rest) = read_tlv(buf, base, what)?;
    if tlv.tag != tag {
        return Err(SpnegoError::UnexpectedTag {
            what,
            offset: base,
            expected: tag,
            found: tlv.tag,
        });
    }
    Ok((tlv, rest))
}

/// Iterates the elements of a constructed value's content. Each step consumes at least two
/// bytes or returns an error, so the walk is bounded by the content length.
fn elements<'a>(
    tlv: &Tlv<'a>,
    what: &'static str,
) -> impl Iterator<Item = Result<Tlv<'a>, SpnegoError>> {
    let mut rest = tlv.content;
    let mut base = tlv.content_offset;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || rest.is_empty() {
            return None;
        }
        match read_tlv(rest, base, what) {
            Ok((item, after)) => {
                base = base.saturating_add(rest.len().saturating_sub(after.len()));
                rest = after;
                Some(Ok(item))
            }
            Err(e) => {
                failed = true;
                Some(Err(e))
            }
        }
    })
}

/// Decodes an OID's content into dotted form.
fn oid_string(tlv: &Tlv<'_>) -> Result<String, SpnegoError> {
    let bad = SpnegoError::BadEncoding {
        what: "OID",
        offset: tlv.offset,
    };
    if tlv.content.is_empty() {
        return Err(bad);
    }
    let mut arcs: Vec<u64> = Vec::new();
    let mut value: u64 = 0;
    let mut bytes_in_arc = 0;
    for &b in tlv.content {
        // Nine 7-bit groups already exceed 63 bits; no real OID arc is that large.
        bytes_in_arc += 1;
        if bytes_in_arc > 9 {
            return Err(bad);
        }
        value = (value << 7) | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
            bytes_in_arc = 0;
        }
    }
    if bytes_in_arc != 0 {
        return Err(bad);
    }
    Ok(arcs
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join("."))
}

/// `[APPLICATION 0] { thisMech OID, innerContextToken }`.
fn parse_gss(buf: &[u8]) -> Result<SecurityBlob<'_>, SpnegoError> {
    let (outer, _) = expect(buf, 0, TAG_APPLICATION_0, "GSS InitialContextToken")?;
    let (oid, inner) = expect(outer.content, outer.content_offset, TAG_OID, "GSS mech OID")?;
    let mech = oid_string(&oid)?;
    let inner_offset = outer
        .content_offset
        .saturating_add(outer.content.len().saturating_sub(inner.len()));
    match mech.as_str() {
        OID_SPNEGO => parse_negotiation_token(inner, inner_offset),
        OID_KRB5 | OID_MS_KRB5 | OID_KRB5_U2U | OID_IAKERB => {
            let id = inner.get(..2).ok_or(SpnegoError::Truncated {
                what: "Kerberos tok_id",
                offset: inner_offset,
                needed: 2,
                available: inner.len(),
            })?;
            Ok(SecurityBlob::Kerberos(KerberosToken {
                mech,
                tok_id: u16::from_be_bytes([id[0], id[1]]),
                inner: inner.get(2..).unwrap_or_default(),
            }))
        }
        OID_NTLMSSP if ntlmssp::is_ntlmssp(inner) => Ok(SecurityBlob::Ntlmssp(inner)),
        _ => Ok(SecurityBlob::OtherGss { mech, inner }),
    }
}

/// `NegotiationToken ::= CHOICE { negTokenInit [0], negTokenResp [1] }`.
fn parse_negotiation_token(buf: &[u8], base: usize) -> Result<SecurityBlob<'_>, SpnegoError> {
    let (choice, _) = read_tlv(buf, base, "NegotiationToken")?;
    let (seq, _) = expect(
        choice.content,
        choice.content_offset,
        TAG_SEQUENCE,
        "NegotiationToken SEQUENCE",
    )?;
    match choice.tag {
        TAG_CTX_0 => parse_init(&seq).map(SecurityBlob::NegTokenInit),
        TAG_CTX_1 => parse_resp(&seq).map(SecurityBlob::NegTokenResp),
        found => Err(SpnegoError::UnexpectedTag {
            what: "NegotiationToken",
            offset: base,
            expected: TAG_CTX_0,
            found,
        }),
    }
}

/// The single element inside an explicit context tag, checked for its universal tag.
fn explicit<'a>(field: &Tlv<'a>, tag: u8, what: &'static str) -> Result<Tlv<'a>, SpnegoError> {
    expect(field.content, field.content_offset, tag, what).map(|(t, _)| t)
}

fn parse_init<'a>(seq: &Tlv<'a>) -> Result<NegTokenInit<'a>, SpnegoError> {
    let mut out = NegTokenInit::default();
    for field in elements(seq, "negTokenInit field") {
        let field = field?;
        match field.tag {
            0xA0 => {
                let list = explicit(&field, TAG_SEQUENCE, "mechTypes")?;
                for oid in elements(&list, "mechType") {
                    let oid = oid?;
                    if oid.tag == TAG_OID {
                        out.mech_types.push(oid_string(&oid)?);
                    }
                }
            }
            0xA1 => out.req_flags = Some(explicit(&field, TAG_BIT_STRING, "reqFlags")?.content),
            0xA2 => out.mech_token = Some(explicit(&field, TAG_OCTET_STRING, "mechToken")?.content),
            // RFC 4178 puts mechListMIC at [3]; Microsoft's NegTokenInit2 puts negHints there
            // and moves the MIC to [4]. The inner tag tells them apart.
            0xA3 => {
                let (inner, _) = read_tlv(field.content, field.content_offset, "negTokenInit [3]")?;
                if inner.tag == TAG_SEQUENCE {
                    out.neg_hints = Some(parse_hints(&inner)?);
                } else if inner.tag == TAG_OCTET_STRING {
                    out.mech_list_mic = Some(inner.content);
                }
            }
            0xA4 => {
                out.mech_list_mic = Some(explicit(&field, TAG_OCTET_STRING, "mechListMIC")?.content)
            }
            _ => {}
        }
    }
    Ok(out)
}

fn parse_hints<'a>(seq: &Tlv<'a>) -> Result<NegHints<'a>, SpnegoError> {
    let mut hints = NegHints {
        hint_name: None,
        hint_address: None,
    };
    for field in elements(seq, "negHints field") {
        let field = field?;
        match field.tag {
            0xA0 => {
                let name = explicit(&field, TAG_GENERAL_STRING, "hintName")?;
                hints.hint_name = Some(String::from_utf8_lossy(name.content).into_owned());
            }
            0xA1 => {
                hints.hint_address =
                    Some(explicit(&field, TAG_OCTET_STRING, "hintAddress")?.content)
            }
            _ => {}
        }
    }
    Ok(hints)
}

fn parse_resp<'a>(seq: &Tlv<'a>) -> Result<NegTokenResp<'a>, SpnegoError> {
    let mut out = NegTokenResp::default();
    for field in elements(seq, "negTokenResp field") {
        let field = field?;
        match field.tag {
            0xA0 => {
                let e = explicit(&field, TAG_ENUMERATED, "negState")?;
                // ENUMERATED values here are 0..3; longer encodings are kept as Other.
                let v = e
                    .content
                    .iter()
                    .take(4)
                    .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
                out.neg_state = Some(NegState::from_value(v));
            }
            0xA1 => {
                out.supported_mech = Some(oid_string(&explicit(&field, TAG_OID, "supportedMech")?)?)
            }
            0xA2 => {
                out.response_token =
                    Some(explicit(&field, TAG_OCTET_STRING, "responseToken")?.content)
            }
            0xA3 => {
                out.mech_list_mic = Some(explicit(&field, TAG_OCTET_STRING, "mechListMIC")?.content)
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
