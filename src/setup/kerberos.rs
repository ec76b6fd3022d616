//! Kerberos exchanges with the KDC: TCP (record-marker framing) and UDP on port 88, each
//! request paired with its reply or error.
//!
//! Pairing: on TCP, replies answer requests in order per connection; on UDP, a reply answers
//! the latest unanswered request of its 4-tuple (a client that times out resends the same
//! request, and the earlier copy is marked superseded rather than reported as unanswered).
//! Memory: a TCP record is buffered only up to [`kerberos::MAX_RECORD_LEN`]; after a gap the
//! stream resynchronises on the next plausible record marker ([`KrbRecordMarker`]).

use super::observations::{KrbCarrier, KrbObservation};
use super::Analysis;
use crate::capture::Timestamp;
use crate::flow::{At, ConnInfo, Dir};
use crate::proto::framing::{Framer, KrbRecordMarker};
use crate::proto::kerberos::{self, KerberosTime, KrbErrorCode, KrbMessage, KrbMsgType};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// At most this many exchanges are kept per capture (in full or as summaries); beyond it only
/// failures are kept.
const MAX_EXCHANGES: usize = 200_000;

/// Requests kept waiting for a reply per TCP connection: a KDC answers in order, so a client
/// with more outstanding than this is not a Kerberos client.
const MAX_PENDING_TCP: usize = 64;

/// The request side of an exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KrbRequest {
    pub frame: u64,
    pub ts: Timestamp,
    pub msg_type: KrbMsgType,
    pub cname: Option<String>,
    pub realm: String,
    pub sname: Option<String>,
    pub has_preauth: bool,
}

/// The reply side: a ticket, or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KrbReply {
    pub frame: u64,
    pub ts: Timestamp,
    pub msg_type: KrbMsgType,
    pub error: Option<KrbErrorInfo>,
}

/// What a KRB-ERROR said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KrbErrorInfo {
    pub code: KrbErrorCode,
    pub sname: String,
    pub realm: String,
    pub cname: Option<String>,
    pub e_text: Option<String>,
    /// Windows' NTSTATUS from the error data, when present.
    pub nt_status: Option<u32>,
    /// The KDC's clock when it answered (`stime`), and the requester's time it echoed
    /// (`ctime`), when present.
    pub stime: KerberosTime,
    pub ctime: Option<KerberosTime>,
}

/// A request to the KDC and what came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KrbExchange {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// `udp` or `tcp`.
    pub transport: &'static str,
    pub request: Option<KrbRequest>,
    pub reply: Option<KrbReply>,
    /// A UDP request the client sent again before any reply.
    pub superseded: bool,
}

impl KrbExchange {
    /// The frame of its first message: the request, or an unpaired reply.
    pub fn first_frame(&self) -> u64 {
        self.request
            .as_ref()
            .map(|r| r.frame)
            .or(self.reply.as_ref().map(|r| r.frame))
            .unwrap_or_default()
    }
}

/// What the findings need of an exchange that ended without a KRB-ERROR, once it is settled:
/// who asked, as whom, and for which service a ticket came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KrbSummary {
    pub client: IpAddr,
    /// The request's frame and time, and its client principal as `cname@realm`.
    pub request: Option<(At, Option<Box<str>>)>,
    /// A ticket reply (AS-REP or TGS-REP): its frame and time, and the service the request
    /// named.
    pub ticket: Option<(At, Option<Box<str>>)>,
}

impl KrbSummary {
    pub fn of(x: &KrbExchange) -> Self {
        let request = x.request.as_ref().map(|r| {
            let principal = r
                .cname
                .as_ref()
                .map(|c| format!("{c}@{}", r.realm).into_boxed_str());
            (
                At {
                    frame: r.frame,
                    ts: r.ts,
                },
                principal,
            )
        });
        let ticket = x.reply.as_ref().filter(|r| r.error.is_none()).map(|r| {
            (
                At {
                    frame: r.frame,
                    ts: r.ts,
                },
                x.request
                    .as_ref()
                    .and_then(|q| q.sname.as_deref())
                    .map(Box::from),
            )
        });
        Self {
            client: x.client.ip(),
            request,
            ticket,
        }
    }
}

/// Collects Kerberos exchanges from TCP and UDP port-88 traffic.
///
/// A request waits in `pending` (owned there, per UDP 4-tuple or TCP connection) until its
/// reply pairs with it, a newer UDP request supersedes it, its TCP connection closes, or the
/// capture ends; then it is finished: kept whole in [`Analysis::kerberos`], or, with `settle`
/// and no KRB-ERROR, reduced to a [`KrbSummary`] in [`Analysis::kerberos_settled`], so that
/// memory follows failures, not traffic.
#[derive(Debug, Default)]
pub struct KdcTracker {
    /// Reduce exchanges without a KRB-ERROR to summaries.
    settle: bool,
    /// Exchanges created so far (kept whole, summarised, or pending).
    created: usize,
    pending: HashMap<(bool, u64), Vec<KrbExchange>>,
    streams: HashMap<(u64, Dir), Framer<KrbRecordMarker>>,
}

impl KdcTracker {
    pub fn new(settle: bool) -> Self {
        Self {
            settle,
            ..Self::default()
        }
    }

    /// One UDP datagram to or from a KDC port.
    pub fn udp(
        &mut self,
        conn: &ConnInfo,
        at: At,
        dir: Dir,
        payload: &[u8],
        records: &mut Vec<KrbObservation>,
        out: &mut Analysis,
    ) {
        if let Ok(msg) = kerberos::parse_message(payload) {
            records.push(KrbObservation::of(&msg, at.frame, KrbCarrier::Udp));
            self.message(conn, at, dir, &msg, false, out);
        }
    }

