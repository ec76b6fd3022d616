//! Per-capture setup state: SMB connections, Kerberos exchanges and DNS names, built from the
//! flow layer's events.
//!
//! [`Analyzer`] is the [`FlowSink`] that routes each conversation by port (SMB on 445/139 and
//! any `--smb-port`, or recognised by its magic bytes; Kerberos on 88 and any
//! `--kerberos-port`; DNS on 53) and returns an [`Analysis`] when the capture ends. Memory is
//! bounded by the number of open connections: finished connections keep only their setup
//! exchanges, never their payload. With `settle`, a caller that judges finished connections
//! itself ([`Analyzer::take_closed`]) reduces the unremarkable ones to [`SmbSummary`]s, and
//! Kerberos exchanges without a KRB-ERROR become [`KrbSummary`]s, so that what stays whole
//! follows the failures in the capture rather than its size.

pub mod dns;
pub mod kerberos;
pub mod observations;
pub mod smb;

use crate::capture::Timestamp;
use crate::flow::{At, ConnInfo, Dir, FastMap, FlowSink, TcpEvent};
use crate::net::UdpDatagram;
use crate::proto::framing::{DnsOverTcp, Framer};
use dns::NameTable;
use kerberos::{KdcTracker, KrbExchange, KrbSummary};
use observations::Observation;
use smb::{SettledTotals, Sinks, SmbConnection, SmbSummary};
use std::net::{IpAddr, SocketAddr};

/// Failed connection attempts kept per capture.
const MAX_FAILED_CONNECTS: usize = 100_000;

/// Ports and what to collect.
#[derive(Debug, Clone)]
pub struct SetupOptions {
    pub smb_ports: Vec<u16>,
    pub kerberos_ports: Vec<u16>,
    /// Keep observations for `dump`.
    pub keep_records: bool,
    /// Summarise Kerberos exchanges that ended without an error, and hand finished SMB
    /// connections to [`Analyzer::take_closed`] for the caller to keep or summarise.
    pub settle: bool,
}

impl Default for SetupOptions {
    fn default() -> Self {
        Self {
            smb_ports: vec![445, 139],
            kerberos_ports: vec![88],
            keep_records: false,
            settle: false,
        }
    }
}

/// A TCP connection attempt to an SMB or Kerberos port that never got a SYN-ACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedConnect {
    pub client: SocketAddr,
    pub server: SocketAddr,
    pub syn: At,
    /// The server's (or a middlebox's) RST answering the SYN.
    pub reset: Option<At>,
    /// When the last packet of the attempt was seen.
    pub last: At,
    pub kerberos: bool,
}

/// Everything setup analysis found in one capture.
#[derive(Debug, Default)]
pub struct Analysis {
    /// SMB connections in order of their first packet (with `settle`, those kept whole).
    pub smb: Vec<SmbConnection>,
    /// Settled SMB connections, in order of their first packet.
    pub smb_settled: Vec<SmbSummary>,
    /// What settled connections whose summaries were pruned left behind.
    pub smb_pruned: SettledTotals,
    /// Kerberos exchanges in order of their first message (with `settle`, those that ended in
    /// a KRB-ERROR).
    pub kerberos: Vec<KrbExchange>,
    /// Settled Kerberos exchanges (with `settle`), in order of their first message.
    pub kerberos_settled: Vec<KrbSummary>,
    pub names: NameTable,
    pub failed_connects: Vec<FailedConnect>,
    /// What `dump` prints, in frame order (only with `keep_records`).
    pub records: Vec<Observation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Smb,
    Kerberos,
    Dns,
    /// Not yet known: decided by the first bytes.
    Unknown,
    Other,
}

#[derive(Debug)]
struct TcpState {
    kind: Kind,
    syn: Option<At>,
    synack: Option<At>,
    reset: Option<At>,
    last: At,
    /// Data flowed, so the handshake completed even if the capture missed it.
    data_seen: bool,
    /// DNS over TCP: the server's messages, framed (made at its first data).
    dns: Option<Box<Framer<DnsOverTcp>>>,
    /// The SMB state, for an SMB connection (kept here so one lookup per event finds both).
    /// Made at the connection's first data, gap, FIN or RST, with the handshake seen so far:
    /// a flood of SYNs that are never answered costs no SMB state.
    smb: Option<Box<SmbConnection>>,
}

/// Builds an [`Analysis`] from flow events.
#[derive(Debug)]
pub struct Analyzer {
    opts: SetupOptions,
    tcp: FastMap<u64, TcpState>,
    /// Finished SMB connections not yet taken by [`Analyzer::take_closed`] (with `settle`).
    closed: Vec<SmbConnection>,
    kdc: KdcTracker,
    /// What is finished so far.
    out: Analysis,
}

