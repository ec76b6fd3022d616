use super::*;

fn reader(bytes: Vec<u8>) -> Result<CaptureReader, CaptureError> {
    CaptureReader::from_reader(Path::new("test.pcap"), io::Cursor::new(bytes))
}

fn pcap_header(big_endian: bool, nanos: bool, linktype: u32) -> Vec<u8> {
    let magic: u32 = if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
    let mut v = Vec::new();
    let put32 = |v: &mut Vec<u8>, x: u32| {
        v.extend_from_slice(&if big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        })
    };
    put32(&mut v, magic);
    let put16 = |v: &mut Vec<u8>, x: u16| {
        v.extend_from_slice(&if big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        })
    };
    put16(&mut v, 2);
    put16(&mut v, 4);
    put32(&mut v, 0);
    put32(&mut v, 0);
    put32(&mut v, 65535);
    put32(&mut v, linktype);
    v
}

fn pcap_record(big_endian: bool, sec: u32, frac: u32, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [sec, frac, data.len() as u32, data.len() as u32] {
        v.extend_from_slice(&if big_endian {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        });
    }
    v.extend_from_slice(data);
    v
}

/// (frame number, timestamp, bytes) of each frame, and the error that ended reading.
type Collected = (Vec<(u64, i64, Vec<u8>)>, Option<CaptureError>);

fn collect(mut r: CaptureReader) -> Collected {
    let mut frames = Vec::new();
    loop {
        match r.next_frame() {
            Ok(Some(f)) => frames.push((f.number, f.ts.nanos(), f.data.to_vec())),
            Ok(None) => return (frames, None),
            Err(e) => return (frames, Some(e)),
        }
    }
}

#[test]
fn open_counting_counts_every_byte_of_the_file() {
    let mut file = pcap_header(false, false, 1);
    for i in 0..200u32 {
        file.extend(pcap_record(false, i, 0, &[i as u8; 1000]));
    }
    let path = std::env::temp_dir().join(format!("smbtriage-count-{}.pcap", std::process::id()));
    std::fs::write(&path, &file).unwrap();
    let read = Arc::new(AtomicU64::new(0));
    let r = CaptureReader::open_counting(&path, Arc::clone(&read)).unwrap();
    let (frames, err) = collect(r);
    let _ = std::fs::remove_file(&path);
    assert!(err.is_none());
    assert_eq!(frames.len(), 200);
    assert_eq!(read.load(Ordering::Relaxed), file.len() as u64);
}

#[test]
fn reads_big_endian_microsecond_pcap() {
    let mut file = pcap_header(true, false, 1);
    file.extend(pcap_record(true, 10, 250_000, b"abc"));
    file.extend(pcap_record(true, 11, 0, b"defg"));
    let (frames, err) = collect(reader(file).unwrap());
    assert!(err.is_none());
    assert_eq!(
        frames,
        vec![
            (1, 10_250_000_000, b"abc".to_vec()),
            (2, 11_000_000_000, b"defg".to_vec())
        ]
    );
}

#[test]
fn reads_nanosecond_pcap() {
    let mut file = pcap_header(false, true, 101);
    file.extend(pcap_record(false, 1, 123_456_789, b"x"));
    let r = reader(file).unwrap();
    assert_eq!(r.format(), CaptureFormat::Pcap);
    let (frames, err) = collect(r);
    assert!(err.is_none());
    assert_eq!(frames[0].1, 1_123_456_789);
}

#[test]
fn truncated_mid_record_yields_frames_then_error() {
    let mut file = pcap_header(false, false, 1);
    file.extend(pcap_record(false, 1, 0, b"first"));
    let mut second = pcap_record(false, 2, 0, b"second-record");
    second.truncate(20);
    file.extend(second);
    let (frames, err) = collect(reader(file).unwrap());
    assert_eq!(frames.len(), 1);
    match err {
        Some(CaptureError::Truncated { last_frame: 1, .. }) => {}
        other => panic!("expected truncation after frame 1, got {other:?}"),
    }
}

