//! `cargo xtask kotlin-test`: the Kotlin SDK compiled and tested on the JVM against the real native library.

use std::path::Path;

use crate::bindings;
use crate::util::{self, Result, header, run};

/// The JNA resource prefix of this host (where JNA looks for the library inside a jar).
pub fn jna_prefix() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "linux-x86-64",
        ("linux", "aarch64") => "linux-aarch64",
        ("macos", "aarch64") => "darwin-aarch64",
        ("macos", "x86_64") => "darwin-x86-64",
        _ => "linux-x86-64",
    }
}

/// Makes sure `java` (17+) and `mvn` are there; installs them on Debian as root.
pub fn ensure_toolchain() -> Result {
    header("check the JDK and Maven");
    let mut missing = Vec::new();
    if util::which("java").is_none() || util::which("javac").is_none() {
        missing.push("openjdk-17-jdk-headless");
    }
    if util::which("mvn").is_none() {
        missing.push("maven");
    }
    if !missing.is_empty() {
        util::apt_install(&missing)?;
    }
    run(util::cmd("java").arg("-version"))?;
    run(util::cmd("mvn").args(["-B", "-q", "-v"]))
}

/// The Maven properties both Kotlin builds take: generated sources, the native library to bundle
/// (under JNA's resource prefix) and the build folder.
pub fn maven_props(generated: &Path, native_dir: &Path, build_dir: &Path) -> [String; 5] {
    [
        format!("-Dmoments.generated.dir={}", generated.display()),
        format!("-Dmoments.native.dir={}", native_dir.display()),
        format!("-Dmoments.native.file={}", util::cdylib_name("moments_ffi")),
        format!("-Dmoments.jna.prefix={}", jna_prefix()),
        format!("-Dmoments.build.dir={}", build_dir.display()),
    ]
}

/// `java` for the benchmark's jar: the native library pinned to `library` (JMH passes the host JVM's options on to its
/// forks) and the library paths `cargo run` sets dropped, where JNA would find another build first; each benchmark
/// starts the `mock` binary.
fn bench_java(library: &Path, mock: &Path) -> std::process::Command {
    let mut java = util::cmd("java");
    java.arg(format!(
        "-Duniffi.component.moments_ffi.libraryOverride={}",
        library.display()
    ))
    .env_remove("LD_LIBRARY_PATH")
    .env_remove("DYLD_LIBRARY_PATH")
    .env_remove("DYLD_FALLBACK_LIBRARY_PATH")
    .env("MOMENTS_MOCK_BIN", mock);
    java
}

/// Builds the benchmark module (`bindings/kotlin/bench`) into `build_dir`; returns its runnable jar.
fn build_bench(kotlin_dir: &Path, lib_dir: &Path, build_dir: &Path) -> Result<std::path::PathBuf> {
    run(util::cmd("mvn")
        .current_dir(util::root().join("bindings/kotlin/bench"))
        .args(["-B", "--no-transfer-progress", "-q", "package"])
        .args(maven_props(kotlin_dir, lib_dir, build_dir)))?;
    Ok(build_dir.join("moments-bench.jar"))
}

