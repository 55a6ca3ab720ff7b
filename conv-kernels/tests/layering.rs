//! The crate's modules stay in dependency order (`tensor` <- `gemm` <- `conv` <- `layers`, see
//! `src/lib.rs`): no file's code names a module above its own. Comments may (doc links).

use std::path::{Path, PathBuf};

/// The `.rs` files under `dir`, recursively.
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

/// `(line number, line)` of the code of a file, without its `//` comments.
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).expect("a readable source file");
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.split("//").next().unwrap_or("").to_string()))
        .collect()
}

#[test]
fn modules_import_only_from_earlier_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // Each module and the modules it must not name.
    let rules: [(&str, &[&str]); 4] = [
        (
            "tensor.rs",
            &["crate::gemm", "crate::conv", "crate::layers"],
        ),
        ("gemm", &["crate::conv", "crate::layers"]),
        ("conv", &["crate::layers"]),
        ("layers", &[]),
    ];
    let mut errors = Vec::new();
    for (module, forbidden) in rules {
        let path = src.join(module);
        let files = if path.is_dir() {
            sources(&path)
        } else {
            vec![path]
        };
        assert!(!files.is_empty(), "{module}: no source files");
        for file in files {
            for (n, line) in code_lines(&file) {
                for name in forbidden {
                    if line.contains(name) {
                        errors.push(format!("{}:{n}: names {name}", file.display()));
                    }
                }
            }
        }
    }
    assert!(
        errors.is_empty(),
        "imports against the order:\n{}",
        errors.join("\n")
    );
}
