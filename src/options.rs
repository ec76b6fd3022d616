//! The one set of options every entry point takes ([`crate::analyze()`], [`crate::scan()`],
//! [`crate::dump()`]), and the configurations of the layers derived from it, so that a port
//! or a threshold is said once and reaches the flow table and the setup analyzer alike.

use crate::flow::FlowConfig;
use crate::setup::SetupOptions;

/// How a capture is read and judged.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seconds a NEGOTIATE may stay unanswered at the end of the capture before it counts as
    /// timed out rather than merely unanswered.
    pub negotiate_timeout_secs: f64,
    /// Extra SMB ports (445 and 139 are always SMB).
    pub smb_ports: Vec<u16>,
    /// Extra Kerberos ports (88 always is).
    pub kerberos_ports: Vec<u16>,
    /// Build every connection's setup timeline (`-v`): healthy connections then stay in
    /// memory as timelines until the report.
    pub timelines: bool,
    /// Keep every SMB connection's stage verdicts. Otherwise only those with a stage that is
    /// not `ok` are kept, which is all that the table without `-v` and the formats without a
    /// `verdicts` array need, and memory does not grow with healthy connections.
    pub all_verdicts: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            negotiate_timeout_secs: 20.0,
            smb_ports: Vec::new(),
            kerberos_ports: Vec::new(),
            timelines: false,
            all_verdicts: true,
        }
    }
}

impl Options {
    /// The flow table's configuration: the extra SMB and Kerberos ports are server ports.
    pub fn flow_config(&self) -> FlowConfig {
        let mut cfg = FlowConfig::default();
        cfg.server_ports
            .extend(self.smb_ports.iter().chain(&self.kerberos_ports));
        cfg
    }

    /// The setup analyzer's configuration: which ports carry SMB and Kerberos.
    pub fn setup_options(&self) -> SetupOptions {
        let mut opts = SetupOptions::default();
        opts.smb_ports.extend(&self.smb_ports);
        opts.kerberos_ports.extend(&self.kerberos_ports);
        opts
    }

    /// [`Options::negotiate_timeout_secs`] in nanoseconds; a negative value counts as zero.
    pub fn negotiate_timeout_ns(&self) -> i64 {
        (self.negotiate_timeout_secs.max(0.0) * 1e9) as i64
    }
}

/// What [`crate::scan()`] walks and how many files it analyses at once.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Files analysed at once; `None`: one per core.
    pub jobs: Option<usize>,
    /// Only files matching one of these globs (empty: [`crate::scan::DEFAULT_INCLUDE`]).
    pub include: Vec<String>,
    /// Skip files matching any of these globs.
    pub exclude: Vec<String>,
}

impl ScanOptions {
    /// The number of workers: [`ScanOptions::jobs`], else the cores available, at least one.
    pub fn workers(&self) -> usize {
        self.jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_ports_reach_the_flow_table_and_the_setup_analyzer() {
        let opts = Options {
            smb_ports: vec![8445],
            kerberos_ports: vec![8088],
            ..Options::default()
        };
        let flow = opts.flow_config();
        assert!(flow.server_ports.contains(&8445));
        assert!(flow.server_ports.contains(&8088));
        let setup = opts.setup_options();
        assert_eq!(setup.smb_ports, [445, 139, 8445]);
        assert_eq!(setup.kerberos_ports, [88, 8088]);
        assert!(!setup.keep_records && !setup.settle);
    }

    #[test]
    fn the_timeout_is_never_negative() {
        let mut opts = Options::default();
        assert_eq!(opts.negotiate_timeout_ns(), 20_000_000_000);
        opts.negotiate_timeout_secs = -3.0;
        assert_eq!(opts.negotiate_timeout_ns(), 0);
    }
}
