//! DNS messages (RFC 1035 §4), enough to learn which names the capture resolved to which
//! addresses and which names were aliases.
//!
//! Contract:
//! - [`parse_message`] takes one DNS message (a UDP payload, or a TCP message without its
//!   length prefix) and returns its header, questions and the records of all three sections.
//!   A, AAAA and CNAME data are decoded; other types keep their raw data, borrowed.
//! - [`tcp_message_len`] reads the 2-byte length prefix that frames DNS over TCP.
//! - A compression pointer must land before every byte of the name read so far, is followed
//!   at most [`MAX_POINTER_JUMPS`] times, and a name over 255 octets is refused, so no input
//!   loops or grows without bound.
//! - Counts in the header are never used to pre-allocate; every length is checked against the
//!   bytes present. Malformed input is a [`DnsError`] naming the section and offset; no input
//!   can make these functions panic.
//! - Fixed layouts are nom combinators; their errors become [`DnsError`]s where they are
//!   called, located by how much of the message is left, so nom's types never leave the module.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nom::bytes::complete::take;
use nom::error::Error as NomError;
use nom::number::complete::{be_u16, be_u8};
use nom::Parser;
use thiserror::Error;

use crate::proto::code_table::code_table;

/// Most compression pointers followed while reading one name. Pointers must already point
/// backwards, which ends every chain; this caps the work a long crafted chain can cause.
pub const MAX_POINTER_JUMPS: usize = 32;
/// Longest name on the wire, length octets included (RFC 1035 §2.3.4).
const MAX_NAME_LEN: usize = 255;
/// Size of the length prefix of DNS over TCP (RFC 1035 §4.2.2).
pub const TCP_LENGTH_PREFIX: usize = 2;

/// Why a DNS message could not be parsed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DnsError {
    #[error("DNS {what} at offset {offset}: message ends inside it")]
    Truncated { what: &'static str, offset: usize },
    #[error("DNS {what} name at offset {offset}: label type {label:#04x} is not supported")]
    BadLabel {
        what: &'static str,
        offset: usize,
        label: u8,
    },
    #[error("DNS {what} name at offset {offset}: compression pointer to {target} does not point before the name")]
    BadPointer {
        what: &'static str,
        offset: usize,
        target: usize,
    },
    #[error(
        "DNS {what} name at offset {offset}: more than {MAX_POINTER_JUMPS} compression pointers"
    )]
    TooManyPointers { what: &'static str, offset: usize },
    #[error("DNS {what} name at offset {offset}: longer than {MAX_NAME_LEN} octets")]
    NameTooLong { what: &'static str, offset: usize },
    #[error("DNS {what} record at offset {offset}: {rtype} data of {rdlength} bytes is malformed")]
    BadRdata {
        what: &'static str,
        offset: usize,
        rtype: RrType,
        rdlength: usize,
    },
}

/// A resource record TYPE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RrType(pub u16);

code_table!(RrType, unknown = "TYPE{}", {
    A = 1,
    NS = 2,
    CNAME = 5,
    SOA = 6,
    PTR = 12,
    MX = 15,
    TXT = 16,
    AAAA = 28,
    SRV = 33,
    OPT = 41,
    ANY = 255,
});

/// A response code (RCODE, RFC 1035 §4.1.1; the extended bits of EDNS are not merged in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rcode(pub u8);

code_table!(Rcode, unknown = "RCODE{}", {
    NOERROR = 0,
    FORMERR = 1,
    SERVFAIL = 2,
    NXDOMAIN = 3,
    NOTIMP = 4,
    REFUSED = 5,
});

/// The fixed 12-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsHeader {
    pub id: u16,
    /// QR: this is a response.
    pub response: bool,
    pub opcode: u8,
    pub authoritative: bool,
    /// TC: the answer did not fit; the client should retry over TCP.
    pub truncated: bool,
    pub recursion_desired: bool,
    pub recursion_available: bool,
    pub rcode: Rcode,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

/// One entry of the question section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub name: String,
    pub qtype: RrType,
    pub qclass: u16,
}

