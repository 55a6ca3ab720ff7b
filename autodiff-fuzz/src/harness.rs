//! The scratch workspace: one module file per program (so rustc's errors are attributed by
//! file), spread over a few shard crates built together, then each shard's binary runs the
//! checks of the programs that compiled.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::ast::{Program, module, source};

#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    Pass {
        /// Points where finite differences were untrusted.
        skipped: usize,
        /// Checks passed over for a non-finite intermediate and a non-finite derivative.
        nonfinite: usize,
    },
    /// A derivative, a value or a runtime panic of generated code.
    Wrong(String),
    /// The emitted code does not compile (the plain function does).
    Broken(String),
    /// The macro panicked.
    Panic(String),
    /// The generator's fault: the plain function does not compile, or panics.
    Invalid(String),
}

impl Outcome {
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Pass { .. } => "pass",
            Outcome::Wrong(_) => "wrong",
            Outcome::Broken(_) => "broken",
            Outcome::Panic(_) => "panic",
            Outcome::Invalid(_) => "invalid",
        }
    }
    pub fn message(&self) -> &str {
        match self {
            Outcome::Pass { .. } => "",
            Outcome::Wrong(m) | Outcome::Broken(m) | Outcome::Panic(m) | Outcome::Invalid(m) => m,
        }
    }
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Outcome::Wrong(_) | Outcome::Broken(_) | Outcome::Panic(_)
        )
    }
    /// A short signature used by the shrinker: the same kind and the same check (for wrong) or
    /// error code / first line (for broken and panic).
    pub fn signature(&self) -> String {
        let m = self.message();
        let head = match self {
            Outcome::Wrong(_) => m.split(':').next().unwrap_or("").to_string(),
            Outcome::Broken(_) => {
                if let Some(i) = m.find("error[E") {
                    m[i..].chars().take(12).collect()
                } else {
                    m.lines().next().unwrap_or("").chars().take(60).collect()
                }
            }
            _ => String::new(),
        };
        format!("{}:{head}", self.kind())
    }
}

/// A rustc error: the programs its spans point into (index, in the plain file) and its text.
type BuildError = (Vec<(usize, bool)>, String);

pub struct Scratch {
    pub dir: PathBuf,
    pub repo: PathBuf,
    pub jobs: usize,
    pub points: usize,
    pub seed: u64,
    pub quiet: bool,
    /// Type-check before building (worth it when many programs fail to compile).
    pub check_first: bool,
}

fn shard_main(programs: &[usize], points: usize, seed: u64) -> String {
    let mut s = String::from("#![allow(warnings)]\nmod support;\n");
    for k in programs {
        s.push_str(&format!("mod p{k};\nmod p{k}_plain;\n"));
    }
    s.push_str(
        "fn main() {\n    let checks: &[(usize, fn(&mut support::H) -> Result<(), String>)] = &[\n",
    );
    for k in programs {
        s.push_str(&format!("        ({k}, p{k}::check),\n"));
    }
    s.push_str(&format!(
        "    ];\n    support::run(checks, {points}, {seed});\n}}\n"
    ));
    s
}

fn plain(p: &Program) -> String {
    let src: String = source(p)
        .lines()
        .filter(|l| !l.starts_with("#[differentiate"))
        .map(|l| format!("{l}\n"))
        .collect();
    format!(
        "#![allow(warnings, clippy::all)]\nuse autodiff::prelude::*;\nuse super::support::stop_gradient;\n\n{src}"
    )
}

/// Finds `pK.rs` / `pK_plain.rs` in a span's file name.
fn program_of(file: &str) -> Option<(usize, bool)> {
    let name = Path::new(file).file_stem()?.to_str()?;
    let rest = name.strip_prefix('p')?;
    let (num, is_plain) = match rest.strip_suffix("_plain") {
        Some(n) => (n, true),
        None => (rest, false),
    };
    Some((num.parse().ok()?, is_plain))
}

fn span_programs(v: &serde_json::Value, out: &mut Vec<(usize, bool)>) {
    if let Some(spans) = v.get("spans").and_then(|s| s.as_array()) {
        for sp in spans {
            let mut cur = Some(sp);
            while let Some(s) = cur {
                if let Some(f) = s.get("file_name").and_then(|f| f.as_str())
                    && let Some(p) = program_of(f)
                {
                    out.push(p);
                }
                cur = s.get("expansion").and_then(|e| e.get("span"));
            }
        }
    }
    if let Some(children) = v.get("children").and_then(|c| c.as_array()) {
        for c in children {
            span_programs(c, out);
        }
    }
}

