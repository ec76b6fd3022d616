//! `kerberos-fallback-ntlm`: NTLM after a Kerberos failure, and NTLM with no Kerberos attempt
//! at all, gathered once per (client, server name).

use super::{service_host, CORRELATION_NS};
use crate::capture::Timestamp;
use crate::findings::rules::{elapsed, on_conn};
use crate::findings::{Finding, FindingId, KrbErrorRef, Severity};
use crate::flow::At;
use crate::proto::kerberos::KrbMsgType;
use crate::proto::smb2::Smb2Command;
use crate::setup::smb::{NtlmInfo, SmbConnection};
use crate::setup::Analysis;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// NTLMSSP used after Kerberos failed for the same client shortly before.
pub(in crate::findings::rules) fn fallback(
    analysis: &Analysis,
    conn: &SmbConnection,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(ntlm) = conn.exchanges.iter().find(|x| {
        x.command.is(Smb2Command::SESSION_SETUP)
            && x.session.as_ref().and_then(|s| s.mechanism) == Some("NTLMSSP")
            && x.request.is_some()
    }) else {
        return out;
    };
    let Some(at) = ntlm.request else {
        return out;
    };
    let failed = analysis
        .kerberos
        .iter()
        .filter(|k| k.client.ip() == conn.conn.client.ip())
        .find_map(|k| {
            let reply = k.reply.as_ref()?;
            let err = reply.error.as_ref()?;
            let req = k.request.as_ref()?;
            let sname = req.sname.as_deref()?;
            service_host(sname)?;
            let gap = at.ts.since(reply.ts);
            (req.msg_type == KrbMsgType::TGS_REQ && (0..=CORRELATION_NS).contains(&gap)).then(
                || {
                    (
                        req.frame,
                        reply.frame,
                        sname.to_string(),
                        err.code,
                        reply.ts,
                    )
                },
            )
        });
    let in_smb = conn.exchanges.iter().find_map(|x| {
        let err = x.session.as_ref()?.krb_error.as_ref()?;
        let resp = x.response?;
        (resp.frame < at.frame).then(|| {
            (
                x.request.map(|r| r.frame).unwrap_or(resp.frame),
                resp.frame,
                err.sname.clone(),
                err.code,
                resp.ts,
            )
        })
    });
    let mut f = if let Some((req_frame, err_frame, sname, code, ts)) = failed.or(in_smb) {
        let mut f = Finding::new(
            FindingId::KerberosFallbackNtlm,
            format!(
                "Kerberos failed for {sname} ({code}), and the client fell back to NTLM {} later",
                elapsed(ts, at.ts)
            ),
        )
        .frame("kerberos_request", req_frame)
        .frame("kerberos_error", err_frame);
        f.spn = Some(sname);
        f.kerberos_error = Some(KrbErrorRef::new(code.0));
        f
    } else if let Some(f) = skipped(analysis, conn, at) {
        f
    } else {
        return out;
    };
    f = f.frame("request", at.frame);
    f.user = authenticate(conn).map(|n| n.principal());
    if ntlm.status == Some(0)
        || conn
            .exchanges
            .iter()
            .any(|x| x.command.is(Smb2Command::SESSION_SETUP) && x.status == Some(0))
    {
        f.evidence.push("The NTLM session setup succeeded, so access works, but without Kerberos (weaker, and blocked where NTLM is restricted).".to_string());
    }
    f.time = Some(at.ts);
    out.push(on_conn(f, conn));
    out
}

/// Kerberos not even tried: the server offers it, the client named the server (not by
/// address, where Windows uses NTLM by design), and neither a ticket request for that name
/// from the client nor a Kerberos session setup on the connection came before the NTLM one.
fn skipped(analysis: &Analysis, conn: &SmbConnection, at: At) -> Option<Finding> {
    // The last NEGOTIATE's hint (after an SMB1 → SMB2 upgrade, the second one's).
    let (offer, negotiate_frame) = conn.exchanges.iter().rev().find_map(|x| {
        let offers = x.negotiate.as_ref()?.server_offers_kerberos?;
        Some((offers, x.response?.frame))
    })?;
    if !offer {
        return None;
    }
    let (host, named) = named_server(conn)?;
    let client = conn.conn.client.ip();
    let asks_for_host =
        |sname: &str| service_host(sname).is_some_and(|h| h.eq_ignore_ascii_case(&host));
    let before = |ts: Timestamp| ts <= at.ts && at.ts.since(ts) <= CORRELATION_NS;
    let asked = analysis.kerberos.iter().any(|k| {
        k.client.ip() == client
            && k.request
                .as_ref()
                .is_some_and(|r| before(r.ts) && r.sname.as_deref().is_some_and(asks_for_host))
    }) || analysis.kerberos_settled.iter().any(|k| {
        k.client == client
            && k.ticket
                .as_ref()
                .is_some_and(|(t, s)| before(t.ts) && s.as_deref().is_some_and(asks_for_host))
    });
    let kerberos_session = conn.exchanges.iter().any(|x| {
        x.request.is_some_and(|r| r.frame < at.frame)
            && x.session.as_ref().and_then(|s| s.mechanism) == Some("Kerberos")
    });
    if asked || kerberos_session {
        return None;
    }
    let mut f = Finding::new(
        FindingId::KerberosFallbackNtlm,
        format!(
            "The client authenticated to {host} with NTLM without trying Kerberos, which the server offers"
        ),
    )
    .frame("negotiate", negotiate_frame);
    // Not seeing a ticket request is no evidence of a problem: a capture taken on the file
    // server never sees the client's requests to the KDC (SPEC §7).
    f.severity = Severity::Info;
    f.spn = Some(format!("cifs/{host}"));
    f.evidence.push(format!(
        "The server's NEGOTIATE response lists Kerberos among its mechanisms (frame {negotiate_frame})."
    ));
    f.evidence
        .push(format!("The client named the server {host} ({named})."));
    f.evidence.push(format!(
        "No ticket request for cifs/{host} from the client appears in the capture before the NTLM session setup: either the capture does not show the client's Kerberos traffic (taken on the server, or the ticket was cached), or the client had no ticket for it (not logged on to the domain, no SPN cifs/{host}, a name the KDC does not know)."
    ));
    Some(f)
}