    /// Contiguous bytes of a TCP connection to a KDC port.
    pub fn tcp_data(
        &mut self,
        conn: &ConnInfo,
        at: At,
        dir: Dir,
        bytes: &[u8],
        records: &mut Vec<KrbObservation>,
        out: &mut Analysis,
    ) {
        // The framer is taken out for the call so that its records can update the rest.
        let key = (conn.id, dir);
        let mut framer = self
            .streams
            .remove(&key)
            .unwrap_or_else(|| Framer::new(KrbRecordMarker, true));
        framer.data(bytes, &mut |f| {
            if let Ok(msg) = kerberos::parse_message(f.body) {
                records.push(KrbObservation::of(&msg, at.frame, KrbCarrier::Tcp));
                self.message(conn, at, dir, &msg, true, out);
            }
        });
        self.streams.insert(key, framer);
    }

    /// Bytes were lost: the record in progress is abandoned and the stream resynchronises.
    pub fn tcp_gap(&mut self, conn: &ConnInfo, dir: Dir) {
        let stream = self
            .streams
            .entry((conn.id, dir))
            .or_insert_with(|| Framer::new(KrbRecordMarker, true));
        // Only whole records are read: what a gap cuts short is dropped.
        stream.gap(u64::MAX, &mut |_| {});
    }

    pub fn tcp_closed(&mut self, conn: &ConnInfo, out: &mut Analysis) {
        self.streams.remove(&(conn.id, Dir::ToServer));
        self.streams.remove(&(conn.id, Dir::ToClient));
        for x in self.pending.remove(&(true, conn.id)).unwrap_or_default() {
            self.done(x, out);
        }
    }

    /// Ends the capture: requests still waiting are unanswered. Exchanges come out in the
    /// order of their first message.
    pub fn finish(&mut self, out: &mut Analysis) {
        for (_, xs) in std::mem::take(&mut self.pending) {
            for x in xs {
                self.done(x, out);
            }
        }
        out.kerberos.sort_by_key(KrbExchange::first_frame);
        out.kerberos_settled.sort_by_key(|s| {
            s.request
                .as_ref()
                .or(s.ticket.as_ref())
                .map(|(at, _)| at.frame)
        });
    }

    /// A finished exchange: kept whole, or summarised.
    fn done(&self, x: KrbExchange, out: &mut Analysis) {
        let failed = x.reply.as_ref().is_some_and(|r| r.error.is_some());
        if self.settle && !failed {
            out.kerberos_settled.push(KrbSummary::of(&x));
        } else {
            out.kerberos.push(x);
        }
    }

    fn message(
        &mut self,
        conn: &ConnInfo,
        at: At,
        dir: Dir,
        msg: &KrbMessage<'_>,
        tcp: bool,
        out: &mut Analysis,
    ) {
        let key = (tcp, conn.id);
        match msg {
            KrbMessage::AsReq(req) | KrbMessage::TgsReq(req) => {
                if dir != Dir::ToServer {
                    return;
                }
                let request = KrbRequest {
                    frame: at.frame,
                    ts: at.ts,
                    msg_type: msg.msg_type(),
                    cname: req.body.cname.as_ref().map(|c| c.to_string()),
                    realm: req.body.realm.to_string(),
                    sname: req.body.sname.as_ref().map(|s| s.to_string()),
                    has_preauth: req.has_preauth(),
                };
                let mut pending = self.pending.remove(&key).unwrap_or_default();
                if !tcp {
                    for mut x in pending.drain(..) {
                        x.superseded = true;
                        self.done(x, out);
                    }
                } else if pending.len() >= MAX_PENDING_TCP {
                    let oldest = pending.remove(0);
                    self.done(oldest, out);
                }
                if self.created < MAX_EXCHANGES {
                    self.created += 1;
                    pending.push(KrbExchange {
                        client: conn.client,
                        server: conn.server,
                        transport: if tcp { "tcp" } else { "udp" },
                        request: Some(request),
                        reply: None,
                        superseded: false,
                    });
                }
                if !pending.is_empty() {
                    self.pending.insert(key, pending);
                }
            }
            KrbMessage::AsRep(_) | KrbMessage::TgsRep(_) | KrbMessage::Error(_) => {
                let error = match msg {
                    KrbMessage::Error(e) => Some(KrbErrorInfo {
                        code: e.error_code,
                        sname: e.sname.to_string(),
                        realm: e.realm.to_string(),
                        cname: e.cname.as_ref().map(|c| c.to_string()),
                        e_text: e.e_text.as_ref().map(|t| t.to_string()),
                        nt_status: e.nt_status(),
                        stime: e.stime,
                        ctime: e.ctime,
                    }),
                    _ => None,
                };
                let reply = KrbReply {
                    frame: at.frame,
                    ts: at.ts,
                    msg_type: msg.msg_type(),
                    error,
                };
                // On TCP the oldest request is answered first; on UDP the latest.
                let paired = match self.pending.get_mut(&key) {
                    Some(p) if tcp && !p.is_empty() => Some(p.remove(0)),
                    Some(p) => p.pop(),
                    None => None,
                };
                if self.pending.get(&key).is_some_and(Vec::is_empty) {
                    self.pending.remove(&key);
                }
                match paired {
                    Some(mut x) => {
                        x.reply = Some(reply);
                        self.done(x, out);
                    }
                    None => {
                        if self.created < MAX_EXCHANGES || reply.error.is_some() {
                            self.created += 1;
                            let x = KrbExchange {
                                client: conn.client,
                                server: conn.server,
                                transport: if tcp { "tcp" } else { "udp" },
                                request: None,
                                reply: Some(reply),
                                superseded: false,
                            };
                            self.done(x, out);
                        }
                    }
                }
            }
            KrbMessage::ApReq(_) | KrbMessage::ApRep(_) => {}
        }
    }
}