/// Checks the committed bindings against the library, builds the mock, runs `mvn verify` (compile, JUnit 5, jar),
/// compiles the Android example against the SDK, then builds the benchmark module and runs its comparison for a few
/// rounds (its setup checks that every way gets the same answers).
pub fn test() -> Result {
    ensure_toolchain()?;
    let lib_dir = bindings::checked_library()?;
    let mock = util::build_mock_server(false)?;
    let root = util::root();
    let kotlin_dir = root.join(bindings::KOTLIN_DIR);
    let project = root.join("bindings/kotlin");
    let build_dir = util::target_dir().join("kotlin-build");

    header(
        "Kotlin: mvn verify (compile generated + idiomatic Kotlin, JUnit 5 against the mock, package the jar)",
    );
    let mut mvn = util::cmd("mvn");
    mvn.current_dir(&project)
        // `clean`: classes of an earlier layout (a moved package) must not linger in the jar.
        .args(["-B", "--no-transfer-progress", "clean", "verify"])
        .args(maven_props(&kotlin_dir, &lib_dir, &build_dir))
        .env("MOMENTS_MOCK_BIN", &mock)
        // `cargo run` puts target/debug on the library path; without these JNA would load the library
        // from there, and the tests would not prove that the copy bundled as a resource is what loads.
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("DYLD_LIBRARY_PATH")
        .env_remove("DYLD_FALLBACK_LIBRARY_PATH");
    run(&mut mvn)?;

    if cfg!(any(target_os = "linux", target_os = "android")) {
        header("Kotlin: the library in the jar is linked for 16 KB pages");
        crate::mobile::check_16k_pages(&lib_dir.join(util::cdylib_name("moments_ffi")))?;
    }

    header("Kotlin: the jar carries the native library under JNA's resource path");
    let jar = build_dir.join(format!(
        "moments-sdk-{}.jar",
        crate::release::workspace_version(&root)?
    ));
    let listing = util::output(util::cmd("jar").arg("tf").arg(&jar))?;
    let entry = format!("{}/{}", jna_prefix(), util::cdylib_name("moments_ffi"));
    if !listing.lines().any(|l| l == entry) {
        return Err(format!("{} has no {entry}", jar.display()));
    }
    println!("{} contains {entry}", jar.display());
    if listing.contains(&util::cdylib_name("moments_mock_ffi")) {
        return Err(format!(
            "{} carries the mock's library: the SDK must not",
            jar.display()
        ));
    }

    testing_kit(&jar, &project)?;

    header(
        "Kotlin: the Android example compiles against the SDK (Android API stubs, no APK); its model's unit tests \
         run against the mock (MomentsMockRule)",
    );
    run(util::cmd("mvn")
        .current_dir(root.join("examples/android-kotlin"))
        .args(["-B", "--no-transfer-progress", "-q", "verify"])
        .arg(format!("-Dmoments.sdk.jar={}", jar.display()))
        .arg(format!(
            "-Dmoments.build.dir={}",
            util::target_dir().join("kotlin-example-check").display()
        ))
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("DYLD_LIBRARY_PATH")
        .env_remove("DYLD_FALLBACK_LIBRARY_PATH"))?;
    println!("examples/android-kotlin compiles, and its unit tests pass");

    header(
        "Kotlin: the benchmark builds, and its comparison runs a few rounds (same answers every way)",
    );
    let bench_jar = build_bench(
        &kotlin_dir,
        &lib_dir,
        &util::target_dir().join("kotlin-bench-check"),
    )?;
    let library = lib_dir.join(util::cdylib_name("moments_ffi"));
    let table = util::output(
        bench_java(&library, &mock)
            .arg("-cp")
            .arg(&bench_jar)
            .args(["com.moments.bench.Interleaved", "3", "2"]),
    )?;
    // One row per call, the calls of the JMH table.
    let rows = table.lines().filter(|l| l.contains("× [")).count();
    if rows != BENCH_ROWS.len() {
        return Err(format!(
            "the interleaved comparison printed {rows} rows, expected {}:\n{table}",
            BENCH_ROWS.len()
        ));
    }
    println!(
        "(debug library and mock, a few rounds: a check that the comparison runs, not a measurement)"
    );
    print!("{table}");
    Ok(())
}

