//! `--format sarif`: the report as a SARIF 2.1.0 log (SPEC §8, a **contract**).
//!
//! One run; the tool driver `smbtriage` carries one rule per catalog id (so rule indexes are
//! stable whatever a scan finds), with the catalog's title, explanation and remediation as its
//! descriptions and help. Each finding is a result at its capture file (the artifact URI is the
//! path as given, made a valid URI reference), with the evidence frames, the connection, the
//! status or Kerberos error and the names involved in its property bag. Read errors become tool
//! execution notifications of the run's one invocation, which is unsuccessful when a file could
//! not be read at all. Serialization is our own (a handful of structs), validated in the tests
//! against the official 2.1.0 schema.

use super::{FileReport, Report};
use crate::findings::{CatalogEntry, Finding, FindingId, Severity};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    invocations: [Invocation; 1],
    results: Vec<SarifResult<'a>>,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    id: &'static str,
    name: String,
    short_description: Text,
    full_description: Text,
    help: Help,
    #[serde(skip_serializing_if = "Option::is_none")]
    help_uri: Option<&'static str>,
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    phase: &'static str,
    tags: [&'static str; 2],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Text,
    locations: [Location; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: PhysicalLocation,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: [Location; 1],
    partial_fingerprints: BTreeMap<&'static str, String>,
    properties: ResultProperties<'a>,
}

/// The evidence of a finding, as in the JSON FINDING object, minus what the result already says.
#[derive(Serialize)]
struct ResultProperties<'a> {
    phase: &'static str,
    frames: &'a BTreeMap<&'static str, u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a crate::findings::StatusRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kerberos_error: Option<&'a crate::findings::KrbErrorRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    share: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    evidence: &'a [String],
}

/// Writes the report as one SARIF 2.1.0 log, pretty-printed, ending with a newline.
pub fn write_sarif(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let log = Log {
        schema: SCHEMA_URI,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: report.tool.name,
                    version: report.tool.version,
                    rules: FindingId::ALL.iter().map(|id| rule(id.entry())).collect(),
                },
            },
            invocations: [invocation(&report.files)],
            results: report
                .files
                .iter()
                .flat_map(|file| file.findings.iter().map(move |f| result(file, f)))
                .collect(),
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn rule(entry: &'static CatalogEntry) -> Rule {
    let steps: Vec<String> = entry
        .remediation
        .iter()
        .enumerate()
        .map(|(n, step)| format!("{}. {step}", n + 1))
        .collect();
    Rule {
        id: entry.name,
        name: pascal_case(entry.name),
        short_description: Text {
            text: entry.title.to_string(),
        },
        full_description: Text {
            text: entry.explanation.to_string(),
        },
        help: Help {
            text: format!("{}\n\nWhat to do:\n{}", entry.explanation, steps.join("\n")),
            markdown: format!(
                "{}\n\n**What to do**\n\n{}",
                entry.explanation,
                steps.join("\n")
            ),
        },
        help_uri: entry.help_uri,
        default_configuration: Configuration {
            level: level(entry.severity),
        },
        properties: RuleProperties {
            phase: entry.phase.as_str(),
            tags: ["smb", entry.phase.as_str()],
        },
    }
}

/// SARIF wants `name` to be readable as an identifier: `tree-connect-failed` → `TreeConnectFailed`.
fn pascal_case(id: &str) -> String {
    id.split('-')
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect()
}

fn location(path: &str) -> [Location; 1] {
    [Location {
        physical_location: PhysicalLocation {
            artifact_location: ArtifactLocation {
                uri: path_to_uri(path),
            },
        },
    }]
}

