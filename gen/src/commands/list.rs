//! `gen list`: every registered unit, one line each, or as JSON.

use std::io::Write;

use crate::error::Failure;
use crate::registry::infos;

/// Print the unit table (or `--json`, or the README's Markdown table).
pub fn list(json: bool, markdown: bool, stdout: &mut dyn Write) -> Result<(), Failure> {
    let units = infos();
    if json {
        let text = serde_json::to_string_pretty(&units).expect("unit list serializes");
        writeln!(stdout, "{text}")?;
        return Ok(());
    }
    if markdown {
        stdout.write_all(markdown_table().as_bytes())?;
        return Ok(());
    }
    let width = units.iter().map(|u| u.command.len()).max().unwrap_or(0);
    for u in &units {
        writeln!(stdout, "{:width$}  {}  ({})", u.command, u.summary, u.docs)?;
    }
    Ok(())
}

/// The unit table as Markdown, as the README carries it (a test keeps the two equal).
pub fn markdown_table() -> String {
    let mut t = String::from("| unit | what it does | docs |\n| --- | --- | --- |\n");
    for u in infos() {
        t += &format!(
            "| `{}` | {} | [{docs}]({docs}) |\n",
            u.command,
            u.summary,
            docs = u.docs
        );
    }
    t
}