impl Analyzer {
    pub fn new(opts: SetupOptions) -> Self {
        let kdc = KdcTracker::new(opts.settle);
        Self {
            opts,
            tcp: FastMap::default(),
            closed: Vec::new(),
            kdc,
            out: Analysis::default(),
        }
    }

    /// The next finished SMB connection that carried SMB, for a caller that decides whether to
    /// [`keep`](Self::keep) it whole or [`settle`](Self::settle) it (with `settle`).
    pub fn take_closed(&mut self) -> Option<SmbConnection> {
        self.closed.pop()
    }

    /// Keeps a finished connection whole, for the rules that run when the capture ends.
    pub fn keep(&mut self, conn: SmbConnection) {
        self.out.smb.push(conn);
    }

    /// Keeps only the summary of a finished connection.
    pub fn settle(&mut self, conn: &SmbConnection) {
        self.out.smb_settled.push(conn.summary());
    }

    /// Drops the settled summaries for which `keep` is false, folding them into
    /// [`Analysis::smb_pruned`]. The caller decides which ones no rule can still read.
    pub fn prune_settled(&mut self, mut keep: impl FnMut(&SmbSummary) -> bool) {
        let out = &mut self.out;
        let totals = &mut out.smb_pruned;
        out.smb_settled.retain(|s| {
            let kept = keep(s);
            if !kept {
                totals.add(s);
            }
            kept
        });
    }

    /// The clients and request times of NEGOTIATEs on connections still open that have not
    /// succeeded (no answer yet, or an error): where a `negotiate-failed` may still come from.
    pub fn open_negotiate_trouble(&self) -> impl Iterator<Item = (IpAddr, Timestamp)> + '_ {
        self.tcp
            .values()
            .filter_map(|t| t.smb.as_deref())
            .flat_map(|c| c.exchanges.iter().map(move |x| (c.conn.client.ip(), x)))
            .filter(|(_, x)| {
                matches!(
                    x.command,
                    smb::Command::Smb2(crate::proto::smb2::Smb2Command::NEGOTIATE)
                        | smb::Command::Smb1(crate::proto::smb1::Smb1Command::NEGOTIATE)
                ) && x.status != Some(0)
            })
            .filter_map(|(ip, x)| x.request.map(|r| (ip, r.ts)))
    }

    /// What has finished so far (connections, answered Kerberos exchanges, names), for
    /// judging a connection as it closes. Not yet in order.
    pub fn so_far(&self) -> &Analysis {
        &self.out
    }

    /// Ends the analysis. Call after the flow table's `finish`, which closes every connection.
    pub fn finish(mut self) -> Analysis {
        let mut out = self.out;
        out.smb.append(&mut self.closed);
        out.smb.extend(
            self.tcp
                .into_values()
                .filter_map(|t| t.smb)
                .map(|c| *c)
                .filter(SmbConnection::carried_smb),
        );
        out.smb.sort_by_key(|c| c.conn.first.frame);
        out.smb_settled.sort_by_key(|c| c.first.frame);
        self.kdc.finish(&mut out);
        out.records.sort_by_key(Observation::frame);
        out
    }
}

