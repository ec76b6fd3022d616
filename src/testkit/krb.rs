//! Kerberos V5 message builders (RFC 4120 section 5, DER): AS-REQ, AS-REP, TGS-REQ, TGS-REP,
//! AP-REQ, AP-REP and KRB-ERROR, with the PA-DATA a Windows client and KDC exchange.
//!
//! Contract: each function returns one complete DER message as it travels in a UDP datagram,
//! after the TCP record marker ([`super::krb_tcp_frame`]) or inside a GSS krb5 token
//! ([`super::gss::krb5_token`]). Encrypted parts are well-formed EncryptedData whose cipher
//! octets are [`super::filler`] bytes of a realistic length; nothing is really encrypted.

use super::der::{self, app, ctx, int, seq};
use super::{filler, Timestamp};

/// Name types (RFC 4120 6.2).
pub mod name_type {
    pub const NT_PRINCIPAL: i32 = 1;
    pub const NT_SRV_INST: i32 = 2;
}

/// Encryption types used by the scenarios (RFC 3962, RFC 4757).
pub mod etype {
    pub const AES256_CTS_HMAC_SHA1_96: i32 = 18;
    pub const AES128_CTS_HMAC_SHA1_96: i32 = 17;
    pub const RC4_HMAC: i32 = 23;
    pub const RC4_HMAC_EXP: i32 = 24;
    /// Microsoft's legacy RC4-HMAC-OLD-EXP, which Windows still lists.
    pub const RC4_HMAC_OLD_EXP: i32 = -135;
}

/// The etypes a Windows 10/11 client offers, in its order.
pub const WINDOWS_ETYPES: [i32; 5] = [
    etype::AES256_CTS_HMAC_SHA1_96,
    etype::AES128_CTS_HMAC_SHA1_96,
    etype::RC4_HMAC,
    etype::RC4_HMAC_EXP,
    etype::RC4_HMAC_OLD_EXP,
];

/// Error codes used by the scenarios (RFC 4120 7.5.9).
pub mod error_code {
    pub const KDC_ERR_S_PRINCIPAL_UNKNOWN: i32 = 7;
    pub const KDC_ERR_PREAUTH_FAILED: i32 = 24;
    pub const KDC_ERR_PREAUTH_REQUIRED: i32 = 25;
    pub const KRB_AP_ERR_SKEW: i32 = 37;
    /// RFC 6113 5.2: the KDC needs another round of pre-authentication (FAST, SPAKE).
    pub const KDC_ERR_MORE_PREAUTH_DATA_REQUIRED: i32 = 91;
}

/// KDCOptions of a Windows AS-REQ: forwardable, renewable, canonicalize, renewable-ok.
pub const AS_OPTIONS: u32 = 0x4081_0010;
/// KDCOptions of a Windows TGS-REQ: forwardable, renewable, canonicalize.
pub const TGS_OPTIONS: u32 = 0x4081_0000;
/// APOptions with mutual-required, as SMB clients ask for.
pub const AP_MUTUAL_REQUIRED: u32 = 0x2000_0000;

/// The `till` Windows puts in every request: 2037-09-13 02:48:05 UTC.
const WINDOWS_TILL: &str = "20370913024805Z";

