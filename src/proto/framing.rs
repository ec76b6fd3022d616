//! Length-prefixed records over reassembled TCP bytes: NBSS (SMB over 445 and 139), the
//! Kerberos record marker, DNS over TCP.
//!
//! A [`Framer`] is fed one direction's bytes in whatever pieces the reassembler delivers and
//! hands on each record as it completes. What is special about a format — how long its header
//! is, what length it gives, whether a header is plausible when looking for one — is a
//! [`RecordFormat`]; [`step`] is the one decision every format shares: at the bytes at hand, is
//! there a complete record, do we need N more bytes, or must we resynchronise?
//!
//! - Zero copy where it can be: a record that lies whole inside one piece of input is handed on
//!   as a slice of it; only a record split across pieces is gathered, into a buffer that is
//!   reused.
//! - Bounded: a format may keep only a prefix of large records ([`RecordFormat::keep`]); the
//!   rest is passed over by length, never copied, and a gap inside it costs nothing.
//! - Lossy streams: after a gap (or a header that cannot be one, or a capture that starts
//!   mid-stream) bytes are dropped up to the next plausible record start. A gap inside a kept
//!   record, or the stream's end, yields what arrived of it as a cut record.

use super::kerberos;
use super::smb2::{self, Smb2Command};
use super::{dns, nbss};

/// What is particular to one record format.
pub trait RecordFormat {
    /// Bytes of a record's header, its length field included.
    const HEADER_LEN: usize;
    /// Bytes [`plausible_start`](Self::plausible_start) looks at.
    const SYNC_LEN: usize;

    /// The length of the record's body after its `HEADER_LEN` header bytes, or `None` when
    /// they cannot start a record.
    fn body_len(&self, header: &[u8]) -> Option<usize>;

    /// While resynchronising: true when a record plausibly starts at `bytes`. False when
    /// fewer than `SYNC_LEN` bytes are at hand.
    fn plausible_start(&self, bytes: &[u8]) -> bool;

    /// How much of a record of `total` bytes (header included) to keep, judged from the
    /// `at_hand` bytes of its start (the header at least). Whole records by default.
    fn keep(&self, _at_hand: &[u8], total: usize) -> Keep {
        Keep::Bytes(total)
    }
}

/// How much of a record a format keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// This many bytes from the record's start (capped at the record's length).
    Bytes(usize),
    /// The format decides once this many bytes of the record are at hand (if they already
    /// are, the whole record is kept).
    Peek(usize),
}

/// What the framer can do with the bytes at a record's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// They cannot start a record: resynchronise.
    Resync,
    /// At least this many bytes (from the record's start) are needed to go on.
    Need(usize),
    /// A record of `total` bytes, of which the first `keep` are at hand and kept.
    Record { total: usize, keep: usize },
}

/// The decision at a record's start.
pub fn step<F: RecordFormat>(format: &F, at_hand: &[u8]) -> Step {
    let Some(header) = at_hand.get(..F::HEADER_LEN) else {
        return Step::Need(F::HEADER_LEN);
    };
    let Some(body) = format.body_len(header) else {
        return Step::Resync;
    };
    let total = F::HEADER_LEN.saturating_add(body);
    let keep = match format.keep(at_hand, total) {
        Keep::Bytes(n) => n.clamp(F::HEADER_LEN, total),
        Keep::Peek(n) if at_hand.len() < n => return Step::Need(n),
        Keep::Peek(_) => total,
    };
    if at_hand.len() < keep {
        return Step::Need(keep);
    }
    Step::Record { total, keep }
}

/// A record the framer hands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The record from its header on: whole, its kept prefix, or what arrived of it.
    pub record: &'a [u8],
    /// `record` after the header.
    pub body: &'a [u8],
    /// The record was cut short (a gap or the stream's end inside it).
    pub cut: bool,
}

/// Cuts one direction's bytes into records of format `F`.
#[derive(Debug, Default, Clone)]
pub struct Framer<F> {
    format: F,
    /// The start of a record that has not arrived whole yet (header included), or, while not
    /// synced, the bytes being searched for a record start.
    buf: Vec<u8>,
    synced: bool,
    /// Bytes of the current record still to pass unread.
    skip: u64,
    /// The kept prefix (header included) of the record being skipped, if `holding`.
    held: Vec<u8>,
    holding: bool,
}

/// What [`Framer::take`] did with the bytes it was shown.
enum Took {
    /// This many bytes were consumed.
    Bytes(usize),
    NeedMore,
    Resync,
}

impl<F: RecordFormat> Framer<F> {
    /// A framer at a record boundary (`synced`), or one that must first find a record start
    /// (a capture that began mid-stream).
    pub fn new(format: F, synced: bool) -> Self {
        Self {
            format,
            buf: Vec::new(),
            synced,
            skip: 0,
            held: Vec::new(),
            holding: false,
        }
    }

