use super::*;
use crate::proto::nbss::{self, NbssMessage};
use crate::proto::smb1::{self, Smb1Body};
use crate::proto::smb2::{
    self, Body, Capabilities, Dialect, NegotiateContext, SecurityMode, SessionFlags, ShareFlags,
    ShareType, Smb2Pdu,
};

fn only(bytes: &[u8]) -> smb2::Smb2Message<'_> {
    let all: Vec<_> = smb2::messages(bytes).collect();
    assert_eq!(all.len(), 1);
    all.into_iter().next().unwrap().unwrap()
}

#[test]
fn header_round_trips() {
    let h = Header::request(Smb2Command::TREE_CONNECT, 7)
        .session(0x1000_0400_0000_0011)
        .tree(5)
        .credits(33)
        .signed(9);
    let p = only(&message(&h, &empty_body())).header;
    assert_eq!(p.command, Smb2Command::TREE_CONNECT);
    assert_eq!(p.message_id, 7);
    assert_eq!(p.session_id, 0x1000_0400_0000_0011);
    assert_eq!(p.tree_id(), Some(5));
    assert_eq!(p.credits, 33);
    assert!(p.is_signed() && !p.is_response());
    let r = Header::response_to(&h, NtStatus::STATUS_PENDING).async_id(0x21);
    let p = only(&message(&r, &error_body())).header;
    assert!(p.is_response() && p.is_async() && !p.is_signed());
    assert_eq!(p.async_id(), Some(0x21));
    assert_eq!(p.status, NtStatus::STATUS_PENDING);
}

#[test]
fn negotiate_request_with_contexts() {
    let req = NegotiateRequest {
        dialects: vec![0x0202, 0x0210, 0x0300, 0x0302, 0x0311],
        security_mode: 1,
        capabilities: 0x7F,
        client_guid: [7; 16],
        contexts: vec![
            NegContext::PreauthIntegrity { seed: 1 },
            NegContext::Encryption(vec![2, 1]),
            NegContext::NetName("nas1.corp.example".into()),
            NegContext::Signing(vec![2, 1]),
        ],
    };
    let msg = message(&Header::request(Smb2Command::NEGOTIATE, 0), &req.body());
    let Ok(Body::NegotiateRequest(n)) = only(&msg).body else {
        panic!("not a negotiate request")
    };
    assert_eq!(n.dialects.last(), Some(&Dialect::SMB3_1_1));
    assert_eq!(n.client_guid, [7; 16]);
    assert!(n.capabilities.contains(Capabilities::ENCRYPTION));
    assert_eq!(n.error, None);
    assert_eq!(n.contexts.len(), 4);
    assert_eq!(
        n.contexts[1],
        NegotiateContext::Encryption {
            ciphers: vec![2, 1]
        }
    );
    assert_eq!(
        n.contexts[2],
        NegotiateContext::NetName("nas1.corp.example".into())
    );
}

#[test]
fn negotiate_response_with_buffer_and_contexts() {
    let resp = NegotiateResponse {
        dialect: 0x0311,
        security_mode: 3,
        server_guid: [2; 16],
        capabilities: 0x6F,
        max_size: 0x80_0000,
        system_time: filetime(super::super::START),
        server_start_time: 0,
        security_buffer: vec![0x60, 0],
        contexts: vec![
            NegContext::PreauthIntegrity { seed: 3 },
            NegContext::Encryption(vec![2]),
        ],
    };
    let h = Header::response_to(
        &Header::request(Smb2Command::NEGOTIATE, 0),
        NtStatus::STATUS_SUCCESS,
    );
    let msg = message(&h, &resp.body());
    let Ok(Body::NegotiateResponse(n)) = only(&msg).body else {
        panic!("not a negotiate response")
    };
    assert_eq!(n.dialect, Dialect::SMB3_1_1);
    assert!(n.security_mode.contains(SecurityMode::SIGNING_REQUIRED));
    assert!(n.capabilities.contains(Capabilities::ENCRYPTION));
    assert_eq!(n.security_buffer, Ok(&[0x60, 0][..]));
    assert_eq!(n.contexts.len(), 2);
    assert_eq!(n.error, None);
}

