//! Security-buffer builders: GSS-API framing (RFC 2743 3.1), SPNEGO negTokenInit and
//! negTokenResp (RFC 4178, with [MS-SPNG]'s negHints), the krb5 mechanism token (RFC 4121
//! 4.1), and the three NTLMSSP messages ([MS-NLMP] 2.2.1) with NTLMv2 responses.
//!
//! Contract: functions return the DER or little-endian bytes a Windows peer puts in an SMB2
//! security buffer. Cryptographic values (challenges, proofs, keys, MICs) are
//! [`super::filler`] bytes from a caller's seed: the structure is real, the cryptography is
//! not, which is all a dissector can tell apart anyway.

use super::der::{self, app, ctx, oid, seq};
use super::filler;

pub const OID_SPNEGO: &str = "1.3.6.1.5.5.2";
pub const OID_KRB5: &str = "1.2.840.113554.1.2.2";
/// The Kerberos OID Windows lists first, for compatibility with Windows 2000.
pub const OID_MS_KRB5: &str = "1.2.840.48018.1.2.2";
pub const OID_NEGOEX: &str = "1.3.6.1.4.1.311.2.2.30";
pub const OID_NTLMSSP: &str = "1.3.6.1.4.1.311.2.2.10";

/// Kerberos GSS token ids (RFC 4121 4.1).
pub mod tok_id {
    pub const AP_REQ: u16 = 0x0100;
    pub const AP_REP: u16 = 0x0200;
    pub const KRB_ERROR: u16 = 0x0300;
}

/// What Windows servers put in negHints (the hint is deliberately meaningless; [MS-SPNG]
/// 3.2.5.2).
const WINDOWS_HINT: &str = "not_defined_in_RFC4178@please_ignore";

/// `[APPLICATION 0] { mech OID, inner }`: a GSS-API InitialContextToken.
fn gss_wrap(mech: &str, inner: &[u8]) -> Vec<u8> {
    app(0, [oid(mech), inner.to_vec()].concat())
}

/// The krb5 mechanism token: GSS framing, the 2-byte token id, then the Kerberos message.
pub fn krb5_token(tok_id: u16, message: &[u8]) -> Vec<u8> {
    gss_wrap(OID_KRB5, &[&tok_id.to_be_bytes()[..], message].concat())
}

fn mech_list(mechs: &[&str]) -> Vec<u8> {
    ctx(0, seq(&mechs.iter().map(|m| oid(m)).collect::<Vec<_>>()))
}

/// A GSS-framed SPNEGO negTokenInit as a client's first SESSION_SETUP carries it: the
/// mechanisms it offers, most preferred first, and the optimistic token of the first one.
pub fn neg_token_init(mechs: &[&str], mech_token: Option<&[u8]>) -> Vec<u8> {
    let mut fields = vec![mech_list(mechs)];
    if let Some(t) = mech_token {
        fields.push(ctx(2, der::octets(t)));
    }
    gss_wrap(OID_SPNEGO, &ctx(0, seq(&fields)))
}

/// The NegTokenInit2 a Windows server puts in its NEGOTIATE response: the mechanisms it
/// accepts and the fixed negHints name.
pub fn neg_token_init_hint(mechs: &[&str]) -> Vec<u8> {
    let hints = ctx(3, seq(&[ctx(0, der::general_string(WINDOWS_HINT))]));
    gss_wrap(OID_SPNEGO, &ctx(0, seq(&[mech_list(mechs), hints])))
}

/// SPNEGO negState (RFC 4178 4.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NegState {
    AcceptCompleted = 0,
    AcceptIncomplete = 1,
    Reject = 2,
}

/// A negTokenResp (not GSS-framed, as RFC 4178 sends every token after the first).
pub fn neg_token_resp(
    state: Option<NegState>,
    supported_mech: Option<&str>,
    response_token: Option<&[u8]>,
    mech_list_mic: Option<&[u8]>,
) -> Vec<u8> {
    let mut fields = Vec::new();
    if let Some(s) = state {
        fields.push(ctx(0, der::enumerated(s as i64)));
    }
    if let Some(m) = supported_mech {
        fields.push(ctx(1, oid(m)));
    }
    if let Some(t) = response_token {
        fields.push(ctx(2, der::octets(t)));
    }
    if let Some(m) = mech_list_mic {
        fields.push(ctx(3, der::octets(m)));
    }
    ctx(1, seq(&fields))
}

