//! smbtriage: explains from a packet capture why an SMB connection failed to set up.
//!
//! Data flows one way through the layers, one module each:
//!
//! ```text
//! capture → net (link, IP, defrag) → flow (TCP/UDP reassembly) → proto (dissectors)
//!    → setup (per-connection state) → findings → report
//! ```
//!
//! Embedding it: [`analyze_file`] runs one capture through the whole pipeline and returns
//! its [`FileReport`], with the findings (each with its evidence frames, status, share and
//! remediation) and every SMB connection's stage verdicts.
//!
//! ```
//! use smbtriage::findings::{Severity, Stage};
//! use smbtriage::{analyze_file, Options};
//!
//! let capture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
//!     .join("fixtures/tree-bad-network-name.pcap");
//! let report = analyze_file(&capture, &Options::default());
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
pub mod cli;
pub mod findings;
pub mod flow;
pub mod net;
pub mod pipeline;
pub mod proto;
pub mod report;
pub mod scan;
pub mod setup;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use analyze::{analyze_file, Options};
pub use report::{FileReport, Report};
