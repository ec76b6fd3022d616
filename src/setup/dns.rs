//! The capture's DNS answers as a name table: which addresses a name resolved to, and which
//! names are CNAME aliases of which canonical names — so a finding can say "reached through
//! the alias files.corp.example of dc01.corp.example" with the frame that shows it.

use super::observations::{DnsAnswer, DnsObservation};
use crate::proto::dns::{self, RData};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// At most this many names are remembered; DNS-heavy captures must not grow memory unbounded.
const MAX_NAMES: usize = 100_000;

/// A name and the frame of the answer that taught it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learned<T> {
    pub value: T,
    pub frame: u64,
}

/// Names learned from DNS answers. Names are compared case-insensitively, without a
/// trailing dot.
#[derive(Debug, Default)]
pub struct NameTable {
    addresses: BTreeMap<String, Vec<Learned<IpAddr>>>,
    aliases: BTreeMap<String, Learned<String>>,
}

fn norm(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl NameTable {
    /// Learns from one DNS message; returns its answers for `dump`.
    pub fn learn(&mut self, payload: &[u8], frame: u64) -> Vec<DnsObservation> {
        let Ok(msg) = dns::parse_message(payload) else {
            return Vec::new();
        };
        if !msg.header.response {
            return Vec::new();
        }
        let mut out = Vec::new();
        for rr in &msg.answers {
            let answer = match &rr.data {
                RData::A(a) => DnsAnswer::A(*a),
                RData::Aaaa(a) => DnsAnswer::Aaaa(*a),
                RData::Cname(c) => DnsAnswer::Cname(c.clone()),
                RData::Other(_) => continue,
            };
            out.push(DnsObservation {
                frame,
                name: rr.name.clone(),
                answer,
            });
        }
        if self.addresses.len() + self.aliases.len() >= MAX_NAMES {
            return out;
        }
        for (name, addr) in msg.addresses() {
            let known = self.addresses.entry(norm(name)).or_default();
            if !known.iter().any(|l| l.value == addr) {
                known.push(Learned { value: addr, frame });
            }
        }
        for (alias, target) in msg.aliases() {
            self.aliases.entry(norm(alias)).or_insert(Learned {
                value: norm(target),
                frame,
            });
        }
        out
    }

    /// The canonical name `name` is an alias of (following a chain), with the frame of the
    /// first CNAME answer.
    pub fn canonical(&self, name: &str) -> Option<Learned<String>> {
        let first = self.aliases.get(&norm(name))?;
        let mut current = first.value.clone();
        for _ in 0..16 {
            match self.aliases.get(&current) {
                Some(next) => current = next.value.clone(),
                None => break,
            }
        }
        Some(Learned {
            value: current,
            frame: first.frame,
        })
    }

    /// Names that resolved to `addr`, directly or through an alias.
    pub fn names_for(&self, addr: IpAddr) -> Vec<String> {
        let direct: Vec<&String> = self
            .addresses
            .iter()
            .filter(|(_, addrs)| addrs.iter().any(|l| l.value == addr))
            .map(|(n, _)| n)
            .collect();
        let mut names: Vec<String> = direct.iter().map(|n| n.to_string()).collect();
        for (alias, target) in &self.aliases {
            if direct.contains(&&target.value) && !names.contains(alias) {
                names.push(alias.clone());
            }
        }
        names
    }

    /// The addresses `name` resolved to (through aliases too).
    pub fn addresses_of(&self, name: &str) -> Vec<IpAddr> {
        let key = self
            .canonical(name)
            .map(|l| l.value)
            .unwrap_or_else(|| norm(name));
        let mut out: Vec<IpAddr> = self
            .addresses
            .get(&key)
            .map(|v| v.iter().map(|l| l.value).collect())
            .unwrap_or_default();
        if let Some(direct) = self.addresses.get(&norm(name)) {
            out.extend(direct.iter().map(|l| l.value));
        }
        out.dedup();
        out
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.aliases.is_empty()
    }
}
