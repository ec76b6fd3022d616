//! Classic pcap and pcapng writers. Both cut frames to the interface snaplen the way capture
//! tools do (captured length short, original length full), and both can append arbitrary bytes
//! so tests can produce truncated or corrupt files.

use std::io::{self, Write};

use pcap_parser::Linktype;

use super::{Packet, Timestamp};

/// Byte order of a pcap file or pcapng section.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Endian {
    #[default]
    Little,
    Big,
}

impl Endian {
    fn u16(self, v: u16) -> [u8; 2] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }

    fn u32(self, v: u32) -> [u8; 4] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }
}

/// Timestamp resolution of a classic pcap file, which its magic number encodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TsResolution {
    #[default]
    Micro,
    Nano,
}

/// File-wide settings of a classic pcap file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PcapFormat {
    pub endian: Endian,
    pub resolution: TsResolution,
    pub snaplen: u32,
}

impl Default for PcapFormat {
    /// What tcpdump writes today on a little-endian machine.
    fn default() -> Self {
        PcapFormat {
            endian: Endian::Little,
            resolution: TsResolution::Micro,
            snaplen: 262_144,
        }
    }
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn to_u32(n: usize, what: &str) -> io::Result<u32> {
    u32::try_from(n).map_err(|_| invalid(what))
}

/// Writes a classic pcap file: header on creation, one record per packet.
pub struct PcapWriter<W: Write> {
    out: W,
    format: PcapFormat,
}

impl<W: Write> PcapWriter<W> {
    /// Little-endian, microseconds, snaplen 262144.
    pub fn new(out: W, linktype: Linktype) -> io::Result<Self> {
        Self::with_format(out, linktype, PcapFormat::default())
    }

    pub fn with_format(mut out: W, linktype: Linktype, format: PcapFormat) -> io::Result<Self> {
        let e = format.endian;
        let magic: u32 = match format.resolution {
            TsResolution::Micro => 0xa1b2_c3d4,
            TsResolution::Nano => 0xa1b2_3c4d,
        };
        // The link type field is unsigned on disk; pcap-parser keeps it as i32 so that unknown
        // values survive, and the cast round-trips every value.
        let network = linktype.0 as u32;
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&e.u32(magic));
        header.extend_from_slice(&e.u16(2));
        header.extend_from_slice(&e.u16(4));
        header.extend_from_slice(&e.u32(0)); // thiszone
        header.extend_from_slice(&e.u32(0)); // sigfigs
        header.extend_from_slice(&e.u32(format.snaplen));
        header.extend_from_slice(&e.u32(network));
        out.write_all(&header)?;
        Ok(PcapWriter { out, format })
    }

    /// Writes one record, cut to the file's snaplen as a capture tool would.
    pub fn write_packet(&mut self, ts: Timestamp, data: &[u8]) -> io::Result<()> {
        self.write_packet_cut(ts, data, self.format.snaplen as usize)
    }

    /// Writes one record holding only the first `caplen` bytes of `data`, with the original
    /// length still `data.len()`: a snaplen-cut frame.
    pub fn write_packet_cut(
        &mut self,
        ts: Timestamp,
        data: &[u8],
        caplen: usize,
    ) -> io::Result<()> {
        let e = self.format.endian;
        let captured = &data[..caplen.min(data.len())];
        let secs = u32::try_from(ts.secs()).map_err(|_| invalid("timestamp after 2106"))?;
        let frac = match self.format.resolution {
            TsResolution::Micro => ts.subsec_nanos() / 1_000,
            TsResolution::Nano => ts.subsec_nanos(),
        };
        let mut record = Vec::with_capacity(16 + captured.len());
        record.extend_from_slice(&e.u32(secs));
        record.extend_from_slice(&e.u32(frac));
        record.extend_from_slice(&e.u32(to_u32(captured.len(), "frame too long")?));
        record.extend_from_slice(&e.u32(to_u32(data.len(), "frame too long")?));
        record.extend_from_slice(captured);
        self.out.write_all(&record)
    }

    pub fn write_packets(&mut self, packets: &[Packet]) -> io::Result<()> {
        packets
            .iter()
            .try_for_each(|p| self.write_packet(p.ts, &p.bytes))
    }

