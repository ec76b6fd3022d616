//! The SMB2 state of one connection as a Windows client keeps it, and its exchanges.

use super::*;

/// The SMB2 state of one connection as a Windows client keeps it.
pub(super) struct Smb {
    pub(super) conn: Conn,
    pub(super) next_id: u64,
    pub(super) session_id: u64,
    pub(super) tree_id: u32,
    /// Sign requests and responses (set once the session is established with signing).
    pub(super) signing: bool,
    pub(super) seed: u32,
}

impl Smb {
    pub(super) fn new(conn: Conn, session_id: u64) -> Smb {
        Smb {
            conn,
            next_id: 0,
            session_id,
            tree_id: 0,
            signing: false,
            seed: (session_id as u32) ^ 0x5160,
        }
    }

    pub(super) fn next_seed(&mut self) -> u32 {
        self.seed = self.seed.wrapping_add(1);
        self.seed
    }

    /// The next request header: a fresh message id, the current session and tree, credit
    /// request 33 as Windows asks once it has a session.
    pub(super) fn req(&mut self, command: Smb2Command) -> Header {
        let mut h = Header::request(command, self.next_id)
            .session(self.session_id)
            .tree(self.tree_id)
            .credits(33);
        self.next_id += 1;
        if self.signing {
            h = h.signed(self.next_seed());
        }
        h
    }

    pub(super) fn resp(&mut self, req: &Header, status: NtStatus) -> Header {
        let mut h = Header::response_to(req, status);
        if self.signing {
            h = h.signed(self.next_seed());
        }
        h
    }

    pub(super) fn send(&mut self, after: Duration, r: Option<String>, h: &Header, body: &[u8]) {
        self.conn
            .client(after, r, &nbss_frame(&smb::message(h, body)));
    }

    pub(super) fn answer(&mut self, after: Duration, r: Option<String>, h: &Header, body: &[u8]) {
        self.conn
            .server(after, r, &nbss_frame(&smb::message(h, body)));
    }

    /// The NEGOTIATE request (message id 0, before any session), labelled `r`.
    pub(super) fn negotiate_request(
        &mut self,
        req: &smb::NegotiateRequest,
        r: Option<String>,
    ) -> Header {
        let h = Header::request(Smb2Command::NEGOTIATE, self.next_id)
            .charge(0)
            .credits(1);
        self.next_id += 1;
        self.send(us(120), r, &h, &req.body());
        h
    }

    /// NEGOTIATE and its response.
    pub(super) fn negotiate(
        &mut self,
        req: &smb::NegotiateRequest,
        p: &ServerProfile,
        mechs: &[&str],
    ) {
        let h = self.negotiate_request(req, role("negotiate_request"));
        let body = negotiate_response(p, self.conn.now(), mechs);
        let r = Header::response_to(&h, NtStatus::STATUS_SUCCESS);
        self.answer(us(480), role("negotiate_response"), &r, &body);
    }

    /// The first SESSION_SETUP leg of NTLMSSP: NEGOTIATE out, CHALLENGE back with
    /// MORE_PROCESSING_REQUIRED and the server's session id.
    pub(super) fn ntlm_first_leg(&mut self, server: &NtlmServer<'_>) {
        let h = self.ntlm_first_request(us(900), role("session_setup_request_1"));
        let challenge = gss::ntlm_challenge(server, smb::filetime(self.conn.now()), 0x7777);
        let blob = gss::neg_token_resp(
            Some(NegState::AcceptIncomplete),
            Some(gss::OID_NTLMSSP),
            Some(&challenge),
            None,
        );
        let r = self
            .resp(&h, NtStatus::STATUS_MORE_PROCESSING_REQUIRED)
            .session(self.session_id);
        self.answer(
            us(650),
            role("session_setup_response_1"),
            &r,
            &smb::session_setup_response(0, &blob),
        );
    }

    /// The first SESSION_SETUP request of NTLMSSP (the NTLM NEGOTIATE, sent before the
    /// server has assigned a session id) `after` the previous packet, labelled `r`.
    pub(super) fn ntlm_first_request(&mut self, after: Duration, r: Option<String>) -> Header {
        let blob = gss::neg_token_init(&[gss::OID_NTLMSSP], Some(&gss::ntlm_negotiate()));
        let session = std::mem::take(&mut self.session_id);
        let h = self.req(Smb2Command::SESSION_SETUP);
        self.send(after, r, &h, &smb::session_setup_request(1, 0, &blob));
        self.session_id = session;
        h
    }

    /// The AUTHENTICATE leg, sent as `mss`-sized segments.
    pub(super) fn ntlm_auth_request(&mut self, auth: &NtlmAuth<'_>, mss: usize) -> Header {
        let h = self.req(Smb2Command::SESSION_SETUP);
        let msg = smb::message(&h, &smb::session_setup_request(1, 0, &auth_blob(auth)));
        self.conn.send(
            Dir::ToServer,
            us(1400),
            role("session_setup_request"),
            &nbss_frame(&msg),
            mss,
        );
        h
    }

