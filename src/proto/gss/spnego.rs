//! GSS-API tokens as SMB carries them in security buffers: the InitialContextToken wrapper
//! (RFC 2743 3.1), SPNEGO negTokenInit/negTokenResp (RFC 4178, with Microsoft's NegTokenInit2
//! negHints from [MS-SPNG] 2.2.1), bare NTLMSSP, and bare Kerberos GSS tokens (RFC 4121 4.1).
//!
//! Contract: [`parse_security_blob`] classifies one buffer and decodes the SPNEGO layer;
//! mechanism tokens stay borrowed and are only classified ([`classify_mech_token`]):
//! NTLMSSP bytes go to `gss::ntlmssp`, Kerberos inner bytes (after the 2-byte tok_id) go to
//! `proto::kerberos`. The DER reader is hand-written for exactly this structure: it descends a
//! fixed number of levels (never recursing on input), accepts only definite lengths of at most
//! 4 length bytes, and checks every length against the bytes present.

use thiserror::Error;

use super::ntlmssp;

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
/// the bytes after it.
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
    let (&tag, rest) = buf.split_first().ok_or_else(|| truncated(0, 2))?;
    if tag & 0x1F == 0x1F {
        return Err(SpnegoError::BadEncoding { what, offset: base });
    }
    let (&first, rest) = rest.split_first().ok_or_else(|| truncated(1, 1))?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7F);
        // 0x80 is BER's indefinite form; over 4 length bytes means > 4 GiB.
        if n == 0 || n > 4 {
            return Err(SpnegoError::BadEncoding { what, offset: base });
        }
        let bytes = rest.get(..n).ok_or_else(|| truncated(2, n))?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, 2 + n)
    };
    let end = header
        .checked_add(len)
        .ok_or(SpnegoError::BadEncoding { what, offset: base })?;
    let content = buf.get(header..end).ok_or_else(|| truncated(header, len))?;
    Ok((
        Tlv {
            tag,
            offset: base,
            content,
            content_offset: base.saturating_add(header),
        },
        buf.get(end..).unwrap_or_default(),
    ))
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
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let clean: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
        clean
            .chunks(2)
            .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn negotiate_response_with_neg_hints() {
        // ../shared/captures/lab/smb-tree-bad-name.pcap frame 6: Samba's NEGOTIATE response
        // security buffer (NegTokenInit2 offering NTLMSSP, with the "please_ignore" hint).
        let blob = hex(
            "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa32a3028a026\
            1b246e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f7265",
        );
        let SecurityBlob::NegTokenInit(init) = parse_security_blob(&blob).unwrap() else {
            panic!()
        };
        assert_eq!(init.mech_types, vec![OID_NTLMSSP.to_string()]);
        assert_eq!(
            init.neg_hints.unwrap().hint_name.as_deref(),
            Some("not_defined_in_RFC4178@please_ignore")
        );
        assert_eq!(init.mech_token, None);
    }

    #[test]
    fn neg_token_init_with_ntlmssp() {
        // Same capture, frame 8: the client's SESSION_SETUP security buffer.
        let blob = hex(
            "604806062b0601050502a03e303ca00e300c060a2b06010401823702020aa22a04284e54\
            4c4d53535000010000001582086200000000280000000000000028000000060100000000000f",
        );
        let SecurityBlob::NegTokenInit(init) = parse_security_blob(&blob).unwrap() else {
            panic!()
        };
        assert_eq!(init.mech_types, vec![OID_NTLMSSP.to_string()]);
        let Some(MechToken::Ntlmssp(tok)) = init.mech_token_kind() else {
            panic!()
        };
        assert_eq!(tok.len(), 0x28);
    }

    #[test]
    fn neg_token_resp_with_challenge_and_completion() {
        // Same capture, frame 9 (prefix: negState accept-incomplete, supportedMech NTLMSSP,
        // responseToken holding the CHALLENGE) and frame 11 (accept-completed + MIC).
        let nine = hex(
            "a1819230818fa0030a0101a10c060a2b06010401823702020aa27a04784e544c4d53535000\
            02000000080008003800000015828a622488e19e270eedf100000000000000003800380040000000060100\
            000000000f4e00410053003100020008004e00410053003100010008004e00410053003100040000000300\
            08006e00610073003100070008003ad69578247edd0100000000",
        );
        let SecurityBlob::NegTokenResp(resp) = parse_security_blob(&nine).unwrap() else {
            panic!()
        };
        assert_eq!(resp.neg_state, Some(NegState::AcceptIncomplete));
        assert_eq!(resp.supported_mech.as_deref(), Some(OID_NTLMSSP));
        assert!(matches!(
            resp.response_token_kind(),
            Some(MechToken::Ntlmssp(t)) if t.len() == 0x78
        ));
        let eleven = hex("a11b3019a0030a0100a312041001000000e063fa9cf665f46000000000");
        let SecurityBlob::NegTokenResp(done) = parse_security_blob(&eleven).unwrap() else {
            panic!()
        };
        assert_eq!(done.neg_state, Some(NegState::AcceptCompleted));
        assert_eq!(done.mech_list_mic.map(<[u8]>::len), Some(16));
        assert_eq!(done.response_token, None);
    }

    #[test]
    fn kerberos_ap_req_in_neg_token_init() {
        // ../shared/captures/lab/ad-krb-smb-healthy.pcap frame 55: SESSION_SETUP security
        // buffer with a Kerberos AP-REQ for cifs/dc01.corp.example (hex in testdata).
        let blob = hex(include_str!(
            "../testdata/smb/ad-krb-smb-healthy-f55-spnego.hex"
        ));
        let SecurityBlob::NegTokenInit(init) = parse_security_blob(&blob).unwrap() else {
            panic!()
        };
        assert_eq!(
            init.mech_types,
            vec![OID_MS_KRB5.to_string(), OID_KRB5.to_string()]
        );
        let Some(MechToken::Kerberos(k)) = init.mech_token_kind() else {
            panic!()
        };
        assert_eq!(k.mech, OID_KRB5);
        assert_eq!(k.tok_id, tok_id::AP_REQ);
        assert_eq!(k.inner[0], 0x6e);
    }

    #[test]
    fn kerberos_ap_rep_under_iakerb_oid() {
        // ../shared/captures/suricata-verify/smb-length-5786.pcap frame 19: a macOS (LKDC)
        // server's SESSION_SETUP response; the AP-REP's GSS token names IAKERB, not krb5.
        let blob = hex(
            "a18201123082010ea0030a0101a281e60481e36081e006062b060105020502006f81d33081d0\
            a003020105a10302010fa27a3078a003020112a271046ff5cbd43e5b87fd5ac73de070752ba8\
            d62e5227688b998a9e192422ef96cf30f6c199426c3947f79a9b38f7e5ce12e795feb3d3358b\
            c7f68464a2b60c9a05e968373f75541978313adb0cec651412af0b327e239f4c3b9d3c9836a3\
            d2917d7701995fbac84f7f59a16689bd69d8724ea3483046a0173015a003020110a10e040ca4\
            59abb871f38b98ec02c11da12b3029a003020102a122042033a2175bd3b51614370906812d01\
            6c77255de4fd57fb4cfba2e0f172fc6c5261a31e041c040405ffffffffff0000000011ad28cf\
            9d1dd6dee5c3d97d679b1840",
        );
        let SecurityBlob::NegTokenResp(resp) = parse_security_blob(&blob).unwrap() else {
            panic!()
        };
        let Some(MechToken::Kerberos(k)) = resp.response_token_kind() else {
            panic!()
        };
        assert_eq!(k.mech, OID_IAKERB);
        assert_eq!(k.tok_id, tok_id::AP_REP);
        assert_eq!(k.inner[0], 0x6f);
    }

    #[test]
    fn kerberos_ap_rep_in_neg_token_resp() {
        // ../shared/captures/lab/ad-krb-smb-healthy.pcap frame 58: AP-REP, supportedMech is
        // Microsoft's Kerberos OID.
        let blob = hex(
            "a181b73081b4a0030a0100a10b06092a864882f712010202a2819f04819c60819906092a86\
            4886f71201020202006f8189308186a003020105a10302010fa27a3078a003020112a271046f056f604668\
            a8633defe82cc8004f2e02f24778cccedbb3bc3c5df513a07b7eeaf997a1066d19ac5704c1c95f37794\
            32fbaf5ab65332fd8dad118521de684974c2f90d4282d9b22aeaa1e5e1a27f89b74e9b87545dddce058dc\
            5a5246d83abff178a56c96f867af0b0003714d2357c1",
        );
        let SecurityBlob::NegTokenResp(resp) = parse_security_blob(&blob).unwrap() else {
            panic!()
        };
        assert_eq!(resp.neg_state, Some(NegState::AcceptCompleted));
        assert_eq!(resp.supported_mech.as_deref(), Some(OID_MS_KRB5));
        let Some(MechToken::Kerberos(k)) = resp.response_token_kind() else {
            panic!()
        };
        assert_eq!(k.tok_id, tok_id::AP_REP);
        assert_eq!(k.inner[0], 0x6f);
    }

    #[test]
    fn kerberos_error_in_neg_token_resp() {
        // ../shared/captures/lab/ad-krb-smb-apreq-skew.pcap frame 53: the server answers the
        // AP-REQ with a KRB-ERROR (KRB_AP_ERR_SKEW) inside SPNEGO.
        let blob = hex(
            "a18184308181a0030a0101a10b06092a864882f712010202a26d046b606906092a864886f7\
            1201020203007e5a3058a003020105a10302011ea411180f32303236313132373034303733325aa5050203\
            0084b3a603020125a90e1b0c434f52502e4558414d504c45aa123010a003020101a10930071b0544433031\
            24ac0904073005a103020102",
        );
        let SecurityBlob::NegTokenResp(resp) = parse_security_blob(&blob).unwrap() else {
            panic!()
        };
        let Some(MechToken::Kerberos(k)) = resp.response_token_kind() else {
            panic!()
        };
        assert_eq!(k.tok_id, tok_id::KRB_ERROR);
        assert_eq!(k.inner[0], 0x7e);
    }

    #[test]
    fn bare_tokens() {
        assert_eq!(parse_security_blob(&[]), Ok(SecurityBlob::Empty));
        let ntlm = b"NTLMSSP\0\x01\0\0\0";
        assert_eq!(
            parse_security_blob(ntlm),
            Ok(SecurityBlob::Ntlmssp(&ntlm[..]))
        );
        // A bare Kerberos GSS token: 1.2.840.113554.1.2.2, tok_id 0x0100, one content byte.
        let krb = hex("600e06092a864886f7120102020100ff");
        let Ok(SecurityBlob::Kerberos(k)) = parse_security_blob(&krb) else {
            panic!()
        };
        assert_eq!((k.tok_id, k.inner), (tok_id::AP_REQ, &[0xff][..]));
        assert_eq!(
            parse_security_blob(&[0x42]),
            Err(SpnegoError::Unrecognized(0x42))
        );
        assert_eq!(classify_mech_token(&[1, 2]), MechToken::Raw(&[1, 2]));
    }

    #[test]
    fn hostile_encodings() {
        // Length past the end.
        assert!(matches!(
            parse_security_blob(&hex("6010060604")),
            Err(SpnegoError::Truncated { .. })
        ));
        // Indefinite length and a 5-byte length.
        assert!(matches!(
            parse_security_blob(&hex("6080")),
            Err(SpnegoError::BadEncoding { .. })
        ));
        assert!(matches!(
            parse_security_blob(&hex("6085ffffffffff")),
            Err(SpnegoError::BadEncoding { .. })
        ));
        // Thousands of nested context tags: read as one element, never recursed into.
        let mut deep = Vec::new();
        for _ in 0..5000 {
            deep.extend([0xA1, 0x84, 0, 0, 0, 0]);
        }
        assert!(parse_security_blob(&deep).is_err());
        // An OID arc longer than 63 bits.
        assert!(parse_security_blob(&hex("600d060bffffffffffffffffff7f00")).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_security_blob(&data);
            let _ = classify_mech_token(&data);
            for prefix in [&[0x60u8][..], &[0xA0], &[0xA1], &[0x60, 0x82, 0x01, 0x00, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02]] {
                let mut m = prefix.to_vec();
                m.extend(&data);
                let _ = parse_security_blob(&m);
            }
        }
    }
}
