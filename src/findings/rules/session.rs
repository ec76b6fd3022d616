//! Session setup: `session-setup-failed`, `session-setup-no-response`, `session-setup-guest`,
//! `signing-problem`, and `encryption-required` when a server that demands encryption refuses
//! the session of a client that cannot encrypt.
//!
//! Status is classified by (command, status): MORE_PROCESSING_REQUIRED is the normal middle of
//! a multi-round setup. A failure shows the credentials actually sent (NTLMSSP
//! `DOMAIN\user@WORKSTATION`, or the Kerberos service ticket and the client principal from the
//! capture's AS exchange) and, for ACCESS_DENIED, the SPN the client used.

use super::{elapsed, ending_after, on_conn, server_silent, with_exchange, Context};
use crate::findings::{Finding, FindingId, Severity, StatusRef};
use crate::proto::ntstatus::NtStatus;
use crate::proto::smb1::Smb1Command;
use crate::proto::smb2::{Capabilities, SecurityMode, SessionFlags, Smb2Command};
use crate::setup::smb::{Command, Exchange, SmbConnection};
use crate::setup::Analysis;

const MORE_PROCESSING: u32 = NtStatus::STATUS_MORE_PROCESSING_REQUIRED.0;
const ACCESS_DENIED: u32 = NtStatus::STATUS_ACCESS_DENIED.0;
const INVALID_SIGNATURE: u32 = NtStatus::STATUS_INVALID_SIGNATURE.0;

fn is_session_setup(x: &Exchange) -> bool {
    matches!(
        x.command,
        Command::Smb2(Smb2Command::SESSION_SETUP) | Command::Smb1(Smb1Command::SESSION_SETUP_ANDX)
    )
}

pub fn check(conn: &SmbConnection, analysis: &Analysis, ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    if server_silent(conn) {
        return out;
    }
    for x in conn.exchanges.iter().filter(|x| is_session_setup(x)) {
        match (x.request, x.response, x.status) {
            (Some(req), None, _) => {
                if let Some(f) = no_response(conn, x, req, ctx) {
                    out.push(f);
                }
            }
            (_, Some(_), Some(status)) if status != 0 && status != MORE_PROCESSING => {
                out.push(failed(conn, x, status, analysis));
            }
            (_, Some(_), Some(0)) => {
                if let Some(f) = guest(conn, x) {
                    out.push(f);
                }
            }
            _ => {}
        }
    }
    out.extend(signing(conn));
    out
}

fn no_response(
    conn: &SmbConnection,
    x: &Exchange,
    req: crate::flow::At,
    ctx: &Context,
) -> Option<Finding> {
    let ending = ending_after(conn, req);
    // Still open and only just sent when the capture stopped: nothing to conclude.
    if ending.is_none() && ctx.end.ts.since(req.ts) < ctx.negotiate_timeout_ns {
        return None;
    }
    let message = match &ending {
        Some(end) => format!(
            "SESSION_SETUP to {} was never answered; {} {} the connection {} later",
            conn.conn.server,
            end.who(),
            end.how(),
            elapsed(req.ts, end.at.ts)
        ),
        None => format!(
            "SESSION_SETUP to {} was still unanswered when the capture ended, {} later",
            conn.conn.server,
            elapsed(req.ts, ctx.end.ts)
        ),
    };
    let mut f = Finding::new(FindingId::SessionSetupNoResponse, message);
    if let Some(ack) = x.ack {
        f.frames.insert("ack", ack.frame);
        f.evidence.push(format!(
            "The server's TCP stack acknowledged the request {} later (frame {}); the SMB server or its authentication back-end never answered.",
            elapsed(req.ts, ack.ts),
            ack.frame
        ));
    }
    match ending {
        Some(end) => {
            f.frames
                .insert(if end.reset { "reset" } else { "fin" }, end.at.frame);
            let meaning = if end.by_client {
                "the client gave up waiting"
            } else {
                "the server ended it without answering, so its log at that moment says why (an authentication back-end that failed or timed out, a crashed smbd child)"
            };
            f.evidence.push(format!(
                "{} {} the connection {} after the request (frame {}): {meaning}.",
                if end.by_client {
                    "The client"
                } else {
                    "The server"
                },
                end.how(),
                elapsed(req.ts, end.at.ts),
                end.at.frame
            ));
        }
        None => f.evidence.push(format!(
            "The connection was still open when the capture ended, {} after the request.",
            elapsed(req.ts, ctx.end.ts)
        )),
    }
    credentials(&mut f, x, None);
    Some(with_exchange(on_conn(f, conn), x))
}

