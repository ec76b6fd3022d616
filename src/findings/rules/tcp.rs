//! `tcp-connect-failed`: a SYN to an SMB or Kerberos port answered by RST, or never answered.

use super::{connections, elapsed, Conn, Context};
use crate::findings::{Finding, FindingId, Severity};
use crate::setup::Analysis;
use crate::setup::FailedConnect;

/// How long an unanswered SYN must have waited before the capture ended to count.
const UNANSWERED_AFTER_NS: i64 = 3_000_000_000;

/// Attempts from one client to one server port this close together are one failure: clients
/// retry a refused SYN a few times.
const RETRY_WINDOW_NS: i64 = 30_000_000_000;

/// A connection to another SMB port of the server this close to a refused SYN was tried
/// beside it.
const BESIDE_NS: i64 = 5_000_000_000;
const _: () = assert!(BESIDE_NS <= super::REACH_NS);

pub fn connect_failed(analysis: &Analysis, ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    let conns = connections(analysis);
    let mut attempts: Vec<&FailedConnect> = analysis.failed_connects.iter().collect();
    attempts.sort_by_key(|a| a.syn.frame);
    let mut groups: Vec<Vec<&FailedConnect>> = Vec::new();
    for a in attempts {
        let joined = groups.iter_mut().rev().find(|g| {
            g.last().is_some_and(|l| {
                l.client.ip() == a.client.ip()
                    && l.server == a.server
                    && a.syn.ts.since(l.syn.ts) <= RETRY_WINDOW_NS
            })
        });
        match joined {
            Some(g) => g.push(a),
            None => groups.push(vec![a]),
        }
    }
    for group in groups {
        let Some(&a) = group.first() else { continue };
        let service = if a.kerberos { "Kerberos" } else { "SMB" };
        let mut f = match a.reset {
            Some(rst) => Finding::new(
                FindingId::TcpConnectFailed,
                format!(
                    "TCP connection to {service} port {} on {} was refused: the SYN was answered by a reset {} later",
                    a.server.port(),
                    a.server.ip(),
                    elapsed(a.syn.ts, rst.ts)
                ),
            )
            .frame("syn", a.syn.frame)
            .frame("reset", rst.frame),
            None => {
                let waited = ctx.end.ts.since(a.syn.ts);
                if waited < UNANSWERED_AFTER_NS {
                    continue;
                }
                Finding::new(
                    FindingId::TcpConnectFailed,
                    format!(
                        "TCP connection to {service} port {} on {} was never answered: no SYN-ACK in the {} the capture went on",
                        a.server.port(),
                        a.server.ip(),
                        elapsed(a.syn.ts, ctx.end.ts)
                    ),
                )
                .frame("syn", a.syn.frame)
            }
        };
        f.client = Some(a.client);
        f.server = Some(a.server);
        f.time = Some(a.syn.ts);
        if group.len() > 1 {
            f.evidence.push(format!(
                "The client tried {} times; the last attempt was frame {}.",
                group.len(),
                group.last().map(|l| l.syn.frame).unwrap_or_default()
            ));
        }
        if let Some(port) = reached_otherwise(&conns, a) {
            // Windows tries 445 and 139 at once and keeps whichever answers.
            f.severity = Severity::Info;
            f.evidence.push(format!(
                "The client reached the same server on port {port} at the same time, so this attempt did not matter."
            ));
        }
        out.push(f);
    }
    out
}

/// Another SMB port of the same server that the same client reached within a few seconds.
fn reached_otherwise(conns: &[Conn<'_>], a: &FailedConnect) -> Option<u16> {
    if a.kerberos {
        return None;
    }
    conns
        .iter()
        .filter(|c| c.client().ip() == a.client.ip() && c.server().ip() == a.server.ip())
        .filter(|c| c.server().port() != a.server.port() && c.synack())
        .find(|c| c.first_ts().since(a.syn.ts).abs() <= BESIDE_NS)
        .map(|c| c.server().port())
}
