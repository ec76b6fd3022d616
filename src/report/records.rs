//! Dissection records: one per SMB2 message, Kerberos message or DNS answer, as `smbtriage
//! dump` prints them (SPEC §8), made from setup's [`Observation`]s. They are what the tshark
//! differential suite compares, so field names follow the contract and values follow tshark's
//! conventions (`0x%04x` dialects and flags, `0x%08x` statuses, names beside numbers).

use crate::setup::observations::{
    DnsAnswer, DnsObservation, KrbCarrier, KrbObservation, Observation, Smb2Observation,
};
use serde::{Serialize, Serializer};

/// One SMB2 message.
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

impl From<&Smb2Observation> for Smb2Record {
    fn from(o: &Smb2Observation) -> Self {
        let hex16 = |v: u16| format!("0x{v:04x}");
        let ntlm = o.ntlm.as_ref();
        Self {
            frame: o.frame,
            proto: "smb2",
            cmd: o.command.0,
            cmd_name: o
                .command
                .name()
                .map(str::to_string)
                .unwrap_or_else(|| hex16(o.command.0)),
            response: o.response,
            status: format!("0x{:08x}", o.status.0),
            status_name: o.status.to_string(),
            msg_id: o.msg_id,
            session_id: o.session_id,
            tree_id: o.tree_id,
            async_id: o.async_id,
            truncated: o.truncated,
            dialects: o.dialects.iter().map(|d| hex16(d.0)).collect(),
            dialect: o.dialect.map(|d| hex16(d.0)),
            path: o.path.clone(),
            share_type: o.share_type.map(|t| t.0),
            share_flags: o.share_flags.map(|f| format!("0x{:08x}", f.0)),
            session_flags: o.session_flags.map(|f| hex16(f.0)),
            ntlmssp_user: ntlm.map(|n| n.user.clone()),
            ntlmssp_domain: ntlm.map(|n| n.domain.clone()),
            ntlmssp_host: ntlm.map(|n| n.workstation.clone()),
            ntlmssp_target: ntlm.and_then(|n| n.target_name.clone()),
        }
    }
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

impl From<&KrbObservation> for KrbRecord {
    fn from(o: &KrbObservation) -> Self {
        Self {
            frame: o.frame,
            proto: "kerberos",
            carrier: match o.carrier {
                KrbCarrier::Udp => "udp",
                KrbCarrier::Tcp => "tcp",
                KrbCarrier::Smb2 => "smb2",
            },
            msg_type: o.msg_type.0,
            msg_name: o.msg_type.to_string(),
            error_code: o.error_code.map(|c| c.0),
            error_name: o.error_code.map(|c| c.to_string()),
            cname: o.cname.clone(),
            sname: o.sname.clone(),
            realm: o.realm.clone(),
        }
    }
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

impl From<&DnsObservation> for DnsRecord {
    fn from(o: &DnsObservation) -> Self {
        let (rtype, data) = match &o.answer {
            DnsAnswer::A(a) => ("A", a.to_string()),
            DnsAnswer::Aaaa(a) => ("AAAA", a.to_string()),
            DnsAnswer::Cname(c) => ("CNAME", c.clone()),
        };
        Self {
            frame: o.frame,
            proto: "dns",
            name: o.name.clone(),
            rtype,
            data,
        }
    }
}

/// An observation prints as its record.
impl Serialize for Observation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Observation::Smb2(o) => Smb2Record::from(o).serialize(s),
            Observation::Kerberos(o) => KrbRecord::from(o).serialize(s),
            Observation::Dns(o) => DnsRecord::from(o).serialize(s),
        }
    }
}
