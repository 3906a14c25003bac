//! What the registry promises: every unit is listed, documented, has examples that
//! build, and the README's unit table is the registry's (`gen list --markdown`).

use std::path::{Path, PathBuf};
use std::process::Command;

fn gen(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(args)
        .output()
        .expect("run gen");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn readme_unit_table_is_the_registry() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let (begin, end) = ("<!-- units:begin -->\n", "<!-- units:end -->");
    let start = readme
        .find(begin)
        .expect("README has the units:begin marker")
        + begin.len();
    let stop = readme.find(end).expect("README has the units:end marker");
    let (code, table, err) = gen(&["list", "--markdown"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        &readme[start..stop],
        table,
        "README's unit table differs from the registry: replace it with `gen list --markdown`"
    );
}

#[test]
fn list_names_every_unit_with_its_docs_page() {
    let units = gen::registry::infos();
    assert_eq!(units.len(), 9, "{units:?}");
    let (code, text, err) = gen(&["list"]);
    assert_eq!(code, 0, "{err}");
    for u in &units {
        assert!(text.lines().any(|l| l.starts_with(u.command)), "{text}");
        assert!(
            repo().join(u.docs).is_file(),
            "{}: {} is missing",
            u.command,
            u.docs
        );
    }
    let (code, json, err) = gen(&["list", "--json"]);
    assert_eq!(code, 0, "{err}");
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed.as_array().map(Vec::len), Some(units.len()));
    assert_eq!(parsed[0]["default_module"], "mac_s8x8_acc12_sat");
}

/// Every example in every unit's help builds, and the help shows it with the docs page.
#[test]
fn every_unit_example_builds_and_help_shows_it() {
    for u in gen::registry::infos() {
        let (code, help, err) = gen(&[u.command, "--help"]);
        assert_eq!(code, 0, "{err}");
        assert!(
            help.contains("Examples:") && help.contains(u.docs),
            "{help}"
        );
        assert!(!u.examples.is_empty(), "{}", u.command);
        for e in &u.examples {
            assert!(help.contains(&e.command), "{}: {help}", e.command);
            let words: Vec<&str> = e.command.split_whitespace().skip(1).collect();
            let (code, verilog, err) = gen(&words);
            assert_eq!(code, 0, "{}: {err}", e.command);
            assert!(verilog.contains("endmodule"), "{}", e.command);
        }
    }
}

/// The README and docs/ link only to files in the repository.
#[test]
fn readme_and_docs_link_nothing_outside_the_repository() {
    let mut pages = vec![repo().join("README.md")];
    for entry in std::fs::read_dir(repo().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        assert!(!text.contains("../shared"), "{}", page.display());
        for (i, _) in text.match_indices("](") {
            let rest = &text[i + 2..];
            let target = &rest[..rest.find(')').unwrap_or(rest.len())];
            let file = target.split('#').next().unwrap_or("");
            if file.is_empty() || file.contains("://") {
                continue;
            }
            let resolved = page.parent().unwrap().join(file);
            assert!(
                resolved.exists(),
                "{}: link to {target} does not resolve",
                page.display()
            );
            let canonical = resolved.canonicalize().unwrap();
            assert!(
                canonical.starts_with(repo().canonicalize().unwrap()),
                "{}: link to {target} leaves the repository",
                page.display()
            );
        }
    }
}
