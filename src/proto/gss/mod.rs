//! GSS-API wrappers: SPNEGO and NTLMSSP.
pub mod ntlmssp;
pub mod spnego;
