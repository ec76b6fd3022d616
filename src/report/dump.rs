//! `smbtriage dump`: dissection records as JSON lines, in frame order (SPEC §8).
//!
//! `--proto tcp` gives one record per TCP or UDP conversation: its endpoints, first and last
//! frame, the bytes each direction delivered after reassembly, handshake/FIN/RST frames and the
//! gaps. These are what the tshark differential suite compares.

use crate::flow::{At, ConnInfo, Dir, FlowSink, GapReason, TcpEvent};
use crate::net::UdpDatagram;
use serde::Serialize;
use std::collections::BTreeMap;

/// A gap in one direction of a TCP stream.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GapRecord {
    pub dir: Dir,
    pub frame: u64,
    pub offset: u64,
    pub len: u64,
    pub reason: GapReason,
}

/// One TCP or UDP conversation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ConversationRecord {
    pub proto: &'static str,
    /// Index among conversations of the same protocol, in order of first packet.
    pub stream: u64,
    pub client: String,
    pub server: String,
    pub first_frame: u64,
    pub last_frame: u64,
    pub packets: u64,
    pub bytes_to_server: u64,
    pub bytes_to_client: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syn_frame: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synack_frame: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fin_frames: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rst_frames: Vec<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<GapRecord>,
    #[serde(skip_serializing_if = "is_zero")]
    pub retransmissions: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub inconsistent_overlaps: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ConversationRecord {
    fn new(proto: &'static str, conn: &ConnInfo) -> Self {
        Self {
            proto,
            stream: conn.id,
            client: conn.client.to_string(),
            server: conn.server.to_string(),
            first_frame: conn.first.frame,
            last_frame: conn.first.frame,
            packets: 0,
            bytes_to_server: 0,
            bytes_to_client: 0,
            syn_frame: None,
            synack_frame: None,
            fin_frames: Vec::new(),
            rst_frames: Vec::new(),
            gaps: Vec::new(),
            retransmissions: 0,
            inconsistent_overlaps: 0,
        }
    }
}

/// Collects conversation records from the flow layer.
#[derive(Debug, Default)]
pub struct ConversationLog {
    open_tcp: BTreeMap<u64, ConversationRecord>,
    udp: BTreeMap<u64, ConversationRecord>,
    done: Vec<ConversationRecord>,
}

impl ConversationLog {
    /// All records, in order of first frame (TCP before UDP on a tie).
    pub fn into_records(mut self) -> Vec<ConversationRecord> {
        self.done.extend(self.open_tcp.into_values());
        self.done.extend(self.udp.into_values());
        self.done
            .sort_by_key(|r| (r.first_frame, r.proto != "tcp", r.stream));
        self.done
    }
}

impl FlowSink for ConversationLog {
    fn tcp(&mut self, conn: &ConnInfo, at: At, event: TcpEvent<'_>) {
        let rec = self
            .open_tcp
            .entry(conn.id)
            .or_insert_with(|| ConversationRecord::new("tcp", conn));
        match event {
            TcpEvent::Syn => {
                rec.syn_frame.get_or_insert(at.frame);
            }
            TcpEvent::SynAck => {
                rec.synack_frame.get_or_insert(at.frame);
            }
            TcpEvent::Fin { .. } => rec.fin_frames.push(at.frame),
            TcpEvent::Rst { .. } => rec.rst_frames.push(at.frame),
            TcpEvent::Gap {
                dir,
                offset,
                len,
                reason,
            } => rec.gaps.push(GapRecord {
                dir,
                frame: at.frame,
                offset,
                len,
                reason,
            }),
            TcpEvent::Data { .. } | TcpEvent::Ack { .. } => {}
            TcpEvent::Closed { summary, .. } => {
                if let Some(mut rec) = self.open_tcp.remove(&conn.id) {
                    rec.last_frame = summary.last.frame;
                    rec.packets = summary.packets;
                    let [to_server, to_client] = summary.halves;
                    rec.bytes_to_server = to_server.delivered;
                    rec.bytes_to_client = to_client.delivered;
                    rec.retransmissions = to_server.retransmitted + to_client.retransmitted;
                    rec.inconsistent_overlaps =
                        to_server.inconsistent_overlaps + to_client.inconsistent_overlaps;
                    self.done.push(rec);
                }
            }
        }
    }

    fn udp(&mut self, conn: &ConnInfo, at: At, dir: Dir, datagram: &UdpDatagram<'_>) {
        let rec = self
            .udp
            .entry(conn.id)
            .or_insert_with(|| ConversationRecord::new("udp", conn));
        rec.last_frame = at.frame;
        rec.packets += 1;
        let len = datagram.payload.len() as u64;
        match dir {
            Dir::ToServer => rec.bytes_to_server += len,
            Dir::ToClient => rec.bytes_to_client += len,
        }
    }
}
