//! The differential random-program fuzzer of `#[differentiate]` (docs/FUZZING.md).
//!
//! ```sh
//! cargo run -p autodiff-fuzz --release -- --programs 300 --seed 1
//! cargo run -p autodiff-fuzz --release -- --replay 1:17
//! ```

mod ast;
mod generate;
mod harness;
mod shrink;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use generate::{CONSTRUCTS, Cfg, RULES, generate};
use harness::{Outcome, Scratch};

const USAGE: &str = "usage: autodiff-fuzz [--programs N] [--seed S] [--replay S:K] [--jobs J] [--points P]
                     [--without c1,c2,..] [--keep DIR] [--shrink-secs T] [--shrink-max M] [--no-shrink]
                     [--shrink-total T]
                     [--batch B] [--constructs] [--list-constructs] [--print-source]
  --programs N     programs to generate (default 300)
  --seed S         the run's seed (default: from the clock); printed first
  --replay S:K     rerun program K of seed S alone, print its source, shrink it if it fails
  --jobs J         shard crates built and run in parallel (default 2)
  --points P       random points checked per program (default 4)
  --without LIST   constructs not to generate (see --list-constructs; `rule` drops every rule,
                   `rule:ln` one)
  --keep DIR       scratch workspace (default $CARGO_TARGET_DIR/fuzz-crate)
  --shrink-secs T  time cap of the shrinking of one failure class (default 60 s)
  --shrink-max M   failure classes shrunk (default 4; one program per class)
  --shrink-total T time cap of all the shrinking (default 120 s)
  --batch B        shrink candidates built together (default 16)
  --chunk C        programs per scratch build (default 400)
  --constructs     print the failure rate per construct
  --print-source   print every program's source";

struct Args {
    programs: usize,
    seed: u64,
    replay: Option<(u64, usize)>,
    jobs: usize,
    points: usize,
    without: BTreeSet<String>,
    keep: Option<PathBuf>,
    shrink_secs: u64,
    shrink_max: usize,
    shrink_total: u64,
    batch: usize,
    chunk: usize,
    constructs: bool,
    print_source: bool,
}

