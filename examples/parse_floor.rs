//! The "parse floor": a bare pcap-parser loop over a capture, counting packets and bytes and
//! doing nothing else. `parse_floor FILE...`
//!
//! `smbtriage analyze` can never be faster than this; BENCHMARKS.md compares the two.
//! `FLOOR_BUFFER_KB` sets pcap-parser's buffer (default 256, as smbtriage's reader uses; the
//! floor is the same from 64 KiB to 1 MiB on the benchmark machine).

use pcap_parser::{PcapBlockOwned, PcapError};
use std::fs::File;
use std::time::Instant;

fn main() {
    for path in std::env::args().skip(1) {
        let start = Instant::now();
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(1);
            }
        };
        let buffer = std::env::var("FLOOR_BUFFER_KB")
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(256)
            * 1024;
        let mut reader = match pcap_parser::create_reader(buffer, file) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{path}: {e:?}");
                std::process::exit(1);
            }
        };
        let (mut packets, mut bytes) = (0u64, 0u64);
        loop {
            match reader.next() {
                Ok((consumed, block)) => {
                    match block {
                        PcapBlockOwned::Legacy(b) => {
                            packets += 1;
                            bytes += b.data.len() as u64;
                        }
                        PcapBlockOwned::NG(pcap_parser::Block::EnhancedPacket(b)) => {
                            packets += 1;
                            bytes += b.data.len() as u64;
                        }
                        _ => {}
                    }
                    reader.consume(consumed);
                }
                Err(PcapError::Eof) => break,
                Err(PcapError::Incomplete(_)) => {
                    if reader.refill().is_err() {
                        break;
                    }
                }
                Err(e) => {
                    eprintln!("{path}: {e:?}");
                    break;
                }
            }
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{path}: {packets} packets, {bytes} packet bytes in {secs:.3} s ({:.0} MB/s)",
            std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / secs / 1e6
        );
    }
}
