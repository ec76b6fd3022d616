//! The finding catalog: every finding id with its default severity, phase, title, explanation
//! and remediation (SPEC §7, a **contract**: ids, severities and phases do not change).
//!
//! One static table, [`CATALOG`], indexed by [`FindingId`]; rules copy severity, phase and
//! remediation from it ([`crate::findings::Finding::new`]), `smbtriage explain` prints it
//! ([`explain`]) and the SARIF rules reuse it. The texts are written for a Windows or Samba
//! administrator and follow the troubleshooting article the product automates
//! (`seed/smb-negotiate-session-tree-connect-failures.txt`): each of its paragraphs maps to an
//! explanation or a remediation step here, which the tests check.

use super::{Phase, Severity};
use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A stable finding id; serialized and displayed as its kebab-case string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingId {
    TcpConnectFailed,
    NegotiateTimeout,
    NegotiateNoResponse,
    NegotiateFailed,
    SessionSetupNoResponse,
    SessionSetupFailed,
    SessionSetupGuest,
    KerberosError,
    KerberosSpnUnknown,
    KerberosFallbackNtlm,
    KerberosPreauthRequired,
    SigningProblem,
    TreeConnectBadNetworkName,
    TreeConnectAccessDenied,
    EncryptionRequired,
    TreeConnectFailed,
    SmbEncrypted,
    CaptureIncomplete,
}

impl FindingId {
    /// Every id, in catalog order (the order of the setup phases).
    pub const ALL: [FindingId; 18] = [
        FindingId::TcpConnectFailed,
        FindingId::NegotiateTimeout,
        FindingId::NegotiateNoResponse,
        FindingId::NegotiateFailed,
        FindingId::SessionSetupNoResponse,
        FindingId::SessionSetupFailed,
        FindingId::SessionSetupGuest,
        FindingId::KerberosError,
        FindingId::KerberosSpnUnknown,
        FindingId::KerberosFallbackNtlm,
        FindingId::KerberosPreauthRequired,
        FindingId::SigningProblem,
        FindingId::TreeConnectBadNetworkName,
        FindingId::TreeConnectAccessDenied,
        FindingId::EncryptionRequired,
        FindingId::TreeConnectFailed,
        FindingId::SmbEncrypted,
        FindingId::CaptureIncomplete,
    ];

    /// The kebab-case id, e.g. `negotiate-timeout`.
    pub fn as_str(self) -> &'static str {
        self.entry().name
    }

    /// This id's catalog entry.
    pub fn entry(self) -> &'static CatalogEntry {
        // CATALOG is in the same order as the enum; the `catalog_is_indexed_by_id` test holds
        // that, so the index is always in range and names the right entry.
        &CATALOG[self as usize]
    }
}

impl fmt::Display for FindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FindingId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The id given to `smbtriage explain` is not in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown finding id `{0}` (known ids: {known})", known = known_ids())]
pub struct UnknownFindingId(pub String);

fn known_ids() -> String {
    FindingId::ALL.map(FindingId::as_str).join(", ")
}

impl FromStr for FindingId {
    type Err = UnknownFindingId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        FindingId::ALL
            .into_iter()
            .find(|id| id.as_str().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownFindingId(s.to_string()))
    }
}

/// Everything fixed about a finding id.
#[derive(Debug, PartialEq, Eq)]
pub struct CatalogEntry {
    pub id: FindingId,
    /// The kebab-case id string.
    pub name: &'static str,
    /// Default severity; a rule may lower or raise it where SPEC §7 says so (e.g.
    /// `kerberos-error` is a warning when a later attempt succeeded).
    pub severity: Severity,
    pub phase: Phase,
    /// A short headline.
    pub title: &'static str,
    /// What the symptom looks like on the wire and why it happens.
    pub explanation: &'static str,
    /// What to do next, one step per item.
    pub remediation: &'static [&'static str],
    /// A page with more detail, for SARIF's `helpUri`.
    pub help_uri: Option<&'static str>,
}

/// The troubleshooting article this catalog follows.
const ARTICLE_URI: &str = "https://docs.microsoft.com/en-us/windows-server/storage/file-server/troubleshoot/negotiate-session-setup-tree-connect-fails";
/// [MS-SMB2] 3.3.5.7, Receiving an SMB2 TREE_CONNECT Request: why a server fails a tree connect.
const TREE_CONNECT_URI: &str = "https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-smb2/652e0c14-5014-4470-999d-b174d7b2da87";

