//! Kerberos: `kerberos-error`, `kerberos-spn-unknown`, `kerberos-fallback-ntlm`,
//! `kerberos-preauth-required`.
//!
//! The seed article's rule: errors that are part of pre-authentication are normal (info);
//! every other KRB-ERROR is a failure, reported against the SMB connection it broke when one
//! from the same client follows it. A failure that a later attempt overcame (a ticket issued
//! after all, or an SMB session that still came up) is a warning, not an error.

use super::{connections, elapsed, on_conn, Conn, Context};
use crate::capture::Timestamp;
use crate::findings::{Finding, FindingId, KrbErrorRef, Phase, Severity};
use crate::flow::At;
use crate::proto::kerberos::{classify_error, ErrorClass, KrbErrorCode, KrbMsgType};
use crate::proto::smb2::Smb2Command;
use crate::setup::kerberos::KrbExchange;
use crate::setup::smb::{NtlmInfo, SmbConnection};
use crate::setup::Analysis;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// How long after a Kerberos failure an SMB session setup from the same client is taken as
/// the one it affected.
const CORRELATION_NS: i64 = 120_000_000_000;
const _: () = assert!(CORRELATION_NS <= super::REACH_NS);

/// The KDC's errors (those inside SESSION_SETUP, and fallbacks, are per connection).
pub fn check(analysis: &Analysis, _ctx: &Context) -> Vec<Finding> {
    analysis
        .kerberos
        .iter()
        .filter_map(|x| kdc_error(analysis, x))
        .collect()
}

fn kdc_error(analysis: &Analysis, x: &KrbExchange) -> Option<Finding> {
    let reply = x.reply.as_ref()?;
    let err = reply.error.as_ref()?;
    let req = x.request.as_ref();
    let sname = req
        .and_then(|r| r.sname.clone())
        .or_else(|| (!err.sname.is_empty()).then(|| err.sname.clone()))
        .unwrap_or_else(|| "(service not named)".to_string());
    let mut class = classify_error(
        err.code,
        req.is_some_and(|r| r.has_preauth),
        req.map(|r| r.msg_type),
    );
    // FAST and SPAKE ask for another pre-authentication round with 91; like 25, it is a normal
    // step when the exchange then succeeds (SPEC §5).
    if err.code == KrbErrorCode::KDC_ERR_MORE_PREAUTH_DATA_REQUIRED
        && later_ticket(analysis, x, &sname, reply.ts).is_some()
    {
        class = ErrorClass::PreauthStep;
    }
    let realm = req
        .map(|r| r.realm.clone())
        .unwrap_or_else(|| err.realm.clone());
    let cname = req
        .and_then(|r| r.cname.clone())
        .or_else(|| err.cname.clone());
    let kind = match req.map(|r| r.msg_type) {
        Some(KrbMsgType::AS_REQ) => "AS-REQ",
        Some(KrbMsgType::TGS_REQ) => "TGS-REQ",
        _ => "request",
    };
    let mut f = match class {
        ErrorClass::PreauthStep | ErrorClass::RetryOverTcp => {
            let what = if err.code == KrbErrorCode::KDC_ERR_MORE_PREAUTH_DATA_REQUIRED {
                "asked for another pre-authentication round (FAST or SPAKE), and the exchange then succeeded"
            } else if class == ErrorClass::PreauthStep {
                "asked for pre-authentication (the normal first round)"
            } else {
                "said the reply is too big for UDP; the client retries over TCP (normal)"
            };
            Finding::new(
                FindingId::KerberosPreauthRequired,
                format!("The KDC {} {what}: {}", x.server.ip(), err.code),
            )
        }
        ErrorClass::Failure => {
            let host = service_host(&sname);
            if err.code == KrbErrorCode::KDC_ERR_S_PRINCIPAL_UNKNOWN && host.is_some() {
                spn_unknown(analysis, &sname, host.unwrap_or_default(), &realm)
            } else {
                let mut f = Finding::new(
                    FindingId::KerberosError,
                    format!(
                        "The KDC {} refused the {kind} for {sname}{}: {} ({})",
                        x.server.ip(),
                        cname
                            .as_ref()
                            .map(|c| format!(" (client {c})"))
                            .unwrap_or_default(),
                        err.code,
                        meaning(err.code)
                    ),
                );
                if let Some(t) = &err.e_text {
                    f.evidence.push(format!("The KDC's text: {t}."));
                }
                if let Some(st) = err.nt_status {
                    f.evidence.push(format!(
                        "Windows status in the error data: {}.",
                        crate::findings::StatusRef::nt(st).name
                    ));
                }
                f
            }
        }
    };
    f.kerberos_error = Some(KrbErrorRef::new(err.code.0));
    f.spn = Some(sname.clone());
    f.user = cname.map(|c| format!("{c}@{realm}"));
    if let Some(r) = req {
        f.frames.insert("request", r.frame);
    }
    f.frames.insert("response", reply.frame);
    f.time = Some(reply.ts);
    f.client = Some(x.client);
    f.server = Some(x.server);
    if class == ErrorClass::Failure {
        if let Some(conn) = affected_connection(analysis, x.client.ip(), reply.ts) {
            f.evidence.push(format!(
                "The KDC {} answered the client's {kind} while it was setting up the SMB connection {} → {} (first frame {}).",
                x.server,
                conn.client(),
                conn.server(),
                conn.first().frame
            ));
            f.client = Some(conn.client());
            f.server = Some(conn.server());
        }
        if let Some(later) = later_success(analysis, x, &sname, reply.ts) {
            f.severity = Severity::Warning;
            f.evidence.push(later);
        }
    }
    Some(f)
}

