//! The SDKs' artifacts as an app developer uses them, built locally: `cargo xtask jar` (the Kotlin SDK for the
//! JVM) and `cargo xtask swift-package` (what the Swift package links). `cargo xtask dist` ships the same files.

use std::path::{Path, PathBuf};

use crate::util::{self, Result, header, run};
use crate::{bindings, kotlin, mobile, release};

/// The Kotlin SDK for the JVM, as Maven Central takes it.
pub struct JvmJar {
    /// The classes and the release native library under JNA's resource prefix (`linux-x86-64/…`).
    pub jar: PathBuf,
    pub sources: PathBuf,
    /// Kotlin has no javadoc: a jar with a README pointing at the documentation (what Central accepts).
    pub javadoc: PathBuf,
    pub pom: PathBuf,
}

/// Builds the release native library and returns a stripped copy of it in `dir`, with the unstripped original
/// (uniffi's library mode reads its metadata symbols from that one).
fn release_library(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    header("build the native library (moments-ffi, release profile)");
    run(util::cargo().args(["build", "--release", "-p", "moments-ffi", "--lib"]))?;
    let name = util::cdylib_name("moments_ffi");
    let built = util::target_dir().join("release").join(&name);
    if !built.is_file() {
        return Err(format!("{} was not built", built.display()));
    }
    let stripped = dir.join(&name);
    let _ = std::fs::remove_file(&stripped);
    util::copy(&built, &stripped)?;
    if util::which("strip").is_none() {
        return Err(
            "`strip` not found: install binutils (Linux) or the Xcode command line tools (macOS)"
                .into(),
        );
    }
    let flag = if cfg!(target_os = "macos") {
        "-x"
    } else {
        "--strip-unneeded"
    };
    run(util::cmd("strip").arg(flag).arg(&stripped))?;
    println!(
        "{} bytes -> {} bytes stripped: {}",
        size(&built),
        size(&stripped),
        stripped.display()
    );
    Ok((built, stripped))
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The entries of a jar or zip.
fn entries(archive: &Path) -> Result<Vec<String>> {
    Ok(util::output(util::cmd("jar").arg("tf").arg(archive))?
        .lines()
        .map(str::to_owned)
        .collect())
}

/// Builds the JVM jar with its sources and javadoc jars and POM into `target/jvm/`: the release native library,
/// stripped, under JNA's resource prefix; Kotlin generated from that library. No tests (`cargo xtask
/// kotlin-test` runs them against the debug library).
pub fn jar() -> Result<JvmJar> {
    kotlin::ensure_toolchain()?;
    let root = util::root();
    let version = release::check_versions(&root)?;
    let out = util::target_dir().join("jvm");
    let native_dir = out.join("native");
    std::fs::create_dir_all(&native_dir)
        .map_err(|e| format!("create {}: {e}", native_dir.display()))?;
    let (library, _) = release_library(&native_dir)?;

    header("generate the Kotlin bindings from the release library");
    let kotlin_dir = out.join("bindings/kotlin");
    bindings::generate_kotlin(&crate::bindings::build_bindgen()?, &library, &kotlin_dir)?;

    header("Maven: the jar, its sources and javadoc jars (profile `release`)");
    let build_dir = out.join("build");
    let _ = std::fs::remove_dir_all(&build_dir);
    run(util::cmd("mvn")
        .current_dir(root.join("bindings/kotlin"))
        .args([
            "-B",
            "--no-transfer-progress",
            "-q",
            "-Prelease",
            "-DskipTests",
            "package",
        ])
        .args(kotlin::maven_props(&kotlin_dir, &native_dir, &build_dir)))?;

    let stem = format!("moments-sdk-{version}");
    let artifacts = JvmJar {
        jar: out.join(format!("{stem}.jar")),
        sources: out.join(format!("{stem}-sources.jar")),
        javadoc: out.join(format!("{stem}-javadoc.jar")),
        pom: out.join(format!("{stem}.pom")),
    };
    for file in [&artifacts.jar, &artifacts.sources, &artifacts.javadoc] {
        let name = file.file_name().expect("a file");
        util::copy(&build_dir.join(name), file)?;
    }
    util::copy(&root.join("bindings/kotlin/pom.xml"), &artifacts.pom)?;

    header("check the jars");
    let native_entry = format!(
        "{}/{}",
        kotlin::jna_prefix(),
        util::cdylib_name("moments_ffi")
    );
    let expect = |archive: &Path, wanted: &[&str]| -> Result {
        let listing = entries(archive)?;
        for entry in wanted {
            if !listing.iter().any(|l| l == entry) {
                return Err(format!("{} has no {entry}", archive.display()));
            }
        }
        println!("{}: {}", archive.display(), wanted.join(", "));
        Ok(())
    };
    expect(
        &artifacts.jar,
        &[&native_entry, "com/moments/sdk/MomentsClient.class"],
    )?;
    expect(
        &artifacts.sources,
        &[
            "com/moments/sdk/internal/moments_ffi.kt",
            "com/moments/sdk/MomentsClient.kt",
        ],
    )?;
    expect(&artifacts.javadoc, &["README.md"])?;
    if entries(&artifacts.sources)?
        .iter()
        .any(|e| e.ends_with(&util::cdylib_name("moments_ffi")))
    {
        return Err(format!(
            "{} carries the native library",
            artifacts.sources.display()
        ));
    }
    if cfg!(target_os = "linux") && util::which("file").is_some() {
        let described =
            util::output(util::cmd("file").arg(native_dir.join(util::cdylib_name("moments_ffi"))))?;
        if !described.contains(", stripped") {
            return Err(format!(
                "the bundled library is not stripped: {}",
                described.trim()
            ));
        }
    }
    Ok(artifacts)
}

/// `cargo xtask jar`: [`jar`], then the paths it wrote (the jar last).
pub fn jar_task() -> Result {
    let built = jar()?;
    header("the Kotlin SDK for the JVM");
    println!("sources: {}", built.sources.display());
    println!("javadoc: {}", built.javadoc.display());
    println!("POM:     {}", built.pom.display());
    println!(
        "Its dependencies are in the POM (kotlin-stdlib, kotlinx-coroutines-core-jvm, jna); with Maven: \
         mvn install:install-file -Dfile={} -DpomFile={}",
        built.jar.display(),
        built.pom.display()
    );
    println!("jar:     {}", built.jar.display());
    Ok(())
}

/// The XCFramework zipped for a SwiftPM `binaryTarget(url:checksum:)`, and its checksum file, in `out` (macOS).
pub fn xcframework_zip(out: &Path) -> Result<(PathBuf, PathBuf)> {
    mobile::xcframework()?;
    let root = util::root();
    let framework = root.join("bindings/swift/MomentsFFI.xcframework");
    std::fs::create_dir_all(out).map_err(|e| format!("create {}: {e}", out.display()))?;
    let zip = out.join("MomentsFFI.xcframework.zip");
    let _ = std::fs::remove_file(&zip);
    run(util::cmd("ditto")
        .args(["-c", "-k", "--sequesterRsrc", "--keepParent"])
        .arg(&framework)
        .arg(&zip))?;
    let checksum = util::output(
        util::cmd("swift")
            .current_dir(root.join("bindings/swift"))
            .args(["package", "compute-checksum"])
            .arg(&zip),
    )?;
    let checksum_path = out.join("MomentsFFI.xcframework.zip.checksum");
    std::fs::write(&checksum_path, format!("{}\n", checksum.trim()))
        .map_err(|e| format!("write {}: {e}", checksum_path.display()))?;
    Ok((zip, checksum_path))
}

/// `cargo xtask swift-package`: what `bindings/swift` links, in release form. On macOS the XCFramework
/// (`bindings/swift/MomentsFFI.xcframework`, which the package uses) and its zip with checksum in
/// `target/swift/`; on Linux the stripped release `libmoments_ffi.so` in `target/swift/lib`, which the
/// package links when `MOMENTS_LIB_DIR` names it.
pub fn swift_package() -> Result {
    let root = util::root();
    release::check_versions(&root)?;
    let out = util::target_dir().join("swift");
    if cfg!(target_os = "macos") {
        let (zip, checksum) = xcframework_zip(&out)?;
        header("the Swift package's binary target");
        println!(
            "checksum: {} ({})",
            std::fs::read_to_string(&checksum)
                .unwrap_or_default()
                .trim(),
            checksum.display()
        );
        println!(
            "xcframework: {} (used by bindings/swift/Package.swift)",
            root.join("bindings/swift/MomentsFFI.xcframework").display()
        );
        println!("zip: {}", zip.display());
        return Ok(());
    }
    let lib_dir = out.join("lib");
    std::fs::create_dir_all(&lib_dir).map_err(|e| format!("create {}: {e}", lib_dir.display()))?;
    let (_, stripped) = release_library(&lib_dir)?;
    header("the Swift package's native library (Linux)");
    println!(
        "Build or test a package that depends on {} with:\n  MOMENTS_LIB_DIR={} swift build",
        root.join("bindings/swift").display(),
        lib_dir.display()
    );
    println!("library: {}", stripped.display());
    Ok(())
}