/// The connection's first NTLMSSP AUTHENTICATE (the second leg of the session setup).
fn authenticate(conn: &SmbConnection) -> Option<&NtlmInfo> {
    conn.exchanges
        .iter()
        .filter(|x| x.command.is(Smb2Command::SESSION_SETUP))
        .find_map(|x| x.session.as_ref()?.ntlm.as_ref())
}

/// The name the client used for the server, when it used one: the SPN in its NTLM
/// AUTHENTICATE, else a TREE_CONNECT path. An address is not a name.
fn named_server(conn: &SmbConnection) -> Option<(String, &'static str)> {
    let is_name = |h: &str| !h.is_empty() && h.trim_matches(['[', ']']).parse::<IpAddr>().is_err();
    let from_spn = authenticate(conn)
        .and_then(|n| n.target_name.as_deref())
        .and_then(service_host)
        .filter(|h| is_name(h))
        .map(|h| (h.to_string(), "NTLM target name"));
    from_spn.or_else(|| {
        conn.exchanges
            .iter()
            .filter_map(|x| x.tree.as_ref()?.path.as_deref())
            .filter_map(|p| p.trim_start_matches('\\').split('\\').next())
            .find(|h| is_name(h))
            .map(|h| (h.to_string(), "TREE_CONNECT path"))
    })
}

/// NTLM with no Kerberos attempt seen is said once per (client, server name), with the number
/// of sessions, not once per connection (SPEC §7): in an ordinary mixed estate every logon of
/// a non-domain client looks like this. The groups are built as connections finish
/// ([`SkippedNtlm::add`]), so memory follows the number of (client, name) pairs, not of
/// sessions; the result does not depend on the order the findings arrive in.
#[derive(Debug, Default)]
pub struct SkippedNtlm {
    groups: BTreeMap<(Option<IpAddr>, Option<String>), SkippedGroup>,
}

#[derive(Debug)]
struct SkippedGroup {
    /// The session with the earliest evidence, which speaks for the group.
    first: Finding,
    sessions: usize,
    /// The earliest NTLM session setup requests, at most [`LISTED`].
    frames: BTreeSet<u64>,
}

/// How many session setup frames an aggregated finding lists.
const LISTED: usize = 8;

impl SkippedNtlm {
    /// True for the findings this gathers: NTLM with no Kerberos attempt seen.
    pub fn gathers(f: &Finding) -> bool {
        f.id == FindingId::KerberosFallbackNtlm && f.kerberos_error.is_none()
    }

    /// Adds one connection's finding (one for which [`Self::gathers`] holds).
    pub fn add(&mut self, f: Finding) {
        let key = (f.client.map(|c| c.ip()), f.spn.clone());
        let request = f.frames.get("request").copied();
        let group = self.groups.entry(key).or_insert_with(|| SkippedGroup {
            first: f.clone(),
            sessions: 0,
            frames: BTreeSet::new(),
        });
        group.sessions += 1;
        if let Some(n) = request {
            group.frames.insert(n);
            if group.frames.len() > LISTED {
                group.frames.pop_last();
            }
        }
        if (f.first_frame(), &f.message) < (group.first.first_frame(), &group.first.message) {
            group.first = f;
        }
    }

    /// One finding per (client, name), saying how many sessions it stands for.
    pub fn finish(self) -> Vec<Finding> {
        self.groups
            .into_values()
            .map(|g| {
                let mut f = g.first;
                if g.sessions < 2 {
                    return f;
                }
                let host = f
                    .spn
                    .as_deref()
                    .and_then(|s| s.strip_prefix("cifs/"))
                    .unwrap_or("the server")
                    .to_string();
                f.message = format!(
                    "{} sessions from {} authenticated to {host} with NTLM without trying Kerberos, which the server offers",
                    g.sessions,
                    f.client.map(|c| c.ip().to_string()).unwrap_or_default()
                );
                let frames: Vec<String> = g.frames.iter().map(|n| n.to_string()).collect();
                f.evidence.push(format!(
                    "NTLM session setups from this client to {host}: {}, in frames {}{}.",
                    g.sessions,
                    frames.join(", "),
                    if g.sessions > frames.len() { ", …" } else { "" }
                ));
                f
            })
            .collect()
    }
}

/// [`SkippedNtlm`] over a list of findings: the others pass through unchanged.
pub(in crate::findings::rules) fn aggregate_skipped(
    findings: Vec<Finding>,
    mut skipped: SkippedNtlm,
) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    for f in findings {
        if SkippedNtlm::gathers(&f) {
            skipped.add(f);
        } else {
            out.push(f);
        }
    }
    out.extend(skipped.finish());
    out
}