/// An NTLMSSP mechListMIC: NTLMSSP_MESSAGE_SIGNATURE ([MS-NLMP] 2.2.2.9.1) with version 1,
/// an 8-byte checksum and sequence number 0.
pub fn ntlm_mic(seed: u32) -> Vec<u8> {
    [&[1, 0, 0, 0][..], &filler(seed, 8), &[0, 0, 0, 0]].concat()
}

/// NTLMSSP negotiate flags as a current Windows client sends them in NEGOTIATE: Unicode,
/// OEM, request target, sign, NTLM, always sign, extended session security, version,
/// 128-bit, key exchange, 56-bit.
pub const NTLM_CLIENT_FLAGS: u32 = 0xE208_8297;
/// The flags a Windows server answers with in CHALLENGE (adds target type domain and
/// target info).
pub const NTLM_SERVER_FLAGS: u32 = 0xE28A_8215;
/// The flags of the AUTHENTICATE message (the negotiated subset, plus target info).
pub const NTLM_AUTH_FLAGS: u32 = 0xE288_8215;

/// Version field: Windows 10 / Server 2016+ build 19041, NTLM revision 15.
const NTLM_VERSION: [u8; 8] = [10, 0, 0x61, 0x4A, 0, 0, 0, 15];

fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Writes (Len, MaxLen, Offset) fields and appends their payloads in order, offsets counted
/// from the signature.
fn put_fields(msg: &mut [u8], fields: &[(usize, &[u8])], payload_start: usize) -> Vec<u8> {
    let mut payload = Vec::new();
    for (at, data) in fields {
        let len = u16::try_from(data.len()).expect("NTLMSSP field under 64 KiB");
        let offset = u32::try_from(payload_start + payload.len()).expect("NTLMSSP offset");
        msg[*at..*at + 2].copy_from_slice(&len.to_le_bytes());
        msg[*at + 2..*at + 4].copy_from_slice(&len.to_le_bytes());
        msg[*at + 4..*at + 8].copy_from_slice(&offset.to_le_bytes());
        payload.extend_from_slice(data);
    }
    payload
}

fn ntlm_fixed(msg_type: u32, len: usize) -> Vec<u8> {
    let mut m = vec![0u8; len];
    m[..8].copy_from_slice(b"NTLMSSP\0");
    m[8..12].copy_from_slice(&msg_type.to_le_bytes());
    m
}

/// NEGOTIATE_MESSAGE without domain or workstation (what Windows sends).
pub fn ntlm_negotiate() -> Vec<u8> {
    let mut m = ntlm_fixed(1, 40);
    m[12..16].copy_from_slice(&NTLM_CLIENT_FLAGS.to_le_bytes());
    // Empty domain and workstation fields point at the end of the fixed part.
    m[20..24].copy_from_slice(&40u32.to_le_bytes());
    m[28..32].copy_from_slice(&40u32.to_le_bytes());
    m[32..40].copy_from_slice(&NTLM_VERSION);
    m
}

/// The server names a CHALLENGE announces in its target info.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NtlmServer<'a> {
    pub nb_domain: &'a str,
    pub nb_computer: &'a str,
    pub dns_domain: &'a str,
    pub dns_computer: &'a str,
}

fn av_pair(id: u16, value: &[u8]) -> Vec<u8> {
    let len = u16::try_from(value.len()).expect("AV pair under 64 KiB");
    [&id.to_le_bytes()[..], &len.to_le_bytes(), value].concat()
}

impl NtlmServer<'_> {
    /// AV pairs of the CHALLENGE's TargetInfo, without the terminating MsvAvEOL.
    fn av_pairs(&self, timestamp: u64) -> Vec<u8> {
        [
            av_pair(2, &utf16le(self.nb_domain)),
            av_pair(1, &utf16le(self.nb_computer)),
            av_pair(4, &utf16le(self.dns_domain)),
            av_pair(3, &utf16le(self.dns_computer)),
            av_pair(5, &utf16le(self.dns_domain)),
            av_pair(7, &timestamp.to_le_bytes()),
        ]
        .concat()
    }
}

