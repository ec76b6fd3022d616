//! One SMB connection's setup, from the bytes of its two TCP directions.
//!
//! A [`Framer`] per direction cuts the stream into NetBIOS session-service records
//! ([`crate::proto::framing`] says how it resynchronises and what of a large record it keeps).
//! Requests are matched to responses by MessageId (STATUS_PENDING interims noted, the final
//! response awaited), and each setup exchange — NEGOTIATE, SESSION_SETUP, TREE_CONNECT (and the
//! TREE_DISCONNECT/LOGOFF after them) — is kept with what the findings need: dialects, security
//! modes, the credentials and SPN in the security buffers, Kerberos errors inside them, share
//! paths and flags, the server's TCP ACK of the request. Exchanges of other commands are only
//! counted, so a long bulk transfer costs no memory.

use super::kerberos::record as krb_record;
use super::records::{KrbRecord, Record, Smb2Record};
use crate::capture::Timestamp;
use crate::flow::{At, CloseReason, ConnInfo, Dir, GapReason};
use crate::proto::framing::{Frame, Framer, Nbss};
use crate::proto::gss::ntlmssp::{self, NtlmMessage, NtlmVersion};
use crate::proto::gss::spnego::{self, MechToken, SecurityBlob};
use crate::proto::kerberos::{self, KrbErrorCode, KrbMessage};
use crate::proto::nbss::{self, NbssType};
use crate::proto::ntstatus::NtStatus;
use crate::proto::smb1::{self, Smb1Body, Smb1Command, Smb1Status};
use crate::proto::smb2::{
    self, Body, Dialect, NegotiateContext, SessionFlags, ShareFlags, Smb2Command, Smb2Message,
    Smb2Pdu,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

/// At most this many requests of non-setup commands await their responses per connection.
const MAX_PENDING_OTHER: usize = 8192;

/// The command of an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Smb2(Smb2Command),
    Smb1(Smb1Command),
}

impl Command {
    pub fn name(self) -> String {
        match self {
            Command::Smb2(c) => c
                .name()
                .map(str::to_string)
                .unwrap_or_else(|| format!("0x{:04x}", c.0)),
            Command::Smb1(c) => format!(
                "SMB1 {}",
                c.name()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("0x{:02x}", c.0))
            ),
        }
    }

    pub fn is(self, cmd: Smb2Command) -> bool {
        self == Command::Smb2(cmd)
    }
}

/// A point in the capture.
pub type Moment = At;

/// What NEGOTIATE showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NegotiateInfo {
    /// SMB1 multi-protocol dialect strings, when the client started with SMB1.
    pub smb1_dialects: Vec<String>,
    pub offered: Vec<Dialect>,
    pub client_security_mode: Option<u16>,
    pub client_capabilities: Option<u32>,
    /// Ciphers in the client's encryption context (3.1.1).
    pub client_ciphers: Option<Vec<u16>>,
    pub dialect: Option<Dialect>,
    /// SMB1 DialectIndex in an SMB1 response (0xFFFF: none acceptable).
    pub smb1_dialect_index: Option<u16>,
    pub server_security_mode: Option<u16>,
    pub server_capabilities: Option<u32>,
    pub server_ciphers: Option<Vec<u16>>,
    /// The server's SPNEGO hint in its NEGOTIATE response lists Kerberos (`None`: no hint).
    pub server_offers_kerberos: Option<bool>,
}

/// The NTLMSSP AUTHENTICATE a client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtlmInfo {
    pub domain: String,
    pub user: String,
    pub workstation: String,
    /// MsvAvTargetName: the SPN the client used.
    pub target_name: Option<String>,
    pub version: &'static str,
}

impl NtlmInfo {
    /// `DOMAIN\user@WORKSTATION`, empty parts left out.
    pub fn principal(&self) -> String {
        let mut s = String::new();
        if !self.domain.is_empty() {
            s.push_str(&self.domain);
            s.push('\\');
        }
        s.push_str(if self.user.is_empty() {
            "(anonymous)"
        } else {
            &self.user
        });
        if !self.workstation.is_empty() {
            s.push('@');
            s.push_str(&self.workstation);
        }
        s
    }
}

