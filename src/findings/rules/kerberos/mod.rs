//! Kerberos: `kerberos-error`, `kerberos-spn-unknown`, `kerberos-fallback-ntlm`,
//! `kerberos-preauth-required`.
//!
//! The seed article's rule: errors that are part of pre-authentication are normal (info);
//! every other KRB-ERROR is a failure, reported against the SMB connection it broke when one
//! from the same client follows it. A failure that a later attempt overcame (a ticket issued
//! after all, or an SMB session that still came up) is a warning, not an error.

mod ntlm;
mod repeats;
#[cfg(test)]
mod tests;

pub use ntlm::SkippedNtlm;
pub(super) use ntlm::{aggregate_skipped, fallback};
pub(super) use repeats::merge_repeats;

use super::{connections, on_conn, Conn, Context};
use crate::capture::Timestamp;
use crate::findings::{Finding, FindingId, KrbErrorRef, Phase, Severity};
use crate::proto::kerberos::{classify_error, ErrorClass, KerberosTime, KrbErrorCode, KrbMsgType};
use crate::proto::ntstatus::NtStatus;
use crate::proto::smb2::Smb2Command;
use crate::setup::kerberos::KrbExchange;
use crate::setup::smb::SmbConnection;
use crate::setup::Analysis;
use std::net::IpAddr;

/// How long after a Kerberos failure an SMB session setup from the same client is taken as
/// the one it affected.
const CORRELATION_NS: i64 = 120_000_000_000;
const _: () = assert!(CORRELATION_NS <= super::REACH_NS);

/// The KDC's errors (those inside SESSION_SETUP, and fallbacks, are per connection).
pub fn check(analysis: &Analysis, _ctx: &Context) -> Vec<Finding> {
    analysis
        .kerberos
        .iter()
        .filter_map(|x| kdc_error(analysis, x))
        .collect()
}

fn kdc_error(analysis: &Analysis, x: &KrbExchange) -> Option<Finding> {
    let reply = x.reply.as_ref()?;
    let err = reply.error.as_ref()?;
    let req = x.request.as_ref();
    let sname = req
        .and_then(|r| r.sname.clone())
        .or_else(|| (!err.sname.is_empty()).then(|| err.sname.clone()))
        .unwrap_or_else(|| "(service not named)".to_string());
    let mut class = classify_error(
        err.code,
        req.is_some_and(|r| r.has_preauth),
        req.map(|r| r.msg_type),
    );
    // FAST and SPAKE ask for another pre-authentication round with 91; like 25, it is a normal
    // step when the exchange then succeeds (SPEC §5).
    if err.code == KrbErrorCode::KDC_ERR_MORE_PREAUTH_DATA_REQUIRED
        && later_ticket(analysis, x, &sname, reply.ts).is_some()
    {
        class = ErrorClass::PreauthStep;
    }
    let realm = req
        .map(|r| r.realm.clone())
        .unwrap_or_else(|| err.realm.clone());
    let cname = req
        .and_then(|r| r.cname.clone())
        .or_else(|| err.cname.clone());
    let kind = match req.map(|r| r.msg_type) {
        Some(KrbMsgType::AS_REQ) => "AS-REQ",
        Some(KrbMsgType::TGS_REQ) => "TGS-REQ",
        _ => "request",
    };
    let mut f = match class {
        ErrorClass::PreauthStep | ErrorClass::RetryOverTcp => {
            let what = if err.code == KrbErrorCode::KDC_ERR_MORE_PREAUTH_DATA_REQUIRED {
                "asked for another pre-authentication round (FAST or SPAKE), and the exchange then succeeded"
            } else if class == ErrorClass::PreauthStep {
                "asked for pre-authentication (the normal first round)"
            } else {
                "said the reply is too big for UDP; the client retries over TCP (normal)"
            };
            Finding::new(
                FindingId::KerberosPreauthRequired,
                format!("The KDC {} {what}: {}", x.server.ip(), err.code),
            )
        }
        ErrorClass::Failure => {
            let host = service_host(&sname);
            if err.code == KrbErrorCode::KDC_ERR_S_PRINCIPAL_UNKNOWN && host.is_some() {
                spn_unknown(analysis, &sname, host.unwrap_or_default(), &realm)
            } else {
                let mut f = Finding::new(
                    FindingId::KerberosError,
                    format!(
                        "The KDC {} refused the {kind} for {sname}{}: {} ({})",
                        x.server.ip(),
                        cname
                            .as_ref()
                            .map(|c| format!(" (client {c})"))
                            .unwrap_or_default(),
                        err.code,
                        meaning(err.code)
                    ),
                );
                if let Some(t) = &err.e_text {
                    f.evidence.push(format!("The KDC's text: {t}."));
                }
                if let Some(st) = err.nt_status {
                    let name = crate::findings::StatusRef::nt(st).name;
                    match account_status(NtStatus(st)) {
                        Some((what, remedy)) => {
                            f.message
                                .push_str(&format!("; Windows status {name}: {what}"));
                            f.remediation.insert(0, remedy.to_string());
                        }
                        None => f
                            .evidence
                            .push(format!("Windows status in the error data: {name}.")),
                    }
                }
                if err.code == KrbErrorCode::KRB_AP_ERR_SKEW {
                    f.evidence
                        .extend(skew_evidence("KDC", err.stime, err.ctime, reply.ts));
                }
                f
            }
        }
    };
    f.kerberos_error = Some(KrbErrorRef::new(err.code.0));
    f.spn = Some(sname.clone());
    f.user = cname.map(|c| format!("{c}@{realm}"));
    if let Some(r) = req {
        f.frames.insert("request", r.frame);
    }
    f.frames.insert("response", reply.frame);
    f.time = Some(reply.ts);
    f.client = Some(x.client);
    f.server = Some(x.server);
    if class == ErrorClass::Failure {
        if let Some(conn) = affected_connection(analysis, x.client.ip(), reply.ts) {
            f.evidence.push(format!(
                "The KDC {} answered the client's {kind} while it was setting up the SMB connection {} → {} (first frame {}).",
                x.server,
                conn.client(),
                conn.server(),
                conn.first().frame
            ));
            f.client = Some(conn.client());
            f.server = Some(conn.server());
        }
        if let Some(later) = later_success(analysis, x, &sname, reply.ts) {
            f.severity = Severity::Warning;
            f.evidence.push(later);
        }
    }
    Some(f)
}

