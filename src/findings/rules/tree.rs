//! Tree connect: `tree-connect-bad-network-name`, `tree-connect-access-denied`,
//! `encryption-required` and `tree-connect-failed`.
//!
//! Only TREE_CONNECT responses are judged: the TREE_DISCONNECT a client sends after a failed
//! tree connect, answered STATUS_NETWORK_NAME_DELETED, is an echo of the failure, not a second
//! problem. ACCESS_DENIED becomes `encryption-required` when the client cannot encrypt
//! (dialect below 3.0, or no encryption capability or cipher offered) — with the evidence that
//! the same server demands encryption elsewhere in the capture, when it does.

use super::session::cannot_encrypt;
use super::{connections, elapsed, ending_after, on_conn, server_silent, with_exchange};
use crate::findings::{Finding, FindingId, StatusRef};
use crate::proto::ntstatus::NtStatus;
use crate::proto::smb1::Smb1Command;
use crate::proto::smb2::Smb2Command;
use crate::setup::smb::{Command, EncryptionSeen, Exchange, SmbConnection};
use crate::setup::Analysis;

fn is_tree_connect(x: &Exchange) -> bool {
    matches!(
        x.command,
        Command::Smb2(Smb2Command::TREE_CONNECT) | Command::Smb1(Smb1Command::TREE_CONNECT_ANDX)
    )
}

pub fn check(conn: &SmbConnection, analysis: &Analysis) -> Vec<Finding> {
    let mut out = Vec::new();
    if server_silent(conn) {
        return out;
    }
    for x in conn.exchanges.iter().filter(|x| is_tree_connect(x)) {
        let share = x.tree.as_ref().and_then(|t| t.path.clone());
        let shown = share
            .clone()
            .unwrap_or_else(|| "(share name not captured)".to_string());
        let mut f = match (x.request, x.response, x.status) {
            // INVALID_SIGNATURE is the signing rule's to report.
            (_, Some(_), Some(status))
                if status != 0 && status != NtStatus::STATUS_INVALID_SIGNATURE.0 =>
            {
                let st = StatusRef::nt(status);
                let mut f = match NtStatus(status) {
                    NtStatus::STATUS_BAD_NETWORK_NAME => Finding::new(
                        FindingId::TreeConnectBadNetworkName,
                        format!(
                            "Share {shown} does not exist on {} (STATUS_BAD_NETWORK_NAME)",
                            conn.conn.server.ip()
                        ),
                    ),
                    NtStatus::STATUS_ACCESS_DENIED => match cannot_encrypt(conn) {
                        Some(why) => {
                            let mut f = Finding::new(
                                FindingId::EncryptionRequired,
                                format!(
                                    "Access to {shown} was denied; the share most likely requires encryption, which this client cannot do ({why})"
                                ),
                            );
                            f.evidence.push(format!("The client {why}."));
                            if let Some(seen) = encryption_demanded(analysis, conn) {
                                f.evidence.push(seen);
                            } else {
                                f.evidence.push(
                                    "Nothing else in the capture shows this server's encryption settings; if the share does not require encryption, check its share and NTFS permissions instead."
                                        .to_string(),
                                );
                            }
                            f
                        }
                        None => Finding::new(
                            FindingId::TreeConnectAccessDenied,
                            format!("Access to {shown} was denied (STATUS_ACCESS_DENIED)"),
                        ),
                    },
                    _ => Finding::new(
                        FindingId::TreeConnectFailed,
                        format!("TREE_CONNECT to {shown} failed with {}", st.name),
                    ),
                };
                f.status = Some(st);
                f
            }
            (Some(req), None, _) => {
                let Some(end) = ending_after(conn, req) else {
                    continue;
                };
                let mut f = Finding::new(
                    FindingId::TreeConnectFailed,
                    format!(
                        "TREE_CONNECT to {shown} was never answered; {} {} the connection {} later",
                        end.who(),
                        end.how(),
                        elapsed(req.ts, end.at.ts)
                    ),
                );
                f.frames
                    .insert(if end.reset { "reset" } else { "fin" }, end.at.frame);
                f
            }
            _ => continue,
        };
        f.share = share;
        if let Some(user) = session_user(conn, x) {
            f.user = Some(user);
        }
        out.push(with_exchange(on_conn(f, conn), x));
    }
    out
}

/// Where the capture shows the same server demanding encryption.
fn encryption_demanded(analysis: &Analysis, conn: &SmbConnection) -> Option<String> {
    let server = conn.conn.server.ip();
    let live = connections(analysis)
        .iter()
        .filter(|c| c.server().ip() == server)
        .find_map(|c| c.encryption().map(|seen| (c.first().frame, seen)));
    // Connections settled long ago leave only the first such sign per server.
    let pruned = analysis.smb_pruned.encryption.get(&server).cloned();
    let (_, seen) = match (live, pruned) {
        (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
        (a, b) => a.or(b),
    }?;
    Some(match seen {
        EncryptionSeen::Share { frame, path } => {
            format!("The same server marks share {path} ENCRYPT_DATA (frame {frame}).")
        }
        EncryptionSeen::Session { frame } => format!(
            "The same server required encryption for a whole session (SessionFlags ENCRYPT_DATA, frame {frame})."
        ),
        EncryptionSeen::Traffic { frame } => {
            format!("The same server exchanged encrypted SMB3 messages (frame {frame}).")
        }
    })
}

/// The NTLMSSP user of the session the tree connect used.
fn session_user(conn: &SmbConnection, x: &Exchange) -> Option<String> {
    conn.exchanges
        .iter()
        .filter(|s| s.command.is(Smb2Command::SESSION_SETUP) && s.session_id == x.session_id)
        .find_map(|s| s.session.as_ref()?.ntlm.as_ref().map(|n| n.principal()))
}
