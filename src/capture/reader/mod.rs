//! The streaming reader over `pcap-parser`.

use super::{CaptureError, Linktype, Timestamp};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::{PcapNGPacketBlock, PcapReaderIterator};
use pcap_parser::{PcapBlockOwned, PcapError};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Initial size of the read buffer; it grows for larger records.
const INITIAL_BUFFER: usize = 256 * 1024;
/// No single record may need more buffer than this; a larger one is reported as corrupt rather
/// than allocated (a hostile record header can claim 4 GiB).
pub const MAX_RECORD_BUFFER: usize = 16 * 1024 * 1024;

const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
];
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// pcapng's obsolete Packet Block, which pcap-parser leaves as an unknown block.
const OPB_TYPE: u32 = 2;

/// Which container the frames came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    Pcap,
    PcapNg,
}

/// One packet record.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// 1-based position among the file's packet records, as Wireshark numbers frames.
    pub number: u64,
    pub ts: Timestamp,
    pub linktype: Linktype,
    /// The captured bytes (possibly fewer than `orig_len` when the snaplen cut the packet).
    pub data: &'a [u8],
    /// The packet's length on the wire.
    pub orig_len: u32,
}

impl Frame<'_> {
    /// True when the capture kept fewer bytes than the packet had.
    pub fn is_cut(&self) -> bool {
        (self.data.len() as u64) < u64::from(self.orig_len)
    }
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: Linktype,
    units_per_sec: u64,
    offset_secs: i64,
}

/// Where a packet's bytes sit in the reader's buffer, found while the block was borrowed.
struct PacketAt {
    start: usize,
    len: usize,
    ts: Timestamp,
    linktype: Linktype,
    orig_len: u32,
}

enum Step {
    Packet { consumed: usize, at: PacketAt },
    Skip { consumed: usize },
    Eof,
    Refill,
    Grow,
    Truncated,
    Corrupt(String),
}

/// Streams the frames of one capture file.
pub struct CaptureReader {
    path: PathBuf,
    inner: Box<dyn PcapReaderIterator + Send>,
    format: CaptureFormat,
    compressed: bool,
    legacy: Option<Interface>,
    interfaces: Vec<Interface>,
    frames: u64,
    pending_consume: usize,
    buffer_size: usize,
    done: bool,
    io_error: Arc<Mutex<Option<io::Error>>>,
}

impl std::fmt::Debug for CaptureReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

fn open_file(path: &Path) -> Result<File, CaptureError> {
    File::open(path).map_err(|source| CaptureError::Open {
        path: path.to_path_buf(),
        source,
    })
}

