//! Open enumerations and bit sets of [MS-SMB2] section 2.2: command codes, dialects, header
//! flags, security modes, capabilities, session/share flags, negotiate context types.
//!
//! Contract: newtypes over the wire integer (pcap-parser's `Linktype` style), so an unknown
//! value survives parsing and prints as hex; named constants for every value the spec defines
//! that setup analysis needs. Bit sets offer `contains` and `names` (known bits that are set).

use crate::proto::code_table::code_table;

/// SMB2 command code (header `Command`), named as [MS-SMB2] names it, e.g. "TREE_CONNECT".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Smb2Command(pub u16);

code_table!(Smb2Command, unknown = "{:#06x}", {
    NEGOTIATE = 0x0000,
    SESSION_SETUP = 0x0001,
    LOGOFF = 0x0002,
    TREE_CONNECT = 0x0003,
    TREE_DISCONNECT = 0x0004,
    CREATE = 0x0005,
    CLOSE = 0x0006,
    FLUSH = 0x0007,
    READ = 0x0008,
    WRITE = 0x0009,
    LOCK = 0x000A,
    IOCTL = 0x000B,
    CANCEL = 0x000C,
    ECHO = 0x000D,
    QUERY_DIRECTORY = 0x000E,
    CHANGE_NOTIFY = 0x000F,
    QUERY_INFO = 0x0010,
    SET_INFO = 0x0011,
    OPLOCK_BREAK = 0x0012,
});

impl Smb2Command {
    /// The commands that set a connection up or take it down, whose bodies setup analysis
    /// reads: NEGOTIATE, SESSION_SETUP, TREE_CONNECT, TREE_DISCONNECT, LOGOFF.
    pub fn is_setup(self) -> bool {
        matches!(
            self,
            Self::NEGOTIATE
                | Self::SESSION_SETUP
                | Self::TREE_CONNECT
                | Self::TREE_DISCONNECT
                | Self::LOGOFF
        )
    }
}

/// SMB2 dialect revision, named by its dotted version ("3.1.1"; "2.???" for the wildcard).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dialect(pub u16);

code_table!(Dialect, unknown = "{:#06x}", {
    SMB2_0_2 = 0x0202 => "2.0.2",
    SMB2_1 = 0x0210 => "2.1",
    SMB2_2_2 = 0x0222 => "2.2.2",
    SMB2_2_4 = 0x0224 => "2.2.4",
    SMB3_0 = 0x0300 => "3.0",
    SMB3_0_2 = 0x0302 => "3.0.2",
    SMB3_1_0 = 0x0310 => "3.1.0",
    SMB3_1_1 = 0x0311 => "3.1.1",
    /// Answer to an SMB1 multi-protocol NEGOTIATE offering "SMB 2.???": a second,
    /// SMB2 NEGOTIATE follows.
    WILDCARD = 0x02FF => "2.???",
});

impl Dialect {
    /// True for the 3.x family, the first to support encryption.
    pub fn is_smb3(self) -> bool {
        self.0 >= 0x0300 && self.0 != Self::WILDCARD.0
    }
}

/// Negotiate context type ([MS-SMB2] 2.2.3.1), named without its `SMB2_` prefix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NegotiateContextType(pub u16);

code_table!(NegotiateContextType, unknown = "{:#06x}", {
    PREAUTH_INTEGRITY_CAPABILITIES = 1,
    ENCRYPTION_CAPABILITIES = 2,
    COMPRESSION_CAPABILITIES = 3,
    NETNAME_NEGOTIATE_CONTEXT_ID = 5,
    TRANSPORT_CAPABILITIES = 6,
    RDMA_TRANSFORM_CAPABILITIES = 7,
    SIGNING_CAPABILITIES = 8,
});

/// Hash algorithm ids of the preauth integrity context.
pub mod hash_algorithm {
    pub const SHA_512: u16 = 0x0001;
}

/// Cipher ids of the encryption context and the 3.0 transform header.
pub mod cipher {
    pub const AES_128_CCM: u16 = 0x0001;
    pub const AES_128_GCM: u16 = 0x0002;
    pub const AES_256_CCM: u16 = 0x0003;
    pub const AES_256_GCM: u16 = 0x0004;
}

/// Signing algorithm ids of the signing context.
pub mod signing_algorithm {
    pub const HMAC_SHA256: u16 = 0x0000;
    pub const AES_CMAC: u16 = 0x0001;
    pub const AES_GMAC: u16 = 0x0002;
}

/// Compression algorithm ids of the compression context and transform header.
pub mod compression_algorithm {
    pub const NONE: u16 = 0x0000;
    pub const LZNT1: u16 = 0x0001;
    pub const LZ77: u16 = 0x0002;
    pub const LZ77_HUFFMAN: u16 = 0x0003;
    pub const PATTERN_V1: u16 = 0x0004;
    pub const LZ4: u16 = 0x0005;
}

/// Declares a bit-set newtype: constants of the type itself, `contains`, and `names`.
macro_rules! bit_set {
    ($(#[$meta:meta])* $name:ident($ty:ty) { $($bit:ident = $value:expr,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub struct $name(pub $ty);

        impl $name {
            $(pub const $bit: $name = $name($value);)+

            /// True when every bit of `other` is set.
            pub fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// Names of the known bits that are set, in declaration order.
            pub fn names(self) -> Vec<&'static str> {
                let mut out = Vec::new();
                $(if self.contains($name::$bit) {
                    out.push(stringify!($bit));
                })+
                out
            }
        }
    };
}

