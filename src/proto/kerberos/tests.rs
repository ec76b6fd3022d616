//! Kerberos parsers against real messages from the public captures in ../shared/captures.
//! Each sample under src/proto/testdata/krb/ is one UDP payload, TCP payload or SPNEGO mech
//! token, extracted with `tshark -r FILE -Y 'frame.number==N' -T fields -e udp.payload`
//! (or `-e tcp.payload`, `-e spnego.mechToken`, `-e spnego.responseToken`); expected values
//! are what `tshark -V` shows for the same frame.

use super::*;
use proptest::prelude::*;

// ../shared/captures/lab/krb-mit-udp-unknown-spn.pcap frames 1-6 (MIT krb5 1.20 KDC).
const MIT_AS_REQ: &[u8] = include_bytes!("../testdata/krb/mit-udp-unknown-spn-f1-as-req.der");
const MIT_ERR_25: &[u8] = include_bytes!("../testdata/krb/mit-udp-unknown-spn-f2-krb-error-25.der");
const MIT_AS_REQ_PREAUTH: &[u8] =
    include_bytes!("../testdata/krb/mit-udp-unknown-spn-f3-as-req-preauth.der");
const MIT_AS_REP: &[u8] = include_bytes!("../testdata/krb/mit-udp-unknown-spn-f4-as-rep.der");
const MIT_TGS_REQ: &[u8] = include_bytes!("../testdata/krb/mit-udp-unknown-spn-f5-tgs-req.der");
const MIT_ERR_7: &[u8] = include_bytes!("../testdata/krb/mit-udp-unknown-spn-f6-krb-error-7.der");
// ../shared/captures/lab/krb-mit-udp-healthy.pcap frame 8.
const MIT_TGS_REP: &[u8] = include_bytes!("../testdata/krb/mit-udp-healthy-f8-tgs-rep.der");
// ../shared/captures/lab/ad-krb-bad-password.pcap frames 2 and 4 (Samba AD, Heimdal KDC).
const AD_ERR_25: &[u8] = include_bytes!("../testdata/krb/ad-bad-password-f2-krb-error-25.der");
const AD_ERR_24: &[u8] = include_bytes!("../testdata/krb/ad-bad-password-f4-krb-error-24.der");
// ../shared/captures/lab/ad-krb-client-revoked.pcap frame 4.
const AD_ERR_18: &[u8] = include_bytes!("../testdata/krb/ad-client-revoked-f4-krb-error-18.der");
// ../shared/captures/lab/ad-krb-smb-healthy.pcap frame 6 (UDP), frames 55 and 58 (SMB2
// SESSION_SETUP request mechToken and response responseToken).
const AD_ERR_52: &[u8] = include_bytes!("../testdata/krb/ad-smb-healthy-f6-krb-error-52.der");
const AD_GSS_AP_REQ: &[u8] = include_bytes!("../testdata/krb/ad-smb-healthy-f55-gss-ap-req.der");
const AD_GSS_AP_REP: &[u8] = include_bytes!("../testdata/krb/ad-smb-healthy-f58-gss-ap-rep.der");
// ../shared/captures/lab/ad-krb-smb-apreq-skew.pcap frame 53 (SMB2 SESSION_SETUP response
// responseToken).
const AD_GSS_ERR_37: &[u8] =
    include_bytes!("../testdata/krb/ad-smb-apreq-skew-f53-gss-krb-error-37.der");
// ../shared/captures/suricata-verify/smb-length-5786.pcap frame 19 (macOS-style IAKERB
// responseToken in an SMB2 SESSION_SETUP response).
const IAKERB_AP_REP: &[u8] =
    include_bytes!("../testdata/krb/smb-length-5786-f19-gss-iakerb-ap-rep.der");
// ../shared/captures/lab/ad-krb-cname-nospn-required.pcap frame 33 (TCP payload: record
// marker plus KRB-ERROR 7).
const AD_TCP_ERR_7: &[u8] =
    include_bytes!("../testdata/krb/ad-cname-nospn-required-f33-tcp-krb-error-7.bin");

