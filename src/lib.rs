//! smbtriage: explains from a packet capture why an SMB connection failed to set up.
//!
//! Data flows one way through the layers, one module each:
//!
//! ```text
//! capture → net (link, IP, defrag) → flow (TCP/UDP reassembly) → proto (dissectors)
//!    → setup (per-connection state) → findings → report
//! ```
//!
//! Embedding it: three entry points take one [`Options`].
//! - [`analyze()`] runs one capture through the whole pipeline and returns its [`FileReport`],
//!   with the findings (each with its evidence frames, status, share and remediation) and
//!   every SMB connection's stage verdicts;
//! - [`scan()`] does so for every capture under some directories, files in parallel, reports
//!   in path order, an unreadable file a report with its error;
//! - [`dump()`] returns what the dissectors read, the JSON lines of `smbtriage dump`.
//!
//! [`report`] writes a [`Report`] of many files as a table, JSON, SARIF or JUnit, and says the
//! exit code the command would give.
//!
//! ```
//! use smbtriage::findings::{Severity, Stage};
//! use smbtriage::{analyze, Options};
//!
//! let capture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
//!     .join("fixtures/tree-bad-network-name.pcap");
//! let report = analyze(&capture, &Options::default());
//!
//! let finding = &report.findings[0];
//! assert_eq!(finding.id.as_str(), "tree-connect-bad-network-name");
//! assert_eq!(finding.severity, Severity::Error);
//! assert_eq!(finding.share.as_deref(), Some(r"\\nas1.corp.example\dta"));
//! assert_eq!(report.verdicts[0].stages.tree_connect, Stage::Failed);
//! ```
#![forbid(unsafe_code)]

pub mod analyze;
pub mod capture;
mod dump;
pub mod findings;
pub mod flow;
pub mod net;
mod options;
pub mod pipeline;
pub mod proto;
pub mod report;
pub mod scan;
pub mod setup;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use analyze::{analyze, analyze_counting, analyze_reader};
pub use dump::{dump, Dump, DumpProtos};
pub use options::{Options, ScanOptions};
pub use report::{FileReport, Report};
pub use scan::scan;

/// The README's Rust example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
