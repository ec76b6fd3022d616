//! The rules: each reads the [`Analysis`] and returns findings of its own ids. They share the
//! [`Context`] (capture-wide facts) and small helpers for evidence wording.
//!
//! Two kinds of rule: those about one SMB connection ([`connection`]), which read other
//! connections and Kerberos exchanges only from before it (the credentials, a Kerberos failure
//! it fell back from) or only when it failed, and the whole-capture ones ([`run`]), which
//! correlate across connections through [`Conn`], whole or settled alike. That split lets a
//! caller judge a connection as it closes ([`settle`]) and keep only a summary of it.

mod capture;
mod kerberos;

pub use kerberos::SkippedNtlm;
mod negotiate;
mod session;
mod tcp;
mod tree;

use super::verdict::{self, Verdict};
use super::{Finding, FindingId, Phase, Severity};
use crate::capture::Timestamp;
use crate::flow::{At, Dir};
use crate::setup::smb::{EncryptionSeen, Exchange, SmbConnection, SmbSummary};
use crate::setup::Analysis;
use std::net::SocketAddr;

/// How long after a failure a success of the same client still counts as overcoming it.
pub(crate) const AFTERWARDS_NS: i64 = 120_000_000_000;

/// No whole-capture rule relates an SMB connection to an event (a Kerberos error, a failed
/// NEGOTIATE, a refused SYN) farther from it in time than this: a settled connection's
/// summary that far from every such event can be folded into totals
/// ([`crate::setup::Analyzer::prune_settled`]).
pub const REACH_NS: i64 = AFTERWARDS_NS;

/// Capture-wide facts the rules need besides the analysis.
#[derive(Debug, Clone)]
pub struct Context {
    /// The capture's last frame and its time.
    pub end: At,
    /// A NEGOTIATE still unanswered this long when the capture ends counts as timed out.
    pub negotiate_timeout_ns: i64,
    /// The file ended inside a record (the frame after `end` is missing).
    pub truncated: bool,
    /// Reading stopped early on a corrupt record or unreadable data (why), not at a cut.
    pub corrupt: Option<String>,
    /// Frames shorter than the packet they captured (snaplen).
    pub cut_frames: u64,
}

/// Runs every rule and returns the findings in order of their first frame. Settled
/// connections' own findings are the caller's (see [`settle`]); pass them in `settled` to have
/// them merged into the order.
pub fn run(analysis: &Analysis, ctx: &Context, settled: Vec<Finding>) -> Vec<Finding> {
    run_gathered(analysis, ctx, settled, SkippedNtlm::default())
}

/// As [`run`], with the NTLM-without-Kerberos findings of settled connections already
/// gathered by (client, server name) in `skipped` (see [`SkippedNtlm`]).
pub fn run_gathered(
    analysis: &Analysis,
    ctx: &Context,
    settled: Vec<Finding>,
    skipped: SkippedNtlm,
) -> Vec<Finding> {
    let mut out = settled;
    out.extend(tcp::connect_failed(analysis, ctx));
    for conn in &analysis.smb {
        out.extend(connection(conn, analysis, ctx));
    }
    out.extend(kerberos::check(analysis, ctx));
    out.extend(capture::check(analysis, ctx));
    sort(&mut out);
    negotiate::overcome(&mut out, analysis);
    let mut out = kerberos::merge_repeats(out);
    out = kerberos::aggregate_skipped(out, skipped);
    sort(&mut out);
    out
}

/// The report's order: by first frame, then id, then connection and wording, so that the
/// order never depends on which rule or connection produced a finding first.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.first_frame(), a.id, a.client, a.server, &a.message).cmp(&(
            b.first_frame(),
            b.id,
            b.client,
            b.server,
            &b.message,
        ))
    });
}

/// The rules about one SMB connection.
pub fn connection(conn: &SmbConnection, analysis: &Analysis, ctx: &Context) -> Vec<Finding> {
    let mut out = negotiate::check(conn, ctx);
    out.extend(session::check(conn, analysis, ctx));
    out.extend(tree::check(conn, analysis));
    out.extend(kerberos::in_session_setup(conn));
    out.extend(kerberos::fallback(analysis, conn));
    out.extend(capture::connection(conn));
    root_cause_first(conn, &mut out);
    out
}

