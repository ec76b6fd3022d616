use super::*;
use crate::proto::test_hex as hex;

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
        "../../testdata/smb/ad-krb-smb-healthy-f55-spnego.hex"
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
