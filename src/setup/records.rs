//! Dissection records: one per SMB2 message, Kerberos message or DNS answer, as `smbtriage
//! dump` prints them (SPEC §8). They are what the tshark differential suite compares, so field
//! names follow the contract and values follow tshark's conventions.

use serde::Serialize;

/// One SMB2 message (compounded messages each get their own record).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Smb2Record {
    /// The frame in which the message's last byte arrived.
    pub frame: u64,
    pub proto: &'static str,
    pub cmd: u16,
    pub cmd_name: String,
    pub response: bool,
    /// `0x%08x`.
    pub status: String,
    pub status_name: String,
    pub msg_id: u64,
    pub session_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub async_id: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dialects: Vec<String>,
    /// `0x%04x`, the negotiated dialect (NEGOTIATE response).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_type: Option<u8>,
    /// `0x%08x`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_flags: Option<String>,
    /// `0x%04x`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_flags: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ntlmssp_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ntlmssp_domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ntlmssp_host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ntlmssp_target: Option<String>,
}

/// One Kerberos message, on port 88 or inside an SMB security buffer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct KrbRecord {
    pub frame: u64,
    pub proto: &'static str,
    /// `udp`, `tcp` or `smb2`.
    pub carrier: &'static str,
    pub msg_type: u32,
    pub msg_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
}

/// One DNS answer record.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DnsRecord {
    pub frame: u64,
    pub proto: &'static str,
    pub name: String,
    /// `A`, `AAAA` or `CNAME`.
    pub rtype: &'static str,
    pub data: String,
}

/// Any dissection record, in the order `dump` prints them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Record {
    Smb2(Smb2Record),
    Kerberos(KrbRecord),
    Dns(DnsRecord),
}

impl Record {
    pub fn frame(&self) -> u64 {
        match self {
            Record::Smb2(r) => r.frame,
            Record::Kerberos(r) => r.frame,
            Record::Dns(r) => r.frame,
        }
    }
}
