//! One conversation of the bulk capture played out a step at a time, and the Kerberos
//! messages it carries.

use super::*;

/// One conversation being played out, a step (a message and its segments) at a time.
pub(super) enum Script {
    Smb(SmbScript),
    Kerberos { steps: VecDeque<Vec<Packet>> },
}

pub(super) struct SmbScript {
    pub(super) tcp: TcpConversation,
    pub(super) stage: u32,
    pub(super) failure: Option<Failure>,
    pub(super) next_id: u64,
    pub(super) session: u64,
    pub(super) tree: u32,
    pub(super) ops_left: u32,
    pub(super) mss: usize,
    pub(super) seed: u32,
    /// The server as it names itself in the NTLM CHALLENGE, and as the client names it.
    pub(super) server: &'static NtlmServer<'static>,
    /// Whether the server's NEGOTIATE lists Kerberos as well as NTLMSSP.
    pub(super) offers_kerberos: bool,
    /// Capture time to let pass, once this step's packets are written, before the next step.
    pub(super) pause: Option<Duration>,
}

impl SmbScript {
    pub(super) fn req(&mut self, cmd: Smb2Command) -> Header {
        let h = Header::request(cmd, self.next_id)
            .session(self.session)
            .tree(self.tree)
            .credits(33);
        self.next_id += 1;
        h
    }

    pub(super) fn send(&mut self, h: &Header, body: &[u8]) -> Vec<Packet> {
        let data = nbss_frame(&smb::message(h, body));
        self.tcp.client_send(&data, self.mss)
    }

    pub(super) fn answer(&mut self, h: &Header, body: &[u8]) -> Vec<Packet> {
        let data = nbss_frame(&smb::message(h, body));
        self.tcp.server_send(&data, self.mss)
    }

