//! What the binary's commands do with the library's entry points: where the output goes,
//! progress bars, colour, the messages on stderr and the exit codes. `main.rs` only turns
//! arguments into these requests.

use smbtriage::findings::{catalog, FindingId, Severity};
use smbtriage::report::table::{write_table, Detail, TableOptions};
use smbtriage::report::{self, FileReport, Report};
use smbtriage::{scan, DumpProtos, Options, ScanOptions};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Exit code for usage errors and unreadable input (SPEC §8).
pub const EXIT_INPUT_ERROR: u8 = 2;

/// `smbtriage dump`.
#[derive(Debug, Clone)]
pub struct DumpRequest {
    pub file: PathBuf,
    pub protos: DumpProtos,
    pub output: Option<PathBuf>,
    pub smb_ports: Vec<u16>,
    pub kerberos_ports: Vec<u16>,
}

/// Runs `dump`; returns the process exit code.
pub fn dump(req: &DumpRequest) -> u8 {
    let opts = Options {
        smb_ports: req.smb_ports.clone(),
        kerberos_ports: req.kerberos_ports.clone(),
        ..Options::default()
    };
    let dump = match smbtriage::dump(&req.file, &opts, req.protos) {
        Ok(dump) => dump,
        Err(e) => {
            eprintln!("smbtriage: {e}");
            return EXIT_INPUT_ERROR;
        }
    };
    if let Err(e) = with_output(req.output.as_deref(), |out| dump.write_jsonl(out)) {
        eprintln!("smbtriage: cannot write output: {e}");
        return EXIT_INPUT_ERROR;
    }
    if let Some(e) = &dump.read_error {
        eprintln!("smbtriage: {e}");
    }
    0
}

fn with_output(
    path: Option<&Path>,
    body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    match path {
        Some(p) => {
            let mut w = BufWriter::new(File::create(p)?);
            body(&mut w)?;
            w.flush()
        }
        None => {
            let stdout = io::stdout();
            let mut w = BufWriter::new(stdout.lock());
            body(&mut w)?;
            w.flush()
        }
    }
}

/// Output formats of `analyze` and `scan` (SPEC §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Sarif,
    Junit,
}

/// `smbtriage [analyze]` and `smbtriage scan`.
#[derive(Debug, Clone)]
pub struct AnalyzeRequest {
    /// Files (analyze) or files and directories (scan).
    pub inputs: Vec<PathBuf>,
    /// Walk directories, filter by globs, run in parallel.
    pub scan: bool,
    pub walk: ScanOptions,
    pub format: Format,
    pub fail_on: Option<Severity>,
    pub min_severity: Severity,
    pub options: Options,
    pub output: Option<PathBuf>,
    pub detail: Detail,
}

/// Runs `analyze` or `scan`; returns the process exit code.
pub fn analyze(req: &AnalyzeRequest) -> u8 {
    let (files, unreadable) = if req.scan {
        let found = scan::collect(&req.inputs, &req.walk.include, &req.walk.exclude);
        (found.files, found.unreadable)
    } else {
        (req.inputs.clone(), Vec::new())
    };
    let jobs = req.walk.workers();
    let files = match (files.as_slice(), byte_progress_bar(&files)) {
        ([path], Some(bar)) => vec![analyze_one_with_progress(path, &req.options, bar)],
        _ => {
            let bar = progress_bar(files.len());
            let tick = |path: &Path| {
                if let Some(bar) = &bar {
                    bar.set_message(path.display().to_string());
                    bar.inc(1);
                }
            };
            let reports = scan::run(&files, jobs, &req.options, &tick);
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            reports
        }
    };
    // What the walk could not follow is reported like a file that could not be read, in path
    // order with the rest.
    let mut report = Report {
        files: scan::with_unreadable(files, &unreadable),
        ..Report::default()
    };
    for file in &report.files {
        for e in &file.errors {
            eprintln!("smbtriage: {e}");
        }
    }
    report::filter(&mut report, req.min_severity);
    let color = req.output.is_none()
        && io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let written = with_output(req.output.as_deref(), |out| match req.format {
        Format::Table => write_table(
            &report,
            &TableOptions {
                color,
                detail: req.detail,
            },
            out,
        ),
        Format::Json => report::json::write_json(&report, out),
        Format::Jsonl => report::json::write_jsonl(&report, out),
        Format::Sarif => report::sarif::write_sarif(&report, out),
        Format::Junit => report::junit::write_junit(&report, req.fail_on, out),
    });
    if let Err(e) = written {
        eprintln!("smbtriage: cannot write the report: {e}");
        return EXIT_INPUT_ERROR;
    }
    report::exit_code(&report, req.fail_on)
}

/// A progress bar on stderr over `total` files, only for a person watching: stderr is a
/// terminal, `CI` is not set, and there is more than one file.
fn progress_bar(total: usize) -> Option<indicatif::ProgressBar> {
    if !watched(total >= 2) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    let style = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}").ok()?;
    bar.set_style(style);
    Some(bar)
}

/// Files this large get a progress bar of their own when analysed alone.
const BYTE_PROGRESS_MIN: u64 = 64 << 20;

/// A byte progress bar on stderr for one large file, under the same conditions as
/// [`progress_bar`].
fn byte_progress_bar(files: &[PathBuf]) -> Option<indicatif::ProgressBar> {
    let [path] = files else { return None };
    let size = std::fs::metadata(path).ok()?.len();
    if !watched(size >= BYTE_PROGRESS_MIN) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(size);
    let style = indicatif::ProgressStyle::with_template(
        "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {wide_msg}",
    )
    .ok()?;
    bar.set_style(style);
    bar.set_message(path.display().to_string());
    Some(bar)
}

/// True when a person is watching stderr and the work is long enough to show.
fn watched(long: bool) -> bool {
    long && io::stderr().is_terminal() && std::env::var_os("CI").is_none()
}

/// Analyses one file on this thread while another moves `bar` with the bytes read.
fn analyze_one_with_progress(
    path: &Path,
    opts: &Options,
    bar: indicatif::ProgressBar,
) -> FileReport {
    let read = Arc::new(AtomicU64::new(0));
    let done = AtomicBool::new(false);
    let report = std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                bar.set_position(read.load(Ordering::Relaxed));
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        });
        let report = smbtriage::analyze_counting(path, opts, Arc::clone(&read));
        done.store(true, Ordering::Relaxed);
        report
    });
    bar.finish_and_clear();
    report
}

/// `smbtriage explain <id>`.
pub fn explain(id: &str) -> u8 {
    match id.parse::<FindingId>() {
        Ok(id) => {
            println!("{}", catalog::explain(id));
            0
        }
        Err(e) => {
            eprintln!("smbtriage: {e}");
            EXIT_INPUT_ERROR
        }
    }
}