/// A Kerberos error carried in a SESSION_SETUP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmbKrbError {
    pub code: KrbErrorCode,
    pub sname: String,
    pub realm: String,
    pub nt_status: Option<u32>,
}

/// What one SESSION_SETUP round showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionInfo {
    /// `NTLMSSP`, `Kerberos` or another mechanism the request's token used.
    pub mechanism: Option<&'static str>,
    pub ntlm: Option<NtlmInfo>,
    /// The service ticket in a Kerberos AP-REQ: (realm, sname).
    pub ticket: Option<(String, String)>,
    pub krb_error: Option<SmbKrbError>,
    pub session_flags: Option<u16>,
    pub client_security_mode: Option<u16>,
}

/// What TREE_CONNECT showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeInfo {
    pub path: Option<String>,
    pub share_type: Option<u8>,
    pub share_flags: Option<u32>,
}

/// One request and its response, as far as the capture shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub command: Command,
    pub msg_id: u64,
    pub session_id: u64,
    pub tree_id: Option<u32>,
    pub request: Option<Moment>,
    /// Stream offset just past the request's last byte.
    pub request_end: u64,
    /// The server's first TCP ACK covering the whole request.
    pub ack: Option<Moment>,
    pub interim: Option<Moment>,
    pub response: Option<Moment>,
    pub status: Option<u32>,
    /// A message of the exchange was cut (snaplen, gap, end of capture).
    pub truncated: bool,
    pub request_signed: bool,
    pub response_signed: bool,
    pub negotiate: Option<NegotiateInfo>,
    pub session: Option<SessionInfo>,
    pub tree: Option<TreeInfo>,
}

impl Exchange {
    fn new(command: Command, msg_id: u64) -> Self {
        Self {
            command,
            msg_id,
            session_id: 0,
            tree_id: None,
            request: None,
            request_end: 0,
            ack: None,
            interim: None,
            response: None,
            status: None,
            truncated: false,
            request_signed: false,
            response_signed: false,
            negotiate: None,
            session: None,
            tree: None,
        }
    }

    /// The exchange's first moment.
    pub fn start(&self) -> Option<Moment> {
        self.request.or(self.interim).or(self.response)
    }
}

/// Where a connection showed its server demanding encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncryptionSeen {
    /// A TREE_CONNECT response marked the share ENCRYPT_DATA (its path, if captured).
    Share { frame: u64, path: String },
    /// A SESSION_SETUP response flagged the whole session ENCRYPT_DATA.
    Session { frame: u64 },
    /// Encrypted (transform) messages flowed.
    Traffic { frame: u64 },
}

/// What the whole-capture findings rules need of a finished SMB connection that had nothing
/// of its own to report above `info`: who talked to whom and when, which sessions came up,
/// and whether the server showed it demands encryption. A few dozen bytes instead of the
/// connection's exchanges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmbSummary {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// The connection's first packet (`conn.first`).
    pub first: Moment,
    /// Its SYN, or the first packet when the handshake was not captured.
    pub first_ts: Timestamp,
    pub synack: bool,
    /// Successful SESSION_SETUP exchanges (each a session).
    pub sessions: u32,
    /// Their responses, in order.
    pub session_ok: Box<[Moment]>,
    pub cut_messages: u64,
    pub first_cut: Option<Moment>,
    pub encryption: Option<EncryptionSeen>,
    /// When the connection was last seen (its close).
    pub last_ts: Timestamp,
}

/// What settled connections leave behind once even their summaries are no longer needed
/// ([`crate::setup::Analyzer::prune_settled`]): counts, and the facts the whole-capture rules
/// read at any distance in time. A few bytes per server, not per connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettledTotals {
    pub connections: u64,
    pub sessions: u64,
    pub cut_messages: u64,
    pub first_cut: Option<Moment>,
    /// Per server address, the first connection (by first frame) that showed the server
    /// demanding encryption: that connection's first frame, and what it showed.
    pub encryption: BTreeMap<IpAddr, (u64, EncryptionSeen)>,
}

