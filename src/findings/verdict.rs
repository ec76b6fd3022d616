//! A verdict per setup stage for every SMB connection (SPEC §7): TCP, NEGOTIATE, SESSION_SETUP
//! and TREE_CONNECT, each `ok`, `failed`, `not_reached` or `not_visible`.
//!
//! Read from the connection's exchanges, not from its findings: a stage is `ok` when the
//! server answered it with success, `failed` when it refused it or left it unanswered until the
//! connection ended (or past the NEGOTIATE timeout), `not_reached` when an earlier stage
//! failed or the client never went further, and `not_visible` when the capture cannot tell
//! (the connection was picked up mid-stream, only one side was captured, the traffic was
//! encrypted, or the capture stopped while the request was still pending).

use super::rules::{ending_after, server_silent, Context};
use crate::proto::ntstatus::NtStatus;
use crate::proto::smb1::{Smb1Command, NO_DIALECT};
use crate::proto::smb2::Smb2Command;
use crate::setup::smb::{Command, Exchange, SmbConnection};
use crate::setup::FailedConnect;
use serde::Serialize;
use std::fmt;
use std::net::SocketAddr;

/// One stage's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Ok,
    Failed,
    NotReached,
    NotVisible,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Ok => "ok",
            Stage::Failed => "failed",
            Stage::NotReached => "not_reached",
            Stage::NotVisible => "not_visible",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The four stages of one connection, in setup order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stages {
    pub tcp: Stage,
    pub negotiate: Stage,
    pub session_setup: Stage,
    pub tree_connect: Stage,
}

impl Stages {
    /// `(name, stage)` in setup order.
    pub fn each(&self) -> [(&'static str, Stage); 4] {
        [
            ("tcp", self.tcp),
            ("negotiate", self.negotiate),
            ("session_setup", self.session_setup),
            ("tree_connect", self.tree_connect),
        ]
    }

    /// True when every stage is `ok`.
    pub fn all_ok(&self) -> bool {
        self.each().iter().all(|(_, s)| *s == Stage::Ok)
    }

    /// True when some stage failed.
    pub fn failed(&self) -> bool {
        self.each().iter().any(|(_, s)| *s == Stage::Failed)
    }
}

/// The verdicts of one SMB connection (the `verdicts` array of SPEC §8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    #[serde(serialize_with = "display")]
    pub client: SocketAddr,
    #[serde(serialize_with = "display")]
    pub server: SocketAddr,
    /// The connection's first frame (its SYN, or its first packet).
    pub first_frame: u64,
    pub stages: Stages,
}

