//! Kerberos: pre-authentication, errors, SPN and CNAME, skew, framing.

use super::*;

/// `kerberos-preauth-ok`: AS-REQ without pre-authentication (frame 1) →
/// KDC_ERR_PREAUTH_REQUIRED with ETYPE-INFO2 (frame 2) → AS-REQ with PA-ENC-TIMESTAMP
/// (frame 3) → AS-REP (frame 4), UDP 88.
///
/// Expected: only `kerberos-preauth-required` (info) for frames 1/2.
pub(super) fn kerberos_preauth_ok() -> Scenario {
    let (flows, _) = as_exchange(START, &as_reply(1040), "as_rep");
    finish("kerberos-preauth-ok", Link::default(), flows)
}

/// `kerberos-more-preauth-then-ok`: AS-REQ without pre-authentication (frame 1) →
/// KRB-ERROR KDC_ERR_MORE_PREAUTH_DATA_REQUIRED (91, frame 2; e-data METHOD-DATA with a
/// PA-FX-COOKIE, ETYPE-INFO2 and PA-ENC-TIMESTAMP, as a KDC that wants another
/// pre-authentication round sends it) → AS-REQ with PA-ENC-TIMESTAMP and the echoed cookie
/// (frame 3) → AS-REP (frame 4); then TGS-REQ for `cifs/fs1.corp.example` (5) → TGS-REP (6),
/// all over UDP 88.
///
/// Expected: no error or warning: the 91 is part of the pre-authentication round (info at
/// most, like the 25 of `kerberos-preauth-ok`), since the next AS-REQ succeeded. Roles:
/// error 2, reply 4.
pub(super) fn kerberos_more_preauth_then_ok() -> Scenario {
    let err = krb::krb_error(&KrbErr {
        error_code: krb::error_code::KDC_ERR_MORE_PREAUTH_DATA_REQUIRED,
        stime: START + us(900),
        cname: None,
        realm: REALM,
        sname: &["krbtgt", REALM],
        e_text: None,
        e_data: Some(krb::more_preauth_e_data(KRB_SALT, 0xC00C)),
    });
    let (f1, t1) = udp_krb(
        kdc(61_240, START),
        &as_request(false, 0x1BAD_5EF4),
        "as_req",
        &err,
        "error",
        us(900),
    );
    let padata = vec![
        krb::pa_enc_timestamp(0x1BAD_5EF5),
        krb::pa_fx_cookie(0xC00C, 52),
        krb::pa_pac_request(),
    ];
    let (f2, t2) = udp_krb(
        kdc(61_241, t1 + ms(2)),
        &as_request_with(padata, 0x1BAD_5EF5),
        "as_req_preauth",
        &as_reply(1040),
        "reply",
        ms(3),
    );
    let (f3, _) = udp_krb(
        kdc(61_242, t2 + ms(1)),
        &tgs_request(&["cifs", "fs1.corp.example"], 0x7E55_0005),
        "tgs_req",
        &tgs_reply("fs1.corp.example"),
        "tgs_rep",
        ms(2),
    );
    finish(
        "kerberos-more-preauth-then-ok",
        Link::default(),
        vec![f1, f2, f3],
    )
}

/// `kerberos-bad-password`: AS-REQ (1) → PREAUTH_REQUIRED (2) → AS-REQ with a timestamp
/// encrypted under the wrong key (3) → KDC_ERR_PREAUTH_FAILED (24, frame 4).
///
/// Expected: `kerberos-error` (error) request 3, response 4, code 24
/// KDC_ERR_PREAUTH_FAILED, cname dwright, sname krbtgt/CORP.EXAMPLE; the 25 is info only.
pub(super) fn kerberos_bad_password() -> Scenario {
    let err = krb::krb_error(&KrbErr {
        error_code: krb::error_code::KDC_ERR_PREAUTH_FAILED,
        stime: START + ms(6),
        cname: None,
        realm: REALM,
        sname: &["krbtgt", REALM],
        e_text: None,
        e_data: Some(krb::preauth_required_e_data(KRB_SALT)),
    });
    let (flows, _) = as_exchange(START, &err, "krb_error");
    finish("kerberos-bad-password", Link::default(), flows)
}

