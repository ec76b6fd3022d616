//! Named Kerberos numbers other than error codes: message types, PA-DATA types, encryption
//! types.
//!
//! Contract: each is a newtype over the wire integer with named constants and a `name()`
//! that returns `None` for numbers no specification assigns; `Display` falls back to the
//! number, so unknown values survive and print. Numbers come from RFC 4120 §7.5, the IANA
//! Kerberos parameter registry (PA-DATA, etypes), RFC 3961/3962/4757/6803/8009 (etype names)
//! and [MS-KILE]/[MS-SFU] for the Microsoft PA-DATA types.

use std::fmt;

use crate::proto::code_table::code_table;

/// A Kerberos `msg-type` (RFC 4120 §7.5.7), which is also the message's APPLICATION tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KrbMsgType(pub u32);

code_table!(KrbMsgType, unknown = "{}", {
    AS_REQ = 10 => "AS-REQ",
    AS_REP = 11 => "AS-REP",
    TGS_REQ = 12 => "TGS-REQ",
    TGS_REP = 13 => "TGS-REP",
    AP_REQ = 14 => "AP-REQ",
    AP_REP = 15 => "AP-REP",
    KRB_SAFE = 20 => "KRB-SAFE",
    KRB_PRIV = 21 => "KRB-PRIV",
    KRB_CRED = 22 => "KRB-CRED",
    KRB_ERROR = 30 => "KRB-ERROR",
});

/// A PA-DATA `padata-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PaDataType(pub i32);

code_table!(PaDataType, unknown = "{}", {
    PA_TGS_REQ = 1 => "PA-TGS-REQ",
    PA_ENC_TIMESTAMP = 2 => "PA-ENC-TIMESTAMP",
    PA_PW_SALT = 3 => "PA-PW-SALT",
    PA_ENC_UNIX_TIME = 5 => "PA-ENC-UNIX-TIME",
    PA_SANDIA_SECUREID = 6 => "PA-SANDIA-SECUREID",
    PA_SESAME = 7 => "PA-SESAME",
    PA_OSF_DCE = 8 => "PA-OSF-DCE",
    PA_CYBERSAFE_SECUREID = 9 => "PA-CYBERSAFE-SECUREID",
    PA_AFS3_SALT = 10 => "PA-AFS3-SALT",
    PA_ETYPE_INFO = 11 => "PA-ETYPE-INFO",
    PA_SAM_CHALLENGE = 12 => "PA-SAM-CHALLENGE",
    PA_SAM_RESPONSE = 13 => "PA-SAM-RESPONSE",
    /// The pre-RFC 4556 PKINIT request Windows still sends.
    PA_PK_AS_REQ_OLD = 14 => "PA-PK-AS-REQ-19",
    PA_PK_AS_REP_OLD = 15 => "PA-PK-AS-REP-19",
    PA_PK_AS_REQ = 16 => "PA-PK-AS-REQ",
    PA_PK_AS_REP = 17 => "PA-PK-AS-REP",
    PA_PK_OCSP_RESPONSE = 18 => "PA-PK-OCSP-RESPONSE",
    PA_ETYPE_INFO2 = 19 => "PA-ETYPE-INFO2",
    PA_USE_SPECIFIED_KVNO = 20 => "PA-USE-SPECIFIED-KVNO",
    PA_SAM_REDIRECT = 21 => "PA-SAM-REDIRECT",
    PA_GET_FROM_TYPED_DATA = 22 => "PA-GET-FROM-TYPED-DATA",
    PA_SAM_ETYPE_INFO = 23 => "PA-SAM-ETYPE-INFO",
    PA_ALT_PRINC = 24 => "PA-ALT-PRINC",
    PA_SERVER_REFERRAL = 25 => "PA-SERVER-REFERRAL",
    PA_SAM_CHALLENGE2 = 30 => "PA-SAM-CHALLENGE2",
    PA_SAM_RESPONSE2 = 31 => "PA-SAM-RESPONSE2",
    PA_EXTRA_TGT = 41 => "PA-EXTRA-TGT",
    PA_PAC_REQUEST = 128 => "PA-PAC-REQUEST",
    PA_FOR_USER = 129 => "PA-FOR-USER",
    PA_FOR_X509_USER = 130 => "PA-FOR-X509-USER",
    PA_FOR_CHECK_DUPS = 131 => "PA-FOR-CHECK-DUPS",
    PA_PK_AS_09_BINDING = 132 => "PA-PK-AS-09-BINDING",
    PA_FX_COOKIE = 133 => "PA-FX-COOKIE",
    PA_AUTHENTICATION_SET = 134 => "PA-AUTHENTICATION-SET",
    PA_AUTH_SET_SELECTED = 135 => "PA-AUTH-SET-SELECTED",
    PA_FX_FAST = 136 => "PA-FX-FAST",
    PA_FX_ERROR = 137 => "PA-FX-ERROR",
    PA_ENCRYPTED_CHALLENGE = 138 => "PA-ENCRYPTED-CHALLENGE",
    PA_OTP_CHALLENGE = 141 => "PA-OTP-CHALLENGE",
    PA_OTP_REQUEST = 142 => "PA-OTP-REQUEST",
    PA_OTP_CONFIRM = 143 => "PA-OTP-CONFIRM",
    PA_OTP_PIN_CHANGE = 144 => "PA-OTP-PIN-CHANGE",
    PA_EPAK_AS_REQ = 145 => "PA-EPAK-AS-REQ",
    PA_EPAK_AS_REP = 146 => "PA-EPAK-AS-REP",
    PA_PKINIT_KX = 147 => "PA-PKINIT-KX",
    PA_PKU2U_NAME = 148 => "PA-PKU2U-NAME",
    PA_REQ_ENC_PA_REP = 149 => "PA-REQ-ENC-PA-REP",
    PA_AS_FRESHNESS = 150 => "PA-AS-FRESHNESS",
    PA_SPAKE = 151 => "PA-SPAKE",
    PA_KERB_KEY_LIST_REQ = 161 => "PA-KERB-KEY-LIST-REQ",
    PA_KERB_KEY_LIST_REP = 162 => "PA-KERB-KEY-LIST-REP",
    PA_SUPPORTED_ETYPES = 165 => "PA-SUPPORTED-ETYPES",
    PA_EXTENDED_ERROR = 166 => "PA-EXTENDED-ERROR",
    PA_PAC_OPTIONS = 167 => "PA-PAC-OPTIONS",
});

