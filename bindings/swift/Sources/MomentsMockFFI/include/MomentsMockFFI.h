// The C ABI of crates/moments-mock-ffi (src/lib.rs), written by hand: keep it in step with the Rust functions.
#pragma once

#include <stdint.h>

/// A running mock (opaque).
typedef struct MomentsMockHandle MomentsMockHandle;

/// Starts a mock with the seeded demo on a free port of 127.0.0.1; returns its handle, or NULL with the reason
/// written (NUL-terminated) into `error` (a buffer of `error_len` bytes; may be NULL).
MomentsMockHandle *_Nullable moments_mock_start(char *_Nullable error, int32_t error_len);

/// The mock's base URL (`http://127.0.0.1:PORT`), NUL-terminated; valid until `moments_mock_stop`.
const char *_Nullable moments_mock_base_url(const MomentsMockHandle *_Nullable mock);

/// Stops a mock without waiting for idle client connections and frees its handle; its port, threads and state are
/// released before it returns. NULL: nothing.
void moments_mock_stop(MomentsMockHandle *_Nullable mock);