/// A file path as a URI reference: relative paths stay relative (code-scanning services resolve
/// them against the checkout), absolute ones become `file:` URIs; backslashes turn into slashes
/// and anything outside the URI's unreserved set is percent-encoded, so a space or `#` in a
/// file name cannot break the reference.
fn path_to_uri(path: &str) -> String {
    let slashed = path.replace('\\', "/");
    let bytes = slashed.as_bytes();
    // A Windows drive path, `C:/captures/x.pcap`, keeps its colon.
    let drive = matches!(bytes, [letter, b':', b'/', ..] if letter.is_ascii_alphabetic());
    let mut uri = String::from(if drive {
        "file:///"
    } else if slashed.starts_with('/') {
        "file://"
    } else {
        ""
    });
    for (i, &b) in bytes.iter().enumerate() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/')
            || (drive && i == 1);
        if keep {
            uri.push(char::from(b));
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

/// The `partialFingerprints` key: versioned, so that a change of what is hashed shows.
const FINGERPRINT_KEY: &str = "smbtriageFinding/v1";

/// What makes a finding the same problem when it is seen again, in this capture or a new one:
/// its id, the client and server hosts (not the client's ephemeral port), the server port, and
/// the names and codes involved. Frames, times and wording are left out. FNV-1a, 64 bits, hex.
fn fingerprint(f: &Finding) -> String {
    let fields = [
        f.id.as_str().to_string(),
        f.client.map(|a| a.ip().to_string()).unwrap_or_default(),
        f.server.map(|a| a.to_string()).unwrap_or_default(),
        f.share.clone().unwrap_or_default(),
        f.spn.clone().unwrap_or_default(),
        f.user.clone().unwrap_or_default(),
        f.status
            .as_ref()
            .map(|s| s.code.clone())
            .unwrap_or_default(),
        f.kerberos_error
            .as_ref()
            .map(|k| k.code.to_string())
            .unwrap_or_default(),
    ];
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for field in &fields {
        // A separator byte that cannot occur in UTF-8 keeps ("ab","c") apart from ("a","bc").
        for b in field.bytes().chain([0xff]) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

fn result<'a>(file: &FileReport, finding: &'a Finding) -> SarifResult<'a> {
    SarifResult {
        rule_id: finding.id.as_str(),
        // ALL is in declaration order, so the discriminant is the rule's index.
        rule_index: finding.id as usize,
        level: level(finding.severity),
        message: Text {
            text: finding.message.clone(),
        },
        locations: location(&file.path),
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, fingerprint(finding))]),
        properties: ResultProperties {
            phase: finding.phase.as_str(),
            frames: &finding.frames,
            client: finding.client.map(|a| a.to_string()),
            server: finding.server.map(|a| a.to_string()),
            time: finding.time.map(|t| t.to_string()),
            status: finding.status.as_ref(),
            kerberos_error: finding.kerberos_error.as_ref(),
            share: finding.share.as_deref(),
            spn: finding.spn.as_deref(),
            user: finding.user.as_deref(),
            evidence: &finding.evidence,
        },
    }
}

