//! Negotiate: `negotiate-timeout`, `negotiate-no-response`, `negotiate-failed`.
//!
//! The timeout rule describes the symptom exactly as the seed article does: the NEGOTIATE was
//! sent, the server's TCP stack acknowledged it (with the delay), no SMB response came, and the
//! connection was then reset or closed (by whom, how long after). A NEGOTIATE still unanswered
//! when the capture ends is a timeout only if it waited at least `--negotiate-timeout`;
//! otherwise it is the weaker `negotiate-no-response`.
//!
//! A timeout needs silence. A server that resets or closes the connection within
//! [`REFUSAL_NS`] of the NEGOTIATE, without an SMB answer, refused it (Windows with SMB1
//! disabled resets an SMB1-only NEGOTIATE within microseconds): `negotiate-failed`, with the
//! dialect advice, never the timeout's antivirus advice. [`super::run`] lowers it to `info`
//! when the same client then set up a session with that server (a probe, or a fallback that
//! worked).

use super::{
    connections, elapsed, ending_after, on_conn, server_silent, with_exchange, Context, Ending,
    AFTERWARDS_NS,
};
use crate::findings::{Finding, FindingId, Severity, StatusRef};
use crate::flow::At;
use crate::proto::smb1::{Smb1Command, NO_DIALECT};
use crate::proto::smb2::Smb2Command;
use crate::setup::smb::{Command, Exchange, SmbConnection};
use crate::setup::Analysis;

/// A server that ends the connection this soon after a NEGOTIATE refused it rather than hung.
/// A refusal comes within one round trip and the server's own processing: tens of microseconds
/// on a LAN, a few hundred milliseconds across the slowest WAN. A hang ends only when a timer
/// fires: smbclient gives up after 20 s, Windows and impacket after about 60 s, and no SMB
/// client or server gives up on a NEGOTIATE within a second. One second separates the two
/// with room on both sides.
pub(crate) const REFUSAL_NS: i64 = 1_000_000_000;

fn is_negotiate(x: &Exchange) -> bool {
    matches!(
        x.command,
        Command::Smb2(Smb2Command::NEGOTIATE) | Command::Smb1(Smb1Command::NEGOTIATE)
    )
}

pub fn check(conn: &SmbConnection, ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    if server_silent(conn) {
        return out;
    }
    for x in conn.exchanges.iter().filter(|x| is_negotiate(x)) {
        let kind = match x.command {
            Command::Smb1(_) => "SMB1 NEGOTIATE",
            Command::Smb2(_) => "NEGOTIATE",
        };
        match (x.request, x.response) {
            (Some(req), None) => out.push(unanswered(conn, x, req, kind, ctx)),
            (_, Some(_)) => {
                if let Some(f) = failed(conn, x, kind) {
                    out.push(f);
                }
            }
            (None, None) => {}
        }
    }
    out
}

fn unanswered(conn: &SmbConnection, x: &Exchange, req: At, kind: &str, ctx: &Context) -> Finding {
    let mut evidence = Vec::new();
    match x.ack {
        Some(ack) => evidence.push(format!(
            "The server's TCP stack acknowledged the {kind} {} after it was sent (frame {}), so it reached the server; the SMB server never answered it.",
            elapsed(req.ts, ack.ts),
            ack.frame
        )),
        None => evidence.push(format!(
            "No TCP acknowledgement of the {kind} from the server appears in the capture."
        )),
    }
    let ending = ending_after(conn, req);
    if let Some(end) = ending
        .as_ref()
        .filter(|e| e.at.ts.since(req.ts) < REFUSAL_NS)
    {
        // The ending itself answers at the TCP level; a missing ACK before it says nothing.
        if x.ack.is_none() {
            evidence.clear();
        }
        return too_soon(conn, x, req, kind, end, evidence);
    }
    let mut f = match &ending {
        Some(end) => {
            evidence.push(format!(
                "{} {} the connection {} after the {kind} (frame {}).",
                capitalise(end.who()),
                end.how(),
                elapsed(req.ts, end.at.ts),
                end.at.frame
            ));
            let mut f = Finding::new(
                FindingId::NegotiateTimeout,
                format!(
                    "{kind} to {} was never answered; {} {} the connection {} later",
                    conn.conn.server,
                    end.who(),
                    end.how(),
                    elapsed(req.ts, end.at.ts)
                ),
            );
            f.frames
                .insert(if end.reset { "reset" } else { "fin" }, end.at.frame);
            f
        }
        None => {
            let waited = ctx.end.ts.since(req.ts);
            evidence.push(format!(
                "The connection was still open when the capture ended, {} after the {kind}.",
                elapsed(req.ts, ctx.end.ts)
            ));
            let id = if waited >= ctx.negotiate_timeout_ns {
                FindingId::NegotiateTimeout
            } else {
                FindingId::NegotiateNoResponse
            };
            Finding::new(
                id,
                format!(
                    "{kind} to {} was still unanswered when the capture ended, {} later",
                    conn.conn.server,
                    elapsed(req.ts, ctx.end.ts)
                ),
            )
        }
    };
    if let Some(ack) = x.ack {
        f.frames.insert("ack", ack.frame);
    }
    f.evidence = evidence;
    let mut f = with_exchange(on_conn(f, conn), x);
    f.time = Some(req.ts);
    f
}