/// A reader that counts what passes through it.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl CaptureReader {
    /// Opens a capture; gzip-compressed files are recognised by their magic bytes.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        Self::from_reader(path, open_file(path)?)
    }

    /// As [`open`](Self::open), adding every byte read from the file (compressed bytes, for a
    /// gzip file) to `read`, for a progress bar watching from another thread.
    pub fn open_counting(path: &Path, read: Arc<AtomicU64>) -> Result<Self, CaptureError> {
        let inner = open_file(path)?;
        Self::from_reader(path, Counting { inner, read })
    }

    /// Reads a capture from any byte source; `path` names it in errors.
    pub fn from_reader<R: Read + Send + 'static>(
        path: &Path,
        source: R,
    ) -> Result<Self, CaptureError> {
        let path = path.to_path_buf();
        let mut buffered = BufReader::with_capacity(64 * 1024, source);
        let head = buffered.fill_buf().map_err(|source| CaptureError::Read {
            path: path.clone(),
            source,
        })?;
        if head.is_empty() {
            return Err(CaptureError::Empty { path });
        }
        let compressed = head.starts_with(&GZIP_MAGIC);
        let io_error = Arc::new(Mutex::new(None));
        let mut stream: Box<dyn Read + Send> = if compressed {
            Box::new(flate2::read::MultiGzDecoder::new(buffered))
        } else {
            Box::new(buffered)
        };
        let mut magic = [0u8; 4];
        let got = read_up_to(&mut stream, &mut magic)
            .map_err(|e| gzip_or_read_error(path.clone(), e, compressed))?;
        let magic = &magic[..got];
        let format = if magic == PCAPNG_MAGIC {
            CaptureFormat::PcapNg
        } else if PCAP_MAGICS.iter().any(|m| m.as_slice() == magic) {
            CaptureFormat::Pcap
        } else if magic.is_empty() {
            return Err(CaptureError::Empty { path });
        } else {
            return Err(CaptureError::NotACapture {
                path,
                magic: hex(magic),
            });
        };
        let prefixed = FullReader {
            inner: Box::new(io::Cursor::new(magic.to_vec()).chain(stream)),
            error: Arc::clone(&io_error),
        };
        let inner = pcap_parser::create_reader(INITIAL_BUFFER, prefixed).map_err(|e| match e {
            PcapError::Incomplete(_) | PcapError::Eof | PcapError::UnexpectedEof => {
                CaptureError::Truncated {
                    path: path.clone(),
                    last_frame: 0,
                }
            }
            other => CaptureError::Corrupt {
                path: path.clone(),
                last_frame: 0,
                reason: format!("bad file header ({other:?})"),
            },
        })?;
        Ok(Self {
            path,
            inner,
            format,
            compressed,
            legacy: None,
            interfaces: Vec::new(),
            frames: 0,
            pending_consume: 0,
            buffer_size: INITIAL_BUFFER,
            done: false,
            io_error,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// Frames delivered so far.
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// The next frame, `Ok(None)` at the end of the file. An error ends the stream: frames
    /// before it were complete and valid.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        if self.pending_consume > 0 {
            self.inner.consume(self.pending_consume);
            self.pending_consume = 0;
        }
        loop {
            match self.step() {
                Step::Packet { consumed, at } => {
                    self.pending_consume = consumed;
                    self.frames += 1;
                    let number = self.frames;
                    let end = at.start.saturating_add(at.len);
                    if end > self.inner.data().len() {
                        return Err(self.fail_corrupt("packet data outside its block".into()));
                    }
                    let data = &self.inner.data()[at.start..end];
                    return Ok(Some(Frame {
                        number,
                        ts: at.ts,
                        linktype: at.linktype,
                        data,
                        orig_len: at.orig_len,
                    }));
                }
                Step::Skip { consumed } => self.inner.consume(consumed),
                Step::Eof => {
                    self.done = true;
                    return match take_error(&self.io_error) {
                        Some(e) => Err(self.end_error(e)),
                        None => Ok(None),
                    };
                }
                Step::Refill => {
                    if self.inner.refill().is_err() {
                        self.done = true;
                        let e = take_error(&self.io_error)
                            .unwrap_or_else(|| io::Error::other("read failed"));
                        return Err(gzip_or_read_error(self.path.clone(), e, self.compressed));
                    }
                }
                Step::Grow => {
                    let wanted = self.buffer_size.saturating_mul(2);
                    if wanted > MAX_RECORD_BUFFER || !self.inner.grow(wanted) {
                        return Err(self.fail_corrupt(format!(
                            "a record is larger than {} MiB",
                            MAX_RECORD_BUFFER / (1024 * 1024)
                        )));
                    }
                    self.buffer_size = wanted;
                }
                Step::Truncated => {
                    self.done = true;
                    if let Some(e) = take_error(&self.io_error) {
                        return Err(self.end_error(e));
                    }
                    return Err(CaptureError::Truncated {
                        path: self.path.clone(),
                        last_frame: self.frames,
                    });
                }
                Step::Corrupt(reason) => return Err(self.fail_corrupt(reason)),
            }
        }
    }

    /// The error that ended the data: a compressed stream that breaks off is a truncated
    /// capture like a file cut inside a record, whatever record boundary it happens to hit.
    fn end_error(&self, e: io::Error) -> CaptureError {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            CaptureError::Truncated {
                path: self.path.clone(),
                last_frame: self.frames,
            }
        } else {
            gzip_or_read_error(self.path.clone(), e, self.compressed)
        }
    }

    fn fail_corrupt(&mut self, reason: String) -> CaptureError {
        self.done = true;
        CaptureError::Corrupt {
            path: self.path.clone(),
            last_frame: self.frames,
            reason,
        }
    }

    /// Parses one block and says what to do with it, without keeping a borrow of the buffer.
    fn step(&mut self) -> Step {
        if self.format == CaptureFormat::PcapNg {
            if let Some(len) = short_process_information_block(self.inner.data()) {
                return Step::Corrupt(format!(
                    "process information block of {len} bytes (at least 12)"
                ));
            }
        }
        let base = self.inner.data().as_ptr() as usize;
        let block = match self.inner.next() {
            Ok(ok) => ok,
            Err(PcapError::Eof) => return Step::Eof,
            Err(PcapError::Incomplete(_)) => return Step::Refill,
            Err(PcapError::UnexpectedEof) => return Step::Truncated,
            Err(PcapError::BufferTooSmall) => return Step::Grow,
            Err(PcapError::ReadError) => return Step::Refill,
            Err(e) => return Step::Corrupt(format!("{e:?}").chars().take(120).collect()),
        };
        let (consumed, block) = block;
        let offset_of = |data: &[u8]| (data.as_ptr() as usize).saturating_sub(base);
        match block {
            PcapBlockOwned::LegacyHeader(header) => {
                let units_per_sec = if header.is_nanosecond_precision() {
                    1_000_000_000
                } else {
                    1_000_000
                };
                self.legacy = Some(Interface {
                    linktype: header.network,
                    units_per_sec,
                    offset_secs: 0,
                });
                Step::Skip { consumed }
            }
            PcapBlockOwned::Legacy(record) => {
                let Some(iface) = self.legacy else {
                    return Step::Corrupt("packet record before the file header".into());
                };
                let data = record.data;
                let len = data.len().min(record.caplen as usize);
                Step::Packet {
                    consumed,
                    at: PacketAt {
                        start: offset_of(data),
                        len,
                        ts: Timestamp::from_parts(
                            i64::from(record.ts_sec),
                            u64::from(record.ts_usec),
                            iface.units_per_sec,
                        ),
                        linktype: iface.linktype,
                        orig_len: record.origlen,
                    },
                }
            }
            PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                self.interfaces.clear();
                Step::Skip { consumed }
            }
            PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                self.interfaces.push(Interface {
                    linktype: idb.linktype,
                    units_per_sec: ts_units_per_sec(idb.if_tsresol).unwrap_or(1_000_000),
                    offset_secs: idb.ts_offset(),
                });
                Step::Skip { consumed }
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                let Some(iface) = self.interfaces.get(epb.if_id as usize).copied() else {
                    return Step::Corrupt(format!("packet on undeclared interface {}", epb.if_id));
                };
                let data = epb.packet_data();
                let count = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                Step::Packet {
                    consumed,
                    at: PacketAt {
                        start: offset_of(data),
                        len: data.len(),
                        ts: Timestamp::from_units(count, iface.units_per_sec, iface.offset_secs),
                        linktype: iface.linktype,
                        orig_len: epb.origlen,
                    },
                }
            }
            PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                let Some(iface) = self.interfaces.first().copied() else {
                    return Step::Corrupt("simple packet block before any interface".into());
                };
                let data = spb.packet_data();
                Step::Packet {
                    consumed,
                    at: PacketAt {
                        start: offset_of(data),
                        len: data.len(),
                        ts: Timestamp::default(),
                        linktype: iface.linktype,
                        orig_len: spb.origlen,
                    },
                }
            }
            PcapBlockOwned::NG(Block::Unknown(unknown)) if unknown.block_type == OPB_TYPE => {
                match obsolete_packet(unknown.data, &self.interfaces) {
                    Some(p) => Step::Packet {
                        consumed,
                        at: PacketAt {
                            start: offset_of(unknown.data) + p.start,
                            len: p.len,
                            ts: p.ts,
                            linktype: p.linktype,
                            orig_len: p.orig_len,
                        },
                    },
                    None => Step::Corrupt("malformed obsolete packet block".into()),
                }
            }
            PcapBlockOwned::NG(_) => Step::Skip { consumed },
        }
    }
}

