//! `scan`: find the captures under directories and analyse many files at once.
//!
//! Files are analysed in parallel, one file per worker; the reports come back in the order of
//! the sorted paths whatever the number of workers, so output is deterministic. A file that
//! cannot be read becomes a report with an error, never a reason to stop.

use crate::analyze::analyze;
use crate::options::{Options, ScanOptions};
use crate::report::FileReport;
use std::collections::HashSet;
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

/// A path `scan` could not follow: an input that does not exist, a directory that cannot be
/// listed, a dangling link.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct ScanError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// What `scan` found to analyse.
#[derive(Debug, Default)]
pub struct Collected {
    /// Every file under the inputs whose name matches an include glob and no exclude glob,
    /// sorted; files named directly are always taken.
    pub files: Vec<PathBuf>,
    /// Inputs that do not exist, directories that cannot be listed and dangling links with a
    /// capture's name: each is reported as unreadable, and the scan goes on without it.
    pub unreadable: Vec<ScanError>,
}

/// Walks `inputs`. Symbolic links are followed, to files and to directories; a directory
/// reached twice (a link loop, or two links to one place) is walked once.
pub fn collect(inputs: &[PathBuf], include: &[String], exclude: &[String]) -> Collected {
    let include: Vec<&str> = if include.is_empty() {
        DEFAULT_INCLUDE.to_vec()
    } else {
        include.iter().map(String::as_str).collect()
    };
    let mut walk = Walk {
        include: &include,
        exclude,
        seen: HashSet::new(),
        out: Collected::default(),
    };
    for input in inputs {
        match std::fs::metadata(input) {
            Ok(meta) if meta.is_dir() => walk.dir(input),
            Ok(_) => walk.out.files.push(input.clone()),
            Err(source) => walk.out.unreadable.push(ScanError {
                path: input.clone(),
                source,
            }),
        }
    }
    let mut out = walk.out;
    out.files.sort();
    out.files.dedup();
    out.unreadable.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

struct Walk<'a> {
    include: &'a [&'a str],
    exclude: &'a [String],
    /// Directories walked, by canonical path.
    seen: HashSet<PathBuf>,
    out: Collected,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path) {
        if let Ok(real) = std::fs::canonicalize(dir) {
            if !self.seen.insert(real) {
                return;
            }
        }
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(source) => {
                let path = dir.to_path_buf();
                return self.out.unreadable.push(ScanError { path, source });
            }
        };
        // In name order, so that of two links to one directory the same one is walked (and
        // names the files) on every run.
        let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            // `metadata` follows links; a dangling one is only worth a word if it looks like
            // a capture the user expected to be scanned.
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => self.dir(&path),
                Ok(meta) if meta.is_file() => {
                    if self.wanted(&path) {
                        self.out.files.push(path);
                    }
                }
                Ok(_) => {} // sockets, FIFOs and devices are never captures to read
                Err(source) => {
                    if self.wanted(&path) {
                        self.out.unreadable.push(ScanError { path, source });
                    }
                }
            }
        }
    }

    fn wanted(&self, path: &Path) -> bool {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let rel = path.to_string_lossy();
        let hit = |g: &str| glob_match(g, name) || glob_match(g, &rel);
        self.include.iter().any(|g| hit(g)) && !self.exclude.iter().any(|g| hit(g))
    }
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

/// Analyses every capture under `inputs` (files, or directories walked as [`collect`] does),
/// with [`ScanOptions::workers`] files at once. The reports come in path order; a path that
/// could not be followed is a report with its error among them.
pub fn scan(inputs: &[PathBuf], opts: &Options, walk: &ScanOptions) -> Vec<FileReport> {
    let found = collect(inputs, &walk.include, &walk.exclude);
    let files = run(&found.files, walk.workers(), opts, &|_| {});
    with_unreadable(files, &found.unreadable)
}

