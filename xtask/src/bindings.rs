//! Builds the native library and generates the Kotlin and Swift bindings (uniffi library mode).
//!
//! Generated code is not committed: Kotlin goes to `target/bindings/kotlin` (Maven reads it from there), Swift
//! to `target/bindings/swift` and is copied into the SwiftPM package (`bindings/swift/Sources/…`, git-ignored).

use std::path::PathBuf;

use crate::util::{self, Profile, Result, cargo, header, run};

/// Paths produced by `generate_all`.
pub struct Generated {
    /// The folder holding the cdylib and staticlib.
    pub lib_dir: PathBuf,
    pub kotlin_dir: PathBuf,
    pub swift_dir: PathBuf,
}

/// The files SwiftPM compiles, derived from the generated Swift (relative to the repository root).
pub const SWIFT_PACKAGE_FILES: &[(&str, &str)] = &[
    (
        "MomentsSDK.swift",
        "bindings/swift/Sources/MomentsSDK/MomentsSDK.swift",
    ),
    (
        "MomentsFFI.h",
        "bindings/swift/Sources/MomentsFFI/include/MomentsFFI.h",
    ),
];

/// Builds `moments-ffi` in `profile` and generates both languages.
pub fn generate_all(profile: Profile) -> Result<Generated> {
    header(&format!(
        "build the native library (moments-ffi, {} profile)",
        profile.dir()
    ));
    run(cargo()
        .args(["build", "-p", "moments-ffi", "--lib"])
        .args(profile.cargo_args()))?;
    let lib_dir = util::target_dir().join(profile.dir());
    let library = lib_dir.join(util::cdylib_name("moments_ffi"));
    if !library.is_file() {
        return Err(format!("{} was not built", library.display()));
    }

    header("build uniffi-bindgen");
    run(cargo().args(["build", "-p", "uniffi-bindgen"]))?;
    let bindgen = util::target_dir().join("debug").join(if cfg!(windows) {
        "uniffi-bindgen.exe"
    } else {
        "uniffi-bindgen"
    });

    let out = util::target_dir().join("bindings");
    let kotlin_dir = out.join("kotlin");
    let swift_dir = out.join("swift");
    for (language, dir) in [("kotlin", &kotlin_dir), ("swift", &swift_dir)] {
        header(&format!(
            "generate {language} bindings into {}",
            dir.display()
        ));
        let _ = std::fs::remove_dir_all(dir);
        run(util::cmd(&bindgen)
            .args(["generate", "--no-format", "--library"])
            .arg(&library)
            .args(["--language", language, "--out-dir"])
            .arg(dir))?;
    }

    let root = util::root();
    for (file, dest) in SWIFT_PACKAGE_FILES {
        util::copy(&swift_dir.join(file), &root.join(dest))?;
    }
    println!(
        "bindings ready: {} and {}",
        kotlin_dir.display(),
        swift_dir.display()
    );
    Ok(Generated {
        lib_dir,
        kotlin_dir,
        swift_dir,
    })
}

/// CI check: the generated code is not committed (so it cannot be stale); if some is, it must match.
pub fn check_not_stale() -> Result {
    let generated = generate_all(Profile::Dev)?;
    let root = util::root();
    let tracked = util::output(util::cmd("git").args(["ls-files", "--", "bindings", "examples"]))?;
    let mut stale = Vec::new();
    for path in tracked.lines() {
        let name = path.rsplit('/').next().unwrap_or(path);
        let fresh = match name {
            "MomentsSDK.swift" | "MomentsFFI.h" => generated.swift_dir.join(name),
            "moments_ffi.kt" => generated.kotlin_dir.join("com/moments/sdk/moments_ffi.kt"),
            _ => continue,
        };
        let committed = std::fs::read(root.join(path)).unwrap_or_default();
        let fresh = std::fs::read(&fresh).map_err(|e| format!("read {}: {e}", fresh.display()))?;
        if committed != fresh {
            stale.push(path.to_owned());
        }
    }
    if stale.is_empty() {
        println!(
            "bindings: generated code is not committed, or matches what the current Rust generates"
        );
        Ok(())
    } else {
        Err(format!(
            "committed generated bindings are stale, run `cargo xtask bindings`: {}",
            stale.join(", ")
        ))
    }
}
