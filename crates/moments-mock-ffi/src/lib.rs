//! The Moments mock as a native library with a plain C ABI, for the JVM testing kit
//! (`moments-sdk-testing`, loaded through JNA).
//!
//! Each [`moments_mock_start`] starts a [`MockServer`] on `127.0.0.1:0` on a tokio runtime of its
//! own (one worker thread), so mocks in one process are independent; [`moments_mock_stop`] stops
//! the server, drops the runtime (its tasks, open connections and threads) and frees the handle.
//! The control API is the mock's HTTP `/_mock/` API, which the kit calls itself.
//!
//! The SDK's own native library (`moments-ffi`) does not depend on this crate.

use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use moments_mock_server::MockServer;

/// A running mock: its runtime, the server and its base URL as a C string.
pub struct Mock {
    runtime: tokio::runtime::Runtime,
    server: Option<MockServer>,
    base_url: CString,
}

impl Mock {
    /// Starts a mock with the seeded demo on a free port of `127.0.0.1`.
    pub fn start() -> Result<Mock, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("moments-mock")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the mock's runtime: {e}"))?;
        let server = runtime
            .block_on(MockServer::start())
            .map_err(|e| format!("cannot start the mock: {e}"))?;
        let base_url = CString::new(server.base_url())
            .map_err(|e| format!("the mock's URL is not a C string: {e}"))?;
        Ok(Mock {
            runtime,
            server: Some(server),
            base_url,
        })
    }

    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn base_url(&self) -> &str {
        self.base_url.to_str().unwrap_or_default()
    }

    /// Stops the server without waiting for idle keep-alive connections (a client under test often
    /// holds one): the runtime's tasks are dropped, which closes the listener and every connection.
    pub fn stop(mut self) {
        drop(self.server.take());
        self.runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

/// Copies `message` into `buf` (at most `len - 1` bytes, then a NUL).
fn write_error(message: &str, buf: *mut c_char, len: i32) {
    let Ok(len) = usize::try_from(len) else {
        return;
    };
    if buf.is_null() || len == 0 {
        return;
    }
    let bytes = message.as_bytes();
    let n = bytes.len().min(len - 1);
    // SAFETY: the caller passes a writable buffer of `len` bytes; `n < len`.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr().cast::<c_char>(), buf, n);
        *buf.add(n) = 0;
    }
}

/// Starts a mock; returns its handle, or null with the reason written (NUL-terminated) into
/// `error` (a buffer of `error_len` bytes; may be null).
#[unsafe(no_mangle)]
pub extern "C" fn moments_mock_start(error: *mut c_char, error_len: i32) -> *mut Mock {
    let result = catch_unwind(Mock::start)
        .unwrap_or_else(|_| Err("the mock panicked while starting".to_string()));
    match result {
        Ok(mock) => Box::into_raw(Box::new(mock)),
        Err(message) => {
            write_error(&message, error, error_len);
            std::ptr::null_mut()
        }
    }
}

/// The mock's base URL, NUL-terminated; valid until [`moments_mock_stop`]. Null for a null handle.
///
/// # Safety
/// `mock` is null or a handle from [`moments_mock_start`] not yet stopped.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn moments_mock_base_url(mock: *const Mock) -> *const c_char {
    // SAFETY: the caller's contract.
    match unsafe { mock.as_ref() } {
        Some(m) => m.base_url.as_ptr(),
        None => std::ptr::null(),
    }
}

/// Stops a mock and frees its handle (null: nothing). The port, threads and state are released
/// before it returns.
///
/// # Safety
/// `mock` is null or a handle from [`moments_mock_start`], stopped at most once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn moments_mock_stop(mock: *mut Mock) {
    if mock.is_null() {
        return;
    }
    // SAFETY: the caller's contract: a live handle from `Box::into_raw`, given back once.
    let mock = unsafe { Box::from_raw(mock) };
    let _ = catch_unwind(AssertUnwindSafe(|| mock.stop()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::io::{Read, Write};

    fn get(url: &str, path: &str) -> String {
        let addr = url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn a_mock_starts_answers_and_frees_its_port_when_stopped() {
        let mut err = [0 as c_char; 256];
        let a = moments_mock_start(err.as_mut_ptr(), 256);
        let b = moments_mock_start(err.as_mut_ptr(), 256);
        assert!(!a.is_null() && !b.is_null());
        // SAFETY: live handles.
        let (url_a, url_b) = unsafe {
            (
                CStr::from_ptr(moments_mock_base_url(a))
                    .to_str()
                    .unwrap()
                    .to_string(),
                CStr::from_ptr(moments_mock_base_url(b))
                    .to_str()
                    .unwrap()
                    .to_string(),
            )
        };
        assert_ne!(url_a, url_b, "each mock has a port of its own");
        let demo = get(&url_a, "/_mock/demo");
        assert!(demo.starts_with("HTTP/1.1 200"), "{demo}");
        assert!(demo.contains("cmp_demo_workouts"), "{demo}");
        // An idle keep-alive connection does not hold the stop up.
        let addr = url_a.trim_start_matches("http://").to_string();
        let idle = std::net::TcpStream::connect(&addr).unwrap();
        // SAFETY: live handles, stopped once.
        unsafe {
            moments_mock_stop(a);
            moments_mock_stop(b);
            moments_mock_stop(std::ptr::null_mut());
        }
        drop(idle);
        assert!(
            std::net::TcpStream::connect(&addr).is_err(),
            "the stopped mock's port is closed"
        );
    }

    #[test]
    fn errors_fit_the_buffer() {
        let mut buf = [1 as c_char; 4];
        write_error("refused", buf.as_mut_ptr(), 4);
        // SAFETY: NUL-terminated by write_error.
        let s = unsafe { CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(s.to_str().unwrap(), "ref");
    }
}