fn spn_unknown(analysis: &Analysis, sname: &str, host: &str, realm: &str) -> Finding {
    let mut f = match analysis.names.canonical(host) {
        Some(canonical) => {
            let mut f = Finding::new(
                FindingId::KerberosSpnUnknown,
                format!(
                    "No account has the SPN {sname}: {host} is a DNS CNAME alias of {}, and the alias has no SPN of its own",
                    canonical.value
                ),
            );
            f.evidence.push(format!(
                "DNS answered {host} CNAME {} (frame {}).",
                canonical.value, canonical.frame
            ));
            f.evidence.push(format!(
                "Register the alias on the server's account, e.g. setspn -S {sname} <account of {}>.",
                canonical.value
            ));
            f
        }
        None => Finding::new(
            FindingId::KerberosSpnUnknown,
            format!("The KDC knows no service principal {sname} in realm {realm} (KDC_ERR_S_PRINCIPAL_UNKNOWN)"),
        ),
    };
    f.phase = Phase::Kerberos;
    f
}

/// `cifs/host` or `host/host` → `host` (without any `@REALM` or port).
fn service_host(sname: &str) -> Option<&str> {
    let (service, rest) = sname.split_once('/')?;
    if !service.eq_ignore_ascii_case("cifs") && !service.eq_ignore_ascii_case("host") {
        return None;
    }
    let host = rest.split(['/', '@', ':']).next()?;
    (!host.is_empty()).then_some(host)
}

/// The SMB connection from `client` that a Kerberos failure at `at` belongs to: one that had
/// not yet set up a session by then, started nearest in time (within [`CORRELATION_NS`]).
fn affected_connection(analysis: &Analysis, client: IpAddr, at: Timestamp) -> Option<Conn<'_>> {
    connections(analysis)
        .into_iter()
        .filter(|c| c.client().ip() == client)
        .filter(|c| c.first_ts().since(at).abs() <= CORRELATION_NS)
        .filter(|c| !c.session_ok().iter().any(|r| r.ts < at))
        .min_by_key(|c| c.first_ts().since(at).abs())
}

