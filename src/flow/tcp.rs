//! One TCP segment's way through a connection: orientation, the half-streams, the close.

use super::*;

/// Decides which end is the server for a conversation first seen as `src → dst`.
pub(super) fn orient(
    cfg: &FlowConfig,
    src: SocketAddr,
    dst: SocketAddr,
    seg: Option<&TcpSegment<'_>>,
) -> (SocketAddr, SocketAddr) {
    if let Some(seg) = seg {
        if seg.flags.syn {
            return if seg.flags.ack {
                (dst, src)
            } else {
                (src, dst)
            };
        }
    }
    let is_server_port = |port: u16| cfg.server_ports.contains(&port);
    match (is_server_port(src.port()), is_server_port(dst.port())) {
        (false, true) => (src, dst),
        (true, false) => (dst, src),
        _ if src.port() < 1024 && dst.port() >= 1024 => (dst, src),
        _ => (src, dst),
    }
}

pub(super) fn pending_of(conn: &TcpConn) -> usize {
    conn.halves.iter().map(HalfStream::pending_bytes).sum()
}

pub(super) fn emit(sink: &mut dyn FlowSink, info: &ConnInfo, at: At, dir: Dir, chunk: Chunk<'_>) {
    let event = match chunk {
        Chunk::Data { offset, bytes } => TcpEvent::Data { dir, offset, bytes },
        Chunk::Gap {
            offset,
            len,
            reason,
        } => TcpEvent::Gap {
            dir,
            offset,
            len,
            reason,
        },
    };
    sink.tcp(info, at, event);
}

/// Applies one segment to a connection; returns the change in buffered bytes.
pub(super) fn segment(
    conn: &mut TcpConn,
    dir: Dir,
    seg: &TcpSegment<'_>,
    at: At,
    sink: &mut dyn FlowSink,
) -> isize {
    let mut delta = 0;
    let i = dir.index();
    if seg.flags.syn {
        conn.halves[i].on_syn(seg.seq);
        if seg.flags.ack {
            if !conn.synack_seen {
                conn.synack_seen = true;
                sink.tcp(&conn.info, at, TcpEvent::SynAck);
            }
        } else if !conn.syn_seen {
            conn.syn_seen = true;
            sink.tcp(&conn.info, at, TcpEvent::Syn);
        }
    }
    if seg.flags.rst {
        conn.rst_seen = true;
        sink.tcp(&conn.info, at, TcpEvent::Rst { dir });
    }
    let data_seq = if seg.flags.syn {
        seg.seq.wrapping_add(1)
    } else {
        seg.seq
    };
    if !seg.payload.is_empty() || seg.missing > 0 || seg.flags.fin {
        let info = &conn.info;
        delta += conn.halves[i].push(
            data_seq,
            &seg.payload,
            u64::from(seg.missing),
            seg.flags.fin,
            &mut |c| emit(sink, info, at, dir, c),
        );
    }
    if seg.flags.ack && !seg.flags.rst {
        let other = dir.reverse();
        let j = other.index();
        if let Some(acked) = conn.halves[j].offset_of(seg.ack) {
            if conn.acked[i].is_none_or(|prev| acked > prev) {
                conn.acked[i] = Some(acked);
                let bare =
                    seg.payload.is_empty() && seg.missing == 0 && !seg.flags.syn && !seg.flags.fin;
                sink.tcp(&conn.info, at, TcpEvent::Ack { dir, acked, bare });
                let info = &conn.info;
                delta += conn.halves[j].on_peer_ack(acked, &mut |c| emit(sink, info, at, other, c));
            }
        }
    }
    if seg.flags.fin && !conn.fin_seen[i] {
        conn.fin_seen[i] = true;
        sink.tcp(&conn.info, at, TcpEvent::Fin { dir });
    }
    if seg.flags.rst {
        for d in [Dir::ToServer, Dir::ToClient] {
            let info = &conn.info;
            delta += conn.halves[d.index()].flush(&mut |c| emit(sink, info, at, d, c));
        }
    }
    delta
}

/// Hands on what is buffered (with gaps) and ends the connection; once only.
pub(super) fn close(conn: &mut TcpConn, at: At, reason: CloseReason, sink: &mut dyn FlowSink) {
    if conn.closed {
        return;
    }
    conn.closed = true;
    for d in [Dir::ToServer, Dir::ToClient] {
        let info = &conn.info;
        conn.halves[d.index()].flush(&mut |c| emit(sink, info, at, d, c));
    }
    let summary = ConnSummary {
        packets: conn.packets,
        last: conn.last,
        halves: [conn.halves[0].stats, conn.halves[1].stats],
    };
    sink.tcp(&conn.info, at, TcpEvent::Closed { reason, summary });
}
