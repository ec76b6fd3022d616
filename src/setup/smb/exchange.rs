//! Request/response matching on one SMB connection: a request opens an exchange, keyed by its
//! MessageId (SMB1: its MID); an interim STATUS_PENDING response is noted and the final
//! response closes it. Setup commands keep what their bodies say; other commands are only
//! counted, with at most [`MAX_PENDING_OTHER`] awaiting their responses.

use super::{
    auth, Command, Exchange, NegotiateInfo, SessionInfo, Sinks, SmbConnection, TreeInfo,
    MAX_PENDING_OTHER,
};
use crate::flow::{At, Dir};
use crate::proto::ntstatus::NtStatus;
use crate::proto::smb1::{self, Smb1Body, Smb1Command, Smb1Status};
use crate::proto::smb2::{Body, NegotiateContext, Smb2Command, Smb2Message};
use crate::setup::observations::{Observation, Smb2Observation};

impl SmbConnection {
    pub(super) fn smb1_message(&mut self, at: At, dir: Dir, end: u64, payload: &[u8], cut: bool) {
        let Ok(msg) = smb1::parse(payload) else {
            return;
        };
        let h = msg.header;
        let command = Command::Smb1(h.command);
        let setup = matches!(
            h.command,
            Smb1Command::NEGOTIATE
                | Smb1Command::SESSION_SETUP_ANDX
                | Smb1Command::TREE_CONNECT_ANDX
        );
        if !setup {
            return;
        }
        let key = u64::from(h.mid) | 1 << 63;
        if !h.is_response() && dir == Dir::ToServer {
            let mut x = Exchange::new(command, u64::from(h.mid));
            x.request = Some(at);
            x.request_end = end;
            x.truncated = cut;
            if let Ok(Smb1Body::NegotiateRequest { dialects }) = &msg.body {
                x.negotiate = Some(NegotiateInfo {
                    smb1_dialects: dialects.iter().map(|d| d.to_string()).collect(),
                    ..NegotiateInfo::default()
                });
            }
            let i = self.exchanges.len();
            if h.command == Smb1Command::NEGOTIATE {
                self.smb1_negotiate = Some(i);
            }
            self.pending.insert(key, i);
            self.unacked.push_back(i);
            self.exchanges.push(x);
        } else if h.is_response() {
            let i = match self.pending.remove(&key) {
                Some(i) => i,
                None => {
                    self.exchanges
                        .push(Exchange::new(command, u64::from(h.mid)));
                    self.exchanges.len() - 1
                }
            };
            if Some(i) == self.smb1_negotiate {
                self.smb1_negotiate = None;
            }
            let Some(x) = self.exchanges.get_mut(i) else {
                return;
            };
            x.response = Some(at);
            x.truncated |= cut;
            x.status = Some(match h.status {
                Smb1Status::Nt(s) => s.0,
                Smb1Status::Dos { class, code } => (u32::from(class) << 16) | u32::from(code),
            });
            if let Ok(Smb1Body::NegotiateResponse { dialect_index, .. }) = &msg.body {
                x.negotiate
                    .get_or_insert_with(NegotiateInfo::default)
                    .smb1_dialect_index = Some(*dialect_index);
            }
        }
    }