impl FlowSink for Analyzer {
    fn tcp(&mut self, conn: &ConnInfo, at: At, event: TcpEvent<'_>) {
        let opts = &self.opts;
        let state = self.tcp.entry(conn.id).or_insert_with(|| TcpState {
            kind: kind_of(opts, conn.server),
            syn: None,
            synack: None,
            reset: None,
            last: at,
            data_seen: false,
            dns: None,
            smb: None,
        });
        state.last = at;
        let closing = matches!(event, TcpEvent::Closed { .. });
        match &event {
            TcpEvent::Syn => {
                state.syn.get_or_insert(at);
            }
            TcpEvent::SynAck => {
                state.synack.get_or_insert(at);
            }
            TcpEvent::Rst { dir: Dir::ToClient } if state.synack.is_none() => {
                state.reset.get_or_insert(at);
            }
            TcpEvent::Data { bytes, .. } => {
                state.data_seen = true;
                if state.kind == Kind::Unknown {
                    state.kind = if smb::looks_like_smb(bytes) {
                        Kind::Smb
                    } else {
                        Kind::Other
                    };
                }
            }
            _ => {}
        }
        match state.kind {
            Kind::Smb => {
                if state.smb.is_none() && starts_smb_state(&event) {
                    let c = SmbConnection::new(conn, state.syn, state.synack);
                    state.smb = Some(Box::new(c));
                }
                if let Some(c) = &mut state.smb {
                    let records = self.opts.keep_records.then_some(&mut self.out.records);
                    smb_event(c, records, at, event);
                }
            }
            Kind::Kerberos => match event {
                TcpEvent::Data { dir, bytes, .. } => {
                    let mut recs = Vec::new();
                    self.kdc
                        .tcp_data(conn, at, dir, bytes, &mut recs, &mut self.out);
                    if self.opts.keep_records {
                        self.out
                            .records
                            .extend(recs.into_iter().map(Observation::Kerberos));
                    }
                }
                TcpEvent::Gap { dir, .. } => self.kdc.tcp_gap(conn, dir),
                TcpEvent::Closed { .. } => self.kdc.tcp_closed(conn, &mut self.out),
                _ => {}
            },
            Kind::Dns => {
                if let TcpEvent::Data { dir, bytes, .. } = event {
                    self.dns_tcp(conn.id, at, dir, bytes);
                }
            }
            Kind::Unknown | Kind::Other => {}
        }
        if closing {
            if let Some(state) = self.tcp.remove(&conn.id) {
                if matches!(state.kind, Kind::Smb | Kind::Kerberos)
                    && state.synack.is_none()
                    && !state.data_seen
                {
                    // A SYN flood would otherwise grow this without bound; the first
                    // MAX_FAILED_CONNECTS attempts already say all a finding can.
                    if let (Some(syn), true) = (
                        state.syn,
                        self.out.failed_connects.len() < MAX_FAILED_CONNECTS,
                    ) {
                        self.out.failed_connects.push(FailedConnect {
                            client: conn.client,
                            server: conn.server,
                            syn,
                            reset: state.reset,
                            last: state.last,
                            kerberos: state.kind == Kind::Kerberos,
                        });
                    }
                }
                // Every close reason ends the connection's record. One that never carried an
                // SMB message (a SYN flood, a refused attempt) has nothing for the rules and is
                // not kept: memory follows connections that did SMB, not connection attempts.
                if let Some(c) = state.smb {
                    if c.carried_smb() {
                        if self.opts.settle {
                            self.closed.push(*c);
                        } else {
                            self.out.smb.push(*c);
                        }
                    }
                }
            }
        }
    }

    fn udp(&mut self, conn: &ConnInfo, at: At, dir: Dir, datagram: &UdpDatagram<'_>) {
        let port = conn.server.port();
        if self.opts.kerberos_ports.contains(&port) {
            let mut recs = Vec::new();
            self.kdc
                .udp(conn, at, dir, &datagram.payload, &mut recs, &mut self.out);
            if self.opts.keep_records {
                self.out
                    .records
                    .extend(recs.into_iter().map(Observation::Kerberos));
            }
        } else if port == 53 || conn.client.port() == 53 {
            let recs = self.out.names.learn(&datagram.payload, at.frame);
            if self.opts.keep_records {
                self.out
                    .records
                    .extend(recs.into_iter().map(Observation::Dns));
            }
        }
    }
}

/// What a TCP connection carries, judged by its server port.
fn kind_of(opts: &SetupOptions, server: SocketAddr) -> Kind {
    let port = server.port();
    if opts.smb_ports.contains(&port) {
        Kind::Smb
    } else if opts.kerberos_ports.contains(&port) {
        Kind::Kerberos
    } else if port == 53 {
        Kind::Dns
    } else {
        Kind::Unknown
    }
}

/// True for the events that need an SMB connection's state. Before the first of them the
/// handshake is all there is, and the `TcpState` keeps it; a connection without a request has
/// nothing for an ACK to acknowledge, and one closing without data leaves nothing to keep.
fn starts_smb_state(event: &TcpEvent<'_>) -> bool {
    !matches!(
        event,
        TcpEvent::Syn | TcpEvent::SynAck | TcpEvent::Ack { .. } | TcpEvent::Closed { .. }
    )
}

/// Applies one flow event to an SMB connection; observations for `dump` go to `records` when kept.
fn smb_event(
    c: &mut SmbConnection,
    records: Option<&mut Vec<Observation>>,
    at: At,
    event: TcpEvent<'_>,
) {
    let mut sinks = Sinks { records };
    match event {
        TcpEvent::Syn => {
            c.syn.get_or_insert(at);
        }
        TcpEvent::SynAck => {
            c.synack.get_or_insert(at);
        }
        TcpEvent::Data { dir, offset, bytes } => c.data(at, dir, offset, bytes, &mut sinks),
        TcpEvent::Gap {
            dir, len, reason, ..
        } => c.gap(at, dir, len, reason, &mut sinks),
        TcpEvent::Ack {
            dir: Dir::ToClient,
            acked,
            ..
        } => c.server_ack(at, acked),
        TcpEvent::Ack { .. } => {}
        TcpEvent::Fin { dir } => c.fin(dir, at),
        TcpEvent::Rst { dir } => c.rsts.push((dir, at)),
        TcpEvent::Closed { reason, .. } => c.close(reason, at, &mut sinks),
    }
}

