//! Packaging for devices: Android `jniLibs`, the iOS xcframework, and the size of the shipped library.

use std::path::{Path, PathBuf};
use std::process::Command;

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
    // The Android module's minSdk (bindings/kotlin/android/build.gradle.kts): java.time without desugaring.
    let api = std::env::var("ANDROID_MIN_SDK").unwrap_or_else(|_| "26".into());
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
        run(ffi_build("cdylib", Some(target))
            .env(
                format!("CARGO_TARGET_{}_LINKER", env_target.to_uppercase()),
                &linker,
            )
            .env(format!("CC_{env_target}"), &linker)
            .env(format!("AR_{env_target}"), bin.join("llvm-ar")))?;
        let built = util::target_dir()
            .join(target)
            .join("mobile/libmoments_ffi.so");
        check_16k_pages(&built)?;
        util::copy(&built, &out.join(abi).join("libmoments_ffi.so"))?;
        println!("{} -> {}", built.display(), out.join(abi).display());
    }
    println!("jniLibs ready under {}", out.display());
    Ok(())
}

/// `cargo xtask xcframework`: `bindings/swift/MomentsFFI.xcframework` (iOS device, iOS simulator, macOS), which
/// the root `Package.swift` uses when it exists, then its zip for a `binaryTarget(url:checksum:)` and the zip's
/// checksum (`swift package compute-checksum`) in `target/swift/`.
pub fn xcframework() -> Result {
    let (zip, checksum) = crate::artifacts::xcframework_zip(&util::target_dir().join("swift"))?;
    println!(
        "zip: {}\nchecksum: {} ({})",
        zip.display(),
        std::fs::read_to_string(&checksum)
            .unwrap_or_default()
            .trim(),
        checksum.display()
    );
    Ok(())
}

/// Builds `bindings/swift/MomentsFFI.xcframework` (iOS device, iOS simulator, macOS); returns its path.
pub fn build_xcframework() -> Result<PathBuf> {
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
            run(&mut ffi_build("staticlib", Some(target)))?;
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
    Ok(output)
}

/// The page size every loadable segment of the shipped ELF libraries is aligned to: 16 KB, for Android devices
/// with 16 KB pages (crates/moments-ffi/build.rs passes `-z max-page-size=16384` to the linker).
pub const PAGE_ALIGNMENT: u64 = 16 * 1024;

