//! Writes the seed corpora under `fuzz/corpus/<target>/`: the fixtures and every testkit
//! scenario as captures (classic pcap and pcapng), and the protocol messages cut out of them
//! (NetBIOS records, SMB1/SMB2 PDUs, security buffers, NTLMSSP and Kerberos tokens, DNS
//! messages), gzip-compressed captures (whole, in two members, cut), plus the dissectors'
//! real-capture test bytes and a few hostile shapes.

use smbtriage::capture::CaptureReader;
use smbtriage::flow::{At, ConnInfo, Dir, FlowConfig, FlowSink, TcpEvent};
use smbtriage::net::UdpDatagram;
use smbtriage::pipeline;
use smbtriage::proto::gss::spnego;
use smbtriage::proto::smb2;
use smbtriage::testkit::{scenarios, IfTsresol, PcapngWriter};
use std::collections::{BTreeMap, HashSet};
use std::io::Cursor;
use std::path::{Path, PathBuf};

struct Corpus {
    root: PathBuf,
    seen: HashSet<(String, Vec<u8>)>,
    count: usize,
}

impl Corpus {
    fn add(&mut self, target: &str, data: &[u8]) {
        if !self.seen.insert((target.to_string(), data.to_vec())) {
            return;
        }
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).expect("create corpus dir");
        let hash = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        std::fs::write(dir.join(format!("seed-{hash:016x}")), data).expect("write seed");
        self.count += 1;
    }
}

/// Collects stream bytes per connection and direction, and UDP payloads, with the ports.
#[derive(Default)]
struct Collect {
    streams: BTreeMap<(u64, usize), (u16, Vec<u8>)>,
    udp: Vec<(u16, Vec<u8>)>,
}

impl FlowSink for Collect {
    fn tcp(&mut self, conn: &ConnInfo, _at: At, event: TcpEvent<'_>) {
        if let TcpEvent::Data { dir, bytes, .. } = event {
            let entry = self
                .streams
                .entry((conn.id, dir.index()))
                .or_insert_with(|| (conn.server.port(), Vec::new()));
            entry.1.extend_from_slice(bytes);
        }
    }

    fn udp(&mut self, conn: &ConnInfo, _at: At, _dir: Dir, d: &UdpDatagram<'_>) {
        self.udp.push((conn.server.port(), d.payload.to_vec()));
    }
}

fn security_blob(c: &mut Corpus, blob: &[u8]) {
    if blob.is_empty() {
        return;
    }
    c.add("spnego", blob);
    let token = match spnego::parse_security_blob(blob) {
        Ok(spnego::SecurityBlob::NegTokenInit(i)) => i.mech_token,
        Ok(spnego::SecurityBlob::NegTokenResp(r)) => r.response_token,
        Ok(spnego::SecurityBlob::Ntlmssp(b)) => Some(b),
        Ok(spnego::SecurityBlob::Kerberos(k)) => {
            c.add("kerberos", k.inner);
            None
        }
        _ => None,
    };
    if let Some(t) = token {
        match spnego::classify_mech_token(t) {
            spnego::MechToken::Ntlmssp(b) => c.add("ntlmssp", b),
            spnego::MechToken::Kerberos(k) => {
                c.add("kerberos", t);
                c.add("kerberos", k.inner);
            }
            spnego::MechToken::Raw(b) => c.add("spnego", b),
        }
    }
}