impl SettledTotals {
    pub fn add(&mut self, s: &SmbSummary) {
        self.connections += 1;
        self.sessions += u64::from(s.sessions);
        self.cut_messages += s.cut_messages;
        if let Some(cut) = s.first_cut {
            if self.first_cut.is_none_or(|f| cut.frame < f.frame) {
                self.first_cut = Some(cut);
            }
        }
        if let Some(seen) = &s.encryption {
            let entry = self
                .encryption
                .entry(s.server.ip())
                .or_insert_with(|| (s.first.frame, seen.clone()));
            if s.first.frame < entry.0 {
                *entry = (s.first.frame, seen.clone());
            }
        }
    }
}

/// Lost bytes that touched this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GapInfo {
    pub dir: Dir,
    pub at: Moment,
    pub len: u64,
    pub reason: GapReason,
}

/// The NetBIOS session request on port 139 and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetbiosSession {
    pub request: Option<Moment>,
    pub called: Option<String>,
    pub positive: Option<Moment>,
    /// Negative response and its error code.
    pub negative: Option<(Moment, u8)>,
}

/// One SMB connection's setup as the capture shows it.
#[derive(Debug, Clone)]
pub struct SmbConnection {
    pub conn: ConnInfo,
    pub syn: Option<Moment>,
    pub synack: Option<Moment>,
    pub exchanges: Vec<Exchange>,
    pub fins: Vec<(Dir, Moment)>,
    pub rsts: Vec<(Dir, Moment)>,
    pub closed: Option<(CloseReason, Moment)>,
    pub last: Option<Moment>,
    pub gaps: Vec<GapInfo>,
    /// First SMB3 transform (encrypted) message.
    pub encrypted: Option<Moment>,
    pub encrypted_messages: u64,
    pub netbios: Option<NetbiosSession>,
    /// Setup messages (NEGOTIATE, SESSION_SETUP, TREE_CONNECT) parsed from a record that was
    /// cut short, and the first of them.
    pub cut_messages: u64,
    pub first_cut: Option<Moment>,
    /// The capture started after the connection did.
    pub midstream: bool,
    /// Exchanges of other commands, answered or not.
    pub other_requests: u64,
    /// The first request of another command after a session was set up: its frame and
    /// whether it was signed.
    pub first_other_request: Option<(Moment, bool)>,
    pub other_unanswered: u64,
    pending: HashMap<u64, usize>,
    pending_other: HashMap<u64, Smb2Command>,
    smb1_negotiate: Option<usize>,
    unacked: VecDeque<usize>,
    framers: [Framer<Nbss>; 2],
}

/// Where dissection records go (only when `dump` asked for them).
pub struct Sinks<'a> {
    pub records: Option<&'a mut Vec<Record>>,
}

impl Sinks<'_> {
    fn keeping(&self) -> bool {
        self.records.is_some()
    }

    fn push(&mut self, r: Record) {
        if let Some(v) = self.records.as_mut() {
            v.push(r);
        }
    }
}

impl SmbConnection {
    /// A connection's SMB state, made at its first data with the SYN and SYN-ACK seen before
    /// it. Without a SYN the capture started mid-stream, and the framers must resynchronise.
    pub fn new(conn: &ConnInfo, syn: Option<Moment>, synack: Option<Moment>) -> Self {
        let handshake_seen = syn.is_some();
        let framer = Framer::new(Nbss, handshake_seen);
        Self {
            conn: conn.clone(),
            syn,
            synack,
            exchanges: Vec::new(),
            fins: Vec::new(),
            rsts: Vec::new(),
            closed: None,
            last: None,
            gaps: Vec::new(),
            encrypted: None,
            encrypted_messages: 0,
            netbios: None,
            cut_messages: 0,
            first_cut: None,
            midstream: !handshake_seen,
            other_requests: 0,
            first_other_request: None,
            other_unanswered: 0,
            pending: HashMap::new(),
            pending_other: HashMap::new(),
            smb1_negotiate: None,
            unacked: VecDeque::new(),
            framers: [framer.clone(), framer],
        }
    }

    pub fn data(&mut self, at: At, dir: Dir, offset: u64, bytes: &[u8], sinks: &mut Sinks<'_>) {
        self.last = Some(at);
        let end = offset + bytes.len() as u64;
        // The framer is taken out for the call so that its records can update the rest.
        let mut framer = std::mem::take(&mut self.framers[dir.index()]);
        framer.data(bytes, &mut |r| self.record(at, dir, end, r, sinks));
        self.framers[dir.index()] = framer;
    }

