//! AV pairs ([MS-NLMP] 2.2.2.1): the target info of a CHALLENGE and of an NTLMv2 response,
//! iterated in place over the borrowed list.

use nom::bytes::complete::take;
use nom::number::complete::{le_u16, le_u32, le_u64};
use nom::{IResult, Parser};

use super::NtlmsspError;
use crate::proto::code_table::code_table;
use crate::proto::wire::{leading, utf16le_lossy};

/// AV pair id ([MS-NLMP] 2.2.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AvId(pub u16);

// Names as [MS-NLMP] gives them, e.g. "MsvAvTargetName".
code_table!(AvId, unknown = "{:#06x}", {
    EOL = 0 => "MsvAvEOL",
    NB_COMPUTER_NAME = 1 => "MsvAvNbComputerName",
    NB_DOMAIN_NAME = 2 => "MsvAvNbDomainName",
    DNS_COMPUTER_NAME = 3 => "MsvAvDnsComputerName",
    DNS_DOMAIN_NAME = 4 => "MsvAvDnsDomainName",
    DNS_TREE_NAME = 5 => "MsvAvDnsTreeName",
    FLAGS = 6 => "MsvAvFlags",
    TIMESTAMP = 7 => "MsvAvTimestamp",
    SINGLE_HOST = 8 => "MsvAvSingleHost",
    TARGET_NAME = 9 => "MsvAvTargetName",
    CHANNEL_BINDINGS = 10 => "MsvChannelBindings",
});

/// One AV pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvPair<'a> {
    pub id: AvId,
    pub value: &'a [u8],
}

impl AvPair<'_> {
    /// The value as UTF-16LE text (the name-valued ids).
    pub fn as_string(&self) -> String {
        utf16le_lossy(self.value)
    }

    /// The value as a little-endian u32 (MsvAvFlags).
    pub fn as_u32(&self) -> Option<u32> {
        leading(self.value, le_u32)
    }

    /// The value as a little-endian u64 (MsvAvTimestamp, a FILETIME).
    pub fn as_u64(&self) -> Option<u64> {
        leading(self.value, le_u64)
    }
}

/// A borrowed AV-pair list; iterate with [`AvPairs::iter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AvPairs<'a>(pub &'a [u8]);

impl<'a> AvPairs<'a> {
    /// Pairs up to MsvAvEOL; a pair that runs past the end yields one error and stops.
    pub fn iter(&self) -> AvPairIter<'a> {
        AvPairIter {
            rest: self.0,
            offset: 0,
            done: false,
        }
    }

    /// The first pair with this id (ignoring malformed tails).
    pub fn get(&self, id: AvId) -> Option<AvPair<'a>> {
        self.iter().map_while(Result::ok).find(|p| p.id == id)
    }

    /// MsvAvTargetName: the SPN the client used, e.g. "cifs/nas1.corp.example".
    pub fn target_name(&self) -> Option<String> {
        self.get(AvId::TARGET_NAME).map(|p| p.as_string())
    }

    /// MsvAvFlags.
    pub fn flags(&self) -> Option<u32> {
        self.get(AvId::FLAGS).and_then(|p| p.as_u32())
    }

    /// MsvAvNbDomainName.
    pub fn nb_domain_name(&self) -> Option<String> {
        self.get(AvId::NB_DOMAIN_NAME).map(|p| p.as_string())
    }

    /// MsvAvNbComputerName.
    pub fn nb_computer_name(&self) -> Option<String> {
        self.get(AvId::NB_COMPUTER_NAME).map(|p| p.as_string())
    }

    /// MsvAvDnsComputerName.
    pub fn dns_computer_name(&self) -> Option<String> {
        self.get(AvId::DNS_COMPUTER_NAME).map(|p| p.as_string())
    }

    /// MsvAvDnsDomainName.
    pub fn dns_domain_name(&self) -> Option<String> {
        self.get(AvId::DNS_DOMAIN_NAME).map(|p| p.as_string())
    }

    /// MsvAvTimestamp (FILETIME).
    pub fn timestamp(&self) -> Option<u64> {
        self.get(AvId::TIMESTAMP).and_then(|p| p.as_u64())
    }
}

/// Iterator over an AV-pair list. Each step consumes at least 4 bytes or stops.
#[derive(Debug, Clone)]
pub struct AvPairIter<'a> {
    rest: &'a [u8],
    offset: usize,
    done: bool,
}

impl<'a> Iterator for AvPairIter<'a> {
    type Item = Result<AvPair<'a>, NtlmsspError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.rest.is_empty() {
            return None;
        }
        let id_len: IResult<&[u8], (u16, u16)> = (le_u16, le_u16).parse(self.rest);
        let Ok((value_at, (id, len))) = id_len else {
            self.done = true;
            return Some(Err(self.truncated(4)));
        };
        if id == AvId::EOL.0 {
            self.done = true;
            return None;
        }
        let len = usize::from(len);
        let value: IResult<&[u8], &[u8]> = take(len).parse(value_at);
        let Ok((rest, value)) = value else {
            self.done = true;
            return Some(Err(self.truncated(4 + len)));
        };
        self.rest = rest;
        self.offset = self.offset.saturating_add(4 + len);
        Some(Ok(AvPair {
            id: AvId(id),
            value,
        }))
    }
}

impl AvPairIter<'_> {
    fn truncated(&self, needed: usize) -> NtlmsspError {
        NtlmsspError::Truncated {
            what: "AV pair",
            offset: self.offset,
            needed,
            available: self.rest.len(),
        }
    }
}