/// CHALLENGE_MESSAGE for a domain member server.
pub fn ntlm_challenge(server: &NtlmServer<'_>, timestamp: u64, seed: u32) -> Vec<u8> {
    let mut m = ntlm_fixed(2, 56);
    m[20..24].copy_from_slice(&NTLM_SERVER_FLAGS.to_le_bytes());
    m[24..32].copy_from_slice(&filler(seed, 8));
    m[48..56].copy_from_slice(&NTLM_VERSION);
    let target = utf16le(server.nb_domain);
    let info = [server.av_pairs(timestamp), av_pair(0, &[])].concat();
    let payload = put_fields(&mut m, &[(12, &target), (40, &info)], 56);
    m.extend_from_slice(&payload);
    m
}

/// What the client authenticates as, and to whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NtlmAuth<'a> {
    pub domain: &'a str,
    pub user: &'a str,
    pub workstation: &'a str,
    /// MsvAvTargetName: the SPN the client meant, e.g. `cifs/nas1.corp.example`.
    pub target_name: &'a str,
    /// The CHALLENGE's server, whose AV pairs the client echoes.
    pub server: NtlmServer<'a>,
    /// The CHALLENGE's MsvAvTimestamp, echoed too.
    pub timestamp: u64,
    pub seed: u32,
}