    /// The final SESSION_SETUP response; on success a 3.1.1 server signs it.
    pub(super) fn session_final(
        &mut self,
        h: &Header,
        status: NtStatus,
        flags: u16,
        token: Option<&[u8]>,
    ) {
        let blob = match (status, token) {
            (NtStatus::STATUS_SUCCESS, Some(t)) => gss::neg_token_resp(
                Some(NegState::AcceptCompleted),
                Some(gss::OID_MS_KRB5),
                Some(t),
                None,
            ),
            (NtStatus::STATUS_SUCCESS, None) => gss::neg_token_resp(
                Some(NegState::AcceptCompleted),
                None,
                None,
                Some(&gss::ntlm_mic(0x4D1C)),
            ),
            _ => Vec::new(),
        };
        let mut r = Header::response_to(h, status).credits(32);
        let body = if status == NtStatus::STATUS_SUCCESS {
            let guest = flags & smb::session_flags::IS_GUEST != 0;
            if !guest {
                r = r.signed(self.next_seed());
            }
            smb::session_setup_response(flags, &blob)
        } else {
            smb::error_body()
        };
        // Validating the AUTHENTICATE against the domain controller takes a few ms.
        self.answer(us(4200), role("session_setup_response"), &r, &body);
    }

    /// Both NTLMSSP legs ending in `status`; signing starts when it succeeds and the
    /// server requires it.
    pub(super) fn ntlm_session(
        &mut self,
        server: &NtlmServer<'_>,
        auth: &NtlmAuth<'_>,
        status: NtStatus,
    ) {
        self.ntlm_first_leg(server);
        let h = self.ntlm_auth_request(auth, 1460);
        self.session_final(&h, status, 0, None);
        self.signing = status == NtStatus::STATUS_SUCCESS;
    }

    /// TREE_CONNECT to `path`; on success the tree id becomes current.
    pub(super) fn tree_connect(
        &mut self,
        prefix: &str,
        path: &str,
        status: NtStatus,
        flags: u32,
        tree_id: u32,
    ) {
        let h = self.req(Smb2Command::TREE_CONNECT);
        self.send(
            us(700),
            role(&format!("{prefix}tree_connect_request")),
            &h,
            &smb::tree_connect_request(path),
        );
        let mut r = self.resp(&h, status);
        let body = if status == NtStatus::STATUS_SUCCESS {
            r = r.tree(tree_id);
            self.tree_id = tree_id;
            smb::tree_connect_response(share_type::DISK, flags, 0, MODIFY_ACCESS)
        } else {
            smb::error_body()
        };
        self.answer(
            us(520),
            role(&format!("{prefix}tree_connect_response")),
            &r,
            &body,
        );
    }

    /// A request sent `think` after the previous packet, answered 400 µs later.
    pub(super) fn exchange(
        &mut self,
        command: Smb2Command,
        name: &str,
        think: Duration,
        body: &[u8],
        status: NtStatus,
        resp_body: &[u8],
    ) {
        let h = self.req(command);
        self.send(think, role(&format!("{name}_request")), &h, body);
        let r = self.resp(&h, status);
        self.answer(us(400), role(&format!("{name}_response")), &r, resp_body);
    }

    /// CREATE, READ of `len` bytes, CLOSE of `name` on the current tree.
    pub(super) fn read_file(&mut self, name: &str, len: usize, fid_seed: u32) {
        let fid = smb::file_id(fid_seed);
        let t = smb::filetime(START);
        self.exchange(
            Smb2Command::CREATE,
            "create",
            us(900),
            &smb::create_request(name, false),
            NtStatus::STATUS_SUCCESS,
            &smb::create_response(fid, false, len as u64, t),
        );
        let data = filler(fid_seed ^ 0xDA7A, len);
        self.exchange(
            Smb2Command::READ,
            "read",
            us(300),
            &smb::read_request(fid, 0, len as u32),
            NtStatus::STATUS_SUCCESS,
            &smb::read_response(&data),
        );
        self.exchange(
            Smb2Command::CLOSE,
            "close",
            us(250),
            &smb::close_request(fid),
            NtStatus::STATUS_SUCCESS,
            &smb::close_response(),
        );
    }

    /// TREE_DISCONNECT answered with `status`, LOGOFF.
    pub(super) fn tree_disconnect_and_logoff(&mut self, status: NtStatus) {
        let body = if status == NtStatus::STATUS_SUCCESS {
            smb::empty_body()
        } else {
            smb::error_body()
        };
        self.exchange(
            Smb2Command::TREE_DISCONNECT,
            "tree_disconnect",
            ms(2),
            &smb::empty_body(),
            status,
            &body,
        );
        self.tree_id = 0;
        self.exchange(
            Smb2Command::LOGOFF,
            "logoff",
            us(400),
            &smb::empty_body(),
            NtStatus::STATUS_SUCCESS,
            &smb::empty_body(),
        );
    }
}

pub(super) fn smb_conn(client: Ipv4Addr, port: u16, server: Ipv4Addr, start: Timestamp) -> Conn {
    Conn::new((client, port).into(), (server, 445).into(), start)
}

/// Handshake, 3.1.1 NEGOTIATE and a two-leg NTLMSSP session with nas1 that succeeds.
pub(super) fn nas1_session(session_id: u64) -> Smb {
    let mut s = Smb::new(smb_conn(CLIENT_V4, 49_731, NAS1_V4, START), session_id);
    s.conn.handshake();
    s.negotiate(
        &windows_negotiate("nas1.corp.example"),
        &NAS1_PROFILE,
        &STANDALONE_MECHS,
    );
    let auth = ntlm_auth(NAS1, "cifs/nas1.corp.example", 0x0D01);
    s.ntlm_session(&NAS1, &auth, NtStatus::STATUS_SUCCESS);
    s
}

pub(super) fn single(name: &'static str, s: Smb) -> Scenario {
    finish(name, Link::default(), vec![s.conn.flow])
}
