//! The `smbtriage` command: turns arguments into a library call.

mod cli;

use clap::{Args, Parser, Subcommand, ValueEnum};
use cli::Format;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "smbtriage",
    version,
    about = "Explains from a packet capture why an SMB file-share connection failed to set up",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    analyze: AnalyzeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse one or more captures (the default command)
    Analyze(AnalyzeArgs),
    /// Analyse every capture under the given directories
    Scan(ScanArgs),
    /// Print dissection records as JSON lines, in frame order
    Dump(DumpArgs),
    /// Print the full explanation and remediation of a finding id
    Explain {
        /// A finding id, e.g. negotiate-timeout
        id: String,
    },
}

#[derive(Args, Clone)]
struct CommonArgs {
    /// Output format (table on a terminal)
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Exit 1 when a finding at or above this severity is reported
    #[arg(long, value_enum, default_value = "error")]
    fail_on: FailOn,
    /// Report findings at or above this severity
    #[arg(long, value_enum, default_value = "warning")]
    min_severity: Severity,
    /// Seconds of silence after a NEGOTIATE that count as a timeout when the capture ends
    #[arg(long, default_value_t = 20.0)]
    negotiate_timeout: f64,
    /// Also treat this TCP port as SMB (repeatable)
    #[arg(long = "smb-port")]
    smb_ports: Vec<u16>,
    /// Also treat this port as Kerberos (repeatable)
    #[arg(long = "kerberos-port")]
    kerberos_ports: Vec<u16>,
    /// Write the report to this file instead of standard output
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Show each connection's setup timeline
    #[arg(short, long)]
    verbose: bool,
    /// Print the summary only
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Args, Clone)]
struct AnalyzeArgs {
    /// Capture files (pcap, pcapng, optionally .gz)
    files: Vec<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args)]
struct ScanArgs {
    /// Directories or files to scan
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Files analysed at once (default: all cores)
    #[arg(long)]
    jobs: Option<usize>,
    /// Only files matching this glob (repeatable)
    #[arg(long)]
    include: Vec<String>,
    /// Skip files matching this glob (repeatable)
    #[arg(long)]
    exclude: Vec<String>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args)]
struct DumpArgs {
    file: PathBuf,
    #[arg(long, value_enum, default_value = "all")]
    proto: DumpProto,
    /// Write the records to this file instead of standard output
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Also treat this TCP port as SMB (repeatable)
    #[arg(long = "smb-port")]
    smb_ports: Vec<u16>,
    /// Also treat this port as Kerberos (repeatable)
    #[arg(long = "kerberos-port")]
    kerberos_ports: Vec<u16>,
}

#[derive(ValueEnum, Clone, Copy)]
enum FailOn {
    Error,
    Warning,
    Info,
    Never,
}

#[derive(ValueEnum, Clone, Copy)]
enum Severity {
    Info,
    Warning,
    Error,
}

#[derive(ValueEnum, Clone, Copy)]
enum DumpProto {
    Tcp,
    Smb2,
    Kerberos,
    Dns,
    All,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Some(Command::Dump(args)) => cli::dump(&cli::DumpRequest {
            file: args.file,
            protos: match args.proto {
                DumpProto::Tcp => smbtriage::DumpProtos::TCP,
                DumpProto::Smb2 => smbtriage::DumpProtos::SMB2,
                DumpProto::Kerberos => smbtriage::DumpProtos::KERBEROS,
                DumpProto::Dns => smbtriage::DumpProtos::DNS,
                DumpProto::All => smbtriage::DumpProtos::ALL,
            },
            output: args.output,
            smb_ports: args.smb_ports,
            kerberos_ports: args.kerberos_ports,
        }),
        Some(Command::Analyze(args)) => analyze(args),
        None => analyze(cli.analyze),
        Some(Command::Scan(args)) => {
            let mut req = request(args.paths, args.common);
            req.scan = true;
            req.walk = smbtriage::ScanOptions {
                jobs: args.jobs,
                include: args.include,
                exclude: args.exclude,
            };
            cli::analyze(&req)
        }
        Some(Command::Explain { id }) => cli::explain(&id),
    };
    ExitCode::from(code)
}

fn analyze(args: AnalyzeArgs) -> u8 {
    if args.files.is_empty() {
        eprintln!("smbtriage: no capture given; try `smbtriage --help`");
        return cli::EXIT_INPUT_ERROR;
    }
    cli::analyze(&request(args.files, args.common))
}

fn request(inputs: Vec<PathBuf>, c: CommonArgs) -> cli::AnalyzeRequest {
    let severity = |s: Severity| match s {
        Severity::Info => smbtriage::findings::Severity::Info,
        Severity::Warning => smbtriage::findings::Severity::Warning,
        Severity::Error => smbtriage::findings::Severity::Error,
    };
    cli::AnalyzeRequest {
        inputs,
        scan: false,
        walk: smbtriage::ScanOptions::default(),
        format: c.format.unwrap_or(Format::Table),
        fail_on: match c.fail_on {
            FailOn::Error => Some(severity(Severity::Error)),
            FailOn::Warning => Some(severity(Severity::Warning)),
            FailOn::Info => Some(severity(Severity::Info)),
            FailOn::Never => None,
        },
        min_severity: severity(c.min_severity),
        options: smbtriage::Options {
            negotiate_timeout_secs: c.negotiate_timeout,
            smb_ports: c.smb_ports,
            kerberos_ports: c.kerberos_ports,
            timelines: c.verbose,
            // The JSON document lists every connection's verdicts; the table shows them for
            // failing connections, or for all with -v; the other formats carry none.
            all_verdicts: c.verbose || matches!(c.format, Some(Format::Json)),
        },
        output: c.output,
        detail: if c.quiet {
            smbtriage::report::table::Detail::Quiet
        } else if c.verbose {
            smbtriage::report::table::Detail::Verbose
        } else {
            smbtriage::report::table::Detail::Normal
        },
    }
}
