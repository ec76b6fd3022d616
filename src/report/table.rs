//! `--format table`: the report for a person at a terminal.
//!
//! Per capture file: a header line (the path), read errors if any, then the findings grouped by
//! connection (`client -> server`; findings about the whole capture last) as a table of
//! severity, phase, id, frames, status or Kerberos error, and message, each table followed by
//! the remediation steps of its findings; then a summary line, `N packets, N connections, N SMB
//! sessions, findings: N error, N warning, N info`. A file that could not be read is one
//! "unreadable" line. [`Detail::Quiet`] prints only the summary (or unreadable) line per file;
//! [`Detail::Verbose`] adds each connection's setup timeline, including connections without
//! findings. Several files end with a total line. ANSI colour is used only when the caller says
//! so (it decides from the terminal and `NO_COLOR`).

use super::{ConnectionReport, FileReport, Report};
use crate::findings::{Finding, Severity, Stage, Verdict};
use std::fmt::Write as _;
use std::io::{self, Write};
use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Modify, Style, Width};

/// How much the table shows (`-q`, default, `-v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// One summary line per file.
    Quiet,
    /// Findings, remediation and the summary.
    #[default]
    Normal,
    /// As normal, plus every connection's setup timeline.
    Verbose,
}

/// Rendering choices made by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TableOptions {
    /// Colour severities with ANSI escapes.
    pub color: bool,
    pub detail: Detail,
}

/// Message cells wrap at this width (at word boundaries) so rows stay readable.
const MESSAGE_WIDTH: usize = 50;
const INDENT: &str = "  ";

/// Writes the report as text tables.
pub fn write_table(report: &Report, options: &TableOptions, out: &mut dyn Write) -> io::Result<()> {
    let mut text = String::new();
    for (n, file) in report.files.iter().enumerate() {
        if options.detail != Detail::Quiet && n > 0 {
            text.push('\n');
        }
        render_file(&mut text, file, options);
    }
    if report.files.len() > 1 {
        render_total(&mut text, report, options);
    }
    out.write_all(text.as_bytes())
}

// Writing into a String cannot fail, so the fmt::Results below are ignored on purpose.

fn render_file(text: &mut String, file: &FileReport, options: &TableOptions) {
    let color = options.color;
    if file.unreadable() {
        let _ = writeln!(
            text,
            "{}: {}: {}",
            shown(&file.path),
            paint(color, RED, "unreadable"),
            shown(&file.errors.join("; "))
        );
        return;
    }
    if options.detail == Detail::Quiet {
        let _ = writeln!(text, "{}: {}", shown(&file.path), summary(file, color));
        return;
    }
    let _ = writeln!(text, "{}", paint(color, BOLD, &shown(&file.path)));
    for error in &file.errors {
        let _ = writeln!(
            text,
            "{INDENT}{}: {}",
            paint(color, YELLOW, "read error"),
            shown(error)
        );
    }
    let groups = group_by_connection(&file.findings);
    for (connection, findings) in &groups {
        let _ = writeln!(
            text,
            "{INDENT}{}",
            connection.as_deref().unwrap_or("whole capture")
        );
        let verdict = connection
            .as_deref()
            .and_then(|c| file.verdicts.iter().find(|v| verdict_name(v) == c));
        if let Some(v) = verdict {
            let failing = v.stages.failed() || findings.iter().any(|f| f.severity > Severity::Info);
            if failing || options.detail == Detail::Verbose {
                let _ = writeln!(text, "{INDENT}{}", stages_line(v, color));
            }
        }
        indent_block(text, &findings_table(findings, color), INDENT);
        render_remediation(text, findings);
        if options.detail == Detail::Verbose {
            let timeline = connection
                .as_deref()
                .and_then(|c| file.timelines.iter().find(|t| connection_name(t) == c));
            if let Some(timeline) = timeline {
                let _ = writeln!(text, "{INDENT}timeline:");
                indent_block(text, &timeline_table(timeline), INDENT);
            }
        }
    }
    if options.detail == Detail::Verbose {
        // Healthy connections have a timeline but no findings; -v shows them too.
        for timeline in &file.timelines {
            let name = connection_name(timeline);
            if groups
                .iter()
                .all(|(c, _)| c.as_deref() != Some(name.as_str()))
            {
                let _ = writeln!(text, "{INDENT}{name}: no findings");
                if let Some(v) = file.verdicts.iter().find(|v| verdict_name(v) == name) {
                    let _ = writeln!(text, "{INDENT}{}", stages_line(v, color));
                }
                indent_block(text, &timeline_table(timeline), INDENT);
            }
        }
    }
    let _ = writeln!(text, "{}", summary(file, color));
}

