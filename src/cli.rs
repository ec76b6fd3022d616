//! What the `smbtriage` binary's commands do, so that `main.rs` only parses arguments.

use crate::flow::FlowConfig;
use crate::pipeline;
use crate::report::dump::ConversationLog;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Exit code for usage errors and unreadable input (SPEC §8).
pub const EXIT_INPUT_ERROR: u8 = 2;

/// Which record kinds `dump` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DumpProtos {
    pub tcp: bool,
    pub smb2: bool,
    pub kerberos: bool,
    pub dns: bool,
}

impl DumpProtos {
    pub const TCP: Self = Self::only(true, false, false, false);
    pub const SMB2: Self = Self::only(false, true, false, false);
    pub const KERBEROS: Self = Self::only(false, false, true, false);
    pub const DNS: Self = Self::only(false, false, false, true);
    pub const ALL: Self = Self::only(true, true, true, true);

    const fn only(tcp: bool, smb2: bool, kerberos: bool, dns: bool) -> Self {
        Self {
            tcp,
            smb2,
            kerberos,
            dns,
        }
    }
}

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
    let mut cfg = FlowConfig::default();
    cfg.server_ports
        .extend(req.smb_ports.iter().chain(&req.kerberos_ports));
    let mut log = ConversationLog::default();
    let summary = match pipeline::run(&req.file, &cfg, &mut log) {
        Ok(summary) => summary,
        Err(e) => {
            eprintln!("smbtriage: {e}");
            return EXIT_INPUT_ERROR;
        }
    };
    let written = with_output(req.output.as_deref(), |out| {
        if req.protos.tcp {
            for record in log.into_records() {
                serde_json::to_writer(&mut *out, &record)?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    });
    if let Err(e) = written {
        eprintln!("smbtriage: cannot write output: {e}");
        return EXIT_INPUT_ERROR;
    }
    if let Some(e) = summary.read_error {
        eprintln!("smbtriage: {e}");
    }
    0
}

/// Placeholder answer for commands whose layers are not built yet: says so plainly and fails.
pub fn not_yet(command: &str, _inputs: &[PathBuf]) -> u8 {
    eprintln!("smbtriage: `{command}` is not available in this build yet");
    EXIT_INPUT_ERROR
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