fn failed(conn: &SmbConnection, x: &Exchange, status: u32, analysis: &Analysis) -> Finding {
    let st = StatusRef::nt(status);
    let cannot_encrypt = cannot_encrypt(conn);
    let mut f = if status == ACCESS_DENIED && cannot_encrypt.is_some() {
        let why = cannot_encrypt.unwrap_or_default();
        let mut f = Finding::new(
            FindingId::EncryptionRequired,
            format!(
                "{} refused the session with STATUS_ACCESS_DENIED; the server most likely requires encryption, which this client cannot do ({why})",
                conn.conn.server
            ),
        );
        f.phase = crate::findings::Phase::SessionSetup;
        f.evidence.push(format!(
            "The client {why}. A server that rejects unencrypted access answers such a client's session setup with ACCESS_DENIED."
        ));
        f
    } else {
        let mut f = Finding::new(
            FindingId::SessionSetupFailed,
            format!(
                "SESSION_SETUP to {} failed with {}",
                conn.conn.server, st.name
            ),
        );
        if status == ACCESS_DENIED {
            f.evidence.push(
                "ACCESS_DENIED at session setup often means SMB server name hardening (SmbServerNameHardeningLevel) rejected the SPN the client used."
                    .to_string(),
            );
        }
        if status == INVALID_SIGNATURE {
            f.evidence
                .push("The server could not verify the message signature.".to_string());
        }
        f
    };
    f.status = Some(st);
    credentials(&mut f, x, Some(analysis));
    with_exchange(on_conn(f, conn), x)
}

/// Why this connection's client cannot encrypt, if the capture shows it cannot.
pub(crate) fn cannot_encrypt(conn: &SmbConnection) -> Option<String> {
    let dialect = conn.dialect()?;
    if !dialect.is_smb3() {
        return Some(format!(
            "negotiated SMB {dialect}, and encryption needs SMB 3.0 or later"
        ));
    }
    let neg = conn.exchanges.iter().find_map(|x| x.negotiate.as_ref())?;
    if let Some(ciphers) = &neg.client_ciphers {
        if ciphers.is_empty() {
            return Some("offered no encryption cipher in its NEGOTIATE".to_string());
        }
    } else if dialect.0 < 0x0311 {
        if let Some(caps) = neg.client_capabilities {
            if !caps.contains(Capabilities::ENCRYPTION) {
                return Some(
                    "did not announce the encryption capability in its NEGOTIATE".to_string(),
                );
            }
        }
    }
    None
}

/// Names the credentials the request carried.
fn credentials(f: &mut Finding, x: &Exchange, analysis: Option<&Analysis>) {
    let Some(s) = &x.session else {
        return;
    };
    if let Some(n) = &s.ntlm {
        f.user = Some(n.principal());
        f.evidence.push(format!(
            "Credentials sent (NTLMSSP {}): {}.",
            n.version,
            n.principal()
        ));
        if let Some(t) = &n.target_name {
            f.spn = Some(t.clone());
            f.evidence
                .push(format!("The client named the server as SPN {t}."));
        }
    }
    if let Some((realm, sname)) = &s.ticket {
        f.spn = Some(sname.clone());
        f.evidence.push(format!(
            "The client presented a Kerberos service ticket for {sname}@{realm}."
        ));
        if let (Some(analysis), Some(req)) = (analysis, x.request) {
            if let Some(cname) = kerberos_client(analysis, f.client, req.ts) {
                f.user = Some(cname);
            }
        }
    }
    if s.ntlm.is_none() && s.ticket.is_none() {
        if let Some(m) = s.mechanism {
            f.evidence.push(format!("Authentication mechanism: {m}."));
        }
    }
}

/// The client principal of the latest AS exchange from the same address before `before`.
fn kerberos_client(
    analysis: &Analysis,
    client: Option<std::net::SocketAddr>,
    before: crate::capture::Timestamp,
) -> Option<String> {
    let ip = client?.ip();
    // The latest request, whether its exchange was kept whole or settled.
    let whole = analysis
        .kerberos
        .iter()
        .filter(|k| k.client.ip() == ip)
        .filter_map(|k| k.request.as_ref())
        .filter(|r| r.ts <= before)
        .filter_map(|r| Some((r.frame, format!("{}@{}", r.cname.as_ref()?, r.realm))))
        .next_back();
    let settled = analysis
        .kerberos_settled
        .iter()
        .filter(|k| k.client == ip)
        .filter_map(|k| k.request.as_ref())
        .filter(|(at, _)| at.ts <= before)
        .filter_map(|(at, principal)| Some((at.frame, principal.as_deref()?.to_string())))
        .next_back();
    match (whole, settled) {
        (Some(a), Some(b)) => Some(if a.0 >= b.0 { a.1 } else { b.1 }),
        (a, b) => a.or(b).map(|(_, p)| p),
    }
}

