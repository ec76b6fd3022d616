//! Repeated errors merged, NTLM without Kerberos gathered.

use super::*;
use crate::capture::Timestamp;
use crate::findings::{Finding, FindingId, KrbErrorRef, Phase, Severity};
use std::net::SocketAddr;

fn addr(s: &str) -> Option<SocketAddr> {
    s.parse().ok()
}

fn krb(code: i32, client: &str, server: &str, req: u64, rsp: u64) -> Finding {
    let mut f = Finding::new(FindingId::KerberosError, format!("error {code} at {rsp}"))
        .frame("request", req)
        .frame("response", rsp);
    f.kerberos_error = Some(KrbErrorRef::new(code));
    f.client = addr(client);
    f.server = addr(server);
    f
}

fn skipped(client: &str, host: &str, request: u64) -> Finding {
    let mut f = Finding::new(FindingId::KerberosFallbackNtlm, format!("NTLM to {host}"))
        .frame("request", request);
    f.severity = Severity::Info;
    f.client = addr(client);
    f.spn = Some(format!("cifs/{host}"));
    f
}

#[test]
fn a_retried_request_with_the_same_error_is_one_finding_naming_the_repeat() {
    // MIT kinit retries a TGS-REQ on a new TCP connection: same client host, same KDC.
    let out = merge_repeats(vec![
        krb(37, "10.0.0.5:40001", "10.0.0.2:88", 24, 26),
        krb(37, "10.0.0.5:40002", "10.0.0.2:88", 32, 36),
    ]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].frames.get("response"), Some(&26));
    assert_eq!(out[0].repeated.len(), 1);
    assert_eq!(out[0].repeated[0].get("request"), Some(&32));
    assert_eq!(out[0].repeated[0].get("response"), Some(&36));
    assert!(out[0].evidence.iter().any(|e| e.contains("32/36")));
}

#[test]
fn different_errors_or_users_stay_separate() {
    let mut other_user = krb(24, "10.0.0.5:40003", "10.0.0.2:88", 40, 41);
    other_user.user = Some("evan@CORP".into());
    let out = merge_repeats(vec![
        krb(24, "10.0.0.5:40001", "10.0.0.2:88", 3, 4),
        krb(37, "10.0.0.5:40002", "10.0.0.2:88", 10, 11),
        other_user,
        krb(24, "10.0.0.6:40001", "10.0.0.2:88", 50, 51),
    ]);
    assert_eq!(out.len(), 4);
    assert!(out.iter().all(|f| f.repeated.is_empty()));
}

#[test]
fn the_error_inside_session_setup_is_kept_over_the_port_88_ones() {
    let conn_client = "10.0.0.5:50000";
    let conn_server = "10.0.0.2:445";
    let mut in_smb = krb(37, conn_client, conn_server, 51, 53);
    in_smb.phase = Phase::SessionSetup;
    let out = merge_repeats(vec![
        krb(37, conn_client, conn_server, 43, 45),
        in_smb,
        krb(37, conn_client, conn_server, 59, 61),
    ]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].frames.get("request"), Some(&51));
    let repeats: Vec<u64> = out[0]
        .repeated
        .iter()
        .filter_map(|r| r.get("response").copied())
        .collect();
    assert_eq!(repeats, vec![45, 61]);
}

#[test]
fn ntlm_without_kerberos_is_said_once_per_client_and_name() {
    let out = aggregate_skipped(
        vec![
            skipped("10.0.0.5:50001", "fs1.corp.example", 8),
            skipped("10.0.0.5:50002", "fs1.corp.example", 30),
            skipped("10.0.0.6:50001", "fs1.corp.example", 40),
            skipped("10.0.0.5:50003", "fs2.corp.example", 50),
            skipped("10.0.0.5:50004", "fs1.corp.example", 60),
        ],
        SkippedNtlm::default(),
    );
    let mut out = out;
    crate::findings::rules::sort(&mut out);
    assert_eq!(out.len(), 3);
    assert!(out[0].message.starts_with("3 sessions from 10.0.0.5"));
    assert!(out[0].evidence.iter().any(|e| e.contains("8, 30, 60")));
    assert_eq!(out[1].message, "NTLM to fs1.corp.example");
    assert_eq!(out[2].message, "NTLM to fs2.corp.example");
}

#[test]
fn failed_kerberos_before_ntlm_is_not_aggregated() {
    let mut failed = skipped("10.0.0.5:50001", "fs1.corp.example", 8);
    failed.kerberos_error = Some(KrbErrorRef::new(7));
    failed.severity = Severity::Warning;
    let mut again = failed.clone();
    again.frames.insert("request", 30);
    assert_eq!(
        aggregate_skipped(vec![failed, again], SkippedNtlm::default()).len(),
        2
    );
}

fn skew(stime: i64, ctime: Option<i64>, captured: Timestamp) -> Vec<String> {
    skew_evidence(
        "KDC",
        KerberosTime(stime),
        ctime.map(KerberosTime),
        captured,
    )
}

#[test]
fn skew_when_the_capture_agrees_with_the_kdc_blames_the_requester() {
    // 2024-05-01T10:00:00Z; the requester's authenticator said 10:09:30.
    let captured = Timestamp::from_nanos(1_714_557_600_250_000_000);
    let out = skew(1_714_557_600, Some(1_714_558_170), captured);
    assert_eq!(
        out[0],
        "The KDC's clock read 2024-05-01T10:00:00Z when it answered (stime); the capture \
         stamped the answer 2024-05-01T10:00:00Z: 0 s later."
    );
    assert_eq!(
        out[1],
        "The requester's clock read 2024-05-01T10:09:30Z (ctime, echoed in the error): \
         9 min 30 s ahead of the KDC's."
    );
    assert!(out[2].starts_with("The capture host agrees with the KDC, so the requester's clock"));
}

#[test]
fn skew_when_the_capture_disagrees_with_the_kdc_names_both_clocks() {
    let captured = Timestamp::from_nanos(1_714_557_600_000_000_000);
    let out = skew(1_714_557_600 + 3_600, None, captured);
    assert_eq!(out.len(), 2);
    assert!(out[0].ends_with(": 60 min 0 s earlier."), "{}", out[0]);
    assert!(out[1].starts_with("The capture host disagrees with the KDC by 60 min 0 s as well"));
}

#[test]
fn windows_account_statuses_are_said_with_what_to_do() {
    let (what, remedy) = account_status(NtStatus::STATUS_ACCOUNT_LOCKED_OUT).unwrap();
    assert_eq!(
        what,
        "the account is locked out after too many wrong passwords"
    );
    assert!(remedy.starts_with("Unlock the account"));
    for status in [
        NtStatus::STATUS_ACCOUNT_DISABLED,
        NtStatus::STATUS_ACCOUNT_EXPIRED,
        NtStatus::STATUS_PASSWORD_EXPIRED,
        NtStatus::STATUS_PASSWORD_MUST_CHANGE,
        NtStatus::STATUS_INVALID_LOGON_HOURS,
        NtStatus::STATUS_INVALID_WORKSTATION,
    ] {
        assert!(account_status(status).is_some(), "{status}");
    }
    // Any other status stays in the evidence by name only.
    assert_eq!(account_status(NtStatus::STATUS_LOGON_FAILURE), None);
}
