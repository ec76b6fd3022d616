//! Healthy connections: NTLMSSP, Kerberos with SMB3 encryption, NTLM by name.

use super::*;

/// `smb2-healthy-ntlm`: WKS042 → nas1 (signing required), 3.1.1, NTLMSSP in two legs
/// (MORE_PROCESSING_REQUIRED then SUCCESS, signed), TREE_CONNECT `\\nas1.corp.example\data`,
/// CREATE/READ 512 bytes/CLOSE, TREE_DISCONNECT, LOGOFF, FIN.
///
/// Expected: no error or warning. Negotiate request 4 / response 5; session setup 6-7 and
/// 8-9 (session 0x0000300000000015); tree connect 10-11 (tree 5).
pub(super) fn smb2_healthy_ntlm() -> Scenario {
    let mut s = nas1_session(0x0000_3000_0000_0015);
    s.tree_connect(
        "",
        r"\\nas1.corp.example\data",
        NtStatus::STATUS_SUCCESS,
        share_flags::MANUAL_CACHING,
        5,
    );
    s.read_file(r"reports\q3.txt", 512, 0x51);
    s.tree_disconnect_and_logoff(NtStatus::STATUS_SUCCESS);
    s.conn.close_by_client(ms(5));
    single("smb2-healthy-ntlm", s)
}

/// `kerberos-skipped-ntlm`: WKS042 → fs1.corp.example, a domain member that offers Kerberos
/// (MS KRB5, KRB5, NegoEx, NTLMSSP), but the client asks the KDC for nothing and logs on with
/// NTLMSSP for `cifs/fs1.corp.example` (success), then maps `\\fs1.corp.example\projects`.
/// A second connection from WKS017 reaches fs1 by address (`\\192.0.2.21\projects`), where
/// NTLM is what Windows does by design.
///
/// Expected: one warning `kerberos-fallback-ntlm` on the WKS042 connection ("without trying
/// Kerberos"; negotiate response 5, request 6), nothing for the connection by address.
pub(super) fn kerberos_skipped_ntlm() -> Scenario {
    let by_name = fs1_ntlm_visit(CLIENT_V4, 49_741, START, "fs1.corp.example", 0x31);
    let by_address = fs1_ntlm_visit(WKS017_V4, 50_112, START + ms(40), "192.0.2.21", 0x35);
    finish(
        "kerberos-skipped-ntlm",
        Link::default(),
        vec![by_name.conn.flow, by_address.conn.flow],
    )
}

/// `kerberos-skipped-ntlm-repeated`: as the WKS042 connection of `kerberos-skipped-ntlm`,
/// three times, 2 s apart: each connection from WKS042 (ports 49847-49849) names
/// fs1.corp.example, whose NEGOTIATE response offers Kerberos, logs on with NTLMSSP for
/// `cifs/fs1.corp.example` (success) and maps `\\fs1.corp.example\projects`; no Kerberos
/// request appears in the capture. Each connection is 18 frames (handshake to FIN):
/// negotiate responses 5, 23, 41; session setup responses 9, 27, 45.
///
/// Expected: `kerberos-fallback-ntlm` (warning) "without trying Kerberos", once per
/// connection or once for the client and server with the three occurrences; no error.
/// Roles: first_session 9, last_session 45; the other roles are prefixed `1.`, `2.`, `3.`.
pub(super) fn kerberos_skipped_ntlm_repeated() -> Scenario {
    let mut flows = Vec::new();
    let mut start = START;
    for (i, (port, seed)) in [(49_847, 0x39), (49_848, 0x3D), (49_849, 0x41)]
        .into_iter()
        .enumerate()
    {
        let mut s = fs1_ntlm_visit(CLIENT_V4, port, start, "fs1.corp.example", seed);
        start = s.conn.now() + Duration::from_secs(2);
        let keep: &[(&str, &str)] = match i {
            0 => &[("session_setup_response", "first_session")],
            2 => &[("session_setup_response", "last_session")],
            _ => &[],
        };
        relabel(&mut s.conn.flow, &format!("{}.", i + 1), keep);
        flows.push(s.conn.flow);
    }
    finish("kerberos-skipped-ntlm-repeated", Link::default(), flows)
}

