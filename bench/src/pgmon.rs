//! A view of the PostgreSQL server under test from outside the mock: one `psql` session kept open
//! (databases created and dropped, statistics read, `pg_stat_activity` sampled) and the CPU time of
//! the server's processes from `/proc`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The column separator of psql's unaligned output (the ASCII unit separator: no query text holds it).
const SEP: char = '\u{1f}';

/// One `psql` session on a server, fed statements on its standard input.
pub struct Psql {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
    queries: u64,
}

impl Psql {
    /// Opens a session on `url` (`postgres://user@host:port/db`); psql stops at the first error.
    pub fn connect(url: &str) -> Result<Psql, String> {
        let mut child = Command::new("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-F"])
            .arg(SEP.to_string())
            .arg(url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot run psql (PostgreSQL's client, apt-get install postgresql-client): {e}"
                )
            })?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let errors = Arc::new(Mutex::new(String::new()));
        let sink = errors.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
                s.push_str(&line);
                s.push('\n');
            }
        });
        let mut psql = Psql {
            child,
            stdin,
            lines,
            stderr: errors,
            queries: 0,
        };
        psql.query("SELECT 1")?;
        Ok(psql)
    }

    /// Runs one statement (no trailing `;`) and returns its rows, each as its columns' text.
    pub fn query(&mut self, sql: &str) -> Result<Vec<Vec<String>>, String> {
        self.queries += 1;
        let marker = format!("moments-bench-end-{}", self.queries);
        let sent = writeln!(self.stdin, "{sql};\n\\echo {marker}").and_then(|_| self.stdin.flush());
        let mut rows = Vec::new();
        loop {
            match (&sent, self.lines.recv_timeout(Duration::from_secs(60))) {
                (Ok(_), Ok(line)) if line == marker => return Ok(rows),
                (Ok(_), Ok(line)) => rows.push(line.split(SEP).map(str::to_owned).collect()),
                _ => {
                    // psql stopped (an error, with ON_ERROR_STOP) or hangs: say what it printed.
                    std::thread::sleep(Duration::from_millis(200));
                    let err = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
                    return Err(format!("psql: `{sql}` failed: {}", err.trim()));
                }
            }
        }
    }

    /// The first column of the first row.
    pub fn value(&mut self, sql: &str) -> Result<String, String> {
        self.query(sql)?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .ok_or_else(|| format!("psql: `{sql}` returned no row"))
    }
}

impl Drop for Psql {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "\\q");
        let _ = self.stdin.flush();
        std::thread::sleep(Duration::from_millis(50));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// `(comm, ppid, utime + stime, cutime + cstime)` of a process, from `/proc/PID/stat` (clock ticks
/// of 10 ms).
fn stat(pid: u32) -> Option<(String, u32, u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_owned();
    let f: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    Some((comm, n(1)? as u32, n(11)? + n(12)?, n(13)? + n(14)?))
}

/// The postmaster of the backend `backend_pid` (its parent process), when `/proc` shows it.
pub fn postmaster_of(backend_pid: u32) -> Option<u32> {
    let (_, ppid, _, _) = stat(backend_pid)?;
    let (comm, _, _, _) = stat(ppid)?;
    comm.starts_with("postgres").then_some(ppid)
}

/// CPU time of a PostgreSQL server in clock ticks: the postmaster's own and that of its children
/// which have ended (`cutime`, `cstime`), and that of every running child whose name starts with
/// `postgres` (backends, WAL writer, checkpointer…). A backend that ends between two readings moves
/// from the second term to the first, so differences stay right.
pub fn server_cpu_ticks(postmaster: u32) -> Option<u64> {
    let (_, _, own, reaped) = stat(postmaster)?;
    let mut total = own + reaped;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((comm, ppid, ticks, _)) = stat(pid)
            && ppid == postmaster
            && comm.starts_with("postgres")
        {
            total += ticks;
        }
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_the_database_of_a_url() {
        assert_eq!(
            with_database("postgres://moments@127.0.0.1:5433/moments", "bench_1"),
            "postgres://moments@127.0.0.1:5433/bench_1"
        );
        assert_eq!(
            with_database("postgres://u:p@h:1/db?sslmode=disable", "x"),
            "postgres://u:p@h:1/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:1", "x"), "postgres://u@h:1/x");
    }
}
