//! Dissection cases: compounds, async, NetBIOS, segmentation, cuts and gaps.

use super::*;

/// `compound-request`: after setup and tree connect, one segment (frame 12) carries CREATE +
/// QUERY_INFO + CLOSE (message ids 4-6, the last two RELATED with the placeholder FileId),
/// answered by one compounded response (frame 13).
///
/// Expected: no finding; `dump --proto smb2` lists three requests in frame 12 and three
/// responses in frame 13.
pub(super) fn compound_request() -> Scenario {
    let mut s = nas1_session(0x0000_3000_0000_0061);
    s.tree_connect(
        "",
        r"\\nas1.corp.example\data",
        NtStatus::STATUS_SUCCESS,
        share_flags::MANUAL_CACHING,
        5,
    );
    let h1 = s.req(Smb2Command::CREATE);
    let h2 = s.req(Smb2Command::QUERY_INFO).related();
    let h3 = s.req(Smb2Command::CLOSE).related();
    let req = smb::compound(&[
        smb::message(&h1, &smb::create_request(r"reports\q3.txt", false)),
        smb::message(&h2, &smb::query_info_request(smb::RELATED_FILE_ID, 5, 24)),
        smb::message(&h3, &smb::close_request(smb::RELATED_FILE_ID)),
    ]);
    s.conn
        .client(us(900), role("compound_request"), &nbss_frame(&req));
    let fid = smb::file_id(0x61);
    let mut standard = Vec::new();
    standard.extend_from_slice(&4096u64.to_le_bytes()); // AllocationSize
    standard.extend_from_slice(&512u64.to_le_bytes()); // EndOfFile
    standard.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]); // links, pending, dir, reserved
    let r1 = s.resp(&h1, NtStatus::STATUS_SUCCESS);
    let r2 = s.resp(&h2, NtStatus::STATUS_SUCCESS).related();
    let r3 = s.resp(&h3, NtStatus::STATUS_SUCCESS).related();
    let resp = smb::compound(&[
        smb::message(
            &r1,
            &smb::create_response(fid, false, 512, smb::filetime(START)),
        ),
        smb::message(&r2, &smb::query_info_response(&standard)),
        smb::message(&r3, &smb::close_response()),
    ]);
    s.conn
        .server(us(700), role("compound_response"), &nbss_frame(&resp));
    s.conn.client_ack(ms(40), None);
    single("compound-request", s)
}

/// `async-pending`: after setup and a tree connect, CREATE of the `inbox` directory (12-13),
/// then a CHANGE_NOTIFY (message id 5, frame 14) answered at once by an interim
/// STATUS_PENDING response (async, AsyncId 0x31, frame 15), and 4 s later by the final
/// response with the same MessageId and AsyncId (frame 17).
///
/// Expected: no finding; the request is matched with the final response; the interim is not
/// an error.
pub(super) fn async_pending() -> Scenario {
    let mut s = nas1_session(0x0000_3000_0000_0065);
    s.tree_connect(
        "",
        r"\\nas1.corp.example\data",
        NtStatus::STATUS_SUCCESS,
        share_flags::MANUAL_CACHING,
        5,
    );
    let fid = smb::file_id(0x65);
    s.exchange(
        Smb2Command::CREATE,
        "create",
        us(900),
        &smb::create_request("inbox", true),
        NtStatus::STATUS_SUCCESS,
        &smb::create_response(fid, true, 0, smb::filetime(START)),
    );
    let h = s.req(Smb2Command::CHANGE_NOTIFY);
    s.send(
        us(300),
        role("change_notify_request"),
        &h,
        &smb::change_notify_request(fid),
    );
    // Interim responses are never signed ([MS-SMB2] 3.3.4.1.1).
    let interim = Header::response_to(&h, NtStatus::STATUS_PENDING).async_id(0x31);
    s.answer(
        us(200),
        role("interim_response"),
        &interim,
        &smb::error_body(),
    );
    s.conn.client_ack(ms(50), None);
    let done = s.resp(&h, NtStatus::STATUS_SUCCESS).async_id(0x31);
    s.answer(
        Duration::from_secs(4),
        role("final_response"),
        &done,
        &smb::change_notify_response("invoice-2231.pdf"),
    );
    s.conn.client_ack(ms(50), None);
    single("async-pending", s)
}

