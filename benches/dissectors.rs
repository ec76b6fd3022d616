//! The record parsers on their own, on messages built by the testkit: SMB2 (a READ response
//! header, NEGOTIATE, SESSION_SETUP), Kerberos (AS-REQ, TGS-REP, KRB-ERROR), SPNEGO and
//! NTLMSSP (the AUTHENTICATE leg).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use smbtriage::proto::gss::{ntlmssp, spnego};
use smbtriage::proto::kerberos;
use smbtriage::proto::ntstatus::NtStatus;
use smbtriage::proto::smb2::{self, Smb2Command};
use smbtriage::testkit::gss::{self, NtlmAuth, NtlmServer};
use smbtriage::testkit::krb::{self, KdcRep, KdcReq, KrbErr};
use smbtriage::testkit::smb::{self, Header, NegContext};
use smbtriage::testkit::{filler, START};

const REALM: &str = "CORP.EXAMPLE";
const NAS: NtlmServer<'static> = NtlmServer {
    nb_domain: "CORP",
    nb_computer: "NAS1",
    dns_domain: "corp.example",
    dns_computer: "nas1.corp.example",
};

fn smb2_messages() -> Vec<(&'static str, Vec<u8>)> {
    let read = Header::request(Smb2Command::READ, 9);
    let negotiate = Header::request(Smb2Command::NEGOTIATE, 0);
    let session = Header::request(Smb2Command::SESSION_SETUP, 2);
    let auth = ntlm_authenticate();
    vec![
        (
            // Only the header and fixed body are parsed; the data is never touched.
            "read-response-64k",
            smb::message(
                &Header::response_to(&read, NtStatus::STATUS_SUCCESS),
                &smb::read_response(&filler(1, 64 * 1024)),
            ),
        ),
        (
            "negotiate-request",
            smb::message(
                &negotiate,
                &smb::NegotiateRequest {
                    dialects: vec![0x0202, 0x0210, 0x0300, 0x0302, 0x0311],
                    security_mode: 1,
                    capabilities: 0x7F,
                    client_guid: [7; 16],
                    contexts: vec![
                        NegContext::PreauthIntegrity { seed: 1 },
                        NegContext::Encryption(vec![2, 1, 4, 3]),
                        NegContext::NetName("nas1.corp.example".into()),
                        NegContext::Signing(vec![2, 1]),
                    ],
                }
                .body(),
            ),
        ),
        (
            "session-setup-request",
            smb::message(
                &session,
                &smb::session_setup_request(
                    1,
                    0,
                    &gss::neg_token_resp(None, None, Some(&auth), Some(&gss::ntlm_mic(1))),
                ),
            ),
        ),
    ]
}

fn ntlm_authenticate() -> Vec<u8> {
    gss::ntlm_authenticate(&NtlmAuth {
        domain: "CORP",
        user: "user",
        workstation: "WKS",
        target_name: "cifs/nas1.corp.example",
        server: NAS,
        timestamp: smb::filetime(START),
        seed: 5,
    })
}

fn kerberos_messages() -> Vec<(&'static str, Vec<u8>)> {
    let sname = ["krbtgt", REALM];
    vec![
        (
            "as-req",
            krb::as_req(&KdcReq {
                padata: vec![krb::pa_enc_timestamp(3), krb::pa_pac_request()],
                kdc_options: krb::AS_OPTIONS,
                cname: Some("user"),
                realm: REALM,
                sname: &sname,
                nonce: 3,
            }),
        ),
        (
            "tgs-rep",
            krb::tgs_rep(&KdcRep {
                padata: Vec::new(),
                crealm: REALM,
                cname: "user",
                ticket: krb::ticket(REALM, &["cifs", "nas1.corp.example"], 7, 1090, 3),
                enc_len: 290,
                seed: 4,
            }),
        ),
        (
            "krb-error",
            krb::krb_error(&KrbErr {
                error_code: krb::error_code::KRB_AP_ERR_SKEW,
                stime: START,
                cname: Some("user"),
                realm: REALM,
                sname: &sname,
                e_text: None,
                e_data: None,
            }),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("smb2");
    for (name, msg) in smb2_messages() {
        let parsed = smb2::messages(&msg).filter(|m| m.as_ref().is_ok_and(|m| m.body.is_ok()));
        assert_eq!(parsed.count(), 1, "{name} must parse");
        g.throughput(Throughput::Bytes(msg.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                smb2::messages(black_box(&msg))
                    .filter(|m| m.as_ref().is_ok_and(|m| m.body.is_ok()))
                    .count()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("kerberos");
    for (name, msg) in kerberos_messages() {
        assert!(kerberos::parse_message(&msg).is_ok(), "{name} must parse");
        g.throughput(Throughput::Bytes(msg.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| kerberos::parse_message(black_box(&msg)).is_ok())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("gss");
    let auth = ntlm_authenticate();
    let blob = gss::neg_token_resp(None, None, Some(&auth), Some(&gss::ntlm_mic(1)));
    assert!(spnego::parse_security_blob(&blob).is_ok());
    assert!(ntlmssp::parse(&auth).is_ok());
    g.throughput(Throughput::Bytes(blob.len() as u64));
    g.bench_function("spnego-neg-token-resp", |b| {
        b.iter(|| spnego::parse_security_blob(black_box(&blob)).is_ok())
    });
    g.throughput(Throughput::Bytes(auth.len() as u64));
    g.bench_function("ntlmssp-authenticate", |b| {
        b.iter(|| ntlmssp::parse(black_box(&auth)).is_ok())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
