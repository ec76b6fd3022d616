//! Negotiate: timeouts, refusals, SMB1.

use super::*;

/// Handshake and a NEGOTIATE that the server's TCP stack ACKs 200 µs later, and nothing more.
pub(super) fn unanswered_negotiate() -> Conn {
    let mut c = smb_conn(CLIENT_V4, 49_740, NAS1_V4, START);
    c.handshake();
    let h = Header::request(Smb2Command::NEGOTIATE, 0).charge(0);
    let msg = smb::message(&h, &windows_negotiate("nas1.corp.example").body());
    c.client(us(120), role("negotiate_request"), &nbss_frame(&msg));
    c.server_ack(us(200), role("ack"));
    c
}

/// `negotiate-timeout` — the seed article's symptom: NEGOTIATE (frame 4) ACKed by the
/// server 200 µs later (frame 5), never answered; the client resets the connection 60 s
/// after the request (frame 6, RST+ACK from the client).
///
/// Expected: `negotiate-timeout` (error), frames request 4, ack 5 (delay 200 µs), reset 6,
/// ended by the client with RST after 60 s.
pub(super) fn negotiate_timeout() -> Scenario {
    let mut c = unanswered_negotiate();
    c.client_rst(Duration::from_secs(60) - us(200));
    finish("negotiate-timeout", Link::default(), vec![c.flow])
}

/// `negotiate-timeout-fin`: as `negotiate-timeout`, but the client gives up after 20 s with
/// a FIN (frame 6), which the server's stack ACKs (frame 7) without closing its side.
///
/// Expected: `negotiate-timeout` (error), frames request 4, ack 5, fin 6; closed by the
/// client with FIN after 20 s.
pub(super) fn negotiate_timeout_fin() -> Scenario {
    let mut c = unanswered_negotiate();
    c.tcp.advance(Duration::from_secs(20) - us(200));
    let fin = c.tcp.fin_from_client();
    c.flow.add(role("fin"), vec![fin]);
    c.server_ack(us(190), None);
    finish("negotiate-timeout-fin", Link::default(), vec![c.flow])
}

/// `negotiate-no-response`: NEGOTIATE (frame 4) ACKed (frame 5); the capture ends 5 s after
/// the request with the connection still open (the last frames, 6-7, are an unrelated DNS
/// lookup of dc01.corp.example).
///
/// Expected: `negotiate-no-response` (warning), request 4, ack 5; no reset or close.
pub(super) fn negotiate_no_response() -> Scenario {
    let c = unanswered_negotiate();
    // Something else the client does 5 s later marks the end of the capture.
    let (dns_flow, _) = dns_lookup(
        c.now() + (Duration::from_secs(5) - us(200)),
        "dc01.corp.example",
        &[dns::Answer::Addr {
            owner: "dc01.corp.example",
            addr: IpAddr::V4(DC01_V4),
        }],
        0x6e01,
    );
    finish(
        "negotiate-no-response",
        Link::default(),
        vec![c.flow, dns_flow],
    )
}

/// `negotiate-not-supported`: a client hardened to SMB 3.1.1 only meets a server without
/// 3.1.1; the server answers the NEGOTIATE (frame 4) with STATUS_NOT_SUPPORTED (frame 5,
/// [MS-SMB2] 3.3.5.4: no common dialect), and the client closes with FIN (frame 6).
///
/// Expected: `negotiate-failed` (error), request 4, response 5, status 0xc00000bb
/// STATUS_NOT_SUPPORTED.
pub(super) fn negotiate_not_supported() -> Scenario {
    let mut s = Smb::new(smb_conn(CLIENT_V4, 49_741, NAS1_V4, START), 0);
    s.conn.handshake();
    let mut req = windows_negotiate("nas1.corp.example");
    req.dialects = vec![0x0311];
    let h = Header::request(Smb2Command::NEGOTIATE, 0).charge(0);
    s.send(us(120), role("negotiate_request"), &h, &req.body());
    let r = Header::response_to(&h, NtStatus::STATUS_NOT_SUPPORTED);
    s.answer(us(390), role("negotiate_response"), &r, &smb::error_body());
    s.conn.close_by_client(us(600));
    single("negotiate-not-supported", s)
}

/// The dialects of an SMB1-only client (an old NAS, scanner or Windows XP): up to "NT LM
/// 0.12", no "SMB 2.002" or "SMB 2.???".
pub(super) const SMB1_ONLY_DIALECTS: [&str; 6] = [
    "PC NETWORK PROGRAM 1.0",
    "LANMAN1.0",
    "Windows for Workgroups 3.1a",
    "LM1.2X002",
    "LANMAN2.1",
    "NT LM 0.12",
];