    /// The next step's packets, or `None` when the connection is over.
    pub(super) fn step(
        &mut self,
        rng: &mut Rng,
        bulk: &[u8],
        wind_down: bool,
    ) -> Option<Vec<Packet>> {
        if wind_down {
            self.ops_left = 0;
        }
        self.stage += 1;
        let f = self.failure;
        match self.stage {
            1 => {
                if f == Some(Failure::ConnectRefused) {
                    let syn = self.tcp.syn();
                    let rst = self.tcp.rst_from_server();
                    self.stage = 100;
                    return Some(vec![syn, rst]);
                }
                Some(self.tcp.handshake())
            }
            2 => {
                let h = Header::request(Smb2Command::NEGOTIATE, 0)
                    .charge(0)
                    .credits(1);
                self.next_id = 1;
                let req = smb::NegotiateRequest {
                    dialects: vec![0x0202, 0x0210, 0x0300, 0x0302, 0x0311],
                    security_mode: 1,
                    capabilities: 0x7F,
                    client_guid: guid(self.seed),
                    contexts: vec![
                        NegContext::PreauthIntegrity { seed: self.seed },
                        NegContext::Encryption(vec![2, 1]),
                        NegContext::NetName(self.server.dns_computer.into()),
                    ],
                };
                let mut p = self.send(&h, &req.body());
                if f == Some(Failure::NegotiateTimeout) {
                    p.push(self.tcp.ack_from_server());
                    self.pause = Some(NEGOTIATE_GIVE_UP);
                    return Some(p);
                }
                let status = if f == Some(Failure::NegotiateFailed) {
                    NtStatus::STATUS_NOT_SUPPORTED
                } else {
                    NtStatus::STATUS_SUCCESS
                };
                let r = Header::response_to(&h, status);
                let body = if status == NtStatus::STATUS_SUCCESS {
                    smb::NegotiateResponse {
                        dialect: 0x0311,
                        security_mode: 1,
                        server_guid: guid(7),
                        capabilities: 0x2F,
                        max_size: 0x0080_0000,
                        system_time: smb::filetime(START),
                        server_start_time: 0,
                        security_buffer: if self.offers_kerberos {
                            gss::neg_token_init_hint(&[
                                gss::OID_MS_KRB5,
                                gss::OID_KRB5,
                                gss::OID_NTLMSSP,
                            ])
                        } else {
                            gss::neg_token_init_hint(&[gss::OID_NTLMSSP])
                        },
                        contexts: vec![
                            NegContext::PreauthIntegrity { seed: 8 },
                            NegContext::Encryption(vec![2]),
                        ],
                    }
                    .body()
                } else {
                    self.stage = 99;
                    smb::error_body()
                };
                p.extend(self.answer(&r, &body));
                Some(p)
            }
            3 if f == Some(Failure::NegotiateTimeout) => {
                self.stage = 100;
                Some(vec![self.tcp.rst_from_client()])
            }
            3 => {
                let blob = gss::neg_token_init(&[gss::OID_NTLMSSP], Some(&gss::ntlm_negotiate()));
                let h = self.req(Smb2Command::SESSION_SETUP);
                let mut p = self.send(&h, &smb::session_setup_request(1, 0, &blob));
                let challenge = gss::ntlm_challenge(self.server, smb::filetime(START), self.seed);
                let blob = gss::neg_token_resp(
                    Some(NegState::AcceptIncomplete),
                    Some(gss::OID_NTLMSSP),
                    Some(&challenge),
                    None,
                );
                let r = Header::response_to(&h, NtStatus::STATUS_MORE_PROCESSING_REQUIRED)
                    .session(self.session);
                p.extend(self.answer(&r, &smb::session_setup_response(0, &blob)));
                Some(p)
            }
            4 => {
                let target_name = format!("cifs/{}", self.server.dns_computer);
                let auth = NtlmAuth {
                    domain: "CORP",
                    user: "user",
                    workstation: "WKS",
                    target_name: &target_name,
                    server: *self.server,
                    timestamp: smb::filetime(START),
                    seed: self.seed,
                };
                let blob = gss::neg_token_resp(
                    None,
                    None,
                    Some(&gss::ntlm_authenticate(&auth)),
                    Some(&gss::ntlm_mic(self.seed)),
                );
                let h = self.req(Smb2Command::SESSION_SETUP);
                let mut p = self.send(&h, &smb::session_setup_request(1, 0, &blob));
                let (status, body) = if f == Some(Failure::LogonRefused) {
                    self.stage = 99;
                    (NtStatus::STATUS_LOGON_FAILURE, smb::error_body())
                } else {
                    let blob = gss::neg_token_resp(
                        Some(NegState::AcceptCompleted),
                        None,
                        None,
                        Some(&gss::ntlm_mic(self.seed ^ 1)),
                    );
                    (
                        NtStatus::STATUS_SUCCESS,
                        smb::session_setup_response(0, &blob),
                    )
                };
                let r = Header::response_to(&h, status);
                p.extend(self.answer(&r, &body));
                Some(p)
            }
            5 => {
                let (share, status) = match f {
                    Some(Failure::BadNetworkName) => ("dta", NtStatus::STATUS_BAD_NETWORK_NAME),
                    Some(Failure::TreeAccessDenied) => ("hr", NtStatus::STATUS_ACCESS_DENIED),
                    _ => ("data", NtStatus::STATUS_SUCCESS),
                };
                let h = self.req(Smb2Command::TREE_CONNECT);
                let path = format!(r"\\{}\{share}", self.server.dns_computer);
                let mut p = self.send(&h, &smb::tree_connect_request(&path));
                let mut r = Header::response_to(&h, status);
                let body = if status == NtStatus::STATUS_SUCCESS {
                    r = r.tree(5);
                    self.tree = 5;
                    smb::tree_connect_response(
                        share_type::DISK,
                        share_flags::MANUAL_CACHING,
                        0,
                        0x001F_01FF,
                    )
                } else {
                    self.stage = 99;
                    smb::error_body()
                };
                p.extend(self.answer(&r, &body));
                Some(p)
            }
            6 if self.ops_left > 0 => {
                self.ops_left -= 1;
                self.stage = 5;
                let fid = smb::file_id(self.seed);
                let read = rng.below(2) == 0;
                let mut p = if read {
                    let h = self.req(Smb2Command::READ);
                    let mut p = self.send(&h, &smb::read_request(fid, 0, BLOCK as u32));
                    let r = Header::response_to(&h, NtStatus::STATUS_SUCCESS);
                    p.extend(self.answer(&r, &smb::read_response(bulk)));
                    p.push(self.tcp.ack_from_client());
                    p
                } else {
                    let h = self.req(Smb2Command::WRITE);
                    let mut p = self.send(&h, &smb::write_request(fid, 0, bulk));
                    p.push(self.tcp.ack_from_server());
                    let r = Header::response_to(&h, NtStatus::STATUS_SUCCESS);
                    p.extend(self.answer(&r, &smb::write_response(BLOCK as u32)));
                    p
                };
                // A little capture loss and reordering inside the bulk data (never in the
                // first segment, which holds the headers, nor in the last).
                if p.len() > 8 {
                    let i = 2 + rng.below(p.len() as u32 - 6) as usize;
                    match rng.below(400) {
                        0 => {
                            p.remove(i);
                        }
                        1..=3 => p.swap(i, i + 1),
                        _ => {}
                    }
                }
                Some(p)
            }
            6 | 99 => {
                self.stage = 100;
                let mut p = vec![self.tcp.fin_from_client()];
                p.push(self.tcp.fin_from_server());
                p.push(self.tcp.ack_from_client());
                Some(p)
            }
            _ => None,
        }
    }
}

pub(super) fn guid(seed: u32) -> [u8; 16] {
    let mut g = [0u8; 16];
    g.copy_from_slice(&filler(seed, 16));
    g
}

pub(super) fn kdc_req(sname: &[&str], nonce: u32, tgs: bool) -> Vec<u8> {
    let req = KdcReq {
        padata: vec![krb::pa_enc_timestamp(nonce)],
        kdc_options: krb::AS_OPTIONS,
        cname: Some("user"),
        realm: REALM,
        sname,
        nonce,
    };
    if tgs {
        krb::tgs_req(&req)
    } else {
        krb::as_req(&req)
    }
}

pub(super) fn kdc_rep(tgs: bool) -> Vec<u8> {
    let rep = KdcRep {
        padata: Vec::new(),
        crealm: REALM,
        cname: "user",
        ticket: krb::ticket(REALM, &["cifs", "nas1.corp.example"], 7, 1090, 3),
        enc_len: 290,
        seed: 4,
    };
    if tgs {
        krb::tgs_rep(&rep)
    } else {
        krb::as_rep(&rep)
    }
}

pub(super) fn krb_err(code: i32) -> Vec<u8> {
    krb::krb_error(&KrbErr {
        error_code: code,
        stime: START,
        cname: None,
        realm: REALM,
        sname: &["krbtgt", REALM],
        e_text: None,
        e_data: None,
    })
}
