//! One finding per repeated Kerberos error, naming the repeats.

use crate::findings::{Finding, FindingId, Phase};

/// A client that retries gets the same error again: one finding per (id, client, connection
/// or KDC, error code, client principal), the first of the highest severity (the one inside
/// SESSION_SETUP before one on port 88, as it is the one the SMB connection met), naming the
/// repeats.
pub(in crate::findings::rules) fn merge_repeats(findings: Vec<Finding>) -> Vec<Finding> {
    let key = |f: &Finding| {
        let code = f.kerberos_error.as_ref()?.code;
        matches!(
            f.id,
            FindingId::KerberosError | FindingId::KerberosSpnUnknown
        )
        .then(|| {
            (
                f.id,
                f.client.map(|c| c.ip()),
                f.server,
                code,
                f.user.clone(),
            )
        })
    };
    let rank = |f: &Finding| (f.severity, f.phase == Phase::SessionSetup);
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut repeats: Vec<Vec<Finding>> = Vec::new();
    let mut index: Vec<Option<usize>> = Vec::new();
    for f in findings {
        let k = key(&f);
        let found = k.as_ref().and_then(|k| {
            out.iter()
                .zip(&index)
                .position(|(g, slot)| slot.is_some() && key(g).as_ref() == Some(k))
        });
        match found {
            Some(pos) => {
                let Some(slot) = index[pos] else { continue };
                if rank(&f) > rank(&out[pos]) {
                    let was = std::mem::replace(&mut out[pos], f);
                    repeats[slot].push(was);
                } else {
                    repeats[slot].push(f);
                }
            }
            None => {
                index.push(k.map(|_| {
                    repeats.push(Vec::new());
                    repeats.len() - 1
                }));
                out.push(f);
            }
        }
    }
    for (f, slot) in out.iter_mut().zip(&index) {
        let Some(slot) = slot else { continue };
        let mut more = std::mem::take(&mut repeats[*slot]);
        if more.is_empty() {
            continue;
        }
        more.sort_by_key(|g| g.first_frame());
        let listed: Vec<String> = more
            .iter()
            .map(|g| {
                let pair: Vec<String> = ["request", "response"]
                    .iter()
                    .filter_map(|r| g.frames.get(r).map(|n| n.to_string()))
                    .collect();
                pair.join("/")
            })
            .collect();
        f.evidence.push(format!(
            "The same error answered {} more {} ({} {}).",
            more.len(),
            if more.len() == 1 {
                "request"
            } else {
                "requests"
            },
            if more.len() == 1 {
                "frames"
            } else {
                "frames, request/response:"
            },
            listed.join(", ")
        ));
        f.repeated = more
            .into_iter()
            .map(|g| {
                g.frames
                    .into_iter()
                    .filter(|(r, _)| matches!(*r, "request" | "response"))
                    .collect()
            })
            .collect();
    }
    out
}
