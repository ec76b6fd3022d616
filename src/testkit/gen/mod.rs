//! Deterministic generator of a large, realistic capture for the benchmarks.
//!
//! Thousands of interleaved SMB 3.1.1 connections (handshake, NEGOTIATE, two-leg NTLMSSP
//! SESSION_SETUP, TREE_CONNECT, then mostly 64 KiB READ/WRITE in MSS-sized or 64 KiB
//! segments), Kerberos on UDP and TCP 88, DNS and unrelated HTTPS-like bulk traffic, a little
//! capture loss and reordering, and a known number of failures of each kind. Packets are
//! written as they are made: memory stays bounded by the number of concurrent connections
//! (and of injected NEGOTIATE timeouts, idle while their client waits 60 s before it resets),
//! whatever the size asked for.
//!
//! A quarter of the healthy SMB connections are an ordinary mixed estate: a fixed set of client
//! hosts that name their file server (`\\files.corp.example\data`), whose NEGOTIATE offers
//! Kerberos, and log on with NTLMSSP without asking the KDC for a ticket. They make no error
//! or warning, only the info `kerberos-fallback-ntlm`, once per (client, server name).

use crate::proto::ntstatus::NtStatus;
use crate::proto::smb2::Smb2Command;
use crate::testkit::gss::{self, NegState, NtlmAuth, NtlmServer};
use crate::testkit::krb::{self, KdcRep, KdcReq, KrbErr};
use crate::testkit::smb::{self, share_flags, share_type, Header, NegContext};
use crate::testkit::{
    dns, filler, krb_tcp_frame, nbss_frame, Linktype, Packet, PcapWriter, TcpConversation,
    Timestamp, UdpExchange, START,
};
use std::collections::{BTreeMap, VecDeque};
use std::io::{self, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

mod script;

use script::*;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenConfig {
    /// Stop starting new connections once this many bytes were written.
    pub target_bytes: u64,
    /// Connections open at the same time.
    pub concurrent: usize,
    /// Injected failures of each kind.
    pub failures_per_kind: u64,
    pub seed: u32,
    /// Mean capture-time gap between packets, in microseconds.
    pub mean_gap_us: u64,
}

impl GenConfig {
    pub fn sized(target_bytes: u64) -> Self {
        Self {
            target_bytes,
            concurrent: 64,
            failures_per_kind: 25,
            seed: 1,
            mean_gap_us: 12,
        }
    }
}

/// What was generated, and which findings `analyze` must report for it.
#[derive(Debug, Clone, Default)]
pub struct GenSummary {
    pub bytes: u64,
    pub packets: u64,
    pub smb_connections: u64,
    /// Finding id → how many error or warning findings of it the capture must produce (what
    /// `analyze` shows by default).
    pub expected: BTreeMap<&'static str, u64>,
    /// Finding id → how many info findings of it the capture must produce (shown with
    /// `--min-severity info`).
    pub expected_info: BTreeMap<&'static str, u64>,
    /// The mixed estate's NTLMSSP logons by server name, Kerberos never tried: (client,
    /// server name) → sessions. Each pair is one info `kerberos-fallback-ntlm`.
    pub ntlm_by_name: BTreeMap<(Ipv4Addr, &'static str), u64>,
}

/// Findings counted by id, split as [`GenSummary`] expects them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Errors and warnings.
    pub expected: BTreeMap<String, u64>,
    pub info: BTreeMap<String, u64>,
}

impl Counts {
    /// Counts one finding (`severity` as in the JSON report: error, warning or info).
    pub fn add(&mut self, id: &str, severity: &str) {
        let map = if severity == "info" {
            &mut self.info
        } else {
            &mut self.expected
        };
        *map.entry(id.to_string()).or_default() += 1;
    }
}

impl GenSummary {
    /// What `analyze` must report, to compare with what it did.
    pub fn counts(&self) -> Counts {
        let own = |m: &BTreeMap<&'static str, u64>| {
            m.iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<BTreeMap<_, _>>()
        };
        Counts {
            expected: own(&self.expected),
            info: own(&self.expected_info),
        }
    }
}

/// Kinds of injected failures, each making exactly one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    ConnectRefused,
    NegotiateTimeout,
    NegotiateFailed,
    LogonRefused,
    BadNetworkName,
    TreeAccessDenied,
    KrbPreauthFailedUdp,
    KrbSkewTcp,
}

const FAILURES: [Failure; 8] = [
    Failure::ConnectRefused,
    Failure::NegotiateTimeout,
    Failure::NegotiateFailed,
    Failure::LogonRefused,
    Failure::BadNetworkName,
    Failure::TreeAccessDenied,
    Failure::KrbPreauthFailedUdp,
    Failure::KrbSkewTcp,
];