impl Scratch {
    fn write(&self, rel: &str, text: &str) {
        let p = self.dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        // Unchanged files keep their mtime, so that incremental rebuilds stay cheap.
        if std::fs::read_to_string(&p)
            .map(|t| t == text)
            .unwrap_or(false)
        {
            return;
        }
        std::fs::write(p, text).unwrap();
    }

    fn setup(&self, shards: usize) {
        let members: Vec<String> = (0..shards).map(|j| format!("\"s{j}\"")).collect();
        self.write(
            "Cargo.toml",
            &format!(
                "[workspace]\nmembers = [{}]\nresolver = \"3\"\n\n[profile.dev]\ndebug = 0\nopt-level = 0\nincremental = true\n",
                members.join(", ")
            ),
        );
        let lock = std::fs::read_to_string(self.repo.join("Cargo.lock")).unwrap_or_default();
        self.write("Cargo.lock", &lock);
        for j in 0..shards {
            self.write(
                &format!("s{j}/Cargo.toml"),
                &format!(
                    "[package]\nname = \"fz{j}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\nautodiff = {{ path = {:?} }}\n",
                    self.repo.display().to_string()
                ),
            );
            self.write(
                &format!("s{j}/src/support.rs"),
                include_str!("../runtime/support.rs"),
            );
        }
    }

    /// Builds and runs the programs (index, program); returns an outcome per index.
    pub fn evaluate(
        &self,
        programs: &[(usize, &Program)],
        timeout: Duration,
    ) -> BTreeMap<usize, Outcome> {
        let shards = self.jobs.clamp(1, programs.len().max(1));
        self.setup(shards);
        let mut assign: Vec<Vec<usize>> = vec![vec![]; shards];
        for (i, (k, p)) in programs.iter().enumerate() {
            assign[i % shards].push(*k);
            self.write(&format!("s{}/src/p{k}.rs", i % shards), &module(p));
            self.write(&format!("s{}/src/p{k}_plain.rs", i % shards), &plain(p));
        }
        let mut results: BTreeMap<usize, Outcome> = BTreeMap::new();
        let mut live: Vec<Vec<usize>> = assign.clone();
        // `cargo check` until the programs left type-check (cheaper than building every round),
        // then one `cargo build`; an error only the build finds sends it back to checking.
        let mut checking = self.check_first;
        for round in 0..16 {
            for (j, ks) in live.iter().enumerate() {
                self.write(
                    &format!("s{j}/src/main.rs"),
                    &shard_main(ks, self.points, self.seed),
                );
            }
            let t = Instant::now();
            let (ok, errors) = self.build(checking);
            if !self.quiet {
                eprintln!(
                    "  {} round {round}: {:.1}s, {} errors",
                    if checking { "check" } else { "build" },
                    t.elapsed().as_secs_f64(),
                    errors.len()
                );
            }
            if ok && checking {
                checking = false;
                continue;
            }
            if ok {
                break;
            }
            checking = self.check_first;
            let mut blamed: BTreeSet<usize> = BTreeSet::new();
            for (progs, text) in &errors {
                // The plain function failing is the generator's fault; otherwise the macro's.
                let mut seen = BTreeSet::new();
                for (k, is_plain) in progs {
                    if !seen.insert(*k) || results.contains_key(k) && !*is_plain {
                        continue;
                    }
                    let o = if *is_plain || progs.iter().any(|(kk, pl)| kk == k && *pl) {
                        Outcome::Invalid(text.clone())
                    } else if text.contains("panicked") {
                        Outcome::Panic(text.clone())
                    } else {
                        Outcome::Broken(text.clone())
                    };
                    let replace = match results.get(k) {
                        None => true,
                        Some(Outcome::Broken(_)) => {
                            matches!(o, Outcome::Invalid(_) | Outcome::Panic(_))
                        }
                        _ => false,
                    };
                    if replace {
                        results.insert(*k, o);
                    }
                    blamed.insert(*k);
                }
            }
            if blamed.is_empty() {
                let all: Vec<String> = errors.iter().map(|(_, t)| t.clone()).collect();
                eprintln!(
                    "harness: build errors attributed to no program:\n{}",
                    all.join("\n")
                );
                for ks in &live {
                    for k in ks {
                        results
                            .entry(*k)
                            .or_insert_with(|| Outcome::Invalid("unattributed build error".into()));
                    }
                }
                return results;
            }
            for ks in live.iter_mut() {
                ks.retain(|k| !blamed.contains(k));
            }
        }
        // Run the shards in parallel.
        let handles: Vec<_> = live
            .iter()
            .enumerate()
            .map(|(j, ks)| {
                let bin = self.dir.join(format!("target/debug/fz{j}"));
                let ks = ks.clone();
                std::thread::spawn(move || run_shard(&bin, &ks, timeout))
            })
            .collect();
        for h in handles {
            for (k, o) in h.join().unwrap() {
                results.insert(k, o);
            }
        }
        results
    }

