//! `--format json` and `--format jsonl` (SPEC §8, a **contract**).
//!
//! `json` writes one document, `{"schema_version":1,"tool":{"name","version"},"files":[{"path",
//! "packets","connections","errors":[...],"findings":[FINDING...]}]}`; `jsonl` writes one FINDING
//! object per line with the capture's path added as `"file"`, and nothing for files without
//! findings (their read errors reach the user through the exit code and stderr). The FINDING
//! shape is [`Finding`]'s serialization. Bump [`SCHEMA_VERSION`] when a field changes meaning or
//! disappears; adding fields does not.

use super::Report;
use crate::findings::Finding;
use serde::Serialize;
use std::io::{self, Write};

/// Version of the JSON document's shape.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    #[serde(flatten)]
    report: &'a Report,
}

#[derive(Serialize)]
struct FileFinding<'a> {
    file: &'a str,
    #[serde(flatten)]
    finding: &'a Finding,
}

/// Writes the whole report as one pretty-printed JSON document, ending with a newline.
pub fn write_json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let document = Document {
        schema_version: SCHEMA_VERSION,
        report,
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    out.write_all(b"\n")
}

/// Writes one compact JSON object per finding, one per line, each with its `file`.
pub fn write_jsonl(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for file in &report.files {
        for finding in &file.findings {
            let line = FileFinding {
                file: &file.path,
                finding,
            };
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{sample, unreadable};
    use serde_json::{json, Value};

    #[test]
    fn document_has_the_contract_shape() {
        let mut report = sample();
        report.files.push(unreadable());
        let mut out = Vec::new();
        write_json(&report, &mut out).unwrap();
        let doc: Value = serde_json::from_slice(&out).unwrap();

        assert_eq!(doc["schema_version"], 1);
        assert_eq!(doc["tool"]["name"], "smbtriage");
        assert_eq!(doc["tool"]["version"], env!("CARGO_PKG_VERSION"));
        let files = doc["files"].as_array().unwrap();
        assert_eq!(files.len(), 3);
        let first = &files[0];
        assert_eq!(first["path"], "caps/bad share.pcapng");
        assert_eq!(first["packets"], 40);
        assert_eq!(first["connections"], 1);
        assert_eq!(first["errors"], json!([]));
        // Fields not in the contract stay out of the document.
        assert!(first.get("sessions").is_none() && first.get("timelines").is_none());

        let finding = &first["findings"][2];
        assert_eq!(finding["id"], "tree-connect-bad-network-name");
        assert_eq!(finding["severity"], "error");
        assert_eq!(finding["phase"], "tree-connect");
        assert_eq!(finding["client"], "10.0.0.5:50123");
        assert_eq!(finding["server"], "10.0.0.9:445");
        assert_eq!(finding["frames"], json!({"request": 18, "response": 19}));
        assert_eq!(
            finding["status"],
            json!({"code": "0xc00000cc", "name": "STATUS_BAD_NETWORK_NAME"})
        );
        assert_eq!(finding["share"], "\\\\fs1\\missing");
        assert!(finding["remediation"].as_array().unwrap().len() >= 2);
        assert!(finding.get("kerberos_error").is_none());

        assert_eq!(
            files[2]["errors"][0],
            "not a pcap or pcapng file (magic 0x6f6e2061)"
        );
        assert_eq!(files[2]["findings"], json!([]));
    }

    #[test]
    fn jsonl_is_one_finding_per_line_with_its_file() {
        let mut out = Vec::new();
        write_jsonl(&sample(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        for line in &lines {
            assert_eq!(line["file"], "caps/bad share.pcapng");
            assert!(line["id"].is_string() && line["message"].is_string());
        }
        assert_eq!(lines[0]["id"], "kerberos-preauth-required");
        assert_eq!(lines[0]["severity"], "info");
    }
}