/// Fails unless every `PT_LOAD` segment of the ELF library at `path` is aligned to [`PAGE_ALIGNMENT`] or more.
pub fn check_16k_pages(path: &Path) -> Result {
    let bytes = std::fs::read(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let aligns = load_alignments(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    match aligns.iter().find(|a| **a < PAGE_ALIGNMENT) {
        None => {
            println!(
                "{}: {} PT_LOAD segments, each aligned to {} bytes or more (16 KB pages)",
                path.display(),
                aligns.len(),
                PAGE_ALIGNMENT
            );
            Ok(())
        }
        Some(align) => Err(format!(
            "{}: a PT_LOAD segment is aligned to {align} bytes, not {PAGE_ALIGNMENT}: it cannot load on \
             16 KB-page Android devices (is crates/moments-ffi/build.rs's max-page-size flag applied?)",
            path.display()
        )),
    }
}

/// The `p_align` of every `PT_LOAD` program header of an ELF file (32- or 64-bit, little- or big-endian).
fn load_alignments(elf: &[u8]) -> std::result::Result<Vec<u64>, String> {
    const PT_LOAD: u32 = 1;
    if elf.len() < 0x34 || &elf[..4] != b"\x7fELF" {
        return Err("not an ELF file".into());
    }
    let wide = match elf[4] {
        1 => false,
        2 => true,
        class => return Err(format!("unknown ELF class {class}")),
    };
    let little = match elf[5] {
        1 => true,
        2 => false,
        data => return Err(format!("unknown ELF data encoding {data}")),
    };
    let read = |at: usize, len: usize| -> std::result::Result<u64, String> {
        let field = elf
            .get(at..at + len)
            .ok_or_else(|| format!("truncated ELF file (offset {at})"))?;
        let mut value = 0u64;
        for i in 0..len {
            let byte = if little { field[len - 1 - i] } else { field[i] };
            value = (value << 8) | u64::from(byte);
        }
        Ok(value)
    };
    // e_phoff, e_phentsize, e_phnum; in a program header: p_type, p_align.
    let (phoff, phentsize, phnum) = if wide {
        (read(0x20, 8)?, read(0x36, 2)?, read(0x38, 2)?)
    } else {
        (read(0x1c, 4)?, read(0x2a, 2)?, read(0x2c, 2)?)
    };
    let (align_at, align_len) = if wide { (0x30, 8) } else { (0x1c, 4) };
    let mut aligns = Vec::new();
    for i in 0..phnum {
        let header = usize::try_from(phoff + i * phentsize).map_err(|e| e.to_string())?;
        if read(header, 4)? == u64::from(PT_LOAD) {
            aligns.push(read(header + align_at, align_len)?);
        }
    }
    if aligns.is_empty() {
        return Err("no PT_LOAD segment".into());
    }
    Ok(aligns)
}

/// The size budget of the stripped cdylib (x86_64, `mobile` profile, outbox included), in bytes.
const CDYLIB_TARGET_BYTES: u64 = 4_000_000;

/// `cargo rustc` building one output of `moments-ffi` with the `mobile` profile.
///
/// `moments-ffi` declares `lib` and `cdylib` (the `staticlib` is asked for here); when an rlib is among
/// the outputs of one rustc call, rustc silently skips LTO for all of them (rust-lang/rust#51009,
/// rust-lang/cargo#9672): `cargo build --profile mobile` gave a cdylib without LTO, about 1 MB larger.
/// `--crate-type` builds just the one output, with LTO.
fn ffi_build(crate_type: &str, target: Option<&str>) -> Command {
    let mut c = cargo();
    c.args([
        "rustc",
        "-p",
        "moments-ffi",
        "--lib",
        "--crate-type",
        crate_type,
    ])
    .args(Profile::Mobile.cargo_args());
    if let Some(target) = target {
        c.args(["--target", target]);
    }
    c
}

/// `cargo xtask lib-size`: the `mobile` profile (opt-level z, LTO, one codegen unit, symbols stripped) for
/// this host's target: the largest contributors (from an unstripped build), then the shipped cdylib against
/// its budget (an error when over it on x86_64 Linux), then the staticlib, then (for information) the testing
/// kit's mock library, which apps do not ship. The mock's library is built by a cargo invocation of its own, so
/// its dependencies' features never reach the SDK's build.
pub fn lib_size() -> Result {
    let dir = util::target_dir().join(Profile::Mobile.dir());
    let cdylib = dir.join(util::cdylib_name("moments_ffi"));
    let work = dir.join("lib-size");

    // Contributors first, from the same build with symbols kept (only the final link differs; the
    // dependencies are reused), so that the shipped build below is what stays in `target/mobile`.
    header("largest contributors (cdylib, mobile profile, symbols kept)");
    if util::which("nm").is_some() && cfg!(target_os = "linux") {
        run(ffi_build("cdylib", None).args(["--", "-C", "strip=none"]))?;
        let unstripped = work.join(util::cdylib_name("moments_ffi_unstripped"));
        util::copy(&cdylib, &unstripped)?;
        contributors(&unstripped, &dir)?;
    } else {
        println!("(skipped: needs Linux and `nm` from binutils or LLVM)");
    }

    header("cdylib, as shipped (mobile profile)");
    run(&mut ffi_build("cdylib", None))?;
    let cdylib_bytes = size(&cdylib)?;
    if cfg!(any(target_os = "linux", target_os = "android")) {
        check_16k_pages(&cdylib)?;
    }
    // A copy next to the unstripped one: the next contributors run overwrites `target/mobile`'s.
    util::copy(&cdylib, &work.join(util::cdylib_name("moments_ffi")))?;

    header("staticlib, as shipped (mobile profile)");
    run(&mut ffi_build("staticlib", None))?;
    let staticlib = dir.join(if cfg!(windows) {
        "moments_ffi.lib"
    } else {
        "libmoments_ffi.a"
    });
    // The static library is stripped of debug info here (a copy), as Xcode does when it links the app.
    let stripped_static = work.join("libmoments_ffi.a");
    util::copy(&staticlib, &stripped_static)?;
    if util::which("strip").is_some() {
        let flag = if cfg!(target_os = "macos") {
            "-S"
        } else {
            "--strip-debug"
        };
        run(util::cmd("strip").arg(flag).arg(&stripped_static))?;
    }

    header("the testing kit's mock library (moments-mock-ffi, mobile profile; not in apps)");
    run(cargo()
        .args([
            "rustc",
            "-p",
            "moments-mock-ffi",
            "--lib",
            "--crate-type",
            "cdylib",
        ])
        .args(Profile::Mobile.cargo_args()))?;
    let mock_bytes = size(&dir.join(util::cdylib_name("moments_mock_ffi")))?;

    header("sizes (mobile profile, this host's target)");
    println!("{:<48} {:>12}", "artifact", "bytes");
    for (label, bytes) in [
        ("cdylib (stripped by the profile)", cdylib_bytes),
        ("staticlib (as built)", size(&staticlib)?),
        ("staticlib (debug info stripped)", size(&stripped_static)?),
        (
            "testing kit's mock cdylib (moments-sdk-testing)",
            mock_bytes,
        ),
    ] {
        println!("{label:<48} {bytes:>12}  ({})", human(bytes));
    }
    let verdict = if cdylib_bytes <= CDYLIB_TARGET_BYTES {
        format!(
            "within budget, {} bytes to spare",
            CDYLIB_TARGET_BYTES - cdylib_bytes
        )
    } else {
        format!(
            "OVER budget by {} bytes",
            cdylib_bytes - CDYLIB_TARGET_BYTES
        )
    };
    println!("cdylib budget: {CDYLIB_TARGET_BYTES} bytes (x86_64, outbox included): {verdict}");
    // The budget is set for x86_64 Linux; elsewhere the figure is informative only.
    if cdylib_bytes > CDYLIB_TARGET_BYTES && cfg!(all(target_os = "linux", target_arch = "x86_64"))
    {
        return Err(format!(
            "the cdylib ({cdylib_bytes} bytes) is over its {CDYLIB_TARGET_BYTES}-byte budget"
        ));
    }
    Ok(())
}

/// Prints the sections of `lib` and its largest symbols, grouped by crate. Rust symbols are attributed by
/// their demangled path (generic code counts for the crate that defines the function, as cargo-bloat
/// does); C and assembly symbols by the build-script archives (`build/*/out/*.a`) that define them.
fn contributors(lib: &Path, profile_dir: &Path) -> Result {
    println!("{} bytes unstripped: {}", size(lib)?, lib.display());
    if util::which("size").is_some() {
        println!("\n{:<24} {:>12}", "section", "bytes");
        let out = util::output(util::cmd("size").arg("-A").arg(lib))?;
        let mut sections: Vec<(String, u64)> = out
            .lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                let (name, bytes) = (it.next()?, it.next()?.parse().ok()?);
                (name.starts_with('.') && !name.starts_with(".debug"))
                    .then(|| (name.to_owned(), bytes))
            })
            .collect();
        sections.sort_by_key(|s| std::cmp::Reverse(s.1));
        for (name, bytes) in sections.iter().take(8) {
            println!("{name:<24} {bytes:>12}");
        }
    }

    let native = native_symbols(profile_dir);
    let out = util::output(
        util::cmd("nm")
            .args([
                "--print-size",
                "--size-sort",
                "--demangle",
                "--defined-only",
            ])
            .arg(lib),
    )?;
    let mut by_crate: std::collections::HashMap<String, u64> = Default::default();
    let mut symbols: Vec<(u64, String, String)> = Vec::new();
    for line in out.lines() {
        // `<address> <size> <type> <name…>`
        let mut it = line.splitn(4, ' ');
        let (Some(_), Some(bytes), Some(_kind), Some(name)) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            continue;
        };
        let Ok(bytes) = u64::from_str_radix(bytes, 16) else {
            continue;
        };
        let owner = owner_of(name, &native);
        *by_crate.entry(owner.clone()).or_default() += bytes;
        symbols.push((bytes, owner, name.to_owned()));
    }
    let mut crates: Vec<_> = by_crate.into_iter().collect();
    crates.sort_by_key(|c| std::cmp::Reverse(c.1));
    let total: u64 = crates.iter().map(|c| c.1).sum();
    println!(
        "\n{:<40} {:>12} {:>6}",
        "crate (code and named data)", "bytes", "share"
    );
    for (name, bytes) in crates.iter().take(20) {
        println!(
            "{name:<40} {bytes:>12} {:>5.1}%",
            *bytes as f64 * 100.0 / total as f64
        );
    }
    println!("{:<40} {total:>12}", "all named symbols");
    symbols.sort_by_key(|s| std::cmp::Reverse(s.0));
    println!("\n{:>8}  {:<18} symbol", "bytes", "crate");
    for (bytes, owner, name) in symbols.iter().take(15) {
        let name: String = name.chars().take(100).collect();
        println!("{bytes:>8}  {owner:<18} {name}");
    }
    println!(
        "\nNot in the symbol table: unwind tables (.eh_frame, .gcc_except_table: kept, panics unwind), \
         dynamic relocations and anonymous constants. cargo-bloat is not used: it builds every crate \
         type at once, where rustc skips LTO."
    );
    Ok(())
}

