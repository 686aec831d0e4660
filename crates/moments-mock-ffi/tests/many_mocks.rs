//! Many mocks of the native library in one process, through its C ABI: 50 started in parallel
//! threads all answer, each keeps its own state, clock and journal, and once they are stopped the
//! process has its threads, its memory and the ports back. The only test of its binary, so no other
//! test's threads or memory are counted.

use std::ffi::{CStr, c_char};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use moments_mock_ffi::{Mock, moments_mock_base_url, moments_mock_start, moments_mock_stop};
use moments_mock_server::DEMO_SECRET_KEY;
use moments_mock_server::testing::Fixtures;

const MOCKS: usize = 50;
/// Items each mock is given (one per load: a body is at most 64 KiB) and the size of each one's
/// description: 512 KiB of state per mock, well above the allocator's noise.
const ITEMS: usize = 16;
const DESCRIPTION: usize = 32 * 1024;

/// A live handle, sent from the thread that started it to the test's thread.
struct Handle(*mut Mock);
// SAFETY: the library's handles may be used and stopped from any thread.
unsafe impl Send for Handle {}

fn rss_kib_and_threads() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |key: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(key)).expect(key);
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    (field("VmRSS:"), field("Threads:"))
}

/// Status and body of a request with the demo key, on a connection of its own.
fn call(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("the mock accepts");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {DEMO_SECRET_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {out}"));
    let body = out
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

fn addr_of(h: &Handle) -> String {
    // SAFETY: a live handle.
    let url = unsafe { CStr::from_ptr(moments_mock_base_url(h.0)) };
    url.to_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_string()
}

/// Starts mock `i` through the C ABI and gives it its items and a clock `i` hours ahead.
fn start(i: usize) -> Handle {
    let mut error = [0 as c_char; 256];
    let h = Handle(moments_mock_start(error.as_mut_ptr(), 256));
    assert!(!h.0.is_null(), "mock {i} did not start");
    let addr = addr_of(&h);
    let description = "x".repeat(DESCRIPTION);
    for n in 0..ITEMS {
        let item = Fixtures::item(&format!("itm_m{i}_{n}")).description(&description);
        let body = Fixtures::new().with_item(item).to_json(chrono::Utc::now());
        let (status, answer) = call(&addr, "POST", "/_mock/fixtures", &body.to_string());
        assert_eq!(status, 201, "mock {i}: {answer}");
    }
    let advance = format!("{{\"seconds\":{}}}", 3600 * i);
    let (status, answer) = call(&addr, "POST", "/_mock/clock/advance", &advance);
    assert_eq!(status, 200, "mock {i}: {answer}");
    h
}

/// One round: 50 mocks started in parallel threads, each checked against the others, then stopped.
/// Returns their addresses and the process's RSS while they were all up.
fn round() -> (Vec<String>, u64) {
    let threads: Vec<_> = (0..MOCKS)
        .map(|i| std::thread::spawn(move || start(i)))
        .collect();
    let mocks: Vec<Handle> = threads
        .into_iter()
        .map(|t| t.join().expect("a mock started"))
        .collect();
    let addrs: Vec<String> = mocks.iter().map(addr_of).collect();
    let mut distinct = addrs.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), MOCKS, "each mock has a port of its own");
    for (i, addr) in addrs.iter().enumerate() {
        let own = format!("/v1/catalog/items/itm_m{i}_0");
        assert_eq!(call(addr, "GET", &own, "").0, 200, "mock {i}");
        let other = format!("/v1/catalog/items/itm_m{}_0", (i + 1) % MOCKS);
        assert_eq!(call(addr, "GET", &other, "").0, 404, "mock {i}");
        let (_, clock) = call(addr, "GET", "/_mock/clock", "");
        let clock: serde_json::Value = serde_json::from_str(&clock).unwrap();
        let offset = clock["offset_seconds"].as_i64().unwrap();
        assert!(
            (offset - 3600 * i as i64).abs() < 60,
            "mock {i}: offset {offset} s"
        );
        let (_, journal) = call(addr, "GET", "/_mock/journal", "");
        let journal: serde_json::Value = serde_json::from_str(&journal).unwrap();
        let item_requests = journal["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["path"]
                    .as_str()
                    .unwrap()
                    .starts_with("/v1/catalog/items/")
            })
            .count();
        assert_eq!(item_requests, 2, "mock {i}: its own two requests only");
    }
    let (rss, _) = rss_kib_and_threads();
    for h in mocks {
        // SAFETY: a live handle, stopped once.
        unsafe { moments_mock_stop(h.0) };
    }
    (addrs, rss)
}

/// Waits (bounded) for the thread count to come down to `want`: a joined thread leaves the
/// kernel's count a moment after `join` returns.
fn threads_back_to(want: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, threads) = rss_kib_and_threads();
        if threads <= want || Instant::now() > deadline {
            return threads;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn fifty_native_mocks_in_parallel_are_independent_and_give_back_their_threads_memory_and_ports() {
    // A first round sets up what the process keeps for the next mocks, which is no mock's: lazy
    // statics, the allocator's per-thread arenas and the C library's cache of exited threads'
    // stacks. The measured round starts from there.
    round();
    let (_, threads) = rss_kib_and_threads();
    let threads_before = threads_back_to(threads);
    let (rss_before, _) = rss_kib_and_threads();

    let (addrs, rss_up) = round();

    assert_eq!(
        threads_back_to(threads_before),
        threads_before,
        "every mock's runtime thread is gone"
    );
    let (rss_after, _) = rss_kib_and_threads();
    let grown = rss_up.saturating_sub(rss_before);
    let kept = rss_after.saturating_sub(rss_before);
    // Tolerance: half of one mock's share of the growth. A round without a leak leaves the
    // allocator's noise (a few hundred KiB at most in runs here); one stopped mock whose memory
    // stayed keeps a whole share and fails.
    let tolerance = grown / MOCKS as u64 / 2;
    eprintln!(
        "RSS before {rss_before} KiB, with {MOCKS} mocks up {rss_up} KiB (+{grown}), after stopping them {rss_after} KiB (+{kept}); tolerance {tolerance} KiB"
    );
    assert!(
        grown >= (MOCKS * ITEMS * DESCRIPTION / 1024) as u64,
        "the mocks grew the process by only {grown} KiB: too little for the check to mean anything"
    );
    assert!(
        kept <= tolerance,
        "stopped mocks kept {kept} KiB of the {grown} KiB they grew the process by"
    );
    for addr in addrs {
        TcpListener::bind(&addr).unwrap_or_else(|e| panic!("port of {addr} not freed: {e}"));
    }
}
