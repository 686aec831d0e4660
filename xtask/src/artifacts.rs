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

/// The XCFramework zipped for a SwiftPM `binaryTarget(url:checksum:)`, and its checksum file, in `out` (macOS):
/// builds `bindings/swift/MomentsFFI.xcframework`, zips it with `ditto` and checksums the zip with
/// `swift package compute-checksum`.
pub fn xcframework_zip(out: &Path) -> Result<(PathBuf, PathBuf)> {
    let framework = mobile::build_xcframework()?;
    let root = util::root();
    std::fs::create_dir_all(out).map_err(|e| format!("create {}: {e}", out.display()))?;
    let zip = out.join(XCFRAMEWORK_ZIP);
    let _ = std::fs::remove_file(&zip);
    header("zip the XCFramework and compute its SwiftPM checksum");
    run(util::cmd("ditto")
        .args(["-c", "-k", "--sequesterRsrc", "--keepParent"])
        .arg(&framework)
        .arg(&zip))?;
    let checksum = util::output(
        util::cmd("swift")
            .current_dir(&root)
            .args(["package", "compute-checksum"])
            .arg(&zip),
    )?;
    let checksum_path = out.join(format!("{XCFRAMEWORK_ZIP}.checksum"));
    std::fs::write(&checksum_path, format!("{}\n", checksum.trim()))
        .map_err(|e| format!("write {}: {e}", checksum_path.display()))?;
    Ok((zip, checksum_path))
}

/// The name of the XCFramework's zip, in `target/dist/` and among a release's files.
pub const XCFRAMEWORK_ZIP: &str = "MomentsFFI.xcframework.zip";

/// Where a release's XCFramework zip is downloaded from: `<repository>/releases/download/v<version>/<zip>`,
/// with `repository` from the root `Cargo.toml`'s `[workspace.package]`.
pub fn release_xcframework_url(root: &Path, version: &str) -> Result<String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|e| format!("read the root Cargo.toml: {e}"))?;
    let mut in_section = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section
            && let Some(rest) = line.strip_prefix("repository")
            && let Some(value) = rest.trim_start().strip_prefix('=')
        {
            let repository = value.trim().trim_matches('"').trim_end_matches('/');
            return Ok(format!(
                "{repository}/releases/download/v{version}/{XCFRAMEWORK_ZIP}"
            ));
        }
    }
    Err("no `repository` under [workspace.package] in the root Cargo.toml".into())
}

/// `manifest` (the root `Package.swift`) with its release binary target set to `url` and `checksum`: the
/// values of `let releaseXCFrameworkURL = "…"` and `let releaseXCFrameworkChecksum = "…"`.
pub fn with_release_binary_target(manifest: &str, url: &str, checksum: &str) -> Result<String> {
    if checksum.len() != 64 || !checksum.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "`{checksum}` is not a SwiftPM checksum (64 hex digits)"
        ));
    }
    let mut out = String::with_capacity(manifest.len());
    let (mut urls, mut checksums) = (0, 0);
    for line in manifest.split_inclusive('\n') {
        let ending = &line[line.trim_end_matches(['\r', '\n']).len()..];
        if line.starts_with("let releaseXCFrameworkURL = ") {
            urls += 1;
            out.push_str(&format!("let releaseXCFrameworkURL = \"{url}\"{ending}"));
        } else if line.starts_with("let releaseXCFrameworkChecksum = ") {
            checksums += 1;
            out.push_str(&format!(
                "let releaseXCFrameworkChecksum = \"{checksum}\"{ending}"
            ));
        } else {
            out.push_str(line);
        }
    }
    if (urls, checksums) != (1, 1) {
        return Err(format!(
            "Package.swift has {urls} `let releaseXCFrameworkURL` and {checksums} `let releaseXCFrameworkChecksum` \
             lines, expected one of each"
        ));
    }
    Ok(out)
}

/// Writes the release's XCFramework URL (for `version`) and `checksum` into the root `Package.swift`.
pub fn write_release_binary_target(root: &Path, version: &str, checksum: &str) -> Result<PathBuf> {
    let path = root.join("Package.swift");
    let manifest =
        std::fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let url = release_xcframework_url(root, version)?;
    let updated = with_release_binary_target(&manifest, &url, checksum.trim())?;
    std::fs::write(&path, updated).map_err(|e| format!("write {}: {e}", path.display()))?;
    println!(
        "{}: binaryTarget(url: {url}, checksum: {})",
        path.display(),
        checksum.trim()
    );
    Ok(path)
}

/// `cargo xtask swift-package`: what the Swift package (root `Package.swift`) links, in release form. On macOS
/// the XCFramework (`bindings/swift/MomentsFFI.xcframework`, which the package then uses) and its zip with
/// checksum in `target/swift/`; on Linux the stripped release `libmoments_ffi.so` in `target/swift/lib`, which
/// the package links when `MOMENTS_LIB_DIR` names it.
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
            "xcframework: {} (used by Package.swift while it exists)",
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
        "Build or test the package at {} (or one that depends on it) with:\n  MOMENTS_LIB_DIR={} swift build",
        root.display(),
        lib_dir.display()
    );
    println!("library: {}", stripped.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_binary_target_is_written_into_the_committed_manifest() {
        let root = util::root();
        let manifest = std::fs::read_to_string(root.join("Package.swift")).unwrap();
        let checksum = "ab".repeat(32);
        let url = release_xcframework_url(&root, "9.8.7").unwrap();
        assert!(
            url.ends_with("/releases/download/v9.8.7/MomentsFFI.xcframework.zip"),
            "{url}"
        );
        let updated = with_release_binary_target(&manifest, &url, &checksum).unwrap();
        assert!(updated.contains(&format!("let releaseXCFrameworkURL = \"{url}\"\n")));
        assert!(updated.contains(&format!(
            "let releaseXCFrameworkChecksum = \"{checksum}\"\n"
        )));
        // Only those two lines change.
        let changed = manifest
            .lines()
            .zip(updated.lines())
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(changed, 2);
        assert_eq!(manifest.lines().count(), updated.lines().count());
        // Writing it again gives the same text.
        assert_eq!(
            with_release_binary_target(&updated, &url, &checksum).unwrap(),
            updated
        );
    }

    #[test]
    fn a_bad_checksum_or_a_manifest_without_the_constants_is_refused() {
        let manifest =
            "let releaseXCFrameworkURL = \"x\"\nlet releaseXCFrameworkChecksum = \"y\"\n";
        assert!(with_release_binary_target(manifest, "u", "not-hex").is_err());
        let err = with_release_binary_target("// nothing\n", "u", &"0".repeat(64)).unwrap_err();
        assert!(err.contains("0 `let releaseXCFrameworkURL`"), "{err}");
    }
}