fn smb_stream(c: &mut Corpus, stream: &[u8]) {
    let mut at = 0;
    while let Some(h) = stream.get(at..at + 4) {
        let len = (usize::from(h[1] & 1) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
        let Some(record) = stream.get(at..at + 4 + len) else {
            break;
        };
        c.add("nbss", record);
        let payload = &record[4..];
        match payload.first() {
            Some(0xff) => c.add("smb1", payload),
            Some(0xfc..=0xfe) => {
                c.add("smb2", payload);
                for m in smb2::messages(payload).flatten() {
                    c.add("smb2", m.bytes);
                    let blob = match m.body {
                        Ok(smb2::Body::NegotiateResponse(r)) => r.security_buffer.ok(),
                        Ok(smb2::Body::SessionSetupRequest(r)) => r.security_buffer.ok(),
                        Ok(smb2::Body::SessionSetupResponse(r)) => r.security_buffer.ok(),
                        _ => None,
                    };
                    if let Some(b) = blob {
                        security_blob(c, b);
                    }
                }
            }
            _ => {}
        }
        at += 4 + len;
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(bytes).expect("gzip to memory");
    z.finish().expect("gzip to memory")
}

fn capture(c: &mut Corpus, pcap: &[u8]) {
    c.add("capture_reader", pcap);
    c.add("pipeline", pcap);
    let Ok(reader) = CaptureReader::from_reader(Path::new("seed"), Cursor::new(pcap.to_vec()))
    else {
        return;
    };
    let mut collect = Collect::default();
    pipeline::run_reader(reader, &FlowConfig::default(), &mut collect);
    for (port, stream) in collect.streams.values() {
        match port {
            88 => {
                let mut at = 0;
                while let Some(h) = stream.get(at..at + 4) {
                    let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
                    let Some(record) = stream.get(at..at + 4 + len) else {
                        break;
                    };
                    c.add("kerberos", record);
                    c.add("kerberos", &record[4..]);
                    at += 4 + len;
                }
            }
            53 => c.add("dns", stream),
            _ => smb_stream(c, stream),
        }
    }
    for (port, payload) in &collect.udp {
        match port {
            88 => c.add("kerberos", payload),
            53 => c.add("dns", payload),
            _ => {}
        }
    }
}

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .filter_map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

/// `depth` DER constructed elements nested inside each other (long-form lengths).
fn nested_der(tag: u8, depth: usize) -> Vec<u8> {
    let mut inner = vec![0x05, 0x00];
    for _ in 0..depth {
        let len = inner.len() as u32;
        let mut next = vec![tag, 0x84];
        next.extend_from_slice(&len.to_be_bytes());
        next.extend_from_slice(&inner);
        inner = next;
    }
    inner
}

fn main() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let repo = fuzz.join("..");
    let mut c = Corpus {
        root: fuzz.join("corpus"),
        seen: HashSet::new(),
        count: 0,
    };
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(repo.join("fixtures"))
        .expect("fixtures/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    fixtures.sort();
    let mut fixtures: Vec<Vec<u8>> = fixtures
        .iter()
        .map(|f| std::fs::read(f).expect("read fixture"))
        .collect();
    for pcap in &fixtures {
        capture(&mut c, pcap);
    }
    // Compressed captures take another path through the reader (the gzip decoder, its
    // errors, a cut trailer): the smallest fixtures as one member, as two members, and cut.
    fixtures.sort_by_key(Vec::len);
    for pcap in fixtures.iter().take(6) {
        let whole = gzip(pcap);
        let (a, b) = pcap.split_at(pcap.len() / 2);
        let members = [gzip(a), gzip(b)].concat();
        let cut = &whole[..whole.len() - 10];
        for target in ["capture_reader", "pipeline"] {
            c.add(target, &whole);
            c.add(target, &members);
            c.add(target, cut);
        }
    }
    for s in scenarios::all() {
        capture(&mut c, &s.pcap());
        let mut w = PcapngWriter::new(Vec::new()).expect("pcapng to memory");
        let id = w
            .add_interface(s.linktype, s.snaplen, IfTsresol(9))
            .expect("pcapng to memory");
        w.write_packets(id, &s.packets).expect("pcapng to memory");
        let ng = w.into_inner();
        c.add("capture_reader", &ng);
        c.add("pipeline", &ng);
        // The reassembler targets read operations from bytes: any bytes will do as seeds.
        c.add("reassembler", &s.pcap()[24..s.pcap().len().min(600)]);
        c.add("flow_table", &s.pcap()[24..s.pcap().len().min(2000)]);
    }
    for dir in ["src/proto/testdata/krb", "src/proto/testdata/smb"] {
        for e in std::fs::read_dir(repo.join(dir))
            .expect("testdata")
            .flatten()
        {
            let p = e.path();
            let bytes = std::fs::read(&p).expect("read testdata");
            if p.extension().is_some_and(|e| e == "hex") {
                security_blob(&mut c, &hex(&String::from_utf8_lossy(&bytes)));
            } else {
                c.add("kerberos", &bytes);
            }
        }
    }
    c.add("spnego", &nested_der(0xa0, 200));
    c.add(
        "spnego",
        &[&[0x60u8, 0x80][..], &nested_der(0x30, 200)].concat(),
    );
    c.add(
        "kerberos",
        &[&[0x6cu8, 0x80][..], &nested_der(0x30, 200)].concat(),
    );
    c.add("kerberos", &nested_der(0x6e, 200));
    c.add("reassembler", &[0u8; 64]);
    c.add("flow_table", &[0xffu8; 64]);
    println!("wrote {} seeds under {}", c.count, c.root.display());
}