    pub fn gap(&mut self, at: At, dir: Dir, len: u64, reason: GapReason, sinks: &mut Sinks<'_>) {
        self.gaps.push(GapInfo {
            dir,
            at,
            len,
            reason,
        });
        let mut framer = std::mem::take(&mut self.framers[dir.index()]);
        framer.gap(len, &mut |r| self.record(at, dir, 0, r, sinks));
        self.framers[dir.index()] = framer;
    }

    /// A FIN in `dir`. Buffers the framers no longer hold anything in are given back: a
    /// finished connection waits in the tables until it is evicted, and should be small.
    pub fn fin(&mut self, dir: Dir, at: At) {
        self.fins.push((dir, at));
        for f in &mut self.framers {
            f.release_buffers();
        }
        self.exchanges.shrink_to_fit();
        self.pending.shrink_to_fit();
        self.pending_other.shrink_to_fit();
        self.unacked.shrink_to_fit();
    }

    /// The server acknowledged the client's stream up to `acked`.
    pub fn server_ack(&mut self, at: At, acked: u64) {
        while let Some(&i) = self.unacked.front() {
            match self.exchanges.get_mut(i) {
                Some(x) if x.request_end <= acked => {
                    x.ack.get_or_insert(at);
                    self.unacked.pop_front();
                }
                Some(_) => break,
                None => {
                    self.unacked.pop_front();
                }
            }
        }
    }

    pub fn close(&mut self, reason: CloseReason, at: At, sinks: &mut Sinks<'_>) {
        for dir in [Dir::ToServer, Dir::ToClient] {
            let mut framer = std::mem::take(&mut self.framers[dir.index()]);
            framer.finish(&mut |r| self.record(at, dir, 0, r, sinks));
        }
        self.other_unanswered += self.pending_other.len() as u64;
        self.closed = Some((reason, at));
        // A finished connection keeps its exchanges only: the tables and buffers of a live one
        // are dropped, not just emptied, so their capacity goes too.
        self.pending_other = HashMap::new();
        self.pending = HashMap::new();
        self.unacked = VecDeque::new();
        self.exchanges.shrink_to_fit();
        self.gaps.shrink_to_fit();
    }

    fn record(&mut self, at: At, dir: Dir, end: u64, raw: Frame<'_>, sinks: &mut Sinks<'_>) {
        match raw.record.first().copied().map(NbssType) {
            Some(NbssType::SESSION_MESSAGE) => {}
            Some(NbssType::KEEPALIVE) | None => return,
            Some(t) => return self.netbios_record(at, t, raw.body),
        }
        let payload = raw.body;
        match payload.get(..4) {
            Some(b"\xfeSMB") => {
                // A message too cut to name its command cannot be tied to setup: skipped.
                for msg in smb2::messages(payload).flatten() {
                    let cut = raw.cut || matches!(&msg.body, Err(e) if e.is_truncated());
                    // Only cuts that touch connection setup matter to the findings.
                    let setup = matches!(
                        msg.header.command,
                        Smb2Command::NEGOTIATE
                            | Smb2Command::SESSION_SETUP
                            | Smb2Command::TREE_CONNECT
                    );
                    if cut && setup {
                        self.cut_messages += 1;
                        self.first_cut.get_or_insert(at);
                    }
                    self.smb2_message(at, dir, end, &msg, cut, sinks);
                }
            }
            Some(b"\xfdSMB") | Some(b"\xfcSMB") => {
                if let Ok(Smb2Pdu::Encrypted(_)) = smb2::parse_pdu(payload) {
                    self.encrypted.get_or_insert(at);
                    self.encrypted_messages += 1;
                }
            }
            Some(b"\xffSMB") => self.smb1_message(at, dir, end, payload, raw.cut),
            _ => {}
        }
    }

    fn netbios_record(&mut self, at: At, nbss_type: NbssType, body: &[u8]) {
        let session = self.netbios.get_or_insert(NetbiosSession {
            request: None,
            called: None,
            positive: None,
            negative: None,
        });
        // The body as far as it was kept: a record cut short parses as far as it goes.
        match nbss::parse_payload(nbss_type, body) {
            Ok(nbss::NbssMessage::SessionRequest { called, .. }) => {
                session.request = Some(at);
                session.called = Some(called.name.trim_end().to_string());
            }
            Ok(nbss::NbssMessage::PositiveResponse) => session.positive = Some(at),
            Ok(nbss::NbssMessage::NegativeResponse(code)) => session.negative = Some((at, code.0)),
            _ => {}
        }
    }

