//! `capture-incomplete` (truncated or corrupt file, snaplen cuts of SMB messages, TCP gaps in setup
//! exchanges, one-sided captures) and `smb-encrypted` (info).

use super::{on_conn, server_silent, Context};
use crate::findings::{Finding, FindingId};
use crate::flow::GapReason;
use crate::setup::smb::SmbConnection;
use crate::setup::Analysis;

pub fn check(analysis: &Analysis, ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    let stopped = if ctx.truncated {
        Some(format!(
            "The capture file ends inside a packet record after frame {}: anything after it is missing",
            ctx.end.frame
        ))
    } else {
        ctx.corrupt.as_ref().map(|why| {
            format!(
                "Reading the capture file stopped after frame {}: {why}; anything after it was not analysed",
                ctx.end.frame
            )
        })
    };
    if let Some(message) = stopped {
        let mut f =
            Finding::new(FindingId::CaptureIncomplete, message).frame("last", ctx.end.frame);
        f.time = Some(ctx.end.ts);
        out.push(f);
    }
    let whole = analysis.smb.iter().map(|c| (c.cut_messages, c.first_cut));
    let settled = analysis
        .smb_settled
        .iter()
        .map(|c| (c.cut_messages, c.first_cut));
    let pruned = &analysis.smb_pruned;
    let pruned = std::iter::once((pruned.cut_messages, pruned.first_cut));
    let cut: u64 = whole
        .clone()
        .chain(settled.clone())
        .chain(pruned.clone())
        .map(|(n, _)| n)
        .sum();
    if cut > 0 {
        let first = whole
            .chain(settled)
            .chain(pruned)
            .filter_map(|(_, at)| at)
            .min_by_key(|m| m.frame);
        let mut f = Finding::new(
            FindingId::CaptureIncomplete,
            format!(
                "{cut} SMB message(s) were cut short (snaplen or lost bytes): names, credentials and paths in them may be missing{}",
                if ctx.cut_frames > 0 {
                    format!("; {} frame(s) are shorter than their packets", ctx.cut_frames)
                } else {
                    String::new()
                }
            ),
        );
        if let Some(m) = first {
            f.frames.insert("first", m.frame);
            f.time = Some(m.ts);
        }
        out.push(f);
    }
    out
}

/// A connection whose capture is incomplete in itself (one-sided), or that was encrypted.
pub(super) fn connection(conn: &SmbConnection) -> Vec<Finding> {
    let mut out = Vec::new();
    if server_silent(conn) && conn.exchanges.iter().any(|x| x.request.is_some()) {
        let mut f = Finding::new(
            FindingId::CaptureIncomplete,
            format!(
                "Only the client's side of the connection to {} was captured: the missing responses say nothing about the server",
                conn.conn.server
            ),
        )
        .frame("first", conn.conn.first.frame);
        f.time = Some(conn.conn.first.ts);
        out.push(on_conn(f, conn));
    }
    let last_setup = conn
        .exchanges
        .iter()
        .filter_map(|x| x.response.or(x.request))
        .map(|m| m.frame)
        .max();
    let lost: Vec<_> = conn
        .gaps
        .iter()
        .filter(|g| g.reason != GapReason::SnaplenCut)
        .filter(|g| {
            last_setup.is_some_and(|l| g.at.frame <= l)
                || conn.exchanges.iter().any(|x| x.response.is_none())
        })
        .collect();
    if let Some(g) = lost.first() {
        let bytes: u64 = lost.iter().map(|g| g.len).sum();
        let mut f = Finding::new(
            FindingId::CaptureIncomplete,
            format!(
                "{bytes} byte(s) of the connection to {} were never captured during setup: findings about it may be missing",
                conn.conn.server
            ),
        )
        .frame("gap", g.at.frame);
        f.time = Some(g.at.ts);
        out.push(on_conn(f, conn));
    }
    if let Some(at) = conn.encrypted {
        let mut f = Finding::new(
            FindingId::SmbEncrypted,
            format!(
                "The SMB traffic with {} is encrypted from frame {} on ({} encrypted message(s)): later phases cannot be inspected",
                conn.conn.server, at.frame, conn.encrypted_messages
            ),
        )
        .frame("first_encrypted", at.frame);
        f.time = Some(at.ts);
        out.push(on_conn(f, conn));
    }
    out
}