/// The catalog, in [`FindingId`] order.
pub static CATALOG: [CatalogEntry; 18] = [
    CatalogEntry {
        id: FindingId::TcpConnectFailed,
        name: "tcp-connect-failed",
        severity: Severity::Error,
        phase: Phase::Tcp,
        title: "TCP connection to the SMB or Kerberos port failed",
        explanation: "The client sent a TCP SYN to an SMB (445, 139) or Kerberos (88) port and \
            the server either answered with a reset or never answered at all. No SMB traffic \
            could follow. A reset usually means nothing listens on that port (the Server \
            service or Samba is stopped, or SMB is disabled); silence usually means a firewall \
            on the way or on the server drops the packets.",
        remediation: &[
            "Check that the file server service is running (Windows: the Server service, \
             `LanmanServer`; Samba: `smbd`) and listens on the port (`netstat -an`, `ss -ltn`).",
            "Check the host firewall and any network firewall between client and server for \
             TCP 445 (and 139 for NetBIOS, 88 for Kerberos).",
            "From the client, test the port: `Test-NetConnection <server> -Port 445`.",
        ],
        help_uri: None,
    },
    CatalogEntry {
        id: FindingId::NegotiateTimeout,
        name: "negotiate-timeout",
        severity: Severity::Error,
        phase: Phase::Negotiate,
        title: "SMB NEGOTIATE was never answered and the connection was closed",
        explanation: "The TCP connection came up and the client sent its SMB NEGOTIATE \
            request, but the server never sent a NEGOTIATE response. Often the server's TCP \
            stack still acknowledges the request within a fraction of a millisecond, which \
            shows the bytes arrived and something above TCP held them. A Windows client waits \
            about 60 seconds and then resets the connection; other clients give up sooner and \
            close it with a FIN. The usual cause is an antivirus program or another file \
            system filter driver on the server that blocks the SMB server while it works.",
        remediation: &[
            "Look at antivirus and other filter drivers on the server first (`fltmc` lists \
             them): exclude the SMB server from scanning, update the product, or test with it \
             temporarily disabled.",
            "On Windows Server 2008 R2, install the SMB hotfixes Microsoft published for \
             NEGOTIATE hangs.",
            "Make sure both the SMB client and the SMB server have current updates.",
            "If the server is a Samba or NAS device, check its logs for the time of the \
             request; a hung `smbd` child or a stuck authentication back-end shows the same \
             symptom.",
        ],
        help_uri: Some(ARTICLE_URI),
    },
    CatalogEntry {
        id: FindingId::NegotiateNoResponse,
        name: "negotiate-no-response",
        severity: Severity::Warning,
        phase: Phase::Negotiate,
        title: "SMB NEGOTIATE unanswered when the capture ended",
        explanation: "The client sent an SMB NEGOTIATE request and the capture ended before a \
            response or a close was seen. This is the start of a NEGOTIATE timeout (the server \
            holding the request, often because of antivirus or a filter driver), but the \
            capture stopped too early to show how it ended. A client that closed the \
            connection itself within a second of its NEGOTIATE, before any server could \
            answer (scanners and probes do), is reported at info: that says nothing about the \
            server.",
        remediation: &[
            "Capture again for longer: at least 60 seconds after the connection attempt, so \
             the reset or close is recorded.",
            "Meanwhile check antivirus and other filter drivers on the server, the SMB hotfixes \
             on Windows Server 2008 R2, and updates on client and server, as for a NEGOTIATE \
             timeout.",
        ],
        help_uri: Some(ARTICLE_URI),
    },
    CatalogEntry {
        id: FindingId::NegotiateFailed,
        name: "negotiate-failed",
        severity: Severity::Error,
        phase: Phase::Negotiate,
        title: "SMB NEGOTIATE failed",
        explanation: "The server answered the NEGOTIATE request with an error status, or \
            client and server have no SMB dialect in common, for example a client that only \
            offers SMB1 talking to a server with SMB1 disabled, or a server that only speaks \
            SMB1 to a client that no longer offers it. A server can also refuse without an \
            answer: Windows with SMB1 disabled resets an SMB1-only NEGOTIATE within \
            microseconds. A reset or close that fast is a refusal, not the hang of a NEGOTIATE \
            timeout. Nothing after NEGOTIATE can happen without a common dialect. When the \
            same client set up an SMB2/3 session with the server shortly after, the failed \
            NEGOTIATE was a probe or a fallback that worked, and the finding is info.",
        remediation: &[
            "Compare the dialects the client offered with the ones the server allows (Windows: \
             `Get-SmbServerConfiguration | select EnableSMB1Protocol, EnableSMB2Protocol`; \
             Samba: `server min protocol` / `server max protocol`, and `client min protocol` on \
             a Samba client).",
            "Prefer upgrading an SMB1-only device over re-enabling SMB1; if SMB1 must be used, \
             enable it only for as long as needed.",
            "Check the status code shown against the server's logs.",
        ],
        help_uri: None,
    },
    CatalogEntry {
        id: FindingId::SessionSetupNoResponse,
        name: "session-setup-no-response",
        severity: Severity::Error,
        phase: Phase::SessionSetup,
        title: "SMB SESSION_SETUP was never answered",
        explanation: "NEGOTIATE succeeded and the client sent a SESSION_SETUP request carrying \
            its authentication token, but the server never responded. The server is usually \
            waiting on whatever checks the credentials: a domain controller it cannot reach, a \
            slow or hung authentication back-end (winbind, sssd, an LDAP server), or a filter \
            driver holding the request.",
        remediation: &[
            "Check that the server can reach its domain controllers and that its secure channel \
             works (`Test-ComputerSecureChannel`, or `wbinfo -t` on Samba).",
            "Look at the server's event log or Samba log at the time of the request.",
            "Check antivirus and filter drivers on the server, as for a NEGOTIATE timeout.",
        ],
        help_uri: Some(ARTICLE_URI),
    },
    CatalogEntry {
        id: FindingId::SessionSetupFailed,
        name: "session-setup-failed",
        severity: Severity::Error,
        phase: Phase::SessionSetup,
        title: "SMB SESSION_SETUP failed",
        explanation: "The last SESSION_SETUP response carried an error status, so the client \
            was not logged on. (STATUS_MORE_PROCESSING_REQUIRED in between is a normal step of \
            the exchange, not a failure.) When the UNC path uses the server's FQDN or NetBIOS \
            name, Windows authenticates with Kerberos and first asks the KDC for a ticket to \
            the server's `cifs/` SPN; otherwise, or when that fails, it uses NTLM. The \
            security blob of the request shows which credentials were actually sent.",
        remediation: &[
            "Check the credentials shown (NTLM domain\\user, or the Kerberos client and the \
             SPN of the ticket) against the account that should be used; a cached or mapped \
             credential is often not the one expected.",
            "Look at the Kerberos traffic on port 88 before the SESSION_SETUP: errors during \
             pre-authentication are normal, but an error after pre-authentication is the real \
             cause.",
            "For STATUS_ACCESS_DENIED, SMB server name hardening may reject the name the \
             client used: test with `SmbServerNameHardeningLevel` set to 0 on the server.",
            "When the server is reached through a DNS CNAME alias, it needs an SPN for that \
             alias: `setspn -S cifs/<alias> <server-account>`.",
            "Make sure SMB signing works between the two, especially with older third-party \
             devices.",
        ],
        help_uri: Some(ARTICLE_URI),
    },
    CatalogEntry {
        id: FindingId::SessionSetupGuest,
        name: "session-setup-guest",
        severity: Severity::Warning,
        phase: Phase::SessionSetup,
        title: "The server gave a guest or anonymous session",
        explanation: "SESSION_SETUP succeeded, but the server flagged the session as guest or \
            null (anonymous) in its SessionFlags ([MS-SMB2] SMB2_SESSION_FLAG_IS_GUEST / \
            IS_NULL), so the user's own credentials were not accepted. Share access may be \
            refused later, and current Windows clients block insecure guest logons by default \
            (Windows 10 and later in most editions), which then looks like a failure on a \
            device that used to work.",
        remediation: &[
            "Check the account and password the client sent; a server mapping bad users to \
             guest (Samba `map to guest = Bad User`) hides a wrong password this way.",
            "Give the client a real account on the server or device instead of relying on \
             guest access.",
            "Enable insecure guest logons on the client only if there is no alternative: a \
             guest session has no session key, so its traffic can be neither signed nor \
             encrypted.",
        ],
        help_uri: None,
    },
    CatalogEntry {
        id: FindingId::KerberosError,
        name: "kerberos-error",
        severity: Severity::Error,
        phase: Phase::Kerberos,
        title: "Kerberos failed after pre-authentication",
        explanation: "The KDC (or the SMB server, inside SESSION_SETUP) returned a Kerberos \
            error that is not part of pre-authentication. KDC_ERR_PREAUTH_REQUIRED and \
            KRB_ERR_RESPONSE_TOO_BIG are normal steps and are not counted; any other error \
            means authentication did not work: a wrong password, an unknown service principal, \
            clocks too far apart, a revoked or expired account, no common encryption type.",
        remediation: &[
            "Act on the error shown: KDC_ERR_PREAUTH_FAILED means a wrong password; \
             KDC_ERR_S_PRINCIPAL_UNKNOWN means a missing SPN (register it, typical for access \
             through a CNAME); KRB_AP_ERR_SKEW means the clocks of client, server and KDC \
             differ by more than 5 minutes; KDC_ERR_CLIENT_REVOKED means a disabled or \
             locked-out account; KDC_ERR_ETYPE_NOSUPP means no common encryption type.",
            "Check the account with `klist` on the client and in Active Directory.",
            "If a later attempt succeeded, this error only slowed setup down.",
        ],
        help_uri: Some(ARTICLE_URI),
    },
    CatalogEntry {
        id: FindingId::KerberosSpnUnknown,
        name: "kerberos-spn-unknown",
        severity: Severity::Error,
        phase: Phase::Kerberos,
        title: "No service principal for the server name the client used",
        explanation: "The client asked the KDC for a ticket to `cifs/<name>` and got \
            KDC_ERR_S_PRINCIPAL_UNKNOWN: no account in the directory has that SPN. This is \
            typical when the server is reached through a DNS CNAME alias, because the SPN is \
            registered only for the server's real name. Windows then falls back to NTLM, or \
            fails if NTLM is restricted.",
        remediation: &[
            "Register the SPN on the server's computer account: `setspn -S cifs/<alias> \
             <server>` (and the short name as well as the FQDN).",
            "Or connect using the server's real name instead of the CNAME alias.",
            "Check for duplicate SPNs with `setspn -X`.",
        ],
        help_uri: Some(ARTICLE_URI),
    },
    CatalogEntry {
        id: FindingId::KerberosFallbackNtlm,
        name: "kerberos-fallback-ntlm",
        severity: Severity::Warning,
        phase: Phase::Kerberos,
        title: "Kerberos failed or was skipped; NTLM was used instead",
        explanation: "The server was named by FQDN or NetBIOS name, so Windows should have \
            used Kerberos, but the SESSION_SETUP carried NTLMSSP. When the capture shows the \
            Kerberos ticket request failing first, this is a warning: NTLM may still work, but \
            it is refused where NTLM is restricted and it hides the Kerberos problem. When the \
            capture shows no Kerberos attempt at all, it is info, said once per client and \
            server name with the number of sessions: a capture taken on the file server never \
            sees the client's ticket requests, and clients outside the domain use NTLM by \
            design.",
        remediation: &[
            "Check that the server has a `cifs/` SPN for the name used (a CNAME alias needs \
             its own SPN).",
            "Check that DNS resolves the name to the server and that client, server and KDC \
             clocks agree.",
            "Run `klist get cifs/<server>` on the client to see the Kerberos error directly.",
        ],
        help_uri: None,
    },
    CatalogEntry {
        id: FindingId::KerberosPreauthRequired,
        name: "kerberos-preauth-required",
        severity: Severity::Info,
        phase: Phase::Kerberos,
        title: "Normal Kerberos pre-authentication round trip",
        explanation: "The KDC answered an AS-REQ without pre-authentication data with \
            KDC_ERR_PREAUTH_REQUIRED (or answered over UDP with KRB_ERR_RESPONSE_TOO_BIG so the \
            client retried over TCP). These errors are part of pre-authentication and are \
            expected; only errors after pre-authentication indicate a problem.",
        remediation: &["Nothing to do: this is how Kerberos logon starts."],
        help_uri: None,
    },
    CatalogEntry {
        id: FindingId::SigningProblem,
        name: "signing-problem",
        severity: Severity::Warning,
        phase: Phase::SessionSetup,
        title: "SMB signing was required and not honoured",
        explanation: "One side requires SMB signing and the other did not sign, a message \
            failed signature checking (STATUS_INVALID_SIGNATURE), or the connection was \
            dropped right after signing should have started. Older third-party devices and \
            NAS firmware often implement signing incompletely or not for newer dialects.",
        remediation: &[
            "Check the signing settings on both sides (Windows: `Get-SmbServerConfiguration | \
             select RequireSecuritySignature` and `Get-SmbClientConfiguration | select \
             RequireSecuritySignature`; Samba: `server signing`, `client signing`).",
            "Update the firmware of older third-party devices, or check their documentation \
             for SMB signing support.",
        ],
        help_uri: Some(ARTICLE_URI),
    },
    CatalogEntry {
        id: FindingId::TreeConnectBadNetworkName,
        name: "tree-connect-bad-network-name",
        severity: Severity::Error,
        phase: Phase::TreeConnect,
        title: "The share does not exist (STATUS_BAD_NETWORK_NAME)",
        explanation: "The user logged on, but the server answered TREE_CONNECT for the path \
            shown with STATUS_BAD_NETWORK_NAME: it has no share by that name. The share may be \
            misspelled in the client's path, removed, or defined on a different server.",
        remediation: &[
            "Check that the share exists on the server (`Get-SmbShare`, `net share`, or \
             `smbclient -L <server>`) and that the client spells it exactly as shown.",
            "If the server is clustered or has several names, check that the share is scoped \
             to the name the client used.",
        ],
        help_uri: Some(ARTICLE_URI),
    },
    CatalogEntry {
        id: FindingId::TreeConnectAccessDenied,
        name: "tree-connect-access-denied",
        severity: Severity::Error,
        phase: Phase::TreeConnect,
        title: "Access to the share was denied (STATUS_ACCESS_DENIED)",
        explanation: "The user logged on, but the server refused TREE_CONNECT to the share \
            with STATUS_ACCESS_DENIED. The account lacks permission on the share or on the \
            folder behind it, or the disk or folder the share points to is missing or not \
            accessible to the server.",
        remediation: &[
            "Check that the account has both share permissions and NTFS permissions on the \
             shared folder.",
            "Check that the disk and folder used by the share exist and are accessible on the \
             server.",
            "If the server or share requires encryption, see `encryption-required`.",
        ],
        help_uri: Some(ARTICLE_URI),
    },
    CatalogEntry {
        id: FindingId::EncryptionRequired,
        name: "encryption-required",
        severity: Severity::Error,
        phase: Phase::TreeConnect,
        title: "The server requires encryption the client cannot provide",
        explanation: "The server refused access with STATUS_ACCESS_DENIED while the server or \
            the share requires SMB encryption, and this client cannot encrypt: it negotiated a \
            dialect below SMB 3.0, or did not offer the encryption capability or any cipher. \
            A server that rejects unencrypted access refuses such clients, at TREE_CONNECT for \
            an encrypted share or at SESSION_SETUP when encryption is required server-wide.",
        remediation: &[
            "On the server, run `Get-SmbServerConfiguration | select Encrypt*`: if EncryptData \
             and RejectUnencryptedAccess are both true, the whole server requires encryption.",
            "Run `Get-SmbShare | select name, EncryptData`: if EncryptData is true on the \
             share and RejectUnencryptedAccess is true on the server, that share requires \
             encryption.",
            "Windows 8 / Windows Server 2012 and later can encrypt (SMB 3); Windows 7 / \
             Windows Server 2008 R2 and earlier cannot. Upgrade the client, or stop requiring \
             encryption for it.",
            "Samba and third-party devices may not support encryption: check Samba's `server \
             smb encrypt` (or `smb encrypt` on older versions) and `client smb encrypt`, or the \
             device's documentation.",
        ],
        help_uri: Some(ARTICLE_URI),
    },
    CatalogEntry {
        id: FindingId::TreeConnectFailed,
        name: "tree-connect-failed",
        severity: Severity::Error,
        phase: Phase::TreeConnect,
        title: "TREE_CONNECT failed",
        explanation: "The server refused TREE_CONNECT to the share with the status shown. \
            [MS-SMB2] 3.3.5.7 (Receiving an SMB2 TREE_CONNECT Request) lists why a server \
            returns each status.",
        remediation: &[
            "Look up the status shown in [MS-SMB2] 3.3.5.7 and the server's logs.",
            "Check that the account has share and NTFS permissions to the folder, and that \
             the share exists and is spelled correctly.",
        ],
        help_uri: Some(TREE_CONNECT_URI),
    },
    CatalogEntry {
        id: FindingId::SmbEncrypted,
        name: "smb-encrypted",
        severity: Severity::Info,
        phase: Phase::SessionSetup,
        title: "SMB traffic is encrypted from here on",
        explanation: "From the frame shown, SMB messages are carried in SMB 3 transform \
            headers: the session id is visible but the commands are not. Failures in later \
            phases (such as TREE_CONNECT) cannot be seen in this capture.",
        remediation: &[
            "To see later phases, let Wireshark decrypt the capture with the session's keys \
             (possible for a test account), or read the SMB event logs on the server \
             (Microsoft-Windows-SMBServer) and client (Microsoft-Windows-SMBClient).",
        ],
        help_uri: None,
    },
    CatalogEntry {
        id: FindingId::CaptureIncomplete,
        name: "capture-incomplete",
        severity: Severity::Warning,
        phase: Phase::Capture,
        title: "The capture is incomplete; findings may be missing",
        explanation: "The file is truncated, packets were cut short by the capture's snapshot \
            length, or TCP segments of a setup exchange are missing. What happened in the \
            missing bytes cannot be judged, so some failures may not be reported.",
        remediation: &[
            "Capture again with the full snapshot length (`tcpdump -s 0`, or Wireshark's \
             default) and start it before the client connects.",
            "Capture on the client or server itself rather than through a lossy span port.",
        ],
        help_uri: None,
    },
];

