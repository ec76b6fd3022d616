//! `scan`: find the captures under directories and analyse many files at once.
//!
//! Files are analysed in parallel, one file per worker; the reports come back in the order of
//! the sorted paths whatever the number of workers, so output is deterministic. A file that
//! cannot be read becomes a report with an error, never a reason to stop.

use crate::analyze::{analyze_file, Options};
use crate::report::FileReport;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Default `--include` globs.
pub const DEFAULT_INCLUDE: [&str; 6] = [
    "*.pcap",
    "*.pcapng",
    "*.cap",
    "*.pcap.gz",
    "*.pcapng.gz",
    "*.cap.gz",
];

/// A path given to `scan` that does not exist or cannot be listed.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct ScanError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Every file under `inputs` whose name matches an include glob and no exclude glob, sorted.
/// Files named directly are always taken.
pub fn collect(
    inputs: &[PathBuf],
    include: &[String],
    exclude: &[String],
) -> Result<Vec<PathBuf>, ScanError> {
    let include: Vec<&str> = if include.is_empty() {
        DEFAULT_INCLUDE.to_vec()
    } else {
        include.iter().map(String::as_str).collect()
    };
    let mut out = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|source| ScanError {
            path: input.clone(),
            source,
        })?;
        if meta.is_dir() {
            walk(input, &include, exclude, &mut out)?;
        } else {
            out.push(input.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(
    dir: &Path,
    include: &[&str],
    exclude: &[String],
    out: &mut Vec<PathBuf>,
) -> Result<(), ScanError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ScanError {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&path, include, exclude, out)?;
        } else if kind.is_file() {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            let rel = path.to_string_lossy();
            let hit = |g: &str| glob_match(g, name) || glob_match(g, &rel);
            if include.iter().any(|g| hit(g)) && !exclude.iter().any(|g| hit(g)) {
                out.push(path);
            }
        }
    }
    Ok(())
}

/// Shell-style glob: `*` any run of characters, `?` one character, everything else literal.
pub fn glob_match(glob: &str, text: &str) -> bool {
    let g: Vec<char> = glob.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut gi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match g.get(gi) {
            Some('*') => {
                star = Some((gi, ti));
                gi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                gi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sg, st)) => {
                    gi = sg + 1;
                    ti = st + 1;
                    star = Some((sg, st + 1));
                }
                None => return false,
            },
        }
    }
    g[gi..].iter().all(|&c| c == '*')
}

/// Analyses `files` with up to `jobs` workers; reports in the order of `files`. `progress` is
/// told of each finished file (it is shared between workers).
pub fn run(
    files: &[PathBuf],
    jobs: usize,
    opts: &Options,
    progress: &(dyn Fn(&Path) + Sync),
) -> Vec<FileReport> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<FileReport>>> = Mutex::new(vec![None; files.len()]);
    std::thread::scope(|s| {
        for _ in 0..jobs.min(files.len()).max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = files.get(i) else { break };
                let report = analyze_file(path, opts);
                progress(path);
                if let Ok(mut r) = results.lock() {
                    r[i] = Some(report);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .zip(files)
        .map(|(r, path)| {
            r.unwrap_or_else(|| FileReport {
                path: path.display().to_string(),
                errors: vec![format!("{}: analysis did not complete", path.display())],
                ..FileReport::default()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*.pcap", "a.pcap"));
        assert!(glob_match("*.pcap.gz", "dir.x.pcap.gz"));
        assert!(!glob_match("*.pcap", "a.pcapng"));
        assert!(glob_match("smb-?.pcap", "smb-1.pcap"));
        assert!(glob_match("*tree*", "lab/smb-tree-bad-name.pcap"));
        assert!(!glob_match("", "x"));
        assert!(glob_match("*", ""));
    }
}
