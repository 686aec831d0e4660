//! `cargo xtask kotlin-test`: the Kotlin SDK compiled and tested on the JVM against the real native library.

use std::path::Path;

use crate::bindings;
use crate::util::{self, Profile, Result, header, run};

/// The JNA resource prefix of this host (where JNA looks for the library inside a jar).
fn jna_prefix() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "linux-x86-64",
        ("linux", "aarch64") => "linux-aarch64",
        ("macos", "aarch64") => "darwin-aarch64",
        ("macos", "x86_64") => "darwin-x86-64",
        _ => "linux-x86-64",
    }
}

/// Makes sure `java` (17+) and `mvn` are there; installs them on Debian as root.
fn ensure_toolchain() -> Result {
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

/// Generates the bindings, builds the mock, and runs `mvn verify` (compile, JUnit 5, jar).
/// The Maven properties both Kotlin builds take: generated sources, the native library to bundle
/// (under JNA's resource prefix) and the build folder.
fn maven_props(generated: &Path, native_dir: &Path, build_dir: &Path) -> [String; 5] {
    [
        format!("-Dmoments.generated.dir={}", generated.display()),
        format!("-Dmoments.native.dir={}", native_dir.display()),
        format!("-Dmoments.native.file={}", util::cdylib_name("moments_ffi")),
        format!("-Dmoments.jna.prefix={}", jna_prefix()),
        format!("-Dmoments.build.dir={}", build_dir.display()),
    ]
}

pub fn test() -> Result {
    ensure_toolchain()?;
    let generated = bindings::generate_all(Profile::Dev)?;
    let mock = util::build_mock_server(false)?;
    let root = util::root();
    let project = root.join("bindings/kotlin");
    let build_dir = util::target_dir().join("kotlin-build");

    header(
        "Kotlin: mvn verify (compile generated + idiomatic Kotlin, JUnit 5 against the mock, package the jar)",
    );
    let mut mvn = util::cmd("mvn");
    mvn.current_dir(&project)
        .args(["-B", "--no-transfer-progress", "verify"])
        .args(maven_props(
            &generated.kotlin_dir,
            &generated.lib_dir,
            &build_dir,
        ))
        .env("MOMENTS_MOCK_BIN", &mock)
        // `cargo run` puts target/debug on the library path; without these JNA would load the library
        // from there, and the tests would not prove that the copy bundled as a resource is what loads.
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("DYLD_LIBRARY_PATH")
        .env_remove("DYLD_FALLBACK_LIBRARY_PATH");
    run(&mut mvn)?;

    header("Kotlin: the jar carries the native library under JNA's resource path");
    let jar = build_dir.join("moments-sdk-0.1.0.jar");
    let listing = util::output(util::cmd("jar").arg("tf").arg(&jar))?;
    let entry = format!("{}/{}", jna_prefix(), util::cdylib_name("moments_ffi"));
    if !listing.lines().any(|l| l == entry) {
        return Err(format!("{} has no {entry}", jar.display()));
    }
    println!("{} contains {entry}", jar.display());
    Ok(())
}

/// The JMH benchmark rows: (label, SDK suspend benchmark, SDK blocking benchmark, OkHttp benchmark).
const BENCH_ROWS: &[(&str, &str, &str, &str)] = &[
    (
        "rewardInfo (GET reward_info)",
        "rewardInfo_sdk",
        "rewardInfo_sdkBlocking",
        "rewardInfo_okhttp",
    ),
    (
        "myRewards (GET /v1/rewards, 1 reward)",
        "myRewards_sdk",
        "myRewards_sdkBlocking",
        "myRewards_okhttp",
    ),
    (
        "reportAction (POST /v1/triggers, fresh key)",
        "trigger_sdk",
        "trigger_sdkBlocking",
        "trigger_okhttp",
    ),
];

/// The target: the SDK's round trip at most this many times OkHttp's.
const BENCH_TARGET_RATIO: f64 = 1.3;

/// `cargo xtask kotlin-bench [JMH options]`: the Kotlin → JNA → Rust → mock round trip against the same request made
/// with OkHttp + Jackson, measured with JMH (`bindings/kotlin/bench`), release native library and release mock.
///
/// Extra arguments go to JMH (e.g. `-f 2`, `-wi 5`, `rewardInfo`, `-prof gc`,
/// `-prof stack`). Prints a table of means and the ratios SDK / OkHttp per call (suspend and blocking forms), also
/// written to `target/kotlin-bench/report.md`.
pub fn bench(jmh_args: &[String]) -> Result {
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
    // Its own folder: `kotlin-test` regenerates target/bindings, and the two may run at once.
    let kotlin_dir = out.join("bindings/kotlin");
    bindings::generate_kotlin(&bindgen, &library, &kotlin_dir)?;

    let mock = util::build_mock_server(true)?;

    header("Kotlin bench: mvn package (SDK sources + JMH benchmark, one runnable jar)");
    let build_dir = out.join("build");
    run(util::cmd("mvn")
        .current_dir(util::root().join("bindings/kotlin/bench"))
        .args(["-B", "--no-transfer-progress", "-q", "package"])
        .args(maven_props(&kotlin_dir, &lib_dir, &build_dir)))?;

    header("Kotlin bench: JMH (each fork starts its own release mock on a free port)");
    let csv = out.join("results.csv");
    let _ = std::fs::remove_file(&csv);
    // `cargo run` puts target/debug on the library path, where JNA would find the dev-profile library first: pin
    // the release one (JMH passes the host JVM's options on to its forks) and drop those paths.
    run(util::cmd("java")
        .arg(format!(
            "-Duniffi.component.moments_ffi.libraryOverride={}",
            library.display()
        ))
        .arg("-jar")
        .arg(build_dir.join("moments-bench.jar"))
        .args(["-rf", "csv", "-rff"])
        .arg(&csv)
        .args(jmh_args)
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("DYLD_LIBRARY_PATH")
        .env_remove("DYLD_FALLBACK_LIBRARY_PATH")
        .env("MOMENTS_MOCK_BIN", &mock))?;

    let text = std::fs::read_to_string(&csv).map_err(|e| format!("read {}: {e}", csv.display()))?;
    let report = format!(
        "native library: {} (release profile); mock: {}\n\n{}",
        library.display(),
        mock.display(),
        bench_report(&parse_jmh_csv(&text))
    );
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

/// The markdown table: per call, the SDK's suspend and blocking forms against OkHttp's `execute()`, each with
/// its ratio SDK / OkHttp (a form without results is shown as `–`), then the overhead probes.
fn bench_report(scores: &[JmhScore]) -> String {
    let find = |name: &str| scores.iter().find(|s| s.name == name);
    let cell = |s: Option<&JmhScore>| {
        s.map_or("–".to_owned(), |s| {
            format!("{:.1} ± {:.1} {}", s.mean, s.error, s.unit)
        })
    };
    let ratio = |sdk: Option<&JmhScore>, okhttp: &JmhScore| {
        sdk.map_or("–".to_owned(), |sdk| {
            let r = sdk.mean / okhttp.mean;
            let verdict = if r <= BENCH_TARGET_RATIO {
                "ok"
            } else {
                "over"
            };
            format!("{r:.2}× {verdict}")
        })
    };
    let mut out = String::from(
        "| call | SDK suspend (coroutine) | SDK blocking | OkHttp + Jackson `execute()` | suspend / OkHttp | \
         blocking / OkHttp |\n|---|---:|---:|---:|---:|---:|\n",
    );
    for (label, suspend, blocking, okhttp) in BENCH_ROWS {
        let Some(okhttp) = find(okhttp) else {
            continue;
        };
        let (suspend, blocking) = (find(suspend), find(blocking));
        if suspend.is_none() && blocking.is_none() {
            continue;
        }
        out.push_str(&format!(
            "| {label} | {} | {} | {} | {} | {} |\n",
            cell(suspend),
            cell(blocking),
            cell(Some(okhttp)),
            ratio(suspend, okhttp),
            ratio(blocking, okhttp),
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
        \"com.moments.bench.RoundTripBenchmark.overhead_jnaStatus\",\"avgt\",1,5,0.500000,0.010000,\"us/op\"\n";

    #[test]
    fn jmh_csv_is_read_and_pairs_get_a_ratio() {
        let scores = parse_jmh_csv(CSV);
        assert_eq!(scores.len(), 4);
        assert_eq!(scores[0].name, "rewardInfo_okhttp");
        assert_eq!(scores[0].mean, 100.0);
        assert_eq!(scores[0].error, 4.5);
        assert!(scores[1].error.is_nan());
        let report = bench_report(&scores);
        assert!(
            report.contains("| 150.0 ± NaN us/op | 120.0 ± 2.0 us/op | 100.0 ± 4.5 us/op | 1.50× over | 1.20× ok |"),
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