/// A client that names fs1 `host` and logs on with NTLMSSP (no Kerberos), maps
/// `\\host\projects`, disconnects and closes. `seed` varies the session id and NTLM bytes.
pub(super) fn fs1_ntlm_visit(
    client: Ipv4Addr,
    port: u16,
    start: Timestamp,
    host: &str,
    seed: u32,
) -> Smb {
    let mut s = Smb::new(
        smb_conn(client, port, FS1_V4, start),
        0x0000_4400_0000_0000 | u64::from(seed),
    );
    s.conn.handshake();
    s.negotiate(&windows_negotiate(host), &FS1_PROFILE, &WINDOWS_MECHS);
    let target = format!("cifs/{host}");
    let auth = ntlm_auth(FS1, &target, 0x0D00 | seed);
    s.ntlm_session(&FS1, &auth, NtStatus::STATUS_SUCCESS);
    s.tree_connect(
        "",
        &format!(r"\\{host}\projects"),
        NtStatus::STATUS_SUCCESS,
        share_flags::MANUAL_CACHING,
        3,
    );
    s.tree_disconnect_and_logoff(NtStatus::STATUS_SUCCESS);
    s.conn.close_by_client(ms(5));
    s
}

/// `smb3-healthy-kerberos-encrypted`: DNS A fs1.corp.example → 192.0.2.21; AS-REQ without
/// pre-auth → KDC_ERR_PREAUTH_REQUIRED (25) → AS-REQ with PA-ENC-TIMESTAMP → AS-REP;
/// TGS-REQ cifs/fs1.corp.example → TGS-REP, all over UDP 88; SMB 3.1.1 with fs1, one
/// SESSION_SETUP carrying the SPNEGO/krb5 AP-REQ answered SUCCESS with the AP-REP; TREE_CONNECT
/// `\\fs1.corp.example\finance` with ShareFlags ENCRYPT_DATA; then only transform-header
/// (encrypted) traffic.
///
/// Expected: no error or warning; `kerberos-preauth-required` (info) for frames 3/4;
/// `smb-encrypted` (info) from frame 19. DNS 1-2, AS 3-6, TGS 7-8 (sname
/// cifs/fs1.corp.example), SMB handshake 9-11, negotiate 12-13, session setup request 15
/// (segments 14-15, AP-REQ) and response 16 (AP-REP, signed), tree connect 17-18 (ShareFlags
/// 0x8000), encrypted 19-24.
pub(super) fn smb3_healthy_kerberos_encrypted() -> Scenario {
    let (dns_flow, t) = dns_lookup(
        START,
        "fs1.corp.example",
        &[dns::Answer::Addr {
            owner: "fs1.corp.example",
            addr: IpAddr::V4(FS1_V4),
        }],
        0x3c01,
    );
    let (mut flows, t) = as_exchange(t + ms(3), &as_reply(1040), "as_rep");
    let (tgs, t) = udp_krb(
        kdc(61_203, t + ms(1)),
        &tgs_request(&["cifs", "fs1.corp.example"], 0x7E55_0001),
        "tgs_req",
        &tgs_reply("fs1.corp.example"),
        "tgs_rep",
        ms(2),
    );
    flows.push(tgs);
    flows.push(dns_flow);

    let mut s = Smb::new(
        smb_conn(CLIENT_V4, 49_733, FS1_V4, t + ms(1)),
        0x0000_4400_0000_0021,
    );
    s.conn.handshake();
    s.negotiate(
        &windows_negotiate("fs1.corp.example"),
        &FS1_PROFILE,
        &WINDOWS_MECHS,
    );
    kerberos_session(&mut s, "fs1.corp.example", 0);
    s.signing = true;
    s.tree_connect(
        "",
        r"\\fs1.corp.example\finance",
        NtStatus::STATUS_SUCCESS,
        share_flags::ENCRYPT_DATA,
        1,
    );
    // From here on every message on this tree travels encrypted.
    let sid = s.session_id;
    for (i, (req_len, resp_len)) in [(184u32, 232u32), (113, 720), (88, 124)].iter().enumerate() {
        let i = i as u32;
        s.conn.client(
            us(800),
            role(&format!("encrypted_request_{}", i + 1)),
            &nbss_frame(&smb::transform(sid, *req_len, 0xE0 + 2 * i)),
        );
        s.conn.server(
            us(450),
            role(&format!("encrypted_response_{}", i + 1)),
            &nbss_frame(&smb::transform(sid, *resp_len, 0xE1 + 2 * i)),
        );
    }
    s.conn.client_ack(ms(40), None);
    flows.push(s.conn.flow);
    finish("smb3-healthy-kerberos-encrypted", Link::default(), flows)
}
