//! A throwaway PostgreSQL server for the tests that need a real one: `cargo xtask ci` starts one around
//! `cargo test --workspace` and passes its URL in `MOMENTS_TEST_POSTGRES`; `cargo xtask postgres` starts one for
//! running `cargo test` by hand from another shell.
//!
//! The server ([`TestCluster`]) lives in a fresh directory (`target/pg-test/<pid>`: data, log and Unix socket),
//! listens on a free port of 127.0.0.1, trusts every local connection and has a user and a database `moments`.
//! `initdb` and `postgres` refuse to run as root: as root they run as the `postgres` system user (the Debian
//! package's; `moments-pg` is created when it is missing), and the directory moves to `/tmp/moments-pg-test/<pid>`
//! when that user cannot reach `target/`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, Result};

/// The environment variable naming the server the tests use (`postgres://user@host:port/database`).
pub const ENV: &str = "MOMENTS_TEST_POSTGRES";

/// The server's superuser and database.
const NAME: &str = "moments";

/// The system user the server runs as when we are root and the Debian package's `postgres` is missing.
const FALLBACK_USER: &str = "moments-pg";

/// Where to get PostgreSQL, for the error of a machine without it.
const INSTALL_HINT: &str = "PostgreSQL not found (initdb, pg_ctl and createdb under /usr/lib/postgresql/*/bin, \
     Homebrew's postgresql@*/bin or on PATH): install it (Debian/Ubuntu: `apt-get install postgresql`; \
     macOS: `brew install postgresql@16`), or set MOMENTS_TEST_POSTGRES to the URL of an existing server \
     (postgres://user@host:port/database)";

/// Makes sure PostgreSQL's server programs are installed: nothing to do when they are found (or when
/// `MOMENTS_TEST_POSTGRES` names a server); installs Debian's `postgresql` package as root on Debian; elsewhere fails
/// saying what to install.
pub fn ensure_installed() -> Result {
    if std::env::var_os(ENV).is_some() || bin_dir().is_some() {
        return Ok(());
    }
    if !util::is_root() || util::which("apt-get").is_none() {
        return Err(INSTALL_HINT.to_owned());
    }
    util::apt_install(&["postgresql"])?;
    bin_dir()
        .map(|_| ())
        .ok_or_else(|| format!("installed `postgresql`, still: {INSTALL_HINT}"))
}

/// The folder holding `initdb`, `pg_ctl` and `createdb`: the highest version under `/usr/lib/postgresql/<version>/bin`
/// (Debian) or Homebrew's `postgresql@<version>/bin`, else the one on `PATH`.
fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(Vec<u32>, PathBuf)> = [
        ("/usr/lib/postgresql", ""),
        ("/opt/homebrew/opt", "postgresql@"),
        ("/usr/local/opt", "postgresql@"),
    ]
    .iter()
    .flat_map(|(base, prefix)| versioned_bin_dirs(Path::new(base), prefix))
    .filter(|(_, dir)| has_server_programs(dir))
    .collect();
    found.sort();
    found.pop().map(|(_, dir)| dir).or_else(|| {
        // The folder of the program itself: `PATH` may hold a link to `initdb` alone.
        let initdb = std::fs::canonicalize(util::which("initdb")?).ok()?;
        let dir = initdb.parent()?.to_path_buf();
        has_server_programs(&dir).then_some(dir)
    })
}

/// `base/<prefix><version>/bin` for every entry of `base` named so, with its version's numbers.
fn versioned_bin_dirs(base: &Path, prefix: &str) -> Vec<(Vec<u32>, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version = name.strip_prefix(prefix)?;
            let numbers = version
                .split('.')
                .map(|n| n.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            Some((numbers, entry.path().join("bin")))
        })
        .collect()
}

/// Whether `dir` holds `initdb`, `pg_ctl` and `createdb`.
fn has_server_programs(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "createdb"]
        .iter()
        .all(|program| dir.join(program).is_file())
}

/// A PostgreSQL server for the tests, stopped (`pg_ctl stop -m immediate`) and its directory removed on drop; or
/// the server `MOMENTS_TEST_POSTGRES` already names, left alone.
pub struct TestCluster {
    url: String,
    /// The server this process started; `None` for `MOMENTS_TEST_POSTGRES`'s.
    owned: Option<Owned>,
}