/// Record data, decoded for the types a name table needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RData<'a> {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// The canonical name the record's owner is an alias of.
    Cname(String),
    /// Any other type: the raw RDATA (compressed names inside it are not expanded).
    Other(&'a [u8]),
}

/// One resource record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceRecord<'a> {
    pub name: String,
    pub rtype: RrType,
    /// CLASS; for OPT records this is the requester's UDP payload size.
    pub class: u16,
    pub ttl: u32,
    pub data: RData<'a>,
}

/// A parsed DNS message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsMessage<'a> {
    pub header: DnsHeader,
    pub questions: Vec<Question>,
    pub answers: Vec<ResourceRecord<'a>>,
    pub authorities: Vec<ResourceRecord<'a>>,
    pub additionals: Vec<ResourceRecord<'a>>,
}

impl<'a> DnsMessage<'a> {
    fn records(&self) -> impl Iterator<Item = &ResourceRecord<'a>> {
        self.answers
            .iter()
            .chain(&self.authorities)
            .chain(&self.additionals)
    }

    /// Every (name, address) pair from A and AAAA records in any section.
    pub fn addresses(&self) -> impl Iterator<Item = (&str, IpAddr)> {
        self.records().filter_map(|r| match r.data {
            RData::A(a) => Some((r.name.as_str(), IpAddr::V4(a))),
            RData::Aaaa(a) => Some((r.name.as_str(), IpAddr::V6(a))),
            _ => None,
        })
    }

    /// Every (alias, canonical name) pair from CNAME records in any section.
    pub fn aliases(&self) -> impl Iterator<Item = (&str, &str)> {
        self.records().filter_map(|r| match &r.data {
            RData::Cname(target) => Some((r.name.as_str(), target.as_str())),
            _ => None,
        })
    }
}

/// Reads the TCP length prefix: the length of the message that follows it, or `None`
/// until two bytes are available.
pub fn tcp_message_len(input: &[u8]) -> Option<usize> {
    be_u16::<_, NomError<&[u8]>>(input)
        .ok()
        .map(|(_, len)| usize::from(len))
}

/// Parses one DNS message. Bytes after the last record counted in the header are ignored.
pub fn parse_message(input: &[u8]) -> Result<DnsMessage<'_>, DnsError> {
    let msg = Message(input);
    let (mut rest, header) = msg.header(input)?;
    let mut questions = Vec::new();
    for _ in 0..header.qdcount {
        let (after, question) = msg.question(rest)?;
        questions.push(question);
        rest = after;
    }
    let (rest, answers) = msg.records(rest, header.ancount, "answer")?;
    let (rest, authorities) = msg.records(rest, header.nscount, "authority")?;
    let (_, additionals) = msg.records(rest, header.arcount, "additional")?;
    Ok(DnsMessage {
        header,
        questions,
        answers,
        authorities,
        additionals,
    })
}

/// What every parser below returns: the input after the value, and the value.
type Parsed<'a, T> = Result<(&'a [u8], T), DnsError>;

/// The whole message: names need it for compression, and errors are located in it. Every
/// `input` handed to its methods is a suffix of it.
#[derive(Clone, Copy)]
struct Message<'a>(&'a [u8]);

impl<'a> Message<'a> {
    /// Offset in the message of `rest`, one of its suffixes.
    fn offset(self, rest: &[u8]) -> usize {
        self.0.len().saturating_sub(rest.len())
    }