/// The length of a pcapng Process Information Block (type 0x80000001, either byte order)
/// shorter than the 12 bytes of any block's frame. pcap-parser 0.17 subtracts 12 from it
/// before checking it (an overflow panic when built with overflow checks), so the reader
/// rejects it first.
fn short_process_information_block(data: &[u8]) -> Option<u32> {
    const PIB_TYPE: u32 = 0x8000_0001;
    let ty: [u8; 4] = data.get(..4)?.try_into().ok()?;
    let len: [u8; 4] = data.get(4..8)?.try_into().ok()?;
    [
        (u32::from_le_bytes(ty), u32::from_le_bytes(len)),
        (u32::from_be_bytes(ty), u32::from_be_bytes(len)),
    ]
    .into_iter()
    .find(|&(t, l)| t == PIB_TYPE && l < 12)
    .map(|(_, l)| l)
}

/// `if_tsresol`: 10^n units per second, or 2^n when the top bit is set. (pcap-parser 0.17's own
/// helper rejects every power-of-two resolution.)
fn ts_units_per_sec(raw: u8) -> Option<u64> {
    let exp = u32::from(raw & 0x7f);
    if raw & 0x80 == 0 {
        10u64.checked_pow(exp)
    } else {
        1u64.checked_shl(exp).filter(|_| exp < 64)
    }
}

