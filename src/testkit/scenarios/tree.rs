//! Tree connect: bad share names, access denied, encryption required.

use super::*;

/// `tree-bad-network-name`: after a good NTLMSSP session, TREE_CONNECT
/// `\\nas1.corp.example\dta` (frame 10) → STATUS_BAD_NETWORK_NAME (frame 11); the client's
/// TREE_DISCONNECT (12) is answered STATUS_NETWORK_NAME_DELETED (13) — an echo of the
/// failure —, then LOGOFF (14-15) and FIN.
///
/// Expected: exactly one `tree-connect-bad-network-name` (error), request 10, response 11,
/// share `\\nas1.corp.example\dta`; nothing for frame 13.
pub(super) fn tree_bad_network_name() -> Scenario {
    let mut s = nas1_session(0x0000_3000_0000_0045);
    bad_name_tail(&mut s);
    single("tree-bad-network-name", s)
}

pub(super) fn bad_name_tail(s: &mut Smb) {
    s.tree_connect(
        "",
        r"\\nas1.corp.example\dta",
        NtStatus::STATUS_BAD_NETWORK_NAME,
        0,
        0,
    );
    s.tree_disconnect_and_logoff(NtStatus::STATUS_NETWORK_NAME_DELETED);
    s.conn.close_by_client(ms(3));
}

/// `tree-access-denied`: TREE_CONNECT `\\nas1.corp.example\hr` (frame 10) →
/// STATUS_ACCESS_DENIED (frame 11), on a 3.1.1 connection whose client can encrypt (so not
/// an encryption problem); the TREE_DISCONNECT echo (12-13) gets NETWORK_NAME_DELETED.
///
/// Expected: `tree-connect-access-denied` (error), request 10, response 11, share
/// `\\nas1.corp.example\hr`.
pub(super) fn tree_access_denied() -> Scenario {
    let mut s = nas1_session(0x0000_3000_0000_0049);
    s.tree_connect(
        "",
        r"\\nas1.corp.example\hr",
        NtStatus::STATUS_ACCESS_DENIED,
        0,
        0,
    );
    s.tree_disconnect_and_logoff(NtStatus::STATUS_NETWORK_NAME_DELETED);
    s.conn.close_by_client(ms(3));
    single("tree-access-denied", s)
}