    fn smb1_message(&mut self, at: At, dir: Dir, end: u64, payload: &[u8], cut: bool) {
        let Ok(msg) = smb1::parse(payload) else {
            return;
        };
        let h = msg.header;
        let command = Command::Smb1(h.command);
        let setup = matches!(
            h.command,
            Smb1Command::NEGOTIATE
                | Smb1Command::SESSION_SETUP_ANDX
                | Smb1Command::TREE_CONNECT_ANDX
        );
        if !setup {
            return;
        }
        let key = u64::from(h.mid) | 1 << 63;
        if !h.is_response() && dir == Dir::ToServer {
            let mut x = Exchange::new(command, u64::from(h.mid));
            x.request = Some(at);
            x.request_end = end;
            x.truncated = cut;
            if let Ok(Smb1Body::NegotiateRequest { dialects }) = &msg.body {
                x.negotiate = Some(NegotiateInfo {
                    smb1_dialects: dialects.iter().map(|d| d.to_string()).collect(),
                    ..NegotiateInfo::default()
                });
            }
            let i = self.exchanges.len();
            if h.command == Smb1Command::NEGOTIATE {
                self.smb1_negotiate = Some(i);
            }
            self.pending.insert(key, i);
            self.unacked.push_back(i);
            self.exchanges.push(x);
        } else if h.is_response() {
            let i = match self.pending.remove(&key) {
                Some(i) => i,
                None => {
                    self.exchanges
                        .push(Exchange::new(command, u64::from(h.mid)));
                    self.exchanges.len() - 1
                }
            };
            if Some(i) == self.smb1_negotiate {
                self.smb1_negotiate = None;
            }
            let Some(x) = self.exchanges.get_mut(i) else {
                return;
            };
            x.response = Some(at);
            x.truncated |= cut;
            x.status = Some(match h.status {
                Smb1Status::Nt(s) => s.0,
                Smb1Status::Dos { class, code } => (u32::from(class) << 16) | u32::from(code),
            });
            if let Ok(Smb1Body::NegotiateResponse { dialect_index, .. }) = &msg.body {
                x.negotiate
                    .get_or_insert_with(NegotiateInfo::default)
                    .smb1_dialect_index = Some(*dialect_index);
            }
        }
    }

