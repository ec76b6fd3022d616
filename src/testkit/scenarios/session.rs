//! Session setup: logon failures, silence, hardening, guest, signing.

use super::*;

pub(super) fn nas1_negotiated(port: u16, server: Ipv4Addr, session_id: u64) -> Smb {
    let mut s = Smb::new(smb_conn(CLIENT_V4, port, server, START), session_id);
    s.conn.handshake();
    s.negotiate(
        &windows_negotiate("nas1.corp.example"),
        &NAS1_PROFILE,
        &STANDALONE_MECHS,
    );
    s
}

/// `session-logon-failure-ntlm`: NTLMSSP AUTHENTICATE for CORP\dwright from WKS042 (frame 8)
/// answered STATUS_LOGON_FAILURE (frame 9); the client closes with FIN (frame 10).
///
/// Expected: `session-setup-failed` (error), request 8, response 9, status 0xc000006d
/// STATUS_LOGON_FAILURE, user CORP\dwright, workstation WKS042.
pub(super) fn session_logon_failure_ntlm() -> Scenario {
    let mut s = nas1_negotiated(49_760, NAS1_V4, 0x0000_3000_0000_0031);
    let auth = ntlm_auth(NAS1, "cifs/nas1.corp.example", 0x0D03);
    s.ntlm_session(&NAS1, &auth, NtStatus::STATUS_LOGON_FAILURE);
    s.conn.close_by_client(ms(3));
    single("session-logon-failure-ntlm", s)
}

/// `session-no-response`: the AUTHENTICATE leg (frame 8) is ACKed by the server (frame 9)
/// but never answered; the client resets the connection 30 s later (frame 10).
///
/// Expected: `session-setup-no-response` (error), request 8, ack 9, reset 10.
pub(super) fn session_no_response() -> Scenario {
    let mut s = nas1_negotiated(49_761, NAS1_V4, 0x0000_3000_0000_0035);
    s.ntlm_first_leg(&NAS1);
    let auth = ntlm_auth(NAS1, "cifs/nas1.corp.example", 0x0D04);
    s.ntlm_auth_request(&auth, 1460);
    s.conn.server_ack(us(210), role("ack"));
    s.conn.client_rst(Duration::from_secs(30));
    single("session-no-response", s)
}

/// `session-server-fin`: NEGOTIATE answered (4-5); the first SESSION_SETUP request (the NTLM
/// NEGOTIATE, frame 6) is ACKed by nas1 210 µs later (frame 7) but never answered, and 1 s
/// after the request the server closes the connection with FIN+ACK (frame 8); the client
/// closes its side (FIN+ACK, frame 9) and the server ACKs it (frame 10).
///
/// Expected: a session-setup failure without response, request 6, ack 7, ended by the
/// server with FIN after 1 s (not by a client timeout). Roles: request 6, ack 7, fin 8
/// (the server's FIN; the client's is `client_fin`, 9).
pub(super) fn session_server_fin() -> Scenario {
    let mut s = nas1_negotiated(49_843, NAS1_V4, 0x0000_3000_0000_0079);
    s.ntlm_first_request(us(900), role("request"));
    s.conn.server_ack(us(210), role("ack"));
    s.conn.step(
        Duration::from_secs(1) - us(210),
        role("fin"),
        TcpConversation::fin_from_server,
    );
    s.conn
        .step(us(90), role("client_fin"), TcpConversation::fin_from_client);
    s.conn.step(us(160), None, TcpConversation::ack_from_server);
    single("session-server-fin", s)
}

/// `session-access-denied-hardening`: the client reaches nas1 through the NAT address
/// 198.51.100.5, so its AUTHENTICATE (frame 8) carries MsvAvTargetName `cifs/198.51.100.5`,
/// a name the server does not own; with SmbServerNameHardeningLevel set the server answers
/// STATUS_ACCESS_DENIED (frame 9).
///
/// Expected: `session-setup-failed` (error), request 8, response 9, status 0xc0000022
/// STATUS_ACCESS_DENIED, spn cifs/198.51.100.5, user CORP\dwright; hint: SMB server name
/// hardening.
pub(super) fn session_access_denied_hardening() -> Scenario {
    let mut s = nas1_negotiated(49_762, NAS1_NAT_V4, 0x0000_3000_0000_0039);
    let auth = ntlm_auth(NAS1, "cifs/198.51.100.5", 0x0D05);
    s.ntlm_session(&NAS1, &auth, NtStatus::STATUS_ACCESS_DENIED);
    s.conn.close_by_client(ms(2));
    single("session-access-denied-hardening", s)
}

/// `session-guest`: the server maps the unknown user to Guest: the final SESSION_SETUP
/// response (frame 9) succeeds with SessionFlags IS_GUEST (unsigned, as guest sessions have
/// no key); the tree connect to `\\nas1.corp.example\public` (frames 10-11) succeeds.
///
/// Expected: a guest-session note on the session setup response 9 (no error).
pub(super) fn session_guest() -> Scenario {
    let mut s = nas1_negotiated(49_763, NAS1_V4, 0x0000_3000_0000_003D);
    s.ntlm_first_leg(&NAS1);
    let auth = NtlmAuth {
        user: "scanner",
        ..ntlm_auth(NAS1, "cifs/nas1.corp.example", 0x0D06)
    };
    let h = s.ntlm_auth_request(&auth, 1460);
    s.session_final(
        &h,
        NtStatus::STATUS_SUCCESS,
        smb::session_flags::IS_GUEST,
        None,
    );
    s.tree_connect(
        "",
        r"\\nas1.corp.example\public",
        NtStatus::STATUS_SUCCESS,
        share_flags::MANUAL_CACHING,
        9,
    );
    s.conn.client_ack(ms(40), None);
    single("session-guest", s)
}

/// `signing-invalid-signature`: the session is established (frame 9, signed) with a
/// third-party NAS whose signing is broken; the client's signed TREE_CONNECT (frame 10) is
/// answered STATUS_INVALID_SIGNATURE (frame 11) and the client drops the connection (RST,
/// frame 12).
///
/// Expected: `signing-problem` (error), request 10, response 11, status 0xc000a000
/// STATUS_INVALID_SIGNATURE; session setup itself succeeded.
pub(super) fn signing_invalid_signature() -> Scenario {
    let mut s = nas1_session(0x0000_3000_0000_0041);
    s.tree_connect(
        "",
        r"\\nas1.corp.example\data",
        NtStatus::STATUS_INVALID_SIGNATURE,
        0,
        0,
    );
    s.conn.client_rst(us(300));
    single("signing-invalid-signature", s)
}