const SAMPLES: &[&[u8]] = &[
    MIT_AS_REQ,
    MIT_ERR_25,
    MIT_AS_REQ_PREAUTH,
    MIT_AS_REP,
    MIT_TGS_REQ,
    MIT_ERR_7,
    MIT_TGS_REP,
    AD_ERR_25,
    AD_ERR_24,
    AD_ERR_18,
    AD_ERR_52,
];
const GSS_SAMPLES: &[&[u8]] = &[AD_GSS_AP_REQ, AD_GSS_AP_REP, AD_GSS_ERR_37, IAKERB_AP_REP];

// 2026-11-27T04:06:55Z, the stime of the MIT exchange (`date -u -d ... +%s`).
const T0: i64 = 1_795_752_415;

fn name(p: Option<&PrincipalName<'_>>) -> String {
    p.map(ToString::to_string).unwrap_or_default()
}

fn types(list: &[PaData<'_>]) -> Vec<i32> {
    list.iter().map(|p| p.padata_type.0).collect()
}

fn as_req(bytes: &[u8]) -> KdcReq<'_> {
    match parse_message(bytes).unwrap() {
        KrbMessage::AsReq(r) => r,
        other => panic!("not an AS-REQ: {other:?}"),
    }
}

fn krb_error(bytes: &[u8]) -> KrbErrorMessage<'_> {
    match parse_message(bytes).unwrap() {
        KrbMessage::Error(e) => e,
        other => panic!("not a KRB-ERROR: {other:?}"),
    }
}

#[test]
fn as_req_without_preauth() {
    let req = as_req(MIT_AS_REQ);
    assert_eq!(req.pvno, 5);
    assert_eq!(types(&req.padata), [150, 149]);
    assert!(!req.has_preauth());
    let body = &req.body;
    assert_eq!(body.kdc_options, KdcOptions(0x0000_0010));
    let cname = body.cname.as_ref().unwrap();
    assert_eq!((cname.name_type, cname.to_string()), (1, "dana".into()));
    assert_eq!(body.realm, "KRB.EXAMPLE");
    let sname = body.sname.as_ref().unwrap();
    assert_eq!(
        (sname.name_type, sname.to_string()),
        (2, "krbtgt/KRB.EXAMPLE".into())
    );
    assert_eq!(body.till, KerberosTime(T0 + 86_400));
    assert_eq!(body.nonce, 1_169_237_604);
    let etypes: Vec<i32> = body.etypes.iter().map(|e| e.0).collect();
    assert_eq!(etypes, [18, 17, 20, 19, 16, 23, 25, 26]);
    let msg = parse_message(MIT_AS_REQ).unwrap();
    assert_eq!(msg.msg_type(), KrbMsgType::AS_REQ);
    assert_eq!(msg.realm(), Some("KRB.EXAMPLE"));
    assert_eq!(msg.error_code(), None);
}

#[test]
fn as_req_with_enc_timestamp_has_preauth() {
    let req = as_req(MIT_AS_REQ_PREAUTH);
    assert_eq!(types(&req.padata), [133, 2, 150, 149]);
    assert!(req.has_preauth());
    assert_eq!(req.body.nonce, 1_804_117_104);
}

#[test]
fn mit_preauth_required_with_fast_method_data() {
    let err = krb_error(MIT_ERR_25);
    assert_eq!(err.pvno, 5);
    assert_eq!(err.error_code, KrbErrorCode::KDC_ERR_PREAUTH_REQUIRED);
    assert_eq!((err.stime, err.susec), (KerberosTime(T0), 123_107));
    assert_eq!((err.ctime, err.cusec), (None, None));
    assert_eq!(err.crealm.as_deref(), Some("KRB.EXAMPLE"));
    assert_eq!(name(err.cname.as_ref()), "dana");
    assert_eq!(err.realm, "KRB.EXAMPLE");
    assert_eq!(err.sname.to_string(), "krbtgt/KRB.EXAMPLE");
    assert_eq!(err.e_text.as_deref(), Some("NEEDED_PREAUTH"));
    assert_eq!(err.e_data_raw.map(<[u8]>::len), Some(79));
    let pa_types: Vec<i32> = err.padata_types().iter().map(|t| t.0).collect();
    assert_eq!(pa_types, [136, 19, 2, 133]);
    let Some(EData::MethodData(list)) = &err.e_data else {
        panic!("e-data not METHOD-DATA: {:?}", err.e_data)
    };
    let info = list.iter().find_map(PaData::etype_info2).unwrap().unwrap();
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].etype, EType::AES256_CTS_HMAC_SHA1_96);
    assert_eq!(info[0].salt.as_deref(), Some("KRB.EXAMPLEdana"));
    assert_eq!(err.nt_status(), None);
    // Answers frame 1, which had no pre-authentication: a normal step.
    let req = as_req(MIT_AS_REQ);
    assert_eq!(
        classify_error(err.error_code, req.has_preauth(), Some(KrbMsgType::AS_REQ)),
        ErrorClass::PreauthStep
    );
}

