//! Capture files in, numbered frames out.
//!
//! Reads classic pcap (either byte order, micro- or nanosecond timestamps) and pcapng (several
//! sections, several interfaces with their own link types and `if_tsresol`), optionally
//! gzip-compressed, through `pcap-parser`'s streaming readers. The file is never held in memory
//! whole: one buffer, grown only as far as the largest record needs and at most
//! [`MAX_RECORD_BUFFER`].
//!
//! Frames are numbered from 1 in file order, counting packet records only (EPB, SPB and legacy
//! records), which is how Wireshark numbers them. A file that ends inside a record yields every
//! complete frame and then [`CaptureError::Truncated`]; after any error the reader yields nothing
//! more.

mod reader;
mod time;

pub use reader::{CaptureFormat, CaptureReader, Frame, MAX_RECORD_BUFFER};
pub use time::Timestamp;

use std::path::PathBuf;

/// Link-layer type of a frame, as numbered by tcpdump.org's LINKTYPE_ registry.
pub use pcap_parser::Linktype;

/// Why a capture could not be read, or could not be read to its end.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: cannot open: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the file is empty")]
    Empty { path: PathBuf },
    #[error("{path}: not a pcap or pcapng capture (first bytes: {magic})")]
    NotACapture { path: PathBuf, magic: String },
    #[error("{path}: gzip data is corrupt: {reason}")]
    Gzip { path: PathBuf, reason: String },
    #[error("{path}: read error: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: file ends inside a record after frame {last_frame} (truncated capture)")]
    Truncated { path: PathBuf, last_frame: u64 },
    #[error("{path}: corrupt record after frame {last_frame}: {reason}")]
    Corrupt {
        path: PathBuf,
        last_frame: u64,
        reason: String,
    },
}

impl CaptureError {
    /// True when frames before the problem were delivered and are worth analysing.
    pub fn is_partial_read(&self) -> bool {
        matches!(self, Self::Truncated { .. } | Self::Corrupt { .. })
    }
}
