//! `cargo xtask kotlin-test`: the Kotlin SDK compiled and tested on the JVM against the real native library.

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
pub fn test() -> Result {
    ensure_toolchain()?;
    let generated = bindings::generate_all(Profile::Dev)?;
    util::build_mock_server()?;
    let root = util::root();
    let project = root.join("bindings/kotlin");
    let build_dir = util::target_dir().join("kotlin-build");

    header(
        "Kotlin: mvn verify (compile generated + idiomatic Kotlin, JUnit 5 against the mock, package the jar)",
    );
    let mut mvn = util::cmd("mvn");
    mvn.current_dir(&project)
        .args(["-B", "--no-transfer-progress", "verify"])
        .arg(format!(
            "-Dmoments.generated.dir={}",
            generated.kotlin_dir.display()
        ))
        .arg(format!(
            "-Dmoments.native.dir={}",
            generated.lib_dir.display()
        ))
        .arg(format!(
            "-Dmoments.native.file={}",
            util::cdylib_name("moments_ffi")
        ))
        .arg(format!("-Dmoments.jna.prefix={}", jna_prefix()))
        .arg(format!("-Dmoments.build.dir={}", build_dir.display()))
        .env("MOMENTS_MOCK_BIN", util::mock_server_bin());
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