/// What a started server needs to be stopped and removed.
struct Owned {
    /// `initdb`, `pg_ctl`, `createdb`.
    bin: PathBuf,
    /// Data (`data/`), log (`log`) and Unix socket.
    dir: PathBuf,
    /// The system user the server runs as when we are root.
    user: Option<String>,
}

impl TestCluster {
    /// The server `MOMENTS_TEST_POSTGRES` names when it is set; else a fresh one: `initdb` into a new directory
    /// (leftovers of dead processes removed first), started on a free port of 127.0.0.1, with a database `moments`.
    pub fn start() -> Result<TestCluster> {
        if let Ok(url) = std::env::var(ENV) {
            println!("{ENV} is set: the tests use {url}");
            return Ok(TestCluster { url, owned: None });
        }
        let bin = bin_dir().ok_or(INSTALL_HINT)?;
        let user = if util::is_root() {
            Some(server_user()?)
        } else {
            None
        };
        let base = base_dir(user.as_deref())?;
        remove_leftovers(&base, &bin, user.as_deref());
        let dir = base.join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        create_dir(&dir, user.as_deref())?;
        let port = free_port()?;
        let owned = Owned { bin, dir, user };
        owned.init_and_start(port).inspect_err(|_| owned.remove())?;
        let cluster = TestCluster {
            url: format!("postgres://{NAME}@127.0.0.1:{port}/{NAME}"),
            owned: Some(owned),
        };
        println!("PostgreSQL: {}", cluster.url);
        Ok(cluster)
    }

    /// The server's URL: `postgres://moments@127.0.0.1:<port>/moments` for a started one.
    pub fn url(&self) -> String {
        self.url.clone()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        if let Some(owned) = &self.owned {
            owned.remove();
        }
    }
}

impl Owned {
    /// `initdb`, `pg_ctl start`, `createdb`; the log's end in the error when the server does not start.
    fn init_and_start(&self, port: u16) -> Result {
        util::header(&format!("throwaway PostgreSQL in {}", self.dir.display()));
        util::output(self.server_cmd("initdb").args([
            "-D",
            "data",
            "-A",
            "trust",
            "--no-sync",
            "-U",
            NAME,
            "-E",
            "UTF8",
            // The same collation on every machine.
            "--locale=C",
        ]))?;
        let options = format!(
            "-p {port} -k '{}' -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on",
            self.dir.display()
        );
        let log = self.dir.join("log");
        let started = util::run(
            self.server_cmd("pg_ctl")
                .args(["-D", "data", "-w", "-l"])
                .arg(&log)
                .args(["start", "-o", &options]),
        );
        if let Err(e) = started {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(10)..].join("\n");
            return Err(format!("{e}; the end of {}:\n{tail}", log.display()));
        }
        util::output(util::cmd(self.bin.join("createdb")).args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            NAME,
            NAME,
        ]))
        .map(|_| ())
    }

    /// Stops the server (when it runs) and removes its directory; a failure is printed.
    fn remove(&self) {
        self.stop();
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("remove {}: {e}", self.dir.display());
        }
    }

    /// `pg_ctl stop -m immediate` when the server runs (its `postmaster.pid` exists); a failure is printed.
    fn stop(&self) {
        if !self.dir.join("data/postmaster.pid").exists() {
            return;
        }
        let stopped =
            util::output(
                self.server_cmd("pg_ctl")
                    .args(["-D", "data", "stop", "-m", "immediate"]),
            );
        if let Err(e) = stopped {
            eprintln!("stop the throwaway PostgreSQL: {e}");
        }
    }

    /// `program` of the server's folder, in its directory, as its system user when we are root.
    fn server_cmd(&self, program: &str) -> Command {
        as_user(self.user.as_deref(), &self.bin.join(program), &self.dir)
    }
}

/// `program` run in `dir`; with `user`, through `runuser -u <user> --`.
fn as_user(user: Option<&str>, program: &Path, dir: &Path) -> Command {
    let mut c = match user {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    };
    c.current_dir(dir);
    c
}

/// The system user the server runs as under root: `postgres` (Debian's package creates it), else `moments-pg`,
/// created when missing.
fn server_user() -> Result<String> {
    for user in ["postgres", FALLBACK_USER] {
        if util::output(Command::new("id").args(["-u", user])).is_ok() {
            return Ok(user.to_owned());
        }
    }
    util::run(Command::new("useradd").args([
        "-r",
        "-M",
        "-d",
        "/nonexistent",
        "-s",
        "/usr/sbin/nologin",
        FALLBACK_USER,
    ]))?;
    Ok(FALLBACK_USER.to_owned())
}