/// The testing kit (`bindings/kotlin-testing`, the `moments-sdk-testing` jar): builds the mock's native library
/// (`moments-mock-ffi`), installs the SDK's `jar` (built from `sdk_project`) into the local Maven repository for the
/// kit's tests, runs `mvn verify` (JUnit 5 and JUnit 4 tests: the SDK against an in-process mock), checks that the
/// kit's jar carries the mock's library under JNA's resource prefix and that the SDK's library does not depend on the
/// mock, and installs the kit's jar into the local Maven repository for the Android example's tests.
fn testing_kit(jar: &Path, sdk_project: &Path) -> Result {
    header("Kotlin testing kit: the SDK's library does not depend on the mock");
    let tree = util::output(util::cargo().args([
        "tree",
        "-p",
        "moments-ffi",
        "-e",
        "normal",
        "--prefix",
        "none",
    ]))?;
    if tree.lines().any(|l| l.starts_with("moments-mock")) {
        return Err("moments-ffi depends on the mock: the SDK's library must not carry it".into());
    }
    println!("moments-ffi's dependencies leave the mock out");

    header("Kotlin testing kit: the mock's native library (moments-mock-ffi)");
    run(util::cargo().args(["build", "-p", "moments-mock-ffi", "--lib"]))?;
    let lib_dir = util::target_dir().join("debug");
    let lib = util::cdylib_name("moments_mock_ffi");

    header("Kotlin testing kit: mvn verify (the SDK against MomentsMock, JUnit 5 and JUnit 4)");
    // The kit's tests use the SDK as a Maven test dependency: the jar just built, with its POM's dependencies.
    run(util::cmd("mvn")
        .current_dir(sdk_project)
        .args(["-B", "--no-transfer-progress", "-q", "install:install-file"])
        .arg(format!("-Dfile={}", jar.display()))
        .arg("-DpomFile=pom.xml"))?;
    let build_dir = util::target_dir().join("kotlin-testing-build");
    run(util::cmd("mvn")
        .current_dir(util::root().join("bindings/kotlin-testing"))
        .args(["-B", "--no-transfer-progress", "clean", "verify"])
        .arg(format!("-Dmoments.native.dir={}", lib_dir.display()))
        .arg(format!("-Dmoments.native.file={lib}"))
        .arg(format!("-Dmoments.jna.prefix={}", jna_prefix()))
        .arg(format!("-Dmoments.build.dir={}", build_dir.display()))
        // As for the SDK: the library must load from the jar's resources, not from `cargo run`'s library path.
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("DYLD_LIBRARY_PATH")
        .env_remove("DYLD_FALLBACK_LIBRARY_PATH"))?;

    let kit = build_dir.join(format!(
        "moments-sdk-testing-{}.jar",
        crate::release::workspace_version(&util::root())?
    ));
    let listing = util::output(util::cmd("jar").arg("tf").arg(&kit))?;
    let entry = format!("{}/{lib}", jna_prefix());
    if !listing.lines().any(|l| l == entry) {
        return Err(format!("{} has no {entry}", kit.display()));
    }
    println!("{} contains {entry}", kit.display());

    // The Android example's unit tests depend on the kit as an app does (test scope), from the local repository.
    run(util::cmd("mvn")
        .current_dir(util::root().join("bindings/kotlin-testing"))
        .args(["-B", "--no-transfer-progress", "-q", "install:install-file"])
        .arg(format!("-Dfile={}", kit.display()))
        .arg("-DpomFile=pom.xml"))?;
    Ok(())
}