fn verdict_name(v: &Verdict) -> String {
    format!("{} -> {}", v.client, v.server)
}

/// `stages: tcp ok · negotiate ok · session_setup FAILED · tree_connect not reached`: a failed
/// stage is written in capitals, so it stands out without colour too.
fn stages_line(v: &Verdict, color: bool) -> String {
    let stages: Vec<String> = v
        .stages
        .each()
        .iter()
        .map(|(name, stage)| match stage {
            Stage::Failed => format!("{name} {}", paint(color, RED, "FAILED")),
            Stage::Ok => format!("{name} ok"),
            Stage::NotReached => format!("{name} not reached"),
            Stage::NotVisible => format!("{name} not visible"),
        })
        .collect();
    format!("stages: {}", stages.join(" · "))
}

fn connection_name(timeline: &ConnectionReport) -> String {
    format!("{} -> {}", timeline.client, timeline.server)
}

/// A finding's connection, `None` for findings about the capture as a whole.
fn connection_of(finding: &Finding) -> Option<String> {
    match (finding.client, finding.server) {
        (Some(c), Some(s)) => Some(format!("{c} -> {s}")),
        (Some(c), None) => Some(format!("{c} -> ?")),
        (None, Some(s)) => Some(format!("? -> {s}")),
        (None, None) => None,
    }
}

/// Groups in order of first appearance, with whole-capture findings last.
fn group_by_connection(findings: &[Finding]) -> Vec<(Option<String>, Vec<&Finding>)> {
    let mut groups: Vec<(Option<String>, Vec<&Finding>)> = Vec::new();
    for finding in findings {
        let key = connection_of(finding);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(finding),
            None => groups.push((key, vec![finding])),
        }
    }
    groups.sort_by_key(|(k, _)| k.is_none());
    groups
}

fn findings_table(findings: &[&Finding], color: bool) -> String {
    let mut builder = Builder::default();
    builder.push_record(["severity", "phase", "id", "frames", "status", "message"]);
    for finding in findings {
        let status = match (&finding.status, &finding.kerberos_error) {
            (Some(status), _) => shown(&status.name),
            (None, Some(error)) => shown(&error.name),
            (None, None) => String::new(),
        };
        builder.push_record([
            paint_severity(color, finding.severity),
            finding.phase.to_string(),
            finding.id.to_string(),
            frames(finding),
            status,
            shown(&finding.message),
        ]);
    }
    builder
        .build()
        .with(Style::rounded())
        .with(Modify::new(Columns::single(5)).with(Width::wrap(MESSAGE_WIDTH).keep_words()))
        .to_string()
}