    /// Appends bytes as they are, e.g. half a record to make a truncated file.
    pub fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The raw `if_tsresol` option value: `10^-n` seconds per tick, or `2^-n` when the top bit is
/// set. Kept as the raw byte so tests can also write values a reader should reject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IfTsresol(pub u8);

impl IfTsresol {
    /// The default when the option is absent.
    pub const MICRO: IfTsresol = IfTsresol(6);
    pub const NANO: IfTsresol = IfTsresol(9);

    /// `2^-exp` seconds per tick.
    pub const fn binary(exp: u8) -> IfTsresol {
        IfTsresol(0x80 | exp)
    }

    /// Ticks of this resolution in `ts`, rounded down as capture tools truncate, or `None` when
    /// they do not fit the 64-bit field.
    fn ticks(self, ts: Timestamp) -> Option<u64> {
        let per_sec: u128 = if self.0 & 0x80 != 0 {
            1u128.checked_shl(u32::from(self.0 & 0x7f))?
        } else {
            10u128.checked_pow(u32::from(self.0))?
        };
        let ticks = u128::from(ts.nanos).checked_mul(per_sec)? / 1_000_000_000;
        u64::try_from(ticks).ok()
    }
}

const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 0x0000_0001;
const SPB: u32 = 0x0000_0003;
const EPB: u32 = 0x0000_0006;
const OPT_ENDOFOPT: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;

struct Interface {
    snaplen: u32,
    tsresol: IfTsresol,
}

/// Writes a pcapng file: a section header on creation, then interfaces and packets. Several
/// sections, each with its own byte order and interfaces, are written with [`Self::new_section`].
pub struct PcapngWriter<W: Write> {
    out: W,
    endian: Endian,
    interfaces: Vec<Interface>,
}

impl<W: Write> PcapngWriter<W> {
    /// Starts a little-endian section.
    pub fn new(out: W) -> io::Result<Self> {
        Self::with_endian(out, Endian::Little)
    }

    pub fn with_endian(out: W, endian: Endian) -> io::Result<Self> {
        let mut w = PcapngWriter {
            out,
            endian,
            interfaces: Vec::new(),
        };
        w.new_section(endian)?;
        Ok(w)
    }

    /// Starts a new section; interface ids restart at 0, as in the format.
    pub fn new_section(&mut self, endian: Endian) -> io::Result<()> {
        self.endian = endian;
        self.interfaces.clear();
        let e = endian;
        let mut body = Vec::with_capacity(16);
        body.extend_from_slice(&e.u32(0x1a2b_3c4d)); // byte-order magic
        body.extend_from_slice(&e.u16(1));
        body.extend_from_slice(&e.u16(0));
        body.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown: all ones
        self.write_block(SHB, &body)
    }

    /// Adds an interface to the current section and returns its id. `if_tsresol` is written
    /// only when it is not the default (6), so readers are also exercised on the absent option.
    pub fn add_interface(
        &mut self,
        linktype: Linktype,
        snaplen: u32,
        tsresol: IfTsresol,
    ) -> io::Result<u32> {
        let e = self.endian;
        let mut body = Vec::with_capacity(20);
        body.extend_from_slice(&e.u16(linktype.0 as u16));
        body.extend_from_slice(&e.u16(0)); // reserved
        body.extend_from_slice(&e.u32(snaplen));
        if tsresol != IfTsresol::MICRO {
            body.extend_from_slice(&e.u16(OPT_IF_TSRESOL));
            body.extend_from_slice(&e.u16(1));
            body.extend_from_slice(&[tsresol.0, 0, 0, 0]); // value padded to 32 bits
            body.extend_from_slice(&e.u16(OPT_ENDOFOPT));
            body.extend_from_slice(&e.u16(0));
        }
        self.write_block(IDB, &body)?;
        self.interfaces.push(Interface { snaplen, tsresol });
        to_u32(self.interfaces.len() - 1, "too many interfaces")
    }

    /// Writes an Enhanced Packet Block, cut to the interface's snaplen.
    ///
    /// An `if_id` without an interface block is written anyway (microsecond ticks, no cut) so
    /// that readers' handling of bad ids can be tested.
    pub fn write_packet(&mut self, if_id: u32, ts: Timestamp, data: &[u8]) -> io::Result<()> {
        let snaplen = self.interface(if_id).map_or(u32::MAX, |i| i.snaplen);
        self.write_packet_cut(if_id, ts, data, snaplen as usize)
    }