#[test]
fn as_rep_keeps_names_and_skips_ciphertext() {
    let KrbMessage::AsRep(rep) = parse_message(MIT_AS_REP).unwrap() else {
        panic!("not an AS-REP")
    };
    assert_eq!(rep.pvno, 5);
    assert_eq!(types(&rep.padata), [19]);
    assert_eq!(rep.crealm, "KRB.EXAMPLE");
    assert_eq!(rep.cname.to_string(), "dana");
    assert_eq!(rep.ticket.tkt_vno, 5);
    assert_eq!(rep.ticket.realm, "KRB.EXAMPLE");
    assert_eq!(rep.ticket.sname.to_string(), "krbtgt/KRB.EXAMPLE");
    assert_eq!(rep.ticket.enc_part.etype, EType(18));
    assert_eq!(rep.ticket.enc_part.kvno, Some(1));
    assert_eq!(rep.enc_part.etype, EType(18));
    assert_eq!(rep.enc_part.kvno, None);
    assert!(rep.ticket.enc_part.cipher_len > 0 && rep.enc_part.cipher_len > 0);
}

#[test]
fn tgs_req_names_the_service_and_its_tgt() {
    let msg = parse_message(MIT_TGS_REQ).unwrap();
    assert_eq!(name(msg.sname()), "cifs/legacy.krb.example");
    assert_eq!(msg.cname(), None);
    let KrbMessage::TgsReq(req) = msg else {
        panic!("not a TGS-REQ")
    };
    assert_eq!(types(&req.padata), [1, 136]);
    assert!(!req.has_preauth());
    assert_eq!(req.body.kdc_options, KdcOptions(0x0081_0000));
    assert!(req.body.kdc_options.is_set(KdcOptions::CANONICALIZE));
    assert_eq!(req.body.sname.as_ref().unwrap().name_type, 1);
    assert_eq!(req.body.till, KerberosTime(T0 + 10 * 3600));
    assert_eq!(req.body.nonce, 1_515_831_928);
    let ap = req.tgs_ap_req().unwrap().unwrap();
    assert_eq!(ap.ap_options, ApOptions(0));
    assert_eq!(ap.ticket.realm, "KRB.EXAMPLE");
    assert_eq!(ap.ticket.sname.to_string(), "krbtgt/KRB.EXAMPLE");
    assert_eq!(ap.ticket.enc_part.kvno, Some(1));
    assert_eq!(ap.authenticator.etype, EType(18));
}

#[test]
fn unknown_service_error_after_tgs_req() {
    let err = krb_error(MIT_ERR_7);
    assert_eq!(err.error_code, KrbErrorCode::KDC_ERR_S_PRINCIPAL_UNKNOWN);
    assert_eq!(err.error_code.to_string(), "KDC_ERR_S_PRINCIPAL_UNKNOWN");
    assert_eq!(err.sname.to_string(), "cifs/legacy.krb.example");
    assert_eq!(err.sname.name_type, 1);
    assert_eq!(err.e_text.as_deref(), Some("LOOKING_UP_SERVER"));
    assert_eq!(err.susec, 123_108);
    assert_eq!(err.padata_types(), [PaDataType::PA_FX_FAST]);
    assert_eq!(
        classify_error(err.error_code, false, Some(KrbMsgType::TGS_REQ)),
        ErrorClass::Failure
    );
}