#[test]
fn session_and_tree_bodies() {
    let req = Header::request(Smb2Command::SESSION_SETUP, 1);
    let m = message(&req, &session_setup_request(1, 0, b"NTLMSSP\0abc"));
    let Ok(Body::SessionSetupRequest(s)) = only(&m).body else {
        panic!()
    };
    assert_eq!(s.security_buffer, Ok(&b"NTLMSSP\0abc"[..]));
    let m = message(
        &Header::response_to(&req, NtStatus::STATUS_SUCCESS),
        &session_setup_response(session_flags::IS_GUEST, &[]),
    );
    let Ok(Body::SessionSetupResponse(s)) = only(&m).body else {
        panic!()
    };
    assert!(s.session_flags.contains(SessionFlags::IS_GUEST));

    let req = Header::request(Smb2Command::TREE_CONNECT, 3);
    let m = message(&req, &tree_connect_request(r"\\nas1.corp.example\data"));
    let Ok(Body::TreeConnectRequest(t)) = only(&m).body else {
        panic!()
    };
    assert_eq!(t.path.as_deref(), Ok(r"\\nas1.corp.example\data"));
    let m = message(
        &Header::response_to(&req, NtStatus::STATUS_SUCCESS),
        &tree_connect_response(share_type::DISK, share_flags::ENCRYPT_DATA, 0, 0x1F01FF),
    );
    let Ok(Body::TreeConnectResponse(t)) = only(&m).body else {
        panic!()
    };
    assert_eq!(t.share_type, ShareType::DISK);
    assert!(t.share_flags.contains(ShareFlags::ENCRYPT_DATA));
    assert_eq!(t.maximal_access, 0x1F01FF);

    let m = message(
        &Header::response_to(&req, NtStatus::STATUS_BAD_NETWORK_NAME),
        &error_body(),
    );
    assert!(matches!(only(&m).body, Ok(Body::Error(_))));
}

#[test]
fn read_write_sizes() {
    let req = Header::request(Smb2Command::READ, 5);
    let m = message(
        &Header::response_to(&req, NtStatus::STATUS_SUCCESS),
        &read_response(&[1; 300]),
    );
    let Ok(Body::ReadResponse(r)) = only(&m).body else {
        panic!()
    };
    assert_eq!((r.data_offset, r.data_length), (0x50, 300));
    let m = message(
        &Header::request(Smb2Command::WRITE, 6),
        &write_request(file_id(1), 0, &[2; 100]),
    );
    let Ok(Body::WriteRequest(w)) = only(&m).body else {
        panic!()
    };
    assert_eq!((w.data_offset, w.length), (0x70, 100));
    let r = Header::response_to(
        &Header::request(Smb2Command::WRITE, 6),
        NtStatus::STATUS_SUCCESS,
    );
    let m = message(&r, &write_response(100));
    assert_eq!(only(&m).body, Ok(Body::HeaderOnly));
    assert_eq!(u32::from_le_bytes(m[68..72].try_into().unwrap()), 100);
}

#[test]
fn compound_chains_with_alignment() {
    let h = Header::request(Smb2Command::CREATE, 10);
    let c = compound(&[
        message(&h, &create_request("docs\\a.txt", false)),
        message(
            &Header::request(Smb2Command::QUERY_INFO, 11).related(),
            &query_info_request(RELATED_FILE_ID, 5, 24),
        ),
        message(
            &Header::request(Smb2Command::CLOSE, 12).related(),
            &close_request(RELATED_FILE_ID),
        ),
    ]);
    let all: Vec<_> = smb2::messages(&c).map(Result::unwrap).collect();
    assert_eq!(all.len(), 3);
    assert_eq!(all[1].offset % 8, 0);
    assert_eq!(all[2].offset % 8, 0);
    assert!(all[1].header.is_related() && all[2].header.is_related());
    assert_eq!(all[2].header.message_id, 12);
}

#[test]
fn transform_header_parses() {
    let t = transform(0x4400_0000_0021, 200, 4);
    let Ok(Smb2Pdu::Encrypted(th)) = smb2::parse_pdu(&t) else {
        panic!()
    };
    assert_eq!(th.session_id, 0x4400_0000_0021);
    assert_eq!(th.original_message_size, 200);
    assert_eq!(th.flags, 1);
    assert_eq!(th.ciphertext.len(), 200);
}

#[test]
fn smb1_negotiate_both_ways() {
    let m = smb1_negotiate_request(&SMB1_WINDOWS_DIALECTS);
    let p = smb1::parse(&m).unwrap();
    let Ok(Smb1Body::NegotiateRequest { dialects }) = p.body else {
        panic!()
    };
    assert_eq!(dialects, SMB1_WINDOWS_DIALECTS);
    let refusal = smb1_negotiate_no_dialect();
    let p = smb1::parse(&refusal).unwrap();
    assert!(p.header.is_response());
    assert!(matches!(
        p.body,
        Ok(Smb1Body::NegotiateResponse {
            dialect_index: smb1::NO_DIALECT,
            ..
        })
    ));
}

#[test]
fn nbss_session_request_names() {
    let r = nbss_session_request("nas1", "wks042");
    let (msg, used) = nbss::parse_message(&r).unwrap();
    assert_eq!(used, r.len());
    let NbssMessage::SessionRequest { called, calling } = msg else {
        panic!()
    };
    assert_eq!((called.name.as_str(), called.suffix), ("NAS1", 0x20));
    assert_eq!((calling.name.as_str(), calling.suffix), ("WKS042", 0));
    assert_eq!(
        nbss::parse_message(&nbss_positive_response()).unwrap().0,
        NbssMessage::PositiveResponse
    );
}
