//! Builds the native library and generates the Kotlin and Swift bindings (uniffi library mode).
//!
//! The generated code is committed (so the Swift package and the Kotlin sources work from a checkout):
//! `cargo xtask bindings` generates into `target/bindings/` and copies the files to [`COMMITTED`]. CI's
//! [`check_not_stale`] generates afresh into a scratch folder and fails when a committed file differs, and the
//! Kotlin and Swift tests compile the committed files.
//!
//! The generated Kotlin is post-processed by [`tune_kotlin`] (rewrites of uniffi 0.32's JNA glue that cut
//! the fixed cost of every call); every Kotlin generation goes through [`generate_kotlin`].

use std::path::{Path, PathBuf};

use crate::util::{self, Profile, Result, cargo, header, run};

/// Paths produced by `generate_all`.
pub struct Generated {
    /// Where this generation wrote the Swift files (their committed copies are in [`COMMITTED`]).
    pub swift_dir: PathBuf,
}

/// The committed Kotlin sources' root (Maven and the Android module compile it), relative to the repository root.
pub const KOTLIN_DIR: &str = "bindings/kotlin/generated";

/// Every generated file that is committed: (output folder, file relative to it, its committed path relative to
/// the repository root). SwiftPM compiles the Swift files where they are committed (root `Package.swift`): the
/// generated Swift is its own module, `MomentsBindings`, which the hand-written `MomentsSDK` module wraps.
pub const COMMITTED: &[(Language, &str, &str)] = &[
    (
        Language::Kotlin,
        KOTLIN_FILE,
        "bindings/kotlin/generated/com/moments/sdk/internal/moments_ffi.kt",
    ),
    (
        Language::KotlinAndroid,
        KOTLIN_FILE,
        "bindings/kotlin/android/generated/com/moments/sdk/internal/moments_ffi.kt",
    ),
    (
        Language::Swift,
        "MomentsSDK.swift",
        "bindings/swift/Sources/MomentsBindings/MomentsBindings.swift",
    ),
    (
        Language::Swift,
        "MomentsFFI.h",
        "bindings/swift/Sources/MomentsFFI/include/MomentsFFI.h",
    ),
];

/// Generated files that are not committed: the Swift package has its own `module.modulemap`.
const NOT_COMMITTED: &[(Language, &str)] = &[(Language::Swift, "MomentsFFI.modulemap")];

/// A generated language, and the folder of a generation it writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Language {
    /// Kotlin for the JVM (the Maven build; `java.lang.ref.Cleaner` releases native objects).
    Kotlin,
    /// Kotlin for Android (the Gradle module): the same code, generated with [`ANDROID_CONFIG`]
    /// (`android_cleaner`: Android's `SystemCleaner` from API 34, JNA's cleaner before).
    KotlinAndroid,
    Swift,
}

/// Builds `moments-ffi` in `profile`; returns the folder holding its cdylib and staticlib.
pub fn build_library(profile: Profile) -> Result<PathBuf> {
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
    Ok(lib_dir)
}

/// Builds `uniffi-bindgen`; returns its path.
pub(crate) fn build_bindgen() -> Result<PathBuf> {
    header("build uniffi-bindgen");
    run(cargo().args(["build", "-p", "uniffi-bindgen"]))?;
    Ok(util::target_dir().join("debug").join(if cfg!(windows) {
        "uniffi-bindgen.exe"
    } else {
        "uniffi-bindgen"
    }))
}

/// Generates both languages from the library in `lib_dir` into `out/kotlin` and `out/swift` (emptied first).
fn generate_into(bindgen: &Path, lib_dir: &Path, out: &Path) -> Result {
    let library = lib_dir.join(util::cdylib_name("moments_ffi"));
    generate_kotlin(bindgen, &library, &out.join("kotlin"))?;
    generate_kotlin_android(bindgen, &library, &out.join("kotlin-android"))?;
    let swift_dir = out.join("swift");
    header(&format!(
        "generate swift bindings into {}",
        swift_dir.display()
    ));
    let _ = std::fs::remove_dir_all(&swift_dir);
    run(util::cmd(bindgen)
        .args(["generate", "--no-format", "--library"])
        .arg(&library)
        .args(["--language", "swift", "--out-dir"])
        .arg(&swift_dir))
}

/// The folder of `language` in a generation written to `out`.
fn language_dir(out: &Path, language: Language) -> PathBuf {
    out.join(match language {
        Language::Kotlin => "kotlin",
        Language::KotlinAndroid => "kotlin-android",
        Language::Swift => "swift",
    })
}