fn spn_unknown(analysis: &Analysis, sname: &str, host: &str, realm: &str) -> Finding {
    let mut f = match analysis.names.canonical(host) {
        Some(canonical) => {
            let mut f = Finding::new(
                FindingId::KerberosSpnUnknown,
                format!(
                    "No account has the SPN {sname}: {host} is a DNS CNAME alias of {}, and the alias has no SPN of its own",
                    canonical.value
                ),
            );
            f.evidence.push(format!(
                "DNS answered {host} CNAME {} (frame {}).",
                canonical.value, canonical.frame
            ));
            f.evidence.push(format!(
                "Register the alias on the server's account, e.g. setspn -S {sname} <account of {}>.",
                canonical.value
            ));
            f
        }
        None => Finding::new(
            FindingId::KerberosSpnUnknown,
            format!("The KDC knows no service principal {sname} in realm {realm} (KDC_ERR_S_PRINCIPAL_UNKNOWN)"),
        ),
    };
    f.phase = Phase::Kerberos;
    f
}

/// `cifs/host` or `host/host` → `host` (without any `@REALM` or port).
fn service_host(sname: &str) -> Option<&str> {
    let (service, rest) = sname.split_once('/')?;
    if !service.eq_ignore_ascii_case("cifs") && !service.eq_ignore_ascii_case("host") {
        return None;
    }
    let host = rest.split(['/', '@', ':']).next()?;
    (!host.is_empty()).then_some(host)
}

/// The SMB connection from `client` that a Kerberos failure at `at` belongs to: one that had
/// not yet set up a session by then, started nearest in time (within [`CORRELATION_NS`]).
fn affected_connection(analysis: &Analysis, client: IpAddr, at: Timestamp) -> Option<Conn<'_>> {
    connections(analysis)
        .into_iter()
        .filter(|c| c.client().ip() == client)
        .filter(|c| c.first_ts().since(at).abs() <= CORRELATION_NS)
        .filter(|c| !c.session_ok().iter().any(|r| r.ts < at))
        .min_by_key(|c| c.first_ts().since(at).abs())
}

/// A later success that shows the failure did not break setup.
fn later_success(
    analysis: &Analysis,
    x: &KrbExchange,
    sname: &str,
    after: Timestamp,
) -> Option<String> {
    if let Some(frame) = later_ticket(analysis, x, sname, after) {
        return Some(format!(
            "A later request for {sname} succeeded (frame {frame})."
        ));
    }
    connections(analysis)
        .iter()
        .filter(|c| c.client().ip() == x.client.ip())
        .flat_map(|c| c.session_ok())
        .find(|r| r.ts > after && r.ts.since(after) <= CORRELATION_NS)
        .map(|r| {
            format!(
                "An SMB session from the same client was still set up afterwards (frame {}).",
                r.frame
            )
        })
}