/// Evidence frames in frame order, e.g. `req 18 / rsp 19`.
fn frames(finding: &Finding) -> String {
    let mut frames: Vec<(&str, u64)> = finding.frames.iter().map(|(r, n)| (*r, *n)).collect();
    frames.sort_by_key(|&(role, n)| (n, role));
    frames
        .iter()
        .map(|&(role, n)| {
            let role = match role {
                "request" => "req",
                "response" => "rsp",
                other => other,
            };
            format!("{role} {n}")
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The remediation of each finding id in the group, once per distinct text.
fn render_remediation(text: &mut String, findings: &[&Finding]) {
    let mut shown: Vec<&Finding> = Vec::new();
    for finding in findings {
        if finding.remediation.is_empty()
            || shown
                .iter()
                .any(|s| s.id == finding.id && s.remediation == finding.remediation)
        {
            continue;
        }
        shown.push(finding);
        let _ = writeln!(text, "{INDENT}{}: what to do", finding.id);
        for (n, step) in finding.remediation.iter().enumerate() {
            let _ = writeln!(text, "{INDENT}{INDENT}{}. {step}", n + 1);
        }
    }
}

fn timeline_table(connection: &ConnectionReport) -> String {
    let mut builder = Builder::default();
    builder.push_record(["frame", "time (s)", "step", "outcome"]);
    for row in &connection.timeline {
        builder.push_record([
            row.frame.to_string(),
            format!("{:.6}", row.offset_secs),
            shown(&row.step),
            shown(&row.outcome),
        ]);
    }
    builder.build().with(Style::sharp()).to_string()
}

fn indent_block(text: &mut String, block: &str, indent: &str) {
    for line in block.lines() {
        let _ = writeln!(text, "{indent}{line}");
    }
}

fn summary(file: &FileReport, color: bool) -> String {
    format!(
        "{} packets, {} connections, {} SMB sessions, findings: {}",
        file.packets,
        file.connections,
        file.sessions,
        counts(color, |s| file.count(s)),
    )
}

fn counts(color: bool, count: impl Fn(Severity) -> usize) -> String {
    [Severity::Error, Severity::Warning, Severity::Info]
        .map(|severity| {
            let n = count(severity);
            let words = format!("{n} {severity}");
            // Colour only what needs attention, so a clean run reads plain.
            if n > 0 {
                paint(color, severity_color(severity), &words)
            } else {
                words
            }
        })
        .join(", ")
}

fn render_total(text: &mut String, report: &Report, options: &TableOptions) {
    let unreadable = report.files.iter().filter(|f| f.unreadable()).count();
    let sum = |f: fn(&FileReport) -> u64| report.files.iter().map(f).sum::<u64>();
    if options.detail != Detail::Quiet {
        text.push('\n');
    }
    let _ = writeln!(
        text,
        "total: {} files ({unreadable} unreadable), {} packets, {} connections, {} SMB sessions, findings: {}",
        report.files.len(),
        sum(|f| f.packets),
        sum(|f| f.connections),
        sum(|f| f.sessions),
        counts(options.color, |s| report.files.iter().map(|f| f.count(s)).sum()),
    );
}

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

fn severity_color(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => RED,
        Severity::Warning => YELLOW,
        Severity::Info => CYAN,
    }
}

fn paint_severity(color: bool, severity: Severity) -> String {
    paint(color, severity_color(severity), severity.as_str())
}

/// `text` as the terminal should show it. Names, paths and principals come from the capture;
/// a crafted one could carry escape sequences (retitle the terminal, hide or recolour lines) or
/// bidirectional overrides that make it read as something else. Those characters are written
/// as `\u{..}` escapes; everything else is unchanged.
fn shown(text: &str) -> String {
    let hostile = |c: char| {
        c.is_control()
            || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.contains(hostile) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if hostile(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("{code}{text}{RESET}")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{sample, unreadable};

    fn render(report: &Report, color: bool, detail: Detail) -> String {
        let mut out = Vec::new();
        write_table(report, &TableOptions { color, detail }, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// A connection without findings, with one timeline row.
    fn healthy(step: &str, outcome: &str) -> ConnectionReport {
        ConnectionReport {
            client: "10.0.0.7:50000".into(),
            server: "10.0.0.9:445".into(),
            first_frame: 1,
            timeline: vec![super::super::TimelineRow {
                frame: 4,
                offset_secs: 0.0004,
                step: step.into(),
                outcome: outcome.into(),
            }],
        }
    }

    #[test]
    fn findings_grouped_by_connection_with_remediation_and_summary() {
        let text = render(&sample(), false, Detail::Normal);
        assert!(!text.contains('\x1b'), "no colour unless asked");
        assert!(text.starts_with("caps/bad share.pcapng\n"));
        let conn = text.find("  10.0.0.5:50123 -> 10.0.0.9:445\n").unwrap();
        let capture = text.find("  whole capture\n").unwrap();
        assert!(conn < capture, "whole-capture findings come last");
        let row = text
            .lines()
            .find(|l| l.contains("tree-connect-bad-network-name") && l.contains('│'))
            .unwrap();
        for cell in [
            "error",
            "tree-connect",
            "req 18 / rsp 19",
            "STATUS_BAD_NETWORK_NAME",
        ] {
            assert!(row.contains(cell), "{cell} missing from {row}");
        }
        assert!(text.contains("  tree-connect-bad-network-name: what to do\n    1. Check that"));
        assert!(text.contains(
            "40 packets, 1 connections, 1 SMB sessions, findings: 1 error, 1 warning, 1 info\n"
        ));
        assert!(text.contains("100 packets, 1 connections, 1 SMB sessions, findings: 0 error"));
        assert!(text.ends_with("total: 2 files (0 unreadable), 140 packets, 2 connections, 2 SMB sessions, findings: 1 error, 1 warning, 1 info\n"));
        assert!(
            !text.contains("STATUS_BAD_NETWORK_NAME (0.3 ms)"),
            "timeline only with -v"
        );
    }

    #[test]
    fn colour_only_when_asked() {
        let text = render(&sample(), true, Detail::Normal);
        assert!(text.contains("\x1b[1;31merror\x1b[0m"));
        assert!(text.contains("\x1b[33mwarning\x1b[0m"));
        // Colour codes do not count towards column widths: every table line has one width.
        let visible = |line: &str| {
            let mut n = 0;
            let mut in_escape = false;
            for c in line.chars() {
                match (in_escape, c) {
                    (false, '\x1b') => in_escape = true,
                    (true, 'm') => in_escape = false,
                    (false, _) => n += 1,
                    (true, _) => {}
                }
            }
            n
        };
        let widths: Vec<usize> = text
            .lines()
            .skip_while(|l| !l.contains('╭'))
            .take_while(|l| !l.contains("what to do"))
            .map(visible)
            .collect();
        assert!(widths.len() > 3);
        assert!(widths.iter().all(|w| *w == widths[0]), "{text}");
    }

    #[test]
    fn quiet_is_summary_only() {
        let mut report = sample();
        report.files.push(unreadable());
        let text = render(&report, false, Detail::Quiet);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("caps/bad share.pcapng: 40 packets"));
        assert_eq!(
            lines[2],
            "caps/notes.txt: unreadable: not a pcap or pcapng file (magic 0x6f6e2061)"
        );
        assert!(lines[3].starts_with("total: 3 files (1 unreadable)"));
    }

    #[test]
    fn verbose_adds_timelines() {
        let mut report = sample();
        report.files[1]
            .timelines
            .push(healthy("NEGOTIATE", "STATUS_SUCCESS, dialect 3.1.1"));
        let text = render(&report, false, Detail::Verbose);
        let row = text.lines().find(|l| l.contains("TREE_CONNECT")).unwrap();
        assert!(row.contains("0.012500") && row.contains("STATUS_BAD_NETWORK_NAME (0.3 ms)"));
        assert!(text.contains("  10.0.0.7:50000 -> 10.0.0.9:445: no findings\n"));
        assert!(text.contains("dialect 3.1.1"));
    }

    #[test]
    fn partially_read_file_shows_its_errors() {
        let mut report = sample();
        report.files[0]
            .errors
            .push("truncated record at offset 4096".into());
        let text = render(&report, false, Detail::Normal);
        assert!(text.contains("  read error: truncated record at offset 4096\n"));
        assert!(!text.contains("unreadable:"));
    }

    /// A share path, user or SPN from a crafted capture cannot drive the terminal: escape
    /// sequences and bidirectional overrides are shown escaped, in every place the capture's
    /// text reaches.
    #[test]
    fn text_from_the_capture_cannot_drive_the_terminal() {
        let hostile = "\\\\nas\\\x1b]0;owned\x07share\u{202e}gnp.exe\u{9b}2J";
        let mut report = sample();
        report.files[0].path = format!("caps/{hostile}.pcap");
        report.files[0].errors.push(format!("cut in {hostile}"));
        report.files[0].findings[0].message = format!("share {hostile} missing");
        report.files[1].timelines.push(healthy(
            &format!("TREE_CONNECT {hostile}"),
            &format!("{hostile} STATUS_SUCCESS"),
        ));
        for color in [false, true] {
            for detail in [Detail::Quiet, Detail::Normal, Detail::Verbose] {
                let text = render(&report, color, detail);
                let stray = text.replace(RESET, "").replace(RED, "").replace(YELLOW, "");
                let stray = stray.replace(CYAN, "").replace(BOLD, "");
                assert!(
                    !stray.contains(['\x1b', '\x07', '\u{9b}', '\u{202e}']),
                    "{color} {detail:?}: {text}"
                );
                assert!(text.contains("\\u{1b}]0;owned\\u{7}share\\u{202e}gnp"));
            }
        }
        let text = render(&report, false, Detail::Verbose);
        assert_eq!(text.matches("\\u{1b}").count(), 5, "{text}");
        assert_eq!(shown("plain \\\\nas\\share é"), "plain \\\\nas\\share é");
    }
}