    /// Runs a fixed-layout nom parser; running out of bytes is a truncation located at the
    /// start of the field the message ends inside.
    fn fixed<O>(
        self,
        what: &'static str,
        input: &'a [u8],
        mut parser: impl Parser<&'a [u8], Output = O, Error = NomError<&'a [u8]>>,
    ) -> Parsed<'a, O> {
        parser.parse(input).map_err(|e| {
            let at = match e {
                nom::Err::Error(e) | nom::Err::Failure(e) => e.input,
                nom::Err::Incomplete(_) => input,
            };
            DnsError::Truncated {
                what,
                offset: self.offset(at),
            }
        })
    }

    fn header(self, input: &'a [u8]) -> Parsed<'a, DnsHeader> {
        // A short header is one error at its start, whichever field it ends in.
        let (rest, (id, flags, qdcount, ancount, nscount, arcount)) =
            (be_u16, be_u16, be_u16, be_u16, be_u16, be_u16)
                .parse(input)
                .map_err(|_: nom::Err<NomError<&[u8]>>| DnsError::Truncated {
                    what: "header",
                    offset: self.offset(input),
                })?;
        let bit = |n: u16| flags & (1 << n) != 0;
        let header = DnsHeader {
            id,
            response: bit(15),
            // Masked to 4 bits, so the narrowing cannot lose anything.
            opcode: ((flags >> 11) & 0x0f) as u8,
            authoritative: bit(10),
            truncated: bit(9),
            recursion_desired: bit(8),
            recursion_available: bit(7),
            rcode: Rcode((flags & 0x0f) as u8),
            qdcount,
            ancount,
            nscount,
            arcount,
        };
        Ok((rest, header))
    }

    fn question(self, input: &'a [u8]) -> Parsed<'a, Question> {
        let (rest, name) = self.name(input, "question")?;
        let (rest, (qtype, qclass)) = self.fixed("question", rest, (be_u16, be_u16))?;
        let question = Question {
            name,
            qtype: RrType(qtype),
            qclass,
        };
        Ok((rest, question))
    }

    fn records(
        self,
        mut input: &'a [u8],
        count: u16,
        what: &'static str,
    ) -> Parsed<'a, Vec<ResourceRecord<'a>>> {
        let mut out = Vec::new();
        for _ in 0..count {
            let (rest, record) = self.record(input, what)?;
            out.push(record);
            input = rest;
        }
        Ok((input, out))
    }

    fn record(self, input: &'a [u8], what: &'static str) -> Parsed<'a, ResourceRecord<'a>> {
        // Two halves, so a message cut inside the TTL is located at the half it lacks.
        let ttl = (be_u16, be_u16).map(|(hi, lo)| (u32::from(hi) << 16) | u32::from(lo));
        let (rest, name) = self.name(input, what)?;
        let (rdata_at, (rtype, class, ttl, rdlength)) =
            self.fixed(what, rest, (be_u16, be_u16, ttl, be_u16))?;
        let (rest, rdata) = self.fixed(what, rdata_at, take(rdlength))?;
        let rtype = RrType(rtype);
        let bad = DnsError::BadRdata {
            what,
            offset: self.offset(input),
            rtype,
            rdlength: usize::from(rdlength),
        };
        let data = match rtype {
            RrType::A => RData::A(Ipv4Addr::from(
                <[u8; 4]>::try_from(rdata).map_err(|_| bad.clone())?,
            )),
            RrType::AAAA => RData::Aaaa(Ipv6Addr::from(
                <[u8; 16]>::try_from(rdata).map_err(|_| bad.clone())?,
            )),
            RrType::CNAME => {
                let (after, target) = self.name(rdata_at, what)?;
                // The name's own octets must lie inside the RDATA, even if it points elsewhere.
                if after.len() != rest.len() {
                    return Err(bad);
                }
                RData::Cname(target)
            }
            _ => RData::Other(rdata),
        };
        let record = ResourceRecord {
            name,
            rtype,
            class,
            ttl,
            data,
        };
        Ok((rest, record))
    }

    /// Reads a possibly compressed name, returning the input after the name's in-place
    /// octets. Labels are joined with `.` (the root is `.`); bytes that are not printable
    /// ASCII, and `.` or `\` inside a label, are written as `\DDD`.
    fn name(self, input: &'a [u8], what: &'static str) -> Parsed<'a, String> {
        let name_at = self.offset(input);
        let mut out = String::new();
        let mut at = name_at;
        // Start of the stretch being read: a pointer must land before it, which makes every
        // jump strictly backwards from all bytes read so far and so rules out loops.
        let mut segment_start = name_at;
        // Where the input resumes once the first pointer has been followed.
        let mut resume: Option<&'a [u8]> = None;
        let mut jumps = 0;
        let mut wire_len = 0usize;
        let rest = loop {
            let truncated = |_: nom::Err<NomError<&[u8]>>| DnsError::Truncated { what, offset: at };
            let here = self.0.get(at..).unwrap_or_default();
            let (rest, len) = be_u8(here).map_err(truncated)?;
            match len & 0xc0 {
                0x00 if len == 0 => break resume.unwrap_or(rest),
                0x00 => {
                    wire_len = wire_len.saturating_add(usize::from(len) + 1);
                    if wire_len.saturating_add(1) > MAX_NAME_LEN {
                        return Err(DnsError::NameTooLong {
                            what,
                            offset: name_at,
                        });
                    }
                    let (rest, label) = take(len).parse(rest).map_err(truncated)?;
                    if !out.is_empty() {
                        out.push('.');
                    }
                    for &b in label {
                        if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                            out.push(char::from(b));
                        } else {
                            // Writing to a String cannot fail.
                            let _ = write!(out, "\\{b:03}");
                        }
                    }
                    at = self.offset(rest);
                }
                0xc0 => {
                    let (rest, low) = be_u8(rest).map_err(truncated)?;
                    let target = (usize::from(len & 0x3f) << 8) | usize::from(low);
                    resume.get_or_insert(rest);
                    jumps += 1;
                    if jumps > MAX_POINTER_JUMPS {
                        return Err(DnsError::TooManyPointers { what, offset: at });
                    }
                    if target >= segment_start {
                        return Err(DnsError::BadPointer {
                            what,
                            offset: at,
                            target,
                        });
                    }
                    at = target;
                    segment_start = target;
                }
                _ => {
                    return Err(DnsError::BadLabel {
                        what,
                        offset: at,
                        label: len,
                    })
                }
            }
        };
        if out.is_empty() {
            out.push('.');
        }
        Ok((rest, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::code_table::assert_names_round_trip;
    use crate::proto::test_hex as unhex;
    use proptest::prelude::*;

    // ../shared/captures/lab/ad-krb-cname-nospn-required.pcap frame 18: the answer to
    // "A files.corp.example", a CNAME to dc01.corp.example plus its A record and the SOA.
    const CNAME_ANSWER: &str = "cc52850000010002000100000566696c657304636f7270076578616d706c65\
        0000010001c00c000500010000038400070464633031c012c030000100010000038400040a58001ec012\
        0006000100000e100023c0300a686f73746d6173746572c01200000003000003840000025800015180\
        00000e10";

    // ../shared/captures/samr-enum-lab/metasploit_smb_enumusers.pcapng frame 20: an A answer
    // with an EDNS OPT record in the additional section.
    const A_WITH_OPT: &str = "052485800001000100000001047964633108646f6d61696e2d79056c6f63616c\
        0000010001c00c0001000100000e100004c0a80b0b0000290fa0000080000000";

    #[test]
    fn cname_chain_answer() {
        let bytes = unhex(CNAME_ANSWER);
        let msg = parse_message(&bytes).unwrap();
        let h = msg.header;
        assert_eq!(h.id, 0xcc52);
        assert!(h.response && h.authoritative && h.recursion_desired);
        assert!(!h.truncated && !h.recursion_available);
        assert_eq!((h.opcode, h.rcode), (0, Rcode::NOERROR));
        assert_eq!((h.qdcount, h.ancount, h.nscount, h.arcount), (1, 2, 1, 0));
        assert_eq!(
            msg.questions,
            [Question {
                name: "files.corp.example".into(),
                qtype: RrType::A,
                qclass: 1
            }]
        );
        assert_eq!(
            msg.answers[0],
            ResourceRecord {
                name: "files.corp.example".into(),
                rtype: RrType::CNAME,
                class: 1,
                ttl: 900,
                data: RData::Cname("dc01.corp.example".into()),
            }
        );
        assert_eq!(msg.answers[1].name, "dc01.corp.example");
        assert_eq!(msg.answers[1].data, RData::A(Ipv4Addr::new(10, 88, 0, 30)));
        let soa = &msg.authorities[0];
        assert_eq!(
            (soa.name.as_str(), soa.rtype, soa.ttl),
            ("corp.example", RrType::SOA, 3600)
        );
        assert!(matches!(soa.data, RData::Other(d) if d.len() == 35));
        let aliases: Vec<_> = msg.aliases().collect();
        assert_eq!(aliases, [("files.corp.example", "dc01.corp.example")]);
        let addrs: Vec<_> = msg.addresses().collect();
        assert_eq!(
            addrs,
            [("dc01.corp.example", IpAddr::from([10, 88, 0, 30]))]
        );
    }

    #[test]
    fn opt_record_is_kept_raw() {
        let bytes = unhex(A_WITH_OPT);
        let msg = parse_message(&bytes).unwrap();
        assert!(msg.header.recursion_available);
        let addrs: Vec<_> = msg.addresses().collect();
        assert_eq!(
            addrs,
            [("ydc1.domain-y.local", IpAddr::from([192, 168, 11, 11]))]
        );
        let opt = &msg.additionals[0];
        assert_eq!(
            (opt.name.as_str(), opt.rtype, opt.class),
            (".", RrType::OPT, 4000)
        );
        assert_eq!(opt.data, RData::Other(&[]));
    }

    #[test]
    fn aaaa_record() {
        // Synthetic (no public capture here has AAAA): the CNAME answer with its A record
        // rewritten as AAAA 2001:db8::1e.
        let mut bytes = unhex(CNAME_ANSWER);
        let a_at = 55; // c0 30 00 01 00 01 00 00 03 84 00 04 0a 58 00 1e
        assert_eq!(bytes[a_at..a_at + 4], [0xc0, 0x30, 0x00, 0x01]);
        bytes[a_at + 3] = 28;
        bytes[a_at + 11] = 16;
        let addr: Ipv6Addr = "2001:db8::1e".parse().unwrap();
        bytes.splice(a_at + 12..a_at + 16, addr.octets());
        let msg = parse_message(&bytes).unwrap();
        assert_eq!(msg.answers[1].data, RData::Aaaa(addr));
    }

    #[test]
    fn every_cut_is_an_error() {
        let bytes = unhex(CNAME_ANSWER);
        for len in 0..bytes.len() {
            assert!(
                parse_message(&bytes[..len]).is_err(),
                "{len}-byte prefix parsed"
            );
        }
        assert_eq!(
            parse_message(&bytes[..60]).unwrap_err().to_string(),
            "DNS answer at offset 59: message ends inside it"
        );
    }

    #[test]
    fn impossible_lengths_are_errors() {
        // A record claiming 5 bytes of address.
        let mut bytes = unhex(CNAME_ANSWER);
        bytes[66] = 5;
        assert!(matches!(
            parse_message(&bytes),
            Err(DnsError::BadRdata {
                rtype: RrType::A,
                rdlength: 5,
                ..
            })
        ));
        // CNAME rdlength 0xffff.
        let mut bytes = unhex(CNAME_ANSWER);
        bytes[46..48].copy_from_slice(&[0xff, 0xff]);
        assert!(matches!(
            parse_message(&bytes),
            Err(DnsError::Truncated {
                what: "answer",
                offset: 48
            })
        ));
        // Header counts far beyond the data.
        let mut bytes = unhex(CNAME_ANSWER);
        bytes[6..8].copy_from_slice(&[0xff, 0xff]);
        assert!(parse_message(&bytes).is_err());
    }

    #[test]
    fn compression_loops_and_forward_pointers_are_refused() {
        let header = [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        // Question name is a pointer to itself.
        let mut self_loop = header.to_vec();
        self_loop.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert!(matches!(
            parse_message(&self_loop),
            Err(DnsError::BadPointer {
                offset: 12,
                target: 12,
                ..
            })
        ));
        // A label, then a pointer back to that label: backwards, but a loop.
        let mut cycle = header.to_vec();
        cycle.extend_from_slice(&[1, b'a', 0xc0, 12, 0, 1, 0, 1]);
        assert!(matches!(
            parse_message(&cycle),
            Err(DnsError::BadPointer {
                offset: 14,
                target: 12,
                ..
            })
        ));
        // Question k's name points at question k-1's: k jumps. 32 are allowed, 33 are not.
        let chain = |questions: u16| {
            let mut msg = header.to_vec();
            msg[4..6].copy_from_slice(&questions.to_be_bytes());
            msg.extend_from_slice(&[0, 0, 1, 0, 1]);
            let mut prev = 12u16;
            for _ in 1..questions {
                let at = u16::try_from(msg.len()).unwrap();
                msg.extend_from_slice(&(0xc000 | prev).to_be_bytes());
                msg.extend_from_slice(&[0, 1, 0, 1]);
                prev = at;
            }
            msg
        };
        let longest = chain(33);
        assert_eq!(parse_message(&longest).unwrap().questions[32].name, ".");
        assert!(matches!(
            parse_message(&chain(34)),
            Err(DnsError::TooManyPointers { .. })
        ));
    }

    #[test]
    fn over_long_names_and_extended_labels_are_refused() {
        let mut long = vec![0, 1, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for _ in 0..5 {
            long.push(63);
            long.extend_from_slice(&[b'x'; 63]);
        }
        long.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert!(matches!(
            parse_message(&long),
            Err(DnsError::NameTooLong { offset: 12, .. })
        ));
        let mut ext = vec![0, 1, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        ext.extend_from_slice(&[0x41, 0, 0, 1, 0, 1]);
        assert!(matches!(
            parse_message(&ext),
            Err(DnsError::BadLabel { label: 0x41, .. })
        ));
    }

    #[test]
    fn odd_label_bytes_are_escaped() {
        let mut msg = vec![0, 1, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        msg.extend_from_slice(&[3, b'a', b'.', 0xff, 0, 0, 1, 0, 1]);
        let parsed = parse_message(&msg).unwrap();
        assert_eq!(parsed.questions[0].name, "a\\046\\255");
    }

    #[test]
    fn names_round_trip_and_are_unique() {
        assert_names_round_trip(RrType::ALL, RrType::name);
        assert_names_round_trip(Rcode::ALL, Rcode::name);
        assert_eq!(RrType(99).to_string(), "TYPE99");
        assert_eq!(Rcode(9).to_string(), "RCODE9");
    }

    #[test]
    fn tcp_length_prefix() {
        assert_eq!(tcp_message_len(&[0x00]), None);
        assert_eq!(tcp_message_len(&[0x00, 0x7e, 0xcc]), Some(126));
        assert_eq!(tcp_message_len(&[0xff, 0xff]), Some(65_535));
    }

    proptest! {
        #[test]
        fn parse_message_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_message(&bytes);
        }

        #[test]
        fn tcp_message_len_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4)) {
            let _ = tcp_message_len(&bytes);
        }

        #[test]
        fn mutated_real_answers_never_panic(
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        ) {
            let mut bytes = unhex(CNAME_ANSWER);
            let len = bytes.len();
            for (at, b) in edits {
                bytes[at % len] = b;
            }
            if let Ok(msg) = parse_message(&bytes) {
                let _ = msg.addresses().count() + msg.aliases().count();
            }
        }
    }
}