/// `encryption-required-smb21`, captured at the server's switch port. First WKS017
/// (192.0.2.11, SMB 3.1.1) connects to `\\nas1.corp.example\finance` and the tree connect
/// response shows ShareFlags ENCRYPT_DATA (frame 11), after which its traffic is encrypted.
/// Then WKS042 (192.0.2.10), a Windows 7 client offering only 2.0.2 and 2.1 and no
/// encryption capability, negotiates 2.1, connects `\\nas1.corp.example\public` fine, and
/// its TREE_CONNECT to `\\nas1.corp.example\finance` (frame 25) is answered
/// STATUS_ACCESS_DENIED (frame 26). WKS042's NEGOTIATE is 17-18, its `public` tree connect
/// 23-24.
///
/// Expected: `encryption-required` (error) on the 192.0.2.10 connection, with the evidence
/// that the same share announced ENCRYPT_DATA to 192.0.2.11 and that this client negotiated
/// 2.1 without encryption; no `tree-connect-access-denied` in addition.
pub(super) fn encryption_required_smb21() -> Scenario {
    // WKS017, a Windows 10 client: encrypted share works.
    let conn = Conn::new((WKS017_V4, 50_112).into(), (NAS1_V4, 445).into(), START);
    let mut a = Smb::new(conn, 0x0000_3000_0000_0055);
    a.conn.tcp = a.conn.tcp.clone().with_link(Link::Ethernet {
        client: WKS017_MAC,
        server: crate::testkit::SERVER_MAC,
        vlan: crate::testkit::Vlan::Untagged,
    });
    a.conn.handshake();
    a.negotiate(
        &windows_negotiate("nas1.corp.example"),
        &NAS1_PROFILE,
        &STANDALONE_MECHS,
    );
    let auth = NtlmAuth {
        user: "aturner",
        workstation: "WKS017",
        ..ntlm_auth(NAS1, "cifs/nas1.corp.example", 0x0D08)
    };
    a.ntlm_session(&NAS1, &auth, NtStatus::STATUS_SUCCESS);
    a.tree_connect(
        "a.",
        r"\\nas1.corp.example\finance",
        NtStatus::STATUS_SUCCESS,
        share_flags::ENCRYPT_DATA,
        1,
    );
    let sid = a.session_id;
    a.conn
        .client(us(700), None, &nbss_frame(&smb::transform(sid, 184, 0xF0)));
    a.conn
        .server(us(400), None, &nbss_frame(&smb::transform(sid, 232, 0xF1)));

    // WKS042, Windows 7: SMB 2.1 at most, no encryption.
    let mut b = Smb::new(
        smb_conn(CLIENT_V4, 49_800, NAS1_V4, a.conn.now() + ms(250)),
        0x0000_3000_0000_0059,
    );
    b.conn.handshake();
    let req = smb::NegotiateRequest {
        dialects: vec![0x0202, 0x0210],
        security_mode: 1,
        capabilities: 0x0000_0001,
        client_guid: guid(0x0007),
        contexts: Vec::new(),
    };
    let profile = ServerProfile {
        dialect: 0x0210,
        capabilities: 0x0000_0007,
        ..NAS1_PROFILE
    };
    b.negotiate(&req, &profile, &STANDALONE_MECHS);
    let auth = ntlm_auth(NAS1, "cifs/nas1.corp.example", 0x0D09);
    b.ntlm_session(&NAS1, &auth, NtStatus::STATUS_SUCCESS);
    b.tree_connect(
        "b.public.",
        r"\\nas1.corp.example\public",
        NtStatus::STATUS_SUCCESS,
        share_flags::MANUAL_CACHING,
        1,
    );
    b.tree_connect(
        "b.",
        r"\\nas1.corp.example\finance",
        NtStatus::STATUS_ACCESS_DENIED,
        0,
        0,
    );
    b.conn.client_ack(ms(40), None);
    prefix_roles(&mut a.conn.flow, "a.");
    prefix_roles(&mut b.conn.flow, "b.");
    finish(
        "encryption-required-smb21",
        Link::default(),
        vec![a.conn.flow, b.conn.flow],
    )
}

/// Prefixes the roles of a flow not already prefixed, to tell two connections apart.
pub(super) fn prefix_roles(flow: &mut Flow, prefix: &str) {
    for (_, r) in flow.items.iter_mut() {
        if let Some(name) = r {
            if !name.starts_with(prefix) {
                *name = format!("{prefix}{name}");
            }
        }
    }
}

/// Renames the roles of a flow listed in `keep` (from, to) and prefixes every other role
/// with `prefix`, so that the key frames of several connections in one capture stay apart
/// and the ones a scenario is about keep short names.
pub(super) fn relabel(flow: &mut Flow, prefix: &str, keep: &[(&str, &str)]) {
    for (_, r) in flow.items.iter_mut() {
        if let Some(name) = r {
            *name = match keep.iter().find(|(from, _)| from == name) {
                Some((_, to)) => to.to_string(),
                None => format!("{prefix}{name}"),
            };
        }
    }
}

/// `tree-failed-other`: TREE_CONNECT `\\nas1.corp.example\archive` (frame 10) →
/// STATUS_INSUFFICIENT_RESOURCES (frame 11); the client logs off.
///
/// Expected: `tree-connect-failed` (error), request 10, response 11, status 0xc000009a
/// STATUS_INSUFFICIENT_RESOURCES, share `\\nas1.corp.example\archive`.
pub(super) fn tree_failed_other() -> Scenario {
    let mut s = nas1_session(0x0000_3000_0000_004D);
    s.tree_connect(
        "",
        r"\\nas1.corp.example\archive",
        NtStatus::STATUS_INSUFFICIENT_RESOURCES,
        0,
        0,
    );
    s.exchange(
        Smb2Command::LOGOFF,
        "logoff",
        ms(1),
        &smb::empty_body(),
        NtStatus::STATUS_SUCCESS,
        &smb::empty_body(),
    );
    s.conn.close_by_client(ms(3));
    single("tree-failed-other", s)
}
