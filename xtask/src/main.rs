//! Build, test and packaging tasks of the Moments SDK, in Rust rather than shell scripts.
//!
//! `cargo xtask <task>`; run `cargo xtask help` for the list. `cargo xtask ci` is what `.ci/run` calls.

mod api;
mod artifacts;
mod bench;
mod bindings;
mod ci;
mod image;
mod kit;
mod kit_parity;
mod kotlin;
mod mobile;
mod postgres;
mod release;
mod repository;
mod swift;
mod swift_run;
mod util;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task>

  bindings      build the native library (dev profile), generate Kotlin + Swift into target/bindings/ and
                copy them to their committed places (commit the result)
                --check: generate into target/bindings-check/ and fail naming the committed files that differ
  api           public API dumps: moments-client and the Rust testing kit (rustdoc JSON), Kotlin SDK and testing
                kit (binary-compatibility validator over the compiled classes), Swift (symbol graph) written to
                api/ (commit them with the change); then the Kotlin/Swift parity table in docs/mobile.md and the
                testing kits' table in docs/testing.md checked against them
                --check: bindings check, dumps regenerated into target/api-check/ and compared, parity
  kotlin-test   bindings check + mock binary, then Maven: compile, JUnit 5 tests, jar with the native library;
                the testing kit (moments-sdk-testing: the mock's library, JUnit 5 and JUnit 4 tests, jar);
                the Android example compiled against the SDK (API stubs), its model's unit tests run
                against the mock (the kit's JUnit 4 rule); the benchmark module built and
                its comparison run for a few rounds
  bench         release mock: wrk load of the hot paths beside the axum ceiling, Prism and json-server
                (args go to `moments-bench load`, e.g. --seconds 10 --no-peers), then client overhead A/B
  kotlin-bench  Kotlin SDK (JNA -> Rust -> release mock) vs the same calls with OkHttp: JMH, then interleaved
                (--ab [ROUNDS [BATCH]]: interleaved alone; other arguments go to JMH alone); tables + ratios
                (not part of `ci`; kotlin-test runs the interleaved one for a few rounds)
  kotlin-kit-bench [TESTS [WARMUP]]
                what a fresh mock costs a test through the Kotlin testing kit (release mock library):
                MomentsMock.start -> first answer and TESTS (100) tests each with a fresh mock, then
                `moments-bench startup --samples` judges them (not part of `ci`; kotlin-test compiles it)
  swift-test    bindings + mock binary (MOMENTS_MOCK_BIN: use that one), then `swift test` of the root Swift
                package (native swift, or a Debian trixie root); its privacy manifest in the built bundle; the iOS
                example's model compiled against the SDK and its tests run against the mock, every Swift snippet of
                docs/mobile.md compiled against the SDK
  swift [--package-path DIR] [--] ARGS
                `swift ARGS` for any package (an app's own, depending on the SDK by path) in the Swift
                environment swift-test uses, with MOMENTS_LIB_DIR (default: target/swift/lib, written by
                swift-package)
  swift-kit-bench [TESTS [WARMUP]]
                what a fresh mock costs a test through the Swift testing kit: bindings/swift/Bench built in
                release against the release mock library, MomentsMock() -> first answer and TESTS (100) tests
                in withMomentsMock, then `moments-bench startup --samples` judges them (not part of `ci`)
  android       build jniLibs per ABI with the NDK (needs ANDROID_NDK_HOME)
  xcframework   build MomentsFFI.xcframework for iOS (needs Xcode), its zip and SwiftPM checksum in target/swift/
  lib-size      build the `mobile` profile and print stripped cdylib / staticlib sizes
  postgres      start a throwaway PostgreSQL (as `ci` does around `cargo test`; Debian's `postgresql`
                package, installed when missing as root), print `export MOMENTS_TEST_POSTGRES=<url>` for
                `cargo test` in another shell, and stop it at Ctrl-C
  msrv          `cargo +<rust-version> check` of the workspace (installs that toolchain; not part of `ci`)
  fuzz          every cargo-fuzz target built (unoptimized) and run 5 s, as `ci` does (installs nightly and
                cargo-fuzz when missing); `scripts/fuzz.sh` runs them longer
  mock-dist     the mock's static Linux binaries (x86_64, aarch64 musl) built and checked (static; each
                answers a trigger, aarch64 under qemu-user), then target/dist/: a .tar.gz per architecture,
                OCI layout tarballs (linux/amd64, linux/arm64, multi-arch index), each with a .sha256
  mock-image-check  run the amd64 image from target/dist/ (podman, else its root filesystem under chroot)
                and probe it over HTTP
  jar           the Kotlin SDK for the JVM: release native library (stripped) under JNA's resource prefix,
                jar + sources + javadoc jars + POM in target/jvm/ (prints the jar's path last)
  swift-package the Swift package's native artifacts, release: the XCFramework and its zip + checksum
                (macOS), or the stripped libmoments_ffi.so for MOMENTS_LIB_DIR (Linux), in target/swift/
  version [X.Y.Z]  check that every copy of the version agrees with Cargo.toml's workspace.package.version,
                or write X.Y.Z into Cargo.toml and every copy
  testing-jar   the JVM testing kit: the SDK's jar (as `jar`), then the kit's jar with this machine's mock
                library (release, stripped), its sources jar and POM in target/jvm-testing/ (prints the jar last)
  kit-native    macOS: the mock's library for both Mac architectures (release, stripped) into
                target/kit-native/<JNA prefix>/ (the release's macOS job)
  kit-merge JAR LIBS  add LIBS' <JNA prefix>/<library> files to the testing kit's JAR and update the
                SHA256SUMS beside it (the release's publish job)
  repository [URL]  check that every copy of the repository's URL agrees with Cargo.toml's
                workspace.package.repository, or move every copy to URL (a release refuses the placeholder)
  dist [--allow-dirty] [--tag vX.Y.Z]
                every release artifact this machine can build into target/dist/ (mock binaries and OCI
                image, JVM jars and POM, the testing kit's jars and POM, the AAR with an NDK, the XCFramework
                zip on macOS, release notes, SHA256SUMS); says what it skips; refuses a dirty tree and
                disagreeing versions
  ci            system packages, fmt, clippy, cargo test (with CI set, against a throwaway PostgreSQL),
                versions agree + cargo package of the published crates, schemathesis, fuzz, bindings + public
                API + parity (api --check), kotlin-test, swift-test; stops at the first failure
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(task) = args.first() else {
        eprint!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let result = match task.as_str() {
        "bindings" if args.get(1).is_some_and(|a| a == "--check") => bindings::check_not_stale(),
        "bindings" => bindings::generate_all(util::Profile::Dev).map(|_| ()),
        "api" => api::task(&args[1..]),
        "kotlin-test" => kotlin::test(),
        "bench" => bench::run_all(&args[1..]),
        "kotlin-bench" => kotlin::bench(&args[1..]),
        "kotlin-kit-bench" => kotlin::kit_bench(&args[1..]),
        "swift-test" => swift::test(),
        "swift" => swift_run::task(&args[1..]),
        "swift-kit-bench" => swift_run::kit_bench(&args[1..]),
        "android" => mobile::android(&args[1..]),
        "xcframework" => mobile::xcframework(),
        "lib-size" => mobile::lib_size(),
        "mock-dist" => image::mock_dist(),
        "mock-image-check" => image::image_check(),
        "jar" => artifacts::jar_task(),
        "swift-package" => artifacts::swift_package(),
        "version" => release::version_task(&args[1..]),
        "dist" => release::dist(&args[1..]),
        "testing-jar" => kit::testing_jar_task(),
        "kit-native" => kit::native_task(),
        "kit-merge" => kit::merge_task(&args[1..]),
        "repository" => repository::task(&args[1..]),
        "ci" => ci::run(),
        "msrv" => ci::msrv(),
        "postgres" => postgres::task(),
        "fuzz" => ci::fuzz_smoke(),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("\nxtask {task}: FAILED: {err}");
            ExitCode::FAILURE
        }
    }
}
