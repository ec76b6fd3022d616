//! DNS message builders (RFC 1035 4.1): a recursive query and its answer with CNAME and A/AAAA
//! records, names compressed the way resolvers write them.
//!
//! Contract: each function returns one DNS message (a UDP payload; wrap it with
//! [`super::dns_tcp_frame`] for TCP). Every name after its first occurrence, or after the
//! first occurrence of one of its suffixes, is written as a compression pointer to that
//! earlier occurrence, so pointers always point backwards.

use std::net::IpAddr;

/// One answer record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer<'a> {
    Cname { owner: &'a str, target: &'a str },
    Addr { owner: &'a str, addr: IpAddr },
}

/// Writes names with compression against the suffixes written so far.
struct Writer {
    buf: Vec<u8>,
    suffixes: Vec<(String, u16)>,
}

impl Writer {
    fn name(&mut self, name: &str) {
        let labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
        for i in 0..labels.len() {
            let suffix = labels[i..].join(".").to_ascii_lowercase();
            if let Some(&(_, at)) = self.suffixes.iter().find(|(s, _)| *s == suffix) {
                self.buf.extend_from_slice(&(0xC000 | at).to_be_bytes());
                return;
            }
            // Pointers have 14 bits; later occurrences simply are not remembered.
            if let Ok(at) = u16::try_from(self.buf.len()) {
                if at < 0x4000 {
                    self.suffixes.push((suffix, at));
                }
            }
            let label = labels[i].as_bytes();
            self.buf
                .push(u8::try_from(label.len()).expect("DNS label under 64 bytes"));
            self.buf.extend_from_slice(label);
        }
        self.buf.push(0);
    }

    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
}

/// Record types used here.
pub const TYPE_A: u16 = 1;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

fn header(w: &mut Writer, id: u16, flags: u16, answers: usize) {
    w.u16(id);
    w.u16(flags);
    w.u16(1);
    w.u16(u16::try_from(answers).expect("answer count"));
    w.u16(0);
    w.u16(0);
}

/// A recursive query for `name` of type `qtype`.
pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut w = Writer {
        buf: Vec::new(),
        suffixes: Vec::new(),
    };
    header(&mut w, id, 0x0100, 0); // RD
    w.name(name);
    w.u16(qtype);
    w.u16(CLASS_IN);
    w.buf
}

/// The NOERROR answer to [`query`], recursion available, with `answers` in order.
pub fn response(id: u16, name: &str, qtype: u16, answers: &[Answer<'_>], ttl: u32) -> Vec<u8> {
    let mut w = Writer {
        buf: Vec::new(),
        suffixes: Vec::new(),
    };
    header(&mut w, id, 0x8180, answers.len()); // QR, RD, RA
    w.name(name);
    w.u16(qtype);
    w.u16(CLASS_IN);
    for a in answers {
        let owner = match a {
            Answer::Cname { owner, .. } | Answer::Addr { owner, .. } => owner,
        };
        w.name(owner);
        let rtype = match a {
            Answer::Cname { .. } => TYPE_CNAME,
            Answer::Addr {
                addr: IpAddr::V4(_),
                ..
            } => TYPE_A,
            Answer::Addr {
                addr: IpAddr::V6(_),
                ..
            } => TYPE_AAAA,
        };
        w.u16(rtype);
        w.u16(CLASS_IN);
        w.buf.extend_from_slice(&ttl.to_be_bytes());
        let len_at = w.buf.len();
        w.u16(0);
        match a {
            Answer::Cname { target, .. } => w.name(target),
            Answer::Addr {
                addr: IpAddr::V4(v4),
                ..
            } => w.buf.extend_from_slice(&v4.octets()),
            Answer::Addr {
                addr: IpAddr::V6(v6),
                ..
            } => w.buf.extend_from_slice(&v6.octets()),
        }
        let rdlen = u16::try_from(w.buf.len() - len_at - 2).expect("RDATA length");
        w.buf[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
    }
    w.buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::dns::{self, RData, RrType};
    use std::net::Ipv4Addr;

    #[test]
    fn query_parses() {
        let q = query(0x1a2b, "files.corp.example", TYPE_A);
        let m = dns::parse_message(&q).unwrap();
        assert!(!m.header.response && m.header.recursion_desired);
        assert_eq!(m.questions[0].name, "files.corp.example");
        assert_eq!(m.questions[0].qtype, RrType::A);
    }

    #[test]
    fn cname_chain_with_compression() {
        let addr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 30));
        let r = response(
            0x1a2b,
            "files.corp.example",
            TYPE_A,
            &[
                Answer::Cname {
                    owner: "files.corp.example",
                    target: "dc01.corp.example",
                },
                Answer::Addr {
                    owner: "dc01.corp.example",
                    addr,
                },
            ],
            1200,
        );
        let m = dns::parse_message(&r).unwrap();
        assert_eq!(m.header.id, 0x1a2b);
        assert_eq!(
            m.aliases().collect::<Vec<_>>(),
            [("files.corp.example", "dc01.corp.example")]
        );
        assert_eq!(
            m.addresses().collect::<Vec<_>>(),
            [("dc01.corp.example", addr)]
        );
        assert_eq!(m.answers[1].data, RData::A(Ipv4Addr::new(192, 0, 2, 30)));
        // Question 24 bytes + header 12; the answers reuse it through pointers, so the whole
        // message stays small.
        assert_eq!(r.len(), 12 + 24 + (2 + 10 + 7) + (2 + 10 + 4));
    }
}
