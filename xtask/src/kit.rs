//! The JVM testing kit's release artifacts (`moments-sdk-testing`): its jar carries the mock's native library
//! (`crates/moments-mock-ffi`) under one JNA resource prefix per host platform. `cargo xtask dist` builds the jar
//! with this machine's library ([`testing_jar`]); the release's macOS job builds the two macOS libraries
//! (`cargo xtask kit-native`, [`native_task`]) and its publish job adds them to the Linux job's jar
//! (`cargo xtask kit-merge`, [`merge_task`]), so the published jar starts a mock on Linux and on both kinds of Mac.

use std::path::{Path, PathBuf};

use crate::util::{self, Result, header, run};
use crate::{kotlin, release};

/// The mock's library file name on `prefix`'s platform.
fn library_for(prefix: &str) -> &'static str {
    if prefix.starts_with("darwin") {
        "libmoments_mock_ffi.dylib"
    } else {
        "libmoments_mock_ffi.so"
    }
}

/// The testing kit's release jar, its sources jar and its POM, in `target/jvm-testing/`: the mock's library built
/// with the release profile and stripped, under this machine's JNA prefix. `sdk_jar` and `sdk_pom` are the SDK's
/// (the kit's tests depend on it; installed into the local Maven repository so the build resolves it).
pub fn testing_jar(sdk_jar: &Path, sdk_pom: &Path) -> Result<Vec<PathBuf>> {
    kotlin::ensure_toolchain()?;
    let root = util::root();
    let version = release::check_versions(&root)?;
    let out = util::target_dir().join("jvm-testing");
    let native_dir = out.join("native");
    std::fs::create_dir_all(&native_dir)
        .map_err(|e| format!("create {}: {e}", native_dir.display()))?;

    header("build the mock's native library (moments-mock-ffi, release profile)");
    run(util::cargo().args(["build", "--release", "-p", "moments-mock-ffi", "--lib"]))?;
    let name = util::cdylib_name("moments_mock_ffi");
    let built = util::target_dir().join("release").join(&name);
    let stripped = native_dir.join(&name);
    let _ = std::fs::remove_file(&stripped);
    util::copy(&built, &stripped)?;
    let flag = if cfg!(target_os = "macos") {
        "-x"
    } else {
        "--strip-unneeded"
    };
    run(util::cmd("strip").arg(flag).arg(&stripped))?;

    header("Maven: the testing kit's jar (the SDK's jar installed for its test dependency)");
    run(util::cmd("mvn")
        .current_dir(root.join("bindings/kotlin-testing"))
        .args(["-B", "--no-transfer-progress", "-q", "install:install-file"])
        .arg(format!("-Dfile={}", sdk_jar.display()))
        .arg(format!("-DpomFile={}", sdk_pom.display())))?;
    let build_dir = out.join("build");
    let _ = std::fs::remove_dir_all(&build_dir);
    run(util::cmd("mvn")
        .current_dir(root.join("bindings/kotlin-testing"))
        .args([
            "-B",
            "--no-transfer-progress",
            "-q",
            "-DskipTests",
            "package",
        ])
        .arg(format!("-Dmoments.native.dir={}", native_dir.display()))
        .arg(format!("-Dmoments.native.file={name}"))
        .arg(format!("-Dmoments.jna.prefix={}", kotlin::jna_prefix()))
        .arg(format!("-Dmoments.build.dir={}", build_dir.display())))?;

    let stem = format!("moments-sdk-testing-{version}");
    let jar = out.join(format!("{stem}.jar"));
    util::copy(&build_dir.join(format!("{stem}.jar")), &jar)?;
    let sources = out.join(format!("{stem}-sources.jar"));
    let _ = std::fs::remove_file(&sources);
    run(util::cmd("jar")
        .arg("cf")
        .arg(&sources)
        .arg("-C")
        .arg(root.join("bindings/kotlin-testing/src/main/kotlin"))
        .arg("."))?;
    let pom = out.join(format!("{stem}.pom"));
    util::copy(&root.join("bindings/kotlin-testing/pom.xml"), &pom)?;

    let entry = format!("{}/{name}", kotlin::jna_prefix());
    let listing = util::output(util::cmd("jar").arg("tf").arg(&jar))?;
    for wanted in [entry.as_str(), "com/moments/sdk/testing/MomentsMock.class"] {
        if !listing.lines().any(|l| l == wanted) {
            return Err(format!("{} has no {wanted}", jar.display()));
        }
    }
    println!(
        "{}: {entry}, com/moments/sdk/testing/MomentsMock.class",
        jar.display()
    );
    Ok(vec![jar, sources, pom])
}

/// `cargo xtask testing-jar`: the SDK's jar ([`crate::artifacts::jar`]), then [`testing_jar`]; the jar's path last.
pub fn testing_jar_task() -> Result {
    let sdk = crate::artifacts::jar()?;
    let built = testing_jar(&sdk.jar, &sdk.pom)?;
    header("the JVM testing kit");
    for file in built.iter().rev() {
        println!("{}", file.display());
    }
    Ok(())
}