/// `kerberos-spn-unknown-cname`: DNS `files.corp.example` → CNAME `dc01.corp.example` → A
/// 192.0.2.30 (frames 1-2); SMB to 192.0.2.30, NEGOTIATE (6-7); TGS-REQ for
/// `cifs/files.corp.example` (8) → KDC_ERR_S_PRINCIPAL_UNKNOWN (9); the client falls back to
/// NTLMSSP (MsvAvTargetName cifs/files.corp.example) and the session (10-13) and the tree
/// connect to `\\files.corp.example\projects` (14-15) succeed.
///
/// Expected: `kerberos-spn-unknown` (request 8, response 9, spn cifs/files.corp.example,
/// reached through CNAME alias files.corp.example of dc01.corp.example; error in SPEC 7,
/// though an engine may lower it to a warning because the NTLM fallback succeeded) and
/// `kerberos-fallback-ntlm` (warning, session setup 10-13).
pub(super) fn kerberos_spn_unknown_cname() -> Scenario {
    let (dns_flow, t) = dns_lookup(
        START,
        "files.corp.example",
        &[
            dns::Answer::Cname {
                owner: "files.corp.example",
                target: "dc01.corp.example",
            },
            dns::Answer::Addr {
                owner: "dc01.corp.example",
                addr: IpAddr::V4(DC01_V4),
            },
        ],
        0x5a11,
    );
    let mut s = Smb::new(
        smb_conn(CLIENT_V4, 49_770, DC01_V4, t + ms(1)),
        0x0000_1000_0000_0051,
    );
    s.conn.handshake();
    s.negotiate(
        &windows_negotiate("files.corp.example"),
        &DC01_PROFILE,
        &WINDOWS_MECHS,
    );
    let err = krb::krb_error(&KrbErr {
        error_code: krb::error_code::KDC_ERR_S_PRINCIPAL_UNKNOWN,
        stime: s.conn.now() + ms(2),
        cname: None,
        realm: REALM,
        sname: &["cifs", "files.corp.example"],
        e_text: None,
        e_data: None,
    });
    let (krb_flow, t) = udp_krb(
        kdc(61_210, s.conn.now() + ms(1)),
        &tgs_request(&["cifs", "files.corp.example"], 0x7E55_0002),
        "tgs_req",
        &err,
        "krb_error",
        ms(1),
    );
    s.conn.tcp.at(t + ms(1));
    let auth = ntlm_auth(DC01, "cifs/files.corp.example", 0x0D07);
    s.ntlm_session(&DC01, &auth, NtStatus::STATUS_SUCCESS);
    s.tree_connect(
        "",
        r"\\files.corp.example\projects",
        NtStatus::STATUS_SUCCESS,
        share_flags::MANUAL_CACHING,
        1,
    );
    s.conn.client_ack(ms(40), None);
    finish(
        "kerberos-spn-unknown-cname",
        Link::default(),
        vec![dns_flow, s.conn.flow, krb_flow],
    )
}

/// `kerberos-skew`: the client's clock is 7 minutes ahead of the KDC; its TGS-REQ for
/// `cifs/fs1.corp.example` (frame 1) is answered KRB_AP_ERR_SKEW (37, frame 2) whose stime
/// shows the KDC's time.
///
/// Expected: `kerberos-error` (error) request 1, response 2, code 37 KRB_AP_ERR_SKEW, sname
/// cifs/fs1.corp.example; remediation: time synchronisation.
pub(super) fn kerberos_skew() -> Scenario {
    let err = krb::krb_error(&KrbErr {
        error_code: krb::error_code::KRB_AP_ERR_SKEW,
        stime: Timestamp::from_nanos((START + ms(1)).nanos - 420_000_000_000),
        cname: Some(USER),
        realm: REALM,
        sname: &["cifs", "fs1.corp.example"],
        e_text: None,
        e_data: None,
    });
    let (flow, _) = udp_krb(
        kdc(61_220, START),
        &tgs_request(&["cifs", "fs1.corp.example"], 0x7E55_0003),
        "tgs_req",
        &err,
        "krb_error",
        ms(1),
    );
    finish("kerberos-skew", Link::default(), vec![flow])
}

/// `kerberos-error-tcp-split`: Kerberos over TCP 88 (handshake 1-3); the TGS-REQ for
/// `cifs/legacy.corp.example` fills two segments (frames 4-5, complete in 5); the KDC's
/// KRB-ERROR KDC_ERR_S_PRINCIPAL_UNKNOWN arrives in three segments (frames 6-8, complete in
/// 8); FIN exchange 9-11.
///
/// Expected: `kerberos-spn-unknown` (error), request 5, response 8, spn
/// cifs/legacy.corp.example.
pub(super) fn kerberos_error_tcp_split() -> Scenario {
    let mut c = Conn::new((CLIENT_V4, 49_780).into(), (DC01_V4, 88).into(), START);
    c.handshake();
    c.client(
        us(150),
        role("tgs_req"),
        &krb_tcp_frame(&tgs_request(&["cifs", "legacy.corp.example"], 0x7E55_0004)),
    );
    let err = krb::krb_error(&KrbErr {
        error_code: krb::error_code::KDC_ERR_S_PRINCIPAL_UNKNOWN,
        stime: START + ms(2),
        cname: None,
        realm: REALM,
        sname: &["cifs", "legacy.corp.example"],
        e_text: Some("Server not found in Kerberos database"),
        e_data: None,
    });
    let record = krb_tcp_frame(&err);
    let mss = record.len().div_ceil(3);
    c.send(Dir::ToClient, ms(1), role("krb_error"), &record, mss);
    c.close_by_client(us(300));
    finish("kerberos-error-tcp-split", Link::default(), vec![c.flow])
}

