//! Output: findings reports (table, JSON, JSONL, SARIF, JUnit) and dissection dumps.
//!
//! The report types here are what every output format renders; they carry no formatting.
//! Each format has its own module ([`table`], [`json`] for JSON and JSONL, [`sarif`],
//! [`junit`]); [`filter`] applies `--min-severity` before rendering and [`exit_code`] turns a
//! report into the process exit code of SPEC §8.

pub mod dump;
pub mod json;
pub mod junit;
pub mod records;
pub mod sarif;
pub mod table;
pub mod timeline;

use crate::findings::{Finding, Severity, Verdict};
use serde::Serialize;
use std::path::Path;

/// The tool that wrote a report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ToolInfo {
    pub name: &'static str,
    pub version: &'static str,
}

impl Default for ToolInfo {
    fn default() -> Self {
        Self {
            name: env!("CARGO_PKG_NAME"),
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// One row of a connection's setup timeline (`analyze -v`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimelineRow {
    /// Frame of the request (or of the event).
    pub frame: u64,
    /// Seconds since the connection's first packet.
    pub offset_secs: f64,
    /// What happened, e.g. `NEGOTIATE` or `TCP FIN from client`.
    pub step: String,
    /// The outcome, e.g. `STATUS_SUCCESS, dialect 3.1.1 (0.4 ms)` or `no response`.
    pub outcome: String,
}

/// One SMB connection as the report shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConnectionReport {
    pub client: String,
    pub server: String,
    pub first_frame: u64,
    pub timeline: Vec<TimelineRow>,
}

/// Everything found in one capture file.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct FileReport {
    pub path: String,
    pub packets: u64,
    /// SMB connections seen.
    pub connections: u64,
    /// SMB sessions that completed setup.
    #[serde(skip)]
    pub sessions: u64,
    /// Problems reading the file, one line each (empty when it was read to its end).
    pub errors: Vec<String>,
    pub findings: Vec<Finding>,
    /// One per SMB connection: its stage verdicts (SPEC §7, §8).
    pub verdicts: Vec<Verdict>,
    /// Per-connection timelines, for `-v`; not part of the JSON contract.
    #[serde(skip)]
    pub timelines: Vec<ConnectionReport>,
}

impl FileReport {
    /// The report of a file that could not be read at all: its path and why.
    pub fn failed(path: &Path, error: impl std::fmt::Display) -> Self {
        Self {
            path: path.display().to_string(),
            errors: vec![error.to_string()],
            ..Self::default()
        }
    }

    /// True when the file could not be read at all (not a capture, missing...), as opposed to
    /// read partially.
    pub fn unreadable(&self) -> bool {
        !self.errors.is_empty() && self.packets == 0
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// A whole run: one or more files.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct Report {
    pub tool: ToolInfo,
    pub files: Vec<FileReport>,
}

/// Drops findings below `min_severity` (`--min-severity`; the default, warning, hides info).
pub fn filter(report: &mut Report, min_severity: Severity) {
    for file in &mut report.files {
        file.findings.retain(|f| f.severity >= min_severity);
    }
}

/// The exit code of SPEC §8: 2 when a file could not be read at all (a partially read file
/// counts as read), else 1 when a finding is at or above `fail_on` (`None`: never), else 0.
pub fn exit_code(report: &Report, fail_on: Option<Severity>) -> u8 {
    if report.files.iter().any(FileReport::unreadable) {
        return 2;
    }
    let failing = fail_on.is_some_and(|threshold| {
        report
            .files
            .iter()
            .flat_map(|file| &file.findings)
            .any(|f| f.severity >= threshold)
    });
    u8::from(failing)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::findings::{FindingId, Stage, Stages, StatusRef};

    /// A report with two files: one with an error and a warning on one connection and an info
    /// finding, one clean.
    pub(crate) fn sample() -> Report {
        let client = "10.0.0.5:50123".parse().ok();
        let server = "10.0.0.9:445".parse().ok();
        let mut bad_share = Finding::new(
            FindingId::TreeConnectBadNetworkName,
            "share \\\\fs1\\missing does not exist",
        )
        .frame("request", 18)
        .frame("response", 19);
        bad_share.client = client;
        bad_share.server = server;
        bad_share.status = Some(StatusRef::nt(0xc000_00cc));
        bad_share.share = Some("\\\\fs1\\missing".into());
        let mut guest = Finding::new(FindingId::SessionSetupGuest, "guest session <&> \"quoted\"")
            .frame("response", 12);
        guest.client = client;
        guest.server = server;
        let preauth = Finding::new(FindingId::KerberosPreauthRequired, "pre-auth round trip")
            .frame("request", 3)
            .frame("response", 4);
        Report {
            tool: ToolInfo::default(),
            files: vec![
                FileReport {
                    path: "caps/bad share.pcapng".into(),
                    packets: 40,
                    connections: 1,
                    sessions: 1,
                    errors: vec![],
                    findings: vec![preauth, guest, bad_share],
                    verdicts: vec![Verdict {
                        client: "10.0.0.5:50123".parse().unwrap(),
                        server: "10.0.0.9:445".parse().unwrap(),
                        first_frame: 5,
                        stages: Stages {
                            tcp: Stage::Ok,
                            negotiate: Stage::Ok,
                            session_setup: Stage::Ok,
                            tree_connect: Stage::Failed,
                        },
                    }],
                    timelines: vec![ConnectionReport {
                        client: "10.0.0.5:50123".into(),
                        server: "10.0.0.9:445".into(),
                        first_frame: 5,
                        timeline: vec![TimelineRow {
                            frame: 18,
                            offset_secs: 0.0125,
                            step: "TREE_CONNECT \\\\fs1\\missing".into(),
                            outcome: "STATUS_BAD_NETWORK_NAME (0.3 ms)".into(),
                        }],
                    }],
                },
                FileReport {
                    path: "caps/healthy.pcap".into(),
                    packets: 100,
                    connections: 1,
                    sessions: 1,
                    ..FileReport::default()
                },
            ],
        }
    }

    /// A file that could not be read at all.
    pub(crate) fn unreadable() -> FileReport {
        FileReport {
            path: "caps/notes.txt".into(),
            errors: vec!["not a pcap or pcapng file (magic 0x6f6e2061)".into()],
            ..FileReport::default()
        }
    }

    #[test]
    fn exit_codes() {
        let mut report = sample();
        assert_eq!(exit_code(&report, Some(Severity::Error)), 1);
        assert_eq!(exit_code(&report, None), 0);
        filter(&mut report, Severity::Warning);
        assert_eq!(report.files[0].findings.len(), 2);
        report.files[0]
            .findings
            .retain(|f| f.severity < Severity::Error);
        assert_eq!(exit_code(&report, Some(Severity::Error)), 0);
        assert_eq!(exit_code(&report, Some(Severity::Warning)), 1);
        // A partially read file is not unreadable.
        report.files[1]
            .errors
            .push("truncated record at offset 4096".into());
        assert_eq!(exit_code(&report, None), 0);
        report.files.push(unreadable());
        assert_eq!(exit_code(&report, None), 2);
        assert_eq!(exit_code(&report, Some(Severity::Info)), 2);
    }

    #[test]
    fn filter_keeps_at_or_above() {
        let mut report = sample();
        filter(&mut report, Severity::Info);
        assert_eq!(report.files[0].findings.len(), 3);
        filter(&mut report, Severity::Error);
        let ids: Vec<_> = report.files[0].findings.iter().map(|f| f.id).collect();
        assert_eq!(ids, [FindingId::TreeConnectBadNetworkName]);
    }
}