/// A packet found inside an obsolete Packet Block.
struct ObsoletePacket {
    start: usize,
    len: usize,
    ts: Timestamp,
    linktype: Linktype,
    orig_len: u32,
}

/// Decodes the body of a pcapng Packet Block (type 2, little-endian sections only):
/// interface id (u16), drops (u16), timestamp (2×u32), caplen, origlen, data.
fn obsolete_packet(body: &[u8], interfaces: &[Interface]) -> Option<ObsoletePacket> {
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(body.get(at..at + 4)?.try_into().ok()?))
    };
    let if_id = u16::from_le_bytes(body.get(0..2)?.try_into().ok()?);
    let iface = interfaces.get(usize::from(if_id))?;
    let count = (u64::from(u32_at(4)?) << 32) | u64::from(u32_at(8)?);
    let caplen = u32_at(12)? as usize;
    let orig_len = u32_at(16)?;
    let available = body.len().checked_sub(20)?;
    Some(ObsoletePacket {
        start: 20,
        len: caplen.min(available),
        ts: Timestamp::from_units(count, iface.units_per_sec, iface.offset_secs),
        linktype: iface.linktype,
        orig_len,
    })
}

/// Reads until `buf` is full or the source ends; pcap-parser expects full reads, which a gzip
/// decoder does not promise. The first I/O error is kept for the error report and ends the
/// stream, except a gzip stream that ends early, which is a truncated capture like any other.
struct FullReader {
    inner: Box<dyn Read + Send>,
    error: Arc<Mutex<Option<io::Error>>>,
}

impl Read for FullReader {
    /// Fills `buf` as far as the source goes. A source error — including a gzip stream that
    /// breaks off (`UnexpectedEof`), which must not pass for a clean end — is kept for the
    /// reader to report, and reads as the end of the data.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if let Ok(mut slot) = self.error.lock() {
                        slot.get_or_insert(e);
                    }
                    break;
                }
            }
        }
        Ok(filled)
    }
}

fn read_up_to(source: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn take_error(slot: &Arc<Mutex<Option<io::Error>>>) -> Option<io::Error> {
    slot.lock().ok().and_then(|mut s| s.take())
}

fn gzip_or_read_error(path: PathBuf, e: io::Error, compressed: bool) -> CaptureError {
    if compressed {
        CaptureError::Gzip {
            path,
            reason: e.to_string(),
        }
    } else {
        CaptureError::Read { path, source: e }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests;
