//! `dump`: what the dissectors read, as JSON lines in frame order (SPEC §8), the records that
//! the tshark differential suite compares field by field.

use crate::capture::CaptureError;
use crate::flow::Tee;
use crate::options::Options;
use crate::pipeline;
use crate::report::dump::{ConversationLog, ConversationRecord};
use crate::setup::observations::Observation;
use crate::setup::{Analyzer, SetupOptions};
use std::io::{self, Write};
use std::path::Path;

/// Which record kinds a dump holds.
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

    fn wants(&self, record: &Observation) -> bool {
        match record {
            Observation::Smb2(_) => self.smb2,
            Observation::Kerberos(_) => self.kerberos,
            Observation::Dns(_) => self.dns,
        }
    }
}

/// The records of one capture, ready to be written.
#[derive(Debug)]
pub struct Dump {
    /// One record per TCP conversation (with `tcp`), ordered by its first frame.
    conversations: Vec<ConversationRecord>,
    /// Protocol records of the wanted kinds, in frame order.
    records: Vec<Observation>,
    /// Why the capture ended early, if it did: the records are those up to the break.
    pub read_error: Option<CaptureError>,
}

impl Dump {
    /// How many lines [`Dump::write_jsonl`] writes.
    pub fn len(&self) -> usize {
        self.conversations.len() + self.records.len()
    }

    /// True when the dump has no record at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes one JSON object per line; a conversation comes before the first protocol record
    /// of a later frame than its own first one.
    pub fn write_jsonl(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut conversations = self.conversations.iter().peekable();
        for record in &self.records {
            while let Some(c) = conversations.next_if(|c| c.first_frame <= record.frame()) {
                serde_json::to_writer(&mut *out, c)?;
                out.write_all(b"\n")?;
            }
            serde_json::to_writer(&mut *out, record)?;
            out.write_all(b"\n")?;
        }
        for c in conversations {
            serde_json::to_writer(&mut *out, c)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// Dissects the capture at `path` into the records of the kinds in `protos`. A file that
/// cannot be opened as a capture is an error; one that breaks off later is dumped up to the
/// break, with [`Dump::read_error`] saying why.
pub fn dump(path: &Path, opts: &Options, protos: DumpProtos) -> Result<Dump, CaptureError> {
    let setup = SetupOptions {
        keep_records: true,
        ..opts.setup_options()
    };
    let mut log = ConversationLog::default();
    let mut analyzer = Analyzer::new(setup);
    let summary = pipeline::run(path, &opts.flow_config(), &mut Tee(&mut log, &mut analyzer))?;
    let mut records = analyzer.finish().records;
    records.retain(|r| protos.wants(r));
    Ok(Dump {
        conversations: if protos.tcp {
            log.into_records()
        } else {
            Vec::new()
        },
        records,
        read_error: summary.read_error,
    })
}