    /// `cargo build` of the scratch workspace: success, and the errors with the programs their
    /// spans point into.
    fn build(&self, check: bool) -> (bool, Vec<BuildError>) {
        let mut child = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .arg(if check { "check" } else { "build" })
            .args(["--offline", "--message-format=json", "--quiet"])
            .arg("-j")
            .arg(self.jobs.to_string())
            .arg("--manifest-path")
            .arg(self.dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", self.dir.join("target"))
            .env_remove("RUSTFLAGS")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cargo");
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let err_thread = std::thread::spawn(move || {
            let mut s = String::new();
            stderr.read_to_string(&mut s).ok();
            s
        });
        let mut errors = vec![];
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if v.get("reason").and_then(|r| r.as_str()) != Some("compiler-message") {
                continue;
            }
            let msg = &v["message"];
            if msg.get("level").and_then(|l| l.as_str()) != Some("error") {
                continue;
            }
            let mut progs = vec![];
            span_programs(msg, &mut progs);
            let rendered = msg
                .get("rendered")
                .and_then(|r| r.as_str())
                .unwrap_or("")
                .to_string();
            if rendered.starts_with("error: aborting") || rendered.contains("could not compile") {
                continue;
            }
            let short: String = rendered.lines().take(25).collect::<Vec<_>>().join("\n");
            errors.push((progs, short));
        }
        let status = child.wait().expect("cargo");
        let stderr = err_thread.join().unwrap_or_default();
        if !status.success() && errors.is_empty() {
            eprintln!("harness: cargo build failed without compiler errors:\n{stderr}");
            std::process::exit(2);
        }
        (status.success(), errors)
    }
}

/// Runs one shard's binary, restarting after a crash or a timeout (blamed on the first program
/// that did not report).
fn run_shard(bin: &Path, ks: &[usize], timeout: Duration) -> Vec<(usize, Outcome)> {
    let mut out: Vec<(usize, Outcome)> = vec![];
    let mut from = 0usize;
    while from < ks.len() {
        let mut child = Command::new(bin)
            .arg(ks[from].to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("shard binary");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let start = Instant::now();
        let mut last = Instant::now();
        let mut timed_out = false;
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    last = Instant::now();
                    let mut it = line.splitn(4, ' ');
                    if it.next() != Some("R") {
                        continue;
                    }
                    let k: usize = it.next().and_then(|k| k.parse().ok()).unwrap_or(usize::MAX);
                    let kind = it.next().unwrap_or("");
                    let rest = it.next().unwrap_or("").to_string();
                    let o = match kind {
                        "ok" => {
                            let mut n = rest.split_whitespace().map(|n| n.parse().unwrap_or(0));
                            Outcome::Pass {
                                skipped: n.next().unwrap_or(0),
                                nonfinite: n.next().unwrap_or(0),
                            }
                        }
                        "invalid" => Outcome::Invalid(rest),
                        _ => Outcome::Wrong(rest),
                    };
                    out.push((k, o));
                    from = ks
                        .iter()
                        .position(|x| *x == k)
                        .map(|i| i + 1)
                        .unwrap_or(from + 1);
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if last.elapsed() > timeout {
                        timed_out = true;
                        child.kill().ok();
                        break;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let status = child.wait().ok();
        let _ = start;
        if from < ks.len() {
            // The program at `from` did not report: it crashed or hung.
            let why = if timed_out {
                format!(
                    "runtime: no result within {}s (an endless loop in emitted code?)",
                    timeout.as_secs()
                )
            } else {
                format!(
                    "runtime: the process died ({status:?}): a crash or an abort in emitted code"
                )
            };
            out.push((ks[from], Outcome::Wrong(why)));
            from += 1;
        }
    }
    out
}
