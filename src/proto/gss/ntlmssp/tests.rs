use super::*;
use crate::proto::test_hex as hex;

// ../shared/captures/lab/smb-tree-bad-name.pcap frame 8: NTLMSSP NEGOTIATE (the
// mechToken inside SPNEGO in the SMB2 SESSION_SETUP request).
const NEGOTIATE: &str =
    "4e544c4d53535000010000001582086200000000280000000000000028000000060100000000000f";

// Same capture, frame 9: NTLMSSP CHALLENGE from Samba (responseToken of negTokenResp).
const CHALLENGE: &str =
    "4e544c4d5353500002000000080008003800000015828a622488e19e270eedf1000000000000000038003800\
    40000000060100000000000f4e00410053003100020008004e00410053003100010008004e00410053003100\
    04000000030008006e00610073003100070008003ad69578247edd0100000000";

// Same capture, frame 10: NTLMSSP AUTHENTICATE, NTLMv2, CORP\dwright from WKS042 with
// MsvAvTargetName cifs/nas1.corp.example.
const AUTHENTICATE: &str =
    "4e544c4d53535000030000001800180058000000e400e4007000000008000800540100000e000e005c010000\
    0c000c006a010000100010007601000015820862060100000000000fd33977ec6232ac2b7083a4228861a3d5\
    000000000000000000000000000000000000000000000000a64c5f3206dab5f7ce80eeb8ee055da901010000\
    000000003ad69578247edd0133fecf3895e912bc00000000020008004e00410053003100010008004e004100\
    5300310004000000030008006e00610073003100070008003ad69578247edd01060004000200000008003000\
    3000000000000000000000000000000034c4207db7a6812187ba65faf3144c535dd63b6743927dfee3b13375\
    da3f68660a0010000000000000000000000000000000000009002c0063006900660073002f006e0061007300\
    31002e0063006f00720070002e006500780061006d0070006c0065000000000043004f005200500064007700\
    7200690067006800740057004b0053003000340032005207c6336ae40b4b9d7a2ed0a8724e1a";

#[test]
fn negotiate() {
    let NtlmMessage::Negotiate(n) = parse(&hex(NEGOTIATE)).unwrap() else {
        panic!()
    };
    assert_eq!(n.flags, NtlmFlags(0x6208_8215));
    assert!(n.flags.contains(NtlmFlags::UNICODE));
    assert_eq!(n.domain, None);
    assert_eq!(n.workstation, None);
    assert_eq!(n.version, Some([6, 1, 0, 0, 0, 0, 0, 0x0f]));
}

#[test]
fn challenge() {
    let bytes = hex(CHALLENGE);
    let NtlmMessage::Challenge(c) = parse(&bytes).unwrap() else {
        panic!()
    };
    assert_eq!(c.target_name, "NAS1");
    assert_eq!(c.flags, NtlmFlags(0x628a_8215));
    assert_eq!(
        c.server_challenge,
        [0x24, 0x88, 0xe1, 0x9e, 0x27, 0x0e, 0xed, 0xf1]
    );
    assert_eq!(c.target_info.nb_domain_name().as_deref(), Some("NAS1"));
    assert_eq!(c.target_info.nb_computer_name().as_deref(), Some("NAS1"));
    assert_eq!(c.target_info.dns_domain_name().as_deref(), Some(""));
    assert_eq!(c.target_info.dns_computer_name().as_deref(), Some("nas1"));
    assert_eq!(c.target_info.timestamp(), Some(0x01dd_7e24_7895_d63a));
    assert_eq!(c.target_info.iter().count(), 5);
    assert!(c.version.is_some());
}

#[test]
fn authenticate_ntlmv2_with_target_name() {
    let bytes = hex(AUTHENTICATE);
    let NtlmMessage::Authenticate(a) = parse(&bytes).unwrap() else {
        panic!()
    };
    assert_eq!(a.domain, "CORP");
    assert_eq!(a.user, "dwright");
    assert_eq!(a.workstation, "WKS042");
    assert_eq!(a.lm_response.len(), 24);
    assert_eq!(a.nt_response.len(), 0xe4);
    assert_eq!(a.encrypted_session_key.len(), 16);
    assert_eq!(a.ntlm_version(), NtlmVersion::V2);
    assert!(a.version.is_some());
    assert_eq!(a.mic.map(<[u8]>::len), Some(16));
    let v2 = a.ntlmv2_response().unwrap();
    assert_eq!(v2.timestamp, 0x01dd_7e24_7895_d63a);
    assert_eq!(
        v2.av_pairs.target_name().as_deref(),
        Some("cifs/nas1.corp.example")
    );
    assert_eq!(v2.av_pairs.flags(), Some(2));
    assert!(v2.av_pairs.iter().all(|p| p.is_ok()));
}