    pub(super) fn smb2_message(
        &mut self,
        at: At,
        dir: Dir,
        end: u64,
        msg: &Smb2Message<'_>,
        cut: bool,
        sinks: &mut Sinks<'_>,
    ) {
        let h = &msg.header;
        let mut rec = Smb2Observation::of(at.frame, msg, cut);
        let cmd = h.command;
        let is_setup = cmd.is_setup();
        if !h.is_response() {
            if dir != Dir::ToServer || cmd == Smb2Command::CANCEL {
                sinks.push(Observation::Smb2(rec));
                return;
            }
            if !is_setup {
                self.other_requests += 1;
                if self.first_other_request.is_none() && h.session_id != 0 {
                    self.first_other_request = Some((at, h.is_signed()));
                }
                if self.pending_other.len() < MAX_PENDING_OTHER {
                    self.pending_other.insert(h.message_id, cmd);
                }
                sinks.push(Observation::Smb2(rec));
                return;
            }
            let mut x = Exchange::new(Command::Smb2(cmd), h.message_id);
            x.session_id = h.session_id;
            x.tree_id = h.tree_id();
            x.request = Some(at);
            x.request_end = end;
            x.truncated = cut;
            x.request_signed = h.is_signed();
            match &msg.body {
                Ok(Body::NegotiateRequest(n)) => {
                    let ciphers = n.contexts.iter().find_map(|c| match c {
                        NegotiateContext::Encryption { ciphers } => Some(ciphers.clone()),
                        _ => None,
                    });
                    x.negotiate = Some(NegotiateInfo {
                        offered: n.dialects.clone(),
                        client_security_mode: Some(n.security_mode),
                        client_capabilities: Some(n.capabilities),
                        client_ciphers: ciphers,
                        ..NegotiateInfo::default()
                    });
                    rec.dialects = n.dialects.clone();
                }
                Ok(Body::SessionSetupRequest(s)) => {
                    let mut info = SessionInfo {
                        client_security_mode: Some(s.security_mode),
                        ..SessionInfo::default()
                    };
                    if let Ok(buf) = s.security_buffer {
                        auth::security_buffer(buf, &mut info, at.frame, &mut auth::KrbSink(sinks));
                    }
                    rec.ntlm = info.ntlm.clone();
                    x.session = Some(info);
                }
                Ok(Body::TreeConnectRequest(t)) => {
                    let path = t.path.clone().ok();
                    rec.path = path.clone();
                    x.tree = Some(TreeInfo {
                        path,
                        ..TreeInfo::default()
                    });
                }
                _ => {}
            }
            // A resent request with the same MessageId replaces the earlier one.
            let i = self.exchanges.len();
            self.pending.insert(h.message_id, i);
            self.unacked.push_back(i);
            self.exchanges.push(x);
            sinks.push(Observation::Smb2(rec));
            return;
        }
        // A response.
        let status = h.status;
        if !is_setup {
            if status != NtStatus::STATUS_PENDING || !h.is_async() {
                self.pending_other.remove(&h.message_id);
            }
            sinks.push(Observation::Smb2(rec));
            return;
        }
        let found = self.pending.get(&h.message_id).copied().filter(|&i| {
            self.exchanges
                .get(i)
                .is_some_and(|x| x.command == Command::Smb2(cmd))
        });
        let i = match found {
            Some(i) => i,
            None if cmd == Smb2Command::NEGOTIATE && self.smb1_negotiate.is_some() => {
                let i = self.smb1_negotiate.take().unwrap_or_default();
                self.pending.retain(|_, v| *v != i);
                i
            }
            None => {
                let mut x = Exchange::new(Command::Smb2(cmd), h.message_id);
                x.session_id = h.session_id;
                x.tree_id = h.tree_id();
                self.exchanges.push(x);
                self.exchanges.len() - 1
            }
        };
        let interim = status == NtStatus::STATUS_PENDING && h.is_async();
        if !interim {
            self.pending.remove(&h.message_id);
        }
        let Some(x) = self.exchanges.get_mut(i) else {
            sinks.push(Observation::Smb2(rec));
            return;
        };
        x.truncated |= cut;
        if interim {
            x.interim.get_or_insert(at);
            sinks.push(Observation::Smb2(rec));
            return;
        }
        x.response = Some(at);
        x.status = Some(status.0);
        x.response_signed = h.is_signed();
        if x.session_id == 0 {
            x.session_id = h.session_id;
        }
        if let Some(t) = h.tree_id() {
            x.tree_id.get_or_insert(t);
        }
        match &msg.body {
            Ok(Body::NegotiateResponse(n)) => {
                let ciphers = n.contexts.iter().find_map(|c| match c {
                    NegotiateContext::Encryption { ciphers } => Some(ciphers.clone()),
                    _ => None,
                });
                let info = x.negotiate.get_or_insert_with(NegotiateInfo::default);
                info.dialect = Some(n.dialect);
                info.server_security_mode = Some(n.security_mode);
                info.server_capabilities = Some(n.capabilities);
                info.server_ciphers = ciphers;
                if let Some(krb) = n
                    .security_buffer
                    .as_ref()
                    .ok()
                    .and_then(|b| auth::offers_kerberos(b))
                {
                    info.server_offers_kerberos = Some(krb);
                }
                rec.dialect = Some(n.dialect);
            }
            Ok(Body::SessionSetupResponse(s)) => {
                let info = x.session.get_or_insert_with(SessionInfo::default);
                info.session_flags = Some(s.session_flags);
                rec.session_flags = Some(s.session_flags);
                if let Ok(buf) = s.security_buffer {
                    auth::security_buffer(buf, info, at.frame, &mut auth::KrbSink(sinks));
                }
            }
            Ok(Body::TreeConnectResponse(t)) => {
                let info = x.tree.get_or_insert_with(TreeInfo::default);
                info.share_type = Some(t.share_type);
                info.share_flags = Some(t.share_flags);
                rec.share_type = Some(t.share_type);
                rec.share_flags = Some(t.share_flags);
            }
            _ => {}
        }
        sinks.push(Observation::Smb2(rec));
    }
}
