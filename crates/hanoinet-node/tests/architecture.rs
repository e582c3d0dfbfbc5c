//! The layout rules of ARCHITECTURE.md, checked on the source: a rule that is only written down
//! erodes with the first hurried change.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file of this crate belongs to (`ops/moves.rs` → `ops`).
fn top_module(file: &Path) -> String {
    let rel = file.strip_prefix(src()).unwrap_or(file);
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_owned()
}

/// The code of a file without its `#[cfg(test)]` module and comments (doc links are not
/// dependencies).
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Top-level module → the top-level modules it names (`crate::X`).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let from = top_module(&f);
        if from == "lib" {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&f).unwrap_or_default());
        let deps = g.entry(from.clone()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && name != from && name.chars().all(|c| !c.is_uppercase()) {
                deps.insert(name);
            }
        }
    }
    g
}

/// Strongly connected components (Tarjan), each sorted.
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        let g = t.g;
        for w in g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !g.contains_key(w) {
                continue;
            }
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(lw));
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low[v];
                t.low.insert(v, lv.min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut c = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                c.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            c.sort();
            t.out.push(c);
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out.into_iter().filter(|c| c.len() > 1).collect()
}

#[test]
fn no_import_cycle_spans_more_than_three_top_level_modules() {
    let g = graph();
    assert!(g.contains_key("ops") && g.contains_key("http"), "{g:?}");
    let all = cycles(&g);
    let big: Vec<_> = all.into_iter().filter(|c| c.len() > 3).collect();
    assert!(
        big.is_empty(),
        "import cycles over 3 modules: {big:?}\n{g:#?}"
    );
}

#[test]
fn the_use_cases_do_not_know_the_front_end() {
    let g = graph();
    for m in ["ops", "node", "error", "workers", "provision", "payload"] {
        let deps = g.get(m).cloned().unwrap_or_default();
        assert!(!deps.contains("http"), "{m} names crate::http: {deps:?}");
    }
}

#[test]
fn axum_is_used_only_under_http_and_by_the_server() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let offenders: Vec<_> = files
        .iter()
        .filter(|f| top_module(f) != "http" && top_module(f) != "server")
        .filter(|f| {
            let code = code_of(&std::fs::read_to_string(f).unwrap_or_default());
            code.contains("axum::") || code.contains("axum;")
        })
        .collect();
    assert!(offenders.is_empty(), "axum outside http/: {offenders:?}");
}

#[test]
fn no_source_file_is_over_800_lines() {
    // Every crate of the workspace; tests and the catalogue's form tables are exempt.
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for c in std::fs::read_dir(&crates).into_iter().flatten().flatten() {
        rust_files(&c.path().join("src"), &mut files);
    }
    assert!(files.len() > 50, "found only {} files", files.len());
    let long: Vec<_> = files
        .iter()
        .filter(|f| !f.ends_with("catalogue/forms.rs"))
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).ok()?;
            let code = text.split("#[cfg(test)]").next().unwrap_or("");
            let n = code.lines().count();
            (n > 800).then(|| format!("{}: {n}", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over 800 lines: {long:?}");
}

/// Directions, sides and states are enums (`hanoinet_core::names!`): their strings are written
/// once, where the enum is declared, never as literals in the node or the store.
#[test]
fn no_string_literal_stands_in_for_a_direction_side_or_state() {
    let names = [
        "sent",
        "received",
        "incoming",
        "outgoing",
        "requesting",
        "requested",
        "system",
        "operator",
        "uploading",
        "staged",
        "receiving",
        "complete",
        "corrupt",
        "purged",
        "pending",
        "applied",
        "declined",
        "prohibited",
        "with_authorization",
    ];
    let store = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hanoinet-store/src");
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    rust_files(&store, &mut files);
    let mut found = Vec::new();
    for f in files {
        let code = code_of(&std::fs::read_to_string(&f).unwrap_or_default());
        for (n, line) in code.lines().enumerate() {
            // The declarations themselves: `Variant => "name",` inside `names!`.
            if line.contains("=> \"") {
                continue;
            }
            for name in names {
                if line.contains(&format!("\"{name}\"")) || line.contains(&format!("'{name}'")) {
                    found.push(format!("{}:{}: {name}", f.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "string literals instead of enums: {found:#?}"
    );
}
