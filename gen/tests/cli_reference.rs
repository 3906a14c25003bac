//! `docs/cli.md`, the command-line reference, is generated from the binary: `gen --help`
//! and every subcommand's `--help`, walked from the `Commands:` section of `gen --help`
//! (so a new unit or command appears by itself). This test renders the document, compares
//! it with the file, and checks what every help page must have: lines of at most 100
//! columns, the same text at any terminal width above that, and an `Examples:` section
//! whose command lines parse.
//!
//! After changing any help text, refresh the file with
//!
//! ```sh
//! LOWBIT_BLESS=1 cargo test --release -p gen --test cli_reference
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

/// The widest help line: `max_term_width(100)` in `gen/src/cli/mod.rs`.
const WIDTH: usize = 100;

const REFRESH: &str = "LOWBIT_BLESS=1 cargo test --release -p gen --test cli_reference";

fn doc_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/cli.md")
}

/// `gen <args> --help` as printed for a terminal `columns` wide (no terminal attached:
/// clap then reads `COLUMNS`).
fn help_at(args: &[String], columns: usize) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(args)
        .arg("--help")
        .env("COLUMNS", columns.to_string())
        .env_remove("LINES")
        .output()
        .expect("gen runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && err.is_empty(),
        "gen {} --help: exit {:?}, stderr: {err}",
        args.join(" "),
        o.status.code()
    );
    String::from_utf8(o.stdout).expect("help is UTF-8")
}

/// The subcommands a help page lists under `Commands:`, in order (clap's `help` too).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        // A name is indented by two spaces; a wrapped summary continues further right.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

/// One help page: the command line before `--help`, and what it prints.
struct Page {
    args: Vec<String>,
    text: String,
}

impl Page {
    fn new(args: Vec<String>) -> Page {
        let text = help_at(&args, WIDTH);
        Page { args, text }
    }