/// KerberosTime text (`YYYYMMDDHHMMSSZ`) of a timestamp.
pub fn krb_time(ts: Timestamp) -> String {
    let secs = ts.secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (proleptic Gregorian), valid for every date after 1970.
    let z = days as i64 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// PrincipalName (RFC 4120 5.2.2).
pub fn principal(name_type: i32, parts: &[&str]) -> Vec<u8> {
    let strings: Vec<Vec<u8>> = parts.iter().map(|p| der::general_string(p)).collect();
    seq(&[ctx(0, int(i64::from(name_type))), ctx(1, seq(&strings))])
}

/// EncryptedData (RFC 4120 5.2.9) with `len` bytes of stand-in cipher.
pub fn encrypted_data(etype: i32, kvno: Option<u32>, len: usize, seed: u32) -> Vec<u8> {
    let mut fields = vec![ctx(0, int(i64::from(etype)))];
    if let Some(k) = kvno {
        fields.push(ctx(1, int(i64::from(k))));
    }
    fields.push(ctx(2, der::octets(&filler(seed, len))));
    seq(&fields)
}

/// PA-DATA (RFC 4120 5.2.7).
pub fn pa_data(padata_type: i32, value: &[u8]) -> Vec<u8> {
    seq(&[
        ctx(1, int(i64::from(padata_type))),
        ctx(2, der::octets(value)),
    ])
}

/// PA-ENC-TIMESTAMP (2): the timestamp encrypted with the user's AES-256 key.
pub fn pa_enc_timestamp(seed: u32) -> Vec<u8> {
    pa_data(
        2,
        &encrypted_data(etype::AES256_CTS_HMAC_SHA1_96, None, 54, seed),
    )
}

/// PA-PAC-REQUEST (128, [MS-KILE] 2.2.3): include the PAC.
pub fn pa_pac_request() -> Vec<u8> {
    pa_data(128, &seq(&[ctx(0, der::boolean(true))]))
}

/// PA-TGS-REQ (1) carrying the AP-REQ that presents the TGT.
pub fn pa_tgs_req(ap_req: &[u8]) -> Vec<u8> {
    pa_data(1, ap_req)
}

/// ETYPE-INFO2 (RFC 4120 5.2.7.5) with one AES-256 entry and its salt.
pub fn etype_info2(salt: &str) -> Vec<u8> {
    seq(&[seq(&[
        ctx(0, int(i64::from(etype::AES256_CTS_HMAC_SHA1_96))),
        ctx(1, der::general_string(salt)),
    ])])
}

/// The METHOD-DATA e-data of a Windows KDC_ERR_PREAUTH_REQUIRED: ETYPE-INFO2, then the
/// pre-authentication methods it accepts (encrypted timestamp, PKINIT old and new).
pub fn preauth_required_e_data(salt: &str) -> Vec<u8> {
    seq(&[
        pa_data(19, &etype_info2(salt)),
        pa_data(2, &[]),
        pa_data(16, &[]),
        pa_data(15, &[]),
    ])
}

/// PA-FX-COOKIE (133, RFC 6113 5.2): KDC state that comes with
/// KDC_ERR_MORE_PREAUTH_DATA_REQUIRED and that the client copies into its next AS-REQ; opaque
/// to the client, so `len` filler bytes.
pub fn pa_fx_cookie(seed: u32, len: usize) -> Vec<u8> {
    pa_data(133, &filler(seed, len))
}

/// The METHOD-DATA e-data of a KDC_ERR_MORE_PREAUTH_DATA_REQUIRED: the cookie to echo, then
/// what the next round needs (ETYPE-INFO2 with the salt, encrypted timestamp).
pub fn more_preauth_e_data(salt: &str, cookie_seed: u32) -> Vec<u8> {
    seq(&[
        pa_fx_cookie(cookie_seed, 52),
        pa_data(19, &etype_info2(salt)),
        pa_data(2, &[]),
    ])
}

/// Ticket (RFC 4120 5.3) for `sname` in `realm`, its enc-part `cipher_len` bytes.
pub fn ticket(realm: &str, sname: &[&str], kvno: u32, cipher_len: usize, seed: u32) -> Vec<u8> {
    app(
        1,
        seq(&[
            ctx(0, int(5)),
            ctx(1, der::general_string(realm)),
            ctx(2, principal(name_type::NT_SRV_INST, sname)),
            ctx(
                3,
                encrypted_data(etype::AES256_CTS_HMAC_SHA1_96, Some(kvno), cipher_len, seed),
            ),
        ]),
    )
}

/// What a KDC request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdcReq<'a> {
    /// Encoded PA-DATA elements, in order.
    pub padata: Vec<Vec<u8>>,
    pub kdc_options: u32,
    /// The client: AS-REQ only.
    pub cname: Option<&'a str>,
    pub realm: &'a str,
    pub sname: &'a [&'a str],
    pub nonce: u32,
}