/// `cargo xtask kotlin-kit-bench [TESTS [WARMUP]]`: what a fresh mock costs a test through the Kotlin testing kit.
/// Builds the mock's native library (release) and the kit with its test classes (the SDK's jar must be in the local
/// Maven repository, as `kotlin-test` leaves it), runs `StartupBench` (`MomentsMock.start` → first answer, and
/// 100 tests each with a fresh mock: start, one control call, close) into `target/kotlin-kit-bench/samples.tsv`,
/// then `moments-bench startup --samples` on it, which measures the Rust side too and judges the kit's rows.
pub fn kit_bench(args: &[String]) -> Result {
    if args.len() > 2 || args.iter().any(|a| !a.parse::<u32>().is_ok_and(|n| n > 0)) {
        return Err(format!(
            "kotlin-kit-bench takes at most two positive numbers (TESTS, WARMUP), got {args:?}"
        ));
    }
    ensure_toolchain()?;
    let target = util::target_dir();
    let out = target.join("kotlin-kit-bench");
    let version = crate::release::workspace_version(&util::root())?;
    let home = std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_default();
    let sdk = home.join(format!(".m2/repository/com/moments/moments-sdk/{version}"));
    if !sdk.is_dir() {
        return Err(format!(
            "{} is missing: the kit's test classes need the SDK's jar; run `cargo xtask kotlin-test` once",
            sdk.display()
        ));
    }

    header("build the mock's native library, its binary and the bench tool (release profile)");
    run(util::cargo().args(["build", "--release", "-p", "moments-mock-ffi", "--lib"]))?;
    // `startup` also spawns the mock's binary.
    run(util::cargo().args([
        "build",
        "--release",
        "-p",
        "moments-bench",
        "-p",
        "moments-mock-server",
    ]))?;
    let lib = util::cdylib_name("moments_mock_ffi");

    header("Kotlin testing kit: compile the kit and StartupBench with the release library");
    let build_dir = out.join("build");
    let classpath_file = out.join("classpath.txt");
    run(util::cmd("mvn")
        .current_dir(util::root().join("bindings/kotlin-testing"))
        .args([
            "-B",
            "--no-transfer-progress",
            "-q",
            "test-compile",
            "dependency:build-classpath",
        ])
        .arg(format!("-Dmdep.outputFile={}", classpath_file.display()))
        .arg("-Dmdep.includeScope=test")
        .arg(format!(
            "-Dmoments.native.dir={}",
            target.join("release").display()
        ))
        .arg(format!("-Dmoments.native.file={lib}"))
        .arg(format!("-Dmoments.jna.prefix={}", jna_prefix()))
        .arg(format!("-Dmoments.build.dir={}", build_dir.display())))?;
    let deps = std::fs::read_to_string(&classpath_file)
        .map_err(|e| format!("read {}: {e}", classpath_file.display()))?;
    let sep = if cfg!(windows) { ";" } else { ":" };
    let classpath = format!(
        "{}{sep}{}{sep}{}",
        build_dir.join("classes").display(),
        build_dir.join("test-classes").display(),
        deps.trim()
    );

    header("Kotlin testing kit: StartupBench (start → first answer; per test over fresh mocks)");
    let samples = out.join("samples.tsv");
    run(util::cmd("java")
        .arg("-cp")
        .arg(&classpath)
        .arg("com.moments.sdk.testing.StartupBench")
        .arg(&samples)
        .args(args)
        // The library loads from the classes' resources (the release copy), not from `cargo run`'s library path.
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("DYLD_LIBRARY_PATH")
        .env_remove("DYLD_FALLBACK_LIBRARY_PATH"))?;

    header("moments-bench startup, with the kit's samples");
    run(util::cmd(target.join("release/moments-bench"))
        .arg("startup")
        .arg("--samples")
        .arg(&samples))
}

/// The JMH benchmark rows: label and the benchmarks' common prefix; `{prefix}_sdk` (suspend), `{prefix}_sdkBlocking`,
/// `{prefix}_okhttp` (`execute()`) and `{prefix}_okhttpCoroutine` (`execute()` on `Dispatchers.IO`).
const BENCH_ROWS: &[(&str, &str)] = &[
    ("rewardInfo (GET reward_info)", "rewardInfo"),
    ("myRewards (GET /v1/rewards, 1 reward)", "myRewards"),
    ("reportAction (POST /v1/triggers, fresh key)", "trigger"),
];

/// The target: the SDK's round trip at most this many times OkHttp's.
const BENCH_TARGET_RATIO: f64 = 1.3;

