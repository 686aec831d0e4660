//! `cargo xtask ci`: every check, in order, stopping at the first failure, with a summary.

use std::time::Instant;

use crate::util::{self, Result, cargo};
use crate::{bindings, kotlin, swift};

type Step = (&'static str, fn() -> Result);

const STEPS: &[Step] = &[
    ("cargo fmt --check", || {
        util::run(cargo().args(["fmt", "--all", "--", "--check"]))
    }),
    ("cargo clippy -D warnings", || {
        util::run(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    }),
    ("cargo test --workspace", || {
        util::run(cargo().args(["test", "--workspace"]))
    }),
    ("bindings up to date", bindings::check_not_stale),
    ("Kotlin SDK tests", kotlin::test),
    ("Swift SDK tests", swift::test),
];

/// Runs the steps; prints one line per step at the end.
pub fn run() -> Result {
    let mut done: Vec<(&str, std::time::Duration, bool)> = Vec::new();
    let mut failure = None;
    for (i, (name, step)) in STEPS.iter().enumerate() {
        println!(
            "\n################ ci step {}/{}: {name} ################",
            i + 1,
            STEPS.len()
        );
        let started = Instant::now();
        let result = step();
        done.push((name, started.elapsed(), result.is_ok()));
        if let Err(err) = result {
            failure = Some(format!("step `{name}` failed: {err}"));
            break;
        }
    }
    println!("\n################ ci summary ################");
    for (name, took, ok) in &done {
        println!(
            "{:<6} {:<28} {:>7.1}s",
            if *ok { "ok" } else { "FAILED" },
            name,
            took.as_secs_f64()
        );
    }
    for (name, _) in STEPS.iter().skip(done.len()) {
        println!("{:<6} {:<28}", "skip", name);
    }
    match failure {
        Some(err) => {
            println!("steps: {} passed, 1 failed", done.len() - 1);
            Err(err)
        }
        None => {
            println!("steps: {} passed, 0 failed", STEPS.len());
            Ok(())
        }
    }
}