    /// The next contiguous bytes of the stream.
    pub fn data(&mut self, mut input: &[u8], out: &mut dyn FnMut(Frame<'_>)) {
        while !input.is_empty() {
            if self.skip > 0 {
                let n = (self.skip.min(input.len() as u64)) as usize;
                self.skip -= n as u64;
                input = &input[n..];
                if self.skip == 0 {
                    self.release_held(out);
                }
                continue;
            }
            if !self.synced {
                self.buf.extend_from_slice(input);
                input = &[];
                self.resync();
                if self.synced {
                    self.records_from_buf(out);
                }
                continue;
            }
            if self.buf.is_empty() {
                // Fast path: whole records (or whole kept prefixes) straight from the input.
                match self.take(input, out) {
                    Took::Bytes(n) => {
                        input = &input[n..];
                        continue;
                    }
                    Took::Resync => {
                        self.synced = false;
                        continue;
                    }
                    Took::NeedMore => {}
                }
            }
            let need = match step(&self.format, &self.buf) {
                Step::Need(n) => n,
                _ => F::HEADER_LEN,
            };
            let n = need.saturating_sub(self.buf.len()).max(1).min(input.len());
            self.buf.extend_from_slice(&input[..n]);
            input = &input[n..];
            self.records_from_buf(out);
        }
    }

    /// `len` bytes will never arrive. A gap inside skipped data costs nothing; a gap inside a
    /// kept record yields what was kept as a cut record. Then the framer resynchronises.
    pub fn gap(&mut self, len: u64, out: &mut dyn FnMut(Frame<'_>)) {
        if self.skip > 0 {
            if len < self.skip {
                self.skip -= len;
                return;
            }
            self.skip = 0;
            self.release_held(out);
        } else {
            self.finish(out);
        }
        self.synced = false;
        self.buf.clear();
    }

    /// The stream ended: a record in progress is yielded, cut (a held prefix whole).
    pub fn finish(&mut self, out: &mut dyn FnMut(Frame<'_>)) {
        if self.holding {
            self.release_held(out);
        } else if self.synced && self.buf.len() > F::HEADER_LEN {
            out(Frame {
                record: &self.buf,
                body: &self.buf[F::HEADER_LEN..],
                cut: true,
            });
        }
        self.buf.clear();
    }

    /// Nothing buffered, held or being skipped.
    pub fn is_idle(&self) -> bool {
        self.buf.is_empty() && self.skip == 0 && !self.holding
    }

    /// Gives back the capacity of buffers that hold nothing.
    pub fn release_buffers(&mut self) {
        if self.is_idle() {
            self.buf = Vec::new();
            self.held = Vec::new();
        }
    }

    /// Frames one record at the start of `src`: hands it on, or holds its kept prefix while
    /// the rest is skipped.
    fn take(&mut self, src: &[u8], out: &mut dyn FnMut(Frame<'_>)) -> Took {
        let (total, keep) = match step(&self.format, src) {
            Step::Resync => return Took::Resync,
            Step::Need(_) => return Took::NeedMore,
            Step::Record { total, keep } => (total, keep),
        };
        let kept = &src[..keep];
        // Only the prefix matters; the rest is passed over.
        let already = (src.len() - keep).min(total - keep);
        let rest = (total - keep - already) as u64;
        if rest == 0 {
            out(Frame {
                record: kept,
                body: &kept[F::HEADER_LEN..],
                cut: false,
            });
        } else {
            self.skip = rest;
            self.holding = true;
            self.held.clear();
            self.held.extend_from_slice(kept);
        }
        Took::Bytes(keep + already)
    }

    /// Consumes complete records from `buf` while synced.
    fn records_from_buf(&mut self, out: &mut dyn FnMut(Frame<'_>)) {
        let mut buf = std::mem::take(&mut self.buf);
        let mut at = 0;
        while self.synced && self.skip == 0 && at < buf.len() {
            match self.take(&buf[at..], out) {
                Took::Bytes(n) => at += n,
                Took::NeedMore => break,
                Took::Resync => {
                    buf.drain(..at);
                    at = 0;
                    self.synced = false;
                    std::mem::swap(&mut self.buf, &mut buf);
                    self.resync();
                    std::mem::swap(&mut self.buf, &mut buf);
                }
            }
        }
        buf.drain(..at);
        self.buf = buf;
    }

    fn release_held(&mut self, out: &mut dyn FnMut(Frame<'_>)) {
        if std::mem::take(&mut self.holding) {
            out(Frame {
                record: &self.held,
                body: &self.held[F::HEADER_LEN..],
                cut: false,
            });
        }
    }

    /// Drops bytes up to the next plausible record start; without one, keeps only the tail
    /// that could still begin one.
    fn resync(&mut self) {
        let format = &self.format;
        match (0..self.buf.len()).find(|&i| format.plausible_start(&self.buf[i..])) {
            Some(i) => {
                self.buf.drain(..i);
                self.synced = true;
            }
            None => {
                let keep = self.buf.len().min(F::SYNC_LEN - 1);
                self.buf.drain(..self.buf.len() - keep);
            }
        }
    }
}

/// Bytes of an NBSS record kept for parsing: every setup message fits, and a READ/WRITE header
/// with plenty to spare.
pub const KEEP_PREFIX: usize = 64 * 1024;
/// Bytes kept of an NBSS record that carries a single message of a command other than the
/// setup ones (a READ, a WRITE, ...) or an encrypted one: the SMB2 header and any fixed body
/// fit, and the data after it is passed over by length, never copied.
pub const BULK_KEEP: usize = 512;

const SMB_MAGICS: [[u8; 4]; 4] = [*b"\xfeSMB", *b"\xffSMB", *b"\xfdSMB", *b"\xfcSMB"];

/// NetBIOS session-service records carrying SMB (Direct TCP on 445 uses the same 4-byte
/// header). A record start is plausible as a session message with an SMB magic; of a record,
/// [`KEEP_PREFIX`] bytes are kept, or [`BULK_KEEP`] of bulk ones.
#[derive(Debug, Default, Clone, Copy)]
pub struct Nbss;

impl Nbss {
    /// True when a plausible record starts within the first `window` bytes.
    pub fn starts_within(&self, bytes: &[u8], window: usize) -> bool {
        (0..bytes.len().min(window)).any(|i| self.plausible_start(&bytes[i..]))
    }
}

impl RecordFormat for Nbss {
    const HEADER_LEN: usize = nbss::HEADER_LEN;
    const SYNC_LEN: usize = nbss::HEADER_LEN + 4;

    fn body_len(&self, header: &[u8]) -> Option<usize> {
        nbss::parse_header(header).ok().map(|h| h.length as usize)
    }

    fn plausible_start(&self, bytes: &[u8]) -> bool {
        match *bytes {
            [0x00, l0, l1, l2, m0, m1, m2, m3, ..] => {
                u32::from_be_bytes([0, l0, l1, l2]) >= 4 && SMB_MAGICS.contains(&[m0, m1, m2, m3])
            }
            _ => false,
        }
    }

    fn keep(&self, at_hand: &[u8], total: usize) -> Keep {
        let keep = total.min(nbss::HEADER_LEN + KEEP_PREFIX);
        if at_hand.first() == Some(&0x00) && keep > nbss::HEADER_LEN + BULK_KEEP {
            // The first SMB2 header decides whether the rest is bulk.
            let peek = nbss::HEADER_LEN + smb2::HEADER_LEN;
            if at_hand.len() < peek {
                return Keep::Peek(peek);
            }
            if is_bulk(at_hand.get(nbss::HEADER_LEN..).unwrap_or_default()) {
                return Keep::Bytes(nbss::HEADER_LEN + BULK_KEEP);
            }
        }
        Keep::Bytes(keep)
    }
}

/// True when only the first [`BULK_KEEP`] bytes of a payload can matter: a single plain
/// message of a non-setup command, or an encrypted message, whose transform header is all
/// that is readable.
fn is_bulk(payload: &[u8]) -> bool {
    use smb2::field::{COMMAND, NEXT_COMMAND};
    match payload.get(..4) {
        Some(magic) if magic == smb2::PROTOCOL_ID => {
            let cmd = payload
                .get(COMMAND)
                .and_then(|b| b.try_into().ok())
                .map(|b| Smb2Command(u16::from_le_bytes(b)));
            let next = payload
                .get(NEXT_COMMAND)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes);
            matches!((cmd, next), (Some(c), Some(0)) if !c.is_setup())
        }
        Some(magic) => magic == smb2::TRANSFORM_PROTOCOL_ID,
        None => false,
    }
}

/// Kerberos over TCP (RFC 4120 §7.2.2): a 4-byte record marker, records of at most
/// [`kerberos::MAX_RECORD_LEN`] bytes. A record start is plausible with a non-empty length and
/// a KDC message's application tag after the marker.
#[derive(Debug, Default, Clone, Copy)]
pub struct KrbRecordMarker;

impl RecordFormat for KrbRecordMarker {
    const HEADER_LEN: usize = kerberos::RECORD_MARKER_LEN;
    const SYNC_LEN: usize = kerberos::RECORD_MARKER_LEN + 1;

    fn body_len(&self, header: &[u8]) -> Option<usize> {
        kerberos::tcp_record_len(header)?.ok()
    }

    fn plausible_start(&self, bytes: &[u8]) -> bool {
        let Some(Ok(len)) = kerberos::tcp_record_len(bytes) else {
            return false;
        };
        len > 0
            && len <= kerberos::MAX_RECORD_LEN
            && matches!(
                bytes.get(kerberos::RECORD_MARKER_LEN),
                Some(0x6a..=0x6d | 0x7e)
            )
    }
}

/// DNS over TCP (RFC 1035 §4.2.2): a 2-byte length before each message. Any two bytes are a
/// length, so a DNS stream never loses its framing by itself.
#[derive(Debug, Default, Clone, Copy)]
pub struct DnsOverTcp;

impl RecordFormat for DnsOverTcp {
    const HEADER_LEN: usize = dns::TCP_LENGTH_PREFIX;
    const SYNC_LEN: usize = dns::TCP_LENGTH_PREFIX;

    fn body_len(&self, header: &[u8]) -> Option<usize> {
        dns::tcp_message_len(header)
    }

    fn plausible_start(&self, bytes: &[u8]) -> bool {
        dns::tcp_message_len(bytes).is_some()
    }
}

#[cfg(test)]
mod tests;
