//! Per-connection setup timelines for `analyze -v`: one row per step, with its outcome and
//! latency, so an administrator sees the whole setup the way it happened.

use super::{ConnectionReport, TimelineRow};
use crate::findings::StatusRef;
use crate::flow::Dir;
use crate::proto::smb2::Smb2Command;
use crate::setup::smb::{Exchange, SmbConnection};

pub fn connection(conn: &SmbConnection) -> ConnectionReport {
    let start = conn.first_ts();
    let mut rows: Vec<TimelineRow> = Vec::new();
    let row =
        |frame: u64, ts: crate::capture::Timestamp, step: String, outcome: String| TimelineRow {
            frame,
            offset_secs: ts.since(start) as f64 / 1e9,
            step,
            outcome,
        };
    if let Some(syn) = conn.syn {
        let outcome = match conn.synack {
            Some(sa) => format!(
                "SYN-ACK in frame {} ({})",
                sa.frame,
                ms(sa.ts.since(syn.ts))
            ),
            None => "no SYN-ACK".to_string(),
        };
        rows.push(row(syn.frame, syn.ts, "TCP connect".to_string(), outcome));
    } else {
        rows.push(row(
            conn.conn.first.frame,
            conn.conn.first.ts,
            "capture starts mid-connection".to_string(),
            String::new(),
        ));
    }
    for x in &conn.exchanges {
        let Some(first) = x.start() else { continue };
        rows.push(row(first.frame, first.ts, step(x), outcome(x)));
    }
    if let Some(at) = conn.encrypted {
        rows.push(row(
            at.frame,
            at.ts,
            "encrypted traffic begins".to_string(),
            String::new(),
        ));
    }
    for (dir, at) in &conn.fins {
        rows.push(row(
            at.frame,
            at.ts,
            format!("TCP FIN from {}", side(*dir)),
            String::new(),
        ));
    }
    for (dir, at) in &conn.rsts {
        rows.push(row(
            at.frame,
            at.ts,
            format!("TCP RST from {}", side(*dir)),
            String::new(),
        ));
    }
    rows.sort_by_key(|r| r.frame);
    ConnectionReport {
        client: conn.conn.client.to_string(),
        server: conn.conn.server.to_string(),
        first_frame: conn.conn.first.frame,
        timeline: rows,
    }
}

fn side(dir: Dir) -> &'static str {
    match dir {
        Dir::ToServer => "client",
        Dir::ToClient => "server",
    }
}

fn ms(ns: i64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
}

fn step(x: &Exchange) -> String {
    let mut s = x.command.name();
    if let Some(path) = x.tree.as_ref().and_then(|t| t.path.as_ref()) {
        s.push(' ');
        s.push_str(path);
    }
    if let Some(sess) = &x.session {
        if let Some(n) = &sess.ntlm {
            s.push_str(&format!(" (NTLMSSP {})", n.principal()));
        } else if let Some((_, sname)) = &sess.ticket {
            s.push_str(&format!(" (Kerberos {sname})"));
        } else if let Some(m) = sess.mechanism {
            s.push_str(&format!(" ({m})"));
        }
    }
    if let Some(n) = &x.negotiate {
        if !n.offered.is_empty() {
            let d: Vec<String> = n.offered.iter().map(|d| d.to_string()).collect();
            s.push_str(&format!(" [{}]", d.join(" ")));
        } else if !n.smb1_dialects.is_empty() {
            s.push_str(&format!(" [{}]", n.smb1_dialects.join(", ")));
        }
    }
    s
}

fn outcome(x: &Exchange) -> String {
    let Some(resp) = x.response else {
        return match x.ack {
            Some(ack) => format!("no response (TCP ACK in frame {})", ack.frame),
            None => "no response".to_string(),
        };
    };
    let mut s = match x.status {
        Some(st) => StatusRef::nt(st).name,
        None => String::new(),
    };
    if let Some(n) = &x.negotiate {
        if let Some(d) = n.dialect {
            s.push_str(&format!(", dialect {d}"));
        }
        if let Some(i) = n.smb1_dialect_index {
            s.push_str(&format!(", SMB1 dialect index {i:#06x}"));
        }
    }
    if x.command.is(Smb2Command::TREE_CONNECT) {
        if let Some(flags) = x.tree.as_ref().and_then(|t| t.share_flags) {
            s.push_str(&format!(", share flags {:#010x}", flags.0));
        }
    }
    if let Some(e) = x.session.as_ref().and_then(|s| s.krb_error.as_ref()) {
        s.push_str(&format!(", Kerberos {}", e.code));
    }
    if let Some(req) = x.request {
        s.push_str(&format!(
            " (frame {}, {})",
            resp.frame,
            ms(resp.ts.since(req.ts))
        ));
    } else {
        s.push_str(&format!(" (frame {})", resp.frame));
    }
    s
}