fn guest(conn: &SmbConnection, x: &Exchange) -> Option<Finding> {
    let flags = x.session.as_ref()?.session_flags?;
    let what = if flags.contains(SessionFlags::IS_GUEST) {
        "a guest session"
    } else if flags.contains(SessionFlags::IS_NULL) {
        "an anonymous (null) session"
    } else {
        return None;
    };
    // Guest access that then works is worth knowing; guest access followed by a refused share
    // likely explains the refusal.
    let refused = conn.exchanges.iter().any(|t| {
        t.command.is(Smb2Command::TREE_CONNECT)
            && t.session_id == x.session_id
            && t.status == Some(ACCESS_DENIED)
    });
    let severity = if refused {
        Severity::Warning
    } else {
        Severity::Info
    };
    let mut f = Finding::new(
        FindingId::SessionSetupGuest,
        format!(
            "{} gave the client {what}: shares that need a real account will refuse it",
            conn.conn.server
        ),
    );
    f.severity = severity;
    credentials(&mut f, x, None);
    Some(with_exchange(on_conn(f, conn), x))
}

/// Signing required by the server and not honoured, or setup dropped right after the session
/// (where signing starts).
fn signing(conn: &SmbConnection) -> Vec<Finding> {
    let mut out = Vec::new();
    let server_requires = conn
        .exchanges
        .iter()
        .filter_map(|x| x.negotiate.as_ref()?.server_security_mode)
        .any(|m| m.contains(SecurityMode::SIGNING_REQUIRED));
    let Some(session) = conn.exchanges.iter().find(|x| {
        x.command.is(Smb2Command::SESSION_SETUP)
            && x.status == Some(0)
            && x.session
                .as_ref()
                .and_then(|s| s.session_flags)
                .is_some_and(|fl| {
                    !fl.contains(SessionFlags::IS_GUEST) && !fl.contains(SessionFlags::IS_NULL)
                })
    }) else {
        return out;
    };
    let Some(done) = session.response else {
        return out;
    };
    if conn.encrypted.is_some() {
        return out;
    }
    let next_signed = conn
        .exchanges
        .iter()
        .filter(|x| x.request.is_some_and(|r| r.frame > done.frame))
        .map(|x| (x.request.unwrap_or(done), x.request_signed))
        .chain(
            conn.first_other_request
                .filter(|(at, _)| at.frame > done.frame),
        )
        .min_by_key(|(at, _)| at.frame);
    match next_signed {
        Some((at, false)) if server_requires => {
            let mut f = Finding::new(
                FindingId::SigningProblem,
                format!(
                    "{} requires SMB signing, but the client's first request after session setup is not signed",
                    conn.conn.server
                ),
            )
            .frame("session", done.frame)
            .frame("request", at.frame);
            f.time = Some(at.ts);
            out.push(on_conn(f, conn));
        }
        None => {
            if let Some(end) = ending_after(conn, done) {
                if end.reset && end.at.ts.since(done.ts) < 5_000_000_000 {
                    let mut f = Finding::new(
                        FindingId::SigningProblem,
                        format!(
                            "The connection to {} was reset {} after the session was set up, before any further request: signing may have failed",
                            conn.conn.server,
                            elapsed(done.ts, end.at.ts)
                        ),
                    )
                    .frame("session", done.frame)
                    .frame("reset", end.at.frame);
                    f.time = Some(end.at.ts);
                    out.push(on_conn(f, conn));
                }
            }
        }
        _ => {}
    }
    for x in &conn.exchanges {
        if x.status == Some(INVALID_SIGNATURE) && !is_session_setup(x) {
            let mut f = Finding::new(
                FindingId::SigningProblem,
                format!(
                    "{} answered {} with STATUS_INVALID_SIGNATURE",
                    conn.conn.server,
                    x.command.name()
                ),
            );
            f.severity = Severity::Error;
            f.status = Some(StatusRef::nt(INVALID_SIGNATURE));
            out.push(with_exchange(on_conn(f, conn), x));
        }
    }
    out
}