#[test]
fn tgs_rep_names_the_ticket() {
    let msg = parse_message(MIT_TGS_REP).unwrap();
    assert_eq!(msg.msg_type(), KrbMsgType::TGS_REP);
    assert_eq!(name(msg.cname()), "dana");
    assert_eq!(name(msg.sname()), "cifs/app1.krb.example");
    assert_eq!(msg.realm(), Some("KRB.EXAMPLE"));
    let KrbMessage::TgsRep(rep) = msg else {
        panic!("not a TGS-REP")
    };
    assert_eq!(types(&rep.padata), [136]);
    assert_eq!(rep.ticket.enc_part.kvno, Some(1));
}

#[test]
fn heimdal_preauth_required_offers_pkinit_and_salt() {
    let err = krb_error(AD_ERR_25);
    assert_eq!(err.error_code, KrbErrorCode::KDC_ERR_PREAUTH_REQUIRED);
    assert_eq!(err.stime, KerberosTime(T0 + 29));
    assert_eq!(err.susec, 920_529);
    assert_eq!(
        err.e_text.as_deref(),
        Some("Need to use PA-ENC-TIMESTAMP/PA-PK-AS-REQ")
    );
    let pa_types: Vec<i32> = err.padata_types().iter().map(|t| t.0).collect();
    assert_eq!(pa_types, [16, 15, 147, 2, 136, 655, 19]);
    let Some(EData::MethodData(list)) = &err.e_data else {
        panic!("e-data not METHOD-DATA")
    };
    let info = list.iter().find_map(PaData::etype_info2).unwrap().unwrap();
    assert_eq!(info[0].salt.as_deref(), Some("CORP.EXAMPLEdana"));
    assert_eq!(info[0].s2kparams, Some(&[0x00, 0x00, 0x10, 0x00][..]));
}

#[test]
fn heimdal_bad_password_is_a_failure_after_preauth() {
    let err = krb_error(AD_ERR_24);
    assert_eq!(err.error_code, KrbErrorCode::KDC_ERR_PREAUTH_FAILED);
    assert_eq!(err.e_text, None);
    assert_eq!(err.padata_types(), [PaDataType::PA_ETYPE_INFO2]);
    assert_eq!(err.nt_status(), None);
    assert_eq!(
        classify_error(err.error_code, true, Some(KrbMsgType::AS_REQ)),
        ErrorClass::Failure
    );
}

#[test]
fn revoked_client_carries_ntstatus_in_pw_salt() {
    let err = krb_error(AD_ERR_18);
    assert_eq!(err.error_code, KrbErrorCode::KDC_ERR_CLIENT_REVOKED);
    assert_eq!(name(err.cname.as_ref()), "frank");
    assert_eq!(err.padata_types(), [PaDataType(19), PaDataType(3)]);
    // STATUS_ACCOUNT_DISABLED, as KERB-EXT-ERROR { status, reserved 0, flags 1 }.
    assert_eq!(err.nt_status(), Some(0xc000_0072));
}

#[test]
fn response_too_big_means_retry_over_tcp() {
    let err = krb_error(AD_ERR_52);
    assert_eq!(err.error_code, KrbErrorCode::KRB_ERR_RESPONSE_TOO_BIG);
    assert_eq!(err.e_text.as_deref(), Some("Reply packet too large"));
    assert_eq!(
        classify_error(err.error_code, true, Some(KrbMsgType::AS_REQ)),
        ErrorClass::RetryOverTcp
    );
}

#[test]
fn gss_ap_req_from_smb2_session_setup() {
    let token = parse_gss_krb5(AD_GSS_AP_REQ).unwrap();
    assert_eq!(token.mech, Some(Krb5Mech::Krb5));
    assert_eq!(token.tok_id, Some(GssTokId::AP_REQ));
    let KrbMessage::ApReq(ap) = token.message else {
        panic!("not an AP-REQ")
    };
    assert_eq!(ap.pvno, 5);
    assert_eq!(ap.ap_options, ApOptions(0x2000_0000));
    assert_eq!(ap.ticket.tkt_vno, 5);
    assert_eq!(ap.ticket.realm, "CORP.EXAMPLE");
    assert_eq!(ap.ticket.sname.to_string(), "cifs/dc01.corp.example");
    assert_eq!(ap.ticket.sname.name_type, 1);
    assert_eq!(ap.ticket.enc_part.etype, EType(18));
    assert_eq!(ap.ticket.enc_part.kvno, Some(1));
    assert_eq!(ap.authenticator.etype, EType(18));
}