/// The full text of a finding id, as `smbtriage explain <id>` prints it: id, title, severity,
/// phase, explanation, numbered remediation and, where there is one, a page with more.
pub fn explain(id: FindingId) -> String {
    let entry = id.entry();
    let mut out = format!(
        "{}: {}\nseverity: {}\nphase: {}\n\n{}\n\nWhat to do:\n",
        entry.name, entry.title, entry.severity, entry.phase, entry.explanation,
    );
    for (n, step) in entry.remediation.iter().enumerate() {
        out.push_str(&format!("  {}. {}\n", n + 1, step));
    }
    if let Some(uri) = entry.help_uri {
        out.push_str(&format!("\nMore: {uri}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_indexed_by_id() {
        for (i, id) in FindingId::ALL.into_iter().enumerate() {
            assert_eq!(id as usize, i);
            assert_eq!(CATALOG[i].id, id);
        }
    }

    #[test]
    fn ids_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for id in FindingId::ALL {
            let s = id.as_str();
            assert!(seen.insert(s), "duplicate id {s}");
            assert_eq!(s.parse::<FindingId>().unwrap(), id);
            assert_eq!(id.to_string(), s);
            assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{s}\""));
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{s} not kebab-case"
            );
        }
        assert!("no-such-id".parse::<FindingId>().is_err());
    }

    /// SPEC §7's table; `signing-problem` and `kerberos-error` may be raised or lowered by
    /// their rules, the values here are the defaults.
    #[test]
    fn severities_and_phases_match_spec() {
        use Phase::*;
        use Severity::*;
        let expected = [
            ("tcp-connect-failed", Error, Tcp),
            ("negotiate-timeout", Error, Negotiate),
            ("negotiate-no-response", Warning, Negotiate),
            ("negotiate-failed", Error, Negotiate),
            ("session-setup-no-response", Error, SessionSetup),
            ("session-setup-failed", Error, SessionSetup),
            ("session-setup-guest", Warning, SessionSetup),
            ("kerberos-error", Error, Kerberos),
            ("kerberos-spn-unknown", Error, Kerberos),
            ("kerberos-fallback-ntlm", Warning, Kerberos),
            ("kerberos-preauth-required", Info, Kerberos),
            ("signing-problem", Warning, SessionSetup),
            ("tree-connect-bad-network-name", Error, TreeConnect),
            ("tree-connect-access-denied", Error, TreeConnect),
            ("encryption-required", Error, TreeConnect),
            ("tree-connect-failed", Error, TreeConnect),
            ("smb-encrypted", Info, SessionSetup),
            ("capture-incomplete", Warning, Capture),
        ];
        assert_eq!(expected.len(), FindingId::ALL.len());
        for (name, severity, phase) in expected {
            let entry = name.parse::<FindingId>().unwrap().entry();
            assert_eq!((entry.severity, entry.phase), (severity, phase), "{name}");
        }
    }

    #[test]
    fn every_entry_has_text() {
        for entry in &CATALOG {
            assert!(!entry.title.is_empty(), "{}", entry.name);
            assert!(entry.explanation.len() > 80, "{}", entry.name);
            assert!(!entry.remediation.is_empty(), "{}", entry.name);
            assert!(entry.remediation.iter().all(|s| !s.trim().is_empty()));
            // The texts are wrapped with `\` continuations; a stray extra space before one
            // would print as a gap.
            for text in [entry.title, entry.explanation]
                .iter()
                .chain(entry.remediation)
            {
                assert!(
                    !text.contains("  "),
                    "{}: double space in {text:?}",
                    entry.name
                );
            }
        }
    }

    fn remediation_of(id: FindingId) -> String {
        id.entry().remediation.join("\n")
    }

    /// Each paragraph of the seed article lands in the finding that automates it.
    #[test]
    fn seed_article_is_covered() {
        use FindingId::*;
        let cases: &[(FindingId, &[&str])] = &[
            (NegotiateTimeout, &["antivirus", "2008 R2", "updates"]),
            (
                SessionSetupFailed,
                &[
                    "credentials",
                    "pre-authentication",
                    "SmbServerNameHardeningLevel",
                    "SPN",
                    "CNAME",
                    "signing",
                    "third-party",
                ],
            ),
            (KerberosSpnUnknown, &["SPN", "CNAME"]),
            (SigningProblem, &["signing", "third-party"]),
            (TreeConnectAccessDenied, &["NTFS", "disk and folder"]),
            (TreeConnectBadNetworkName, &["exists", "spells"]),
            (
                EncryptionRequired,
                &[
                    "Get-SmbServerConfiguration | select Encrypt*",
                    "Get-SmbShare | select name, EncryptData",
                    "RejectUnencryptedAccess",
                    "Windows 8",
                    "Windows Server 2012",
                    "Windows 7",
                    "2008 R2",
                    "Samba",
                    "documentation",
                ],
            ),
            (TreeConnectFailed, &["3.3.5.7", "NTFS"]),
        ];
        for (id, words) in cases {
            let text = remediation_of(*id);
            for word in *words {
                assert!(text.contains(word), "{id} remediation lacks {word:?}");
            }
        }
        // Pre-authentication errors are normal: the explanations say so.
        assert!(KerberosError
            .entry()
            .explanation
            .contains("pre-authentication"));
        assert!(KerberosPreauthRequired
            .entry()
            .explanation
            .contains("expected"));
        assert!(NegotiateTimeout.entry().explanation.contains("60 seconds"));
        assert!(SessionSetupFailed
            .entry()
            .explanation
            .contains("FQDN or NetBIOS"));
    }

    #[test]
    fn explain_prints_everything() {
        let text = explain(FindingId::EncryptionRequired);
        assert!(text.starts_with("encryption-required: "));
        assert!(text.contains("severity: error"));
        assert!(text.contains("phase: tree-connect"));
        assert!(
            text.contains("  1. On the server, run `Get-SmbServerConfiguration | select Encrypt*`")
        );
        assert!(text.contains("  4. "));
        assert!(text.ends_with("negotiate-session-setup-tree-connect-fails\n"));
        assert!(!explain(FindingId::CaptureIncomplete).contains("More:"));
    }
}