/// The folder of the servers' directories: `target/pg-test`, or `/tmp/moments-pg-test` when `user` cannot reach
/// it or its socket path would be too long for a Unix socket (107 bytes).
fn base_dir(user: Option<&str>) -> Result<PathBuf> {
    let target = util::target_dir().join("pg-test");
    let socket_len = target.join("4294967295/.s.PGSQL.65535").as_os_str().len();
    if socket_len < 100 {
        std::fs::create_dir_all(&target)
            .map_err(|e| format!("create {}: {e}", target.display()))?;
        let reachable = match user {
            Some(user) => util::output(
                Command::new("runuser")
                    .args(["-u", user, "--", "test", "-x"])
                    .arg(&target),
            )
            .is_ok(),
            None => true,
        };
        if reachable {
            return Ok(target);
        }
    }
    let tmp = PathBuf::from("/tmp/moments-pg-test");
    std::fs::create_dir_all(&tmp).map_err(|e| format!("create {}: {e}", tmp.display()))?;
    Ok(tmp)
}

/// `dir`, created and, under root, given to `user`.
fn create_dir(dir: &Path, user: Option<&str>) -> Result {
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    if let Some(user) = user {
        util::output(Command::new("chown").arg(format!("{user}:")).arg(dir))?;
    }
    Ok(())
}

/// Removes the directories under `base` of processes that have ended (a run killed before its drop), stopping a
/// server still running from one.
fn remove_leftovers(base: &Path, bin: &Path, user: Option<&str>) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if process_alive(pid) {
            continue;
        }
        let dir = entry.path();
        println!("removing the leftover {}", dir.display());
        let leftover = Owned {
            bin: bin.to_path_buf(),
            dir,
            user: user.map(str::to_owned),
        };
        leftover.remove();
    }
}

/// Whether process `pid` exists (signal 0 reaches it, or it belongs to another user).
#[cfg(unix)]
fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let sent = unsafe { libc::kill(pid, 0) };
    sent == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Elsewhere every directory is taken as in use.
#[cfg(not(unix))]
fn process_alive(_pid: i32) -> bool {
    true
}

/// A free TCP port of 127.0.0.1 (bound to port 0, then released).
fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("find a free port: {e}"))
}

/// `cargo xtask postgres`: starts a server, prints the `export` line for another shell and runs until Ctrl-C
/// (SIGINT, SIGTERM or SIGHUP), then stops it.
pub fn task() -> Result {
    // Held from before the server starts, so a Ctrl-C from now on ends the wait below rather than this process.
    let wait_for_signal = hold_termination_signals();
    ensure_installed()?;
    let cluster = TestCluster::start()?;
    if cluster.owned.is_none() {
        return Ok(());
    }
    println!("\nexport {ENV}={}", cluster.url());
    println!("(runs until Ctrl-C)");
    let signal = wait_for_signal();
    println!("\nsignal {signal}: stopping PostgreSQL");
    drop(cluster);
    Ok(())
}

/// Blocks SIGINT, SIGTERM and SIGHUP in this (the only) thread and returns the wait for one of them, which
/// returns its number. Commands started meanwhile get an empty signal mask again (`std::process` resets it).
#[cfg(unix)]
fn hold_termination_signals() -> impl FnOnce() -> i32 {
    // SAFETY: `sigemptyset` initializes the set before `sigaddset` adds to it; blocking signals of this thread
    // has no other effect.
    let set = unsafe {
        let mut set = std::mem::zeroed::<libc::sigset_t>();
        libc::sigemptyset(&mut set);
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, signal);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    move || {
        let mut signal = 0;
        // SAFETY: `set` is initialized and blocked in this thread; `sigwait` writes the number of the one that came.
        unsafe { libc::sigwait(&set, &mut signal) };
        signal
    }
}

/// Elsewhere: the wait ends with a line (or the end) of standard input.
#[cfg(not(unix))]
fn hold_termination_signals() -> impl FnOnce() -> i32 {
    println!("(press Enter to stop)");
    || {
        let _ = std::io::stdin().read_line(&mut String::new());
        0
    }
}