/// Symbols defined by C/assembly archives of build scripts (`build/<package>-<hash>/out/*.a`), mapped to
/// the package; the newest build of each package wins.
fn native_symbols(profile_dir: &Path) -> std::collections::HashMap<String, String> {
    let mut newest: std::collections::HashMap<String, (std::time::SystemTime, Vec<PathBuf>)> =
        Default::default();
    let Ok(builds) = std::fs::read_dir(profile_dir.join("build")) else {
        return Default::default();
    };
    for build in builds.flatten() {
        let name = build.file_name().to_string_lossy().into_owned();
        let Some((package, _hash)) = name.rsplit_once('-') else {
            continue;
        };
        let Ok(files) = std::fs::read_dir(build.path().join("out")) else {
            continue;
        };
        let archives: Vec<PathBuf> = files
            .flatten()
            .map(|f| f.path())
            .filter(|p| p.extension().is_some_and(|e| e == "a"))
            .collect();
        let Some(modified) = archives
            .iter()
            .filter_map(|a| a.metadata().and_then(|m| m.modified()).ok())
            .max()
        else {
            continue;
        };
        let entry = newest
            .entry(package.to_owned())
            .or_insert((modified, Vec::new()));
        if modified >= entry.0 {
            *entry = (modified, archives);
        }
    }
    let mut owners = std::collections::HashMap::new();
    for (package, (_, archives)) in newest {
        for archive in archives {
            let Ok(out) = util::output(util::cmd("nm").args(["--defined-only"]).arg(&archive))
            else {
                continue;
            };
            for line in out.lines() {
                if let Some(symbol) = line.split_whitespace().nth(2) {
                    owners.insert(symbol.to_owned(), format!("{package} (C)"));
                }
            }
        }
    }
    owners
}