/// `cargo xtask kotlin-bench [--ab [ROUNDS [BATCH]] | JMH options]`: the Kotlin → JNA → Rust → mock round trip
/// against the same request made with OkHttp + Jackson (`bindings/kotlin/bench`), release native library and release
/// mock, measured two ways:
///
/// - JMH (`RoundTripBenchmark`): each way of each call in a fork of its own, with JMH's error bars;
/// - interleaved (`Interleaved`): the four ways of each call in short batches whose order rotates every round, one
///   mock, ratios per round — what survives a shared, noisy machine.
///
/// With no arguments both run; extra arguments go to JMH alone (e.g. `-f 2`, `-wi 5`, `rewardInfo`, `-prof gc`);
/// `--ab` runs the interleaved comparison alone. The tables are printed and written to
/// `target/kotlin-bench/report.md`.
pub fn bench(args: &[String]) -> Result {
    let (jmh_args, ab_args) = bench_parts(args)?;
    ensure_toolchain()?;
    let target = util::target_dir();
    let out = target.join("kotlin-bench");

    header("build the native library (moments-ffi, release profile)");
    run(util::cargo().args(["build", "--release", "-p", "moments-ffi", "--lib"]))?;
    let lib_dir = target.join("release");
    let library = lib_dir.join(util::cdylib_name("moments_ffi"));
    if !library.is_file() {
        return Err(format!("{} was not built", library.display()));
    }

    header("generate the Kotlin bindings from the release library");
    run(util::cargo().args(["build", "-p", "uniffi-bindgen"]))?;
    let bindgen = target.join("debug").join(if cfg!(windows) {
        "uniffi-bindgen.exe"
    } else {
        "uniffi-bindgen"
    });
    // Its own folder, from the release library: `cargo xtask bindings` may rewrite the committed copy meanwhile.
    let kotlin_dir = out.join("bindings/kotlin");
    bindings::generate_kotlin(&bindgen, &library, &kotlin_dir)?;

    let mock = util::build_mock_server(true)?;

    header("Kotlin bench: mvn package (SDK sources + JMH benchmark, one runnable jar)");
    let jar = build_bench(&kotlin_dir, &lib_dir, &out.join("build"))?;
    let java = || {
        let mut java = bench_java(&library, &mock);
        // The interleaved comparison judges its ratios by the target the JMH report uses (the smoke run in
        // `kotlin-test` gets none: debug builds, a few rounds).
        java.arg(format!("-Dmoments.bench.target={BENCH_TARGET_RATIO}"));
        java
    };

    let mut report = format!(
        "native library: {} (release profile); mock: {}\n",
        library.display(),
        mock.display(),
    );
    if let Some(jmh_args) = jmh_args {
        header("Kotlin bench: JMH (each fork starts its own release mock on a free port)");
        let csv = out.join("results.csv");
        let _ = std::fs::remove_file(&csv);
        run(java()
            .arg("-jar")
            .arg(&jar)
            .args(["-rf", "csv", "-rff"])
            .arg(&csv)
            .args(jmh_args))?;
        let text =
            std::fs::read_to_string(&csv).map_err(|e| format!("read {}: {e}", csv.display()))?;
        report.push_str("\n## JMH\n\n");
        report.push_str(&bench_report(&parse_jmh_csv(&text)));
    }
    if let Some(ab_args) = ab_args {
        header(
            "Kotlin bench: interleaved (the four ways of each call in rotating batches, one mock)",
        );
        let table = util::output(
            java()
                .arg("-cp")
                .arg(&jar)
                .arg("com.moments.bench.Interleaved")
                .args(ab_args),
        )?;
        report.push_str("\n## Interleaved\n\n");
        report.push_str(&table);
    }
    let report_path = out.join("report.md");
    std::fs::write(&report_path, &report)
        .map_err(|e| format!("write {}: {e}", report_path.display()))?;
    header(&format!(
        "Kotlin SDK vs OkHttp (also in {})",
        report_path.display()
    ));
    print!("{report}");
    Ok(())
}

/// Which parts of `kotlin-bench` run, with their arguments: (JMH, interleaved). No arguments: both with defaults;
/// `--ab [ROUNDS [BATCH]]`: the interleaved comparison alone; anything else: JMH alone, with those arguments.
type BenchParts<'a> = (Option<&'a [String]>, Option<&'a [String]>);

