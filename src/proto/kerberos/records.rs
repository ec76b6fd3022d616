//! The seven Kerberos messages of RFC 4120 §5 that a connection setup involves, as structs
//! that borrow the input.
//!
//! Contract: each parser takes the contents of one message's outer SEQUENCE and returns the
//! fields a diagnosis needs. Ciphertext (ticket and reply `enc-part`, authenticators) is
//! never copied: only its etype, kvno and length are kept. Fields that RFC 4120 marks
//! OPTIONAL are `Option`; trailing fields this crate does not use are skipped unread.

use std::borrow::Cow;
use std::fmt;

use super::codes::{ApOptions, EType, KdcOptions, KrbMsgType, PaDataType};
use super::error_code::KrbErrorCode;
use super::KrbError;
use crate::proto::asn1::{Element, Reader, Tag};

/// A Kerberos timestamp, in whole seconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KerberosTime(pub i64);

fn time(element: Element<'_>, what: &'static str) -> Result<KerberosTime, KrbError> {
    Ok(KerberosTime(element.generalized_time(what)?))
}

/// A PrincipalName: its name-type and components, borrowed when they are valid UTF-8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrincipalName<'a> {
    pub name_type: i32,
    pub components: Vec<Cow<'a, str>>,
}

impl fmt::Display for PrincipalName<'_> {
    /// Components joined with `/`, e.g. `cifs/files.corp.example`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.components.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(part)?;
        }
        Ok(())
    }
}

fn principal_name<'a>(
    element: Element<'a>,
    what: &'static str,
) -> Result<PrincipalName<'a>, KrbError> {
    let mut seq = element.sequence(what)?;
    let name_type = seq.field(0, "name-type")?.int32("name-type")?;
    let components = seq
        .field(1, "name-string")?
        .sequence("name-string")?
        .each("name-string", |t| t.string("name-string component"))?;
    Ok(PrincipalName {
        name_type,
        components,
    })
}

/// One PA-DATA element; the value stays raw until asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaData<'a> {
    pub padata_type: PaDataType,
    pub value: &'a [u8],
}

/// One ETYPE-INFO2-ENTRY (RFC 4120 §5.2.7.5): what key the KDC expects the client to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtypeInfo2Entry<'a> {
    pub etype: EType,
    pub salt: Option<Cow<'a, str>>,
    pub s2kparams: Option<&'a [u8]>,
}

/// [MS-KILE] §2.2.1 KERB-EXT-ERROR: Windows' extended error, carrying an NTSTATUS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KerbExtError {
    /// An NTSTATUS ([MS-ERREF] §2.3); another module owns the name table.
    pub status: u32,
    pub reserved: u32,
    pub flags: u32,
}

impl KerbExtError {
    /// Decodes the 12-byte little-endian structure; `None` for any other length.
    pub fn parse(bytes: &[u8]) -> Option<KerbExtError> {
        let [s0, s1, s2, s3, r0, r1, r2, r3, f0, f1, f2, f3]: [u8; 12] = bytes.try_into().ok()?;
        Some(KerbExtError {
            status: u32::from_le_bytes([s0, s1, s2, s3]),
            reserved: u32::from_le_bytes([r0, r1, r2, r3]),
            flags: u32::from_le_bytes([f0, f1, f2, f3]),
        })
    }
}

impl<'a> PaData<'a> {
    /// The ETYPE-INFO2 entries, or `None` when this is not PA-ETYPE-INFO2.
    pub fn etype_info2(&self) -> Option<Result<Vec<EtypeInfo2Entry<'a>>, KrbError>> {
        (self.padata_type == PaDataType::PA_ETYPE_INFO2).then(|| {
            Reader::new(self.value)
                .expect(Tag::SEQUENCE, "ETYPE-INFO2")?
                .contents()
                .each("ETYPE-INFO2-ENTRY", |entry| {
                    let mut seq = entry.sequence("ETYPE-INFO2-ENTRY")?;
                    Ok(EtypeInfo2Entry {
                        etype: EType(seq.field(0, "etype")?.int32("etype")?),
                        salt: seq
                            .opt_field(1, "salt")?
                            .map(|t| t.string("salt"))
                            .transpose()?,
                        s2kparams: seq
                            .opt_field(2, "s2kparams")?
                            .map(|t| t.octets("s2kparams"))
                            .transpose()?,
                    })
                })
        })
    }

    /// Windows' and Samba's habit of returning a KERB-EXT-ERROR in a PA-PW-SALT of an
    /// error's METHOD-DATA. A real salt is text, so the structure is only believed when it
    /// has the exact size, a zero reserved word and the "status valid" flag.
    pub fn ext_error(&self) -> Option<KerbExtError> {
        if self.padata_type != PaDataType::PA_PW_SALT {
            return None;
        }
        KerbExtError::parse(self.value).filter(|e| e.reserved == 0 && e.flags & 1 == 1)
    }
}

