//! The Kerberos error-code table: every `error-code` a KRB-ERROR can carry, with its name.
//!
//! Contract: [`KrbErrorCode`] wraps the raw Int32 so unknown codes survive and print as
//! numbers. Names are written once, here, from RFC 4120 §7.5.9, RFC 4556 (PKINIT), RFC 6113
//! (FAST) and the codes Microsoft and Heimdal use (65-69). They are spelled as tshark's summary
//! line prints them minus its `KRB5` prefix, so `dump` output can be compared with tshark;
//! where that spelling differs from the RFC the RFC name is noted.

use crate::proto::code_table::code_table;

/// A KRB-ERROR `error-code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KrbErrorCode(pub i32);

code_table!(KrbErrorCode, unknown = "{}", {
    KDC_ERR_NONE = 0,
    KDC_ERR_NAME_EXP = 1,
    KDC_ERR_SERVICE_EXP = 2,
    KDC_ERR_BAD_PVNO = 3,
    KDC_ERR_C_OLD_MAST_KVNO = 4,
    KDC_ERR_S_OLD_MAST_KVNO = 5,
    KDC_ERR_C_PRINCIPAL_UNKNOWN = 6,
    KDC_ERR_S_PRINCIPAL_UNKNOWN = 7,
    KDC_ERR_PRINCIPAL_NOT_UNIQUE = 8,
    KDC_ERR_NULL_KEY = 9,
    KDC_ERR_CANNOT_POSTDATE = 10,
    KDC_ERR_NEVER_VALID = 11,
    KDC_ERR_POLICY = 12,
    KDC_ERR_BADOPTION = 13,
    KDC_ERR_ETYPE_NOSUPP = 14,
    KDC_ERR_SUMTYPE_NOSUPP = 15,
    KDC_ERR_PADATA_TYPE_NOSUPP = 16,
    KDC_ERR_TRTYPE_NOSUPP = 17,
    KDC_ERR_CLIENT_REVOKED = 18,
    KDC_ERR_SERVICE_REVOKED = 19,
    KDC_ERR_TGT_REVOKED = 20,
    KDC_ERR_CLIENT_NOTYET = 21,
    KDC_ERR_SERVICE_NOTYET = 22,
    /// RFC 4120 spells it `KDC_ERR_KEY_EXPIRED`.
    KDC_ERR_KEY_EXP = 23,
    KDC_ERR_PREAUTH_FAILED = 24,
    KDC_ERR_PREAUTH_REQUIRED = 25,
    KDC_ERR_SERVER_NOMATCH = 26,
    KDC_ERR_MUST_USE_USER2USER = 27,
    KDC_ERR_PATH_NOT_ACCEPTED = 28,
    KDC_ERR_SVC_UNAVAILABLE = 29,
    KRB_AP_ERR_BAD_INTEGRITY = 31,
    KRB_AP_ERR_TKT_EXPIRED = 32,
    KRB_AP_ERR_TKT_NYV = 33,
    KRB_AP_ERR_REPEAT = 34,
    KRB_AP_ERR_NOT_US = 35,
    KRB_AP_ERR_BADMATCH = 36,
    KRB_AP_ERR_SKEW = 37,
    KRB_AP_ERR_BADADDR = 38,
    KRB_AP_ERR_BADVERSION = 39,
    KRB_AP_ERR_MSG_TYPE = 40,
    KRB_AP_ERR_MODIFIED = 41,
    KRB_AP_ERR_BADORDER = 42,
    KRB_AP_ERR_ILL_CR_TKT = 43,
    KRB_AP_ERR_BADKEYVER = 44,
    KRB_AP_ERR_NOKEY = 45,
    KRB_AP_ERR_MUT_FAIL = 46,
    KRB_AP_ERR_BADDIRECTION = 47,
    KRB_AP_ERR_METHOD = 48,
    KRB_AP_ERR_BADSEQ = 49,
    KRB_AP_ERR_INAPP_CKSUM = 50,
    /// RFC 4120 spells it `KRB_AP_PATH_NOT_ACCEPTED`.
    KDC_AP_PATH_NOT_ACCEPTED = 51,
    KRB_ERR_RESPONSE_TOO_BIG = 52,
    KRB_ERR_GENERIC = 60,
    KRB_ERR_FIELD_TOOLONG = 61,
    /// RFC 4556 spells it `KDC_ERR_CLIENT_NOT_TRUSTED`.
    KDC_ERROR_CLIENT_NOT_TRUSTED = 62,
    KDC_ERROR_KDC_NOT_TRUSTED = 63,
    /// RFC 4556 spells it `KDC_ERR_INVALID_SIG`.
    KDC_ERROR_INVALID_SIG = 64,
    /// RFC 4556 calls 65 `KDC_ERR_DH_KEY_PARAMETERS_NOT_ACCEPTED`.
    KDC_ERR_KEY_TOO_WEAK = 65,
    KDC_ERR_CERTIFICATE_MISMATCH = 66,
    KRB_AP_ERR_NO_TGT = 67,
    KDC_ERR_WRONG_REALM = 68,
    KRB_AP_ERR_USER_TO_USER_REQUIRED = 69,
    KDC_ERR_CANT_VERIFY_CERTIFICATE = 70,
    KDC_ERR_INVALID_CERTIFICATE = 71,
    KDC_ERR_REVOKED_CERTIFICATE = 72,
    KDC_ERR_REVOCATION_STATUS_UNKNOWN = 73,
    KDC_ERR_REVOCATION_STATUS_UNAVAILABLE = 74,
    KDC_ERR_CLIENT_NAME_MISMATCH = 75,
    KDC_ERR_KDC_NAME_MISMATCH = 76,
    KDC_ERR_PREAUTH_EXPIRED = 90,
    KDC_ERR_MORE_PREAUTH_DATA_REQUIRED = 91,
    KDC_ERR_PREAUTH_BAD_AUTHENTICATION_SET = 92,
    KDC_ERR_UNKNOWN_CRITICAL_FAST_OPTIONS = 93,
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in KrbErrorCode::ALL {
            let name = code.name().unwrap();
            assert!(seen.insert(name), "duplicate name {name}");
            assert_eq!(code.to_string(), name);
            assert_eq!(
                KrbErrorCode::ALL.iter().find(|c| c.name() == Some(name)),
                Some(code)
            );
        }
    }

    #[test]
    fn rfc4120_range_is_complete() {
        // §7.5.9 leaves 30 and 53..=59 unassigned; everything else up to 76 has a name.
        for code in (0..=76).filter(|c| *c != 30 && !(53..=59).contains(c)) {
            assert!(KrbErrorCode(code).name().is_some(), "{code} has no name");
        }
    }

    #[test]
    fn spot_checks_against_tshark() {
        assert_eq!(KrbErrorCode(6).name(), Some("KDC_ERR_C_PRINCIPAL_UNKNOWN"));
        assert_eq!(KrbErrorCode(7).name(), Some("KDC_ERR_S_PRINCIPAL_UNKNOWN"));
        assert_eq!(KrbErrorCode(24).name(), Some("KDC_ERR_PREAUTH_FAILED"));
        assert_eq!(KrbErrorCode(37).name(), Some("KRB_AP_ERR_SKEW"));
        assert_eq!(KrbErrorCode(52).name(), Some("KRB_ERR_RESPONSE_TOO_BIG"));
        assert_eq!(KrbErrorCode(68).name(), Some("KDC_ERR_WRONG_REALM"));
    }

    #[test]
    fn unknown_codes_print_as_numbers() {
        assert_eq!(KrbErrorCode(30).name(), None);
        assert_eq!(KrbErrorCode(-5).to_string(), "-5");
        assert_eq!(KrbErrorCode(1000).to_string(), "1000");
    }
}