fn parse_args() -> Args {
    let mut a = Args {
        programs: 300,
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        replay: None,
        jobs: 2,
        points: 4,
        without: BTreeSet::new(),
        keep: None,
        shrink_secs: 60,
        shrink_max: 4,
        shrink_total: 120,
        batch: 16,
        chunk: 400,
        constructs: false,
        print_source: false,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    let val = |i: &mut usize| -> String {
        *i += 1;
        argv.get(*i).cloned().unwrap_or_else(|| {
            eprintln!("{USAGE}");
            std::process::exit(2)
        })
    };
    while i < argv.len() {
        match argv[i].as_str() {
            "--programs" => a.programs = val(&mut i).parse().expect("--programs N"),
            "--seed" => a.seed = val(&mut i).parse().expect("--seed S"),
            "--replay" => {
                let v = val(&mut i);
                let (s, k) = v.split_once(':').expect("--replay S:K");
                a.replay = Some((s.parse().expect("seed"), k.parse().expect("program")));
            }
            "--jobs" => a.jobs = val(&mut i).parse().expect("--jobs J"),
            "--points" => a.points = val(&mut i).parse().expect("--points P"),
            "--without" => {
                for c in val(&mut i).split(',').filter(|c| !c.is_empty()) {
                    let known = CONSTRUCTS.contains(&c)
                        || c.strip_prefix("rule:").is_some_and(|r| RULES.contains(&r));
                    if !known {
                        eprintln!("unknown construct `{c}` (see --list-constructs)");
                        std::process::exit(2);
                    }
                    a.without.insert(c.to_string());
                }
            }
            "--keep" => a.keep = Some(PathBuf::from(val(&mut i))),
            "--shrink-secs" => a.shrink_secs = val(&mut i).parse().expect("--shrink-secs T"),
            "--shrink-max" => a.shrink_max = val(&mut i).parse().expect("--shrink-max M"),
            "--shrink-total" => a.shrink_total = val(&mut i).parse().expect("--shrink-total T"),
            "--no-shrink" => a.shrink_max = 0,
            "--batch" => a.batch = val(&mut i).parse().expect("--batch B"),
            "--chunk" => a.chunk = val(&mut i).parse().expect("--chunk C"),
            "--constructs" => a.constructs = true,
            "--print-source" => a.print_source = true,
            "--list-constructs" => {
                println!("{}", CONSTRUCTS.join(" "));
                println!(
                    "rules: {}",
                    RULES
                        .iter()
                        .map(|r| format!("rule:{r}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                std::process::exit(0);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => {
                eprintln!("unknown argument `{other}`\n{USAGE}");
                std::process::exit(2);
            }
        }
        i += 1;
    }
    a
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn scratch_dir(keep: &Option<PathBuf>, sub: &str) -> PathBuf {
    let base = match keep {
        Some(k) => k.clone(),
        None => {
            let t = std::env::var("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|_| repo_root().join("target"));
            t.join("fuzz-crate")
        }
    };
    let d = base.join(sub);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::canonicalize(&d).unwrap()
}

fn replay_cmd(a: &Args, seed: u64, k: usize) -> String {
    let w = if a.without.is_empty() {
        String::new()
    } else {
        format!(
            " --without {}",
            a.without.iter().cloned().collect::<Vec<_>>().join(",")
        )
    };
    format!("cargo run -p autodiff-fuzz --release -- --replay {seed}:{k}{w}")
}

/// The function a failure is attributed to: for a compile error, the generated function whose
/// source holds the error's first span (`--> sJ/src/pK.rs:LINE:COL`); for a wrong derivative,
/// `f`'s generated functions (the check calls them; a callee's derivative is part of them).
fn blamed_function(p: &ast::Program, o: &Outcome) -> String {
    if let Outcome::Wrong(m) = o {
        let stage = if m.contains("jvp") {
            "f_jvp"
        } else if m.contains("grad") {
            "f_grad"
        } else if m.contains("vjp") || m.contains("pullback") {
            "f_vjp"
        } else {
            "f_jvp / f_vjp / f_grad"
        };
        return format!("{stage} (or the derivatives of the helpers it calls)");
    }
    let line = o.message().lines().find_map(|l| {
        let rest = l.trim_start().strip_prefix("--> ")?;
        let mut parts = rest.rsplitn(3, ':');
        let _col = parts.next()?;
        let line: usize = parts.next()?.parse().ok()?;
        parts.next()?.ends_with(".rs").then_some(line)
    });
    let Some(line) = line else {
        return "(no span)".into();
    };
    let text = ast::module(p);
    let lines: Vec<&str> = text.lines().collect();
    let fn_name = |l: &str| {
        l.strip_prefix("pub fn ")
            .map(|r| r.split(['(', '<']).next().unwrap_or("").to_string())
    };
    // An error on the attribute itself belongs to the function below it.
    if lines
        .get(line.wrapping_sub(1))
        .is_some_and(|l| l.starts_with("#[differentiate"))
        && let Some(n) = lines.iter().skip(line).find_map(|l| fn_name(l))
    {
        return n;
    }
    lines[..line.min(lines.len())]
        .iter()
        .rev()
        .find_map(|l| fn_name(l))
        .unwrap_or_else(|| "(outside the functions)".into())
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("    {l}\n")).collect()
}

fn main() {
    let a = parse_args();
    let cfg = Cfg {
        without: a.without.clone(),
    };
    let (seed, ks): (u64, Vec<usize>) = match a.replay {
        Some((s, k)) => (s, vec![k]),
        None => (a.seed, (0..a.programs).collect()),
    };
    println!("seed: {seed}");
    if !a.without.is_empty() {
        println!(
            "without: {}",
            a.without.iter().cloned().collect::<Vec<_>>().join(",")
        );
    }
    let start = Instant::now();
    let programs: Vec<(usize, ast::Program, BTreeSet<String>)> = ks
        .iter()
        .map(|&k| {
            let (p, used) = generate(seed, k, &cfg);
            (k, p, used)
        })
        .collect();
    if a.replay.is_some() || a.print_source {
        for (k, p, used) in &programs {
            println!(
                "// program {seed}:{k} (constructs: {})",
                used.iter().cloned().collect::<Vec<_>>().join(" ")
            );
            print!("{}", ast::source(p));
        }
    }
    let scratch = Scratch {
        dir: scratch_dir(&a.keep, if a.replay.is_some() { "replay" } else { "run" }),
        repo: repo_root(),
        jobs: a.jobs,
        points: a.points,
        seed,
        quiet: false,
        // Measured: a check round costs about 70% of a build round here (macro expansion and
        // type checking dominate, not codegen), so checking first does not pay.
        check_first: false,
    };
    eprintln!(
        "building {} programs in {}",
        programs.len(),
        scratch.dir.display()
    );
    let refs: Vec<(usize, &ast::Program)> = programs.iter().map(|(k, p, _)| (*k, p)).collect();
    // Large runs are built in chunks (one scratch build each) so that no crate gets huge.
    let mut results = std::collections::BTreeMap::new();
    for (i, chunk) in refs.chunks(a.chunk.max(1)).enumerate() {
        if refs.len() > a.chunk {
            eprintln!(
                "chunk {i}: programs {}..={}",
                chunk[0].0,
                chunk[chunk.len() - 1].0
            );
        }
        results.extend(scratch.evaluate(chunk, Duration::from_secs(30)));
    }
    let checked = start.elapsed();
    // A program with a construct outside the subset passes when the macro rejects it with its
    // own spanned error (not a rustc error in emitted code).
    let mut rejected = 0;
    // So does a call argument the macro documents it cannot classify (docs/SUBSET.md, "Calls
    // pass tangents by position": the result of a passive call), refused with its own message.
    // And an enum parameter the body never uses, which SUBSET.md documents as taken to be a
    // `Differentiable` struct (API.md: an unused struct parameter is active): rustc's message
    // is the trait's own note, naming the type and what to do.
    // And a parameter spelled as a name the front end writes (SUBSET.md, Known limits).
    const DOCUMENTED: &[&str] = &[
        "cannot tell whether this argument of",
        "is a name #[differentiate] uses for the code it writes",
    ];
    for (k, _, used) in &programs {
        // (Both modes bound such a parameter by `Differentiable` in the derivative's signature.)
        let unused_enum = (used.contains("param-enum") || used.contains("param-ref-enum"))
            && matches!(results.get(k), Some(Outcome::Broken(m))
                if m.contains("Mode") && m.contains("is not `Differentiable`"));
        if let Some(Outcome::Broken(m)) = results.get(k)
            && (!m.contains("error[E") || unused_enum)
            && (used.contains("unsupported")
                || unused_enum
                || DOCUMENTED.iter().any(|d| m.contains(d)))
        {
            results.insert(
                *k,
                Outcome::Pass {
                    skipped: 0,
                    nonfinite: 0,
                },
            );
            rejected += 1;
        }
    }

    // Per-failure blocks; one shrink per failure class.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut skipped = 0;
    let mut nonfinite = 0;
    let mut classes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (k, _, _) in &programs {
        let o = results
            .get(k)
            .cloned()
            .unwrap_or(Outcome::Invalid("no result".into()));
        *counts.entry(o.kind()).or_insert(0) += 1;
        if let Outcome::Pass {
            skipped: s,
            nonfinite: nf,
        } = o
        {
            skipped += s;
            nonfinite += nf;
        }
        if o.kind() != "pass" {
            classes.entry(o.signature()).or_default().push(*k);
        }
    }
    let shrink_scratch = Scratch {
        dir: scratch_dir(&a.keep, "shrink"),
        repo: repo_root(),
        jobs: a.jobs,
        points: a.points,
        seed,
        quiet: true,
        check_first: false,
    };
    let mut shrunk = 0;
    let shrink_start = Instant::now();
    for (sig, members) in &classes {
        println!(
            "\n=== failure class {sig} ({} programs: {})",
            members.len(),
            members
                .iter()
                .take(20)
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let k = members[0];
        let (_, p, used) = programs.iter().find(|(kk, _, _)| *kk == k).unwrap();
        let o = &results[&k];
        println!("kind: {}", o.kind());
        println!("function: {}", blamed_function(p, o));
        println!(
            "constructs: {}",
            used.iter().cloned().collect::<Vec<_>>().join(" ")
        );
        println!("message:\n{}", indent(o.message()));
        let left = Duration::from_secs(a.shrink_total).saturating_sub(shrink_start.elapsed());
        if o.is_failure() && shrunk < a.shrink_max && left > Duration::from_secs(5) {
            shrunk += 1;
            let t = Instant::now();
            let cap = Duration::from_secs(a.shrink_secs).min(left);
            let (small, so, steps) = shrink::shrink(&shrink_scratch, p, o, cap, a.batch);
            println!(
                "reproduction ({steps} shrink steps in {:.0}s, size {} -> {}):\n{}",
                t.elapsed().as_secs_f64(),
                shrink::size(p),
                shrink::size(&small),
                indent(&ast::source(&small))
            );
            println!("its failure:\n{}", indent(so.message()));
        } else {
            println!("program:\n{}", indent(&ast::source(p)));
        }
        println!("replay: {}", replay_cmd(&a, seed, k));
    }

    if a.constructs || a.replay.is_none() {
        // Failure rate per construct: failing programs using it / programs using it.
        let mut table: Vec<(String, usize, usize)> = vec![];
        let all: Vec<String> = CONSTRUCTS
            .iter()
            .map(|c| c.to_string())
            .chain(RULES.iter().map(|r| format!("rule:{r}")))
            .collect();
        for c in all {
            let using: Vec<usize> = programs
                .iter()
                .filter(|(_, _, u)| u.contains(&c))
                .map(|(k, _, _)| *k)
                .collect();
            let failing = using
                .iter()
                .filter(|k| results.get(k).is_some_and(|o| o.is_failure()))
                .count();
            if !using.is_empty() {
                table.push((c, failing, using.len()));
            }
        }
        if a.constructs {
            table.sort_by(|x, y| {
                (y.1 as f64 / y.2 as f64)
                    .partial_cmp(&(x.1 as f64 / x.2 as f64))
                    .unwrap()
            });
            println!("\nfailure rate per construct (failing / programs using it):");
            for (c, f, n) in &table {
                println!(
                    "  {c:<26} {f:>5} / {n:<5} {:>5.1}%",
                    100.0 * *f as f64 / *n as f64
                );
            }
        }
    }

    let n = programs.len();
    let get = |k: &str| counts.get(k).copied().unwrap_or(0);
    println!(
        "\nsummary: seed {seed}: {n} programs, {} passed ({rejected} of them rejected as outside the subset, as documented), {} wrong, {} broken, {} panic, {} invalid (generator), {skipped} points skipped (finite differences untrusted), {nonfinite} checks passed over (non-finite intermediate, non-finite derivative), {:.1}s checking, {:.1}s total",
        get("pass"),
        get("wrong"),
        get("broken"),
        get("panic"),
        get("invalid"),
        checked.as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    if get("wrong") + get("broken") + get("panic") + get("invalid") > 0 {
        std::process::exit(1);
    }
}