// ../shared/captures/zeek/raw_ntlm_in_smb.pcap frame 22: bare NTLMSSP AUTHENTICATE in
// an SMB1 SESSION_SETUP_ANDX (no SPNEGO), TEST-F7DFBC3FE9\test from BABYBOOK, with
// MsvAvTargetName cifs/192.168.56.101.
const RAW_AUTH: &str =
    "4e544c4d5353500003000000180018008e00000002010201a60000001e001e00580000000800080076000000\
    100010007e00000010001000a8010000050288620601b01d0f00000067395ddc5150115281dd3d29b6058735\
    54004500530054002d0046003700440046004200430033004600450039007400650073007400420041004200\
    590042004f004f004b00000000000000000000000000000000000000000000000000020a2c94cbf8d66168d1\
    b93068775845010100000000000080a93ad3d88fd1013f2198b2fdb491c70000000001001e00540045005300\
    54002d00460037004400460042004300330046004500390002001e0054004500530054002d00460037004400\
    460042004300330046004500390003001e0074006500730074002d0066003700640066006200630033006600\
    6500390004001e0074006500730074002d006600370064006600620063003300660065003900060004000300\
    00000900260063006900660073002f003100390032002e003100360038002e00350036002e00310030003100\
    0a001000000000000000000000000000000000000000000000000000eb729686fcaacfadb13418fa494760de";

#[test]
fn raw_authenticate_from_smb1() {
    let bytes = hex(RAW_AUTH);
    let NtlmMessage::Authenticate(a) = parse(&bytes).unwrap() else {
        panic!()
    };
    assert_eq!(a.domain, "TEST-F7DFBC3FE9");
    assert_eq!(a.user, "test");
    assert_eq!(a.workstation, "BABYBOOK");
    assert_eq!(a.ntlm_version(), NtlmVersion::V2);
    let v2 = a.ntlmv2_response().unwrap();
    assert_eq!(
        v2.av_pairs.target_name().as_deref(),
        Some("cifs/192.168.56.101")
    );
    assert_eq!(v2.av_pairs.flags(), Some(3));
}

#[test]
fn versions_by_nt_length() {
    let bytes = hex(AUTHENTICATE);
    let mut a = match parse(&bytes).unwrap() {
        NtlmMessage::Authenticate(a) => a,
        _ => panic!(),
    };
    a.nt_response = &[0; 24];
    assert_eq!(a.ntlm_version(), NtlmVersion::V1);
    assert_eq!(a.ntlmv2_response(), None);
    a.nt_response = &[];
    assert_eq!(a.ntlm_version(), NtlmVersion::Anonymous);
}

#[test]
fn oem_strings_without_unicode() {
    // Built from [MS-NLMP] 2.2.1.1: NEGOTIATE with OEM domain "DOM" and workstation "WS".
    let mut m = SIGNATURE.to_vec();
    m.extend(1u32.to_le_bytes());
    m.extend((0x3002u32).to_le_bytes());
    m.extend([3, 0, 3, 0, 32, 0, 0, 0]);
    m.extend([2, 0, 2, 0, 35, 0, 0, 0]);
    m.extend(b"DOMWS");
    let NtlmMessage::Negotiate(n) = parse(&m).unwrap() else {
        panic!()
    };
    assert_eq!(n.domain.as_deref(), Some("DOM"));
    assert_eq!(n.workstation.as_deref(), Some("WS"));
    assert_eq!(n.version, None);
}

#[test]
fn truncated_and_impossible() {
    let bytes = hex(AUTHENTICATE);
    assert!(matches!(
        parse(&bytes[..200]),
        Err(NtlmsspError::Truncated { .. })
    ));
    assert_eq!(
        parse(b"NTLMSSX\0\x01\0\0\0"),
        Err(NtlmsspError::BadSignature)
    );
    assert_eq!(
        parse(b"NTLMSSP\0\x09\0\0\0"),
        Err(NtlmsspError::UnknownType(9))
    );
    let mut bad = bytes.clone();
    bad[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(parse(&bad).is_err());
    // An AV pair that runs past the end yields one error and stops.
    let pairs = AvPairs(&[2, 0, 9, 0, b'x']);
    let items: Vec<_> = pairs.iter().collect();
    assert_eq!(items.len(), 1);
    assert!(items[0].is_err());
}

#[test]
fn av_id_table_names_every_entry() {
    crate::proto::code_table::assert_names_round_trip(AvId::ALL, AvId::name);
    assert_eq!(AvId::TARGET_NAME.to_string(), "MsvAvTargetName");
    assert_eq!(AvId(11).to_string(), "0x000b");
}

proptest::proptest! {
    #[test]
    fn never_panics(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        let _ = parse(&data);
        for t in 1u8..4 {
            let mut m = SIGNATURE.to_vec();
            m.extend([t, 0, 0, 0]);
            m.extend(&data);
            if let Ok(NtlmMessage::Authenticate(a)) = parse(&m) {
                if let Some(v2) = a.ntlmv2_response() {
                    let _ = v2.av_pairs.iter().count();
                    let _ = v2.av_pairs.target_name();
                }
            }
            if let Ok(NtlmMessage::Challenge(c)) = parse(&m) {
                let _ = c.target_info.iter().count();
            }
        }
        let _ = AvPairs(&data).iter().count();
    }
}
