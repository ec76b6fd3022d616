//! The plain-binary side of every fuzz target, for machines without libFuzzer:
//!
//! - `<target> [FILE|DIR]...` replays inputs (by default `corpus/<target>` and
//!   `regressions/<target>`) and fails on the first panic;
//! - `<target> --random SECS [--seed N] [--max-len N]` mutates corpus entries at random for
//!   SECS seconds (no coverage feedback), saves every panicking or slow input under
//!   `artifacts/<target>/` and prints executions and time.

use crate::mutate::{mutate, Rng};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An input taking longer than this counts as a hang.
const SLOW: Duration = Duration::from_secs(2);

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files_under(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            files_under(&p, out);
        }
    } else if path.is_file() {
        out.push(path.to_path_buf());
    }
}

/// Runs `target` on `data`; the panic message if it panicked.
fn run_one(target: fn(&[u8]), data: &[u8], last_panic: &Arc<Mutex<String>>) -> Option<String> {
    match panic::catch_unwind(AssertUnwindSafe(|| target(data))) {
        Ok(()) => None,
        Err(_) => Some(last_panic.lock().map(|m| m.clone()).unwrap_or_default()),
    }
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn save(name: &str, kind: &str, data: &[u8]) -> PathBuf {
    let dir = fuzz_dir().join("artifacts").join(name);
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("{kind}-{:016x}", fnv(data)));
    let _ = std::fs::write(&path, data);
    path
}

/// Entry point of a target's plain binary; returns the process exit code.
pub fn main(name: &str, target: fn(&[u8])) -> i32 {
    let last_panic = Arc::new(Mutex::new(String::new()));
    {
        let last_panic = Arc::clone(&last_panic);
        panic::set_hook(Box::new(move |info| {
            if let Ok(mut m) = last_panic.lock() {
                *m = info.to_string();
            }
        }));
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut random_secs = None;
    let mut seed = 0x5eed_u64;
    let mut max_len = 64 * 1024;
    let mut paths = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut number = |what: &str| -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{what} needs a number"))
        };
        match a.as_str() {
            "--random" => random_secs = Some(number("--random")),
            "--seed" => seed = number("--seed"),
            "--max-len" => max_len = number("--max-len") as usize,
            _ => paths.push(PathBuf::from(a)),
        }
    }
    if paths.is_empty() {
        paths.push(fuzz_dir().join("corpus").join(name));
        paths.push(fuzz_dir().join("regressions").join(name));
    }
    let mut files = Vec::new();
    for p in &paths {
        files_under(p, &mut files);
    }
    let mut corpus = Vec::new();
    let started = Instant::now();
    for f in &files {
        let Ok(data) = std::fs::read(f) else {
            continue;
        };
        let t = Instant::now();
        if let Some(msg) = run_one(target, &data, &last_panic) {
            eprintln!("{name}: CRASH on {}: {msg}", f.display());
            return 1;
        }
        if t.elapsed() > SLOW {
            eprintln!("{name}: SLOW ({:?}) on {}", t.elapsed(), f.display());
            return 1;
        }
        corpus.push(data);
    }
    eprintln!(
        "{name}: replayed {} inputs in {:.1?}",
        corpus.len(),
        started.elapsed()
    );
    let Some(secs) = random_secs else {
        return 0;
    };
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let mut rng = Rng::new(seed);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut execs: u64 = 0;
    let mut crashes = 0;
    while Instant::now() < deadline {
        for _ in 0..64 {
            let base = &corpus[rng.below(corpus.len())];
            let other = &corpus[rng.below(corpus.len())];
            let input = mutate(&mut rng, base, other, max_len);
            let t = Instant::now();
            let crashed = run_one(target, &input, &last_panic);
            execs += 1;
            if let Some(msg) = crashed {
                crashes += 1;
                let path = save(name, "crash", &input);
                eprintln!("{name}: CRASH saved to {}: {msg}", path.display());
                if crashes >= 5 {
                    eprintln!("{name}: stopping after {crashes} crashes, {execs} executions");
                    return 1;
                }
            } else if t.elapsed() > SLOW {
                let path = save(name, "slow", &input);
                eprintln!(
                    "{name}: SLOW ({:?}) saved to {}",
                    t.elapsed(),
                    path.display()
                );
                crashes += 1;
            }
        }
    }
    eprintln!(
        "{name}: random driver: {execs} executions in {:.0?} ({:.0}/s), {crashes} crashes",
        started.elapsed(),
        execs as f64 / started.elapsed().as_secs_f64()
    );
    i32::from(crashes > 0)
}
