//! Negotiate: `negotiate-timeout`, `negotiate-no-response`, `negotiate-failed`.
//!
//! The timeout rule describes the symptom exactly as the seed article does: the NEGOTIATE was
//! sent, the server's TCP stack acknowledged it (with the delay), no SMB response came, and the
//! connection was then reset or closed (by whom, how long after). A NEGOTIATE still unanswered
//! when the capture ends is a timeout only if it waited at least `--negotiate-timeout`;
//! otherwise it is the weaker `negotiate-no-response`.

use super::{elapsed, ending_after, on_conn, server_silent, with_exchange, Context};
use crate::findings::{Finding, FindingId, StatusRef};
use crate::proto::smb1::{Smb1Command, NO_DIALECT};
use crate::proto::smb2::Smb2Command;
use crate::setup::smb::{Command, Exchange, SmbConnection};

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

fn unanswered(
    conn: &SmbConnection,
    x: &Exchange,
    req: crate::flow::At,
    kind: &str,
    ctx: &Context,
) -> Finding {
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
