//! Findings: what went wrong during SMB connection setup, with the evidence that shows it.
//!
//! The rules (one per file) read the per-connection setup state built by [`crate::setup`] and
//! emit [`Finding`]s. Each finding id has one entry in the [`catalog`]: its default severity,
//! phase, title, explanation and remediation, which `smbtriage explain` prints and the SARIF
//! rules reuse. Findings are precise: a failure the capture does not show is not reported, and
//! a healthy connection yields nothing above `info`.

pub mod catalog;
pub mod rules;
pub mod verdict;

use crate::capture::Timestamp;
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;

pub use catalog::{CatalogEntry, FindingId};
pub use verdict::{Stage, Stages, Verdict};

/// How much a finding matters (SPEC §7). Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Likely contributed to the failure.
    Warning,
    /// Broke setup.
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The setup phase a finding belongs to (SPEC §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Tcp,
    Negotiate,
    SessionSetup,
    Kerberos,
    TreeConnect,
    Capture,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Tcp => "tcp",
            Phase::Negotiate => "negotiate",
            Phase::SessionSetup => "session-setup",
            Phase::Kerberos => "kerberos",
            Phase::TreeConnect => "tree-connect",
            Phase::Capture => "capture",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An NTSTATUS (or SMB1 status) by code and name: `{"code":"0xc00000cc","name":"STATUS_BAD_NETWORK_NAME"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusRef {
    pub code: String,
    pub name: String,
}

impl StatusRef {
    pub fn nt(code: u32) -> Self {
        let status = crate::proto::ntstatus::NtStatus(code);
        Self {
            code: format!("0x{code:08x}"),
            name: status.to_string(),
        }
    }
}

/// A Kerberos error by number and RFC 4120 name: `{"code":7,"name":"KDC_ERR_S_PRINCIPAL_UNKNOWN"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KrbErrorRef {
    pub code: i32,
    pub name: String,
}

impl KrbErrorRef {
    pub fn new(code: i32) -> Self {
        let name = crate::proto::kerberos::KrbErrorCode(code).to_string();
        Self { code, name }
    }
}

/// One diagnosis, with its evidence (SPEC §7 and the FINDING object of §8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: FindingId,
    pub severity: Severity,
    pub phase: Phase,
    /// One line, for an administrator.
    pub message: String,
    #[serde(
        serialize_with = "opt_display",
        skip_serializing_if = "Option::is_none"
    )]
    pub client: Option<SocketAddr>,
    #[serde(
        serialize_with = "opt_display",
        skip_serializing_if = "Option::is_none"
    )]
    pub server: Option<SocketAddr>,
    /// When the failure showed (RFC 3339, microseconds).
    #[serde(
        serialize_with = "opt_display",
        skip_serializing_if = "Option::is_none"
    )]
    pub time: Option<Timestamp>,
    /// Evidence frames by role: `request`, `response`, `ack`, `reset`, `fin`, `syn`...
    pub frames: BTreeMap<&'static str, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kerberos_error: Option<KrbErrorRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Further facts that support the diagnosis, one sentence each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// The same failure seen again (a client retrying): the request and response frames of
    /// each repeat, said in this one finding instead of one finding each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub repeated: Vec<BTreeMap<&'static str, u64>>,
    /// What to do next, for an administrator.
    pub remediation: Vec<String>,
}

impl Finding {
    /// A finding of `id` with the catalog's severity, phase and remediation.
    pub fn new(id: FindingId, message: impl Into<String>) -> Self {
        let entry = id.entry();
        Self {
            id,
            severity: entry.severity,
            phase: entry.phase,
            message: message.into(),
            client: None,
            server: None,
            time: None,
            frames: BTreeMap::new(),
            status: None,
            kerberos_error: None,
            share: None,
            spn: None,
            user: None,
            evidence: Vec::new(),
            repeated: Vec::new(),
            remediation: entry.remediation.iter().map(|s| s.to_string()).collect(),
        }
    }

    pub fn frame(mut self, role: &'static str, frame: u64) -> Self {
        self.frames.insert(role, frame);
        self
    }

    /// The first evidence frame, for sorting.
    pub fn first_frame(&self) -> u64 {
        self.frames.values().copied().min().unwrap_or(0)
    }
}

fn opt_display<T: fmt::Display, S: Serializer>(v: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}
