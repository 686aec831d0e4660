//! The mock server as a child process: the real `moments-mock-server` binary, for the tests that
//! need a process of its own (signals, its memory as the OS sees it).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

/// The newest modification time of the mock's sources.
fn newest_source() -> Option<SystemTime> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mock-server/src");
    std::fs::read_dir(src)
        .ok()?
        .filter_map(|e| e.ok()?.metadata().ok()?.modified().ok())
        .max()
}

/// The `moments-mock-server` binary: the one `cargo test --workspace` built next to this test's
/// executable (debug or release, whichever profile the tests run in) when it is fresh, else one
/// built now into a separate target directory (`cargo test` holds the lock of its own target
/// directory while tests run, so building there would deadlock).
pub fn mock_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    // target/<profile>/deps/<test>-… → target/<profile>/moments-mock-server
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .to_path_buf();
    let bin = dir.join("moments-mock-server");
    let fresh = |b: &Path| {
        let built = b.metadata().and_then(|m| m.modified()).ok();
        matches!((built, newest_source()), (Some(b), Some(s)) if b >= s)
    };
    if fresh(&bin) {
        return bin;
    }
    // The same directory as `security_limits`'s graceful-shutdown test: one build serves both.
    let own = dir.join("security-mock-bin");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "-p",
            "moments-mock-server",
            "--bin",
            "moments-mock-server",
        ])
        .env("CARGO_TARGET_DIR", &own)
        .status()
        .expect("cargo build runs");
    assert!(status.success(), "building the mock binary failed");
    let bin = own.join("debug").join("moments-mock-server");
    assert!(bin.exists(), "no mock binary at {}", bin.display());
    bin
}

/// A running mock process, killed on drop if still running.
pub struct MockProcess {
    /// The child.
    pub child: Child,
    /// `http://127.0.0.1:PORT`, as the mock printed it.
    pub base: String,
}

impl MockProcess {
    /// Starts the mock binary on a free port and waits until it listens.
    pub fn spawn() -> MockProcess {
        Self::spawn_with(&[])
    }

    /// [`MockProcess::spawn`] with more command-line arguments.
    pub fn spawn_with(args: &[&str]) -> MockProcess {
        let mut child = Command::new(mock_binary())
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the mock starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent && let Some(i) = line.find("listening on http://") {
                    let url = line[i + "listening on ".len()..].trim().to_owned();
                    let _ = tx.send(url);
                    sent = true;
                }
                // Keep draining so the child never blocks on a full pipe.
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the mock prints `listening on http://127.0.0.1:PORT`");
        MockProcess { child, base }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The process's memory now, as the kernel counts it; `None` where `/proc` is not available
    /// (not Linux).
    pub fn memory(&self) -> Option<Memory> {
        Memory::of(self.pid())
    }

    /// How many sockets the process has open (its listener, its connections); `None` where
    /// `/proc` is not available.
    pub fn open_sockets(&self) -> Option<usize> {
        let fds = std::fs::read_dir(format!("/proc/{}/fd", self.pid())).ok()?;
        Some(
            fds.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter(|target| target.to_string_lossy().starts_with("socket:"))
                .count(),
        )
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Resident memory of a process, from `/proc/<pid>/status`.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    /// `VmRSS`: resident set size now, in bytes.
    pub rss: u64,
    /// `VmHWM`: the peak resident set size so far, in bytes.
    pub hwm: u64,
}

impl Memory {
    /// Reads `VmRSS` and `VmHWM` of `pid`; `None` when `/proc/<pid>/status` cannot be read.
    pub fn of(pid: u32) -> Option<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| -> Option<u64> {
            let line = status.lines().find(|l| l.starts_with(name))?;
            let kb: u64 = line[name.len()..]
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()?;
            Some(kb * 1024)
        };
        Some(Memory {
            rss: field("VmRSS:")?,
            hwm: field("VmHWM:")?,
        })
    }
}

/// Bytes as MiB with one decimal, for reports.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