/// `files` with a failed report for each path the walk could not follow, all in path order.
pub fn with_unreadable(mut files: Vec<FileReport>, unreadable: &[ScanError]) -> Vec<FileReport> {
    if !unreadable.is_empty() {
        files.extend(unreadable.iter().map(|e| FileReport::failed(&e.path, e)));
        files.sort_by(|a, b| Path::new(&a.path).cmp(Path::new(&b.path)));
    }
    files
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
                let report = analyze(path, opts);
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
            r.unwrap_or_else(|| {
                let error = format!("{}: analysis did not complete", path.display());
                FileReport::failed(path, error)
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

    /// A fresh directory under the system's temporary directory.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("smbtriage-scan-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(paths: &[PathBuf], root: &Path) -> Vec<String> {
        paths
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn walk_follows_links_once_and_reports_what_it_cannot_follow() {
        use std::os::unix::fs::symlink;
        let root = scratch("links");
        let elsewhere = scratch("links-target");
        std::fs::create_dir_all(root.join("a/deeper")).unwrap();
        std::fs::write(root.join("a/one.pcap"), b"x").unwrap();
        std::fs::write(root.join("a/deeper/two.pcapng"), b"x").unwrap();
        std::fs::write(root.join("a/notes.txt"), b"x").unwrap();
        std::fs::write(elsewhere.join("three.pcap"), b"x").unwrap();
        symlink(elsewhere.join("three.pcap"), root.join("linked.pcap")).unwrap();
        symlink(&elsewhere, root.join("linked-dir")).unwrap();
        symlink(&root, root.join("a/loop")).unwrap(); // back to the top: walked once
        symlink(root.join("gone.pcap"), root.join("dangling.pcap")).unwrap();
        symlink(root.join("gone"), root.join("dangling-other")).unwrap(); // not a capture name
        let missing = root.join("no-such-dir");
        let found = collect(&[root.clone(), missing.clone()], &[], &[]);
        assert_eq!(
            names(&found.files, &root),
            [
                "a/deeper/two.pcapng",
                "a/one.pcap",
                "linked-dir/three.pcap",
                "linked.pcap"
            ]
        );
        let unreadable: Vec<&Path> = found.unreadable.iter().map(|e| e.path.as_path()).collect();
        assert_eq!(unreadable, [root.join("dangling.pcap"), missing]);
        assert!(found.unreadable[1].to_string().contains("no-such-dir: "));
        let _ = std::fs::remove_dir_all(&root);
        let _ = std::fs::remove_dir_all(&elsewhere);
    }

    #[test]
    fn scan_reports_every_capture_in_path_order_with_what_it_cannot_follow() {
        let root = scratch("front-door");
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for name in ["tree-bad-network-name.pcap", "smb2-healthy-ntlm.pcap"] {
            std::fs::copy(fixtures.join(name), root.join(name)).unwrap();
        }
        std::fs::write(root.join("broken.pcap"), b"not a capture").unwrap();
        let missing = root.join("missing");
        let walk = ScanOptions {
            jobs: Some(2),
            ..ScanOptions::default()
        };
        let reports = scan(&[root.clone(), missing.clone()], &Options::default(), &walk);
        let paths: Vec<&str> = reports.iter().map(|r| r.path.as_str()).collect();
        let expected: Vec<String> = [
            "broken.pcap",
            "missing",
            "smb2-healthy-ntlm.pcap",
            "tree-bad-network-name.pcap",
        ]
        .iter()
        .map(|n| root.join(n).display().to_string())
        .collect();
        assert_eq!(paths, expected);
        assert!(reports[0].unreadable() && reports[1].unreadable());
        assert!(reports[2].errors.is_empty());
        assert!(reports[2]
            .findings
            .iter()
            .all(|f| f.severity == crate::findings::Severity::Info));
        assert_eq!(
            reports[3].findings[0].id.as_str(),
            "tree-connect-bad-network-name"
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}