impl PaDataType {
    /// Whether a request carrying this PA-DATA proves knowledge of the client's key, i.e.
    /// the client has done pre-authentication. PA-FX-FAST is deliberately not counted: its
    /// contents are encrypted, and the first armored AS-REQ normally carries no proof, so
    /// counting it would turn the ordinary PREAUTH_REQUIRED round into a failure.
    pub fn is_preauth(self) -> bool {
        matches!(
            self,
            PaDataType::PA_ENC_TIMESTAMP
                | PaDataType::PA_PK_AS_REQ_OLD
                | PaDataType::PA_PK_AS_REQ
                | PaDataType::PA_ENCRYPTED_CHALLENGE
        )
    }
}

/// An encryption type (`etype`), named as RFC 3961 and its successors name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EType(pub i32);

code_table!(EType, unknown = "{}", {
    DES_CBC_CRC = 1 => "des-cbc-crc",
    DES_CBC_MD4 = 2 => "des-cbc-md4",
    DES_CBC_MD5 = 3 => "des-cbc-md5",
    DES3_CBC_MD5 = 5 => "des3-cbc-md5",
    DES3_CBC_SHA1 = 7 => "des3-cbc-sha1",
    DES3_CBC_SHA1_KD = 16 => "des3-cbc-sha1-kd",
    AES128_CTS_HMAC_SHA1_96 = 17 => "aes128-cts-hmac-sha1-96",
    AES256_CTS_HMAC_SHA1_96 = 18 => "aes256-cts-hmac-sha1-96",
    AES128_CTS_HMAC_SHA256_128 = 19 => "aes128-cts-hmac-sha256-128",
    AES256_CTS_HMAC_SHA384_192 = 20 => "aes256-cts-hmac-sha384-192",
    RC4_HMAC = 23 => "rc4-hmac",
    RC4_HMAC_EXP = 24 => "rc4-hmac-exp",
    CAMELLIA128_CTS_CMAC = 25 => "camellia128-cts-cmac",
    CAMELLIA256_CTS_CMAC = 26 => "camellia256-cts-cmac",
});

