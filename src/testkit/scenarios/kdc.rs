//! The domain controller: Kerberos exchanges over UDP and TCP, DNS lookups.

use super::*;

/// A UDP exchange with the KDC from an ephemeral port (Windows takes a new one per request).
pub(super) fn kdc(client_port: u16, start: Timestamp) -> UdpExchange {
    let mut u = UdpExchange::new((CLIENT_V4, client_port).into(), (DC01_V4, 88).into());
    u.at(start);
    u
}

/// One request and the KDC's reply `kdc_delay` later; returns the flow and the time of its
/// last packet.
pub(super) fn udp_krb(
    mut u: UdpExchange,
    request: &[u8],
    req_role: &str,
    reply: &[u8],
    reply_role: &str,
    kdc_delay: Duration,
) -> (Flow, Timestamp) {
    let mut flow = Flow::default();
    flow.add(role(req_role), u.client_send(request));
    u.advance(kdc_delay);
    flow.add(role(reply_role), u.server_send(reply));
    (flow, u.now())
}

pub(super) fn as_request(with_preauth: bool, nonce: u32) -> Vec<u8> {
    let mut padata = vec![krb::pa_pac_request()];
    if with_preauth {
        padata.insert(0, krb::pa_enc_timestamp(nonce));
    }
    as_request_with(padata, nonce)
}

/// An AS-REQ for the TGT of dwright carrying `padata`.
pub(super) fn as_request_with(padata: Vec<Vec<u8>>, nonce: u32) -> Vec<u8> {
    krb::as_req(&KdcReq {
        padata,
        kdc_options: krb::AS_OPTIONS,
        cname: Some(USER),
        realm: REALM,
        sname: &["krbtgt", REALM],
        nonce,
    })
}

pub(super) fn tgt() -> Vec<u8> {
    krb::ticket(REALM, &["krbtgt", REALM], 2, 1040, 0x767)
}

pub(super) fn preauth_required(stime: Timestamp) -> Vec<u8> {
    krb::krb_error(&KrbErr {
        error_code: krb::error_code::KDC_ERR_PREAUTH_REQUIRED,
        stime,
        cname: None,
        realm: REALM,
        sname: &["krbtgt", REALM],
        e_text: None,
        e_data: Some(krb::preauth_required_e_data(KRB_SALT)),
    })
}

pub(super) fn as_reply(ticket_cipher: usize) -> Vec<u8> {
    krb::as_rep(&KdcRep {
        padata: vec![krb::pa_data(19, &krb::etype_info2(KRB_SALT))],
        crealm: REALM,
        cname: USER,
        ticket: krb::ticket(REALM, &["krbtgt", REALM], 2, ticket_cipher, 0x767),
        enc_len: 330,
        seed: 0xA5,
    })
}

pub(super) fn tgs_request(service: &[&str], nonce: u32) -> Vec<u8> {
    krb::tgs_req(&KdcReq {
        padata: vec![krb::pa_tgs_req(&krb::ap_req(tgt(), 0, nonce))],
        kdc_options: krb::TGS_OPTIONS,
        cname: None,
        realm: REALM,
        sname: service,
        nonce,
    })
}

pub(super) fn service_ticket(host: &str) -> Vec<u8> {
    krb::ticket(REALM, &["cifs", host], 7, 1090, 0xC1F5)
}

pub(super) fn tgs_reply(host: &str) -> Vec<u8> {
    krb::tgs_rep(&KdcRep {
        padata: Vec::new(),
        crealm: REALM,
        cname: USER,
        ticket: service_ticket(host),
        enc_len: 290,
        seed: 0xB6,
    })
}

/// The AS exchange of a Windows logon: AS-REQ without pre-authentication, PREAUTH_REQUIRED,
/// AS-REQ with PA-ENC-TIMESTAMP, then `second_reply`.
pub(super) fn as_exchange(
    start: Timestamp,
    second_reply: &[u8],
    second_role: &str,
) -> (Vec<Flow>, Timestamp) {
    let (f1, t1) = udp_krb(
        kdc(61_201, start),
        &as_request(false, 0x1BAD_5EED),
        "as_req",
        &preauth_required(start + us(900)),
        "preauth_required",
        us(900),
    );
    let (f2, t2) = udp_krb(
        kdc(61_202, t1 + ms(2)),
        &as_request(true, 0x1BAD_5EEE),
        "as_req_preauth",
        second_reply,
        second_role,
        ms(3),
    );
    (vec![f1, f2], t2)
}

pub(super) fn dns_lookup(
    start: Timestamp,
    name: &str,
    answers: &[dns::Answer<'_>],
    id: u16,
) -> (Flow, Timestamp) {
    let mut u = UdpExchange::new((CLIENT_V4, 58_113).into(), (DC01_V4, 53).into());
    u.at(start);
    let mut flow = Flow::default();
    flow.add(
        role("dns_query"),
        u.client_send(&dns::query(id, name, dns::TYPE_A)),
    );
    u.advance(us(620));
    flow.add(
        role("dns_response"),
        u.server_send(&dns::response(id, name, dns::TYPE_A, answers, 1200)),
    );
    (flow, u.now())
}

/// One SESSION_SETUP with the Kerberos AP-REQ for `cifs/<host>`, answered SUCCESS with the
/// AP-REP (SessionFlags `flags`).
pub(super) fn kerberos_session(s: &mut Smb, host: &str, flags: u16) {
    let h = kerberos_session_request(s, host, "session_setup_request");
    let rep = gss::krb5_token(gss::tok_id::AP_REP, &krb::ap_rep(0xAB));
    let h = h.session(s.session_id);
    s.session_final(&h, NtStatus::STATUS_SUCCESS, flags, Some(&rep));
}

/// The first SESSION_SETUP request of a session (session id 0), carrying the SPNEGO
/// NegTokenInit with the Kerberos AP-REQ for `cifs/<host>`, as frame role `r`.
pub(super) fn kerberos_session_request(s: &mut Smb, host: &str, r: &str) -> Header {
    let ap = krb::ap_req(service_ticket(host), krb::AP_MUTUAL_REQUIRED, 0xA9);
    let blob = gss::neg_token_init(
        &WINDOWS_MECHS,
        Some(&gss::krb5_token(gss::tok_id::AP_REQ, &ap)),
    );
    let session = std::mem::take(&mut s.session_id);
    let h = s.req(Smb2Command::SESSION_SETUP);
    s.session_id = session;
    s.send(
        us(1100),
        role(r),
        &h,
        &smb::session_setup_request(1, 0, &blob),
    );
    h
}
