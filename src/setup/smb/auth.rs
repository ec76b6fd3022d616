//! Security buffers of SESSION_SETUP (and the server's NEGOTIATE hint): SPNEGO around NTLMSSP
//! or Kerberos, decoded into what the findings need — who authenticated, with which mechanism,
//! for which SPN, and the Kerberos error a server returned inside SMB.

use super::{SessionInfo, Sinks};
use crate::proto::gss::ntlmssp::{self, NtlmMessage, NtlmVersion};
use crate::proto::gss::spnego::{self, MechToken, SecurityBlob};
use crate::proto::kerberos::{self, KerberosTime, KrbErrorCode, KrbMessage};
use crate::setup::observations::{KrbCarrier, KrbObservation, Observation};

/// The NTLMSSP AUTHENTICATE a client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtlmInfo {
    pub domain: String,
    pub user: String,
    pub workstation: String,
    /// MsvAvTargetName: the SPN the client used.
    pub target_name: Option<String>,
    pub version: &'static str,
}

impl NtlmInfo {
    /// `DOMAIN\user@WORKSTATION`, empty parts left out.
    pub fn principal(&self) -> String {
        let mut s = String::new();
        if !self.domain.is_empty() {
            s.push_str(&self.domain);
            s.push('\\');
        }
        s.push_str(if self.user.is_empty() {
            "(anonymous)"
        } else {
            &self.user
        });
        if !self.workstation.is_empty() {
            s.push('@');
            s.push_str(&self.workstation);
        }
        s
    }
}

/// A Kerberos error carried in a SESSION_SETUP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmbKrbError {
    pub code: KrbErrorCode,
    pub sname: String,
    pub realm: String,
    pub nt_status: Option<u32>,
    /// The server's clock when it answered (`stime`), and the requester's time it echoed
    /// (`ctime`), when present.
    pub stime: KerberosTime,
    pub ctime: Option<KerberosTime>,
}

/// Whether the SPNEGO hint in a NEGOTIATE response lists Kerberos (`None`: no hint).
pub(super) fn offers_kerberos(buf: &[u8]) -> Option<bool> {
    match spnego::parse_security_blob(buf) {
        Ok(SecurityBlob::NegTokenInit(hint)) => Some(
            hint.mech_types
                .iter()
                .any(|m| m == spnego::OID_KRB5 || m == spnego::OID_MS_KRB5),
        ),
        _ => None,
    }
}

/// Routes Kerberos messages found in security buffers to the dump.
pub(super) struct KrbSink<'s, 'a>(pub(super) &'s mut Sinks<'a>);

impl KrbSink<'_, '_> {
    fn push(&mut self, o: KrbObservation) {
        self.0.push(Observation::Kerberos(o));
    }
}

/// Decodes a SESSION_SETUP security buffer into `info`.
pub(super) fn security_buffer(
    buf: &[u8],
    info: &mut SessionInfo,
    frame: u64,
    krb: &mut KrbSink<'_, '_>,
) {
    let token = match spnego::parse_security_blob(buf) {
        Ok(SecurityBlob::NegTokenInit(init)) => init.mech_token_kind(),
        Ok(SecurityBlob::NegTokenResp(resp)) => resp.response_token_kind(),
        Ok(SecurityBlob::Ntlmssp(b)) => Some(MechToken::Ntlmssp(b)),
        Ok(SecurityBlob::Kerberos(k)) => Some(MechToken::Kerberos(k)),
        Ok(SecurityBlob::OtherGss { .. }) => {
            info.mechanism.get_or_insert("other");
            None
        }
        Ok(SecurityBlob::Empty) | Err(_) => None,
    };
    match token {
        Some(MechToken::Ntlmssp(b)) => {
            info.mechanism.get_or_insert("NTLMSSP");
            if let Ok(NtlmMessage::Authenticate(a)) = ntlmssp::parse(b) {
                let target_name = a.ntlmv2_response().and_then(|r| r.av_pairs.target_name());
                info.ntlm = Some(NtlmInfo {
                    domain: a.domain.clone(),
                    user: a.user.clone(),
                    workstation: a.workstation.clone(),
                    target_name,
                    version: match a.ntlm_version() {
                        NtlmVersion::Anonymous => "anonymous",
                        NtlmVersion::V1 => "NTLMv1",
                        NtlmVersion::V2 => "NTLMv2",
                    },
                });
            }
        }
        Some(MechToken::Kerberos(k)) => {
            info.mechanism.get_or_insert("Kerberos");
            if let Ok(tok) = kerberos::parse_gss_krb5(k.inner) {
                krb.push(KrbObservation::of(&tok.message, frame, KrbCarrier::Smb2));
                match &tok.message {
                    KrbMessage::ApReq(ap) => {
                        info.ticket =
                            Some((ap.ticket.realm.to_string(), ap.ticket.sname.to_string()));
                    }
                    KrbMessage::Error(e) => {
                        info.krb_error = Some(SmbKrbError {
                            code: e.error_code,
                            sname: e.sname.to_string(),
                            realm: e.realm.to_string(),
                            nt_status: e.nt_status(),
                            stime: e.stime,
                            ctime: e.ctime,
                        });
                    }
                    _ => {}
                }
            }
        }
        Some(MechToken::Raw(_)) | None => {}
    }
}
