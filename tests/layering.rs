//! The rings the code claims, held: an inner ring never names an outer one. Reads every source
//! file under src/ and fails naming the file and line of each `crate::<module>` path that points
//! outwards, and of each pair of siblings (two top modules, or two children of one module) that
//! import each other, directly or round a cycle. Test modules (`#[cfg(test)]` onwards, and
//! `tests/` folders) may reach anywhere.
//!
//! 0 `domain`, `config`, `auth` — plain types and settings, no I/O
//! 1 `engine`, `lang`, `coverage` — pure decisions
//! 2 `pool`, `store`, `sfu`, `protocol`, `metrics`, `roster`, `prompts` — state, media and the wire format
//! 3 `drivers`, `admin` — tasks that carry out the engine's commands
//! 4 `api`, `sip` — the edges
//! 5 `app`, `testkit` — wiring, and the test kit that drives the whole

use std::path::Path;

const RINGS: &[(&str, u8)] = &[
    ("domain", 0),
    ("config", 0),
    ("auth", 0),
    ("engine", 1),
    ("lang", 1),
    ("coverage", 1),
    ("pool", 2),
    ("store", 2),
    ("sfu", 2),
    ("protocol", 2),
    ("metrics", 2),
    ("roster", 2),
    ("prompts", 2),
    ("drivers", 3),
    ("admin", 3),
    ("api", 4),
    ("sip", 4),
    ("app", 5),
    ("testkit", 5),
];

fn ring(module: &str) -> Option<u8> {
    RINGS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

/// Every outward import under `src`, as "file:line: `from` (ring a) names `to` (ring b)", and
/// every top-level module the table does not place.
fn violations(src: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut files = Vec::new();
    collect(src, &mut files);
    files.sort();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src");
        let mut parts = rel.iter().map(|p| p.to_string_lossy().into_owned());
        let top = parts.next().unwrap_or_default();
        let top = top.trim_end_matches(".rs").to_owned();
        if top == "lib" || top == "main" {
            continue;
        }
        if rel.iter().any(|p| p == "tests") || rel.ends_with("tests.rs") {
            continue;
        }
        let Some(mine) = ring(&top) else {
            found.push(format!("src/{}: module `{top}` has no ring", rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("#[cfg(test)]") {
                break;
            }
            if code.starts_with("//") {
                continue;
            }
            for (i, _) in line.match_indices("crate::") {
                let to: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                match ring(&to) {
                    Some(theirs) if theirs > mine => found.push(format!(
                        "src/{}:{}: `{top}` (ring {mine}) names `{to}` (ring {theirs})",
                        rel.display(),
                        n + 1
                    )),
                    _ => {}
                }
            }
        }
    }
    found
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_inner_ring_imports_an_outer_one() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(found.is_empty(), "outward imports:\n{}", found.join("\n"));
}

#[test]
fn an_outward_import_is_found_and_named_by_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    std::fs::create_dir_all(src.join("engine")).expect("mkdir");
    std::fs::write(
        src.join("engine/call.rs"),
        "//! A decision.\nuse crate::domain::CallId;\nuse crate::drivers::media::MediaHandle;\n\n\
         #[cfg(test)]\nmod tests {\n    use crate::app::AppState;\n}\n",
    )
    .expect("write");
    std::fs::write(
        src.join("api.rs"),
        "use crate::drivers::call::CallHandle;\n",
    )
    .expect("write");
    std::fs::write(src.join("gadget.rs"), "pub fn f() {}\n").expect("write");
    let found = violations(src);
    assert_eq!(
        found,
        vec![
            "src/engine/call.rs:3: `engine` (ring 1) names `drivers` (ring 3)".to_owned(),
            "src/gadget.rs: module `gadget` has no ring".to_owned(),
        ],
        "the engine's outward import is named, its test module's is not, the edge's inward one \
         is fine, and an unplaced module is reported"
    );
}

/// One import: the unit that names another, where.
struct Edge {
    from: String,
    to: String,
    at: String,
}

/// The unit a file belongs to: `top` for a top module's root file, `top::child` for a child and
/// everything below it (src/drivers/call/media.rs is `drivers::call`).
fn unit_of(rel: &Path) -> String {
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    match parts.as_slice() {
        [top] => top.clone(),
        [top, child, ..] if child == "mod" => top.clone(),
        [top, child, ..] => format!("{top}::{child}"),
        [] => String::new(),
    }
}

/// Every import between units: `crate::a::b` names `a::b` when that is a unit, else `a`;
/// `super::b` from a file right under src/a/ names `a::b`. Imports of a top module's root (its
/// re-exports) and test modules are left out.
fn edges(src: &Path) -> Vec<Edge> {
    let mut files = Vec::new();
    collect(src, &mut files);
    files.sort();
    let rels: Vec<std::path::PathBuf> = files
        .iter()
        .map(|f| f.strip_prefix(src).expect("under src").to_path_buf())
        .collect();
    let units: std::collections::BTreeSet<String> = rels.iter().map(|r| unit_of(r)).collect();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    for (file, rel) in files.iter().zip(&rels) {
        if rel.iter().any(|p| p == "tests") || rel.ends_with("tests.rs") {
            continue;
        }
        let from = unit_of(rel);
        let top = from.split("::").next().unwrap_or_default().to_owned();
        let text = std::fs::read_to_string(file).expect("read source");
        for (n, line) in statements(&text) {
            let line = line.as_str();
            let mut named = Vec::new();
            for (i, _) in line.match_indices("crate::") {
                let a = ident(&line[i + 7..]);
                let rest = &line[i + 7 + a.len()..];
                let bs = rest.strip_prefix("::").map(heads).unwrap_or_default();
                if bs.is_empty() {
                    named.push(a.clone());
                }
                for b in bs {
                    let child = format!("{a}::{b}");
                    named.push(if units.contains(&child) {
                        child
                    } else {
                        a.clone()
                    });
                }
            }
            if rel.iter().count() == 2 && from != top {
                for (i, _) in line.match_indices("super::") {
                    if line[..i].ends_with("super::") {
                        continue;
                    }
                    for b in heads(&line[i + 7..]) {
                        let child = format!("{top}::{b}");
                        if units.contains(&child) {
                            named.push(child);
                        }
                    }
                }
            }
            for to in named {
                let to_top = to.split("::").next().unwrap_or_default().to_owned();
                // Across top modules the graph is of tops; a top's root re-exports its children.
                let within = to_top == top;
                let to = if within { to } else { to_top };
                let from = if within { from.clone() } else { top.clone() };
                if to != from && to != top {
                    out.push(Edge {
                        from,
                        to,
                        at: format!("src/{}:{n}", rel.display()),
                    });
                }
            }
        }
    }
    out
}

/// The file's code before its test module, as (line number, statement): a `use` that spans
/// lines is joined into one; comments are left out.
fn statements(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("#[cfg(test)]") {
            break;
        }
        if code.starts_with("//") {
            continue;
        }
        match out.last_mut() {
            Some((_, s)) if open => s.push_str(code),
            _ => out.push((n + 1, code.to_owned())),
        }
        let is_use = code.starts_with("use ") || code.starts_with("pub") && code.contains(" use ");
        open = if open {
            !code.contains(';')
        } else {
            is_use && !code.contains(';')
        };
    }
    out
}