/// The crate a (demangled) symbol belongs to.
fn owner_of(name: &str, native: &std::collections::HashMap<String, String>) -> String {
    if let Some(package) = native.get(name) {
        return package.clone();
    }
    if name.starts_with("uniffi_moments_ffi_")
        || name.starts_with("ffi_moments_ffi_")
        || name.starts_with("UNIFFI_META_")
    {
        return "moments_ffi (uniffi exports)".into();
    }
    // `<&mut serde_json::de::Deserializer<R> as …>::f` → `serde_json`; `core::ptr::…` → `core`.
    let path = name.trim_start_matches(['<', '&', '*', '(', '[', ' ']);
    let path = ["mut ", "const ", "dyn "]
        .iter()
        .fold(path, |p, prefix| p.strip_prefix(prefix).unwrap_or(p));
    match path.split_once("::") {
        Some((krate, _)) if !krate.is_empty() && !krate.contains([' ', '<', '>']) => match krate {
            "core" | "alloc" | "std" | "std_detect" | "panic_unwind" | "unwind" | "gimli"
            | "addr2line" | "miniz_oxide" | "rustc_demangle" | "adler2" | "object" => "std".into(),
            _ => krate.to_owned(),
        },
        _ => "other (C, assembly, no_mangle)".into(),
    }
}

