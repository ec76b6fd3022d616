//! Per-direction TCP byte-stream reassembly.
//!
//! A [`HalfStream`] turns segments, in capture order, into contiguous stream bytes addressed by
//! a 64-bit offset from the start of the direction's data (so sequence wrap-around never shows
//! above this module). Bytes are handed on as soon as they are contiguous — never waiting for an
//! ACK. Out-of-order data waits in a bounded buffer; the first copy of any byte wins and later
//! copies that differ are counted. Bytes known never to arrive (cut by the snaplen, already
//! acknowledged by the peer, or given up on at a cap or at the end) become a gap: the stream
//! skips them and says so, and never invents them.

use std::collections::BTreeMap;

/// Delivered bytes kept to compare retransmissions against.
const TAIL_KEEP: usize = 2048;

/// Why bytes are missing from a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GapReason {
    /// The capture's snaplen cut the segment.
    SnaplenCut,
    /// The peer acknowledged bytes the capture never saw.
    NotCaptured,
    /// The out-of-order buffer hit its cap, or the stream ended with a hole.
    GaveUp,
}

/// What reassembly hands upward, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    Data {
        offset: u64,
        bytes: &'a [u8],
    },
    Gap {
        offset: u64,
        len: u64,
        reason: GapReason,
    },
}

/// The last [`TAIL_KEEP`] delivered bytes, in a ring allocated once per stream: delivering a
/// segment costs one copy of at most `TAIL_KEEP` bytes and never shifts what is kept.
#[derive(Debug, Default)]
struct Tail {
    ring: Vec<u8>,
    /// Index of the oldest kept byte.
    head: usize,
    len: usize,
}

impl Tail {
    fn len(&self) -> usize {
        self.len
    }

    fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.ring.is_empty() {
            self.ring = vec![0; TAIL_KEEP];
        }
        let bytes = &bytes[bytes.len().saturating_sub(TAIL_KEEP)..];
        let at = (self.head + self.len) % TAIL_KEEP;
        let first = bytes.len().min(TAIL_KEEP - at);
        self.ring[at..at + first].copy_from_slice(&bytes[..first]);
        self.ring[..bytes.len() - first].copy_from_slice(&bytes[first..]);
        let len = self.len + bytes.len();
        if len > TAIL_KEEP {
            self.head = (self.head + len - TAIL_KEEP) % TAIL_KEEP;
            self.len = TAIL_KEEP;
        } else {
            self.len = len;
        }
    }

    /// True when the kept bytes from position `from` (0 = oldest kept) equal `other`, which
    /// must lie within what is kept.
    fn matches(&self, from: usize, other: &[u8]) -> bool {
        let at = (self.head + from) % TAIL_KEEP;
        let first = other.len().min(TAIL_KEEP - at);
        self.ring.get(at..at + first) == Some(&other[..first])
            && self.ring.get(..other.len() - first) == Some(&other[first..])
    }
}

#[derive(Debug)]
struct Pending {
    bytes: Vec<u8>,
    /// Bytes cut by the snaplen right after `bytes`.
    missing: u64,
}

/// Outcome counters for one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HalfStats {
    pub delivered: u64,
    pub gap_bytes: u64,
    pub gaps: u64,
    pub retransmitted: u64,
    pub inconsistent_overlaps: u64,
    pub out_of_order: u64,
    pub before_start: u64,
}

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct HalfStream {
    base_seq: Option<u32>,
    next: u64,
    pending: BTreeMap<u64, Pending>,
    pending_bytes: usize,
    tail: Tail,
    fin_offset: Option<u64>,
    /// Highest offset the peer has acknowledged.
    peer_acked: u64,
    pub stats: HalfStats,
}

impl HalfStream {
    /// Sequence number of stream offset 0, once known.
    pub fn base_seq(&self) -> Option<u32> {
        self.base_seq
    }

    /// The next offset the stream expects.
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Every byte up to the FIN was delivered: nothing more can come but retransmissions.
    pub fn complete(&self) -> bool {
        self.fin_offset.is_some_and(|f| self.next >= f) && self.pending.is_empty()
    }