fn pa_data_list<'a>(element: Element<'a>, what: &'static str) -> Result<Vec<PaData<'a>>, KrbError> {
    element.sequence(what)?.each(what, |item| {
        let mut seq = item.sequence("PA-DATA")?;
        Ok(PaData {
            padata_type: PaDataType(seq.field(1, "padata-type")?.int32("padata-type")?),
            value: seq.field(2, "padata-value")?.octets("padata-value")?,
        })
    })
}

/// EncryptedData without its ciphertext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncryptedPart {
    pub etype: EType,
    pub kvno: Option<u32>,
    pub cipher_len: usize,
}

fn encrypted_part(element: Element<'_>, what: &'static str) -> Result<EncryptedPart, KrbError> {
    let mut seq = element.sequence(what)?;
    Ok(EncryptedPart {
        etype: EType(seq.field(0, "etype")?.int32("etype")?),
        kvno: seq
            .opt_field(1, "kvno")?
            .map(|t| t.uint32("kvno"))
            .transpose()?,
        cipher_len: seq.field(2, "cipher")?.octets("cipher")?.len(),
    })
}

/// A Ticket (RFC 4120 §5.3): who it is for; its encrypted part stays opaque.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket<'a> {
    pub tkt_vno: u32,
    pub realm: Cow<'a, str>,
    pub sname: PrincipalName<'a>,
    pub enc_part: EncryptedPart,
}

fn ticket<'a>(element: Element<'a>) -> Result<Ticket<'a>, KrbError> {
    const TICKET: Tag = Tag::application(1);
    if element.tag != TICKET {
        return Err(KrbError::UnexpectedTag {
            what: "Ticket",
            offset: element.offset,
            expected: TICKET,
            found: element.tag,
        });
    }
    let mut seq = element
        .contents()
        .expect(Tag::SEQUENCE, "Ticket")?
        .contents();
    Ok(Ticket {
        tkt_vno: seq.field(0, "tkt-vno")?.uint32("tkt-vno")?,
        realm: seq.field(1, "ticket realm")?.string("ticket realm")?,
        sname: principal_name(seq.field(2, "ticket sname")?, "ticket sname")?,
        enc_part: encrypted_part(seq.field(3, "ticket enc-part")?, "ticket enc-part")?,
    })
}

/// Reads `pvno` and `msg-type` and checks the latter against the APPLICATION tag, because
/// a disagreement means the bytes are not what the tag claims.
fn header(seq: &mut Reader<'_>, pvno_tag: u32, expected: KrbMsgType) -> Result<u32, KrbError> {
    let pvno = seq.field(pvno_tag, "pvno")?.uint32("pvno")?;
    let offset = seq.offset();
    let msg_type = seq.field(pvno_tag + 1, "msg-type")?.uint32("msg-type")?;
    if msg_type != expected.0 {
        return Err(KrbError::InvalidValue {
            what: "msg-type",
            offset,
            reason: "disagrees with the APPLICATION tag",
        });
    }
    Ok(pvno)
}

/// KDC-REQ-BODY (RFC 4120 §5.4.1), without addresses, authorization data and additional
/// tickets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdcReqBody<'a> {
    pub kdc_options: KdcOptions,
    pub cname: Option<PrincipalName<'a>>,
    pub realm: Cow<'a, str>,
    pub sname: Option<PrincipalName<'a>>,
    pub from: Option<KerberosTime>,
    pub till: KerberosTime,
    pub rtime: Option<KerberosTime>,
    pub nonce: u32,
    pub etypes: Vec<EType>,
}

/// AS-REQ or TGS-REQ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdcReq<'a> {
    pub pvno: u32,
    pub padata: Vec<PaData<'a>>,
    pub body: KdcReqBody<'a>,
}

impl<'a> KdcReq<'a> {
    /// Whether the request carries pre-authentication (see [`PaDataType::is_preauth`]).
    pub fn has_preauth(&self) -> bool {
        self.padata.iter().any(|p| p.padata_type.is_preauth())
    }

    /// The AP-REQ a TGS-REQ authenticates with (PA-TGS-REQ), parsed on demand; its ticket
    /// names the TGT's realm.
    pub fn tgs_ap_req(&self) -> Option<Result<ApReq<'a>, KrbError>> {
        let pa = self
            .padata
            .iter()
            .find(|p| p.padata_type == PaDataType::PA_TGS_REQ)?;
        Some(match super::parse_message(pa.value) {
            Ok(super::KrbMessage::ApReq(ap)) => Ok(ap),
            Ok(_) => Err(KrbError::InvalidValue {
                what: "PA-TGS-REQ",
                offset: 0,
                reason: "does not hold an AP-REQ",
            }),
            Err(e) => Err(e),
        })
    }
}