/// `smb1-only-refused`: an SMB1-only client (dialects up to "NT LM 0.12", no "SMB 2.x")
/// sends an SMB1 NEGOTIATE (frame 4) to a server with SMB1 disabled, which answers
/// DialectIndex 0xFFFF (frame 5, no common dialect) and closes with FIN (frame 6).
///
/// Expected: `negotiate-failed` (error), request 4, response 5, SMB1 peer refused (no
/// common dialect).
pub(super) fn smb1_only_refused() -> Scenario {
    let mut c = smb_conn(CLIENT_V4, 1_042, NAS1_V4, START);
    c.handshake();
    c.client(
        us(150),
        role("negotiate_request"),
        &nbss_frame(&smb::smb1_negotiate_request(&SMB1_ONLY_DIALECTS)),
    );
    c.server(
        us(330),
        role("negotiate_response"),
        &nbss_frame(&smb::smb1_negotiate_no_dialect()),
    );
    c.close_by_server(us(60));
    finish("smb1-only-refused", Link::default(), vec![c.flow])
}

/// `smb1-upgrade`: a Windows client opens with the SMB1 multi-protocol NEGOTIATE ("NT LM
/// 0.12", "SMB 2.002", "SMB 2.???", frame 4); the server answers with an SMB2 NEGOTIATE
/// response of dialect 0x02FF (frame 5); the client sends the SMB2 NEGOTIATE (message id 1,
/// frame 6), gets 3.1.1 (frame 7), and completes an NTLMSSP session and a tree connect to
/// `\\nas1.corp.example\data`.
///
/// Expected: no error or warning; the upgrade is understood (dialect 2.??? then 3.1.1).
pub(super) fn smb1_upgrade() -> Scenario {
    let mut s = Smb::new(
        smb_conn(CLIENT_V4, 49_742, NAS1_V4, START),
        0x0000_3000_0000_0019,
    );
    s.conn.handshake();
    s.conn.client(
        us(130),
        role("smb1_negotiate_request"),
        &nbss_frame(&smb::smb1_negotiate_request(&smb::SMB1_WINDOWS_DIALECTS)),
    );
    let wildcard = ServerProfile {
        dialect: 0x02FF,
        ..NAS1_PROFILE
    };
    let h = Header::request(Smb2Command::NEGOTIATE, 0).charge(0);
    let r = Header::response_to(&h, NtStatus::STATUS_SUCCESS);
    let body = negotiate_response(&wildcard, s.conn.now(), &STANDALONE_MECHS);
    s.answer(us(420), role("smb2_wildcard_response"), &r, &body);
    s.next_id = 1;
    s.negotiate(
        &windows_negotiate("nas1.corp.example"),
        &NAS1_PROFILE,
        &STANDALONE_MECHS,
    );
    let auth = ntlm_auth(NAS1, "cifs/nas1.corp.example", 0x0D02);
    s.ntlm_session(&NAS1, &auth, NtStatus::STATUS_SUCCESS);
    s.tree_connect(
        "",
        r"\\nas1.corp.example\data",
        NtStatus::STATUS_SUCCESS,
        share_flags::MANUAL_CACHING,
        1,
    );
    s.conn.client_ack(ms(30), None);
    single("smb1-upgrade", s)
}

/// Handshake with fs1 from `port` and the SMB1-only NEGOTIATE (role `request`), which the
/// server, a Windows server with SMB1 disabled, answers 30 µs later with RST+ACK (role
/// `reset`): no SMB reply, no ACK of its own before it, no FIN.
pub(super) fn smb1_negotiate_reset(port: u16, start: Timestamp) -> Conn {
    let mut c = smb_conn(CLIENT_V4, port, FS1_V4, start);
    c.handshake();
    c.client(
        us(150),
        role("request"),
        &nbss_frame(&smb::smb1_negotiate_request(&SMB1_ONLY_DIALECTS)),
    );
    c.step(us(30), role("reset"), TcpConversation::rst_from_server);
    c
}

