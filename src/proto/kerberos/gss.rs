//! The GSS-API Kerberos V5 context token (RFC 2743 §3.1, RFC 4121 §4.1) that SPNEGO carries
//! in SMB SESSION_SETUP security buffers.
//!
//! Contract: [`parse_gss_krb5`] takes one mechanism token and returns the mechanism, the
//! 2-byte token id and the inner [`KrbMessage`], borrowing the input. A token that starts
//! directly with an AP-REQ, AP-REP or KRB-ERROR is accepted too, because some servers put the
//! bare message in SPNEGO's responseToken. Error offsets count from the start of the token.

use std::fmt;

use super::{parse_message_in, KrbError, KrbMessage};
use crate::proto::asn1::{Class, Reader, Tag};
use crate::proto::code_table::code_table;

/// Which Kerberos OID named the mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Krb5Mech {
    /// 1.2.840.113554.1.2.2 (RFC 1964).
    Krb5,
    /// 1.2.840.48018.1.2.2, the OID older Windows versions announce.
    MsKrb5,
    /// 1.3.6.1.5.2.5, IAKERB, which macOS clients and servers use with the same token ids.
    Iakerb,
}

impl Krb5Mech {
    /// DER contents of each OID.
    const KRB5_OID: &'static [u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
    const MS_KRB5_OID: &'static [u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
    const IAKERB_OID: &'static [u8] = &[0x2b, 0x06, 0x01, 0x05, 0x02, 0x05];

    fn from_oid(oid: &[u8]) -> Option<Krb5Mech> {
        match oid {
            Self::KRB5_OID => Some(Krb5Mech::Krb5),
            Self::MS_KRB5_OID => Some(Krb5Mech::MsKrb5),
            Self::IAKERB_OID => Some(Krb5Mech::Iakerb),
            _ => None,
        }
    }
}

impl fmt::Display for Krb5Mech {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Krb5Mech::Krb5 => "1.2.840.113554.1.2.2",
            Krb5Mech::MsKrb5 => "1.2.840.48018.1.2.2",
            Krb5Mech::Iakerb => "1.3.6.1.5.2.5",
        })
    }
}

/// The 2-byte TOK_ID after the mechanism OID, read big-endian (RFC 4121 §4.1 writes the
/// AP-REQ id as the octets `01 00`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GssTokId(pub u16);

code_table!(GssTokId, unknown = "{}", {
    AP_REQ = 0x0100 => "KRB_AP_REQ",
    AP_REP = 0x0200 => "KRB_AP_REP",
    ERROR = 0x0300 => "KRB_ERROR",
    /// User-to-user TGT request ([MS-KILE] §3.3.5.7.2).
    TGT_REQ = 0x0400 => "KERB_TGT_REQUEST",
    TGT_REP = 0x0401 => "KERB_TGT_REPLY",
});

/// A krb5 mechanism token and the message inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GssKrb5Token<'a> {
    /// `None` for a bare message without the GSS framing.
    pub mech: Option<Krb5Mech>,
    /// `None` for a bare message without the GSS framing.
    pub tok_id: Option<GssTokId>,
    pub message: KrbMessage<'a>,
}

/// Parses a krb5 mechanism token (see the module contract).
pub fn parse_gss_krb5(input: &[u8]) -> Result<GssKrb5Token<'_>, KrbError> {
    const WRAPPER: Tag = Tag::application(0);
    let mut der = Reader::new(input);
    let first = der.peek_tag();
    if first.is_some_and(|t| t.class == Class::Application && t != WRAPPER) {
        return Ok(GssKrb5Token {
            mech: None,
            tok_id: None,
            message: parse_message_in(der)?,
        });
    }
    let mut inner = der
        .expect(WRAPPER, "GSS-API InitialContextToken")?
        .contents();
    let oid_offset = inner.offset();
    let oid = inner.expect(Tag::OID, "GSS-API mechanism OID")?;
    let mech =
        Krb5Mech::from_oid(oid.content).ok_or(KrbError::NotKrb5Mechanism { offset: oid_offset })?;
    let tok_offset = inner.offset();
    let tok_id = match inner.take_raw(2) {
        Some(&[hi, lo]) => GssTokId(u16::from_be_bytes([hi, lo])),
        _ => {
            return Err(KrbError::Truncated {
                what: "GSS-API krb5 token id",
                offset: tok_offset,
            })
        }
    };
    if !matches!(
        tok_id,
        GssTokId::AP_REQ | GssTokId::AP_REP | GssTokId::ERROR
    ) {
        return Err(KrbError::UnsupportedToken { tok_id });
    }
    Ok(GssKrb5Token {
        mech: Some(mech),
        tok_id: Some(tok_id),
        message: parse_message_in(inner)?,
    })
}