pub(super) fn kdc_req<'a>(mut seq: Reader<'a>, kind: KrbMsgType) -> Result<KdcReq<'a>, KrbError> {
    let pvno = header(&mut seq, 1, kind)?;
    let padata = seq
        .opt_field(3, "padata")?
        .map(|t| pa_data_list(t, "padata"))
        .transpose()?
        .unwrap_or_default();
    let mut b = seq.field(4, "req-body")?.sequence("req-body")?;
    let body = KdcReqBody {
        kdc_options: KdcOptions(b.field(0, "kdc-options")?.flags32("kdc-options")?),
        cname: b
            .opt_field(1, "cname")?
            .map(|t| principal_name(t, "cname"))
            .transpose()?,
        realm: b.field(2, "realm")?.string("realm")?,
        sname: b
            .opt_field(3, "sname")?
            .map(|t| principal_name(t, "sname"))
            .transpose()?,
        from: b
            .opt_field(4, "from")?
            .map(|t| time(t, "from"))
            .transpose()?,
        till: time(b.field(5, "till")?, "till")?,
        rtime: b
            .opt_field(6, "rtime")?
            .map(|t| time(t, "rtime"))
            .transpose()?,
        nonce: b.field(7, "nonce")?.uint32_lenient("nonce")?,
        etypes: b
            .field(8, "etype")?
            .sequence("etype")?
            .each("etype", |t| t.int32("etype").map(EType))?,
    };
    Ok(KdcReq { pvno, padata, body })
}

/// AS-REP or TGS-REP, without the encrypted reply part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdcRep<'a> {
    pub pvno: u32,
    pub padata: Vec<PaData<'a>>,
    pub crealm: Cow<'a, str>,
    pub cname: PrincipalName<'a>,
    pub ticket: Ticket<'a>,
    pub enc_part: EncryptedPart,
}

pub(super) fn kdc_rep<'a>(mut seq: Reader<'a>, kind: KrbMsgType) -> Result<KdcRep<'a>, KrbError> {
    let pvno = header(&mut seq, 0, kind)?;
    Ok(KdcRep {
        pvno,
        padata: seq
            .opt_field(2, "padata")?
            .map(|t| pa_data_list(t, "padata"))
            .transpose()?
            .unwrap_or_default(),
        crealm: seq.field(3, "crealm")?.string("crealm")?,
        cname: principal_name(seq.field(4, "cname")?, "cname")?,
        ticket: ticket(seq.field(5, "ticket")?)?,
        enc_part: encrypted_part(seq.field(6, "enc-part")?, "enc-part")?,
    })
}

/// AP-REQ (RFC 4120 §5.5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApReq<'a> {
    pub pvno: u32,
    pub ap_options: ApOptions,
    pub ticket: Ticket<'a>,
    pub authenticator: EncryptedPart,
}

pub(super) fn ap_req(mut seq: Reader<'_>) -> Result<ApReq<'_>, KrbError> {
    let pvno = header(&mut seq, 0, KrbMsgType::AP_REQ)?;
    Ok(ApReq {
        pvno,
        ap_options: ApOptions(seq.field(2, "ap-options")?.flags32("ap-options")?),
        ticket: ticket(seq.field(3, "ticket")?)?,
        authenticator: encrypted_part(seq.field(4, "authenticator")?, "authenticator")?,
    })
}

/// AP-REP (RFC 4120 §5.5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApRep {
    pub pvno: u32,
    pub enc_part: EncryptedPart,
}

pub(super) fn ap_rep(mut seq: Reader<'_>) -> Result<ApRep, KrbError> {
    let pvno = header(&mut seq, 0, KrbMsgType::AP_REP)?;
    Ok(ApRep {
        pvno,
        enc_part: encrypted_part(seq.field(2, "enc-part")?, "enc-part")?,
    })
}

/// [MS-KILE] §2.2.2 KERB-ERROR-DATA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KerbErrorData<'a> {
    pub data_type: i32,
    pub data_value: Option<&'a [u8]>,
}

impl KerbErrorData<'_> {
    /// KERB_AP_ERR_TYPE_SKEW_RECOVERY: the server attempted clock-skew recovery.
    pub const SKEW_RECOVERY: i32 = 2;
    /// KERB_ERR_TYPE_EXTENDED: `data-value` is a KERB-EXT-ERROR.
    pub const EXTENDED: i32 = 3;

    /// The KERB-EXT-ERROR of an extended error.
    pub fn ext_error(&self) -> Option<KerbExtError> {
        if self.data_type != Self::EXTENDED {
            return None;
        }
        KerbExtError::parse(self.data_value?)
    }
}