    /// Writes an Enhanced Packet Block holding only the first `caplen` bytes of `data`, with
    /// the original length still `data.len()`.
    pub fn write_packet_cut(
        &mut self,
        if_id: u32,
        ts: Timestamp,
        data: &[u8],
        caplen: usize,
    ) -> io::Result<()> {
        let e = self.endian;
        let tsresol = self
            .interface(if_id)
            .map_or(IfTsresol::MICRO, |i| i.tsresol);
        let ticks = tsresol
            .ticks(ts)
            .ok_or_else(|| invalid("timestamp does not fit 64 bits at this resolution"))?;
        let captured = &data[..caplen.min(data.len())];
        let mut body = Vec::with_capacity(20 + captured.len());
        body.extend_from_slice(&e.u32(if_id));
        body.extend_from_slice(&e.u32((ticks >> 32) as u32));
        body.extend_from_slice(&e.u32(ticks as u32));
        body.extend_from_slice(&e.u32(to_u32(captured.len(), "frame too long")?));
        body.extend_from_slice(&e.u32(to_u32(data.len(), "frame too long")?));
        body.extend_from_slice(captured);
        self.write_block(EPB, &body)
    }

    pub fn write_packets(&mut self, if_id: u32, packets: &[Packet]) -> io::Result<()> {
        packets
            .iter()
            .try_for_each(|p| self.write_packet(if_id, p.ts, &p.bytes))
    }

    /// Writes a Simple Packet Block: no timestamp, implicitly interface 0, whose snaplen cuts
    /// the data (the captured length is only implied by the block length).
    pub fn write_simple_packet(&mut self, data: &[u8]) -> io::Result<()> {
        let snaplen = self.interface(0).map_or(u32::MAX, |i| i.snaplen);
        let captured = &data[..data.len().min(snaplen as usize)];
        let mut body = Vec::with_capacity(4 + captured.len());
        body.extend_from_slice(&self.endian.u32(to_u32(data.len(), "frame too long")?));
        body.extend_from_slice(captured);
        self.write_block(SPB, &body)
    }

    /// Appends bytes as they are, e.g. half a block to make a truncated file.
    pub fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn interface(&self, if_id: u32) -> Option<&Interface> {
        self.interfaces.get(if_id as usize)
    }