impl KdcReq<'_> {
    fn encode(&self, msg_type: u8) -> Vec<u8> {
        let mut body = vec![ctx(0, der::bit_string32(self.kdc_options))];
        if let Some(c) = self.cname {
            body.push(ctx(1, principal(name_type::NT_PRINCIPAL, &[c])));
        }
        body.push(ctx(2, der::general_string(self.realm)));
        body.push(ctx(3, principal(name_type::NT_SRV_INST, self.sname)));
        body.push(ctx(5, der::generalized_time(WINDOWS_TILL)));
        body.push(ctx(6, der::generalized_time(WINDOWS_TILL)));
        body.push(ctx(7, int(i64::from(self.nonce))));
        let etypes: Vec<Vec<u8>> = WINDOWS_ETYPES.iter().map(|&e| int(e.into())).collect();
        body.push(ctx(8, seq(&etypes)));
        let mut fields = vec![ctx(1, int(5)), ctx(2, int(i64::from(msg_type)))];
        if !self.padata.is_empty() {
            fields.push(ctx(3, seq(&self.padata)));
        }
        fields.push(ctx(4, seq(&body)));
        app(msg_type, seq(&fields))
    }
}

/// AS-REQ ([APPLICATION 10]).
pub fn as_req(req: &KdcReq<'_>) -> Vec<u8> {
    req.encode(10)
}

/// TGS-REQ ([APPLICATION 12]).
pub fn tgs_req(req: &KdcReq<'_>) -> Vec<u8> {
    req.encode(12)
}

/// A KDC reply: who it is for and the ticket it carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdcRep<'a> {
    pub padata: Vec<Vec<u8>>,
    pub crealm: &'a str,
    pub cname: &'a str,
    /// An encoded [`ticket`].
    pub ticket: Vec<u8>,
    /// Length of the reply's own enc-part cipher (session key, times, flags...).
    pub enc_len: usize,
    pub seed: u32,
}

impl KdcRep<'_> {
    fn encode(&self, msg_type: u8) -> Vec<u8> {
        let mut fields = vec![ctx(0, int(5)), ctx(1, int(i64::from(msg_type)))];
        if !self.padata.is_empty() {
            fields.push(ctx(2, seq(&self.padata)));
        }
        fields.push(ctx(3, der::general_string(self.crealm)));
        fields.push(ctx(4, principal(name_type::NT_PRINCIPAL, &[self.cname])));
        fields.push(ctx(5, self.ticket.clone()));
        fields.push(ctx(
            6,
            encrypted_data(
                etype::AES256_CTS_HMAC_SHA1_96,
                Some(2),
                self.enc_len,
                self.seed,
            ),
        ));
        app(msg_type, seq(&fields))
    }
}

/// AS-REP ([APPLICATION 11]).
pub fn as_rep(rep: &KdcRep<'_>) -> Vec<u8> {
    rep.encode(11)
}

/// TGS-REP ([APPLICATION 13]).
pub fn tgs_rep(rep: &KdcRep<'_>) -> Vec<u8> {
    rep.encode(13)
}

/// AP-REQ ([APPLICATION 14]) presenting an encoded [`ticket`] with an authenticator.
pub fn ap_req(ticket: Vec<u8>, ap_options: u32, seed: u32) -> Vec<u8> {
    app(
        14,
        seq(&[
            ctx(0, int(5)),
            ctx(1, int(14)),
            ctx(2, der::bit_string32(ap_options)),
            ctx(3, ticket),
            ctx(
                4,
                encrypted_data(etype::AES256_CTS_HMAC_SHA1_96, None, 160, seed),
            ),
        ]),
    )
}

/// AP-REP ([APPLICATION 15]).
pub fn ap_rep(seed: u32) -> Vec<u8> {
    app(
        15,
        seq(&[
            ctx(0, int(5)),
            ctx(1, int(15)),
            ctx(
                2,
                encrypted_data(etype::AES256_CTS_HMAC_SHA1_96, None, 108, seed),
            ),
        ]),
    )
}

