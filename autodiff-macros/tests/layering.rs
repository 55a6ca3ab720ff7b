//! The macro's stages stay one-way (see `src/lib.rs`): `ir` <- `front` <- `passes` <-
//! `analysis` <- `emit` <- `expand`, with `names`, `core_path` and `rules` beneath them all. No
//! file's code names a later stage, and no analysis names another analysis: each is computed from
//! the IR alone. Comments may (doc links).

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).expect("a readable source file");
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.split("//").next().unwrap_or("").to_string()))
        .collect()
}

#[test]
fn stages_import_only_from_earlier_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    const LATER_THAN_IR: &[&str] = &[
        "crate::front",
        "crate::passes",
        "crate::analysis",
        "crate::emit",
        "crate::expand",
    ];
    // A file (or directory) of `src` and the paths its code must not name.
    let rules: &[(&str, &[&str])] = &[
        ("names.rs", LATER_THAN_IR),
        ("core_path.rs", LATER_THAN_IR),
        ("rules.rs", LATER_THAN_IR),
        ("ir", LATER_THAN_IR),
        ("front", &LATER_THAN_IR[1..]),
        ("passes", &LATER_THAN_IR[2..]),
        ("analysis", &LATER_THAN_IR[3..]),
        ("emit", &LATER_THAN_IR[4..]),
    ];
    let mut bad = Vec::new();
    for (stage, banned) in rules {
        let root = src.join(stage);
        let files = if root.is_dir() {
            sources(&root)
        } else {
            vec![root.clone()]
        };
        for file in files {
            let name = file
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .to_string();
            for (n, line) in code_lines(&file) {
                for b in *banned {
                    if line.contains(b) {
                        bad.push(format!("{name}:{n}: names `{b}`: {}", line.trim()));
                    }
                }
                // An analysis depends on the IR only, never on another analysis.
                if *stage == "analysis" && !name.ends_with("mod.rs") {
                    let own = Path::new(&name)
                        .file_stem()
                        .unwrap()
                        .to_string_lossy()
                        .to_string();
                    for other in sources(&src.join("analysis")) {
                        let o = other.file_stem().unwrap().to_string_lossy().to_string();
                        if o != own && o != "mod" && line.contains(&format!("analysis::{o}")) {
                            bad.push(format!("{name}:{n}: names analysis `{o}`: {}", line.trim()));
                        }
                    }
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "imports against the pipeline's order:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_file_is_over_about_900_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let long: Vec<String> = sources(&src)
        .into_iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(&f).ok()?.lines().count();
            (n > 950).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these files by job:\n{}",
        long.join("\n")
    );
}
