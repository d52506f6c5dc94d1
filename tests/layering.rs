//! The rings the code claims, held: an inner ring never names an outer one. Reads every source
//! file under src/ and fails naming the file and line of each `crate::<module>` path that points
//! outwards. Test modules (`#[cfg(test)]` onwards, and `tests/` folders) may reach anywhere.
//!
//! 0 `domain`, `config`, `auth` — plain types and settings, no I/O
//! 1 `engine`, `lang`, `coverage` — pure decisions
//! 2 `pool`, `sfu`, `protocol`, `metrics`, `roster` — state, media and the wire format
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
    ("sfu", 2),
    ("protocol", 2),
    ("metrics", 2),
    ("roster", 2),
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
