//! Builds the native library and generates the Kotlin and Swift bindings (uniffi library mode).
//!
//! Generated code is not committed: Kotlin goes to `target/bindings/kotlin` (Maven reads it from there), Swift
//! to `target/bindings/swift` and is copied into the SwiftPM package (`bindings/swift/Sources/…`, git-ignored).
//!
//! The generated Kotlin is post-processed by [`tune_kotlin`] (two rewrites of uniffi 0.32's JNA glue that cut
//! the fixed cost of every call); every Kotlin generation goes through [`generate_kotlin`].

use std::path::{Path, PathBuf};

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
    generate_kotlin(&bindgen, &library, &kotlin_dir)?;
    header(&format!(
        "generate swift bindings into {}",
        swift_dir.display()
    ));
    let _ = std::fs::remove_dir_all(&swift_dir);
    run(util::cmd(&bindgen)
        .args(["generate", "--no-format", "--library"])
        .arg(&library)
        .args(["--language", "swift", "--out-dir"])
        .arg(&swift_dir))?;

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

/// The generated Kotlin file, relative to the Kotlin output folder.
pub const KOTLIN_FILE: &str = "com/moments/sdk/moments_ffi.kt";

/// Generates the Kotlin bindings of `library` into `dir` (emptied first) and applies [`tune_kotlin`] to them.
pub fn generate_kotlin(bindgen: &Path, library: &Path, dir: &Path) -> Result {
    header(&format!("generate kotlin bindings into {}", dir.display()));
    let _ = std::fs::remove_dir_all(dir);
    run(util::cmd(bindgen)
        .args(["generate", "--no-format", "--library"])
        .arg(library)
        .args(["--language", "kotlin", "--out-dir"])
        .arg(dir))?;
    let file = dir.join(KOTLIN_FILE);
    let source =
        std::fs::read_to_string(&file).map_err(|e| format!("read {}: {e}", file.display()))?;
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
            "moments_ffi.kt" => generated.kotlin_dir.join(KOTLIN_FILE),
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
