//! What setup saw of each SMB2 message, Kerberos message and DNS answer, kept for
//! `smbtriage dump` (only when asked for): the parsers' typed values, one observation per
//! message or answer. How they print — field names, tshark's hex conventions — is
//! [`crate::report::records`]' business.

use super::smb::NtlmInfo;
use crate::proto::kerberos::{KrbErrorCode, KrbMessage, KrbMsgType};
use crate::proto::ntstatus::NtStatus;
use crate::proto::smb2::{Dialect, SessionFlags, ShareFlags, ShareType, Smb2Command, Smb2Message};
use std::net::{Ipv4Addr, Ipv6Addr};

/// One SMB2 message (compounded messages each get their own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smb2Observation {
    /// The frame in which the message's last byte arrived.
    pub frame: u64,
    pub command: Smb2Command,
    pub response: bool,
    pub status: NtStatus,
    pub msg_id: u64,
    pub session_id: u64,
    pub tree_id: Option<u32>,
    pub async_id: Option<u64>,
    /// The message was cut (snaplen, gap, end of capture).
    pub truncated: bool,
    /// The dialects a NEGOTIATE request offered.
    pub dialects: Vec<Dialect>,
    /// The dialect a NEGOTIATE response chose.
    pub dialect: Option<Dialect>,
    /// A TREE_CONNECT request's share path.
    pub path: Option<String>,
    pub share_type: Option<ShareType>,
    pub share_flags: Option<ShareFlags>,
    pub session_flags: Option<SessionFlags>,
    /// The NTLMSSP AUTHENTICATE in a SESSION_SETUP request.
    pub ntlm: Option<NtlmInfo>,
}

impl Smb2Observation {
    /// A message's header; what its body showed is filled in by the caller.
    pub fn of(frame: u64, msg: &Smb2Message<'_>, truncated: bool) -> Self {
        let h = &msg.header;
        Self {
            frame,
            command: h.command,
            response: h.is_response(),
            status: h.status,
            msg_id: h.message_id,
            session_id: h.session_id,
            tree_id: h.tree_id(),
            async_id: h.async_id(),
            truncated,
            dialects: Vec::new(),
            dialect: None,
            path: None,
            share_type: None,
            share_flags: None,
            session_flags: None,
            ntlm: None,
        }
    }
}

/// What carried a Kerberos message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KrbCarrier {
    Udp,
    Tcp,
    /// An SMB2 SESSION_SETUP security buffer.
    Smb2,
}

/// One Kerberos message, on a KDC port or inside an SMB security buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KrbObservation {
    pub frame: u64,
    pub carrier: KrbCarrier,
    pub msg_type: KrbMsgType,
    pub error_code: Option<KrbErrorCode>,
    pub cname: Option<String>,
    pub sname: Option<String>,
    pub realm: Option<String>,
}

impl KrbObservation {
    pub fn of(msg: &KrbMessage<'_>, frame: u64, carrier: KrbCarrier) -> Self {
        Self {
            frame,
            carrier,
            msg_type: msg.msg_type(),
            error_code: msg.error_code(),
            cname: msg.cname().map(|c| c.to_string()),
            sname: msg.sname().map(|s| s.to_string()),
            realm: msg.realm().map(str::to_string),
        }
    }
}

/// The data of a DNS answer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsAnswer {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// The canonical name the owner is an alias of.
    Cname(String),
}

/// One DNS answer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsObservation {
    pub frame: u64,
    pub name: String,
    pub answer: DnsAnswer,
}

/// Any observation, in the order `dump` prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    Smb2(Smb2Observation),
    Kerberos(KrbObservation),
    Dns(DnsObservation),
}

impl Observation {
    pub fn frame(&self) -> u64 {
        match self {
            Observation::Smb2(o) => o.frame,
            Observation::Kerberos(o) => o.frame,
            Observation::Dns(o) => o.frame,
        }
    }
}
