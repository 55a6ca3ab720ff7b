//! Expansion snapshots: `tests/expand/NAME.rs` holds a function with its attribute, and
//! `tests/expand/NAME.expanded.rs` what the macro writes for it, formatted. Run with
//! `UPDATE_EXPANSIONS=1` to rewrite the snapshots after an intended change.

use std::path::Path;

fn expand_file(src: &str) -> String {
    // Several items (a type, its operators' impls and functions using them): each expanded.
    if syn::parse_str::<syn::ItemImpl>(src).is_err()
        && syn::parse_str::<syn::ItemFn>(src).is_err()
        && let Ok(file) = syn::parse_str::<syn::File>(src)
    {
        return file
            .items
            .iter()
            .map(|it| match it {
                syn::Item::Fn(_) | syn::Item::Impl(_) => {
                    expand_file(&quote::quote!(#it).to_string())
                }
                other => prettyplease::unparse(&syn::File {
                    shebang: None,
                    attrs: Vec::new(),
                    items: vec![other.clone()],
                }),
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    // An `impl` block: each of its methods with `#[differentiate]` expanded in place.
    if let Ok(mut imp) = syn::parse_str::<syn::ItemImpl>(src) {
        // With the attribute on the block: the macro expands the block.
        if let Some(k) = imp
            .attrs
            .iter()
            .position(|a| a.path().is_ident("differentiate"))
        {
            let attr = imp.attrs.remove(k);
            let args = match attr.meta {
                syn::Meta::List(l) => l.tokens,
                _ => proc_macro2::TokenStream::new(),
            };
            let out = crate::expand::differentiate(args, quote::quote!(#imp));
            return prettyplease::unparse(&syn::parse2(out).expect("the expansion parses"));
        }
        let mut items = Vec::new();
        for it in std::mem::take(&mut imp.items) {
            let syn::ImplItem::Fn(m) = it else {
                items.push(it);
                continue;
            };
            let f = syn::ItemFn {
                attrs: m.attrs,
                vis: m.vis,
                sig: m.sig,
                block: Box::new(m.block),
            };
            let file: syn::File = syn::parse_str(&expand_fn(f)).expect("the expansion parses");
            for item in file.items {
                let syn::Item::Fn(f) = item else {
                    panic!("a method expands to associated functions");
                };
                items.push(syn::ImplItem::Fn(syn::ImplItemFn {
                    attrs: f.attrs,
                    vis: f.vis,
                    defaultness: None,
                    sig: f.sig,
                    block: *f.block,
                }));
            }
        }
        imp.items = items;
        return prettyplease::unparse(&syn::File {
            shebang: None,
            attrs: Vec::new(),
            items: vec![syn::Item::Impl(imp)],
        });
    }
    let item: syn::ItemFn =
        syn::parse_str(src).expect("a snapshot input is one function or one impl");
    prettyplease::unparse(&syn::parse_str(&expand_fn(item)).expect("the expansion parses"))
}

/// The macro's output for one function (a method's receiver included), as source text.
fn expand_fn(item: syn::ItemFn) -> String {
    if !item
        .attrs
        .iter()
        .any(|a| a.path().is_ident("differentiate"))
    {
        return quote::quote!(#item).to_string();
    }
    let attr = item
        .attrs
        .iter()
        .find(|a| a.path().is_ident("differentiate"))
        .expect("with #[differentiate]");
    let args = match &attr.meta {
        syn::Meta::List(l) => l.tokens.clone(),
        _ => proc_macro2::TokenStream::new(),
    };
    let mut plain = item.clone();
    plain.attrs.retain(|a| !a.path().is_ident("differentiate"));
    crate::expand::differentiate(args, quote::quote!(#plain)).to_string()
}

#[test]
fn expansions_match_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
    let update = std::env::var_os("UPDATE_EXPANSIONS").is_some();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/expand exists") {
        let path = entry.expect("readable").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if !name.ends_with(".rs") || name.ends_with(".expanded.rs") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("readable");
        let before = crate::emit::reverse::fallbacks();
        let got = expand_file(&src);
        // What the pullback needs is predicted exactly (`analysis::needs`): one emission round.
        assert_eq!(
            crate::emit::reverse::fallbacks(),
            before,
            "{name}: the reverse emitter read more than `analysis::needs` predicted"
        );
        let snap = path.with_extension("expanded.rs");
        if update || !snap.exists() {
            std::fs::write(&snap, &got).expect("writable");
        } else {
            let want = std::fs::read_to_string(&snap).expect("readable");
            assert_eq!(
                got, want,
                "expansion of {name} changed; rerun with UPDATE_EXPANSIONS=1 if intended"
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 4,
        "expected the expansion snapshots in tests/expand"
    );
}

/// A debugging aid, not a check: prints what the macro writes for the function in the file
/// named by `EXPAND_FILE`:
/// `EXPAND_FILE=f.rs cargo test -p autodiff-macros print_expansion -- --ignored --nocapture`.
#[test]
#[ignore]
fn print_expansion() {
    let path = std::env::var("EXPAND_FILE").expect("EXPAND_FILE names a file with one function");
    let src = std::fs::read_to_string(path).expect("readable");
    println!("{}", expand_file(&src));
}

/// A measurement, not a check: the macro's own cost, the median time to expand each snapshot
/// input (`EXPANSION_RUNS` times, 50 by default), in microseconds. Run it on two commits side by
/// side to compare: `cargo test -p autodiff-macros --release expansion_cost -- --ignored
/// --nocapture`.
#[test]
#[ignore]
fn expansion_cost() {
    let runs: usize = std::env::var("EXPANSION_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/expand exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.to_string_lossy();
            n.ends_with(".rs") && !n.ends_with(".expanded.rs")
        })
        .collect();
    names.sort();
    let mut total = 0.0;
    for path in names {
        let src = std::fs::read_to_string(&path).expect("readable");
        // `EXPANSION_INPUTS=a,b`: only these inputs (to compare with an older commit's set).
        if let Ok(only) = std::env::var("EXPANSION_INPUTS") {
            let stem = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            if !only.split(',').any(|n| n == stem) {
                continue;
            }
        }
        // Functions only (the `impl` blocks' methods are the same expansion).
        let Ok(item) = syn::parse_str::<syn::ItemFn>(&src) else {
            continue;
        };
        let attr = item
            .attrs
            .iter()
            .find(|a| a.path().is_ident("differentiate"))
            .expect("with #[differentiate]");
        let args = match &attr.meta {
            syn::Meta::List(l) => l.tokens.clone(),
            _ => proc_macro2::TokenStream::new(),
        };
        let mut plain = item.clone();
        plain.attrs.retain(|a| !a.path().is_ident("differentiate"));
        let tokens = quote::quote!(#plain);
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let t = std::time::Instant::now();
                let out = crate::expand::differentiate(args.clone(), tokens.clone());
                std::hint::black_box(out);
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let median = times[runs / 2];
        total += median;
        println!(
            "{:<24} {:>9.0} us",
            path.file_stem().unwrap_or_default().to_string_lossy(),
            median
        );
    }
    println!("{:<24} {:>9.0} us", "total", total);
}
