//! One capture in, one [`FileReport`] out: the whole pipeline (reader → net → flow → setup →
//! findings) for a single file. A file that cannot be opened as a capture yields a report
//! with an error and no findings; a file that breaks off later is analysed up to the break and
//! says so with a `capture-incomplete` finding.

use crate::capture::CaptureError;
use crate::findings::rules::{self, Context};
use crate::flow::{At, FlowConfig};
use crate::pipeline;
use crate::report::{timeline, FileReport};
use crate::setup::{Analyzer, SetupOptions};
use std::path::Path;

/// What `analyze` and `scan` take from the command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seconds a NEGOTIATE may stay unanswered at the end of the capture before it counts as
    /// timed out rather than merely unanswered.
    pub negotiate_timeout_secs: f64,
    /// Extra SMB ports (445 and 139 are always SMB).
    pub smb_ports: Vec<u16>,
    /// Extra Kerberos ports (88 always is).
    pub kerberos_ports: Vec<u16>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            negotiate_timeout_secs: 20.0,
            smb_ports: Vec::new(),
            kerberos_ports: Vec::new(),
        }
    }
}

/// Analyses one capture file.
pub fn analyze_file(path: &Path, opts: &Options) -> FileReport {
    let mut flow_cfg = FlowConfig::default();
    flow_cfg
        .server_ports
        .extend(opts.smb_ports.iter().chain(&opts.kerberos_ports));
    let mut setup_opts = SetupOptions::default();
    setup_opts.smb_ports.extend(&opts.smb_ports);
    setup_opts.kerberos_ports.extend(&opts.kerberos_ports);
    let mut analyzer = Analyzer::new(setup_opts);
    let mut report = FileReport {
        path: path.display().to_string(),
        ..FileReport::default()
    };
    let summary = match pipeline::run(path, &flow_cfg, &mut analyzer) {
        Ok(s) => s,
        Err(e) => {
            report.errors.push(e.to_string());
            return report;
        }
    };
    let analysis = analyzer.finish();
    let truncated = matches!(summary.read_error, Some(CaptureError::Truncated { .. }));
    if let Some(e) = &summary.read_error {
        report.errors.push(e.to_string());
    }
    for (linktype, frames) in &summary.net.unsupported_links {
        report.errors.push(format!(
            "{}: {frames} frame(s) of unsupported link type {linktype} were skipped",
            path.display()
        ));
    }
    let ctx = Context {
        end: summary.last.unwrap_or(At {
            frame: 0,
            ts: Default::default(),
        }),
        negotiate_timeout_ns: (opts.negotiate_timeout_secs.max(0.0) * 1e9) as i64,
        truncated,
        cut_frames: summary.cut_frames,
    };
    report.packets = summary.packets;
    report.connections = analysis.smb.len() as u64;
    report.sessions = analysis.smb.iter().map(|c| c.sessions() as u64).sum();
    report.findings = rules::run(&analysis, &ctx);
    report.timelines = analysis.smb.iter().map(timeline::connection).collect();
    report
}
