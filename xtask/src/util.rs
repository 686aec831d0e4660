//! Small helpers: paths, headers, running commands.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The result of a task: an error is a one-line explanation.
pub type Result<T = ()> = std::result::Result<T, String>;

/// Cargo profile of the native library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    Dev,
    Mobile,
}

impl Profile {
    /// The folder under `target/`.
    pub fn dir(self) -> &'static str {
        match self {
            Self::Dev => "debug",
            Self::Mobile => "mobile",
        }
    }

    /// Arguments selecting it for `cargo build`.
    pub fn cargo_args(self) -> &'static [&'static str] {
        match self {
            Self::Dev => &[],
            Self::Mobile => &["--profile", "mobile"],
        }
    }
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The cargo target directory.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        }
        None => root().join("target"),
    }
}

/// The file name of the cdylib on this host.
pub fn cdylib_name(stem: &str) -> String {
    if cfg!(target_os = "macos") {
        format!("lib{stem}.dylib")
    } else if cfg!(windows) {
        format!("{stem}.dll")
    } else {
        format!("lib{stem}.so")
    }
}

/// Prints a step header.
pub fn header(title: &str) {
    println!("\n==> {title}");
}

/// A command printed before it runs.
pub fn cmd(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut c = Command::new(program);
    c.current_dir(root());
    c
}

/// Runs `c`, failing with its exit status.
pub fn run(c: &mut Command) -> Result {
    println!("$ {}", show(c));
    let status = c
        .status()
        .map_err(|e| format!("could not start `{}`: {e}", show(c)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` exited with {status}", show(c)))
    }
}

/// Runs `c` and returns its standard output.
pub fn output(c: &mut Command) -> Result<String> {
    let out = c
        .output()
        .map_err(|e| format!("could not start `{}`: {e}", show(c)))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` exited with {}: {}",
            show(c),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn show(c: &Command) -> String {
    let mut s = c.get_program().to_string_lossy().into_owned();
    for arg in c.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// `cargo` as invoked by the current cargo (same toolchain).
pub fn cargo() -> Command {
    cmd(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Whether `program` is on `PATH`.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Whether we run as root (may install packages, mount, chroot).
pub fn is_root() -> bool {
    output(Command::new("id").arg("-u"))
        .map(|s| s.trim() == "0")
        .unwrap_or(false)
}

/// Installs Debian packages when missing programs require them (root on Debian only).
pub fn apt_install(packages: &[&str]) -> Result {
    if !is_root() || which("apt-get").is_none() {
        return Err(format!(
            "missing packages {packages:?}: install them yourself (apt-get needs root on a Debian-like system)"
        ));
    }
    static UPDATED: std::sync::Once = std::sync::Once::new();
    let mut update_result = Ok(());
    UPDATED.call_once(|| {
        update_result = run(cmd("apt-get").args(["update", "-q"]));
    });
    update_result?;
    run(cmd("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Copies `from` to `to`, creating the parent folder.
pub fn copy(from: &Path, to: &Path) -> Result {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("create {}: {e}", parent.display()))?;
    }
    std::fs::copy(from, to)
        .map(|_| ())
        .map_err(|e| format!("copy {} to {}: {e}", from.display(), to.display()))
}

/// Builds the mock server binary (dev profile, or release) and returns its path.
pub fn build_mock_server(release: bool) -> Result<PathBuf> {
    header(if release {
        "build the mock server binary (moments-mock-server, release profile)"
    } else {
        "build the mock server binary (moments-mock-server)"
    });
    let mut c = cargo();
    c.arg("build");
    if release {
        c.arg("--release");
    }
    run(c.args(["-p", "moments-mock-server", "--bin", "moments-mock-server"]))?;
    let dir = if release { "release" } else { "debug" };
    Ok(target_dir().join(dir).join(if cfg!(windows) {
        "moments-mock-server.exe"
    } else {
        "moments-mock-server"
    }))
}