#[test]
fn gss_ap_rep_from_smb2_session_setup() {
    let token = parse_gss_krb5(AD_GSS_AP_REP).unwrap();
    assert_eq!(token.tok_id, Some(GssTokId::AP_REP));
    assert_eq!(token.message.sname(), None);
    let KrbMessage::ApRep(rep) = token.message else {
        panic!("not an AP-REP")
    };
    assert_eq!(rep.enc_part.etype, EType(18));
}

#[test]
fn gss_krb_error_with_kerb_error_data() {
    let token = parse_gss_krb5(AD_GSS_ERR_37).unwrap();
    assert_eq!(token.tok_id, Some(GssTokId::ERROR));
    let KrbMessage::Error(err) = token.message else {
        panic!("not a KRB-ERROR")
    };
    assert_eq!(err.error_code, KrbErrorCode::KRB_AP_ERR_SKEW);
    assert_eq!(err.stime, KerberosTime(T0 + 37));
    assert_eq!(err.susec, 33_971);
    assert_eq!(err.crealm, None);
    assert_eq!(err.realm, "CORP.EXAMPLE");
    assert_eq!(
        (err.sname.name_type, err.sname.to_string()),
        (1, "DC01$".into())
    );
    assert_eq!(
        err.e_data,
        Some(EData::KerbErrorData(KerbErrorData {
            data_type: KerbErrorData::SKEW_RECOVERY,
            data_value: None
        }))
    );
    assert_eq!(err.nt_status(), None);
}

#[test]
fn gss_accepts_the_iakerb_oid() {
    let token = parse_gss_krb5(IAKERB_AP_REP).unwrap();
    assert_eq!(token.mech, Some(Krb5Mech::Iakerb));
    assert_eq!(token.tok_id, Some(GssTokId::AP_REP));
    let KrbMessage::ApRep(rep) = token.message else {
        panic!("not an AP-REP")
    };
    assert_eq!(rep.enc_part.etype, EType(18));
}

#[test]
fn gss_accepts_a_bare_message() {
    // The AP-REP inside frame 58's token, without the 0x60 framing.
    let bare = &AD_GSS_AP_REP[AD_GSS_AP_REP.len() - 140..];
    assert_eq!(bare[0], 0x6f);
    let token = parse_gss_krb5(bare).unwrap();
    assert_eq!((token.mech, token.tok_id), (None, None));
    assert_eq!(token.message.msg_type(), KrbMsgType::AP_REP);
}

#[test]
fn gss_rejects_other_mechanisms_and_token_ids() {
    // The AP-REQ token with its OID's last arc changed: 1.2.840.113554.1.2.3.
    let mut other_oid = AD_GSS_AP_REQ.to_vec();
    other_oid[14] = 0x03;
    assert!(matches!(
        parse_gss_krb5(&other_oid),
        Err(KrbError::NotKrb5Mechanism { offset: 4 })
    ));
    let mut tgt_req = AD_GSS_AP_REQ.to_vec();
    tgt_req[15] = 0x04;
    assert!(matches!(
        parse_gss_krb5(&tgt_req),
        Err(KrbError::UnsupportedToken {
            tok_id: GssTokId::TGT_REQ
        })
    ));
    // SEQUENCE (an NTLMSSP-less SPNEGO reply, say) is neither wrapper nor message.
    assert!(matches!(
        parse_gss_krb5(&[0x30, 0x00]),
        Err(KrbError::UnexpectedTag { .. })
    ));
}

