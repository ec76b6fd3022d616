//! One capture in, one [`FileReport`] out: the whole pipeline (reader → net → flow → setup →
//! findings) for a single file. A file that cannot be opened as a capture yields a report
//! with an error and no findings; a file that breaks off later is analysed up to the break and
//! says so with a `capture-incomplete` finding.

use crate::capture::Timestamp;
use crate::capture::{CaptureError, CaptureReader};
use crate::findings::rules::{self, Context, SkippedNtlm};
use crate::findings::{verdict, Finding, FindingId, Verdict};
use crate::flow::{At, ConnInfo, Dir, FlowSink, TcpEvent};
use crate::net::UdpDatagram;
use crate::options::Options;
use crate::pipeline;
use crate::report::{timeline, ConnectionReport, FileReport};
use crate::setup::{Analysis, Analyzer, SetupOptions};
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// Analyses one capture file.
pub fn analyze(path: &Path, opts: &Options) -> FileReport {
    analyze_opened(path, CaptureReader::open(path), opts)
}

/// As [`analyze`], adding the bytes read from the file to `read` as it goes (for a
/// progress bar in another thread).
pub fn analyze_counting(path: &Path, opts: &Options, read: Arc<AtomicU64>) -> FileReport {
    analyze_opened(path, CaptureReader::open_counting(path, read), opts)
}

/// A file that could not be opened as a capture is a report with that error and nothing else.
fn analyze_opened(
    path: &Path,
    opened: Result<CaptureReader, CaptureError>,
    opts: &Options,
) -> FileReport {
    match opened {
        Ok(reader) => analyze_reader(path, reader, opts),
        Err(e) => FileReport::failed(path, e),
    }
}

/// Analyses a capture already opened (`path` names it in the report).
pub fn analyze_reader(path: &Path, reader: CaptureReader, opts: &Options) -> FileReport {
    let flow_cfg = opts.flow_config();
    let mut ctx = Context {
        end: At {
            frame: 0,
            ts: Default::default(),
        },
        negotiate_timeout_ns: opts.negotiate_timeout_ns(),
        truncated: false,
        corrupt: None,
        cut_frames: 0,
    };
    let mut sink = Settling::new(opts.setup_options(), ctx.clone(), opts.timelines);
    sink.all_verdicts = opts.all_verdicts;
    let mut report = FileReport {
        path: path.display().to_string(),
        ..FileReport::default()
    };
    let summary = pipeline::run_reader(reader, &flow_cfg, &mut sink);
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
    if let Some(last) = summary.last {
        ctx.end = last;
    }
    ctx.truncated = truncated;
    ctx.corrupt = match &summary.read_error {
        Some(CaptureError::Corrupt { reason, .. }) => Some(format!("corrupt record ({reason})")),
        Some(CaptureError::Gzip { reason, .. }) => Some(format!("corrupt gzip data ({reason})")),
        Some(CaptureError::Read { source, .. }) => Some(format!("read error ({source})")),
        _ => None,
    };
    ctx.cut_frames = summary.cut_frames;
    let done = sink.finish(&ctx);
    let analysis = &done.analysis;
    report.packets = summary.packets;
    report.connections =
        (analysis.smb.len() + analysis.smb_settled.len()) as u64 + analysis.smb_pruned.connections;
    report.sessions = analysis
        .smb
        .iter()
        .map(|c| c.sessions() as u64)
        .sum::<u64>()
        + analysis
            .smb_settled
            .iter()
            .map(|c| u64::from(c.sessions))
            .sum::<u64>()
        + analysis.smb_pruned.sessions;
    report.findings = done.findings;
    report.timelines = done.timelines;
    report.verdicts = done.verdicts;
    report
}

/// The setup analyzer, with each SMB connection judged as it closes: one whose findings and
/// verdicts cannot change with the rest of the capture, failing or not, leaves them here and
/// only a summary in the analysis ([`rules::settle`]). Memory then follows open connections,
/// not the length of the capture or the number of failures. The findings are those of keeping every
/// connection whole until the end (`tests/settle.rs` holds it to that).
pub struct Settling {
    analyzer: Analyzer,
    /// The capture-wide context, but for its end, which is not known yet.
    ctx: Context,
    /// Findings of settled connections.
    findings: Vec<Finding>,
    /// Timelines of settled connections, when asked for.
    timelines: Option<Vec<ConnectionReport>>,
    /// Stage verdicts of settled connections.
    verdicts: Vec<Verdict>,
    /// Settled connections' NTLM-without-Kerberos findings, one per (client, server name).
    skipped: SkippedNtlm,
    /// Keep healthy connections' verdicts too (see [`Options::all_verdicts`]).
    pub all_verdicts: bool,
    /// Prune the settled summaries when there are this many.
    prune_at: usize,
    /// The fewest settled summaries worth a pruning pass.
    prune_min: usize,
}

/// The fewest settled summaries worth a pruning pass, by default.
const PRUNE_MIN: usize = 64;

/// What [`Settling`] ends with.
pub struct Settled {
    pub analysis: Analysis,
    /// Every finding, in report order.
    pub findings: Vec<Finding>,
    /// Every connection's timeline in order of its first packet, when asked for.
    pub timelines: Vec<ConnectionReport>,
    /// Every SMB connection's stage verdicts (and every failed connection attempt to an SMB
    /// port's), in order of its first frame.
    pub verdicts: Vec<Verdict>,
}

