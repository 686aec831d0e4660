//! Handing a stopped mock's freed memory back to the OS.

/// Returns the allocator's free pages to the OS: glibc's `malloc_trim`; nothing elsewhere.
///
/// Needed with glibc, by measurement (`moments-bench startup`, docs/performance.md): a mock's state
/// is many small blocks, freed into the allocator's free lists, and glibc gives pages back on its own
/// only from the top of a heap. Without this call none of the memory of 50 stopped mocks left the
/// process (RSS stayed at its peak, 0 % given back, with under 200 KiB of it still allocated); with
/// it, all of it did. It costs about 0.2–0.4 ms of a stop on the development VM. The same holds after
/// `POST /_mock/reset`, which calls it too.
#[allow(unsafe_code)] // the one FFI call of the mock
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only walks the allocator's own free lists; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Calls [`release_free_memory`] when dropped. The last field of [`crate::app::Shared`]: fields drop
/// in order, so it runs once the state, journal and stores declared before it are freed, whichever
/// holder of the server's handle lets go last.
#[derive(Debug, Default)]
pub struct ReleaseOnDrop;

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        release_free_memory();
    }
}