    /// Every block: type, total length, body padded to 32 bits, total length again.
    fn write_block(&mut self, block_type: u32, body: &[u8]) -> io::Result<()> {
        let e = self.endian;
        let padding = (4 - body.len() % 4) % 4;
        let total = to_u32(12 + body.len() + padding, "block too long")?;
        let mut block = Vec::with_capacity(total as usize);
        block.extend_from_slice(&e.u32(block_type));
        block.extend_from_slice(&e.u32(total));
        block.extend_from_slice(body);
        block.extend_from_slice(&[0u8; 3][..padding]);
        block.extend_from_slice(&e.u32(total));
        self.out.write_all(&block)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_parser::traits::PcapReaderIterator;
    use pcap_parser::{Block, LegacyPcapReader, PcapBlockOwned, PcapError, PcapNGReader};

    const T: Timestamp = Timestamp::from_nanos(1_700_000_000_123_456_789);

    /// Every block the reader yields, handed to `f` while it still borrows the reader's buffer.
    fn read_all(data: &[u8], legacy: bool, mut f: impl FnMut(PcapBlockOwned<'_>)) {
        let mut reader: Box<dyn PcapReaderIterator> = if legacy {
            Box::new(LegacyPcapReader::new(1 << 16, data).unwrap())
        } else {
            Box::new(PcapNGReader::new(1 << 16, data).unwrap())
        };
        loop {
            match reader.next() {
                Ok((offset, block)) => {
                    f(block);
                    reader.consume(offset);
                }
                Err(PcapError::Eof) => break,
                Err(PcapError::Incomplete(_)) => reader.refill().unwrap(),
                Err(e) => panic!("reader error: {e:?}"),
            }
        }
    }

    #[test]
    fn pcap_header_layout() {
        let w = PcapWriter::new(Vec::new(), Linktype::ETHERNET).unwrap();
        assert_eq!(
            w.into_inner(),
            [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0]
        );
        let format = PcapFormat {
            endian: Endian::Big,
            resolution: TsResolution::Nano,
            snaplen: 1500,
        };
        let w = PcapWriter::with_format(Vec::new(), Linktype::LINUX_SLL2, format).unwrap();
        assert_eq!(
            w.into_inner(),
            [
                0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05, 0xdc, 0, 0,
                0x01, 0x14
            ]
        );
    }

    #[test]
    fn pcap_round_trip_in_every_format() {
        let frame: Vec<u8> = (0..100).collect();
        for endian in [Endian::Little, Endian::Big] {
            for resolution in [TsResolution::Micro, TsResolution::Nano] {
                let format = PcapFormat {
                    endian,
                    resolution,
                    snaplen: 64,
                };
                let mut w = PcapWriter::with_format(Vec::new(), Linktype::RAW, format).unwrap();
                w.write_packet(T, &frame).unwrap();
                w.write_packet_cut(T, &frame, 10).unwrap();
                w.write_packet(T, &frame[..5]).unwrap();
                let file = w.into_inner();

                let mut records = Vec::new();
                read_all(&file, true, |block| match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        assert_eq!(h.network, Linktype::RAW);
                        assert_eq!(
                            h.is_nanosecond_precision(),
                            resolution == TsResolution::Nano
                        );
                        assert_eq!(h.is_bigendian(), endian == Endian::Big);
                    }
                    PcapBlockOwned::Legacy(b) => {
                        records.push((b.ts_sec, b.ts_usec, b.caplen, b.origlen, b.data.to_vec()))
                    }
                    PcapBlockOwned::NG(_) => panic!("pcapng block in a pcap file"),
                });
                let frac = match resolution {
                    TsResolution::Micro => 123_456,
                    TsResolution::Nano => 123_456_789,
                };
                let expect = |cap: usize, orig: u32| {
                    (1_700_000_000, frac, cap as u32, orig, frame[..cap].to_vec())
                };
                assert_eq!(records, [expect(64, 100), expect(10, 100), expect(5, 5)]);
            }
        }
    }

    /// Walks the blocks of a little-endian pcapng file without a parser: every length is a
    /// multiple of 4 and repeated at the block's end.
    fn block_lengths(file: &[u8]) -> Vec<(u32, u32)> {
        let mut at = 0;
        let mut blocks = Vec::new();
        while at < file.len() {
            let word = |i: usize| u32::from_le_bytes(file[i..i + 4].try_into().unwrap());
            let (kind, len) = (word(at), word(at + 4));
            assert_eq!(len % 4, 0, "block at {at} has length {len}");
            assert_eq!(word(at + len as usize - 4), len, "trailing length at {at}");
            blocks.push((kind, len));
            at += len as usize;
        }
        assert_eq!(at, file.len());
        blocks
    }

    #[test]
    fn pcapng_blocks_are_padded_to_32_bits() {
        let mut w = PcapngWriter::new(Vec::new()).unwrap();
        w.add_interface(Linktype::ETHERNET, 65_535, IfTsresol::MICRO)
            .unwrap();
        w.add_interface(Linktype::RAW, 65_535, IfTsresol::NANO)
            .unwrap();
        for n in 1..=4 {
            w.write_packet(1, T, &vec![0xaa; n]).unwrap();
            w.write_simple_packet(&vec![0xbb; n]).unwrap();
        }
        let blocks = block_lengths(&w.into_inner());
        let lengths: Vec<u32> = blocks.iter().map(|b| b.1).collect();
        // SHB 28; IDB 20, and 32 with if_tsresol; EPB 32 + data, SPB 16 + data, padded.
        assert_eq!(lengths, [28, 20, 32, 36, 20, 36, 20, 36, 20, 36, 20]);
        assert_eq!(blocks[0].0, SHB);
        assert_eq!(blocks[3].0, EPB);
        assert_eq!(blocks[4].0, SPB);
    }

    #[derive(Debug, PartialEq)]
    enum Seen {
        Section {
            big_endian: bool,
        },
        Interface {
            linktype: Linktype,
            snaplen: u32,
            resolution: u64,
        },
        Packet {
            if_id: u32,
            ts: (u32, u32),
            caplen: u32,
            origlen: u32,
            data: Vec<u8>,
        },
        Simple {
            origlen: u32,
            data: Vec<u8>,
        },
    }

