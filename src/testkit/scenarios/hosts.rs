//! Hosts, names and the pieces of a capture: flows, TCP connections, server profiles.

use super::*;

pub(super) const WKS017_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 11);
pub(super) const NAS1_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 20);
pub(super) const FS1_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 21);
pub(super) const DC01_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 30);
/// The address a NAT in front of nas1 publishes (the hardening scenario's client uses it).
pub(super) const NAS1_NAT_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 5);

pub(super) const REALM: &str = "CORP.EXAMPLE";
pub(super) const USER: &str = "dwright";
pub(super) const KRB_SALT: &str = "CORP.EXAMPLEdwright";

/// MAC of the second client, so the two clients differ on the wire as they would.
pub(super) const WKS017_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x03];

pub(super) const NAS1: NtlmServer<'static> = NtlmServer {
    nb_domain: "CORP",
    nb_computer: "NAS1",
    dns_domain: "corp.example",
    dns_computer: "nas1.corp.example",
};
pub(super) const DC01: NtlmServer<'static> = NtlmServer {
    nb_domain: "CORP",
    nb_computer: "DC01",
    dns_domain: "corp.example",
    dns_computer: "dc01.corp.example",
};

pub(super) const FS1: NtlmServer<'static> = NtlmServer {
    nb_domain: "CORP",
    nb_computer: "FS1",
    dns_domain: "corp.example",
    dns_computer: "fs1.corp.example",
};

/// Windows lists its mechanisms in this order in SPNEGO.
pub(super) const WINDOWS_MECHS: [&str; 4] = [
    gss::OID_MS_KRB5,
    gss::OID_KRB5,
    gss::OID_NEGOEX,
    gss::OID_NTLMSSP,
];

/// A server outside the domain (nas1, like the lab's standalone Samba) offers no Kerberos: a
/// client's NTLM to it is the only choice, not a fallback.
pub(super) const STANDALONE_MECHS: [&str; 2] = [gss::OID_NEGOEX, gss::OID_NTLMSSP];

/// Maximal access of a user with change rights on a share.
pub(super) const MODIFY_ACCESS: u32 = 0x0013_01BF;

pub(super) fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Packets of one flow, some labelled with the role of the message whose last byte they
/// carry.
#[derive(Default)]
pub(super) struct Flow {
    pub(super) items: Vec<(Packet, Option<String>)>,
}

impl Flow {
    pub(super) fn add(&mut self, role: Option<String>, packets: Vec<Packet>) {
        let n = packets.len();
        for (i, p) in packets.into_iter().enumerate() {
            let r = if i + 1 == n { role.clone() } else { None };
            self.items.push((p, r));
        }
    }
}

/// Merges flows by time (stable, so same-time packets keep their order) and numbers frames.
pub(super) fn finish(name: &'static str, link: Link, flows: Vec<Flow>) -> Scenario {
    let mut items: Vec<(Packet, Option<String>)> =
        flows.into_iter().flat_map(|f| f.items).collect();
    items.sort_by_key(|(p, _)| p.ts);
    let mut frames = Vec::new();
    let mut packets = Vec::with_capacity(items.len());
    for (i, (p, role)) in items.into_iter().enumerate() {
        if let Some(r) = role {
            frames.push((r, i + 1));
        }
        packets.push(p);
    }
    Scenario {
        name,
        linktype: link.linktype(),
        packets,
        snaplen: 262_144,
        cut_in_frame: None,
        frames,
    }
}

pub(super) fn role(r: &str) -> Option<String> {
    Some(r.to_string())
}

/// One TCP connection and the packets it produced so far.
pub(super) struct Conn {
    pub(super) tcp: TcpConversation,
    pub(super) flow: Flow,
}

impl Conn {
    pub(super) fn new(client: SocketAddr, server: SocketAddr, start: Timestamp) -> Conn {
        let mut tcp = TcpConversation::new(client, server);
        tcp.at(start);
        Conn {
            tcp,
            flow: Flow::default(),
        }
    }

    pub(super) fn now(&self) -> Timestamp {
        self.tcp.now()
    }

    /// SYN, SYN-ACK after a LAN round trip, ACK.
    pub(super) fn handshake(&mut self) {
        let syn = self.tcp.syn();
        self.flow.add(role("syn"), vec![syn]);
        self.tcp.advance(us(310));
        let sa = self.tcp.syn_ack();
        self.flow.add(role("syn_ack"), vec![sa]);
        self.tcp.advance(us(45));
        let ack = self.tcp.ack_from_client();
        self.flow.add(None, vec![ack]);
    }

    pub(super) fn send(
        &mut self,
        dir: Dir,
        after: Duration,
        r: Option<String>,
        payload: &[u8],
        mss: usize,
    ) {
        self.tcp.advance(after);
        let p = match dir {
            Dir::ToServer => self.tcp.client_send(payload, mss),
            Dir::ToClient => self.tcp.server_send(payload, mss),
        };
        self.flow.add(r, p);
    }

    pub(super) fn client(&mut self, after: Duration, r: Option<String>, payload: &[u8]) {
        self.send(Dir::ToServer, after, r, payload, 1460);
    }

    pub(super) fn server(&mut self, after: Duration, r: Option<String>, payload: &[u8]) {
        self.send(Dir::ToClient, after, r, payload, 1460);
    }