impl Settling {
    /// `ctx` is the capture-wide context but for its end; `opts.settle` is implied.
    pub fn new(opts: SetupOptions, ctx: Context, timelines: bool) -> Self {
        Self {
            analyzer: Analyzer::new(SetupOptions {
                settle: true,
                ..opts
            }),
            ctx,
            findings: Vec::new(),
            timelines: timelines.then(Vec::new),
            verdicts: Vec::new(),
            skipped: SkippedNtlm::default(),
            prune_at: PRUNE_MIN,
            prune_min: PRUNE_MIN,
            all_verdicts: true,
        }
    }

    /// Ends the capture (after the flow table's `finish`) and runs the whole-capture rules
    /// with its real context.
    pub fn finish(self, ctx: &Context) -> Settled {
        let analysis = self.analyzer.finish();
        let findings = rules::run_gathered(&analysis, ctx, self.findings, self.skipped);
        let timelines = match self.timelines {
            Some(mut t) => {
                t.extend(analysis.smb.iter().map(timeline::connection));
                t.sort_by_key(|t| t.first_frame);
                t
            }
            None => Vec::new(),
        };
        let mut verdicts = self.verdicts;
        let all = self.all_verdicts;
        verdicts.extend(
            analysis
                .smb
                .iter()
                .map(|c| verdict::of(c, ctx))
                .filter(|v| all || !v.stages.all_ok()),
        );
        verdicts.extend(
            analysis
                .failed_connects
                .iter()
                .filter(|a| !a.kerberos)
                .map(verdict::of_failed_connect),
        );
        verdicts.sort_by_key(|v| v.first_frame);
        Settled {
            analysis,
            findings,
            timelines,
            verdicts,
        }
    }
}

impl Settling {
    /// Runs the first pruning pass (and every pass after it, at twice the summaries left by
    /// the one before) from `n` settled summaries on, instead of [`PRUNE_MIN`]: less memory
    /// for more passes. Tests use a small `n` to reach the pruning on small captures.
    pub fn prune_from(mut self, n: usize) -> Self {
        self.prune_min = n.max(1);
        self.prune_at = self.prune_min;
        self
    }

    /// Folds into totals the settled summaries that no whole-capture rule can still read:
    /// closed more than [`rules::REACH_NS`] ago and that far from every event of the same
    /// client that such a rule relates connections to (Kerberos exchanges kept whole, refused
    /// SYNs, failed or pending NEGOTIATEs). Events still to come are later than now, so out of
    /// their reach. Memory then follows the connections of the last few minutes, not the
    /// capture's length.
    fn prune(&mut self, now: Timestamp) {
        let so_far = self.analyzer.so_far();
        // Every rule that relates connections to an event relates those of the event's client.
        let mut events: Vec<(IpAddr, Timestamp)> = so_far
            .kerberos
            .iter()
            .flat_map(|k| {
                let ip = k.client.ip();
                [
                    k.request.as_ref().map(|r| (ip, r.ts)),
                    k.reply.as_ref().map(|r| (ip, r.ts)),
                ]
            })
            .flatten()
            .chain(
                so_far
                    .failed_connects
                    .iter()
                    .map(|a| (a.client.ip(), a.syn.ts)),
            )
            .chain(
                self.findings
                    .iter()
                    .filter(|f| f.id == FindingId::NegotiateFailed)
                    .filter_map(|f| Some((f.client?.ip(), f.time?))),
            )
            .chain(self.analyzer.open_negotiate_trouble())
            .collect();
        events.sort_unstable();
        let near_event = |ip: IpAddr, from: Timestamp, to: Timestamp| {
            let i = events.partition_point(|e| *e < (ip, from));
            events.get(i).is_some_and(|e| *e <= (ip, to))
        };
        let reach = rules::REACH_NS;
        self.analyzer.prune_settled(|s| {
            now.since(s.last_ts) <= reach
                || near_event(
                    s.client.ip(),
                    Timestamp::from_nanos(s.first_ts.nanos().saturating_sub(reach)),
                    Timestamp::from_nanos(s.last_ts.nanos().saturating_add(reach)),
                )
        });
        self.prune_at = self
            .prune_min
            .max(2 * self.analyzer.so_far().smb_settled.len());
    }
}

impl FlowSink for Settling {
    fn tcp(&mut self, conn: &ConnInfo, at: At, event: TcpEvent<'_>) {
        let closing = matches!(event, TcpEvent::Closed { .. });
        self.analyzer.tcp(conn, at, event);
        if !closing {
            return;
        }
        while let Some(c) = self.analyzer.take_closed() {
            match rules::settle(&c, self.analyzer.so_far(), &self.ctx, at) {
                Some(settled) => {
                    for f in settled.findings {
                        if SkippedNtlm::gathers(&f) {
                            self.skipped.add(f);
                        } else {
                            self.findings.push(f);
                        }
                    }
                    if self.all_verdicts || !settled.verdict.stages.all_ok() {
                        self.verdicts.push(settled.verdict);
                    }
                    if let Some(t) = &mut self.timelines {
                        t.push(timeline::connection(&c));
                    }
                    self.analyzer.settle(&c);
                }
                None => self.analyzer.keep(c),
            }
        }
        if self.analyzer.so_far().smb_settled.len() >= self.prune_at {
            self.prune(at.ts);
        }
    }

    fn udp(&mut self, conn: &ConnInfo, at: At, dir: Dir, datagram: &UdpDatagram<'_>) {
        self.analyzer.udp(conn, at, dir, datagram);
    }
}