/// `netbios-139`: the client connects to port 139: NetBIOS SESSION REQUEST (called NAS1<20>,
/// calling WKS042<00>, frame 4) → POSITIVE SESSION RESPONSE (frame 5), then the usual SMB2
/// setup: NEGOTIATE 6-7, SESSION_SETUP 8-11, TREE_CONNECT `\\nas1.corp.example\data` 12-13.
///
/// Expected: no error or warning; SMB recognised on port 139 after the session request.
pub(super) fn netbios_139() -> Scenario {
    let conn = Conn::new((CLIENT_V4, 49_810).into(), (NAS1_V4, 139).into(), START);
    let mut s = Smb::new(conn, 0x0000_3000_0000_0069);
    s.conn.handshake();
    s.conn.client(
        us(100),
        role("session_request"),
        &smb::nbss_session_request("NAS1", "WKS042"),
    );
    s.conn.server(
        us(250),
        role("positive_response"),
        &smb::nbss_positive_response(),
    );
    s.negotiate(
        &windows_negotiate("nas1.corp.example"),
        &NAS1_PROFILE,
        &STANDALONE_MECHS,
    );
    let auth = ntlm_auth(NAS1, "cifs/nas1.corp.example", 0x0D0A);
    s.ntlm_session(&NAS1, &auth, NtStatus::STATUS_SUCCESS);
    s.tree_connect(
        "",
        r"\\nas1.corp.example\data",
        NtStatus::STATUS_SUCCESS,
        share_flags::MANUAL_CACHING,
        5,
    );
    s.conn.client_ack(ms(40), None);
    single("netbios-139", s)
}

/// `message-split-segments`: the AUTHENTICATE SESSION_SETUP request travels in 6 TCP
/// segments (frames 8-13; the message completes in frame 13), answered SUCCESS in 14, then
/// the tree connect (15-16).
///
/// Expected: no finding; the session setup request is attributed to frame 13.
pub(super) fn message_split_segments() -> Scenario {
    let mut s = nas1_negotiated(49_820, NAS1_V4, 0x0000_3000_0000_006D);
    s.ntlm_first_leg(&NAS1);
    let auth = ntlm_auth(NAS1, "cifs/nas1.corp.example", 0x0D0B);
    // Size the segments so the framed message needs exactly six.
    let h = s.ntlm_auth_request(&auth, auth_request_len(&auth).div_ceil(6));
    s.session_final(&h, NtStatus::STATUS_SUCCESS, 0, None);
    s.signing = true;
    s.tree_connect(
        "",
        r"\\nas1.corp.example\data",
        NtStatus::STATUS_SUCCESS,
        share_flags::MANUAL_CACHING,
        5,
    );
    s.conn.client_ack(ms(40), None);
    single("message-split-segments", s)
}

/// `several-messages-one-segment`: after a healthy setup and tree connect, the client
/// pipelines TREE_DISCONNECT and LOGOFF in one segment (frame 12), and the server answers
/// both in one segment (frame 13).
///
/// Expected: no finding; two SMB2 messages attributed to each of frames 12 and 13.
pub(super) fn several_messages_one_segment() -> Scenario {
    let mut s = nas1_session(0x0000_3000_0000_0071);
    s.tree_connect(
        "",
        r"\\nas1.corp.example\data",
        NtStatus::STATUS_SUCCESS,
        share_flags::MANUAL_CACHING,
        5,
    );
    let h1 = s.req(Smb2Command::TREE_DISCONNECT);
    s.tree_id = 0;
    let h2 = s.req(Smb2Command::LOGOFF);
    let both = [
        nbss_frame(&smb::message(&h1, &smb::empty_body())),
        nbss_frame(&smb::message(&h2, &smb::empty_body())),
    ]
    .concat();
    s.conn.client(ms(3), role("two_requests"), &both);
    let r1 = s.resp(&h1, NtStatus::STATUS_SUCCESS);
    let r2 = s.resp(&h2, NtStatus::STATUS_SUCCESS);
    let both = [
        nbss_frame(&smb::message(&r1, &smb::empty_body())),
        nbss_frame(&smb::message(&r2, &smb::empty_body())),
    ]
    .concat();
    s.conn.server(us(400), role("two_responses"), &both);
    s.conn.close_by_client(ms(5));
    single("several-messages-one-segment", s)
}