fn invocation(files: &[FileReport]) -> Invocation {
    let notifications = files
        .iter()
        .flat_map(|file| {
            // A file read up to a cut still produced findings: its errors are warnings.
            let level = if file.unreadable() {
                "error"
            } else {
                "warning"
            };
            file.errors.iter().map(move |error| Notification {
                level,
                message: Text {
                    text: format!("{}: {error}", file.path),
                },
                locations: location(&file.path),
            })
        })
        .collect();
    Invocation {
        execution_successful: !files.iter().any(FileReport::unreadable),
        tool_execution_notifications: notifications,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{sample, unreadable};
    use serde_json::Value;

    fn render(report: &Report) -> Value {
        let mut out = Vec::new();
        write_sarif(report, &mut out).unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    /// The official SARIF 2.1.0 schema, as shipped in the `serde-sarif` crate on crates.io
    /// (`src/schema.json` of serde-sarif 0.8.0), itself the OASIS schema.
    fn validator() -> jsonschema::Validator {
        // The schema's two `language` patterns have a stray `]` (an erratum of this copy),
        // which the draft-07 meta-schema's `regex` format check rejects when the validator is
        // built; they get the pattern that was meant. We never emit `language` anyway.
        let text = include_str!("testdata/sarif-schema-2.1.0.json");
        let broken = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
        assert_eq!(text.matches(broken).count(), 2);
        let fixed = text.replace(broken, "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
        let schema: Value = serde_json::from_str(&fixed).unwrap();
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    }

    fn assert_valid(log: &Value) {
        let errors: Vec<String> = validator()
            .iter_errors(log)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn log_is_valid_sarif_with_every_rule() {
        let mut report = sample();
        report.files.push(unreadable());
        let log = render(&report);
        assert_valid(&log);

        assert_eq!(log["version"], "2.1.0");
        assert!(log["$schema"]
            .as_str()
            .unwrap()
            .ends_with("sarif-schema-2.1.0.json"));
        let run = &log["runs"][0];
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "smbtriage");
        assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
        let rules = driver["rules"].as_array().unwrap();
        assert_eq!(rules.len(), FindingId::ALL.len());
        let rule = &rules[FindingId::EncryptionRequired as usize];
        assert_eq!(rule["id"], "encryption-required");
        assert_eq!(rule["name"], "EncryptionRequired");
        assert_eq!(rule["defaultConfiguration"]["level"], "error");
        assert!(rule["help"]["text"]
            .as_str()
            .unwrap()
            .contains("Get-SmbShare | select name, EncryptData"));
        assert!(rule["helpUri"].as_str().unwrap().starts_with("https://"));
        assert_eq!(
            rules[FindingId::SmbEncrypted as usize]["defaultConfiguration"]["level"],
            "note"
        );

        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        for result in results {
            let id = result["ruleId"].as_str().unwrap();
            let index = result["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], id, "rule ids resolve");
            assert!(result["message"]["text"].is_string());
        }
        let bad_share = &results[2];
        assert_eq!(bad_share["level"], "error");
        assert_eq!(
            bad_share["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "caps/bad%20share.pcapng"
        );
        let props = &bad_share["properties"];
        assert_eq!(props["frames"]["request"], 18);
        assert_eq!(props["frames"]["response"], 19);
        assert_eq!(props["client"], "10.0.0.5:50123");
        assert_eq!(props["status"]["name"], "STATUS_BAD_NETWORK_NAME");
        assert_eq!(props["share"], "\\\\fs1\\missing");
        assert_eq!(results[0]["level"], "note");

        let invocation = &run["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], false);
        let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0]["level"], "error");
        assert!(notes[0]["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("caps/notes.txt: not a pcap"));
    }

    #[test]
    fn fingerprints_follow_the_problem_not_the_capture() {
        let report = sample();
        let base = &report.files[0].findings[2];
        let print = |f: &Finding| fingerprint(f);
        // Another capture of the same failure: other frames, time, client port, wording.
        let mut again = base.clone();
        again.frames.insert("request", 999);
        again.time = None;
        again.message = "reworded".to_string();
        if let Some(c) = &mut again.client {
            c.set_port(c.port().wrapping_add(1));
        }
        assert_eq!(print(base), print(&again));
        // Another share, or another client host, is another problem.
        let mut other = base.clone();
        other.share = Some("\\\\fs1\\other".to_string());
        assert_ne!(print(base), print(&other));
        let mut elsewhere = base.clone();
        elsewhere.client = Some("10.9.9.9:1".parse().unwrap());
        assert_ne!(print(base), print(&elsewhere));
        // And it is in the log, under a versioned key.
        let log = render(&report);
        let results = log["runs"][0]["results"].as_array().unwrap();
        let fp = results[0]["partialFingerprints"][FINGERPRINT_KEY]
            .as_str()
            .unwrap();
        assert_eq!(fp.len(), 16);
    }

    #[test]
    fn empty_report_is_valid() {
        let log = render(&Report::default());
        assert_valid(&log);
        assert_eq!(
            log["runs"][0]["invocations"][0]["executionSuccessful"],
            true
        );
        assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
    }

    #[test]
    fn the_schema_rejects_what_it_should() {
        // Guards the validation itself: a log without message text must fail.
        let mut log = render(&sample());
        let mut broken = log.clone();
        broken["runs"][0]["results"][0]["message"] = serde_json::json!({});
        assert!(!validator().is_valid(&broken));
        // Formats are checked too, which is why paths are percent-encoded.
        let location = &mut log["runs"][0]["results"][0]["locations"][0];
        location["physicalLocation"]["artifactLocation"]["uri"] = "caps/bad share.pcapng".into();
        assert!(!validator().is_valid(&log));
    }

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(path_to_uri("caps/a.pcap"), "caps/a.pcap");
        assert_eq!(
            path_to_uri("/srv/caps/a b#1.pcap"),
            "file:///srv/caps/a%20b%231.pcap"
        );
        assert_eq!(
            path_to_uri("C:\\caps\\x.pcapng"),
            "file:///C:/caps/x.pcapng"
        );
        assert_eq!(path_to_uri("dir\\é.pcap"), "dir/%C3%A9.pcap");
        assert_eq!(path_to_uri("a:b.pcap"), "a%3Ab.pcap");
    }
}