impl Failure {
    fn finding(self) -> &'static str {
        match self {
            Failure::ConnectRefused => "tcp-connect-failed",
            Failure::NegotiateTimeout => "negotiate-timeout",
            Failure::NegotiateFailed => "negotiate-failed",
            Failure::LogonRefused => "session-setup-failed",
            Failure::BadNetworkName => "tree-connect-bad-network-name",
            Failure::TreeAccessDenied => "tree-connect-access-denied",
            Failure::KrbPreauthFailedUdp | Failure::KrbSkewTcp => "kerberos-error",
        }
    }
}

const REALM: &str = "CORP.EXAMPLE";
const DC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 100);
const WEB: Ipv4Addr = Ipv4Addr::new(10, 0, 9, 80);
const NAS: NtlmServer<'static> = NtlmServer {
    nb_domain: "CORP",
    nb_computer: "NAS1",
    dns_domain: "corp.example",
    dns_computer: "nas1.corp.example",
};
/// The mixed estate's file servers, each a name at an address of its own (none of the
/// 10.0.0.1–8 that serve everyone else as nas1), offering Kerberos and NTLMSSP.
static NAMED_SERVERS: [(Ipv4Addr, NtlmServer<'static>); 2] = [
    (
        Ipv4Addr::new(10, 0, 0, 21),
        NtlmServer {
            nb_domain: "CORP",
            nb_computer: "FILES",
            dns_domain: "corp.example",
            dns_computer: "files.corp.example",
        },
    ),
    (
        Ipv4Addr::new(10, 0, 0, 22),
        NtlmServer {
            nb_domain: "CORP",
            nb_computer: "NAS2",
            dns_domain: "corp.example",
            dns_computer: "nas2.corp.example",
        },
    ),
];
/// The mixed estate's client hosts, 10.210.0.1 on: outside the 10.1–200.x.x that
/// [`Generator::client`] hands out, so none of them ever sends a Kerberos request.
const NTLM_HOSTS: u32 = 8;
const BLOCK: usize = 64 * 1024;
/// How long a client waits for an answer to its NEGOTIATE before it resets the connection:
/// about 60 s on Windows (the seed article). A reset within a second is no timeout: a client
/// that quick gave up before any server could answer.
const NEGOTIATE_GIVE_UP: Duration = Duration::from_secs(60);
/// Bytes a classic pcap record header adds to each packet.
const PCAP_RECORD_HEADER: u64 = 16;

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// xorshift32: the only source of variety, so every run is identical.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u32) -> u32 {
        self.next() % n.max(1)
    }
}

struct Generator {
    rng: Rng,
    bulk: Vec<u8>,
    next_client: u32,
    smb_connections: u64,
    /// Connections of the mixed estate so far.
    by_name: u64,
    /// Each mixed-estate host's next ephemeral port, counted up so that none of its
    /// connections, open at the same time or one after the other, shares a 4-tuple.
    host_ports: [u16; NTLM_HOSTS as usize],
    ntlm_by_name: BTreeMap<(Ipv4Addr, &'static str), u64>,
}

impl Generator {
    fn client(&mut self) -> Ipv4Addr {
        self.next_client += 1;
        let n = self.next_client;
        Ipv4Addr::new(10, 1 + (n >> 16) as u8 % 200, (n >> 8) as u8, n as u8)
    }

    fn smb(&mut self, failure: Option<Failure>) -> Script {
        self.smb_to(failure, None)
    }

    /// A healthy connection of the mixed estate: host and server in turn, so every host
    /// talks to each server.
    fn smb_by_name(&mut self) -> Script {
        let n = self.by_name;
        self.by_name += 1;
        let host = (n % u64::from(NTLM_HOSTS)) as usize;
        let server = (n / u64::from(NTLM_HOSTS)) as usize % NAMED_SERVERS.len();
        let port = 49152 + self.host_ports[host] % 16384;
        self.host_ports[host] = self.host_ports[host].wrapping_add(1);
        let client = Ipv4Addr::new(10, 210, 0, 1 + host as u8);
        *self
            .ntlm_by_name
            .entry((client, NAMED_SERVERS[server].1.dns_computer))
            .or_default() += 1;
        self.smb_to(None, Some((client, port, server)))
    }

