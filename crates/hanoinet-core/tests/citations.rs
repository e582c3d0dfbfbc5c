//! Repository invariant: every article reference the code shows to a user comes from the one
//! table (`catalogue/mod.rs`), so that correcting a paragraph number there corrects it
//! everywhere. A string literal outside that table that spells `Art. N` fails this test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// Files allowed to spell articles: the table itself, and example case content (what an officer
/// would type in a free-text field, such as "ICT fraud (Art. 13)").
const ALLOWED: [&str; 3] = [
    "hanoinet-core/src/catalogue/mod.rs",
    "hanoinet-core/src/catalogue/examples.rs",
    "hanoinet-cli/src/commands/bench.rs",
];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The string literals of one line of code (comments and tests are removed before).
fn literals(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // A char literal such as '"' must not open a string.
            let rest: String = chars.clone().take(3).collect();
            if rest.starts_with("\"'") || rest.starts_with("\\\"'") {
                chars.nth(if rest.starts_with('\\') { 2 } else { 1 });
            }
            continue;
        }
        if c != '"' {
            continue;
        }
        let mut s = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => break,
                c => s.push(c),
            }
        }
        out.push(s);
    }
    out
}

fn cites_an_article(s: &str) -> bool {
    ["Art. ", "Arts. "].iter().any(|p| {
        s.match_indices(p).any(|(i, _)| {
            s[i + p.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
    })
}

#[test]
fn every_article_reference_comes_from_the_catalogue() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for c in std::fs::read_dir(crates).unwrap() {
        let src = c.unwrap().path().join("src");
        if src.is_dir() {
            sources(&src, &mut files);
        }
    }
    assert!(files.len() > 20, "found the sources");
    let mut found = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(crates)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if ALLOWED.contains(&rel.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for lit in literals(line) {
                if cites_an_article(&lit) {
                    found.push(format!("{rel}:{}: {lit}", n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "article references spelled outside the catalogue:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scanner_sees_what_it_must() {
    assert_eq!(
        literals(r#"let a = "x (Art. 36)"; let b = '"';"#),
        ["x (Art. 36)"]
    );
    assert!(cites_an_article("see Art. 42(5)"));
    assert!(cites_an_article("Arts. 7-17"));
    assert!(!cites_an_article("Art. of war"));
}
