//! smbtriage: explains from a packet capture why an SMB connection failed to set up.
//!
//! Data flows one way through the layers, one module each:
//!
//! ```text
//! capture → net (link, IP, defrag) → flow (TCP/UDP reassembly) → proto (dissectors)
//!    → setup (per-connection state) → findings → report
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