/// The macOS targets of the mock's library and their JNA prefixes.
const DARWIN: &[(&str, &str)] = &[
    ("aarch64-apple-darwin", "darwin-aarch64"),
    ("x86_64-apple-darwin", "darwin-x86-64"),
];

/// `cargo xtask kit-native`: on macOS, the mock's library for both Mac architectures (release, stripped) into
/// `target/kit-native/<JNA prefix>/`, for [`merge_task`].
pub fn native_task() -> Result {
    if !cfg!(target_os = "macos") {
        return Err("kit-native builds the macOS libraries of the mock and runs on macOS (the release's macOS job); \
                    on Linux, `cargo xtask dist` puts this machine's library into the kit's jar"
            .into());
    }
    let out = util::target_dir().join("kit-native");
    for (target, prefix) in DARWIN {
        header(&format!("the mock's library for {target}"));
        run(util::cmd("rustup").args(["target", "add", target]))?;
        run(util::cargo().args([
            "build",
            "--release",
            "-p",
            "moments-mock-ffi",
            "--lib",
            "--target",
            target,
        ]))?;
        let built = util::target_dir()
            .join(target)
            .join("release")
            .join(library_for(prefix));
        let to = out.join(prefix).join(library_for(prefix));
        util::copy(&built, &to)?;
        run(util::cmd("strip").arg("-x").arg(&to))?;
        println!("{}", to.display());
    }
    Ok(())
}

/// Adds every `<prefix>/<library>` found in `libs` to `jar` (its entries replaced when present) and returns the
/// entries added.
pub fn merge(jar: &Path, libs: &Path) -> Result<Vec<String>> {
    let mut added = Vec::new();
    let dirs = std::fs::read_dir(libs).map_err(|e| format!("read {}: {e}", libs.display()))?;
    let mut prefixes: Vec<String> = dirs
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    prefixes.sort();
    for prefix in prefixes {
        let entry = format!("{prefix}/{}", library_for(&prefix));
        if !libs.join(&entry).is_file() {
            return Err(format!("{} has no {entry}", libs.display()));
        }
        run(util::cmd("jar")
            .arg("uf")
            .arg(jar)
            .arg("-C")
            .arg(libs)
            .arg(&entry))?;
        added.push(entry);
    }
    if added.is_empty() {
        return Err(format!(
            "no <JNA prefix>/<library> folders in {}",
            libs.display()
        ));
    }
    Ok(added)
}

/// `cargo xtask kit-merge JAR LIBS`: [`merge`], then the checksum file beside the jar (`SHA256SUMS`) updated.
pub fn merge_task(args: &[String]) -> Result {
    let [jar, libs] = args else {
        return Err(
            "usage: cargo xtask kit-merge JAR LIBS (LIBS holds <JNA prefix>/<library> folders)"
                .into(),
        );
    };
    let jar = PathBuf::from(jar);
    for entry in merge(&jar, Path::new(libs))? {
        println!("{}: + {entry}", jar.display());
    }
    let dir = jar.parent().unwrap_or(Path::new("."));
    if dir.join("SHA256SUMS").is_file() {
        release::write_sha256sums(dir)?;
        println!("{}: updated", dir.join("SHA256SUMS").display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_are_added_under_their_prefixes() {
        let dir = std::env::temp_dir().join(format!("xtask-kit-merge-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let libs = dir.join("libs");
        for prefix in ["darwin-aarch64", "darwin-x86-64"] {
            std::fs::create_dir_all(libs.join(prefix)).unwrap();
            std::fs::write(libs.join(prefix).join(library_for(prefix)), prefix).unwrap();
        }
        let classes = dir.join("classes/linux-x86-64");
        std::fs::create_dir_all(&classes).unwrap();
        std::fs::write(classes.join("libmoments_mock_ffi.so"), "linux").unwrap();
        let jar = dir.join("kit.jar");
        run(util::cmd("jar")
            .arg("cf")
            .arg(&jar)
            .arg("-C")
            .arg(dir.join("classes"))
            .arg("."))
        .unwrap();

        let added = merge(&jar, &libs).unwrap();
        assert_eq!(
            added,
            [
                "darwin-aarch64/libmoments_mock_ffi.dylib",
                "darwin-x86-64/libmoments_mock_ffi.dylib"
            ]
        );
        let listing = util::output(util::cmd("jar").arg("tf").arg(&jar)).unwrap();
        for entry in added
            .iter()
            .map(String::as_str)
            .chain(["linux-x86-64/libmoments_mock_ffi.so"])
        {
            assert!(
                listing.lines().any(|l| l == entry),
                "{entry} missing:\n{listing}"
            );
        }
        assert!(
            merge(&jar, &dir.join("classes/linux-x86-64"))
                .unwrap_err()
                .contains("no <JNA prefix>")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