    /// `named`: the mixed estate's client address and port, and its server.
    fn smb_to(
        &mut self,
        failure: Option<Failure>,
        named: Option<(Ipv4Addr, u16, usize)>,
    ) -> Script {
        // The mixed estate takes a number too (for session id and seeds), not its address.
        let mut client = self.client();
        let mut server = Ipv4Addr::new(10, 0, 0, 1 + self.rng.below(8) as u8);
        let mut port = 49152 + self.rng.below(16000) as u16;
        let mut names = &NAS;
        if let Some((c, p, s)) = named {
            (client, port) = (c, p);
            server = NAMED_SERVERS[s].0;
            names = &NAMED_SERVERS[s].1;
        }
        let isn = self.rng.next();
        let tcp = TcpConversation::new(
            SocketAddr::new(client.into(), port),
            SocketAddr::new(server.into(), 445),
        )
        .with_isn(isn, isn ^ 0x5555_5555);
        self.smb_connections += 1;
        Script::Smb(SmbScript {
            tcp,
            stage: 0,
            failure,
            next_id: 0,
            session: 0x4000_0000_0000 | u64::from(self.next_client),
            tree: 0,
            ops_left: 2 + self.rng.below(16),
            mss: if self.rng.below(4) == 0 { 65_000 } else { 1460 },
            seed: self.next_client,
            server: names,
            offers_kerberos: named.is_some(),
            pause: None,
        })
    }

    fn kerberos(&mut self, failure: Option<Failure>) -> Script {
        let client = self.client();
        let nonce = self.rng.next();
        let mut steps = VecDeque::new();
        let host = ["cifs", "nas1.corp.example"];
        let krbtgt = ["krbtgt", REALM];
        if failure == Some(Failure::KrbSkewTcp) || (failure.is_none() && self.rng.below(3) == 0) {
            let mut tcp = TcpConversation::new(
                SocketAddr::new(client.into(), 50_000 + self.rng.below(10_000) as u16),
                SocketAddr::new(DC.into(), 88),
            );
            let reply = if failure.is_some() {
                krb_err(krb::error_code::KRB_AP_ERR_SKEW)
            } else {
                kdc_rep(true)
            };
            steps.push_back(tcp.handshake());
            let mut p = tcp.client_send(&krb_tcp_frame(&kdc_req(&host, nonce, true)), 1460);
            p.extend(tcp.server_send(&krb_tcp_frame(&reply), 1460));
            steps.push_back(p);
            steps.push_back(vec![
                tcp.fin_from_client(),
                tcp.fin_from_server(),
                tcp.ack_from_client(),
            ]);
        } else {
            let mut u = UdpExchange::new(
                SocketAddr::new(client.into(), 50_000 + self.rng.below(10_000) as u16),
                SocketAddr::new(DC.into(), 88),
            );
            let reply = if failure.is_some() {
                krb_err(krb::error_code::KDC_ERR_PREAUTH_FAILED)
            } else {
                kdc_rep(false)
            };
            steps.push_back(u.client_send(&kdc_req(&krbtgt, nonce, false)));
            steps.push_back(u.server_send(&reply));
            if failure.is_none() {
                let mut u2 = UdpExchange::new(
                    SocketAddr::new(client.into(), 60_001 + self.rng.below(5000) as u16),
                    SocketAddr::new(DC.into(), 88),
                );
                steps.push_back(u2.client_send(&kdc_req(&host, nonce ^ 1, true)));
                steps.push_back(u2.server_send(&kdc_rep(true)));
            }
        }
        Script::Kerberos { steps }
    }