    /// After `after`, one packet made by `make` (an ACK, FIN or RST of either side).
    pub(super) fn step(
        &mut self,
        after: Duration,
        r: Option<String>,
        make: fn(&mut TcpConversation) -> Packet,
    ) {
        self.tcp.advance(after);
        let p = make(&mut self.tcp);
        self.flow.add(r, vec![p]);
    }

    pub(super) fn server_ack(&mut self, after: Duration, r: Option<String>) {
        self.step(after, r, TcpConversation::ack_from_server);
    }

    pub(super) fn client_ack(&mut self, after: Duration, r: Option<String>) {
        self.step(after, r, TcpConversation::ack_from_client);
    }

    /// Client FIN, server FIN (its application closes too), client ACK.
    pub(super) fn close_by_client(&mut self, after: Duration) {
        self.step(after, role("fin"), TcpConversation::fin_from_client);
        self.step(
            us(180),
            role("server_fin"),
            TcpConversation::fin_from_server,
        );
        self.step(us(40), None, TcpConversation::ack_from_client);
    }

    /// Server FIN, client FIN, server ACK.
    pub(super) fn close_by_server(&mut self, after: Duration) {
        self.step(after, role("server_fin"), TcpConversation::fin_from_server);
        self.step(us(90), role("fin"), TcpConversation::fin_from_client);
        self.step(us(160), None, TcpConversation::ack_from_server);
    }

    pub(super) fn client_rst(&mut self, after: Duration) {
        self.step(after, role("reset"), TcpConversation::rst_from_client);
    }
}

/// Who the server is and how it answers NEGOTIATE.
pub(super) struct ServerProfile {
    pub(super) guid_seed: u32,
    pub(super) dialect: u16,
    pub(super) security_mode: u16,
    pub(super) capabilities: u32,
}

pub(super) const NAS1_PROFILE: ServerProfile = ServerProfile {
    guid_seed: 0x2020,
    dialect: 0x0311,
    security_mode: 3, // signing enabled and required
    capabilities: 0x0000_002F,
};

pub(super) const FS1_PROFILE: ServerProfile = ServerProfile {
    guid_seed: 0x2121,
    dialect: 0x0311,
    security_mode: 1,
    capabilities: 0x0000_002F,
};

pub(super) const DC01_PROFILE: ServerProfile = ServerProfile {
    guid_seed: 0x3030,
    dialect: 0x0311,
    security_mode: 3,
    capabilities: 0x0000_002F,
};

/// The NEGOTIATE a Windows 10/11 client sends: every dialect from 2.0.2 to 3.1.1, signing
/// enabled, all capabilities, and the 3.1.1 contexts.
pub(super) fn windows_negotiate(server: &str) -> smb::NegotiateRequest {
    smb::NegotiateRequest {
        dialects: vec![0x0202, 0x0210, 0x0300, 0x0302, 0x0311],
        security_mode: 1,
        capabilities: 0x0000_007F,
        client_guid: guid(0x0042),
        contexts: vec![
            NegContext::PreauthIntegrity { seed: 0x0142 },
            NegContext::Encryption(vec![2, 1, 4, 3]),
            NegContext::NetName(server.to_string()),
            NegContext::Signing(vec![2, 1]),
        ],
    }
}

pub(super) fn guid(seed: u32) -> [u8; 16] {
    let mut g = [0u8; 16];
    g.copy_from_slice(&filler(seed, 16));
    g
}

pub(super) fn negotiate_response(p: &ServerProfile, now: Timestamp, mechs: &[&str]) -> Vec<u8> {
    let contexts = if p.dialect == 0x0311 {
        vec![
            NegContext::PreauthIntegrity {
                seed: p.guid_seed + 1,
            },
            NegContext::Encryption(vec![2]),
            NegContext::Signing(vec![2]),
        ]
    } else {
        Vec::new()
    };
    smb::NegotiateResponse {
        dialect: p.dialect,
        security_mode: p.security_mode,
        server_guid: guid(p.guid_seed),
        capabilities: p.capabilities,
        max_size: 0x0080_0000,
        system_time: smb::filetime(now),
        server_start_time: 0,
        security_buffer: gss::neg_token_init_hint(mechs),
        contexts,
    }
    .body()
}

pub(super) fn ntlm_auth<'a>(server: NtlmServer<'a>, target: &'a str, seed: u32) -> NtlmAuth<'a> {
    NtlmAuth {
        domain: "CORP",
        user: USER,
        workstation: "WKS042",
        target_name: target,
        server,
        timestamp: smb::filetime(START),
        seed,
    }
}

/// The second-leg security buffer: negTokenResp with the AUTHENTICATE and a mechListMIC.
pub(super) fn auth_blob(auth: &NtlmAuth<'_>) -> Vec<u8> {
    gss::neg_token_resp(
        None,
        None,
        Some(&gss::ntlm_authenticate(auth)),
        Some(&gss::ntlm_mic(auth.seed)),
    )
}

/// Length of the framed AUTHENTICATE SESSION_SETUP request: NBSS, header, fixed body, blob.
pub(super) fn auth_request_len(auth: &NtlmAuth<'_>) -> usize {
    4 + 64 + 24 + auth_blob(auth).len()
}