    fn smb2_message(
        &mut self,
        at: At,
        dir: Dir,
        end: u64,
        msg: &Smb2Message<'_>,
        cut: bool,
        sinks: &mut Sinks<'_>,
    ) {
        let h = &msg.header;
        let mut rec = smb2_record(at.frame, msg, cut, sinks.keeping());
        let cmd = h.command;
        let is_setup = matches!(
            cmd,
            Smb2Command::NEGOTIATE
                | Smb2Command::SESSION_SETUP
                | Smb2Command::TREE_CONNECT
                | Smb2Command::TREE_DISCONNECT
                | Smb2Command::LOGOFF
        );
        if !h.is_response() {
            if dir != Dir::ToServer || cmd == Smb2Command::CANCEL {
                sinks.push(Record::Smb2(rec));
                return;
            }
            if !is_setup {
                self.other_requests += 1;
                if self.first_other_request.is_none() && h.session_id != 0 {
                    self.first_other_request = Some((at, h.is_signed()));
                }
                if self.pending_other.len() < MAX_PENDING_OTHER {
                    self.pending_other.insert(h.message_id, cmd);
                }
                sinks.push(Record::Smb2(rec));
                return;
            }
            let mut x = Exchange::new(Command::Smb2(cmd), h.message_id);
            x.session_id = h.session_id;
            x.tree_id = h.tree_id();
            x.request = Some(at);
            x.request_end = end;
            x.truncated = cut;
            x.request_signed = h.is_signed();
            match &msg.body {
                Ok(Body::NegotiateRequest(n)) => {
                    let ciphers = n.contexts.iter().find_map(|c| match c {
                        NegotiateContext::Encryption { ciphers } => Some(ciphers.clone()),
                        _ => None,
                    });
                    x.negotiate = Some(NegotiateInfo {
                        offered: n.dialects.clone(),
                        client_security_mode: Some(n.security_mode.0),
                        client_capabilities: Some(n.capabilities.0),
                        client_ciphers: ciphers,
                        ..NegotiateInfo::default()
                    });
                    rec.dialects = n
                        .dialects
                        .iter()
                        .map(|d| format!("0x{:04x}", d.0))
                        .collect();
                }
                Ok(Body::SessionSetupRequest(s)) => {
                    let mut info = SessionInfo {
                        client_security_mode: Some(s.security_mode.0),
                        ..SessionInfo::default()
                    };
                    if let Ok(buf) = s.security_buffer {
                        security_buffer(buf, &mut info, at.frame, &mut KrbSink(sinks));
                    }
                    if let Some(n) = &info.ntlm {
                        rec.ntlmssp_user = Some(n.user.clone());
                        rec.ntlmssp_domain = Some(n.domain.clone());
                        rec.ntlmssp_host = Some(n.workstation.clone());
                        rec.ntlmssp_target = n.target_name.clone();
                    }
                    x.session = Some(info);
                }
                Ok(Body::TreeConnectRequest(t)) => {
                    let path = t.path.clone().ok();
                    rec.path = path.clone();
                    x.tree = Some(TreeInfo {
                        path,
                        ..TreeInfo::default()
                    });
                }
                _ => {}
            }
            // A resent request with the same MessageId replaces the earlier one.
            let i = self.exchanges.len();
            self.pending.insert(h.message_id, i);
            self.unacked.push_back(i);
            self.exchanges.push(x);
            sinks.push(Record::Smb2(rec));
            return;
        }
        // A response.
        let status = h.status;
        if !is_setup {
            if status != NtStatus::STATUS_PENDING || !h.is_async() {
                self.pending_other.remove(&h.message_id);
            }
            sinks.push(Record::Smb2(rec));
            return;
        }
        let found = self.pending.get(&h.message_id).copied().filter(|&i| {
            self.exchanges
                .get(i)
                .is_some_and(|x| x.command == Command::Smb2(cmd))
        });
        let i = match found {
            Some(i) => i,
            None if cmd == Smb2Command::NEGOTIATE && self.smb1_negotiate.is_some() => {
                let i = self.smb1_negotiate.take().unwrap_or_default();
                self.pending.retain(|_, v| *v != i);
                i
            }
            None => {
                let mut x = Exchange::new(Command::Smb2(cmd), h.message_id);
                x.session_id = h.session_id;
                x.tree_id = h.tree_id();
                self.exchanges.push(x);
                self.exchanges.len() - 1
            }
        };
        let interim = status == NtStatus::STATUS_PENDING && h.is_async();
        if !interim {
            self.pending.remove(&h.message_id);
        }
        let Some(x) = self.exchanges.get_mut(i) else {
            sinks.push(Record::Smb2(rec));
            return;
        };
        x.truncated |= cut;
        if interim {
            x.interim.get_or_insert(at);
            sinks.push(Record::Smb2(rec));
            return;
        }
        x.response = Some(at);
        x.status = Some(status.0);
        x.response_signed = h.is_signed();
        if x.session_id == 0 {
            x.session_id = h.session_id;
        }
        if let Some(t) = h.tree_id() {
            x.tree_id.get_or_insert(t);
        }
        match &msg.body {
            Ok(Body::NegotiateResponse(n)) => {
                let ciphers = n.contexts.iter().find_map(|c| match c {
                    NegotiateContext::Encryption { ciphers } => Some(ciphers.clone()),
                    _ => None,
                });
                let info = x.negotiate.get_or_insert_with(NegotiateInfo::default);
                info.dialect = Some(n.dialect);
                info.server_security_mode = Some(n.security_mode.0);
                info.server_capabilities = Some(n.capabilities.0);
                info.server_ciphers = ciphers;
                if let Ok(Ok(SecurityBlob::NegTokenInit(hint))) = n
                    .security_buffer
                    .as_ref()
                    .map(|b| spnego::parse_security_blob(b))
                {
                    info.server_offers_kerberos = Some(
                        hint.mech_types
                            .iter()
                            .any(|m| m == spnego::OID_KRB5 || m == spnego::OID_MS_KRB5),
                    );
                }
                rec.dialect = Some(format!("0x{:04x}", n.dialect.0));
            }
            Ok(Body::SessionSetupResponse(s)) => {
                let info = x.session.get_or_insert_with(SessionInfo::default);
                info.session_flags = Some(s.session_flags.0);
                rec.session_flags = Some(format!("0x{:04x}", s.session_flags.0));
                if let Ok(buf) = s.security_buffer {
                    security_buffer(buf, info, at.frame, &mut KrbSink(sinks));
                }
            }
            Ok(Body::TreeConnectResponse(t)) => {
                let info = x.tree.get_or_insert_with(TreeInfo::default);
                info.share_type = Some(t.share_type.0);
                info.share_flags = Some(t.share_flags.0);
                rec.share_type = Some(t.share_type.0);
                rec.share_flags = Some(format!("0x{:08x}", t.share_flags.0));
            }
            _ => {}
        }
        sinks.push(Record::Smb2(rec));
    }