    fn unrelated(&mut self) -> Script {
        let client = self.client();
        let mut steps = VecDeque::new();
        if self.rng.below(2) == 0 {
            let mut u = UdpExchange::new(
                SocketAddr::new(client.into(), 53_000 + self.rng.below(9000) as u16),
                SocketAddr::new(DC.into(), 53),
            );
            let id = self.rng.next() as u16;
            steps.push_back(u.client_send(&dns::query(id, "www.example.com", dns::TYPE_A)));
            steps.push_back(u.server_send(&dns::response(
                id,
                "www.example.com",
                dns::TYPE_A,
                &[dns::Answer::Addr {
                    owner: "www.example.com",
                    addr: WEB.into(),
                }],
                300,
            )));
        } else {
            let mut tcp = TcpConversation::new(
                SocketAddr::new(client.into(), 40_000 + self.rng.below(9000) as u16),
                SocketAddr::new(WEB.into(), 443),
            );
            steps.push_back(tcp.handshake());
            for _ in 0..1 + self.rng.below(8) {
                let mut p = tcp.client_send(&self.bulk[..300], 1460);
                p.extend(tcp.server_send(&self.bulk[..16_384], 1460));
                p.push(tcp.ack_from_client());
                steps.push_back(p);
            }
            steps.push_back(vec![
                tcp.fin_from_client(),
                tcp.fin_from_server(),
                tcp.ack_from_client(),
            ]);
        }
        Script::Kerberos { steps }
    }
}

/// Writes a capture of about `cfg.target_bytes` to `out` (classic pcap, Ethernet).
pub fn generate<W: Write>(out: W, cfg: &GenConfig) -> io::Result<GenSummary> {
    let mut writer = PcapWriter::new(out, Linktype::ETHERNET)?;
    let mut g = Generator {
        rng: Rng(cfg.seed.max(1)),
        bulk: filler(0xB17C, BLOCK),
        next_client: 0,
        smb_connections: 0,
        by_name: 0,
        host_ports: [0; NTLM_HOSTS as usize],
        ntlm_by_name: BTreeMap::new(),
    };
    // Failures are spread evenly over the whole capture.
    let mut failures: VecDeque<Failure> = VecDeque::new();
    for _ in 0..cfg.failures_per_kind {
        failures.extend(FAILURES);
    }
    let total_failures = failures.len() as u64;
    let mut summary = GenSummary::default();
    for f in &failures {
        *summary.expected.entry(f.finding()).or_default() += 1;
    }
    let mut slots: Vec<(Script, VecDeque<Packet>)> = Vec::new();
    // Conversations idle until a capture time (a client waiting for an answer that never
    // comes), outside `slots`, so the traffic around them goes on as before. At most one per
    // injected NEGOTIATE timeout.
    let mut idle: Vec<(Timestamp, Script)> = Vec::new();
    let mut ts = START;
    let mut started = 0u64;
    loop {
        let mut j = 0;
        while j < idle.len() {
            if idle[j].0 <= ts {
                slots.push((idle.swap_remove(j).1, VecDeque::new()));
            } else {
                j += 1;
            }
        }
        let written_enough = summary.bytes >= cfg.target_bytes;
        // Keep `concurrent` conversations open until the size is reached and every failure
        // has been placed.
        while slots.len() < cfg.concurrent && !(written_enough && failures.is_empty()) {
            started += 1;
            let due =
                (summary.bytes as u128 * total_failures as u128) / cfg.target_bytes.max(1) as u128;
            let placed = total_failures - failures.len() as u64;
            let failure = if u128::from(placed) <= due || written_enough {
                failures.pop_front()
            } else {
                None
            };
            let script = match failure {
                Some(f @ (Failure::KrbPreauthFailedUdp | Failure::KrbSkewTcp)) => {
                    g.kerberos(Some(f))
                }
                Some(f) => g.smb(Some(f)),
                None => match started % 10 {
                    0 => g.kerberos(None),
                    1 => g.unrelated(),
                    // A quarter of the healthy SMB connections.
                    3 | 7 => g.smb_by_name(),
                    _ => g.smb(None),
                },
            };
            slots.push((script, VecDeque::new()));
        }
        if slots.is_empty() {
            // Only idle conversations are left: the capture goes quiet until the first wakes.
            match idle.iter().map(|(t, _)| *t).min() {
                Some(t) => {
                    ts = ts.max(t);
                    continue;
                }
                None => break,
            }
        }
        let i = g.rng.below(slots.len() as u32) as usize;
        let (script, queue) = &mut slots[i];
        if queue.is_empty() {
            let next = match script {
                Script::Smb(s) => s.step(&mut g.rng, &g.bulk, written_enough),
                Script::Kerberos { steps } => steps.pop_front(),
            };
            match next {
                Some(p) => queue.extend(p),
                None => {
                    slots.swap_remove(i);
                    continue;
                }
            }
        }
        // A few packets of this conversation, then another one's turn.
        for _ in 0..1 + g.rng.below(4) {
            let Some(p) = queue.pop_front() else { break };
            let jitter = g.rng.below(2 * cfg.mean_gap_us.max(1) as u32 - 1);
            ts += us(1 + u64::from(jitter));
            writer.write_packet(ts, &p.bytes)?;
            summary.packets += 1;
            summary.bytes += p.bytes.len() as u64 + PCAP_RECORD_HEADER;
        }
        if let (Script::Smb(s), true) = (&mut *script, queue.is_empty()) {
            if let Some(pause) = s.pause.take() {
                idle.push((ts + pause, slots.swap_remove(i).0));
            }
        }
    }
    writer.into_inner().flush()?;
    summary.smb_connections = g.smb_connections;
    if !g.ntlm_by_name.is_empty() {
        summary
            .expected_info
            .insert("kerberos-fallback-ntlm", g.ntlm_by_name.len() as u64);
    }
    summary.ntlm_by_name = g.ntlm_by_name;
    Ok(summary)
}

/// Counts findings by id and severity in `analyze --format json` output.
pub fn count_findings(json: &serde_json::Value) -> Counts {
    let mut out = Counts::default();
    for file in json["files"].as_array().into_iter().flatten() {
        for f in file["findings"].as_array().into_iter().flatten() {
            if let (Some(id), Some(severity)) = (f["id"].as_str(), f["severity"].as_str()) {
                out.add(id, severity);
            }
        }
    }
    out
}