/// The first name of each path in `rest`: `a::x` gives `a`, `{a::x, b, c::{y, z}}` gives a, b, c.
fn heads(rest: &str) -> Vec<String> {
    let name = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let Some(group) = rest.strip_prefix('{') else {
        return vec![name(rest)];
    };
    let (mut depth, mut start, mut out) = (0, 0, Vec::new());
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                out.push(name(&group[start..i]));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(name(&group[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.retain(|n| !n.is_empty() && n != "self");
    out
}

/// Every cycle among sibling units, as "a -> b (where) -> a (where)", each found once.
fn cycles(edges: &[Edge]) -> Vec<String> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut graph: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for e in edges {
        graph
            .entry(e.from.as_str())
            .or_default()
            .entry(e.to.as_str())
            .or_insert(e.at.as_str());
    }
    let mut found = BTreeSet::new();
    for &start in graph.keys() {
        // Depth-first from `start`, reporting paths that come back to it.
        let mut stack: Vec<(Vec<&str>, Vec<&str>)> = vec![(vec![start], Vec::new())];
        while let Some((path, wheres)) = stack.pop() {
            let last = *path.last().expect("non-empty path");
            for (&next, &at) in graph.get(last).into_iter().flatten() {
                if next == start {
                    // Named from its smallest unit, so each cycle is reported once.
                    if path.iter().all(|p| *p >= start) {
                        let mut s = String::new();
                        for (i, unit) in path.iter().enumerate() {
                            let w = if i + 1 < path.len() { wheres[i] } else { at };
                            s.push_str(&format!("{unit} -> ({w}) "));
                        }
                        s.push_str(start);
                        found.insert(s);
                    }
                } else if !path.contains(&next) && path.len() < 6 {
                    let mut p = path.clone();
                    p.push(next);
                    let mut w = wheres.clone();
                    w.push(at);
                    stack.push((p, w));
                }
            }
        }
    }
    found.into_iter().collect()
}

#[test]
fn no_two_siblings_import_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = cycles(&edges(&src));
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn siblings_that_import_each_other_are_found_and_named_by_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    std::fs::create_dir_all(src.join("drivers/call")).expect("mkdir");
    let write = |path: &str, text: &str| std::fs::write(src.join(path), text).expect("write");
    write("drivers/mod.rs", "pub mod call;\npub mod registry;\n");
    write(
        "drivers/call.rs",
        "use super::{\n    clock::now,\n    registry::Registry,\n};\n",
    );
    write("drivers/call/media.rs", "use super::super::clock::now;\n");
    write(
        "drivers/registry.rs",
        "//! crate::drivers::call in a comment is not an import.\n\
         use crate::drivers::call::CallHandle;\n",
    );
    write("drivers/clock.rs", "use crate::domain::Millis;\n");
    write("pool.rs", "use crate::sfu::Peer;\n");
    write(
        "sfu.rs",
        "use crate::pool::Pool;\n\n#[cfg(test)]\nuse crate::drivers::call;\n",
    );
    let found = cycles(&edges(src));
    assert_eq!(
        found,
        vec![
            "drivers::call -> (src/drivers/call.rs:1) drivers::registry -> \
             (src/drivers/registry.rs:2) drivers::call"
                .to_owned(),
            "pool -> (src/pool.rs:1) sfu -> (src/sfu.rs:1) pool".to_owned(),
        ],
        "a cycle between two children of one module (through a multi-line use), and one \
         between two top modules, each named once; a one-way import is none"
    );
}