/// `kerberos-udp-fragmented`: AS-REQ (1) → PREAUTH_REQUIRED (2) → AS-REQ with
/// PA-ENC-TIMESTAMP (3) → an AS-REP of about 3.4 KB (a large PAC) that arrives as three IP
/// fragments (frames 4-6; reassembled in frame 6).
///
/// Expected: only `kerberos-preauth-required` (info); the AS-REP (frame 6) is dissected
/// after defragmentation.
pub(super) fn kerberos_udp_fragmented() -> Scenario {
    let (f1, t1) = udp_krb(
        kdc(61_230, START),
        &as_request(false, 0x1BAD_5EF0),
        "as_req",
        &preauth_required(START + us(900)),
        "preauth_required",
        us(900),
    );
    let (f2, _) = udp_krb(
        kdc(61_231, t1 + ms(2)).with_fragment_size(1480),
        &as_request(true, 0x1BAD_5EF1),
        "as_req_preauth",
        &as_reply(2600),
        "as_rep",
        ms(3),
    );
    finish("kerberos-udp-fragmented", Link::default(), vec![f1, f2])
}

/// `kerberos-apreq-error-in-smb`: the client's clock is off; the SESSION_SETUP with the
/// AP-REQ for cifs/fs1.corp.example (segments 6-7, complete in 7) is answered
/// STATUS_MORE_PROCESSING_REQUIRED with a KRB-ERROR KRB_AP_ERR_SKEW (37) in the SPNEGO
/// responseToken (frame 8); the client corrects its clock from the error's stime and a
/// second AP-REQ (segments 9-10) succeeds (frame 11), then the tree connect (12-13).
///
/// Expected: `kerberos-error` as a warning (a later attempt succeeded), request 7, response
/// 8, code 37, sname cifs/fs1.corp.example; no `session-setup-failed`.
pub(super) fn kerberos_apreq_error_in_smb() -> Scenario {
    let mut s = Smb::new(
        smb_conn(CLIENT_V4, 49_790, FS1_V4, START),
        0x0000_4400_0000_0061,
    );
    s.conn.handshake();
    s.negotiate(
        &windows_negotiate("fs1.corp.example"),
        &FS1_PROFILE,
        &WINDOWS_MECHS,
    );
    let h = kerberos_session_request(&mut s, "fs1.corp.example", "session_setup_request_1");
    let err = krb::krb_error(&KrbErr {
        error_code: krb::error_code::KRB_AP_ERR_SKEW,
        stime: Timestamp::from_nanos(s.conn.now().nanos - 420_000_000_000),
        cname: None,
        realm: REALM,
        sname: &["cifs", "fs1.corp.example"],
        e_text: None,
        e_data: None,
    });
    let blob = gss::neg_token_resp(
        Some(NegState::AcceptIncomplete),
        Some(gss::OID_MS_KRB5),
        Some(&gss::krb5_token(gss::tok_id::KRB_ERROR, &err)),
        None,
    );
    let r =
        Header::response_to(&h, NtStatus::STATUS_MORE_PROCESSING_REQUIRED).session(s.session_id);
    s.answer(
        ms(2),
        role("session_setup_response_1"),
        &r,
        &smb::session_setup_response(0, &blob),
    );
    let ap = krb::ap_req(
        service_ticket("fs1.corp.example"),
        krb::AP_MUTUAL_REQUIRED,
        0xAA,
    );
    let blob = gss::neg_token_resp(
        None,
        None,
        Some(&gss::krb5_token(gss::tok_id::AP_REQ, &ap)),
        None,
    );
    let h = s.req(Smb2Command::SESSION_SETUP);
    s.send(
        us(800),
        role("session_setup_request"),
        &h,
        &smb::session_setup_request(1, 0, &blob),
    );
    let rep = gss::krb5_token(gss::tok_id::AP_REP, &krb::ap_rep(0xAC));
    s.session_final(&h, NtStatus::STATUS_SUCCESS, 0, Some(&rep));
    s.signing = true;
    s.tree_connect(
        "",
        r"\\fs1.corp.example\projects",
        NtStatus::STATUS_SUCCESS,
        share_flags::MANUAL_CACHING,
        1,
    );
    s.conn.client_ack(ms(40), None);
    single("kerberos-apreq-error-in-smb", s)
}