fn display<S: serde::Serializer>(v: &SocketAddr, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// How one request fared.
fn outcome(conn: &SmbConnection, x: &Exchange, ctx: &Context, ok: impl Fn(u32) -> bool) -> Stage {
    match (x.request, x.response, x.status) {
        (_, Some(_), Some(status)) if ok(status) => Stage::Ok,
        (_, Some(_), _) => Stage::Failed,
        (Some(req), None, _) => {
            let ended = ending_after(conn, req).is_some();
            if ended || ctx.end.ts.since(req.ts) >= ctx.negotiate_timeout_ns {
                Stage::Failed
            } else {
                Stage::NotVisible
            }
        }
        (None, None, _) => Stage::NotVisible,
    }
}

fn is_negotiate(x: &Exchange) -> bool {
    matches!(
        x.command,
        Command::Smb2(Smb2Command::NEGOTIATE) | Command::Smb1(Smb1Command::NEGOTIATE)
    )
}

fn is_session_setup(x: &Exchange) -> bool {
    matches!(
        x.command,
        Command::Smb2(Smb2Command::SESSION_SETUP) | Command::Smb1(Smb1Command::SESSION_SETUP_ANDX)
    )
}

fn is_tree_connect(x: &Exchange) -> bool {
    matches!(
        x.command,
        Command::Smb2(Smb2Command::TREE_CONNECT) | Command::Smb1(Smb1Command::TREE_CONNECT_ANDX)
    )
}

/// The verdicts of an SMB connection, with the capture's context (its end decides whether a
/// request still pending counts as unanswered).
pub fn of(conn: &SmbConnection, ctx: &Context) -> Verdict {
    let silent = server_silent(conn);
    let visible = |s: Stage| if silent { Stage::NotVisible } else { s };
    let tcp = if conn.synack.is_some() || !silent {
        Stage::Ok
    } else {
        Stage::NotVisible
    };
    let later_seen = |pred: fn(&Exchange) -> bool| conn.exchanges.iter().any(pred);
    let encrypted = conn.encrypted.is_some();
    let hidden_start = conn.midstream || !conn.gaps.is_empty() || conn.cut_messages > 0;

    let negotiate = match conn.exchanges.iter().rfind(|x| is_negotiate(x)) {
        Some(x) => {
            let answered_no_dialect = x
                .negotiate
                .as_ref()
                .and_then(|n| n.smb1_dialect_index)
                .is_some_and(|i| i == NO_DIALECT);
            if answered_no_dialect {
                Stage::Failed
            } else {
                visible(outcome(conn, x, ctx, |s| s == 0))
            }
        }
        None if later_seen(is_session_setup) || later_seen(is_tree_connect) || encrypted => {
            Stage::NotVisible
        }
        None if hidden_start || silent => Stage::NotVisible,
        None => Stage::NotReached,
    };

    let more = NtStatus::STATUS_MORE_PROCESSING_REQUIRED.0;
    let sessions: Vec<&Exchange> = conn
        .exchanges
        .iter()
        .filter(|x| is_session_setup(x))
        .collect();
    let session_setup = if matches!(negotiate, Stage::Failed | Stage::NotReached) {
        // Whatever the client sent after a failed NEGOTIATE follows from it.
        Stage::NotReached
    } else if sessions.iter().any(|x| x.status == Some(0)) {
        Stage::Ok
    } else if let Some(last) = sessions.last() {
        match outcome(conn, last, ctx, |s| s == 0) {
            // A middle round with nothing after it. The client stopping there went no further
            // by its own choice (macOS reads the server's name from the NTLM challenge, then
            // logs off); the server ending it refused; otherwise the capture ended.
            Stage::Failed if last.status == Some(more) => match last.response {
                Some(r) => match ending_after(conn, r) {
                    Some(end) if end.by_client => Stage::NotReached,
                    Some(_) => Stage::Failed,
                    None => Stage::NotVisible,
                },
                None => Stage::NotVisible,
            },
            s => visible(s),
        }
    } else if later_seen(is_tree_connect) || encrypted {
        Stage::NotVisible
    } else {
        Stage::NotReached
    };

    let trees: Vec<Stage> = conn
        .exchanges
        .iter()
        .filter(|x| is_tree_connect(x))
        .map(|x| visible(outcome(conn, x, ctx, |s| s == 0)))
        .collect();
    let tree_connect = if matches!(session_setup, Stage::Failed | Stage::NotReached) {
        Stage::NotReached
    } else if trees.contains(&Stage::Failed) {
        Stage::Failed
    } else if trees.contains(&Stage::Ok) {
        Stage::Ok
    } else if !trees.is_empty() || encrypted || session_setup == Stage::NotVisible {
        Stage::NotVisible
    } else {
        Stage::NotReached
    };

    Verdict {
        client: conn.conn.client,
        server: conn.conn.server,
        first_frame: conn.first_moment().frame,
        stages: Stages {
            tcp,
            negotiate,
            session_setup,
            tree_connect,
        },
    }
}

/// A connection attempt to an SMB port that never came up.
pub fn of_failed_connect(attempt: &FailedConnect) -> Verdict {
    Verdict {
        client: attempt.client,
        server: attempt.server,
        first_frame: attempt.syn.frame,
        stages: Stages {
            tcp: Stage::Failed,
            negotiate: Stage::NotReached,
            session_setup: Stage::NotReached,
            tree_connect: Stage::NotReached,
        },
    }
}