/// A later success that shows the failure did not break setup.
fn later_success(
    analysis: &Analysis,
    x: &KrbExchange,
    sname: &str,
    after: Timestamp,
) -> Option<String> {
    if let Some(frame) = later_ticket(analysis, x, sname, after) {
        return Some(format!(
            "A later request for {sname} succeeded (frame {frame})."
        ));
    }
    connections(analysis)
        .iter()
        .filter(|c| c.client().ip() == x.client.ip())
        .flat_map(|c| c.session_ok())
        .find(|r| r.ts > after && r.ts.since(after) <= CORRELATION_NS)
        .map(|r| {
            format!(
                "An SMB session from the same client was still set up afterwards (frame {}).",
                r.frame
            )
        })
}

/// The frame of the first ticket for the same service to the same client after `after`,
/// whether its exchange was kept whole or settled.
fn later_ticket(
    analysis: &Analysis,
    x: &KrbExchange,
    sname: &str,
    after: Timestamp,
) -> Option<u64> {
    let whole = analysis.kerberos.iter().find_map(|k| {
        let r = k.reply.as_ref()?;
        (k.client.ip() == x.client.ip()
            && r.error.is_none()
            && r.ts > after
            && k.request.as_ref().and_then(|q| q.sname.as_deref()) == Some(sname))
        .then_some((k.first_frame(), r.frame))
    });
    let settled = analysis.kerberos_settled.iter().find_map(|k| {
        let (at, service) = k.ticket.as_ref()?;
        (k.client == x.client.ip() && at.ts > after && service.as_deref() == Some(sname)).then(
            || {
                (
                    k.request.as_ref().map_or(at.frame, |(q, _)| q.frame),
                    at.frame,
                )
            },
        )
    });
    let ticket = match (whole, settled) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    ticket.map(|(_, frame)| frame)
}

/// KRB-ERRORs carried in SESSION_SETUP responses.
pub(super) fn in_session_setup(conn: &SmbConnection) -> Vec<Finding> {
    let mut out = Vec::new();
    for x in conn
        .exchanges
        .iter()
        .filter(|x| x.command.is(Smb2Command::SESSION_SETUP))
    {
        let Some(err) = x.session.as_ref().and_then(|s| s.krb_error.as_ref()) else {
            continue;
        };
        let (Some(resp), req) = (x.response, x.request) else {
            continue;
        };
        if classify_error(err.code, true, Some(KrbMsgType::AP_REQ)) != ErrorClass::Failure {
            continue;
        }
        let ticket = conn
            .exchanges
            .iter()
            .filter(|s| s.msg_id < x.msg_id || s.request.map(|r| r.frame) == req.map(|r| r.frame))
            .filter_map(|s| s.session.as_ref()?.ticket.clone())
            .next_back();
        let mut f = Finding::new(
            FindingId::KerberosError,
            format!(
                "{} rejected the client's Kerberos ticket{} in SESSION_SETUP: {} ({})",
                conn.conn.server,
                ticket
                    .as_ref()
                    .map(|(_, s)| format!(" for {s}"))
                    .unwrap_or_default(),
                err.code,
                meaning(err.code)
            ),
        );
        f.phase = Phase::SessionSetup;
        f.kerberos_error = Some(KrbErrorRef::new(err.code.0));
        f.spn = ticket.map(|(_, s)| s);
        if let Some(r) = req {
            f.frames.insert("request", r.frame);
        }
        f.frames.insert("response", resp.frame);
        f.time = Some(resp.ts);
        let later = conn.exchanges.iter().find(|s| {
            s.command.is(Smb2Command::SESSION_SETUP)
                && s.status == Some(0)
                && s.response.is_some_and(|r| r.frame > resp.frame)
        });
        if let Some(ok) = later {
            f.severity = Severity::Warning;
            f.evidence.push(format!(
                "A later SESSION_SETUP on the same connection succeeded (frame {}).",
                ok.response.map(|r| r.frame).unwrap_or_default()
            ));
        }
        out.push(on_conn(f, conn));
    }
    out
}

