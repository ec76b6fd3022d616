//! Drives one capture through the layers: reader → link/IP → flow table → a [`FlowSink`].
//!
//! Reading stops at the end of the file or at the first unreadable record; everything before
//! it is analysed, and the read problem is kept in the summary for the report.

use crate::capture::{CaptureError, CaptureReader};
use crate::flow::{At, FlowConfig, FlowSink, FlowStats, FlowTable};
use crate::net::{Decoded, NetDecoder, NetStats};
use std::path::{Path, PathBuf};

/// What reading one capture amounted to, apart from what the sink collected.
#[derive(Debug)]
pub struct CaptureSummary {
    pub path: PathBuf,
    pub packets: u64,
    /// Frames whose captured length is shorter than the packet (snaplen).
    pub cut_frames: u64,
    /// The last frame read, and its time.
    pub last: Option<At>,
    /// The problem that stopped reading early (truncation, corruption), if any.
    pub read_error: Option<CaptureError>,
    pub net: NetStats,
    pub flow: FlowStats,
}

/// Reads `path` to its end and feeds `sink`. Fails only when the file cannot be opened as a
/// capture at all; a capture that breaks off later is analysed up to the break.
pub fn run(
    path: &Path,
    flow_cfg: &FlowConfig,
    sink: &mut dyn FlowSink,
) -> Result<CaptureSummary, CaptureError> {
    let reader = CaptureReader::open(path)?;
    Ok(run_reader(reader, flow_cfg, sink))
}

/// As [`run`], over an already opened reader.
pub fn run_reader(
    mut reader: CaptureReader,
    flow_cfg: &FlowConfig,
    sink: &mut dyn FlowSink,
) -> CaptureSummary {
    let mut net = NetDecoder::new();
    let mut flows = FlowTable::new(flow_cfg.clone());
    let mut cut_frames = 0;
    let mut last = None;
    let read_error = loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                if frame.is_cut() {
                    cut_frames += 1;
                }
                let at = At {
                    frame: frame.number,
                    ts: frame.ts,
                };
                last = Some(at);
                if let Ok(Decoded::Packet(packet)) = net.decode(&frame) {
                    flows.process(&packet, at, sink);
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    flows.finish(sink);
    CaptureSummary {
        path: reader.path().to_path_buf(),
        packets: reader.frames_read(),
        cut_frames,
        last,
        read_error,
        net: net.stats,
        flow: flows.stats,
    }
}