    fn name(&self) -> String {
        std::iter::once("gen")
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A top-level command: its page and, for a command with subcommands of its own
/// (`synth`, `prove`), the pages of those.
struct Section {
    page: Page,
    nested: Vec<Page>,
}

/// Every help page `gen` has, walked from `gen --help` (clap's `help` subcommand, which
/// prints another command's help, left out).
fn walk() -> (Page, Vec<Section>) {
    let top = Page::new(vec![]);
    let names = subcommands(&top.text);
    assert!(
        ["mac", "synth", "prove", "list", "help"]
            .iter()
            .all(|n| names.iter().any(|c| c == n)),
        "the Commands: section of `gen --help` did not parse: {names:?}\n{}",
        top.text
    );
    let sections = names
        .iter()
        .filter(|n| *n != "help")
        .map(|n| {
            let page = Page::new(vec![n.clone()]);
            let nested = subcommands(&page.text)
                .into_iter()
                .filter(|s| s != "help")
                .map(|s| Page::new(vec![n.clone(), s]))
                .collect();
            Section { page, nested }
        })
        .collect();
    (top, sections)
}

fn all_pages<'a>(top: &'a Page, sections: &'a [Section]) -> Vec<&'a Page> {
    let mut pages = vec![top];
    for s in sections {
        pages.push(&s.page);
        pages.extend(&s.nested);
    }
    pages
}

/// A help text as a fenced block (trailing spaces, which clap leaves on blank lines
/// inside an option's help, trimmed).
fn fenced(text: &str) -> String {
    assert!(!text.contains("```"), "help text with a code fence: {text}");
    let mut out = String::from("```text\n");
    for line in text.lines() {
        out += line.trim_end();
        out.push('\n');
    }
    out += "```\n";
    out
}

/// The GitHub anchor of a heading `gen <...>`.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The whole of docs/cli.md.
fn render(top: &Page, sections: &[Section]) -> String {
    let mut doc = format!(
        "# `gen` command-line reference\n\
         \n\
         <!-- Generated from the binary by gen/tests/cli_reference.rs; do not edit by hand.\n     \
         Refresh: {REFRESH} -->\n\
         \n\
         Every command of `gen` with the help it prints (`gen <COMMAND> --help`, the same as\n\
         `gen help <COMMAND>`) at a terminal {WIDTH} or more columns wide. With no subcommand\n\
         `gen` builds the integer MAC, so its own flags are the MAC's and the output options.\n\
         Each unit subcommand takes the unit's parameters and the same output options, and\n\
         ends with examples and the unit's docs page; `gen synth <UNIT>` and `gen prove <UNIT>`\n\
         take a unit's parameters followed by their own options, shown once below for the\n\
         first unit. `-h` prints a shorter summary of the same. What each unit computes is in\n\
         [the unit pages](README.md).\n\
         \n"
    );
    let mut index = vec![format!("[`gen`](#gen)")];
    for s in sections {
        let h = s.page.name();
        index.push(format!("[`{h}`](#{})", anchor(&h)));
    }
    doc += &index.join(" · ");
    doc += "\n\n## gen\n\n";
    doc += &fenced(&top.text);
    for s in sections {
        doc += &format!("\n## {}\n\n", s.page.name());
        doc += &fenced(&s.page.text);
        if let Some(first) = s.nested.first() {
            let cmd = s.page.name();
            let units: Vec<String> = s
                .nested
                .iter()
                .map(|p| format!("`{}`", p.args.last().unwrap()))
                .collect();
            doc += &format!(
                "\n### `{cmd} <UNIT>`\n\n\
                 `{cmd} <UNIT>` has the same form for every unit ({}): the unit's own \
                 parameters, as listed under [`gen <UNIT>`](#{}) above, followed by the \
                 options of `{cmd}`. One instance, `{} --help`:\n\n",
                units.join(", "),
                anchor(&format!("gen {}", first.args.last().unwrap())),
                first.name()
            );
            doc += &fenced(&first.text);
        }
    }
    doc
}

/// The first line where `a` and `b` differ (1-based), with both versions of it.
fn first_difference(a: &str, b: &str) -> String {
    let (mut la, mut lb) = (a.lines(), b.lines());
    let mut n = 1;
    loop {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (x, y) => {
                return format!(
                    "line {n}:\n  docs/cli.md: {}\n  binary:      {}",
                    x.unwrap_or("(end of file)"),
                    y.unwrap_or("(end of file)")
                )
            }
        }
    }
}

/// docs/cli.md is what the binary prints now.
#[test]
fn docs_cli_md_is_the_binarys_help() {
    let (top, sections) = walk();
    let expected = render(&top, &sections);
    let path = doc_path();
    if std::env::var_os("LOWBIT_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &expected).expect("write docs/cli.md");
        eprintln!("wrote {}", path.display());
        return;
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/cli.md is stale: it is not the help the binary prints now (first difference at \
         {}).\nRefresh it with:\n    {REFRESH}",
        first_difference(&actual, &expected)
    );
}

/// No help line is wider than 100 columns.
#[test]
fn every_help_line_fits_in_100_columns() {
    let (top, sections) = walk();
    let mut too_long = Vec::new();
    for page in all_pages(&top, &sections) {
        for line in page.text.lines() {
            let w = line.chars().count();
            if w > WIDTH {
                too_long.push(format!("{} --help ({w} columns): {line}", page.name()));
            }
        }
    }
    assert!(too_long.is_empty(), "{}", too_long.join("\n"));
}

/// The help is the same on any terminal of 100 columns or more (`max_term_width(100)`,
/// applied to every subcommand), and it does use the 100 columns (not clap's 80).
#[test]
fn help_is_wrapped_at_100_columns_on_wide_terminals() {
    let (top, sections) = walk();
    let pages = all_pages(&top, &sections);
    for page in &pages {
        assert_eq!(
            help_at(&page.args, 250),
            page.text,
            "{} --help differs between COLUMNS=250 and COLUMNS={WIDTH}",
            page.name()
        );
    }
    let widest = pages
        .iter()
        .flat_map(|p| p.text.lines())
        .map(|l| l.chars().count())
        .max()
        .unwrap();
    assert!(widest > 80, "the widest help line is {widest} columns");
    // A narrower terminal wraps narrower: COLUMNS reaches clap at all.
    let narrow = help_at(&[], 60);
    assert!(
        narrow != top.text && narrow.lines().all(|l| l.chars().count() <= 60),
        "gen --help at COLUMNS=60:\n{narrow}"
    );
}

/// The input files the examples name, written to `dir`: each name and its path.
fn example_inputs(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    /// A version 1.0 .npy file of `shape` with element type `descr`.
    fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }
    let floats: Vec<u8> = [0.5f32, -0.25, 0.125, -1.0]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let files = [
        // int8 weights, 2 x 3
        (
            "layer.npy",
            npy("|i1", "(2, 3)", &[3, 0xF9, 12, 0, 5, 0xFE]),
        ),
        // a float32 tensor of 4 values
        ("weights.npy", npy("<f4", "(4,)", &floats)),
    ];
    std::fs::create_dir_all(dir).unwrap();
    files
        .into_iter()
        .map(|(name, bytes)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            (name, path)
        })
        .collect()
}

/// The command lines under `Examples:` on a help page.
fn examples(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| *l != "Examples:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.strip_prefix("  gen "))
        .map(|l| format!("gen {l}"))
        .collect()
}

/// Every subcommand except clap's `help` has an `Examples:` section (`gen` itself ends
/// with a worked command line instead), and every example on every page parses as a `gen` command line (input files it names are provided; the
/// commands are not run: some take minutes).
#[test]
fn every_command_has_examples_that_parse() {
    let (top, sections) = walk();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cli_reference");
    let inputs = example_inputs(&dir);
    let mut problems = Vec::new();
    for page in all_pages(&top, &sections) {
        let lines = examples(&page.text);
        if lines.is_empty() && !page.args.is_empty() {
            problems.push(format!("{} --help has no Examples: section", page.name()));
        }
        for line in lines {
            let words: Vec<String> = line
                .split_whitespace()
                .take_while(|w| !matches!(*w, ">" | "|" | "<" | "&&"))
                .map(|w| match inputs.iter().find(|(name, _)| *name == w) {
                    Some((_, path)) => path.display().to_string(),
                    None => w.to_string(),
                })
                .collect();
            if let Err(e) = gen::cli::command().try_get_matches_from(&words) {
                problems.push(format!(
                    "{} --help: example `{line}` does not parse (if it names an input \
                     file, add that to example_inputs): {}",
                    page.name(),
                    e.render()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