/// A NEGOTIATE ended by RST or FIN within [`REFUSAL_NS`], with no SMB answer. By the server:
/// a refusal. By the client: it gave up before any server could answer, which says nothing
/// about the server (a scanner's probe does this).
fn too_soon(
    conn: &SmbConnection,
    x: &Exchange,
    req: At,
    kind: &str,
    end: &Ending,
    mut evidence: Vec<String>,
) -> Finding {
    let after = elapsed(req.ts, end.at.ts);
    evidence.push(format!(
        "{} {} the connection {after} after the {kind} (frame {}), without any SMB response.",
        capitalise(end.who()),
        end.how(),
        end.at.frame
    ));
    let mut f = if end.by_client {
        let mut f = Finding::new(
            FindingId::NegotiateNoResponse,
            format!(
                "The client {} the connection {after} after its {kind} to {}, before the server could answer",
                end.how(),
                conn.conn.server
            ),
        );
        f.severity = Severity::Info;
        evidence.push(
            "No server answers within that time even when healthy: this says nothing about the server (scanners and probes end connections this way)."
                .to_string(),
        );
        f
    } else {
        let smb1_only = smb1_only(x);
        let message = if smb1_only {
            format!(
                "{} {} the connection {after} after an SMB1-only NEGOTIATE: the server refuses SMB1 (SMB1 is disabled there)",
                conn.conn.server,
                if end.reset { "reset" } else { "closed" },
            )
        } else {
            format!(
                "{} {} the connection {after} after the {kind}, without answering it: the server refused the NEGOTIATE",
                conn.conn.server,
                if end.reset { "reset" } else { "closed" },
            )
        };
        if smb1_only {
            let offered = x
                .negotiate
                .as_ref()
                .map(|n| n.smb1_dialects.join(", "))
                .unwrap_or_default();
            evidence.push(format!(
                "The client offered only SMB1 dialects ({offered}); a Windows server with SMB1 disabled resets such a NEGOTIATE at once instead of answering it."
            ));
        } else {
            evidence.push(
                "An answer this fast is a refusal, not a hang: the SMB server (or something in front of it) rejected the NEGOTIATE. Check the dialects the server allows and its logs."
                    .to_string(),
            );
        }
        Finding::new(FindingId::NegotiateFailed, message)
    };
    f.frames
        .insert(if end.reset { "reset" } else { "fin" }, end.at.frame);
    if let Some(ack) = x.ack {
        f.frames.insert("ack", ack.frame);
    }
    f.evidence = evidence;
    let mut f = with_exchange(on_conn(f, conn), x);
    f.time = Some(req.ts);
    f
}

/// SPEC §7: `negotiate-failed` is `info` when the same client then set up an SMB2/3 session
/// with that server shortly after, on another connection: a probe (scanners and older clients
/// try SMB1 first) or a fallback that worked. Runs over the whole capture's findings, since
/// the session that overcame the failure comes later.
pub fn overcome(findings: &mut [Finding], analysis: &Analysis) {
    let conns = connections(analysis);
    for f in findings
        .iter_mut()
        .filter(|f| f.id == FindingId::NegotiateFailed && f.severity > Severity::Info)
    {
        let (Some(client), Some(server), Some(at)) = (f.client, f.server, f.time) else {
            continue;
        };
        let later = conns
            .iter()
            .filter(|c| c.client() != client && c.client().ip() == client.ip())
            .filter(|c| c.server().ip() == server.ip())
            .flat_map(|c| c.session_ok())
            .filter(|ok| ok.ts > at && ok.ts.since(at) <= AFTERWARDS_NS)
            .min_by_key(|ok| ok.frame);
        if let Some(ok) = later {
            f.severity = Severity::Info;
            f.evidence.push(format!(
                "The same client set up an SMB2/3 session with {} {} later on another connection (frame {}): the failed NEGOTIATE was a probe or a fallback that worked.",
                server.ip(),
                elapsed(at, ok.ts),
                ok.frame
            ));
        }
    }
}

/// An SMB1 NEGOTIATE that offers no SMB2 dialect (no `SMB 2.002` or `SMB 2.???`).
fn smb1_only(x: &Exchange) -> bool {
    matches!(x.command, Command::Smb1(_))
        && x.negotiate.as_ref().is_some_and(|n| {
            !n.smb1_dialects.is_empty() && !n.smb1_dialects.iter().any(|d| d.starts_with("SMB 2."))
        })
}

fn failed(conn: &SmbConnection, x: &Exchange, kind: &str) -> Option<Finding> {
    let status = x.status?;
    let neg = x.negotiate.as_ref();
    if let Some(NO_DIALECT) = neg.and_then(|n| n.smb1_dialect_index) {
        let offered = neg.map(|n| n.smb1_dialects.join(", ")).unwrap_or_default();
        let mut f = Finding::new(
            FindingId::NegotiateFailed,
            format!(
                "{} accepted none of the client's SMB1 dialects ({offered}): no common dialect",
                conn.conn.server
            ),
        );
        f.evidence.push(
            "The SMB1 NEGOTIATE response has DialectIndex 0xFFFF. A client that speaks only SMB1 (NT LM 0.12) cannot reach a server with SMB1 disabled."
                .to_string(),
        );
        return Some(with_exchange(on_conn(f, conn), x));
    }
    if status == 0 {
        return None;
    }
    let st = StatusRef::nt(status);
    let mut f = Finding::new(
        FindingId::NegotiateFailed,
        format!("{kind} to {} failed with {}", conn.conn.server, st.name),
    );
    if let Some(n) = neg {
        if !n.offered.is_empty() {
            let offered: Vec<String> = n.offered.iter().map(|d| d.to_string()).collect();
            f.evidence.push(format!(
                "The client offered dialects {}.",
                offered.join(", ")
            ));
        }
        if !n.smb1_dialects.is_empty() {
            f.evidence.push(format!(
                "The client offered SMB1 dialects {}.",
                n.smb1_dialects.join(", ")
            ));
        }
    }
    f.status = Some(st);
    Some(with_exchange(on_conn(f, conn), x))
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
