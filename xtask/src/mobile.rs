//! Packaging for devices: Android `jniLibs`, the iOS xcframework, and the size of the shipped library.

use std::path::{Path, PathBuf};

use crate::bindings;
use crate::util::{self, Profile, Result, cargo, header, run};

/// Android ABIs and their Rust targets and NDK clang prefixes.
const ANDROID_ABIS: &[(&str, &str, &str)] = &[
    (
        "arm64-v8a",
        "aarch64-linux-android",
        "aarch64-linux-android",
    ),
    (
        "armeabi-v7a",
        "armv7-linux-androideabi",
        "armv7a-linux-androideabi",
    ),
    ("x86_64", "x86_64-linux-android", "x86_64-linux-android"),
    ("x86", "i686-linux-android", "i686-linux-android"),
];

/// `cargo xtask android [ABI…]`: `bindings/kotlin/android/src/main/jniLibs/<abi>/libmoments_ffi.so`, the way
/// cargo-ndk does it (NDK clang as linker per target), mobile profile. Needs `ANDROID_NDK_HOME`.
pub fn android(abis: &[String]) -> Result {
    let Some(ndk) = std::env::var_os("ANDROID_NDK_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
    else {
        return Err(
            "ANDROID_NDK_HOME is not set to an Android NDK (r26 or newer); install the NDK \
                    (sdkmanager \"ndk;27.2.12479018\") and export ANDROID_NDK_HOME, then run again"
                .into(),
        );
    };
    let host = if cfg!(target_os = "macos") {
        "darwin-x86_64"
    } else {
        "linux-x86_64"
    };
    let bin = ndk.join("toolchains/llvm/prebuilt").join(host).join("bin");
    if !bin.is_dir() {
        return Err(format!(
            "{} not found: is ANDROID_NDK_HOME an NDK?",
            bin.display()
        ));
    }
    let api = std::env::var("ANDROID_MIN_SDK").unwrap_or_else(|_| "24".into());
    // Kotlin sources for the Android module come from the same generator.
    bindings::generate_all(Profile::Dev)?;

    let out = util::root().join("bindings/kotlin/android/src/main/jniLibs");
    for &(abi, target, clang) in ANDROID_ABIS {
        if !abis.is_empty() && !abis.iter().any(|a| a == abi) {
            continue;
        }
        header(&format!("Android {abi} ({target}, API {api})"));
        run(util::cmd("rustup").args(["target", "add", target]))?;
        let linker = bin.join(format!("{clang}{api}-clang"));
        let env_target = target.replace('-', "_");
        run(cargo()
            .args([
                "build",
                "-p",
                "moments-ffi",
                "--lib",
                "--profile",
                "mobile",
                "--target",
                target,
            ])
            .env(
                format!("CARGO_TARGET_{}_LINKER", env_target.to_uppercase()),
                &linker,
            )
            .env(format!("CC_{env_target}"), &linker)
            .env(format!("AR_{env_target}"), bin.join("llvm-ar")))?;
        let built = util::target_dir()
            .join(target)
            .join("mobile/libmoments_ffi.so");
        util::copy(&built, &out.join(abi).join("libmoments_ffi.so"))?;
        println!("{} -> {}", built.display(), out.join(abi).display());
    }
    println!("jniLibs ready under {}", out.display());
    Ok(())
}

/// `cargo xtask xcframework`: `bindings/swift/MomentsFFI.xcframework` (iOS device, iOS simulator, macOS).
pub fn xcframework() -> Result {
    if util::which("xcodebuild").is_none() {
        return Err(
            "xcodebuild not found: the xcframework is built on macOS with Xcode installed".into(),
        );
    }
    let generated = bindings::generate_all(Profile::Dev)?;
    let slices: &[(&str, &[&str])] = &[
        ("ios", &["aarch64-apple-ios"]),
        (
            "ios-simulator",
            &["aarch64-apple-ios-sim", "x86_64-apple-ios"],
        ),
        ("macos", &["aarch64-apple-darwin", "x86_64-apple-darwin"]),
    ];
    let work = util::target_dir().join("xcframework");
    let _ = std::fs::remove_dir_all(&work);
    let headers = work.join("headers");
    util::copy(
        &generated.swift_dir.join("MomentsFFI.h"),
        &headers.join("MomentsFFI.h"),
    )?;
    std::fs::write(
        headers.join("module.modulemap"),
        "module MomentsFFI {\n    header \"MomentsFFI.h\"\n    export *\n}\n",
    )
    .map_err(|e| e.to_string())?;

    let mut args: Vec<String> = vec!["-create-xcframework".into()];
    for (name, targets) in slices {
        header(&format!("xcframework slice {name}"));
        let mut libs = Vec::new();
        for target in *targets {
            run(util::cmd("rustup").args(["target", "add", target]))?;
            run(cargo().args([
                "build",
                "-p",
                "moments-ffi",
                "--lib",
                "--profile",
                "mobile",
                "--target",
                target,
            ]))?;
            libs.push(
                util::target_dir()
                    .join(target)
                    .join("mobile/libmoments_ffi.a"),
            );
        }
        let fat = work.join(name).join("libmoments_ffi.a");
        std::fs::create_dir_all(fat.parent().expect("has a parent")).map_err(|e| e.to_string())?;
        run(util::cmd("lipo")
            .arg("-create")
            .args(&libs)
            .arg("-output")
            .arg(&fat))?;
        args.extend([
            "-library".into(),
            fat.display().to_string(),
            "-headers".into(),
            headers.display().to_string(),
        ]);
    }
    let output = util::root().join("bindings/swift/MomentsFFI.xcframework");
    let _ = std::fs::remove_dir_all(&output);
    args.extend(["-output".into(), output.display().to_string()]);
    run(util::cmd("xcodebuild").args(&args))?;
    println!("{} ready", output.display());
    Ok(())
}

/// `cargo xtask lib-size`: the `mobile` profile (opt-level z, LTO, one codegen unit, symbols stripped).
pub fn lib_size() -> Result {
    header("build moments-ffi with the mobile profile");
    run(cargo()
        .args(["build", "-p", "moments-ffi", "--lib"])
        .args(Profile::Mobile.cargo_args()))?;
    let dir = util::target_dir().join(Profile::Mobile.dir());
    let cdylib = dir.join(util::cdylib_name("moments_ffi"));
    let staticlib = dir.join(if cfg!(windows) {
        "moments_ffi.lib"
    } else {
        "libmoments_ffi.a"
    });
    header("stripped sizes (mobile profile, this host's target)");
    // The cdylib is stripped by the profile; the static library is stripped of debug info here (a copy), as
    // Xcode does when it links the app.
    let stripped_static = dir.join("stripped").join("libmoments_ffi.a");
    util::copy(&staticlib, &stripped_static)?;
    if util::which("strip").is_some() {
        let flag = if cfg!(target_os = "macos") {
            "-S"
        } else {
            "--strip-debug"
        };
        run(util::cmd("strip").arg(flag).arg(&stripped_static))?;
    }
    println!("{:<48} {:>12}", "artifact", "bytes");
    for (label, path) in [
        ("cdylib (stripped by the profile)", &cdylib),
        ("staticlib (as built)", &staticlib),
        ("staticlib (debug info stripped)", &stripped_static),
    ] {
        println!(
            "{:<48} {:>12}  ({})",
            label,
            size(path)?,
            human(size(path)?)
        );
    }
    Ok(())
}

fn size(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn human(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}
