//! Named captures of SMB connection setups, good and bad, built from code: the fixtures of
//! `fixtures/<name>.pcap` and the inputs of the findings' golden tests.
//!
//! Contract: [`all`] returns every scenario, each a [`Scenario`] holding the packets a capture
//! on the client (or, where two clients appear, on the server's switch port) would hold,
//! with the protocol flows a real Windows client and server produce: TCP handshakes, ACKs,
//! FIN/RST, realistic delays, message ids, credits and session ids. Every scenario records
//! its key frames by role ([`Scenario::frame`]), 1-based as Wireshark numbers them, and its
//! builder's doc comment says what a correct analyzer reports. [`Scenario::pcap`] writes the
//! classic pcap file, applying the scenario's snaplen or file cut. Deterministic: the same
//! bytes on every run. Addresses are documentation ranges and names end in `.example`.
//!
//! Hosts: client WKS042 192.0.2.10 (a second client, WKS017, 192.0.2.11), file servers
//! nas1.corp.example 192.0.2.20 and fs1.corp.example 192.0.2.21, domain controller
//! dc01.corp.example 192.0.2.30 (KDC and DNS), realm CORP.EXAMPLE, user CORP\dwright.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::proto::ntstatus::NtStatus;
use crate::proto::smb2::Smb2Command;

use super::gss::{self, NegState, NtlmAuth, NtlmServer};
use super::krb::{self, KdcRep, KdcReq, KrbErr};
use super::smb::{self, share_flags, share_type, Header, NegContext};
use super::{
    dns, filler, krb_tcp_frame, nbss_frame, Dir, Link, Linktype, Packet, PcapFormat, PcapWriter,
    TcpConversation, Timestamp, UdpExchange, CLIENT_V4, START,
};

mod client;
mod dissection;
mod healthy;
mod hosts;
mod kdc;
mod kerberos;
mod negotiate;
mod session;
mod tcp;
mod tree;

use client::*;
use dissection::*;
use healthy::*;
use hosts::*;
use kdc::*;
use kerberos::*;
use negotiate::*;
use session::*;
use tcp::*;
use tree::*;

/// One capture: its packets, how to write them, and its key frames.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// The fixture's file stem, e.g. `negotiate-timeout`.
    pub name: &'static str,
    pub linktype: Linktype,
    pub packets: Vec<Packet>,
    /// Snaplen of the file header; frames longer than it are cut as a capture tool would.
    pub snaplen: u32,
    /// When set, the file ends halfway through the record of this frame (1-based).
    pub cut_in_frame: Option<usize>,
    /// Key frames by role (e.g. `negotiate_request`), 1-based.
    pub frames: Vec<(String, usize)>,
}

impl Scenario {
    /// The frame number of a role, if the scenario has it.
    pub fn frame(&self, role: &str) -> Option<usize> {
        self.frames.iter().find(|(r, _)| r == role).map(|f| f.1)
    }

    /// The classic pcap file (little-endian, microseconds).
    pub fn pcap(&self) -> Vec<u8> {
        let format = PcapFormat {
            snaplen: self.snaplen,
            ..PcapFormat::default()
        };
        let mut w = PcapWriter::with_format(Vec::new(), self.linktype, format)
            .expect("writing to memory cannot fail");
        w.write_packets(&self.packets)
            .expect("writing to memory cannot fail");
        let mut out = w.into_inner();
        if let Some(n) = self.cut_in_frame.filter(|&n| n >= 1) {
            // 24-byte file header, then a 16-byte header and the captured bytes per record.
            let record = |p: &Packet| 16 + p.bytes.len().min(self.snaplen as usize);
            let start: usize = 24 + self.packets[..n - 1].iter().map(record).sum::<usize>();
            out.truncate(start + record(&self.packets[n - 1]) / 2);
        }
        out
    }
}

