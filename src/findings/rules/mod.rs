//! The rules: each reads the [`Analysis`] and returns findings of its own ids. They share the
//! [`Context`] (capture-wide facts) and small helpers for evidence wording.

mod capture;
mod kerberos;
mod negotiate;
mod session;
mod tcp;
mod tree;

use super::Finding;
use crate::capture::Timestamp;
use crate::flow::{At, Dir};
use crate::setup::smb::{Exchange, SmbConnection};
use crate::setup::Analysis;

/// Capture-wide facts the rules need besides the analysis.
#[derive(Debug, Clone)]
pub struct Context {
    /// The capture's last frame and its time.
    pub end: At,
    /// A NEGOTIATE still unanswered this long when the capture ends counts as timed out.
    pub negotiate_timeout_ns: i64,
    /// The file ended inside a record (the frame after `end` is missing).
    pub truncated: bool,
    /// Frames shorter than the packet they captured (snaplen).
    pub cut_frames: u64,
}

/// Runs every rule and returns the findings in order of their first frame.
pub fn run(analysis: &Analysis, ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(tcp::connect_failed(analysis, ctx));
    for conn in &analysis.smb {
        out.extend(negotiate::check(conn, ctx));
        out.extend(session::check(conn, analysis, ctx));
        out.extend(tree::check(conn, analysis));
    }
    out.extend(kerberos::check(analysis, ctx));
    out.extend(capture::check(analysis, ctx));
    out.sort_by_key(|f| (f.first_frame(), f.id));
    out
}

/// Milliseconds between two moments, for messages: `0.2 ms`, `60.07 s`.
pub(crate) fn elapsed(from: Timestamp, to: Timestamp) -> String {
    let ns = to.since(from);
    if ns.abs() < 1_000_000_000 {
        let ms = ns as f64 / 1e6;
        if ms < 10.0 {
            format!("{ms:.3} ms")
        } else {
            format!("{ms:.1} ms")
        }
    } else {
        format!("{:.2} s", ns as f64 / 1e9)
    }
}

/// Who ended a connection and how, after a given moment: the first RST or FIN after it.
pub(crate) struct Ending {
    pub at: At,
    pub by_client: bool,
    pub reset: bool,
}

impl Ending {
    pub fn who(&self) -> &'static str {
        if self.by_client {
            "the client"
        } else {
            "the server"
        }
    }

    pub fn how(&self) -> &'static str {
        if self.reset {
            "reset (RST)"
        } else {
            "closed (FIN)"
        }
    }
}

pub(crate) fn ending_after(conn: &SmbConnection, after: At) -> Option<Ending> {
    let rst = conn
        .rsts
        .iter()
        .filter(|(_, at)| at.frame >= after.frame)
        .map(|(d, at)| (*at, *d, true));
    let fin = conn
        .fins
        .iter()
        .filter(|(_, at)| at.frame >= after.frame)
        .map(|(d, at)| (*at, *d, false));
    rst.chain(fin)
        .min_by_key(|(at, _, _)| at.frame)
        .map(|(at, dir, reset)| Ending {
            at,
            by_client: dir == Dir::ToServer,
            reset,
        })
}

/// True when the capture holds nothing at all from the server: a one-sided capture, where
/// missing responses say nothing about the server.
pub(crate) fn server_silent(conn: &SmbConnection) -> bool {
    conn.synack.is_none()
        && conn
            .exchanges
            .iter()
            .all(|x| x.response.is_none() && x.ack.is_none() && x.interim.is_none())
        && conn.encrypted.is_none()
        && !conn.rsts.iter().any(|(d, _)| *d == Dir::ToClient)
        && !conn.fins.iter().any(|(d, _)| *d == Dir::ToClient)
}

/// Fills the connection fields of a finding.
pub(crate) fn on_conn(mut f: Finding, conn: &SmbConnection) -> Finding {
    f.client = Some(conn.conn.client);
    f.server = Some(conn.conn.server);
    f
}

/// Request and response frames of an exchange, and its time.
pub(crate) fn with_exchange(mut f: Finding, x: &Exchange) -> Finding {
    if let Some(r) = x.request {
        f.frames.insert("request", r.frame);
    }
    if let Some(r) = x.response {
        f.frames.insert("response", r.frame);
    }
    f.time = x.response.or(x.request).map(|m| m.ts);
    f
}
