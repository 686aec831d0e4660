//! `cargo xtask swift`: any `swift` command for any package — an app's own package outside this repository
//! that depends on the SDK with `.package(path:)` — in the Swift environment `cargo xtask swift-test` uses
//! (the native toolchain, or the Debian trixie root on Debian 12), with the SDK's native library named.

use std::path::{Path, PathBuf};

use crate::util::{self, Result};

/// `cargo xtask swift [--package-path DIR] [--] ARGS…`: `swift ARGS…` in `DIR` (default: the current folder),
/// with `MOMENTS_LIB_DIR` set to the SDK library's folder ([`library_dir`]).
pub fn task(args: &[String]) -> Result {
    let (package, swift_args) = parse(args)?;
    let package = std::fs::canonicalize(&package)
        .map_err(|e| format!("--package-path {}: {e}", package.display()))?;
    if !package.join("Package.swift").is_file() {
        return Err(format!(
            "no Package.swift in {} (name the package's folder with --package-path)",
            package.display()
        ));
    }
    run_swift(&package, &swift_args, &library_dir()?)
}

/// The package folder and the arguments for `swift`.
fn parse(args: &[String]) -> Result<(PathBuf, Vec<String>)> {
    let mut package = std::env::current_dir().map_err(|e| format!("current folder: {e}"))?;
    let mut rest = args;
    loop {
        match rest {
            [flag, dir, tail @ ..] if flag == "--package-path" => {
                package = PathBuf::from(dir);
                rest = tail;
            }
            [flag] if flag == "--package-path" => {
                return Err("--package-path needs a folder".into());
            }
            [dashes, tail @ ..] if dashes == "--" => {
                rest = tail;
                break;
            }
            _ => break,
        }
    }
    if rest.is_empty() {
        return Err(
            "usage: cargo xtask swift [--package-path DIR] [--] ARGS… (e.g. `-- build` or `-- test`)".into(),
        );
    }
    Ok((package, rest.to_vec()))
}

/// The folder of the SDK's `libmoments_ffi` the package links: `MOMENTS_LIB_DIR` when set, else the release
/// library `cargo xtask swift-package` writes to `target/swift/lib`.
fn library_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("MOMENTS_LIB_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let dir = util::target_dir().join("swift/lib");
    if dir.join(util::cdylib_name("moments_ffi")).is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "no {} in {}: run `cargo xtask swift-package` first (it builds the release library there), \
             or set MOMENTS_LIB_DIR to a folder holding one",
            util::cdylib_name("moments_ffi"),
            dir.display()
        ))
    }
}

/// `swift ARGS…` in `package` with `MOMENTS_LIB_DIR=lib_dir`.
fn run_swift(package: &Path, swift_args: &[String], lib_dir: &Path) -> Result {
    let script = format!(
        "cd {} && exec swift {}",
        shell_quote(&package.display().to_string()),
        swift_args
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    );
    crate::swift::run_in_swift_env(
        &format!("swift {} (in {})", swift_args.join(" "), package.display()),
        &script,
        &[("MOMENTS_LIB_DIR", lib_dir)],
        &[package, lib_dir],
    )
}

/// `cargo xtask swift-kit-bench [TESTS [WARMUP]]`: what a fresh mock costs a test through the Swift testing kit.
/// Builds the mock's native library (release), then the bench package `bindings/swift/Bench` (its executable
/// `MomentsStartupBench`, depending on the root package by path) in release mode in the Swift environment, linked to
/// that library; runs it (`MomentsMock()` → first answer, and 100 tests each in `withMomentsMock`: start, one control
/// call, verify, stop) into `target/swift-kit-bench/samples.tsv`, then `moments-bench startup --samples` on it.
pub fn kit_bench(args: &[String]) -> Result {
    if args.len() > 2 || args.iter().any(|a| !a.parse::<u32>().is_ok_and(|n| n > 0)) {
        return Err(format!(
            "swift-kit-bench takes at most two positive numbers (TESTS, WARMUP), got {args:?}"
        ));
    }
    let target = util::target_dir();
    let out = target.join("swift-kit-bench");
    util::header(
        "build the mock's native library, its binary and the bench tool (release profile)",
    );
    util::run(util::cargo().args(["build", "--release", "-p", "moments-mock-ffi", "--lib"]))?;
    util::run(util::cargo().args([
        "build",
        "--release",
        "-p",
        "moments-bench",
        "-p",
        "moments-mock-server",
    ]))?;
    std::fs::create_dir_all(&out).map_err(|e| format!("create {}: {e}", out.display()))?;
    let samples = out.join("samples.tsv");
    let mut swift_args: Vec<String> = vec![
        "run".into(),
        "-c".into(),
        "release".into(),
        "--scratch-path".into(),
        out.join("build").display().to_string(),
        "MomentsStartupBench".into(),
        samples.display().to_string(),
    ];
    swift_args.extend(args.iter().cloned());
    run_swift(
        &util::root().join("bindings/swift/Bench"),
        &swift_args,
        &target.join("release"),
    )?;
    util::header("moments-bench startup, with the kit's samples");
    util::run(
        util::cmd(target.join("release/moments-bench"))
            .arg("startup")
            .arg("--samples")
            .arg(&samples),
    )
}