impl Analyzer {
    fn dns_tcp(&mut self, id: u64, at: At, dir: Dir, bytes: &[u8]) {
        let Some(state) = self.tcp.get_mut(&id) else {
            return;
        };
        if dir != Dir::ToClient {
            return;
        }
        let framer = state
            .dns
            .get_or_insert_with(|| Box::new(Framer::new(DnsOverTcp, true)));
        let out = &mut self.out;
        let keep_records = self.opts.keep_records;
        framer.data(bytes, &mut |f| {
            let recs = out.names.learn(f.body, at.frame);
            if keep_records {
                out.records.extend(recs.into_iter().map(Observation::Dns));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;
    use crate::flow::{CloseReason, ConnSummary};
    use crate::proto::smb2::Smb2Command;
    use crate::testkit::nbss_frame;
    use crate::testkit::smb::{self as build, Header, NegotiateRequest};

    fn at(frame: u64) -> At {
        At {
            frame,
            ts: Timestamp(frame as i64 * 1_000_000),
        }
    }

    fn conn(server_port: u16) -> ConnInfo {
        ConnInfo {
            id: 7,
            client: "10.0.0.1:50000".parse().unwrap(),
            server: SocketAddr::new("10.0.0.2".parse().unwrap(), server_port),
            first: at(1),
        }
    }

    fn negotiate() -> Vec<u8> {
        let body = NegotiateRequest {
            dialects: vec![0x0210, 0x0300],
            security_mode: 1,
            capabilities: 0,
            client_guid: [1; 16],
            contexts: Vec::new(),
        }
        .body();
        nbss_frame(&build::message(
            &Header::request(Smb2Command::NEGOTIATE, 0),
            &body,
        ))
    }

    /// The client's first bytes.
    fn to_server(bytes: &[u8]) -> TcpEvent<'_> {
        TcpEvent::Data {
            dir: Dir::ToServer,
            offset: 0,
            bytes,
        }
    }

    fn closed(a: &mut Analyzer, c: &ConnInfo, frame: u64) {
        let summary = ConnSummary {
            packets: frame,
            last: at(frame),
            halves: Default::default(),
        };
        a.tcp(
            c,
            at(frame),
            TcpEvent::Closed {
                reason: CloseReason::Idle,
                summary,
            },
        );
    }

    /// Unanswered SYNs to 445 make no SMB state, yet are counted as failed attempts.
    #[test]
    fn syn_only_connection_makes_no_smb_state() {
        let mut a = Analyzer::new(SetupOptions::default());
        let c = conn(445);
        a.tcp(&c, at(1), TcpEvent::Syn);
        a.tcp(&c, at(2), TcpEvent::Syn);
        assert!(a.tcp.get(&c.id).is_some_and(|s| s.smb.is_none()));
        closed(&mut a, &c, 3);
        let out = a.finish();
        assert!(out.smb.is_empty());
        assert_eq!(out.failed_connects.len(), 1);
        assert_eq!(out.failed_connects[0].syn, at(1));
    }

    /// The SMB state made at the first data carries the handshake seen before it.
    #[test]
    fn smb_state_made_at_first_data_keeps_the_handshake() {
        for port in [445, 8445] {
            let mut a = Analyzer::new(SetupOptions::default());
            let c = conn(port);
            let negotiate = negotiate();
            a.tcp(&c, at(1), TcpEvent::Syn);
            a.tcp(&c, at(2), TcpEvent::SynAck);
            let ack = TcpEvent::Ack {
                dir: Dir::ToServer,
                acked: 0,
                bare: true,
            };
            a.tcp(&c, at(3), ack);
            assert!(a.tcp[&c.id].smb.is_none(), "port {port}");
            a.tcp(&c, at(4), to_server(&negotiate));
            closed(&mut a, &c, 5);
            let out = a.finish();
            let [smb] = &out.smb[..] else {
                panic!("port {port}: {} SMB connections", out.smb.len());
            };
            assert_eq!(
                (smb.syn, smb.synack),
                (Some(at(1)), Some(at(2))),
                "port {port}"
            );
            assert!(!smb.midstream, "port {port}");
            assert_eq!(smb.exchanges.len(), 1, "port {port}");
            assert!(out.failed_connects.is_empty());
        }
    }

    /// A connection seen only from its data is midstream, with no handshake.
    #[test]
    fn smb_state_without_handshake_is_midstream() {
        let mut a = Analyzer::new(SetupOptions::default());
        let c = conn(445);
        let negotiate = negotiate();
        a.tcp(&c, at(1), to_server(&negotiate));
        closed(&mut a, &c, 2);
        let out = a.finish();
        assert_eq!(out.smb.len(), 1);
        assert_eq!((out.smb[0].syn, out.smb[0].synack), (None, None));
        assert!(out.smb[0].midstream);
    }
}
