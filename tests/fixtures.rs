//! Every scenario of `smbtriage::testkit::scenarios` built in memory and compared byte for
//! byte with its committed capture in `fixtures/<name>.pcap`, so a change to a builder that
//! alters a fixture is seen. With `SMBTRIAGE_UPDATE_FIXTURES=1` the files are (re)written
//! instead; review the diff with tshark before committing them.

use std::fs;
use std::path::PathBuf;

use smbtriage::testkit::scenarios;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

#[test]
fn committed_fixtures_match_their_scenarios() {
    let update = std::env::var("SMBTRIAGE_UPDATE_FIXTURES").is_ok_and(|v| v == "1");
    let dir = fixture_dir();
    let mut stale = Vec::new();
    let mut total = 0;
    for scenario in scenarios::all() {
        let bytes = scenario.pcap();
        total += bytes.len();
        assert!(
            bytes.len() < 20_000,
            "{}: {} bytes, fixtures stay under 20 KB",
            scenario.name,
            bytes.len()
        );
        let path = dir.join(format!("{}.pcap", scenario.name));
        if update {
            fs::create_dir_all(&dir).unwrap();
            fs::write(&path, &bytes).unwrap();
        } else if fs::read(&path).ok().as_deref() != Some(&bytes[..]) {
            stale.push(scenario.name);
        }
    }
    assert!(total < 500_000, "fixtures total {total} bytes");
    assert!(
        stale.is_empty(),
        "fixtures differ from their scenarios (rerun with SMBTRIAGE_UPDATE_FIXTURES=1 and \
         review): {stale:?}"
    );
}

#[test]
fn no_stray_fixture_files() {
    let names: Vec<String> = scenarios::all()
        .iter()
        .map(|s| format!("{}.pcap", s.name))
        .collect();
    let Ok(entries) = fs::read_dir(fixture_dir()) else {
        return;
    };
    for entry in entries {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".pcap") {
            assert!(names.contains(&name), "fixtures/{name} has no scenario");
        }
    }
}