/// `cargo xtask bindings`: builds `moments-ffi` in `profile`, generates both languages into `target/bindings/`
/// and copies the committed files ([`COMMITTED`]) into place.
pub fn generate_all(profile: Profile) -> Result<Generated> {
    let lib_dir = build_library(profile)?;
    let bindgen = build_bindgen()?;
    let out = util::target_dir().join("bindings");
    generate_into(&bindgen, &lib_dir, &out)?;
    let root = util::root();
    for (language, file, committed) in COMMITTED {
        util::copy(
            &language_dir(&out, *language).join(file),
            &root.join(committed),
        )?;
    }
    println!(
        "bindings generated into {} and copied to: {}",
        out.display(),
        COMMITTED.iter().map(|c| c.2).collect::<Vec<_>>().join(", ")
    );
    Ok(Generated {
        swift_dir: language_dir(&out, Language::Swift),
    })
}

/// The generated Kotlin file, relative to the Kotlin output folder.
pub const KOTLIN_FILE: &str = "com/moments/sdk/internal/moments_ffi.kt";

/// The uniffi configuration merged over `crates/moments-ffi/uniffi.toml` for the Android module's Kotlin.
pub const ANDROID_CONFIG: &str = "crates/moments-ffi/uniffi-android.toml";

/// Generates the Kotlin bindings of `library` for the JVM into `dir` (emptied first) and applies
/// [`tune_kotlin`] to them.
pub fn generate_kotlin(bindgen: &Path, library: &Path, dir: &Path) -> Result {
    generate_kotlin_with(bindgen, library, dir, None)
}

/// Generates the Kotlin bindings of `library` for Android ([`ANDROID_CONFIG`]) into `dir`, like [`generate_kotlin`].
pub fn generate_kotlin_android(bindgen: &Path, library: &Path, dir: &Path) -> Result {
    generate_kotlin_with(
        bindgen,
        library,
        dir,
        Some(&util::root().join(ANDROID_CONFIG)),
    )
}

fn generate_kotlin_with(
    bindgen: &Path,
    library: &Path,
    dir: &Path,
    config: Option<&Path>,
) -> Result {
    header(&format!("generate kotlin bindings into {}", dir.display()));
    let _ = std::fs::remove_dir_all(dir);
    let mut generate = util::cmd(bindgen);
    generate
        .args(["generate", "--no-format", "--library"])
        .arg(library)
        .args(["--language", "kotlin", "--out-dir"])
        .arg(dir);
    if let Some(config) = config {
        generate.arg("--config").arg(config);
    }
    run(&mut generate)?;
    let file = dir.join(KOTLIN_FILE);
    let source =
        std::fs::read_to_string(&file).map_err(|e| format!("read {}: {e}", file.display()))?;
    // uniffi ignores (with a warning) a --config file it does not understand: check that it applied.
    if config.is_some() && !source.contains("android.system.SystemCleaner") {
        return Err(format!(
            "{}: generated without android_cleaner; is {ANDROID_CONFIG} in uniffi's --config format?",
            file.display()
        ));
    }
    let tuned = tune_kotlin(&source).map_err(|e| format!("{}: {e}", file.display()))?;
    std::fs::write(&file, tuned).map_err(|e| format!("write {}: {e}", file.display()))?;
    println!(
        "kotlin bindings post-processed ({} rewrites)",
        KOTLIN_REWRITES.len()
    );
    Ok(())
}

/// One rewrite of the generated Kotlin: what it does, the exact text uniffi generates, its replacement.
struct Rewrite {
    what: &'static str,
    find: &'static str,
    replace: &'static str,
}

/// The rewrites, written against uniffi 0.32's Kotlin templates. Each must match exactly once: after a uniffi
/// upgrade that changes the templates, generation fails here instead of silently shipping slower bindings.
const KOTLIN_REWRITES: &[Rewrite] = &[
    Rewrite {
        what: "reuse RustCallStatus objects per thread instead of allocating a JNA Structure (native memory, \
               Cleaner registration, reflection) for every FFI call",
        find: "private inline fun <U, E: kotlin.Exception> uniffiRustCallWithError(errorHandler: UniffiRustCallStatusErrorHandler<E>, callback: (UniffiRustCallStatus) -> U): U {
    var status = UniffiRustCallStatus()
    val return_value = callback(status)
    uniffiCheckCallStatus(errorHandler, status)
    return return_value
}
",
        replace: "private inline fun <U, E: kotlin.Exception> uniffiRustCallWithError(errorHandler: UniffiRustCallStatusErrorHandler<E>, callback: (UniffiRustCallStatus) -> U): U {
    // Moments (xtask/src/bindings.rs): a status from this thread's pool, not a new JNA Structure per call.
    val status = UniffiRustCallStatusPool.take()
    try {
        val return_value = callback(status)
        uniffiCheckCallStatus(errorHandler, status)
        return return_value
    } finally {
        UniffiRustCallStatusPool.give(status)
    }
}