/// AUTHENTICATE_MESSAGE with an NTLMv2 response ([MS-NLMP] 2.2.2.8), MIC and version.
pub fn ntlm_authenticate(a: &NtlmAuth<'_>) -> Vec<u8> {
    const FIXED: usize = 88; // through the MIC
    let mut m = ntlm_fixed(3, FIXED);
    m[60..64].copy_from_slice(&NTLM_AUTH_FLAGS.to_le_bytes());
    m[64..72].copy_from_slice(&NTLM_VERSION);
    m[72..88].copy_from_slice(&filler(a.seed ^ 0x0A0A, 16));

    let av = [
        a.server.av_pairs(a.timestamp),
        av_pair(6, &2u32.to_le_bytes()), // MsvAvFlags: the MIC is present
        av_pair(10, &[0; 16]),           // MsvAvChannelBindings: none (no TLS)
        av_pair(9, &utf16le(a.target_name)),
        av_pair(0, &[]),
    ]
    .concat();
    let mut nt = filler(a.seed, 16); // NTProofStr
    nt.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]); // RespType, HiRespType, reserved
    nt.extend_from_slice(&a.timestamp.to_le_bytes());
    nt.extend_from_slice(&filler(a.seed ^ 0x0C0C, 8)); // ChallengeFromClient
    nt.extend_from_slice(&[0; 4]);
    nt.extend_from_slice(&av);
    nt.extend_from_slice(&[0; 4]); // the padding Windows appends after the AV pairs

    let lm = [0u8; 24]; // LMv2 is zeroed when the server sent MsvAvTimestamp
    let domain = utf16le(a.domain);
    let user = utf16le(a.user);
    let workstation = utf16le(a.workstation);
    let key = filler(a.seed ^ 0x0E0E, 16);
    let payload = put_fields(
        &mut m,
        &[
            (28, &domain),
            (36, &user),
            (44, &workstation),
            (12, &lm),
            (20, &nt),
            (52, &key),
        ],
        FIXED,
    );
    m.extend_from_slice(&payload);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::gss::ntlmssp::{self, NtlmMessage, NtlmVersion};
    use crate::proto::gss::spnego::{self, MechToken, SecurityBlob};

    const SERVER: NtlmServer<'static> = NtlmServer {
        nb_domain: "CORP",
        nb_computer: "NAS1",
        dns_domain: "corp.example",
        dns_computer: "nas1.corp.example",
    };

    #[test]
    fn init_with_ntlm_token() {
        let blob = neg_token_init(&[OID_NTLMSSP], Some(&ntlm_negotiate()));
        let Ok(SecurityBlob::NegTokenInit(init)) = spnego::parse_security_blob(&blob) else {
            panic!()
        };
        assert_eq!(init.mech_types, [OID_NTLMSSP]);
        assert!(matches!(
            init.mech_token_kind(),
            Some(MechToken::Ntlmssp(_))
        ));
        let Ok(NtlmMessage::Negotiate(n)) = ntlmssp::parse(init.mech_token.unwrap()) else {
            panic!()
        };
        assert_eq!(n.flags.0, NTLM_CLIENT_FLAGS);
        assert!(n.version.is_some());
    }

    #[test]
    fn server_hint_lists_mechs() {
        let blob = neg_token_init_hint(&[OID_MS_KRB5, OID_KRB5, OID_NEGOEX, OID_NTLMSSP]);
        let Ok(SecurityBlob::NegTokenInit(init)) = spnego::parse_security_blob(&blob) else {
            panic!()
        };
        assert_eq!(init.mech_types.len(), 4);
        assert_eq!(
            init.neg_hints.unwrap().hint_name.as_deref(),
            Some(WINDOWS_HINT)
        );
    }

    #[test]
    fn resp_with_challenge_and_av_pairs() {
        let ch = ntlm_challenge(&SERVER, 0x01DA_0000_0000_0000, 5);
        let blob = neg_token_resp(
            Some(NegState::AcceptIncomplete),
            Some(OID_NTLMSSP),
            Some(&ch),
            None,
        );
        let Ok(SecurityBlob::NegTokenResp(r)) = spnego::parse_security_blob(&blob) else {
            panic!()
        };
        assert_eq!(r.neg_state, Some(spnego::NegState::AcceptIncomplete));
        assert_eq!(r.supported_mech.as_deref(), Some(OID_NTLMSSP));
        let Ok(NtlmMessage::Challenge(c)) = ntlmssp::parse(r.response_token.unwrap()) else {
            panic!()
        };
        assert_eq!(c.target_name, "CORP");
        assert_eq!(
            c.target_info.dns_computer_name().as_deref(),
            Some("nas1.corp.example")
        );
        assert_eq!(c.target_info.timestamp(), Some(0x01DA_0000_0000_0000));
    }

    #[test]
    fn authenticate_carries_names_and_target() {
        let auth = ntlm_authenticate(&NtlmAuth {
            domain: "CORP",
            user: "dwright",
            workstation: "WKS042",
            target_name: "cifs/nas1.corp.example",
            server: SERVER,
            timestamp: 7,
            seed: 9,
        });
        let blob = neg_token_resp(None, None, Some(&auth), Some(&ntlm_mic(1)));
        let Ok(SecurityBlob::NegTokenResp(r)) = spnego::parse_security_blob(&blob) else {
            panic!()
        };
        assert_eq!(r.mech_list_mic.map(<[u8]>::len), Some(16));
        let Ok(NtlmMessage::Authenticate(a)) = ntlmssp::parse(r.response_token.unwrap()) else {
            panic!()
        };
        assert_eq!((a.domain.as_str(), a.user.as_str()), ("CORP", "dwright"));
        assert_eq!(a.workstation, "WKS042");
        assert_eq!(a.ntlm_version(), NtlmVersion::V2);
        assert!(a.mic.is_some() && a.version.is_some());
        let v2 = a.ntlmv2_response().unwrap();
        assert_eq!(
            v2.av_pairs.target_name().as_deref(),
            Some("cifs/nas1.corp.example")
        );
        assert_eq!(v2.timestamp, 7);
    }

    #[test]
    fn krb5_tokens_classify() {
        let t = krb5_token(tok_id::AP_REP, &[0x6F, 0x00]);
        let Ok(SecurityBlob::Kerberos(k)) = spnego::parse_security_blob(&t) else {
            panic!()
        };
        assert_eq!((k.mech.as_str(), k.tok_id), (OID_KRB5, tok_id::AP_REP));
        assert_eq!(k.inner, [0x6F, 0x00]);
    }
}