#[test]
fn non_capture_is_a_typed_error() {
    match reader(b"GET / HTTP/1.1\r\n".to_vec()) {
        Err(CaptureError::NotACapture { magic, .. }) => assert_eq!(magic, "47 45 54 20"),
        other => panic!("expected NotACapture, got {other:?}"),
    }
    assert!(matches!(
        reader(Vec::new()),
        Err(CaptureError::Empty { .. })
    ));
}

#[test]
fn header_only_file_has_no_frames() {
    let (frames, err) = collect(reader(pcap_header(false, false, 1)).unwrap());
    assert!(frames.is_empty());
    assert!(err.is_none());
}

#[test]
fn huge_record_length_is_corrupt_not_an_allocation() {
    let mut file = pcap_header(false, false, 1);
    for x in [1u32, 0, 0xffff_fff0, 0xffff_fff0] {
        file.extend_from_slice(&x.to_le_bytes());
    }
    file.extend_from_slice(&[0u8; 64]);
    let (frames, err) = collect(reader(file).unwrap());
    assert!(frames.is_empty());
    assert!(err.is_some(), "a 4 GiB record must be reported");
}

#[test]
fn gzip_is_decompressed_and_corrupt_gzip_reported() {
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;
    let mut file = pcap_header(false, false, 1);
    file.extend(pcap_record(false, 1, 0, b"zipped"));
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(&file).unwrap();
    let gz = enc.finish().unwrap();
    let r = reader(gz.clone()).unwrap();
    assert!(r.is_compressed());
    let (frames, err) = collect(r);
    assert!(err.is_none());
    assert_eq!(frames[0].2, b"zipped");

    let mut bad = gz;
    let mid = bad.len() / 2;
    for b in &mut bad[10..mid] {
        *b ^= 0x5a;
    }
    let result = reader(bad).map(collect);
    match result {
        Err(e) => assert!(matches!(
            e,
            CaptureError::Gzip { .. } | CaptureError::NotACapture { .. }
        )),
        Ok((_, err)) => assert!(err.is_some()),
    }
}

/// Found by the capture_reader fuzz target (fuzz/regressions/capture_reader): a Process
/// Information Block whose length (9) is shorter than a block's frame.
#[test]
fn short_process_information_block_is_corrupt() {
    let mut file = vec![
        0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0,
    ];
    file.extend_from_slice(&[0, 0, 0x45, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    file.extend_from_slice(&[0x1d, 0, 0, 0, 0x01, 0, 0, 0x80, 0x09, 0, 0, 0]);
    file.extend_from_slice(&[0, 0, 0, 0, 0x20, 0, 0, 0, 0x06, 0, 0x02, 0]);
    let (frames, err) = collect(reader(file).unwrap());
    assert!(frames.is_empty());
    assert!(matches!(err, Some(CaptureError::Corrupt { .. })), "{err:?}");
}

/// Found by tests/mutilation.rs: a .gz cut just before its trailer decompresses to whole
/// records, and the decoder's UnexpectedEof used to read as a clean end of file.
#[test]
fn gzip_cut_at_a_record_boundary_is_truncated() {
    use flate2::{write::GzEncoder, Compression};
    use std::io::Write;
    let mut file = pcap_header(false, false, 1);
    file.extend(pcap_record(false, 1, 0, b"first"));
    file.extend(pcap_record(false, 2, 0, b"second"));
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(&file).unwrap();
    let gz = enc.finish().unwrap();
    for cut in [gz.len() - 9, gz.len() - 4] {
        let (frames, err) = collect(reader(gz[..cut].to_vec()).unwrap());
        assert!(frames.len() <= 2, "cut at {cut}");
        assert!(
            matches!(err, Some(CaptureError::Truncated { .. })),
            "cut at {cut}: {err:?}"
        );
    }
}

proptest::proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
        if let Ok(r) = reader(bytes) {
            let _ = collect(r);
        }
    }

    #[test]
    fn never_panics_after_a_valid_header(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..600), ng in proptest::bool::ANY) {
        let mut file = if ng {
            // minimal little-endian SHB followed by arbitrary blocks
            let mut v = vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0];
            v.extend_from_slice(&[0xff; 8]);
            v.extend_from_slice(&[28, 0, 0, 0]);
            v
        } else {
            pcap_header(false, false, 1)
        };
        file.extend(tail);
        if let Ok(r) = reader(file) {
            let _ = collect(r);
        }
    }
}