/// What a KRB-ERROR's `e-data` turned out to hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EData<'a> {
    /// METHOD-DATA (RFC 4120 §5.9.1): the PA-DATA the KDC offers or expects.
    MethodData(Vec<PaData<'a>>),
    /// Microsoft's KERB-ERROR-DATA.
    KerbErrorData(KerbErrorData<'a>),
    /// Neither shape; only the raw bytes are kept.
    Opaque,
}

/// Tells METHOD-DATA (a SEQUENCE OF SEQUENCE) from KERB-ERROR-DATA (a SEQUENCE whose first
/// element is `[1]`) by the first inner tag; both are tried strictly, so a decoding that
/// fails leaves the e-data opaque rather than failing the whole message.
fn e_data(raw: &[u8]) -> EData<'_> {
    decode_e_data(raw).unwrap_or(EData::Opaque)
}

fn decode_e_data(raw: &[u8]) -> Result<EData<'_>, KrbError> {
    let outer = Reader::new(raw).expect(Tag::SEQUENCE, "e-data")?;
    if outer.contents().peek_tag() == Some(Tag::SEQUENCE) {
        return pa_data_list(outer, "METHOD-DATA").map(EData::MethodData);
    }
    let mut seq = outer.contents();
    Ok(EData::KerbErrorData(KerbErrorData {
        data_type: seq.field(1, "data-type")?.int32("data-type")?,
        data_value: seq
            .opt_field(2, "data-value")?
            .map(|t| t.octets("data-value"))
            .transpose()?,
    }))
}

/// KRB-ERROR (RFC 4120 §5.9.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KrbErrorMessage<'a> {
    pub pvno: u32,
    pub ctime: Option<KerberosTime>,
    pub cusec: Option<u32>,
    pub stime: KerberosTime,
    pub susec: u32,
    pub error_code: KrbErrorCode,
    pub crealm: Option<Cow<'a, str>>,
    pub cname: Option<PrincipalName<'a>>,
    pub realm: Cow<'a, str>,
    pub sname: PrincipalName<'a>,
    pub e_text: Option<Cow<'a, str>>,
    /// The raw `e-data` octets, borrowed.
    pub e_data_raw: Option<&'a [u8]>,
    pub e_data: Option<EData<'a>>,
}

impl KrbErrorMessage<'_> {
    /// The NTSTATUS a Windows or Samba KDC attached, from KERB-ERROR-DATA or from a
    /// PA-PW-SALT in METHOD-DATA.
    pub fn nt_status(&self) -> Option<u32> {
        match self.e_data.as_ref()? {
            EData::KerbErrorData(d) => d.ext_error().map(|e| e.status),
            EData::MethodData(list) => list.iter().find_map(|p| p.ext_error()).map(|e| e.status),
            EData::Opaque => None,
        }
    }

    /// The PA-DATA types offered in METHOD-DATA e-data (empty for other e-data).
    pub fn padata_types(&self) -> Vec<PaDataType> {
        match &self.e_data {
            Some(EData::MethodData(list)) => list.iter().map(|p| p.padata_type).collect(),
            _ => Vec::new(),
        }
    }
}

pub(super) fn krb_error(mut seq: Reader<'_>) -> Result<KrbErrorMessage<'_>, KrbError> {
    let pvno = header(&mut seq, 0, KrbMsgType::KRB_ERROR)?;
    let ctime = seq
        .opt_field(2, "ctime")?
        .map(|t| time(t, "ctime"))
        .transpose()?;
    let cusec = seq
        .opt_field(3, "cusec")?
        .map(|t| t.uint32("cusec"))
        .transpose()?;
    let stime = time(seq.field(4, "stime")?, "stime")?;
    let susec = seq.field(5, "susec")?.uint32("susec")?;
    let error_code = KrbErrorCode(seq.field(6, "error-code")?.int32("error-code")?);
    let crealm = seq
        .opt_field(7, "crealm")?
        .map(|t| t.string("crealm"))
        .transpose()?;
    let cname = seq
        .opt_field(8, "cname")?
        .map(|t| principal_name(t, "cname"))
        .transpose()?;
    let realm = seq.field(9, "realm")?.string("realm")?;
    let sname = principal_name(seq.field(10, "sname")?, "sname")?;
    let e_text = seq
        .opt_field(11, "e-text")?
        .map(|t| t.string("e-text"))
        .transpose()?;
    let e_data_raw = seq
        .opt_field(12, "e-data")?
        .map(|t| t.octets("e-data"))
        .transpose()?;
    Ok(KrbErrorMessage {
        pvno,
        ctime,
        cusec,
        stime,
        susec,
        error_code,
        crealm,
        cname,
        realm,
        sname,
        e_text,
        e_data_raw,
        e_data: e_data_raw.map(e_data),
    })
}