fn size(path: &Path) -> Result<u64> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn human(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF file: the header and one program header per `(p_type, p_align)`.
    fn elf(wide: bool, little: bool, headers: &[(u32, u64)]) -> Vec<u8> {
        let (ehsize, phentsize) = if wide { (64, 56) } else { (52, 32) };
        let mut out = vec![0u8; ehsize + phentsize * headers.len()];
        out[..4].copy_from_slice(b"\x7fELF");
        out[4] = if wide { 2 } else { 1 };
        out[5] = if little { 1 } else { 2 };
        let mut put = |at: usize, len: usize, value: u64| {
            for i in 0..len {
                let byte = (value >> (8 * i)) as u8;
                out[if little { at + i } else { at + len - 1 - i }] = byte;
            }
        };
        let count = headers.len() as u64;
        if wide {
            put(0x20, 8, ehsize as u64);
            put(0x36, 2, phentsize as u64);
            put(0x38, 2, count);
        } else {
            put(0x1c, 4, ehsize as u64);
            put(0x2a, 2, phentsize as u64);
            put(0x2c, 2, count);
        }
        for (i, &(kind, align)) in headers.iter().enumerate() {
            let at = ehsize + i * phentsize;
            put(at, 4, u64::from(kind));
            if wide {
                put(at + 0x30, 8, align);
            } else {
                put(at + 0x1c, 4, align);
            }
        }
        out
    }

    #[test]
    fn load_alignments_are_read_from_32_and_64_bit_headers_of_either_byte_order() {
        // PT_LOAD = 1, PT_DYNAMIC = 2 (ignored), PT_GNU_STACK (ignored).
        let headers = [(1, 0x4000), (2, 8), (1, 0x1000), (0x6474_e551, 16)];
        for wide in [true, false] {
            for little in [true, false] {
                assert_eq!(
                    load_alignments(&elf(wide, little, &headers)).unwrap(),
                    vec![0x4000, 0x1000],
                    "wide {wide}, little {little}"
                );
            }
        }
        assert!(
            load_alignments(b"not an elf file at all, but long enough for a header.....").is_err()
        );
        assert!(
            load_alignments(&elf(true, true, &[(2, 8)])).is_err(),
            "no PT_LOAD"
        );
        let mut truncated = elf(true, true, &headers);
        truncated.truncate(80);
        assert!(load_alignments(&truncated).is_err());
    }

    #[test]
    fn a_library_with_a_4k_segment_is_refused_and_one_with_16k_segments_passes() {
        let dir = tempfile_dir();
        let four = dir.join("four.so");
        std::fs::write(&four, elf(true, true, &[(1, 0x4000), (1, 0x1000)])).unwrap();
        assert!(
            check_16k_pages(&four)
                .unwrap_err()
                .contains("aligned to 4096")
        );
        let sixteen = dir.join("sixteen.so");
        std::fs::write(&sixteen, elf(false, true, &[(1, 0x4000), (1, 0x10000)])).unwrap();
        check_16k_pages(&sixteen).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-elf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
