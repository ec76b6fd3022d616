//! Kerberos exchanges with the KDC: TCP (record-marker framing) and UDP on port 88, each
//! request paired with its reply or error.
//!
//! Pairing: on TCP, replies answer requests in order per connection; on UDP, a reply answers
//! the latest unanswered request of its 4-tuple (a client that times out resends the same
//! request, and the earlier copy is marked superseded rather than reported as unanswered).
//! Memory: a TCP record is buffered only up to [`MAX_RECORD_LEN`]; after a gap the stream
//! resynchronises on the next plausible record marker.

use super::records::KrbRecord;
use crate::capture::Timestamp;
use crate::flow::{At, ConnInfo, Dir};
use crate::proto::kerberos::{
    self, KrbErrorCode, KrbMessage, KrbMsgType, MAX_RECORD_LEN, RECORD_MARKER_LEN,
};
use std::collections::HashMap;
use std::net::SocketAddr;

/// At most this many exchanges are kept per capture; beyond it only failures are kept.
const MAX_EXCHANGES: usize = 200_000;

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

/// Per TCP direction: the record being reassembled.
#[derive(Debug, Default)]
struct RecordBuf {
    buf: Vec<u8>,
    lost_sync: bool,
}

/// Collects Kerberos exchanges from TCP and UDP port-88 traffic.
#[derive(Debug, Default)]
pub struct KdcTracker {
    pub exchanges: Vec<KrbExchange>,
    pending: HashMap<(bool, u64), Vec<usize>>,
    streams: HashMap<(u64, Dir), RecordBuf>,
}

impl KdcTracker {
    /// One UDP datagram to or from a KDC port.
    pub fn udp(
        &mut self,
        conn: &ConnInfo,
        at: At,
        dir: Dir,
        payload: &[u8],
        records: &mut Vec<KrbRecord>,
    ) {
        if let Ok(msg) = kerberos::parse_message(payload) {
            records.push(record(&msg, at.frame, "udp"));
            self.message(conn, at, dir, &msg, false);
        }
    }

    /// Contiguous bytes of a TCP connection to a KDC port.
    pub fn tcp_data(
        &mut self,
        conn: &ConnInfo,
        at: At,
        dir: Dir,
        bytes: &[u8],
        records: &mut Vec<KrbRecord>,
    ) {
        let stream = self.streams.entry((conn.id, dir)).or_default();
        stream.buf.extend_from_slice(bytes);
        let mut complete: Vec<Vec<u8>> = Vec::new();
        loop {
            if stream.lost_sync {
                let found =
                    (0..stream.buf.len()).find(|&i| plausible_record_start(&stream.buf[i..]));
                match found {
                    Some(i) => {
                        stream.buf.drain(..i);
                        stream.lost_sync = false;
                    }
                    None => {
                        // keep a possible marker split across segments
                        let keep = stream.buf.len().min(RECORD_MARKER_LEN);
                        stream.buf.drain(..stream.buf.len() - keep);
                        break;
                    }
                }
            }
            match kerberos::tcp_record_len(&stream.buf) {
                None => break,
                Some(Err(_)) => stream.lost_sync = true,
                Some(Ok(len)) => {
                    let total = RECORD_MARKER_LEN + len;
                    if stream.buf.len() < total {
                        break;
                    }
                    complete.push(stream.buf.drain(..total).collect());
                }
            }
        }
        for rec in complete {
            if let Ok(msg) = kerberos::parse_message(&rec[RECORD_MARKER_LEN..]) {
                records.push(record(&msg, at.frame, "tcp"));
                self.message(conn, at, dir, &msg, true);
            }
        }
    }

    /// Bytes were lost: the record in progress is abandoned and the stream resynchronises.
    pub fn tcp_gap(&mut self, conn: &ConnInfo, dir: Dir) {
        let stream = self.streams.entry((conn.id, dir)).or_default();
        stream.buf.clear();
        stream.lost_sync = true;
    }

    pub fn tcp_closed(&mut self, conn: &ConnInfo) {
        self.streams.remove(&(conn.id, Dir::ToServer));
        self.streams.remove(&(conn.id, Dir::ToClient));
        self.pending.remove(&(true, conn.id));
    }

    fn message(&mut self, conn: &ConnInfo, at: At, dir: Dir, msg: &KrbMessage<'_>, tcp: bool) {
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
                let pending = self.pending.entry(key).or_default();
                if !tcp {
                    for &i in pending.iter() {
                        if let Some(x) = self.exchanges.get_mut(i) {
                            x.superseded = true;
                        }
                    }
                    pending.clear();
                }
                if self.exchanges.len() >= MAX_EXCHANGES {
                    return;
                }
                pending.push(self.exchanges.len());
                self.exchanges.push(KrbExchange {
                    client: conn.client,
                    server: conn.server,
                    transport: if tcp { "tcp" } else { "udp" },
                    request: Some(request),
                    reply: None,
                    superseded: false,
                });
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
                    }),
                    _ => None,
                };
                let reply = KrbReply {
                    frame: at.frame,
                    ts: at.ts,
                    msg_type: msg.msg_type(),
                    error,
                };
                let paired = self.pending.get_mut(&key).and_then(|p| {
                    if tcp {
                        (!p.is_empty()).then(|| p.remove(0))
                    } else {
                        p.pop()
                    }
                });
                match paired.and_then(|i| self.exchanges.get_mut(i)) {
                    Some(x) => x.reply = Some(reply),
                    None => {
                        if self.exchanges.len() < MAX_EXCHANGES || reply.error.is_some() {
                            self.exchanges.push(KrbExchange {
                                client: conn.client,
                                server: conn.server,
                                transport: if tcp { "tcp" } else { "udp" },
                                request: None,
                                reply: Some(reply),
                                superseded: false,
                            });
                        }
                    }
                }
            }
            KrbMessage::ApReq(_) | KrbMessage::ApRep(_) => {}
        }
    }
}

/// A record marker of a sane length followed by a KDC message's application tag.
fn plausible_record_start(buf: &[u8]) -> bool {
    let Some(Ok(len)) = kerberos::tcp_record_len(buf) else {
        return false;
    };
    len > 0
        && len <= MAX_RECORD_LEN
        && matches!(buf.get(RECORD_MARKER_LEN), Some(0x6a..=0x6d | 0x7e))
}

/// The `dump` record of a Kerberos message.
pub fn record(msg: &KrbMessage<'_>, frame: u64, carrier: &'static str) -> KrbRecord {
    let msg_type = msg.msg_type();
    let code = msg.error_code();
    KrbRecord {
        frame,
        proto: "kerberos",
        carrier,
        msg_type: msg_type.0,
        msg_name: msg_type.to_string(),
        error_code: code.map(|c| c.0),
        error_name: code.map(|c| c.to_string()),
        cname: msg.cname().map(|c| c.to_string()),
        sname: msg.sname().map(|s| s.to_string()),
        realm: msg.realm().map(str::to_string),
    }
}