/// `negotiate-smb1-reset`: an SMB1-only client (dialects up to "NT LM 0.12", no "SMB 2.x")
/// sends its SMB1 NEGOTIATE to fs1:445 (frame 4); fs1, a Windows server with SMB1 disabled,
/// answers 30 µs later with a TCP RST+ACK (frame 5) and no SMB response.
///
/// Expected: a negotiate failure on frames 4/5 explaining that the server reset the
/// connection at an SMB1-only NEGOTIATE (SMB1 disabled on the server; the client must speak
/// SMB2 or the server re-enable SMB1); not a TCP connect failure (the handshake, 1-3,
/// succeeded). Roles: request 4, reset 5.
pub(super) fn negotiate_smb1_reset() -> Scenario {
    let c = smb1_negotiate_reset(49_844, START);
    finish("negotiate-smb1-reset", Link::default(), vec![c.flow])
}

/// `negotiate-smb1-reset-then-smb2`: as `negotiate-smb1-reset` (SMB1-only NEGOTIATE frame 4,
/// RST+ACK from fs1 frame 5), then 50 ms later the same client connects again from a new
/// port and sets up SMB 3.1.1 with fs1: NEGOTIATE (9-10), NTLMSSP SESSION_SETUP in two legs
/// (11-14, success in 14), TREE_CONNECT `\\192.0.2.21\projects` (15-16), TREE_DISCONNECT,
/// LOGOFF and FIN. The second connection names fs1 by address, so its NTLM is by design and
/// not a Kerberos fallback.
///
/// Expected: the SMB1 reset reported on frames 4/5 (at most a warning, since the same client
/// then reached the server with SMB2), and nothing against the SMB2 connection. Roles:
/// request 4, reset 5, session 14; the SMB2 connection's other roles are prefixed `smb2.`.
pub(super) fn negotiate_smb1_reset_then_smb2() -> Scenario {
    let mut refused = smb1_negotiate_reset(49_845, START);
    let start = refused.now() + ms(50);
    relabel(
        &mut refused.flow,
        "smb1.",
        &[("request", "request"), ("reset", "reset")],
    );
    let mut s = fs1_ntlm_visit(CLIENT_V4, 49_846, start, "192.0.2.21", 0x45);
    relabel(
        &mut s.conn.flow,
        "smb2.",
        &[("session_setup_response", "session")],
    );
    finish(
        "negotiate-smb1-reset-then-smb2",
        Link::default(),
        vec![refused.flow, s.conn.flow],
    )
}

/// `server-silent-after-ack`: nas1 completes the handshake and its TCP stack ACKs every
/// request 200 µs later, but the SMB server never answers. The client sends NEGOTIATE (frame
/// 4, ACK 5), then, pipelining as a misbehaving client does, a SESSION_SETUP with the NTLM
/// NEGOTIATE 3 s later (6, ACK 7) and TREE_CONNECTs to `\\nas1.corp.example\IPC$` at 8 s
/// (8, ACK 9) and `\\nas1.corp.example\data` at 13 s (10, ACK 11); none is answered. The
/// client resets the connection 60 s after the NEGOTIATE (frame 12, RST+ACK from the client).
///
/// Expected: `negotiate-timeout` (error) on request 4, ack 5, reset 12: the NEGOTIATE was
/// never answered; the later requests are further evidence that the server's stack is alive
/// and its SMB service hung, not separate session or tree-connect failures. Roles:
/// negotiate 4, session_setup 6, tree1 8, tree2 10, reset 12.
pub(super) fn server_silent_after_ack() -> Scenario {
    let mut s = Smb::new(smb_conn(CLIENT_V4, 49_842, NAS1_V4, START), 0);
    s.conn.handshake();
    s.negotiate_request(&windows_negotiate("nas1.corp.example"), role("negotiate"));
    let sent = s.conn.now();
    s.conn.server_ack(us(200), None);
    s.conn.tcp.at(sent + Duration::from_secs(3));
    s.ntlm_first_request(Duration::ZERO, role("session_setup"));
    s.conn.server_ack(us(200), None);
    for (r, at, share) in [("tree1", 8, "IPC$"), ("tree2", 13, "data")] {
        s.conn.tcp.at(sent + Duration::from_secs(at));
        let h = s.req(Smb2Command::TREE_CONNECT);
        let path = format!(r"\\nas1.corp.example\{share}");
        s.send(
            Duration::ZERO,
            role(r),
            &h,
            &smb::tree_connect_request(&path),
        );
        s.conn.server_ack(us(200), None);
    }
    s.conn.tcp.at(sent + Duration::from_secs(60));
    s.conn.client_rst(Duration::ZERO);
    single("server-silent-after-ack", s)
}
