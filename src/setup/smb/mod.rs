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

mod auth;
mod exchange;

pub use auth::{NtlmInfo, SmbKrbError};

use super::observations::Observation;
use crate::capture::Timestamp;
use crate::flow::{At, CloseReason, ConnInfo, Dir, GapReason};
use crate::proto::framing::{Frame, Framer, Nbss};
use crate::proto::nbss::{self, NbssType};
use crate::proto::smb1::Smb1Command;
use crate::proto::smb2::{
    self, Capabilities, Dialect, SecurityMode, SessionFlags, ShareFlags, ShareType, Smb2Command,
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
    pub client_security_mode: Option<SecurityMode>,
    pub client_capabilities: Option<Capabilities>,
    /// Ciphers in the client's encryption context (3.1.1).
    pub client_ciphers: Option<Vec<u16>>,
    pub dialect: Option<Dialect>,
    /// SMB1 DialectIndex in an SMB1 response (0xFFFF: none acceptable).
    pub smb1_dialect_index: Option<u16>,
    pub server_security_mode: Option<SecurityMode>,
    pub server_capabilities: Option<Capabilities>,
    pub server_ciphers: Option<Vec<u16>>,
    /// The server's SPNEGO hint in its NEGOTIATE response lists Kerberos (`None`: no hint).
    pub server_offers_kerberos: Option<bool>,
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
    pub session_flags: Option<SessionFlags>,
    pub client_security_mode: Option<SecurityMode>,
}

/// What TREE_CONNECT showed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TreeInfo {
    pub path: Option<String>,
    pub share_type: Option<ShareType>,
    pub share_flags: Option<ShareFlags>,
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

/// Where observations for `dump` go (only when it asked for them).
pub struct Sinks<'a> {
    pub records: Option<&'a mut Vec<Observation>>,
}

impl Sinks<'_> {
    fn push(&mut self, r: Observation) {
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
                .is_some_and(|f| f.contains(SessionFlags::ENCRYPT_DATA))
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
            if flags.is_some_and(|f| f.contains(ShareFlags::ENCRYPT_DATA)) {
                let path = x
                    .tree
                    .as_ref()
                    .and_then(|t| t.path.clone())
                    .unwrap_or_default();
                return Some(EncryptionSeen::Share { frame, path });
            }
            let sflags = x.session.as_ref().and_then(|s| s.session_flags);
            if sflags.is_some_and(|f| f.contains(SessionFlags::ENCRYPT_DATA)) {
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

/// True when the first bytes of a stream look like SMB over NBSS or Direct TCP.
pub fn looks_like_smb(bytes: &[u8]) -> bool {
    Nbss.starts_within(bytes, 64)
}