#[test]
fn gss_errors_point_into_the_token() {
    // A cut token: the outer wrapper is the element that runs past the end.
    let cut = &AD_GSS_AP_REQ[..200];
    match parse_gss_krb5(cut) {
        Err(KrbError::Truncated { offset, .. }) => assert_eq!(offset, 0),
        other => panic!("{other:?}"),
    }
    // The AP-REQ's pvno INTEGER becomes an OCTET STRING; the offset counts the 17-byte GSS
    // header and the AP-REQ's two 4-byte headers, in token coordinates.
    let mut bad = AD_GSS_AP_REQ.to_vec();
    let at = 17 + 4 + 4 + 2;
    assert_eq!(bad[at], 0x02);
    bad[at] = 0x04;
    match parse_gss_krb5(&bad) {
        Err(KrbError::UnexpectedTag {
            what: "pvno",
            offset,
            ..
        }) => assert_eq!(offset, at),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tcp_record_marker_frames_a_real_record() {
    let len = tcp_record_len(AD_TCP_ERR_7).unwrap().unwrap();
    assert_eq!(len, 439);
    assert_eq!(RECORD_MARKER_LEN + len, AD_TCP_ERR_7.len());
    let err = krb_error(&AD_TCP_ERR_7[RECORD_MARKER_LEN..]);
    assert_eq!(err.error_code, KrbErrorCode::KDC_ERR_S_PRINCIPAL_UNKNOWN);
    // Heimdal keeps the real names inside the FAST reply; the outer error carries a
    // placeholder realm (literally this string, as tshark shows) and an empty sname.
    assert_eq!(err.realm, "<unspecified realm>");
    assert_eq!((err.sname.name_type, err.sname.components.len()), (0, 0));
    assert_eq!(err.padata_types(), [PaDataType::PA_FX_FAST]);
}

#[test]
fn tcp_record_marker_limits() {
    assert!(tcp_record_len(&[0, 0, 1]).is_none());
    assert_eq!(tcp_record_len(&[0, 0, 0, 0]), Some(Ok(0)));
    assert_eq!(tcp_record_len(&[0, 0x10, 0, 0]), Some(Ok(MAX_RECORD_LEN)));
    assert!(matches!(
        tcp_record_len(&[0, 0x10, 0, 1]),
        Some(Err(KrbError::RecordTooLong { len: 0x10_0001, .. }))
    ));
    assert!(matches!(
        tcp_record_len(&[0x80, 0, 0, 0x10]),
        Some(Err(KrbError::RecordReservedBit {
            marker: 0x8000_0010
        }))
    ));
}

#[test]
fn every_cut_of_a_real_message_is_an_error() {
    for sample in SAMPLES {
        for len in 0..sample.len() {
            let result = parse_message(&sample[..len]);
            assert!(result.is_err(), "prefix of {len} bytes parsed");
        }
    }
    // A cut inside the outer header is reported as a truncation at offset 0.
    assert!(matches!(
        parse_message(&MIT_AS_REQ[..100]),
        Err(KrbError::Truncated { offset: 0, .. })
    ));
}

#[test]
fn impossible_inner_length_is_an_overrun() {
    // AS-REQ: 6a 81 b3 30 81 b0 a1 03 02 01 05; claim the pvno INTEGER is 0x7f bytes long.
    let mut bad = MIT_AS_REQ.to_vec();
    assert_eq!(bad[6..11], [0xa1, 0x03, 0x02, 0x01, 0x05]);
    bad[9] = 0x7f;
    assert!(matches!(
        parse_message(&bad),
        Err(KrbError::LengthOverrun {
            what: "pvno",
            offset: 8,
            len: 0x7f,
            available: 1
        })
    ));
}

#[test]
fn msg_type_must_match_the_application_tag() {
    // The AS-REQ relabelled [APPLICATION 12] (TGS-REQ).
    let mut bad = MIT_AS_REQ.to_vec();
    bad[0] = 0x6c;
    assert!(matches!(
        parse_message(&bad),
        Err(KrbError::InvalidValue {
            what: "msg-type",
            ..
        })
    ));
}

#[test]
fn other_messages_are_unsupported() {
    // KRB-CRED [APPLICATION 22] and a bare SEQUENCE.
    for bytes in [&[0x76, 0x02, 0x30, 0x00][..], &[0x30, 0x00]] {
        assert!(matches!(
            parse_message(bytes),
            Err(KrbError::UnsupportedMessage { offset: 0, .. })
        ));
    }
}

#[test]
fn deep_nesting_is_refused_without_recursion() {
    // An AS-REQ whose SEQUENCE holds 100 000 nested SEQUENCEs instead of its fields.
    const HEADER: u32 = 6;
    let depth: u32 = 100_000;
    let mut msg = vec![0x6a, 0x84];
    msg.extend_from_slice(&(depth * HEADER).to_be_bytes());
    for level in 1..=depth {
        msg.extend_from_slice(&[0x30, 0x84]);
        msg.extend_from_slice(&((depth - level) * HEADER).to_be_bytes());
    }
    assert!(matches!(
        parse_message(&msg),
        Err(KrbError::UnexpectedTag { what: "pvno", .. })
    ));
}

#[test]
fn error_messages_say_what_and_where() {
    let err = parse_message(&MIT_AS_REQ[..100]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Kerberos message at offset 0: input ends inside the element"
    );
    let err = parse_message(&[0x76, 0x00]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Kerberos message at offset 0: [APPLICATION 22] is not a message this parser handles"
    );
}

#[test]
fn gss_token_ids_round_trip() {
    for &id in GssTokId::ALL {
        assert!(id.name().is_some());
    }
    assert_eq!(GssTokId(0x0100).to_string(), "KRB_AP_REQ");
    assert_eq!(GssTokId(0x0102).to_string(), "258");
}

/// Applies `(position, byte)` edits to a copy of `sample`.
fn mutate(sample: &[u8], edits: &[(usize, u8)]) -> Vec<u8> {
    let mut bytes = sample.to_vec();
    if !bytes.is_empty() {
        for &(at, b) in edits {
            let len = bytes.len();
            bytes[at % len] = b;
        }
    }
    bytes
}

/// ../shared/captures/lab/ad-krb-cname-nospn-fallback-ntlm.pcap frames 29+31: a TGS-REQ over
/// TCP (record marker included) whose nonce Heimdal encodes as a negative INTEGER; tshark reads
/// it, and so must we, or the KDC's error in frame 33 loses its request.
const HEIMDAL_TCP_TGS_REQ_NEGATIVE_NONCE: &[u8] =
    include_bytes!("../testdata/krb/ad-cname-nospn-fallback-f29-31-tcp-tgs-req-negative-nonce.bin");

#[test]
fn tgs_req_with_negative_nonce_parses() {
    let len = match tcp_record_len(HEIMDAL_TCP_TGS_REQ_NEGATIVE_NONCE) {
        Some(Ok(len)) => len,
        other => panic!("record marker: {other:?}"),
    };
    assert_eq!(len + 4, HEIMDAL_TCP_TGS_REQ_NEGATIVE_NONCE.len());
    let msg = parse_message(&HEIMDAL_TCP_TGS_REQ_NEGATIVE_NONCE[4..]).expect("TGS-REQ parses");
    assert_eq!(msg.msg_type(), KrbMsgType::TGS_REQ);
    assert_eq!(
        msg.sname().map(|s| s.to_string()).as_deref(),
        Some("cifs/files.corp.example")
    );
    let KrbMessage::TgsReq(req) = msg else {
        panic!("not a TGS-REQ")
    };
    assert!(
        req.body.nonce > i32::MAX as u32,
        "the nonce keeps its 32 bits"
    );
}

proptest! {
    #[test]
    fn parse_message_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_message(&bytes);
    }

    #[test]
    fn parse_gss_krb5_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_gss_krb5(&bytes);
    }

    #[test]
    fn tcp_record_len_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..8)) {
        let _ = tcp_record_len(&bytes);
    }

    #[test]
    fn mutated_real_messages_never_panic(
        which in 0..SAMPLES.len() + GSS_SAMPLES.len(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
    ) {
        let sample = match which.checked_sub(SAMPLES.len()) {
            Some(i) => GSS_SAMPLES[i],
            None => SAMPLES[which],
        };
        let bytes = mutate(sample, &edits);
        let _ = parse_gss_krb5(&bytes);
        if let Ok(KrbMessage::Error(err)) = parse_message(&bytes) {
            let _ = err.nt_status();
            if let Some(EData::MethodData(list)) = &err.e_data {
                for pa in list {
                    let _ = pa.etype_info2();
                }
            }
        }
        if let Ok(KrbMessage::TgsReq(req)) = parse_message(&bytes) {
            let _ = req.tgs_ap_req();
        }
    }

    #[test]
    fn etype_info2_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let pa = PaData { padata_type: PaDataType::PA_ETYPE_INFO2, value: &bytes };
        let _ = pa.etype_info2();
        let _ = KerbExtError::parse(&bytes);
    }
}