fn bench_parts(args: &[String]) -> Result<BenchParts<'_>> {
    match args {
        [] => Ok((Some(&[]), Some(&[]))),
        [flag, ab @ ..] if flag == "--ab" => {
            if ab.len() > 2 || ab.iter().any(|a| !a.parse::<u32>().is_ok_and(|n| n > 0)) {
                return Err(format!(
                    "kotlin-bench --ab takes at most two positive numbers (ROUNDS, BATCH), got {ab:?}"
                ));
            }
            Ok((None, Some(ab)))
        }
        _ => Ok((Some(args), None)),
    }
}

/// One JMH result: the benchmark's method name, its mean and the 99.9 % error, in the result's unit.
#[derive(Debug, Clone, PartialEq)]
struct JmhScore {
    name: String,
    mean: f64,
    error: f64,
    unit: String,
}

/// Reads JMH's CSV (`"Benchmark","Mode","Threads","Samples","Score","Score Error (99.9%)","Unit"`).
fn parse_jmh_csv(text: &str) -> Vec<JmhScore> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<String> = line
                .split(',')
                .map(|f| f.trim().trim_matches('"').to_owned())
                .collect();
            let [benchmark, _mode, _threads, _samples, score, error, unit] = fields.as_slice()
            else {
                return None;
            };
            Some(JmhScore {
                name: benchmark.rsplit('.').next().unwrap_or(benchmark).to_owned(),
                mean: score.parse().ok()?,
                error: error.parse().unwrap_or(f64::NAN),
                unit: unit.clone(),
            })
        })
        .collect()
}

