//! `gen list`: every registered unit, one line each, or as JSON.

use std::io::Write;

use crate::error::Failure;
use crate::registry::infos;

/// Print the unit table (or `--json`).
pub fn list(json: bool, stdout: &mut dyn Write) -> Result<(), Failure> {
    let units = infos();
    if json {
        let text = serde_json::to_string_pretty(&units).expect("unit list serializes");
        writeln!(stdout, "{text}")?;
        return Ok(());
    }
    let width = units.iter().map(|u| u.command.len()).max().unwrap_or(0);
    for u in &units {
        writeln!(stdout, "{:width$}  {}  ({})", u.command, u.summary, u.docs)?;
    }
    Ok(())
}