/// Keeps the packets from the one labelled `from` on, renumbering the key frames.
pub(super) fn start_at(mut sc: Scenario, name: &'static str, from: &str) -> Scenario {
    let first = sc.frame(from).expect("role exists");
    sc.packets.drain(..first - 1);
    sc.frames = sc
        .frames
        .into_iter()
        .filter(|f| f.1 >= first)
        .map(|(r, n)| (r, n + 1 - first))
        .collect();
    sc.name = name;
    sc
}

/// `midstream-start`: the capture starts after NEGOTIATE and SESSION_SETUP: frame 1 is the
/// signed TREE_CONNECT request `\\nas1.corp.example\dta`, answered STATUS_BAD_NETWORK_NAME
/// in frame 2; the TREE_DISCONNECT echo (3-4), LOGOFF (5-6), FIN follow.
///
/// Expected: `tree-connect-bad-network-name` (error), request 1, response 2, share
/// `\\nas1.corp.example\dta`, on a connection picked up mid-stream (no SYN).
pub(super) fn midstream_start() -> Scenario {
    start_at(
        tree_bad_network_name(),
        "midstream-start",
        "tree_connect_request",
    )
}

/// `snaplen-cut`: the `tree-bad-network-name` flow written with snaplen 128, so every SMB2
/// message is cut 70 bytes in (its 64-byte header and 6 bytes of body survive).
///
/// Expected: `tree-connect-bad-network-name` (error, request 10, response 11; the share
/// name is lost with the cut request body, the status survives) and `capture-incomplete`
/// (warning: snaplen 128 cut the setup messages).
pub(super) fn snaplen_cut() -> Scenario {
    let mut sc = tree_bad_network_name();
    sc.name = "snaplen-cut";
    sc.snaplen = 128;
    sc
}

/// `truncated-file`: the `smb2-healthy-ntlm` capture whose file ends halfway through the
/// record of the TREE_CONNECT response (frame 11); frames 1-10 are whole.
///
/// Expected: `capture-incomplete` (warning: truncated file), and no tree-connect finding;
/// the TREE_CONNECT request (frame 10) is left unanswered only because the file ends.
pub(super) fn truncated_file() -> Scenario {
    let mut sc = smb2_healthy_ntlm();
    sc.name = "truncated-file";
    let cut = sc
        .frame("tree_connect_response")
        .expect("healthy flow has a tree connect");
    sc.cut_in_frame = Some(cut);
    // Only the whole records before the cut are in the file.
    sc.frames.retain(|f| f.1 < cut);
    sc
}

/// `tcp-gap`: the AUTHENTICATE SESSION_SETUP request travels in two segments and the
/// capture lost the first (the server's ACK in the response covers it). Frames: handshake
/// 1-3, NEGOTIATE 4-5, first leg 6-7, second half of the AUTHENTICATE 8, SUCCESS response 9,
/// tree connect 10-11.
///
/// Expected: `capture-incomplete` (warning: a TCP gap inside the SESSION_SETUP exchange,
/// before frame 8 and acknowledged by the server in frame 9); the session and tree connect
/// still succeed, so no error.
pub(super) fn tcp_gap() -> Scenario {
    let mut s = nas1_negotiated(49_830, NAS1_V4, 0x0000_3000_0000_0075);
    s.ntlm_first_leg(&NAS1);
    let auth = ntlm_auth(NAS1, "cifs/nas1.corp.example", 0x0D0C);
    let before = s.conn.flow.items.len();
    let h = s.ntlm_auth_request(&auth, auth_request_len(&auth).div_ceil(2));
    s.conn.flow.items.remove(before);
    s.session_final(&h, NtStatus::STATUS_SUCCESS, 0, None);
    s.signing = true;
    s.tree_connect(
        "",
        r"\\nas1.corp.example\data",
        NtStatus::STATUS_SUCCESS,
        share_flags::MANUAL_CACHING,
        5,
    );
    s.conn.client_ack(ms(40), None);
    single("tcp-gap", s)
}