    #[test]
    fn pcapng_round_trip_with_sections_and_interfaces() {
        let eth: Vec<u8> = (0..80).collect();
        let sll2: Vec<u8> = (100..200).collect();
        let mut w = PcapngWriter::new(Vec::new()).unwrap();
        let a = w
            .add_interface(Linktype::ETHERNET, 65_535, IfTsresol::MICRO)
            .unwrap();
        let b = w
            .add_interface(Linktype::LINUX_SLL2, 60, IfTsresol::NANO)
            .unwrap();
        w.write_packet(a, T, &eth).unwrap();
        w.write_packet(b, T, &sll2).unwrap();
        w.write_packet_cut(a, T, &eth, 7).unwrap();
        w.write_simple_packet(&eth[..3]).unwrap();
        w.new_section(Endian::Big).unwrap();
        let c = w
            .add_interface(Linktype::RAW, 1000, IfTsresol::binary(20))
            .unwrap();
        w.write_packet(c, Timestamp::from_secs(3), &eth[..9])
            .unwrap();
        let file = w.into_inner();

        let mut seen = Vec::new();
        let mut resolutions = Vec::new();
        read_all(&file, false, |block| {
            let PcapBlockOwned::NG(block) = block else {
                panic!("legacy block in a pcapng file")
            };
            seen.push(match block {
                Block::SectionHeader(shb) => {
                    resolutions.clear();
                    Seen::Section {
                        big_endian: shb.big_endian(),
                    }
                }
                Block::InterfaceDescription(idb) => {
                    // pcap-parser 0.17's ts_resolution() rejects binary resolutions (it checks
                    // the flag bit against its exponent limit), so decode the option here.
                    let resolution = match idb.if_tsresol {
                        r if r & 0x80 != 0 => 1u64 << (r & 0x7f),
                        r => 10u64.pow(u32::from(r)),
                    };
                    resolutions.push(resolution);
                    Seen::Interface {
                        linktype: idb.linktype,
                        snaplen: idb.snaplen,
                        resolution,
                    }
                }
                Block::EnhancedPacket(epb) => Seen::Packet {
                    if_id: epb.if_id,
                    ts: epb.decode_ts(0, resolutions[epb.if_id as usize]),
                    caplen: epb.caplen,
                    origlen: epb.origlen,
                    data: epb.data[..epb.caplen as usize].to_vec(),
                },
                Block::SimplePacket(spb) => Seen::Simple {
                    origlen: spb.origlen,
                    data: spb.data[..3].to_vec(),
                },
                other => panic!("unexpected block {other:?}"),
            });
        });
        let secs = 1_700_000_000;
        assert_eq!(
            seen,
            [
                Seen::Section { big_endian: false },
                Seen::Interface {
                    linktype: Linktype::ETHERNET,
                    snaplen: 65_535,
                    resolution: 1_000_000
                },
                Seen::Interface {
                    linktype: Linktype::LINUX_SLL2,
                    snaplen: 60,
                    resolution: 1_000_000_000
                },
                Seen::Packet {
                    if_id: 0,
                    ts: (secs, 123_456),
                    caplen: 80,
                    origlen: 80,
                    data: eth.clone()
                },
                Seen::Packet {
                    if_id: 1,
                    ts: (secs, 123_456_789),
                    caplen: 60,
                    origlen: 100,
                    data: sll2[..60].to_vec()
                },
                Seen::Packet {
                    if_id: 0,
                    ts: (secs, 123_456),
                    caplen: 7,
                    origlen: 80,
                    data: eth[..7].to_vec()
                },
                Seen::Simple {
                    origlen: 3,
                    data: eth[..3].to_vec()
                },
                Seen::Section { big_endian: true },
                Seen::Interface {
                    linktype: Linktype::RAW,
                    snaplen: 1000,
                    resolution: 1 << 20
                },
                Seen::Packet {
                    if_id: 0,
                    ts: (3, 0),
                    caplen: 9,
                    origlen: 9,
                    data: eth[..9].to_vec()
                },
            ]
        );
    }
}