/// `text` as one word for `/bin/sh`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// The check `cargo xtask ci` runs: a package outside the repository (in the system's temporary folder) that
/// depends on the SDK by path, built and run through [`task`]'s path; its program makes a client (which loads
/// the native library) and prints the SDK's version.
pub fn outside_package_check() -> Result {
    let lib_dir = crate::bindings::checked_library()?;
    let dir = std::env::temp_dir().join(format!("moments-swift-consumer-{}", std::process::id()));
    let result = write_consumer(&dir).and_then(|()| {
        run_swift(
            &dir,
            &[
                "run".into(),
                "--scratch-path".into(),
                util::target_dir()
                    .join("swift-consumer-build")
                    .display()
                    .to_string(),
            ],
            &lib_dir,
        )
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// An app's package in `dir`: one executable depending on `MomentsSDK` from this repository by path.
fn write_consumer(dir: &Path) -> Result {
    let sources = dir.join("Sources/Consumer");
    std::fs::create_dir_all(&sources).map_err(|e| format!("create {}: {e}", sources.display()))?;
    let root = util::root();
    let manifest = format!(
        r#"// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Consumer",
    platforms: [.macOS(.v12)],
    dependencies: [.package(path: "{root}")],
    targets: [
        .executableTarget(
            name: "Consumer",
            dependencies: [.product(name: "MomentsSDK", package: "{identity}")]
        ),
    ]
)
"#,
        root = root.display(),
        identity = crate::swift::root_package_identity(&root),
    );
    std::fs::write(dir.join("Package.swift"), manifest)
        .map_err(|e| format!("write {}: {e}", dir.display()))?;
    std::fs::write(sources.join("main.swift"), CONSUMER_MAIN)
        .map_err(|e| format!("write {}: {e}", sources.display()))
}

/// The consumer's program: a client made (the native library loaded and called), the version printed.
const CONSUMER_MAIN: &str = r#"import Foundation
import MomentsSDK

let config = ClientConfig(baseURL: URL(string: "http://127.0.0.1:9")!, device: DeviceInfo(type: .iOS))
let client = try MomentsClient(
    config: config,
    tokenProvider: TokenProvider { CustomerToken(token: "ct_consumer", expiresIn: 900) }
)
_ = client
print("a package outside the repository made a MomentsClient with MomentsSDK \(MomentsSDKVersion.version)")
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn the_package_path_and_the_swift_arguments_are_read() {
        let (dir, args) = parse(&strings(&[
            "--package-path",
            "/apps/demo",
            "--",
            "test",
            "--parallel",
        ]))
        .unwrap();
        assert_eq!(dir, PathBuf::from("/apps/demo"));
        assert_eq!(args, strings(&["test", "--parallel"]));
        let (_, args) = parse(&strings(&["build"])).unwrap();
        assert_eq!(args, strings(&["build"]));
    }

    #[test]
    fn missing_arguments_are_refused_with_the_usage() {
        assert!(
            parse(&strings(&["--package-path"]))
                .unwrap_err()
                .contains("needs a folder")
        );
        assert!(
            parse(&strings(&["--package-path", "/apps/demo", "--"]))
                .unwrap_err()
                .contains("usage")
        );
        assert!(parse(&[]).unwrap_err().contains("usage"));
    }

    #[test]
    fn arguments_reach_the_shell_as_single_words() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("a b"), "'a b'");
    }
}