/// KDCOptions (RFC 4120 §5.4.1), the first 32 bits of the BIT STRING with bit 0 as the most
/// significant bit of the `u32`, so it prints as tshark shows the octets (`0x40810010`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct KdcOptions(pub u32);

impl KdcOptions {
    pub const FORWARDABLE: u32 = 1;
    pub const FORWARDED: u32 = 2;
    pub const PROXIABLE: u32 = 3;
    pub const PROXY: u32 = 4;
    pub const ALLOW_POSTDATE: u32 = 5;
    pub const POSTDATED: u32 = 6;
    pub const RENEWABLE: u32 = 8;
    pub const CANONICALIZE: u32 = 15;
    pub const DISABLE_TRANSITED_CHECK: u32 = 26;
    pub const RENEWABLE_OK: u32 = 27;
    pub const ENC_TKT_IN_SKEY: u32 = 28;
    pub const RENEW: u32 = 30;
    pub const VALIDATE: u32 = 31;

    /// Whether RFC 4120 bit `bit` (0..=31) is set.
    pub fn is_set(self, bit: u32) -> bool {
        bit < 32 && self.0 & (0x8000_0000 >> bit) != 0
    }
}

impl fmt::Display for KdcOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

/// APOptions (RFC 4120 §5.5.1), laid out like [`KdcOptions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ApOptions(pub u32);

impl ApOptions {
    pub const USE_SESSION_KEY: u32 = 1;
    pub const MUTUAL_REQUIRED: u32 = 2;

    /// Whether RFC 4120 bit `bit` (0..=31) is set.
    pub fn is_set(self, bit: u32) -> bool {
        bit < 32 && self.0 & (0x8000_0000 >> bit) != 0
    }
}

impl fmt::Display for ApOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_round_trip<T: Copy + PartialEq + fmt::Debug + fmt::Display>(
        all: &[T],
        name: impl Fn(T) -> Option<&'static str>,
    ) {
        let mut seen = std::collections::HashSet::new();
        for &entry in all {
            let text = name(entry).unwrap();
            assert!(seen.insert(text), "duplicate name {text}");
            assert_eq!(entry.to_string(), text);
        }
    }

    #[test]
    fn names_round_trip_and_are_unique() {
        assert_round_trip(KrbMsgType::ALL, KrbMsgType::name);
        assert_round_trip(PaDataType::ALL, PaDataType::name);
        assert_round_trip(EType::ALL, EType::name);
    }

    #[test]
    fn unknown_numbers_print_as_numbers() {
        assert_eq!(PaDataType(655).to_string(), "655");
        assert_eq!(EType(-128).to_string(), "-128");
        assert_eq!(KrbMsgType(99).to_string(), "99");
        assert_eq!(EType(23).to_string(), "rc4-hmac");
        assert_eq!(PaDataType(136).to_string(), "PA-FX-FAST");
    }

    #[test]
    fn option_bits_count_from_the_top() {
        // MIT's AS-REQ (krb-mit-udp-unknown-spn.pcap frame 1): kdc-options 0x00000010.
        let opts = KdcOptions(0x0000_0010);
        assert!(opts.is_set(KdcOptions::RENEWABLE_OK));
        assert!(!opts.is_set(KdcOptions::FORWARDABLE));
        assert!(!opts.is_set(32));
        // Samba's AP-REQ (ad-krb-smb-healthy.pcap frame 55): ap-options 0x20000000.
        assert!(ApOptions(0x2000_0000).is_set(ApOptions::MUTUAL_REQUIRED));
    }
}
