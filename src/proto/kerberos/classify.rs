//! SPEC §5's pre-authentication rule: which KRB-ERRORs are ordinary steps of a Kerberos
//! exchange and which are failures worth a finding.
//!
//! Contract: [`classify_error`] is a pure function of the error code and of the request the
//! error answers, as far as the caller could pair it.

use super::codes::KrbMsgType;
use super::error_code::KrbErrorCode;

/// What a KRB-ERROR means for the exchange it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The KDC asks for pre-authentication; the client is expected to send a new AS-REQ.
    PreauthStep,
    /// The reply did not fit in a UDP datagram; the client is expected to retry over TCP.
    RetryOverTcp,
    /// A real failure (after pre-authentication, or outside it).
    Failure,
}

/// Classifies a KRB-ERROR.
///
/// `request_kind` is the msg-type of the request the error answers and
/// `answered_request_had_preauth` whether that request carried pre-authentication data
/// ([`super::KdcReq::has_preauth`]). When no request could be paired (a one-sided capture),
/// pass `None` and `false`: KDC_ERR_PREAUTH_REQUIRED is then taken as the usual first round,
/// which it almost always is, rather than reported as a failure nobody can explain.
pub fn classify_error(
    code: KrbErrorCode,
    answered_request_had_preauth: bool,
    request_kind: Option<KrbMsgType>,
) -> ErrorClass {
    match code {
        KrbErrorCode::KRB_ERR_RESPONSE_TOO_BIG => ErrorClass::RetryOverTcp,
        KrbErrorCode::KDC_ERR_PREAUTH_REQUIRED
            if !answered_request_had_preauth
                && matches!(request_kind, None | Some(KrbMsgType::AS_REQ)) =>
        {
            ErrorClass::PreauthStep
        }
        _ => ErrorClass::Failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AS_REQ: Option<KrbMsgType> = Some(KrbMsgType::AS_REQ);
    const TGS_REQ: Option<KrbMsgType> = Some(KrbMsgType::TGS_REQ);
    const AP_REQ: Option<KrbMsgType> = Some(KrbMsgType::AP_REQ);

    #[test]
    fn preauth_required_without_preauth_is_a_step() {
        let code = KrbErrorCode::KDC_ERR_PREAUTH_REQUIRED;
        assert_eq!(classify_error(code, false, AS_REQ), ErrorClass::PreauthStep);
        assert_eq!(classify_error(code, false, None), ErrorClass::PreauthStep);
    }

    #[test]
    fn preauth_required_after_preauth_or_outside_as_is_a_failure() {
        let code = KrbErrorCode::KDC_ERR_PREAUTH_REQUIRED;
        assert_eq!(classify_error(code, true, AS_REQ), ErrorClass::Failure);
        assert_eq!(classify_error(code, false, TGS_REQ), ErrorClass::Failure);
        assert_eq!(classify_error(code, false, AP_REQ), ErrorClass::Failure);
    }

    #[test]
    fn response_too_big_means_retry_over_tcp() {
        let code = KrbErrorCode::KRB_ERR_RESPONSE_TOO_BIG;
        for (preauth, kind) in [
            (false, AS_REQ),
            (true, AS_REQ),
            (true, TGS_REQ),
            (false, None),
        ] {
            assert_eq!(
                classify_error(code, preauth, kind),
                ErrorClass::RetryOverTcp
            );
        }
    }

    #[test]
    fn everything_else_is_a_failure() {
        let failures = [
            KrbErrorCode::KDC_ERR_PREAUTH_FAILED,
            KrbErrorCode::KDC_ERR_S_PRINCIPAL_UNKNOWN,
            KrbErrorCode::KDC_ERR_C_PRINCIPAL_UNKNOWN,
            KrbErrorCode::KDC_ERR_CLIENT_REVOKED,
            KrbErrorCode::KDC_ERR_ETYPE_NOSUPP,
            KrbErrorCode::KRB_AP_ERR_SKEW,
            KrbErrorCode::KRB_AP_ERR_MODIFIED,
            KrbErrorCode::KRB_ERR_GENERIC,
            KrbErrorCode(12345),
        ];
        for code in failures {
            for (preauth, kind) in [
                (false, AS_REQ),
                (true, AS_REQ),
                (true, TGS_REQ),
                (false, None),
            ] {
                assert_eq!(
                    classify_error(code, preauth, kind),
                    ErrorClass::Failure,
                    "{code}"
                );
            }
        }
    }
}