/// The frame of the first ticket for the same service to the same client after `after`,
/// whether its exchange was kept whole or settled.
fn later_ticket(
    analysis: &Analysis,
    x: &KrbExchange,
    sname: &str,
    after: Timestamp,
) -> Option<u64> {
    let whole = analysis.kerberos.iter().find_map(|k| {
        let r = k.reply.as_ref()?;
        (k.client.ip() == x.client.ip()
            && r.error.is_none()
            && r.ts > after
            && k.request.as_ref().and_then(|q| q.sname.as_deref()) == Some(sname))
        .then_some((k.first_frame(), r.frame))
    });
    let settled = analysis.kerberos_settled.iter().find_map(|k| {
        let (at, service) = k.ticket.as_ref()?;
        (k.client == x.client.ip() && at.ts > after && service.as_deref() == Some(sname)).then(
            || {
                (
                    k.request.as_ref().map_or(at.frame, |(q, _)| q.frame),
                    at.frame,
                )
            },
        )
    });
    let ticket = match (whole, settled) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    ticket.map(|(_, frame)| frame)
}

/// KRB-ERRORs carried in SESSION_SETUP responses.
pub(super) fn in_session_setup(conn: &SmbConnection) -> Vec<Finding> {
    let mut out = Vec::new();
    for x in conn
        .exchanges
        .iter()
        .filter(|x| x.command.is(Smb2Command::SESSION_SETUP))
    {
        let Some(err) = x.session.as_ref().and_then(|s| s.krb_error.as_ref()) else {
            continue;
        };
        let (Some(resp), req) = (x.response, x.request) else {
            continue;
        };
        if classify_error(err.code, true, Some(KrbMsgType::AP_REQ)) != ErrorClass::Failure {
            continue;
        }
        let ticket = conn
            .exchanges
            .iter()
            .filter(|s| s.msg_id < x.msg_id || s.request.map(|r| r.frame) == req.map(|r| r.frame))
            .filter_map(|s| s.session.as_ref()?.ticket.clone())
            .next_back();
        let mut f = Finding::new(
            FindingId::KerberosError,
            format!(
                "{} rejected the client's Kerberos ticket{} in SESSION_SETUP: {} ({})",
                conn.conn.server,
                ticket
                    .as_ref()
                    .map(|(_, s)| format!(" for {s}"))
                    .unwrap_or_default(),
                err.code,
                meaning(err.code)
            ),
        );
        f.phase = Phase::SessionSetup;
        f.kerberos_error = Some(KrbErrorRef::new(err.code.0));
        f.spn = ticket.map(|(_, s)| s);
        if let Some(r) = req {
            f.frames.insert("request", r.frame);
        }
        f.frames.insert("response", resp.frame);
        f.time = Some(resp.ts);
        if err.code == KrbErrorCode::KRB_AP_ERR_SKEW {
            f.evidence
                .extend(skew_evidence("server", err.stime, err.ctime, resp.ts));
        }
        let later = conn.exchanges.iter().find(|s| {
            s.command.is(Smb2Command::SESSION_SETUP)
                && s.status == Some(0)
                && s.response.is_some_and(|r| r.frame > resp.frame)
        });
        if let Some(ok) = later {
            f.severity = Severity::Warning;
            f.evidence.push(format!(
                "A later SESSION_SETUP on the same connection succeeded (frame {}).",
                ok.response.map(|r| r.frame).unwrap_or_default()
            ));
        }
        out.push(on_conn(f, conn));
    }
    out
}

/// NTLMSSP used after Kerberos failed for the same client shortly before.
/// Within this, the capture host's clock and the KDC's count as agreeing: KRB-ERROR times are
/// whole seconds, and the answer leaves the KDC a moment before the capture stamps it.
const CLOCKS_AGREE_SECS: i64 = 60;