// Moments (xtask/src/bindings.rs): reusable RustCallStatus objects per thread, a few deep: a call's arguments are
// lowered inside its status' scope, and lowering a string is itself an FFI call (RustBuffer.alloc), so one slot
// would leave the nested call allocating. A status is never shared by two calls in flight: each is taken off the
// stack for the length of its call (a nested call from a callback takes the next or allocates).
private object UniffiRustCallStatusPool {
    private class Slots {
        val items = arrayOfNulls<UniffiRustCallStatus>(4)
        var size = 0
    }

    private val slots = ThreadLocal.withInitial { Slots() }

    fun take(): UniffiRustCallStatus {
        val s = slots.get()
        if (s.size == 0) {
            return UniffiRustCallStatus()
        }
        s.size -= 1
        val status = s.items[s.size]!!
        s.items[s.size] = null
        status.code = UNIFFI_CALL_SUCCESS
        status.error_buf.capacity = 0
        status.error_buf.len = 0
        status.error_buf.data = null
        return status
    }

    fun give(status: UniffiRustCallStatus) {
        val s = slots.get()
        if (s.size < s.items.size) {
            s.items[s.size] = status
            s.size += 1
        }
    }
}
",
    },
    Rewrite {
        what: "keep the SDK's threads attached to the JVM after they resume a suspended call, instead of JNA \
               attaching and detaching the calling thread on every continuation callback",
        find: "internal object uniffiRustFutureContinuationCallbackImpl: UniffiRustFutureContinuationCallback {
",
        replace: "internal object uniffiRustFutureContinuationCallbackImpl: UniffiRustFutureContinuationCallback {
    init {
        // Moments (xtask/src/bindings.rs): the SDK's runtime threads call this on every wake; JNA would attach
        // and detach them each time. Keep them attached as daemon threads (detached when the thread exits).
        Native.setCallbackThreadInitializer(
            this,
            com.sun.jna.CallbackThreadInitializer(true, false, \"moments-sdk-callback\"),
        )
    }
",
    },
    Rewrite {
        what: "read RustBuffer's three fields directly instead of through JNA's reflection, and build returned \
               buffers through a Pointer constructor instead of the default one plus a copy through a byte array",
        find: "    class ByValue: RustBuffer(), Structure.ByValue
",
        replace: "    class ByValue: RustBuffer, Structure.ByValue {
        constructor() : super()

        // Moments (xtask/src/bindings.rs): JNA builds every RustBuffer a native call returns through this constructor
        // (Structure.newInstance looks for it) instead of the default one followed by a copy through a byte array and
        // a reflective read. The struct keeps its own memory: the pointer is only valid during the call.
        constructor(p: Pointer) : super() {
            if (Pointer.nativeValue(p) != 0L) {
                capacity = p.getLong(0)
                len = p.getLong(8)
                data = p.getPointer(16)
                val own = pointer
                own.setLong(0, capacity)
                own.setLong(8, len)
                own.setPointer(16, data)
            }
        }
    }

    // Moments (xtask/src/bindings.rs): the fields read without reflection. Offsets 0, 8, 16 on every ABI (two 64-bit
    // integers, then the pointer); writes stay JNA's, which also keeps the struct's FFI type information current.
    override fun read() {
        val p = pointer
        capacity = p.getLong(0)
        len = p.getLong(8)
        data = p.getPointer(16)
    }

    // Moments (xtask/src/bindings.rs): the struct's memory comes from a per-thread slab, not a JNA Memory each.
    override fun autoAllocate(size: Int): com.sun.jna.Memory = UniffiStructSlab.allocate(size)

",
    },
    Rewrite {
        what: "read and write RustCallStatus (every FFI call passes one) without JNA's reflection",
        find: "    class ByValue: UniffiRustCallStatus(), Structure.ByValue
",
        replace: "    class ByValue: UniffiRustCallStatus(), Structure.ByValue

    // Moments (xtask/src/bindings.rs): every FFI call writes its status before the call and reads it after; done
    // here field by field instead of by JNA's reflection (and its nested-struct copies).
    override fun read() {
        val p = pointer
        code = p.getByte(0)
        val off = uniffiErrorBufOffset()
        error_buf.capacity = p.getLong(off)
        error_buf.len = p.getLong(off + 8)
        error_buf.data = p.getPointer(off + 16)
    }

    override fun write() {
        val p = pointer
        p.setByte(0, code)
        val off = uniffiErrorBufOffset()
        p.setLong(off, error_buf.capacity)
        p.setLong(off + 8, error_buf.len)
        p.setPointer(off + 16, error_buf.data)
    }

    // Moments (xtask/src/bindings.rs): from the per-thread slab, like RustBuffer's.
    override fun autoAllocate(size: Int): com.sun.jna.Memory = UniffiStructSlab.allocate(size)

    // Where `error_buf` starts (8 on 64-bit ABIs, 4 on 32-bit x86): JNA's layout, looked up once.
    private fun uniffiErrorBufOffset(): Long {
        var off = uniffiRustCallStatusErrorBufOffset
        if (off < 0) {
            off = fieldOffset(\"error_buf\").toLong()
            uniffiRustCallStatusErrorBufOffset = off
        }
        return off
    }
",
    },
    Rewrite {
        what: "set a lowered buffer's length in its field (written with the call's arguments) instead of through \
               Structure.writeField's lookup by name and reflection",
        find: "            rbuf.writeField(\"len\", bbuf.position().toLong())
",
        replace: "            rbuf.len = bbuf.position().toLong() // Moments (xtask/src/bindings.rs): written with the call's arguments
",
    },
    Rewrite {
        what: "the cached offset of RustCallStatus.error_buf",
        find: "@Structure.FieldOrder(\"code\", \"error_buf\")
",
        replace: "// Moments (xtask/src/bindings.rs): see UniffiRustCallStatus.uniffiErrorBufOffset.
@Volatile private var uniffiRustCallStatusErrorBufOffset = -1L

// Moments (xtask/src/bindings.rs): native memory for RustBuffer and RustCallStatus structs. JNA gives every struct
// its own Memory: a malloc, an entry in JNA's map of live allocations and a Cleaner registration (two references
// for the GC to process) for 24 bytes that usually live for one call. Here each thread cuts them from a 4 KiB direct
// buffer; a piece keeps its buffer reachable, and the JVM frees the buffer once no piece of it is.
private object UniffiStructSlab {
    private const val SLAB_BYTES = 4096

    private class Slab {
        val buffer: java.nio.ByteBuffer = java.nio.ByteBuffer.allocateDirect(SLAB_BYTES)
        val base: Long = Pointer.nativeValue(Native.getDirectBufferPointer(buffer))
        var used = 0
    }

    private val current = ThreadLocal<Slab?>()

    fun allocate(size: Int): com.sun.jna.Memory {
        require(size in 1..SLAB_BYTES) { \"struct size $size\" }
        val slot = (size + 15) and 15.inv() // 16-byte aligned, like malloc
        var slab = current.get()
        if (slab == null || slab.used + slot > SLAB_BYTES) {
            slab = Slab()
            current.set(slab)
        }
        val piece = UniffiSlabPiece(slab.buffer, slab.base + slab.used, size.toLong())
        slab.used += slot
        return piece
    }
}

// Moments (xtask/src/bindings.rs): a piece of a slab, zeroed (direct buffers start zeroed, pieces are never reused).
// Holds the slab's buffer so the memory lives as long as the struct; closing it only forgets the address.
private class UniffiSlabPiece(
    @Suppress(\"unused\") private val slab: java.nio.ByteBuffer,
    address: Long,
    bytes: Long,
) : com.sun.jna.Memory() {
    init {
        peer = address
        size = bytes
    }
}

@Structure.FieldOrder(\"code\", \"error_buf\")
",
    },
];

/// Applies [`KOTLIN_REWRITES`] to the generated Kotlin; fails if any pattern is missing or ambiguous.
pub fn tune_kotlin(source: &str) -> Result<String> {
    let mut out = source.to_owned();
    for rewrite in KOTLIN_REWRITES {
        match out.matches(rewrite.find).count() {
            1 => out = out.replacen(rewrite.find, rewrite.replace, 1),
            n => {
                return Err(format!(
                    "post-processing the generated Kotlin ({}): its pattern was found {n} times, expected once; \
                     the uniffi Kotlin templates changed, update KOTLIN_REWRITES in xtask/src/bindings.rs",
                    rewrite.what
                ));
            }
        }
    }
    Ok(out)
}

/// CI check: the committed generated files ([`COMMITTED`]) are byte for byte what the current Rust generates.
pub fn check_not_stale() -> Result {
    checked_library().map(|_| ())
}

/// Builds the library (dev profile) and checks the committed generated files against it: generates afresh into
/// `target/bindings-check/` (the committed files are not touched) and fails naming every committed file that
/// differs or is missing, and every generated file that is neither committed nor known. Returns the library's
/// folder. The Kotlin and Swift tests start here, so they compile committed sources that match the library.
///
/// Done once per xtask process: `cargo xtask ci`'s bindings step and the Kotlin and Swift steps after it
/// share the first answer.
pub fn checked_library() -> Result<PathBuf> {
    static CHECKED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    if let Some(dir) = CHECKED.get() {
        return Ok(dir.clone());
    }
    let dir = check_library()?;
    Ok(CHECKED.get_or_init(|| dir).clone())
}

fn check_library() -> Result<PathBuf> {
    let lib_dir = build_library(Profile::Dev)?;
    let bindgen = build_bindgen()?;
    let out = util::target_dir().join("bindings-check");
    generate_into(&bindgen, &lib_dir, &out)?;
    header("compare the committed generated bindings with the fresh generation");
    let stale = stale_files(&util::root(), &out)?;
    if stale.is_empty() {
        println!(
            "bindings: the {} committed generated files match what the current Rust generates",
            COMMITTED.len()
        );
        return Ok(lib_dir);
    }
    for problem in &stale {
        println!("stale: {problem}");
    }
    Err(format!(
        "the committed generated bindings are stale ({}): run `cargo xtask bindings` and commit the result",
        stale.join("; ")
    ))
}

/// What differs between the committed files under `root` and a generation written to `out`, one entry each.
fn stale_files(root: &Path, out: &Path) -> Result<Vec<String>> {
    let mut stale = Vec::new();
    for (language, file, committed) in COMMITTED {
        let fresh_path = language_dir(out, *language).join(file);
        let fresh = std::fs::read(&fresh_path)
            .map_err(|e| format!("read {}: {e}", fresh_path.display()))?;
        match std::fs::read(root.join(committed)) {
            Ok(bytes) if bytes == fresh => {}
            Ok(bytes) => stale.push(format!(
                "{committed} differs from the generated {} (first difference on line {})",
                fresh_path.display(),
                first_different_line(&bytes, &fresh)
            )),
            Err(e) => stale.push(format!("{committed} is missing ({e})")),
        }
    }
    for language in [Language::Kotlin, Language::KotlinAndroid, Language::Swift] {
        let dir = language_dir(out, language);
        for file in files_under(&dir)? {
            let known = COMMITTED
                .iter()
                .any(|(l, f, _)| *l == language && Path::new(f) == file)
                || NOT_COMMITTED
                    .iter()
                    .any(|(l, f)| *l == language && Path::new(f) == file);
            if !known {
                stale.push(format!(
                    "{} is generated but not committed: add it to COMMITTED in xtask/src/bindings.rs",
                    dir.join(&file).display()
                ));
            }
        }
    }
    Ok(stale)
}

/// The 1-based number of the first line where `a` and `b` differ.
fn first_different_line(a: &[u8], b: &[u8]) -> usize {
    let same = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    a[..same].iter().filter(|c| **c == b'\n').count() + 1
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries =
            std::fs::read_dir(&folder).map_err(|e| format!("read {}: {e}", folder.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path.strip_prefix(dir).expect("under dir").to_path_buf());
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rewrite_applies_once_and_a_missing_pattern_fails() {
        let generated: String = KOTLIN_REWRITES
            .iter()
            .map(|r| format!("// before\n{}// after\n", r.find))
            .collect();
        let tuned = tune_kotlin(&generated).unwrap();
        for rewrite in KOTLIN_REWRITES {
            assert_eq!(
                tuned.matches(rewrite.replace).count(),
                1,
                "{}",
                rewrite.what
            );
        }
        // Tuned output no longer has the first pattern: tuning twice is refused, not applied twice.
        assert!(tune_kotlin(&tuned).is_err());

        let without_pool = generated.replace(KOTLIN_REWRITES[0].find, "");
        let err = tune_kotlin(&without_pool).unwrap_err();
        assert!(err.contains("found 0 times"), "{err}");
        let twice = format!("{generated}{}", KOTLIN_REWRITES[1].find);
        assert!(tune_kotlin(&twice).unwrap_err().contains("found 2 times"));
    }
}