bit_set! {
    /// Header `Flags` ([MS-SMB2] 2.2.1).
    HeaderFlags(u32) {
        SERVER_TO_REDIR = 0x0000_0001,
        ASYNC_COMMAND = 0x0000_0002,
        RELATED_OPERATIONS = 0x0000_0004,
        SIGNED = 0x0000_0008,
        DFS_OPERATIONS = 0x1000_0000,
        REPLAY_OPERATION = 0x2000_0000,
    }
}

bit_set! {
    /// `SecurityMode` of NEGOTIATE (16 bits) and SESSION_SETUP (8 bits, widened).
    SecurityMode(u16) {
        SIGNING_ENABLED = 0x0001,
        SIGNING_REQUIRED = 0x0002,
    }
}

bit_set! {
    /// Global `Capabilities` of NEGOTIATE and SESSION_SETUP.
    Capabilities(u32) {
        DFS = 0x0000_0001,
        LEASING = 0x0000_0002,
        LARGE_MTU = 0x0000_0004,
        MULTI_CHANNEL = 0x0000_0008,
        PERSISTENT_HANDLES = 0x0000_0010,
        DIRECTORY_LEASING = 0x0000_0020,
        ENCRYPTION = 0x0000_0040,
        NOTIFICATIONS = 0x0000_0080,
    }
}

bit_set! {
    /// SESSION_SETUP request `Flags`.
    SessionSetupFlags(u8) {
        BINDING = 0x01,
    }
}

bit_set! {
    /// SESSION_SETUP response `SessionFlags`.
    SessionFlags(u16) {
        IS_GUEST = 0x0001,
        IS_NULL = 0x0002,
        ENCRYPT_DATA = 0x0004,
    }
}

bit_set! {
    /// TREE_CONNECT request `Flags` (3.1.1; reserved before).
    TreeConnectFlags(u16) {
        CLUSTER_RECONNECT = 0x0001,
        REDIRECT_TO_OWNER = 0x0002,
        EXTENSION_PRESENT = 0x0004,
    }
}

bit_set! {
    /// TREE_CONNECT response `ShareFlags`. Bits 4-5 are the caching policy, not flags.
    ShareFlags(u32) {
        DFS = 0x0000_0001,
        DFS_ROOT = 0x0000_0002,
        RESTRICT_EXCLUSIVE_OPENS = 0x0000_0100,
        FORCE_SHARED_DELETE = 0x0000_0200,
        ALLOW_NAMESPACE_CACHING = 0x0000_0400,
        ACCESS_BASED_DIRECTORY_ENUM = 0x0000_0800,
        FORCE_LEVELII_OPLOCK = 0x0000_1000,
        ENABLE_HASH_V1 = 0x0000_2000,
        ENABLE_HASH_V2 = 0x0000_4000,
        ENCRYPT_DATA = 0x0000_8000,
        IDENTITY_REMOTING = 0x0004_0000,
        COMPRESS_DATA = 0x0010_0000,
        ISOLATED_TRANSPORT = 0x0020_0000,
    }
}

bit_set! {
    /// TREE_CONNECT response `Capabilities`.
    ShareCapabilities(u32) {
        DFS = 0x0000_0008,
        CONTINUOUS_AVAILABILITY = 0x0000_0010,
        SCALEOUT = 0x0000_0020,
        CLUSTER = 0x0000_0040,
        ASYMMETRIC = 0x0000_0080,
        REDIRECT_TO_OWNER = 0x0000_0100,
    }
}

/// TREE_CONNECT response `ShareType`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ShareType(pub u8);

code_table!(ShareType, unknown = "{:#04x}", {
    DISK = 0x01,
    PIPE = 0x02,
    PRINT = 0x03,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::code_table::assert_names_round_trip;

    #[test]
    fn command_names_cover_all_nineteen() {
        for code in 0..19u16 {
            assert!(Smb2Command(code).name().is_some());
        }
        assert_eq!(Smb2Command(19).name(), None);
        assert_eq!(Smb2Command::TREE_CONNECT.to_string(), "TREE_CONNECT");
        assert_eq!(Smb2Command(0x99).to_string(), "0x0099");
    }

    #[test]
    fn dialect_display() {
        assert_eq!(Dialect::SMB3_1_1.to_string(), "3.1.1");
        assert_eq!(Dialect::SMB2_0_2.to_string(), "2.0.2");
        assert_eq!(Dialect(0x0400).to_string(), "0x0400");
        assert!(Dialect::SMB3_0.is_smb3());
        assert!(!Dialect::WILDCARD.is_smb3());
    }

    #[test]
    fn names_round_trip_and_are_unique() {
        assert_names_round_trip(Smb2Command::ALL, Smb2Command::name);
        assert_names_round_trip(Dialect::ALL, Dialect::name);
        assert_names_round_trip(NegotiateContextType::ALL, NegotiateContextType::name);
        assert_names_round_trip(ShareType::ALL, ShareType::name);
    }

    #[test]
    fn bit_sets() {
        let flags = ShareFlags(0x0000_8800);
        assert!(flags.contains(ShareFlags::ENCRYPT_DATA));
        assert_eq!(
            flags.names(),
            vec!["ACCESS_BASED_DIRECTORY_ENUM", "ENCRYPT_DATA"]
        );
        assert!(SessionFlags(5).contains(SessionFlags::IS_GUEST));
        assert!(!SessionFlags(5).contains(SessionFlags::IS_NULL));
    }
}