/// Root cause first (SPEC §7): once a phase of the connection failed or went unanswered, the
/// later findings that follow from it become evidence of that finding. What follows from what:
/// after a failed NEGOTIATE, every later session or tree finding; after an unanswered request,
/// every later unanswered one (the server stopped answering); after a failed session, the tree
/// connects made on that session. Independent failures on a healthy session stay separate.
fn root_cause_first(conn: &SmbConnection, out: &mut Vec<Finding>) {
    sort(out);
    let mut i = 0;
    while i < out.len() {
        if is_root(&out[i]) {
            let mut folded = Vec::new();
            let mut j = i + 1;
            while j < out.len() {
                if follows_from(conn, &out[i], &out[j]) {
                    folded.push(out.remove(j));
                } else {
                    j += 1;
                }
            }
            if !folded.is_empty() {
                describe_consequences(conn, &mut out[i], &folded);
            }
        }
        i += 1;
    }
}

/// Findings that can be the cause of later ones on their connection.
fn is_root(f: &Finding) -> bool {
    f.severity > Severity::Info
        && f.frames.contains_key("request")
        && matches!(
            (f.id, f.phase),
            (FindingId::NegotiateTimeout, _)
                | (FindingId::NegotiateNoResponse, _)
                | (FindingId::NegotiateFailed, _)
                | (FindingId::SessionSetupNoResponse, _)
                | (FindingId::SessionSetupFailed, _)
                | (FindingId::EncryptionRequired, Phase::SessionSetup)
        )
}

/// The ids of the session and tree rules, which a failed earlier phase makes moot.
fn is_setup_step(f: &Finding) -> bool {
    matches!(
        f.id,
        FindingId::SessionSetupNoResponse
            | FindingId::SessionSetupFailed
            | FindingId::SessionSetupGuest
            | FindingId::SigningProblem
            | FindingId::TreeConnectBadNetworkName
            | FindingId::TreeConnectAccessDenied
            | FindingId::TreeConnectFailed
            | FindingId::EncryptionRequired
    )
}

/// The exchange whose request is the finding's `request` frame.
fn exchange_of<'c>(conn: &'c SmbConnection, f: &Finding) -> Option<&'c Exchange> {
    let frame = *f.frames.get("request")?;
    conn.exchanges
        .iter()
        .find(|x| x.request.is_some_and(|r| r.frame == frame))
}

fn unanswered(f: &Finding) -> bool {
    f.frames.contains_key("request") && !f.frames.contains_key("response")
}

fn follows_from(conn: &SmbConnection, root: &Finding, later: &Finding) -> bool {
    let (Some(&root_req), Some(&later_req)) =
        (root.frames.get("request"), later.frames.get("request"))
    else {
        return false;
    };
    if later_req <= root_req || !is_setup_step(later) {
        return false;
    }
    if root.phase == Phase::Negotiate {
        return true;
    }
    if unanswered(root) && unanswered(later) {
        return true;
    }
    let session = |f: &Finding| exchange_of(conn, f).map(|x| x.session_id);
    later.phase == Phase::TreeConnect && session(root).is_some() && session(root) == session(later)
}

