//! JSON specs: the same document as TOML, with each TOML line's place in the JSON for
//! messages.

use std::path::Path;

use super::SpecError;

/// A spec file's text as the TOML reader sees it: the file itself, or for a `.json` spec
/// the same document written as TOML (key order kept), with the place in the JSON
/// document that each TOML line comes from, for messages.
pub struct SpecText {
    pub toml: String,
    /// For JSON: per TOML line (0-based), its path in the JSON (`unit[1].acc`).
    paths: Option<Vec<String>>,
}

impl SpecText {
    /// A spec read from `file`: JSON when its name ends in `.json`, else TOML.
    pub fn new(file: &Path, text: String) -> Result<SpecText, SpecError> {
        if file.extension().and_then(|e| e.to_str()) != Some("json") {
            return Ok(SpecText {
                toml: text,
                paths: None,
            });
        }
        let table: toml::Table = serde_json::from_str(&text).map_err(|e| SpecError {
            line: Some(e.line()),
            message: format!("not a valid JSON spec: {e}"),
        })?;
        let toml = toml::to_string(&table).map_err(|e| SpecError {
            line: None,
            message: format!("the JSON spec has no TOML form: {e}"),
        })?;
        let paths = json_paths(&toml);
        Ok(SpecText {
            toml,
            paths: Some(paths),
        })
    }

    /// An error's message as `gen` prints it: `FILE:LINE: message`, or for a JSON spec
    /// `FILE: at PATH: message`.
    pub fn render(&self, file: &Path, e: &SpecError) -> String {
        match (&self.paths, e.line) {
            (Some(paths), Some(l)) => match paths.get(l.wrapping_sub(1)) {
                Some(p) if !p.is_empty() => format!("{}: at {p}: {}", file.display(), e.message),
                _ => format!("{}: {}", file.display(), e.message),
            },
            (Some(_), None) | (None, None) => format!("{}: {}", file.display(), e.message),
            (None, Some(l)) => format!("{}:{l}: {}", file.display(), e.message),
        }
    }
}

/// For TOML written by `toml::to_string` from a JSON document: each line's path in the
/// JSON (`seed`, `workload.k`, `unit[0].acc`, `unit[0].acc.from`).
fn json_paths(toml: &str) -> Vec<String> {
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut section = String::new();
    toml.lines()
        .map(|line| {
            let t = line.trim();
            if let Some(name) = t.strip_prefix("[[").and_then(|r| r.strip_suffix("]]")) {
                let n = counts.entry(name.to_string()).or_insert(0);
                section = format!("{name}[{n}]");
                *n += 1;
                section.clone()
            } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                // A table inside the last array element: `[unit.acc]` is `unit[i].acc`.
                let (head, rest) = name.split_once('.').unwrap_or((name, ""));
                section = match counts.get(head) {
                    Some(n) if !rest.is_empty() => format!("{head}[{}].{rest}", n - 1),
                    _ => name.to_string(),
                };
                section.clone()
            } else if let Some((key, _)) = t.split_once(" = ") {
                let key = key.trim().trim_matches('"');
                if section.is_empty() {
                    key.to_string()
                } else {
                    format!("{section}.{key}")
                }
            } else {
                section.clone()
            }
        })
        .collect()
}