/// The fields of a KRB-ERROR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KrbErr<'a> {
    pub error_code: i32,
    pub stime: Timestamp,
    pub cname: Option<&'a str>,
    pub realm: &'a str,
    pub sname: &'a [&'a str],
    pub e_text: Option<&'a str>,
    pub e_data: Option<Vec<u8>>,
}

/// KRB-ERROR ([APPLICATION 30], RFC 4120 5.9.1).
pub fn krb_error(e: &KrbErr<'_>) -> Vec<u8> {
    let mut fields = vec![
        ctx(0, int(5)),
        ctx(1, int(30)),
        ctx(4, der::generalized_time(&krb_time(e.stime))),
        ctx(5, int(i64::from(e.stime.subsec_nanos() / 1000))),
        ctx(6, int(i64::from(e.error_code))),
    ];
    if let Some(c) = e.cname {
        fields.push(ctx(7, der::general_string(e.realm)));
        fields.push(ctx(8, principal(name_type::NT_PRINCIPAL, &[c])));
    }
    fields.push(ctx(9, der::general_string(e.realm)));
    fields.push(ctx(10, principal(name_type::NT_SRV_INST, e.sname)));
    if let Some(t) = e.e_text {
        fields.push(ctx(11, der::general_string(t)));
    }
    if let Some(d) = &e.e_data {
        fields.push(ctx(12, der::octets(d)));
    }
    app(30, seq(&fields))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::kerberos::{self, EData, KrbErrorCode, KrbMessage, KrbMsgType, PaDataType};

    const REALM: &str = "CORP.EXAMPLE";

    fn tgt() -> Vec<u8> {
        ticket(REALM, &["krbtgt", REALM], 2, 1000, 1)
    }

    #[test]
    fn time_text() {
        assert_eq!(krb_time(super::super::START), "20231114221320Z");
        assert_eq!(
            krb_time(Timestamp::from_secs(951_782_400)),
            "20000229000000Z"
        );
    }

    #[test]
    fn as_req_with_and_without_preauth() {
        let mut req = KdcReq {
            padata: vec![pa_pac_request()],
            kdc_options: AS_OPTIONS,
            cname: Some("dwright"),
            realm: REALM,
            sname: &["krbtgt", REALM],
            nonce: 0x1234_5678,
        };
        let bytes = as_req(&req);
        let Ok(KrbMessage::AsReq(r)) = kerberos::parse_message(&bytes) else {
            panic!()
        };
        assert!(!r.has_preauth());
        assert_eq!(r.body.cname.unwrap().to_string(), "dwright");
        assert_eq!(r.body.sname.unwrap().to_string(), "krbtgt/CORP.EXAMPLE");
        assert_eq!(r.body.nonce, 0x1234_5678);
        assert_eq!(r.body.etypes.len(), 5);
        req.padata.insert(0, pa_enc_timestamp(3));
        let bytes = as_req(&req);
        let Ok(KrbMessage::AsReq(r)) = kerberos::parse_message(&bytes) else {
            panic!()
        };
        assert!(r.has_preauth());
    }

    #[test]
    fn tgs_req_carries_the_tgt() {
        let bytes = tgs_req(&KdcReq {
            padata: vec![pa_tgs_req(&ap_req(tgt(), 0, 2))],
            kdc_options: TGS_OPTIONS,
            cname: None,
            realm: REALM,
            sname: &["cifs", "files.corp.example"],
            nonce: 7,
        });
        let Ok(KrbMessage::TgsReq(r)) = kerberos::parse_message(&bytes) else {
            panic!()
        };
        assert_eq!(
            r.body.sname.as_ref().unwrap().to_string(),
            "cifs/files.corp.example"
        );
        let ap = r.tgs_ap_req().unwrap().unwrap();
        assert_eq!(ap.ticket.sname.to_string(), "krbtgt/CORP.EXAMPLE");
    }

    #[test]
    fn replies_and_ap_messages() {
        let rep = KdcRep {
            padata: vec![pa_data(19, &etype_info2("CORP.EXAMPLEdwright"))],
            crealm: REALM,
            cname: "dwright",
            ticket: tgt(),
            enc_len: 300,
            seed: 4,
        };
        let bytes = as_rep(&rep);
        let m = kerberos::parse_message(&bytes).unwrap();
        assert_eq!(m.msg_type(), KrbMsgType::AS_REP);
        assert_eq!(m.sname().unwrap().to_string(), "krbtgt/CORP.EXAMPLE");
        let bytes = tgs_rep(&rep);
        assert_eq!(
            kerberos::parse_message(&bytes).unwrap().msg_type(),
            KrbMsgType::TGS_REP
        );
        let t = ticket(REALM, &["cifs", "fs1.corp.example"], 5, 900, 2);
        let bytes = ap_req(t, AP_MUTUAL_REQUIRED, 6);
        let Ok(KrbMessage::ApReq(ap)) = kerberos::parse_message(&bytes) else {
            panic!()
        };
        assert_eq!(ap.ticket.sname.to_string(), "cifs/fs1.corp.example");
        assert_eq!(ap.ticket.enc_part.kvno, Some(5));
        let bytes = ap_rep(8);
        assert_eq!(
            kerberos::parse_message(&bytes).unwrap().msg_type(),
            KrbMsgType::AP_REP
        );
    }

    #[test]
    fn errors_with_method_data() {
        let bytes = krb_error(&KrbErr {
            error_code: error_code::KDC_ERR_PREAUTH_REQUIRED,
            stime: Timestamp::from_micros(1_700_000_000_250_000),
            cname: None,
            realm: REALM,
            sname: &["krbtgt", REALM],
            e_text: None,
            e_data: Some(preauth_required_e_data("CORP.EXAMPLEdwright")),
        });
        let Ok(KrbMessage::Error(e)) = kerberos::parse_message(&bytes) else {
            panic!()
        };
        assert_eq!(e.error_code, KrbErrorCode::KDC_ERR_PREAUTH_REQUIRED);
        assert_eq!(e.susec, 250_000);
        assert_eq!(
            e.padata_types(),
            [
                PaDataType::PA_ETYPE_INFO2,
                PaDataType::PA_ENC_TIMESTAMP,
                PaDataType::PA_PK_AS_REQ,
                PaDataType::PA_PK_AS_REP_OLD
            ]
        );
        let Some(EData::MethodData(list)) = &e.e_data else {
            panic!()
        };
        let info = list[0].etype_info2().unwrap().unwrap();
        assert_eq!(info[0].salt.as_deref(), Some("CORP.EXAMPLEdwright"));

        let bytes = krb_error(&KrbErr {
            error_code: error_code::KRB_AP_ERR_SKEW,
            stime: super::super::START,
            cname: Some("dwright"),
            realm: REALM,
            sname: &["cifs", "fs1.corp.example"],
            e_text: Some("Clock skew too great"),
            e_data: None,
        });
        let Ok(KrbMessage::Error(e)) = kerberos::parse_message(&bytes) else {
            panic!()
        };
        assert_eq!(e.error_code, KrbErrorCode::KRB_AP_ERR_SKEW);
        assert_eq!(e.e_text.as_deref(), Some("Clock skew too great"));
        assert_eq!(e.cname.unwrap().to_string(), "dwright");
    }

    #[test]
    fn more_preauth_data_required_with_a_cookie() {
        let bytes = krb_error(&KrbErr {
            error_code: error_code::KDC_ERR_MORE_PREAUTH_DATA_REQUIRED,
            stime: super::super::START,
            cname: None,
            realm: REALM,
            sname: &["krbtgt", REALM],
            e_text: None,
            e_data: Some(more_preauth_e_data("CORP.EXAMPLEdwright", 9)),
        });
        let Ok(KrbMessage::Error(e)) = kerberos::parse_message(&bytes) else {
            panic!()
        };
        assert_eq!(
            e.error_code,
            KrbErrorCode::KDC_ERR_MORE_PREAUTH_DATA_REQUIRED
        );
        assert_eq!(
            e.padata_types(),
            [
                PaDataType::PA_FX_COOKIE,
                PaDataType::PA_ETYPE_INFO2,
                PaDataType::PA_ENC_TIMESTAMP
            ]
        );
    }
}