/// "3 later requests were not answered either: SESSION_SETUP frame 8, TREE_CONNECT frames
/// 10, 141", and the same for requests refused because of the root failure.
fn describe_consequences(conn: &SmbConnection, root: &mut Finding, folded: &[Finding]) {
    let (silent, refused): (Vec<&Finding>, Vec<&Finding>) =
        folded.iter().partition(|f| unanswered(f));
    let list = |fs: &[&Finding]| {
        let mut by_command: Vec<(String, Vec<String>)> = Vec::new();
        for f in fs {
            let name = exchange_of(conn, f)
                .map(|x| x.command.name())
                .unwrap_or_else(|| f.phase.as_str().to_ascii_uppercase());
            let mut frame = f
                .frames
                .get("request")
                .copied()
                .unwrap_or_default()
                .to_string();
            if let Some(st) = &f.status {
                frame = format!("{frame} ({})", st.name);
            }
            match by_command.iter_mut().find(|(n, _)| *n == name) {
                Some((_, frames)) => frames.push(frame),
                None => by_command.push((name, vec![frame])),
            }
        }
        by_command
            .iter()
            .map(|(name, frames)| {
                let word = if frames.len() == 1 { "frame" } else { "frames" };
                format!("{name} {word} {}", frames.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let requests = |n: usize| {
        if n == 1 {
            "request was"
        } else {
            "requests were"
        }
    };
    if !silent.is_empty() {
        root.evidence.push(format!(
            "{} later {} not answered either: {}.",
            silent.len(),
            requests(silent.len()),
            list(&silent)
        ));
    }
    if !refused.is_empty() {
        root.evidence.push(format!(
            "{} later {} refused as a consequence: {}.",
            refused.len(),
            requests(refused.len()),
            list(&refused)
        ));
    }
}

/// Judges a connection as it closes, with what has finished so far: its findings and verdict
/// when none can change with what the capture shows later (the end of the capture is tried at
/// the close and a century after it, and both must agree), so that the connection can be
/// reduced to a summary, failing or not. The per-connection rules read other connections and
/// Kerberos exchanges only from before it, except `encryption-required`, which looks for the
/// server's encryption demands anywhere in the capture: such a connection stays whole. `None`:
/// keep it whole for the end of the capture.
pub fn settle(
    conn: &SmbConnection,
    analysis: &Analysis,
    ctx: &Context,
    now: At,
) -> Option<Settled> {
    const CENTURY_NS: i64 = 100 * 365 * 86_400 * 1_000_000_000;
    let at = |ts| Context {
        end: At {
            frame: now.frame,
            ts,
        },
        ..ctx.clone()
    };
    let near = connection(conn, analysis, &at(now.ts));
    // Encryption-required reads what other connections to the server show, later ones too.
    if near.iter().any(|f| f.id == FindingId::EncryptionRequired) {
        return None;
    }
    // A capture dated within a century of the end of time cannot be tried: keep it whole.
    let later = Timestamp::from_nanos(now.ts.nanos().checked_add(CENTURY_NS)?);
    let far = connection(conn, analysis, &at(later));
    let verdicts = (
        verdict::of(conn, &at(now.ts)),
        verdict::of(conn, &at(later)),
    );
    (near == far && verdicts.0 == verdicts.1).then_some(Settled {
        findings: near,
        verdict: verdicts.0,
    })
}

/// What a settled connection leaves for the report.
#[derive(Debug)]
pub struct Settled {
    pub findings: Vec<Finding>,
    pub verdict: Verdict,
}

/// An SMB connection as the whole-capture rules see it: kept whole, or settled.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Conn<'a> {
    Whole(&'a SmbConnection),
    Settled(&'a SmbSummary),
}

impl Conn<'_> {
    pub fn client(&self) -> SocketAddr {
        match self {
            Conn::Whole(c) => c.conn.client,
            Conn::Settled(s) => s.client,
        }
    }

    pub fn server(&self) -> SocketAddr {
        match self {
            Conn::Whole(c) => c.conn.server,
            Conn::Settled(s) => s.server,
        }
    }

    /// The connection's first packet.
    pub fn first(&self) -> At {
        match self {
            Conn::Whole(c) => c.conn.first,
            Conn::Settled(s) => s.first,
        }
    }

    /// Its SYN's time, or its first packet's.
    pub fn first_ts(&self) -> Timestamp {
        match self {
            Conn::Whole(c) => c.first_ts(),
            Conn::Settled(s) => s.first_ts,
        }
    }

    pub fn synack(&self) -> bool {
        match self {
            Conn::Whole(c) => c.synack.is_some(),
            Conn::Settled(s) => s.synack,
        }
    }

    /// Successful SESSION_SETUP responses, in order.
    pub fn session_ok(&self) -> Vec<At> {
        match self {
            Conn::Whole(c) => c.session_ok().collect(),
            Conn::Settled(s) => s.session_ok.to_vec(),
        }
    }

    pub fn encryption(&self) -> Option<EncryptionSeen> {
        match self {
            Conn::Whole(c) => c.encryption_seen(),
            Conn::Settled(s) => s.encryption.clone(),
        }
    }
}

/// Every SMB connection, whole or settled, in order of its first packet.
pub(crate) fn connections(analysis: &Analysis) -> Vec<Conn<'_>> {
    let mut all: Vec<Conn<'_>> = analysis
        .smb
        .iter()
        .map(Conn::Whole)
        .chain(analysis.smb_settled.iter().map(Conn::Settled))
        .collect();
    all.sort_by_key(|c| c.first().frame);
    all
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