/// The markdown table: per call, the SDK's suspend and blocking forms and OkHttp's `execute()` on the calling thread
/// and in a coroutine, with the ratios blocking / `execute()`, suspend / `execute()` and suspend / OkHttp in a
/// coroutine (a way without results is shown as `–`), then the overhead probes.
fn bench_report(scores: &[JmhScore]) -> String {
    let find = |name: &str| scores.iter().find(|s| s.name == name);
    let cell = |s: Option<&JmhScore>| {
        s.map_or("–".to_owned(), |s| {
            format!("{:.1} ± {:.1} {}", s.mean, s.error, s.unit)
        })
    };
    let ratio = |sdk: &JmhScore, okhttp: &JmhScore| {
        let r = sdk.mean / okhttp.mean;
        let verdict = if r <= BENCH_TARGET_RATIO {
            "ok"
        } else {
            "over"
        };
        format!("{r:.2}× {verdict}")
    };
    let mut out = String::from(
        "| call | SDK suspend (coroutine) | SDK blocking | OkHttp + Jackson `execute()` | OkHttp in a coroutine | \
         blocking / `execute()` | suspend / `execute()` | suspend / OkHttp in a coroutine |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (label, prefix) in BENCH_ROWS {
        let way = |suffix: &str| find(&format!("{prefix}_{suffix}"));
        let (suspend, blocking) = (way("sdk"), way("sdkBlocking"));
        let (execute, coroutine) = (way("okhttp"), way("okhttpCoroutine"));
        if suspend.is_none() && blocking.is_none() || execute.is_none() && coroutine.is_none() {
            continue;
        }
        let ratio = |sdk, okhttp| match (sdk, okhttp) {
            (Some(sdk), Some(okhttp)) => ratio(sdk, okhttp),
            _ => "–".to_owned(),
        };
        out.push_str(&format!(
            "| {label} | {} | {} | {} | {} | {} | {} | {} |\n",
            cell(suspend),
            cell(blocking),
            cell(execute),
            cell(coroutine),
            ratio(blocking, execute),
            ratio(suspend, execute),
            ratio(suspend, coroutine),
        ));
    }
    out.push_str(&format!("\ntarget: SDK / OkHttp ≤ {BENCH_TARGET_RATIO}×\n"));
    let probes: Vec<&JmhScore> = scores
        .iter()
        .filter(|s| s.name.starts_with("overhead_"))
        .collect();
    if !probes.is_empty() {
        out.push_str("\n| fixed cost in the SDK path | mean |\n|---|---:|\n");
        for probe in probes {
            out.push_str(&format!("| {} | {} |\n", probe.name, cell(Some(probe))));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "\"Benchmark\",\"Mode\",\"Threads\",\"Samples\",\"Score\",\"Score Error (99.9%)\",\"Unit\"\n\
        \"com.moments.bench.RoundTripBenchmark.rewardInfo_okhttp\",\"avgt\",1,5,100.000000,4.500000,\"us/op\"\n\
        \"com.moments.bench.RoundTripBenchmark.rewardInfo_sdk\",\"avgt\",1,5,150.000000,NaN,\"us/op\"\n\
        \"com.moments.bench.RoundTripBenchmark.rewardInfo_sdkBlocking\",\"avgt\",1,5,120.000000,2.000000,\"us/op\"\n\
        \"com.moments.bench.RoundTripBenchmark.rewardInfo_okhttpCoroutine\",\"avgt\",1,5,125.000000,3.000000,\"us/op\"\n\
        \"com.moments.bench.RoundTripBenchmark.overhead_jnaStatus\",\"avgt\",1,5,0.500000,0.010000,\"us/op\"\n";

    /// The Kotlin snippet of docs/testing.md is the scenario test's text (between its snippet markers).
    #[test]
    fn the_kotlin_testing_snippet_is_the_scenario_test() {
        let root = util::root();
        let test = std::fs::read_to_string(root.join(
            "bindings/kotlin-testing/src/test/kotlin/com/moments/sdk/testing/ScenarioTest.kt",
        ))
        .unwrap();
        let code = test
            .split_once("// snippet-start\n")
            .and_then(|(_, rest)| rest.split_once("// snippet-end"))
            .map(|(code, _)| code)
            .expect("ScenarioTest.kt has the snippet markers");
        let doc = std::fs::read_to_string(root.join("docs/testing.md")).unwrap();
        let snippet = doc
            .split_once("<!-- kotlin-scenario -->\n```kotlin\n")
            .and_then(|(_, rest)| rest.split_once("```"))
            .map(|(snippet, _)| snippet)
            .expect("docs/testing.md has the Kotlin scenario block");
        assert_eq!(
            snippet, code,
            "docs/testing.md's Kotlin scenario differs from ScenarioTest.kt"
        );
    }

    #[test]
    fn bench_arguments_choose_the_parts() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let none: &[String] = &[];
        assert_eq!(bench_parts(&[]).unwrap(), (Some(none), Some(none)));
        let ab = args(&["--ab", "50", "10"]);
        assert_eq!(bench_parts(&ab).unwrap(), (None, Some(&ab[1..])));
        let jmh = args(&["-f", "2", "trigger"]);
        assert_eq!(bench_parts(&jmh).unwrap(), (Some(&jmh[..]), None));
        for bad in [&["--ab", "0"][..], &["--ab", "x"], &["--ab", "1", "2", "3"]] {
            let err = bench_parts(&args(bad)).unwrap_err();
            assert!(err.contains("positive numbers"), "{err}");
        }
    }

    #[test]
    fn jmh_csv_is_read_and_pairs_get_a_ratio() {
        let scores = parse_jmh_csv(CSV);
        assert_eq!(scores.len(), 5);
        assert_eq!(scores[0].name, "rewardInfo_okhttp");
        assert_eq!(scores[0].mean, 100.0);
        assert_eq!(scores[0].error, 4.5);
        assert!(scores[1].error.is_nan());
        let report = bench_report(&scores);
        assert!(
            report.contains(
                "| 150.0 ± NaN us/op | 120.0 ± 2.0 us/op | 100.0 ± 4.5 us/op | 125.0 ± 3.0 us/op | \
                 1.20× ok | 1.50× over | 1.20× ok |"
            ),
            "{report}"
        );
        assert!(
            report.contains("overhead_jnaStatus | 0.5 ± 0.0 us/op"),
            "{report}"
        );
        assert!(
            !report.contains("myRewards"),
            "pairs without results are left out"
        );
    }
}