/// Every scenario, in the order of the fixture table.
pub fn all() -> Vec<Scenario> {
    vec![
        smb2_healthy_ntlm(),
        smb3_healthy_kerberos_encrypted(),
        negotiate_timeout(),
        negotiate_timeout_fin(),
        negotiate_no_response(),
        negotiate_not_supported(),
        smb1_only_refused(),
        smb1_upgrade(),
        negotiate_smb1_reset(),
        negotiate_smb1_reset_then_smb2(),
        server_silent_after_ack(),
        tcp_connect_refused(),
        tcp_connect_unanswered(),
        session_logon_failure_ntlm(),
        session_no_response(),
        session_server_fin(),
        session_access_denied_hardening(),
        session_guest(),
        signing_invalid_signature(),
        kerberos_preauth_ok(),
        kerberos_more_preauth_then_ok(),
        kerberos_bad_password(),
        kerberos_spn_unknown_cname(),
        kerberos_skew(),
        kerberos_error_tcp_split(),
        kerberos_udp_fragmented(),
        kerberos_apreq_error_in_smb(),
        kerberos_skipped_ntlm(),
        kerberos_skipped_ntlm_repeated(),
        tree_bad_network_name(),
        tree_access_denied(),
        encryption_required_smb21(),
        tree_failed_other(),
        compound_request(),
        async_pending(),
        netbios_139(),
        message_split_segments(),
        several_messages_one_segment(),
        midstream_start(),
        snaplen_cut(),
        truncated_file(),
        tcp_gap(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_fixtures_small() {
        let all = all();
        let mut names: Vec<_> = all.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        for s in &all {
            assert!(s.pcap().len() < 20_000, "{} is too big", s.name);
        }
    }

    #[test]
    fn deterministic() {
        assert_eq!(smb2_healthy_ntlm().pcap(), smb2_healthy_ntlm().pcap());
    }

    #[test]
    fn truncated_file_ends_inside_the_record() {
        let whole = smb2_healthy_ntlm().pcap();
        let cut = truncated_file().pcap();
        assert!(cut.len() < whole.len());
        assert_eq!(&whole[..cut.len()], &cut[..]);
    }

    #[test]
    fn key_frames_of_the_seed_symptom() {
        let s = negotiate_timeout();
        assert_eq!(s.frame("negotiate_request"), Some(4));
        assert_eq!(s.frame("ack"), Some(5));
        assert_eq!(s.frame("reset"), Some(6));
        let gap = s.packets[4].ts.nanos - s.packets[3].ts.nanos;
        assert_eq!(gap, 200_000);
        let reset_after = s.packets[5].ts.nanos - s.packets[3].ts.nanos;
        assert_eq!(reset_after, 60_000_000_000);
    }

    // The new scenarios' packets are untagged Ethernet around IPv4 without options.
    const IP: usize = 14;
    const L4: usize = IP + 20;

    fn flags(s: &Scenario, frame: usize) -> u8 {
        s.packets[frame - 1].bytes[L4 + 13]
    }

    fn from_client(s: &Scenario, frame: usize) -> bool {
        s.packets[frame - 1].bytes[IP + 12..IP + 16] == CLIENT_V4.octets()
    }

    /// Nanoseconds from frame `a` to frame `b`.
    fn gap(s: &Scenario, a: usize, b: usize) -> u64 {
        s.packets[b - 1].ts.nanos - s.packets[a - 1].ts.nanos
    }

    /// The TCP payload of a frame.
    fn tcp_payload(s: &Scenario, frame: usize) -> &[u8] {
        let b = &s.packets[frame - 1].bytes;
        &b[L4 + usize::from(b[L4 + 12] >> 4) * 4..]
    }

    const RST_ACK: u8 = 0x14;
    const FIN_ACK: u8 = 0x11;
    const ACK: u8 = 0x10;

    fn roles(s: &Scenario, names: &[&str]) -> Vec<usize> {
        names
            .iter()
            .map(|r| {
                s.frame(r)
                    .unwrap_or_else(|| panic!("{}: no role {r}", s.name))
            })
            .collect()
    }

    #[test]
    fn smb1_negotiate_reset_by_the_server() {
        let s = negotiate_smb1_reset();
        assert_eq!(roles(&s, &["request", "reset"]), [4, 5]);
        assert_eq!(s.packets.len(), 5);
        let req = tcp_payload(&s, 4);
        assert_eq!(&req[4..8], b"\xFFSMB");
        assert!(!String::from_utf8_lossy(req).contains("SMB 2."));
        assert!(String::from_utf8_lossy(req).contains("NT LM 0.12"));
        assert_eq!((flags(&s, 5), from_client(&s, 5)), (RST_ACK, false));
        assert_eq!(gap(&s, 4, 5), 30_000);

        let s = negotiate_smb1_reset_then_smb2();
        assert_eq!(roles(&s, &["request", "reset", "session"]), [4, 5, 14]);
        assert_eq!((flags(&s, 5), from_client(&s, 5)), (RST_ACK, false));
        assert_eq!(s.frame("smb2.syn"), Some(6));
        let after = gap(&s, 5, 6);
        assert!((49_000_000..=51_000_000).contains(&after), "{after}");
        assert_eq!(&tcp_payload(&s, 14)[4..8], b"\xFESMB");
    }

    #[test]
    fn server_silent_after_ack_acks_everything_and_answers_nothing() {
        let s = server_silent_after_ack();
        let keys = roles(
            &s,
            &["negotiate", "session_setup", "tree1", "tree2", "reset"],
        );
        assert_eq!(keys, [4, 6, 8, 10, 12]);
        assert_eq!(s.packets.len(), 12);
        for &f in &keys[..4] {
            assert!(from_client(&s, f));
            assert_eq!(&tcp_payload(&s, f)[4..8], b"\xFESMB");
            assert_eq!((flags(&s, f + 1), from_client(&s, f + 1)), (ACK, false));
            assert!(tcp_payload(&s, f + 1).is_empty());
            assert_eq!(gap(&s, f, f + 1), 200_000);
        }
        assert_eq!((flags(&s, 12), from_client(&s, 12)), (RST_ACK, true));
        assert_eq!(gap(&s, 4, 12), 60_000_000_000);
    }

    #[test]
    fn session_closed_by_the_server_with_fin() {
        let s = session_server_fin();
        assert_eq!(
            roles(&s, &["request", "ack", "fin", "client_fin"]),
            [6, 7, 8, 9]
        );
        assert_eq!(s.packets.len(), 10);
        let session_setup = Smb2Command::SESSION_SETUP.0.to_le_bytes();
        assert_eq!(tcp_payload(&s, 6)[16..18], session_setup);
        assert_eq!((flags(&s, 7), from_client(&s, 7)), (ACK, false));
        assert_eq!((flags(&s, 8), from_client(&s, 8)), (FIN_ACK, false));
        assert_eq!((flags(&s, 9), from_client(&s, 9)), (FIN_ACK, true));
        assert_eq!(gap(&s, 6, 8), 1_000_000_000);
    }

    #[test]
    fn more_preauth_data_required_then_as_rep() {
        use crate::proto::kerberos::{self, KrbErrorCode, KrbMessage, PaDataType};
        let s = kerberos_more_preauth_then_ok();
        assert_eq!(roles(&s, &["error", "reply"]), [2, 4]);
        assert_eq!(s.packets.len(), 6);
        let udp = |f: usize| &s.packets[f - 1].bytes[L4 + 8..];
        let Ok(KrbMessage::Error(e)) = kerberos::parse_message(udp(2)) else {
            panic!("frame 2 is a KRB-ERROR")
        };
        assert_eq!(
            e.error_code,
            KrbErrorCode::KDC_ERR_MORE_PREAUTH_DATA_REQUIRED
        );
        let Ok(KrbMessage::AsReq(r)) = kerberos::parse_message(udp(3)) else {
            panic!("frame 3 is an AS-REQ")
        };
        assert!(r.has_preauth());
        assert!(r
            .padata
            .iter()
            .any(|p| p.padata_type == PaDataType::PA_FX_COOKIE));
        assert!(matches!(
            kerberos::parse_message(udp(4)),
            Ok(KrbMessage::AsRep(_))
        ));
    }

    #[test]
    fn three_ntlm_connections_by_name() {
        let s = kerberos_skipped_ntlm_repeated();
        assert_eq!(roles(&s, &["first_session", "last_session"]), [9, 45]);
        assert_eq!(s.frame("2.session_setup_response"), Some(27));
        assert_eq!(s.packets.len(), 54);
        for f in [9, 27, 45] {
            assert!(!from_client(&s, f));
            assert_eq!(&tcp_payload(&s, f)[4..8], b"\xFESMB");
        }
    }
}