    /// True when any SMB (or NetBIOS session) message was seen on the connection.
    pub fn carried_smb(&self) -> bool {
        !self.exchanges.is_empty()
            || self.encrypted.is_some()
            || self.netbios.is_some()
            || self.other_requests > 0
            || self.cut_messages > 0
    }

    /// The dialect the connection settled on, if NEGOTIATE completed.
    pub fn dialect(&self) -> Option<Dialect> {
        self.exchanges
            .iter()
            .rev()
            .filter_map(|x| x.negotiate.as_ref()?.dialect)
            .find(|d| d.0 != 0x02ff)
    }

    /// The session setup rounds that ended in success.
    pub fn sessions(&self) -> usize {
        self.exchanges
            .iter()
            .filter(|x| x.command.is(Smb2Command::SESSION_SETUP) && x.status == Some(0))
            .count()
    }

    /// True when any SESSION_SETUP response flags the session as encrypted.
    pub fn session_encrypt_flag(&self) -> bool {
        self.exchanges.iter().any(|x| {
            x.session
                .as_ref()
                .and_then(|s| s.session_flags)
                .is_some_and(|f| SessionFlags(f).contains(SessionFlags::ENCRYPT_DATA))
        })
    }

    /// Successful SESSION_SETUP responses, in order.
    pub fn session_ok(&self) -> impl Iterator<Item = Moment> + '_ {
        self.exchanges
            .iter()
            .filter(|x| x.command.is(Smb2Command::SESSION_SETUP) && x.status == Some(0))
            .filter_map(|x| x.response)
    }

    /// The first sign that the server demands encryption: a share or session flagged
    /// ENCRYPT_DATA (in exchange order), else encrypted traffic.
    pub fn encryption_seen(&self) -> Option<EncryptionSeen> {
        for x in &self.exchanges {
            let frame = x.response.map(|r| r.frame).unwrap_or_default();
            let flags = x.tree.as_ref().and_then(|t| t.share_flags);
            if flags.is_some_and(|f| ShareFlags(f).contains(ShareFlags::ENCRYPT_DATA)) {
                let path = x
                    .tree
                    .as_ref()
                    .and_then(|t| t.path.clone())
                    .unwrap_or_default();
                return Some(EncryptionSeen::Share { frame, path });
            }
            let sflags = x.session.as_ref().and_then(|s| s.session_flags);
            if sflags.is_some_and(|f| SessionFlags(f).contains(SessionFlags::ENCRYPT_DATA)) {
                return Some(EncryptionSeen::Session { frame });
            }
        }
        self.encrypted
            .map(|at| EncryptionSeen::Traffic { frame: at.frame })
    }

    /// The connection reduced to what the whole-capture rules read.
    pub fn summary(&self) -> SmbSummary {
        SmbSummary {
            client: self.conn.client,
            server: self.conn.server,
            first: self.conn.first,
            first_ts: self.first_ts(),
            synack: self.synack.is_some(),
            sessions: self.sessions() as u32,
            session_ok: self.session_ok().collect(),
            cut_messages: self.cut_messages,
            first_cut: self.first_cut,
            encryption: self.encryption_seen(),
            last_ts: self
                .closed
                .map(|(_, at)| at.ts)
                .or(self.last.map(|m| m.ts))
                .unwrap_or(self.first_ts()),
        }
    }

    pub fn first_moment(&self) -> Moment {
        self.syn.unwrap_or(self.conn.first)
    }

    pub fn first_ts(&self) -> Timestamp {
        self.first_moment().ts
    }
}