/// NTLMSSP used after Kerberos failed for the same client shortly before.
pub(super) fn fallback(analysis: &Analysis, conn: &SmbConnection) -> Vec<Finding> {
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

/// A plain-words gloss for the commonest errors.
fn meaning(code: KrbErrorCode) -> &'static str {
    match code.0 {
        6 => "the client account does not exist in the KDC's database",
        7 => "no account has this service principal name",
        12 => "the account or policy forbids this request",
        13 => "the KDC refused an option the client asked for",
        14 => "no common encryption type between client, KDC and account keys",
        18 => "the client account is disabled, locked out or expired",
        23 => "the password has expired",
        24 => "wrong password (pre-authentication failed)",
        31 => "the ticket integrity check failed",
        32 => "the ticket has expired",
        34 => "the request is a replay",
        37 => "client and server clocks differ by more than the allowed skew",
        41 => "the server could not decrypt the ticket: its key differs from the KDC's (SPN on the wrong account, or a stale password)",
        68 => "wrong realm",
        _ => "see RFC 4120 section 7.5.9",
    }
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
pub(super) fn aggregate_skipped(findings: Vec<Finding>, mut skipped: SkippedNtlm) -> Vec<Finding> {
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

/// A client that retries gets the same error again: one finding per (id, client, connection
/// or KDC, error code, client principal), the first of the highest severity (the one inside
/// SESSION_SETUP before one on port 88, as it is the one the SMB connection met), naming the
/// repeats.
pub(super) fn merge_repeats(findings: Vec<Finding>) -> Vec<Finding> {
    let key = |f: &Finding| {
        let code = f.kerberos_error.as_ref()?.code;
        matches!(
            f.id,
            FindingId::KerberosError | FindingId::KerberosSpnUnknown
        )
        .then(|| {
            (
                f.id,
                f.client.map(|c| c.ip()),
                f.server,
                code,
                f.user.clone(),
            )
        })
    };
    let rank = |f: &Finding| (f.severity, f.phase == Phase::SessionSetup);
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut repeats: Vec<Vec<Finding>> = Vec::new();
    let mut index: Vec<Option<usize>> = Vec::new();
    for f in findings {
        let k = key(&f);
        let found = k.as_ref().and_then(|k| {
            out.iter()
                .zip(&index)
                .position(|(g, slot)| slot.is_some() && key(g).as_ref() == Some(k))
        });
        match found {
            Some(pos) => {
                let Some(slot) = index[pos] else { continue };
                if rank(&f) > rank(&out[pos]) {
                    let was = std::mem::replace(&mut out[pos], f);
                    repeats[slot].push(was);
                } else {
                    repeats[slot].push(f);
                }
            }
            None => {
                index.push(k.map(|_| {
                    repeats.push(Vec::new());
                    repeats.len() - 1
                }));
                out.push(f);
            }
        }
    }
    for (f, slot) in out.iter_mut().zip(&index) {
        let Some(slot) = slot else { continue };
        let mut more = std::mem::take(&mut repeats[*slot]);
        if more.is_empty() {
            continue;
        }
        more.sort_by_key(|g| g.first_frame());
        let listed: Vec<String> = more
            .iter()
            .map(|g| {
                let pair: Vec<String> = ["request", "response"]
                    .iter()
                    .filter_map(|r| g.frames.get(r).map(|n| n.to_string()))
                    .collect();
                pair.join("/")
            })
            .collect();
        f.evidence.push(format!(
            "The same error answered {} more {} ({} {}).",
            more.len(),
            if more.len() == 1 {
                "request"
            } else {
                "requests"
            },
            if more.len() == 1 {
                "frames"
            } else {
                "frames, request/response:"
            },
            listed.join(", ")
        ));
        f.repeated = more
            .into_iter()
            .map(|g| {
                g.frames
                    .into_iter()
                    .filter(|(r, _)| matches!(*r, "request" | "response"))
                    .collect()
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn addr(s: &str) -> Option<SocketAddr> {
        s.parse().ok()
    }

    fn krb(code: i32, client: &str, server: &str, req: u64, rsp: u64) -> Finding {
        let mut f = Finding::new(FindingId::KerberosError, format!("error {code} at {rsp}"))
            .frame("request", req)
            .frame("response", rsp);
        f.kerberos_error = Some(KrbErrorRef::new(code));
        f.client = addr(client);
        f.server = addr(server);
        f
    }

    fn skipped(client: &str, host: &str, request: u64) -> Finding {
        let mut f = Finding::new(FindingId::KerberosFallbackNtlm, format!("NTLM to {host}"))
            .frame("request", request);
        f.severity = Severity::Info;
        f.client = addr(client);
        f.spn = Some(format!("cifs/{host}"));
        f
    }

    #[test]
    fn a_retried_request_with_the_same_error_is_one_finding_naming_the_repeat() {
        // MIT kinit retries a TGS-REQ on a new TCP connection: same client host, same KDC.
        let out = merge_repeats(vec![
            krb(37, "10.0.0.5:40001", "10.0.0.2:88", 24, 26),
            krb(37, "10.0.0.5:40002", "10.0.0.2:88", 32, 36),
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].frames.get("response"), Some(&26));
        assert_eq!(out[0].repeated.len(), 1);
        assert_eq!(out[0].repeated[0].get("request"), Some(&32));
        assert_eq!(out[0].repeated[0].get("response"), Some(&36));
        assert!(out[0].evidence.iter().any(|e| e.contains("32/36")));
    }

    #[test]
    fn different_errors_or_users_stay_separate() {
        let mut other_user = krb(24, "10.0.0.5:40003", "10.0.0.2:88", 40, 41);
        other_user.user = Some("evan@CORP".into());
        let out = merge_repeats(vec![
            krb(24, "10.0.0.5:40001", "10.0.0.2:88", 3, 4),
            krb(37, "10.0.0.5:40002", "10.0.0.2:88", 10, 11),
            other_user,
            krb(24, "10.0.0.6:40001", "10.0.0.2:88", 50, 51),
        ]);
        assert_eq!(out.len(), 4);
        assert!(out.iter().all(|f| f.repeated.is_empty()));
    }

    #[test]
    fn the_error_inside_session_setup_is_kept_over_the_port_88_ones() {
        let conn_client = "10.0.0.5:50000";
        let conn_server = "10.0.0.2:445";
        let mut in_smb = krb(37, conn_client, conn_server, 51, 53);
        in_smb.phase = Phase::SessionSetup;
        let out = merge_repeats(vec![
            krb(37, conn_client, conn_server, 43, 45),
            in_smb,
            krb(37, conn_client, conn_server, 59, 61),
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].frames.get("request"), Some(&51));
        let repeats: Vec<u64> = out[0]
            .repeated
            .iter()
            .filter_map(|r| r.get("response").copied())
            .collect();
        assert_eq!(repeats, vec![45, 61]);
    }

    #[test]
    fn ntlm_without_kerberos_is_said_once_per_client_and_name() {
        let out = aggregate_skipped(
            vec![
                skipped("10.0.0.5:50001", "fs1.corp.example", 8),
                skipped("10.0.0.5:50002", "fs1.corp.example", 30),
                skipped("10.0.0.6:50001", "fs1.corp.example", 40),
                skipped("10.0.0.5:50003", "fs2.corp.example", 50),
                skipped("10.0.0.5:50004", "fs1.corp.example", 60),
            ],
            SkippedNtlm::default(),
        );
        let mut out = out;
        crate::findings::rules::sort(&mut out);
        assert_eq!(out.len(), 3);
        assert!(out[0].message.starts_with("3 sessions from 10.0.0.5"));
        assert!(out[0].evidence.iter().any(|e| e.contains("8, 30, 60")));
        assert_eq!(out[1].message, "NTLM to fs1.corp.example");
        assert_eq!(out[2].message, "NTLM to fs2.corp.example");
    }

    #[test]
    fn failed_kerberos_before_ntlm_is_not_aggregated() {
        let mut failed = skipped("10.0.0.5:50001", "fs1.corp.example", 8);
        failed.kerberos_error = Some(KrbErrorRef::new(7));
        failed.severity = Severity::Warning;
        let mut again = failed.clone();
        again.frames.insert("request", 30);
        assert_eq!(
            aggregate_skipped(vec![failed, again], SkippedNtlm::default()).len(),
            2
        );
    }
}