/// KRB_AP_ERR_SKEW: the answering side's time from the error (`who`: the KDC, or the file
/// server that checked an AP-REQ) beside the capture's own stamp of that frame, the
/// requester's time when the error echoes it, and which clock that points at.
pub(super) fn skew_evidence(
    who: &str,
    stime: KerberosTime,
    ctime: Option<KerberosTime>,
    captured: Timestamp,
) -> Vec<String> {
    let apart = captured.0.div_euclid(1_000_000_000).saturating_sub(stime.0);
    let mut out = vec![format!(
        "The {who}'s clock read {} when it answered (stime); the capture stamped the answer {}: {} {}.",
        seconds(instant(stime)),
        seconds(captured),
        span(apart),
        if apart >= 0 { "later" } else { "earlier" }
    )];
    if let Some(ctime) = ctime {
        let ahead = ctime.0.saturating_sub(stime.0);
        out.push(format!(
            "The requester's clock read {} (ctime, echoed in the error): {} {} the {who}'s.",
            seconds(instant(ctime)),
            span(ahead),
            if ahead >= 0 { "ahead of" } else { "behind" }
        ));
    }
    let agree = apart.unsigned_abs() <= CLOCKS_AGREE_SECS.unsigned_abs();
    out.push(if agree {
        format!(
            "The capture host agrees with the {who}, so the requester's clock is the one that is \
             off: check its time source (`w32tm /query /status` on Windows, `chronyc tracking` or \
             `timedatectl` elsewhere)."
        )
    } else {
        format!(
            "The capture host disagrees with the {who} by {} as well: if the capture was taken on \
             the requester, its clock is the one that is off; if the capture host keeps good time, \
             the {who}'s clock is (domain members take their time from the domain controllers, \
             and they from the PDC emulator).",
            span(apart)
        )
    });
    out
}

/// A Kerberos time (whole seconds) on the capture's time line.
fn instant(t: KerberosTime) -> Timestamp {
    Timestamp::from_nanos(t.0.saturating_mul(1_000_000_000))
}

/// A capture time to the second, as RFC 3339 in UTC.
fn seconds(t: Timestamp) -> String {
    let full = t.rfc3339_micros();
    match full.split_once('.') {
        Some((whole, _)) => format!("{whole}Z"),
        None => full,
    }
}

/// A number of seconds as minutes and seconds, e.g. `7 min 0 s`; its sign is dropped.
fn span(secs: i64) -> String {
    let secs = secs.unsigned_abs();
    if secs < 60 {
        format!("{secs} s")
    } else {
        format!("{} min {} s", secs / 60, secs % 60)
    }
}

/// What a Windows KDC's NTSTATUS in KERB-ERROR-DATA says about the account, and what to do.
fn account_status(status: NtStatus) -> Option<(&'static str, &'static str)> {
    Some(match status {
        NtStatus::STATUS_ACCOUNT_DISABLED => (
            "the account is disabled",
            "Enable the account (Active Directory Users and Computers, `Enable-ADAccount`, or `samba-tool user enable` on a Samba DC), or use another one.",
        ),
        NtStatus::STATUS_ACCOUNT_LOCKED_OUT => (
            "the account is locked out after too many wrong passwords",
            "Unlock the account (`Unlock-ADAccount`), then find what keeps sending the old password: event 4740 on the PDC emulator names the caller.",
        ),
        NtStatus::STATUS_ACCOUNT_EXPIRED => (
            "the account has expired",
            "Extend or clear the account's expiry date (`Set-ADAccountExpiration`, `Clear-ADAccountExpiration`).",
        ),
        NtStatus::STATUS_PASSWORD_EXPIRED => (
            "the password has expired",
            "Set a new password for the account; for a service account, update it wherever the service stores it.",
        ),
        NtStatus::STATUS_PASSWORD_MUST_CHANGE => (
            "the password must be changed before the account can log on",
            "Change the password interactively, or clear \"User must change password at next logon\".",
        ),
        NtStatus::STATUS_INVALID_LOGON_HOURS => (
            "the account may not log on at this time of day",
            "Check the account's logon hours (logonHours) in Active Directory.",
        ),
        NtStatus::STATUS_INVALID_WORKSTATION => (
            "the account may not log on from this computer",
            "Check the account's \"Log On To\" list (userWorkstations) in Active Directory.",
        ),
        _ => return None,
    })
}

/// A plain-words gloss for the commonest errors.
fn meaning(code: KrbErrorCode) -> &'static str {
    match code.0 {
        6 => "the client account does not exist in the KDC's database",
        7 => "no account has this service principal name",
        12 => "the account or policy forbids this request",
        13 => "the KDC refused an option the client asked for",
        14 => "no common encryption type between client, KDC and account keys",
        18 => "the client account is disabled, locked out or expired",
        23 => "the password has expired",
        24 => "wrong password (pre-authentication failed)",
        31 => "the ticket integrity check failed",
        32 => "the ticket has expired",
        34 => "the request is a replay",
        37 => "client and server clocks differ by more than the allowed skew",
        41 => "the server could not decrypt the ticket: its key differs from the KDC's (SPN on the wrong account, or a stale password)",
        68 => "wrong realm",
        _ => "see RFC 4120 section 7.5.9",
    }
}