    pub fn fin_offset(&self) -> Option<u64> {
        self.fin_offset
    }

    /// A SYN fixes offset 0 at the byte after it.
    pub fn on_syn(&mut self, seq: u32) {
        if self.base_seq.is_none() || (self.next == 0 && self.pending.is_empty()) {
            self.base_seq = Some(seq.wrapping_add(1));
        }
    }

    /// Maps a sequence number to a stream offset, choosing the 64-bit value nearest to what the
    /// stream expects next (this is where wrap-around is absorbed). `None` before offset 0 or
    /// while the stream has no base.
    pub fn offset_of(&self, seq: u32) -> Option<u64> {
        let base = self.base_seq?;
        let rel = seq.wrapping_sub(base);
        let delta = i64::from(rel.wrapping_sub(self.next as u32) as i32);
        u64::try_from(i64::try_from(self.next).ok()?.checked_add(delta)?).ok()
    }

    /// Adds a segment's payload (`missing` bytes cut after it) and calls `out` for every chunk
    /// that became contiguous. Returns the number of bytes newly buffered (negative when the
    /// buffer shrank) so the caller can keep a global account.
    pub fn push(
        &mut self,
        seq: u32,
        payload: &[u8],
        missing: u64,
        fin: bool,
        out: &mut dyn FnMut(Chunk<'_>),
    ) -> isize {
        if self.base_seq.is_none() {
            if payload.is_empty() && missing == 0 && !fin {
                return 0;
            }
            self.base_seq = Some(seq);
        }
        let before = self.pending_bytes as isize;
        let Some(offset) = self.offset_of(seq) else {
            self.stats.before_start += 1;
            return 0;
        };
        let len = payload.len() as u64;
        if fin {
            self.fin_offset.get_or_insert(offset + len + missing);
        }
        if len == 0 && missing == 0 {
            self.release_if_finished();
            return 0;
        }
        // A keep-alive repeats the byte before `next` (or sends none): not a retransmission.
        if len <= 1 && missing == 0 && offset + 1 == self.next {
            return 0;
        }
        if offset > self.next && self.peer_acked >= offset {
            // The peer already acknowledged the hole before this segment: it was not captured.
            self.skip(offset - self.next, GapReason::NotCaptured, out);
        }
        if offset > self.next {
            self.stats.out_of_order += 1;
            self.buffer(offset, payload, missing);
        } else {
            let skip = (self.next - offset).min(len) as usize;
            if skip > 0 {
                self.stats.retransmitted += 1;
                self.compare_with_tail(offset, &payload[..skip]);
            }
            let fresh = &payload[skip..];
            let rest_missing = if (skip as u64) < len {
                missing
            } else {
                (offset + len + missing).saturating_sub(self.next)
            };
            if !fresh.is_empty() {
                self.deliver(fresh, out);
            }
            if rest_missing > 0 {
                self.skip(rest_missing, GapReason::SnaplenCut, out);
            }
            self.drain(out);
            self.release_if_finished();
        }
        self.pending_bytes as isize - before
    }

    /// Once the direction is complete up to its FIN, the kept tail goes: what stays of a
    /// finished connection until it is evicted should be small. (A retransmission after this
    /// is still counted, just not compared.)
    fn release_if_finished(&mut self) {
        if self.fin_offset == Some(self.next) && self.pending.is_empty() {
            self.tail = Tail::default();
        }
    }

    /// The peer acknowledged everything before `acked`. A hole below it that already has data
    /// buffered after it will never be filled: the capture missed it. A hole with nothing after
    /// it yet is left open, because captures taken on several interfaces often show the ACK
    /// before the data it acknowledges.
    pub fn on_peer_ack(&mut self, acked: u64, out: &mut dyn FnMut(Chunk<'_>)) -> isize {
        let acked = match self.fin_offset {
            Some(fin) => acked.min(fin),
            None => acked,
        };
        self.peer_acked = self.peer_acked.max(acked);
        let before = self.pending_bytes as isize;
        while let Some(&first) = self.pending.keys().next() {
            if first > self.peer_acked {
                break;
            }
            if first > self.next {
                self.skip(first - self.next, GapReason::NotCaptured, out);
            }
            self.drain(out);
        }
        self.pending_bytes as isize - before
    }

    /// Gives up on the first hole: skips it and delivers what follows.
    pub fn skip_first_hole(&mut self, out: &mut dyn FnMut(Chunk<'_>)) -> isize {
        let before = self.pending_bytes as isize;
        if let Some(&first) = self.pending.keys().next() {
            if first > self.next {
                self.skip(first - self.next, GapReason::GaveUp, out);
            }
            self.drain(out);
        }
        self.pending_bytes as isize - before
    }

    /// Delivers everything still buffered, with gaps for the holes, and records as a gap any
    /// acknowledged bytes the capture never showed.
    pub fn flush(&mut self, out: &mut dyn FnMut(Chunk<'_>)) -> isize {
        let before = self.pending_bytes as isize;
        while !self.pending.is_empty() {
            self.skip_first_hole(out);
        }
        if self.peer_acked > self.next {
            self.skip(self.peer_acked - self.next, GapReason::NotCaptured, out);
        }
        self.pending_bytes as isize - before
    }

    fn deliver(&mut self, bytes: &[u8], out: &mut dyn FnMut(Chunk<'_>)) {
        out(Chunk::Data {
            offset: self.next,
            bytes,
        });
        self.next += bytes.len() as u64;
        self.stats.delivered += bytes.len() as u64;
        self.tail.push(bytes);
    }

    fn skip(&mut self, len: u64, reason: GapReason, out: &mut dyn FnMut(Chunk<'_>)) {
        out(Chunk::Gap {
            offset: self.next,
            len,
            reason,
        });
        self.next += len;
        self.stats.gaps += 1;
        self.stats.gap_bytes += len;
        self.tail.clear();
    }

    /// Delivers buffered segments that became contiguous. True if anything moved.
    fn drain(&mut self, out: &mut dyn FnMut(Chunk<'_>)) -> bool {
        let mut moved = false;
        while let Some(entry) = self.pending.first_entry() {
            let offset = *entry.key();
            if offset > self.next {
                break;
            }
            let p = entry.remove();
            self.pending_bytes -= p.bytes.len();
            moved = true;
            let len = p.bytes.len() as u64;
            let skip = (self.next - offset).min(len) as usize;
            if skip > 0 {
                self.compare_with_tail(offset, &p.bytes[..skip]);
            }
            if skip < p.bytes.len() {
                self.deliver(&p.bytes[skip..], out);
            }
            let end = offset + len + p.missing;
            if end > self.next {
                self.skip(end - self.next, GapReason::SnaplenCut, out);
            }
        }
        moved
    }

    /// Buffers out-of-order bytes, keeping the first copy of every byte.
    fn buffer(&mut self, offset: u64, payload: &[u8], missing: u64) {
        let end = offset + payload.len() as u64;
        let mut cursor = offset;
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        // Existing entries that overlap [offset, end), in order. Non-empty entries never
        // overlap each other, so walking back from `end` can stop at the first one that ends
        // before `offset`: the cost is the overlap, not the buffer (a stream of segments each
        // overlapping the last used to make this quadratic).
        let mut overlapping: Vec<(u64, u64)> = Vec::new();
        for (&o, p) in self.pending.range(..end).rev() {
            let e = o + p.bytes.len() as u64;
            if e > offset {
                overlapping.push((o, e));
            } else if !p.bytes.is_empty() {
                break;
            }
        }
        overlapping.reverse();
        for (o, e) in overlapping {
            if o > cursor {
                pieces.push((cursor, o));
            }
            self.compare_with_pending(o, e, offset, payload);
            cursor = cursor.max(e);
        }
        if cursor < end {
            pieces.push((cursor, end));
        }
        let last = pieces.last().map(|&(_, e)| e);
        for (s, e) in pieces {
            let slice = &payload[(s - offset) as usize..(e - offset) as usize];
            self.pending_bytes += slice.len();
            let piece_missing = if Some(e) == last && e == end {
                missing
            } else {
                0
            };
            // A piece that continues the entry before it joins it, so that segments sliding
            // forward a few bytes at a time leave one entry, not one per step.
            if let Some((&po, prev)) = self.pending.range_mut(..s).next_back() {
                if prev.missing == 0 && !prev.bytes.is_empty() && po + prev.bytes.len() as u64 == s
                {
                    prev.bytes.extend_from_slice(slice);
                    prev.missing = piece_missing;
                    continue;
                }
            }
            let bytes = slice.to_vec();
            self.pending.insert(
                s,
                Pending {
                    bytes,
                    missing: piece_missing,
                },
            );
        }
        if payload.is_empty() && missing > 0 {
            self.pending.entry(offset).or_insert(Pending {
                bytes: Vec::new(),
                missing,
            });
        }
    }

    fn compare_with_pending(&mut self, o: u64, e: u64, offset: u64, payload: &[u8]) {
        let Some(existing) = self.pending.get(&o) else {
            return;
        };
        let s = o.max(offset);
        let t = e.min(offset + payload.len() as u64);
        if s >= t {
            return;
        }
        let old = &existing.bytes[(s - o) as usize..(t - o) as usize];
        let new = &payload[(s - offset) as usize..(t - offset) as usize];
        self.stats.retransmitted += 1;
        if old != new {
            self.stats.inconsistent_overlaps += 1;
        }
    }

    /// Compares a retransmitted copy of already-delivered bytes with what was delivered, as far
    /// as the kept tail reaches.
    fn compare_with_tail(&mut self, offset: u64, copy: &[u8]) {
        let tail_start = self.next - self.tail.len() as u64;
        let s = offset.max(tail_start);
        let t = (offset + copy.len() as u64).min(self.next);
        if s >= t {
            return;
        }
        let again = &copy[(s - offset) as usize..(t - offset) as usize];
        if !self.tail.matches((s - tail_start) as usize, again) {
            self.stats.inconsistent_overlaps += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes segments and returns the stream as delivered, with gaps as `None` runs.
    fn run(
        h: &mut HalfStream,
        segs: &[(u32, &[u8], u64)],
    ) -> (Vec<u8>, Vec<(u64, u64, GapReason)>) {
        let mut data = Vec::new();
        let mut gaps = Vec::new();
        for &(seq, bytes, missing) in segs {
            h.push(seq, bytes, missing, false, &mut |c| {
                collect(c, &mut data, &mut gaps)
            });
        }
        (data, gaps)
    }

    fn collect(c: Chunk<'_>, data: &mut Vec<u8>, gaps: &mut Vec<(u64, u64, GapReason)>) {
        match c {
            Chunk::Data { offset, bytes } => {
                assert_eq!(
                    offset,
                    data.len() as u64 + gaps.iter().map(|g| g.1).sum::<u64>()
                );
                data.extend_from_slice(bytes);
            }
            Chunk::Gap {
                offset,
                len,
                reason,
            } => gaps.push((offset, len, reason)),
        }
    }

    fn syn_at(isn: u32) -> HalfStream {
        let mut h = HalfStream::default();
        h.on_syn(isn);
        h
    }

    /// Found by tests/hostile.rs (endless overlapping retransmissions): behind a hole, each
    /// segment starting one byte after the last made buffering scan every buffered piece.
    #[test]
    fn overlapping_segments_behind_a_hole_buffer_in_linear_time() {
        let stream: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let mut h = syn_at(999);
        let (mut data, mut gaps) = (Vec::new(), Vec::new());
        let n = 60_000;
        for i in 0..n {
            let at = 100 + i;
            h.push(
                1000 + at as u32,
                &stream[at..at + 1400],
                0,
                false,
                &mut |c| collect(c, &mut data, &mut gaps),
            );
        }
        assert!(data.is_empty());
        assert_eq!(h.pending_bytes(), n - 1 + 1400);
        h.push(1000, &stream[..100], 0, false, &mut |c| {
            collect(c, &mut data, &mut gaps)
        });
        assert_eq!(data, &stream[..100 + n - 1 + 1400]);
        assert!(gaps.is_empty());
    }

    #[test]
    fn in_order_and_out_of_order() {
        let mut h = syn_at(1000);
        let (data, gaps) = run(
            &mut h,
            &[(1001, b"abc", 0), (1007, b"ghi", 0), (1004, b"def", 0)],
        );
        assert_eq!(data, b"abcdefghi");
        assert!(gaps.is_empty());
        assert_eq!(h.stats.out_of_order, 1);
        assert_eq!(h.pending_bytes(), 0);
    }

    #[test]
    fn retransmission_with_different_bytes_keeps_first_and_counts() {
        let mut h = syn_at(0);
        let (data, _) = run(
            &mut h,
            &[(1, b"hello", 0), (1, b"jello", 0), (3, b"llo w", 0)],
        );
        assert_eq!(data, b"hello w");
        assert_eq!(h.stats.inconsistent_overlaps, 1);
        assert_eq!(h.stats.retransmitted, 2);
    }

    #[test]
    fn overlapping_out_of_order_segments_first_copy_wins() {
        let mut h = syn_at(0);
        // offsets 4..8 arrive first as EFGH; the second segment covers 2..9 and only its
        // bytes outside 4..8 (c, d, k) are new
        let (data, _) = run(
            &mut h,
            &[(5, b"EFGH", 0), (3, b"cdXXijk", 0), (1, b"ab", 0)],
        );
        assert_eq!(data, b"abcdEFGHk");
        assert_eq!(h.stats.inconsistent_overlaps, 1);
    }

    #[test]
    fn sequence_wrap_around() {
        let isn = u32::MAX - 2;
        let mut h = syn_at(isn);
        let (data, _) = run(
            &mut h,
            &[
                (isn.wrapping_add(1), b"ab", 0),
                (isn.wrapping_add(3), b"cd", 0),
                (isn.wrapping_add(5), b"ef", 0),
            ],
        );
        assert_eq!(data, b"abcdef");
        assert_eq!(h.next_offset(), 6);
    }

    #[test]
    fn mid_stream_start_uses_first_segment_as_origin() {
        let mut h = HalfStream::default();
        let (data, _) = run(&mut h, &[(5000, b"xyz", 0), (5003, b"w", 0)]);
        assert_eq!(data, b"xyzw");
        assert_eq!(h.offset_of(5000), Some(0));
        // older bytes than the first seen are before the stream start
        let (late, _) = run(&mut h, &[(4000, b"old", 0)]);
        assert!(late.is_empty());
        assert_eq!(h.stats.before_start, 1);
    }

    #[test]
    fn snaplen_cut_is_a_gap_then_stream_resumes() {
        let mut h = syn_at(0);
        let (data, gaps) = run(&mut h, &[(1, b"ab", 3), (6, b"fg", 0)]);
        assert_eq!(data, b"abfg");
        assert_eq!(gaps, vec![(2, 3, GapReason::SnaplenCut)]);
    }

    #[test]
    fn peer_ack_past_a_hole_declares_it_lost() {
        let mut h = syn_at(0);
        let (mut data, mut gaps) = run(&mut h, &[(1, b"ab", 0), (6, b"fg", 0)]);
        h.on_peer_ack(h.offset_of(8).unwrap(), &mut |c| {
            collect(c, &mut data, &mut gaps)
        });
        assert_eq!(data, b"abfg");
        assert_eq!(gaps, vec![(2, 3, GapReason::NotCaptured)]);
        assert_eq!(h.pending_bytes(), 0);
    }

    #[test]
    fn ack_before_the_data_it_acknowledges_loses_nothing() {
        // capture on two interfaces: the ACK is written before the data it acknowledges
        let mut h = syn_at(0);
        let (mut data, mut gaps) = (Vec::new(), Vec::new());
        h.on_peer_ack(5, &mut |c| collect(c, &mut data, &mut gaps));
        assert!(gaps.is_empty());
        h.push(1, b"hello", 0, false, &mut |c| {
            collect(c, &mut data, &mut gaps)
        });
        assert_eq!(data, b"hello");
        assert!(gaps.is_empty());
    }

    #[test]
    fn acknowledged_hole_before_later_data_is_a_gap() {
        let mut h = syn_at(0);
        let (mut data, mut gaps) = run(&mut h, &[(1, b"ab", 0)]);
        h.on_peer_ack(9, &mut |c| collect(c, &mut data, &mut gaps));
        h.push(5, b"ef", 0, false, &mut |c| {
            collect(c, &mut data, &mut gaps)
        });
        assert_eq!(data, b"abef");
        assert_eq!(gaps, vec![(2, 2, GapReason::NotCaptured)]);
        h.flush(&mut |c| collect(c, &mut data, &mut gaps));
        assert_eq!(gaps[1], (6, 3, GapReason::NotCaptured));
    }

    #[test]
    fn flush_delivers_past_holes() {
        let mut h = syn_at(0);
        let (mut data, mut gaps) = run(&mut h, &[(3, b"cd", 0), (8, b"hi", 0)]);
        assert!(data.is_empty());
        h.flush(&mut |c| collect(c, &mut data, &mut gaps));
        assert_eq!(data, b"cdhi");
        assert_eq!(
            gaps,
            vec![(0, 2, GapReason::GaveUp), (4, 3, GapReason::GaveUp)]
        );
    }

    #[test]
    fn retransmission_compared_across_the_tail_ring_wrap() {
        let mut h = syn_at(0);
        let stream: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let segs: Vec<(u32, &[u8], u64)> = stream
            .chunks(700)
            .enumerate()
            .map(|(i, c)| (1 + (i * 700) as u32, c, 0))
            .collect();
        let (data, _) = run(&mut h, &segs);
        assert_eq!(data, stream);
        // Offsets 3500..4500 sit on both sides of the ring's wrap point.
        let from = 3500;
        let again = &stream[from..from + 1000];
        run(&mut h, &[(1 + from as u32, again, 0)]);
        assert_eq!(h.stats.inconsistent_overlaps, 0);
        let mut altered = again.to_vec();
        altered[999] ^= 1;
        run(&mut h, &[(1 + from as u32, &altered, 0)]);
        assert_eq!(h.stats.inconsistent_overlaps, 1);
        assert_eq!(h.stats.retransmitted, 2);
    }

    #[test]
    fn keepalive_is_ignored() {
        let mut h = syn_at(0);
        run(&mut h, &[(1, b"abc", 0)]);
        let (data, _) = run(&mut h, &[(3, b"\0", 0)]);
        assert!(data.is_empty());
        assert_eq!(h.stats.retransmitted, 0);
    }

    proptest::proptest! {
        /// Any order and duplication of a stream's segments reassembles to the same bytes.
        #[test]
        fn any_permutation_and_duplication_reassembles(
            stream in proptest::collection::vec(proptest::num::u8::ANY, 1..400),
            cuts in proptest::collection::vec(1usize..60, 1..20),
            order in proptest::collection::vec(proptest::num::usize::ANY, 1..60),
            isn in proptest::num::u32::ANY,
        ) {
            let mut segs = Vec::new();
            let mut at = 0usize;
            for c in cuts.iter().cycle() {
                if at >= stream.len() { break; }
                let end = (at + c).min(stream.len());
                segs.push((at, end));
                at = end;
            }
            // a delivery order that mentions every segment at least once
            let mut sequence: Vec<usize> = order.iter().map(|o| o % segs.len()).collect();
            sequence.extend(0..segs.len());
            let mut h = syn_at(isn);
            let mut data = Vec::new();
            let mut gaps = Vec::new();
            for i in sequence {
                let (s, e) = segs[i];
                let seq = isn.wrapping_add(1).wrapping_add(s as u32);
                h.push(seq, &stream[s..e], 0, false, &mut |c| collect(c, &mut data, &mut gaps));
            }
            proptest::prop_assert_eq!(&data, &stream);
            proptest::prop_assert!(gaps.is_empty());
            proptest::prop_assert_eq!(h.stats.inconsistent_overlaps, 0);
            proptest::prop_assert_eq!(h.pending_bytes(), 0);
        }
    }
}
