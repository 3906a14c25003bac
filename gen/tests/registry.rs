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
    assert_eq!(units.len(), 19, "{units:?}");
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

/// Every declared flag of every unit, given a value outside what it declares, fails
/// alone: exit 2, one `error:` line naming the flag (and, for numbers, the declared
/// range), nothing on stdout. Negative numbers are read as numbers, not as flags.
#[test]
fn every_declared_flag_rejects_bad_values_by_name() {
    use gen::registry::{each_unit, Registered, Visit};
    use model::param::Kind;
    struct Cases(Vec<(Vec<String>, Vec<String>)>);
    impl Visit for Cases {
        fn visit<U: Registered>(&mut self) {
            for p in U::PARAMS {
                let bad: Vec<(String, Vec<String>)> = match p.kind {
                    Kind::Int { min, max, .. } => vec![
                        (
                            (max + 1).to_string(),
                            vec![p.long.into(), format!("{min}..={max}")],
                        ),
                        (
                            (min - 1).to_string(),
                            vec![p.long.into(), format!("{min}..={max}")],
                        ),
                        ("-99999999999999999999".into(), vec![p.long.into()]),
                        ("twelve".into(), vec![p.long.into()]),
                        ("".into(), vec![p.long.into()]),
                        ("\u{00e9}8".into(), vec![p.long.into()]),
                    ],
                    Kind::Choice { choices, .. } => vec![
                        ("nosuch".into(), vec![p.long.into(), choices[0].0.into()]),
                        ("".into(), vec![p.long.into()]),
                    ],
                    Kind::Text { .. } => vec![("?".into(), vec![p.long.into()])],
                    Kind::Switch => vec![],
                };
                for (value, needles) in bad {
                    self.0.push((
                        vec![U::COMMAND.into(), format!("{}={value}", p.long)],
                        needles,
                    ));
                }
            }
        }
    }
    let mut cases = Cases(Vec::new());
    each_unit(&mut cases);
    assert!(cases.0.len() > 150, "{}", cases.0.len());
    for (args, needles) in cases.0 {
        let words: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = gen(&words);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?} printed to stdout");
        assert_eq!(
            stderr.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{args:?}: {stderr}"
        );
        for n in needles {
            assert!(
                stderr.contains(&n),
                "{args:?}: '{n}' missing from: {stderr}"
            );
        }
    }
}

/// Negative numbers after a flag are values (`--flag -3`), so the error names the flag.
#[test]
fn negative_numbers_are_values_of_their_flag() {
    for args in [
        &["mac", "--acc", "-1"][..],
        &["expq-dot", "--exp-min", "-99"],
        &["bfp-dot", "--block", "-4"],
        &["fpacc", "--bias", "-129"],
    ] {
        let (code, stdout, stderr) = gen(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains(args[1]), "{args:?}: {stderr}");
    }
}

/// The units with an error study (`model::Unit::study`) at their defaults are exactly
/// the ones docs/sweep.md's study table names, and each gives finite metrics on a small
/// workload (or says why the workload does not fit).
#[test]
fn the_error_studies_are_the_documented_ones() {
    use gen::registry::{each_unit, Registered, Visit};
    use model::study::{Dist, Workload};
    struct Studied(Vec<&'static str>, Workload);
    impl Visit for Studied {
        fn visit<U: Registered>(&mut self) {
            if let Some(r) = U::default().study(&self.1) {
                let e = r.unwrap_or_else(|e| panic!("{}: {e}", U::COMMAND));
                assert!(
                    e.rel_rms.is_finite() && e.snr_db.is_finite() && e.results > 0,
                    "{}: {e:?}",
                    U::COMMAND
                );
                self.0.push(U::COMMAND);
            }
        }
    }
    // K = 32 fits every default (expq-dot counts up to 64 products).
    let mut s = Studied(Vec::new(), Workload::synthetic(Dist::Gaussian, 32, 4, 1));
    each_unit(&mut s);
    let docs = std::fs::read_to_string(repo().join("docs/sweep.md")).unwrap();
    let start = docs
        .find("| unit | operands from real values |")
        .expect("the table");
    let mut named: Vec<&str> = docs[start..]
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .flat_map(|l| {
            l.split('|')
                .nth(1)
                .unwrap()
                .split(',')
                .map(|u| u.trim().trim_matches('`'))
        })
        .collect();
    named.sort();
    s.0.sort();
    assert_eq!(
        named, s.0,
        "docs/sweep.md's study table against the units with studies"
    );
}
