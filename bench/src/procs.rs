//! Servers under test, run as child processes so their memory is their own.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A server child process, killed on drop.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
}

impl Server {
    /// Starts `cmd` and waits (bounded) for a stdout line containing `http://127.0.0.1:PORT`,
    /// or, when `fixed_url` is given, for that URL to accept connections.
    pub fn start(
        name: &str,
        mut cmd: Command,
        fixed_url: Option<String>,
    ) -> Result<Server, String> {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        // The last lines of stderr, to say why a server did not come up.
        let stderr_tail =
            std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let tail = stderr_tail.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                if t.len() == 10 {
                    t.pop_front();
                }
                t.push_back(line);
            }
        });
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = find_url(&line) {
                    let _ = tx.send(url);
                }
                // Keep draining so the child never blocks on a full pipe.
            }
        });
        let up = match fixed_url {
            Some(url) => wait_for_port(&url, &mut child, Duration::from_secs(90)).map(|_| url),
            None => rx
                .recv_timeout(Duration::from_secs(60))
                .map_err(|_| format!("{name} printed no URL within 60 s")),
        };
        match up {
            Ok(url) => Ok(Server { url, child }),
            Err(e) => {
                // Never leave a half-started server running beside the next measurement.
                let _ = child.kill();
                let _ = child.wait();
                let tail = stderr_tail.lock().unwrap_or_else(|p| p.into_inner());
                if tail.is_empty() {
                    Err(e)
                } else {
                    Err(format!(
                        "{e}; its stderr ended with:\n  {}",
                        Vec::from(tail.clone()).join("\n  ")
                    ))
                }
            }
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time the process has used, user and system, all threads, in clock ticks of 10 ms (Linux's
    /// `USER_HZ` is 100), from `/proc/PID/stat`.
    pub fn cpu_ticks(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces: state is the first,
        // utime the 12th and stime the 13th.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    }

    /// Peak and current resident set size in KiB, from `/proc/PID/status`.
    pub fn memory_kib(&self) -> Option<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let field = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        };
        Some((field("VmHWM:")?, field("VmRSS:")?))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The machine's CPU time so far, in clock ticks summed over its CPUs (`/proc/stat`'s `cpu` line):
/// (busy, all), busy being everything but idle and I/O wait.
pub fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let all: u64 = v.iter().sum();
    // user nice system idle iowait irq softirq steal
    let idle = v.get(3)? + v.get(4)?;
    Some((all - idle, all))
}

/// The first `http://127.0.0.1:PORT` in a line, without a trailing slash or punctuation.
pub fn find_url(line: &str) -> Option<String> {
    let start = line.find("http://127.0.0.1:")?;
    let rest = &line[start..];
    let end = rest["http://127.0.0.1:".len()..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(rest.len(), |i| i + "http://127.0.0.1:".len());
    let url = &rest[..end];
    (url.len() > "http://127.0.0.1:".len()).then(|| url.to_owned())
}

fn wait_for_port(url: &str, child: &mut Child, within: Duration) -> Result<(), String> {
    let addr = url.trim_start_matches("http://");
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited ({status}) before listening on {url}"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("nothing listens on {url} after {within:?}"))
}

/// A free loopback port (a race is possible but harmless here: the peer fails loudly).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[cfg(test)]
mod tests {
    use super::{find_url, machine_ticks};

    #[test]
    fn reads_the_machines_cpu_time() {
        let (busy, all) = machine_ticks().expect("/proc/stat has a cpu line");
        assert!(all > 0 && busy <= all, "busy {busy} of {all}");
    }

    #[test]
    fn finds_the_url_in_a_banner() {
        assert_eq!(
            find_url("Moments mock server listening on http://127.0.0.1:40123").as_deref(),
            Some("http://127.0.0.1:40123")
        );
        assert_eq!(
            find_url("listening on http://127.0.0.1:8080/ (ctrl-c)").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(find_url("no url here"), None);
        assert_eq!(find_url("http://127.0.0.1:"), None);
    }
}