/// Routes Kerberos messages found in security buffers to the dump.
struct KrbSink<'s, 'a>(&'s mut Sinks<'a>);

impl KrbSink<'_, '_> {
    fn push(&mut self, r: KrbRecord) {
        self.0.push(Record::Kerberos(r));
    }
}

/// Decodes a SESSION_SETUP security buffer into `info`.
fn security_buffer(buf: &[u8], info: &mut SessionInfo, frame: u64, krb: &mut KrbSink<'_, '_>) {
    let token = match spnego::parse_security_blob(buf) {
        Ok(SecurityBlob::NegTokenInit(init)) => init.mech_token_kind(),
        Ok(SecurityBlob::NegTokenResp(resp)) => resp.response_token_kind(),
        Ok(SecurityBlob::Ntlmssp(b)) => Some(MechToken::Ntlmssp(b)),
        Ok(SecurityBlob::Kerberos(k)) => Some(MechToken::Kerberos(k)),
        Ok(SecurityBlob::OtherGss { .. }) => {
            info.mechanism.get_or_insert("other");
            None
        }
        Ok(SecurityBlob::Empty) | Err(_) => None,
    };
    match token {
        Some(MechToken::Ntlmssp(b)) => {
            info.mechanism.get_or_insert("NTLMSSP");
            if let Ok(NtlmMessage::Authenticate(a)) = ntlmssp::parse(b) {
                let target_name = a.ntlmv2_response().and_then(|r| r.av_pairs.target_name());
                info.ntlm = Some(NtlmInfo {
                    domain: a.domain.clone(),
                    user: a.user.clone(),
                    workstation: a.workstation.clone(),
                    target_name,
                    version: match a.ntlm_version() {
                        NtlmVersion::Anonymous => "anonymous",
                        NtlmVersion::V1 => "NTLMv1",
                        NtlmVersion::V2 => "NTLMv2",
                    },
                });
            }
        }
        Some(MechToken::Kerberos(k)) => {
            info.mechanism.get_or_insert("Kerberos");
            if let Ok(tok) = kerberos::parse_gss_krb5(k.inner) {
                krb.push(krb_record(&tok.message, frame, "smb2"));
                match &tok.message {
                    KrbMessage::ApReq(ap) => {
                        info.ticket =
                            Some((ap.ticket.realm.to_string(), ap.ticket.sname.to_string()));
                    }
                    KrbMessage::Error(e) => {
                        info.krb_error = Some(SmbKrbError {
                            code: e.error_code,
                            sname: e.sname.to_string(),
                            realm: e.realm.to_string(),
                            nt_status: e.nt_status(),
                        });
                    }
                    _ => {}
                }
            }
        }
        Some(MechToken::Raw(_)) | None => {}
    }
}

/// The dump record of a message; without `keep` (no `dump`), a blank one that costs no
/// allocation, since it is dropped unread.
fn smb2_record(frame: u64, msg: &Smb2Message<'_>, cut: bool, keep: bool) -> Smb2Record {
    let h = &msg.header;
    let blank = Smb2Record {
        frame,
        proto: "smb2",
        cmd: h.command.0,
        response: h.is_response(),
        msg_id: h.message_id,
        session_id: h.session_id,
        truncated: cut,
        ..Smb2Record::default()
    };
    if !keep {
        return blank;
    }
    Smb2Record {
        cmd_name: h
            .command
            .name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("0x{:04x}", h.command.0)),
        status: format!("0x{:08x}", h.status.0),
        status_name: h.status.to_string(),
        tree_id: h.tree_id(),
        async_id: h.async_id(),
        ..blank
    }
}

/// True when the first bytes of a stream look like SMB over NBSS or Direct TCP.
pub fn looks_like_smb(bytes: &[u8]) -> bool {
    Nbss.starts_within(bytes, 64)
}
