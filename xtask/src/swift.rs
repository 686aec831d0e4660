//! `cargo xtask swift-test`: the Swift SDK built and tested against the real native library.
//!
//! With a native `swift` on `PATH` (macOS, or Linux with Swift installed) it runs directly. Otherwise, on Debian
//! as root, it uses a Debian trixie root with the `swiftlang` package, made once with debootstrap under
//! `/var/cache/moments-swift-root` and reused; `/proc`, `/sys`, `/dev` and the repository (at the same absolute
//! path) are mounted into it for the run and unmounted afterwards, even on failure.

use std::path::{Path, PathBuf};

use crate::bindings;
use crate::util::{self, Profile, Result, header, run};

const SWIFT_ROOT: &str = "/var/cache/moments-swift-root";
const READY_MARKER: &str = ".moments-swift-ready";
const MIRROR: &str = "http://deb.debian.org/debian";

/// Builds everything the tests need, then `swift test`.
pub fn test() -> Result {
    if cfg!(target_os = "macos") {
        // On Apple platforms the package uses the xcframework.
        crate::mobile::xcframework()?;
    }
    let generated = bindings::generate_all(Profile::Dev)?;
    let mock = util::build_mock_server(false)?;
    let root = util::root();
    let package = root.join("bindings/swift");
    let scratch = util::target_dir().join("swift-build");

    if util::which("swift").is_some() {
        header("Swift: swift test (native toolchain)");
        return run(util::cmd("swift")
            .current_dir(&package)
            .args(["test", "--scratch-path"])
            .arg(&scratch)
            .env("MOMENTS_LIB_DIR", &generated.lib_dir)
            .env("MOMENTS_MOCK_BIN", &mock));
    }
    if !cfg!(target_os = "linux") || !util::is_root() {
        return Err("no `swift` on PATH: install Swift, or run as root on Debian so a Swift root can be made".into());
    }

    let swift_root = PathBuf::from(SWIFT_ROOT);
    ensure_swift_root(&swift_root)?;
    let mut mounts = Mounts::new(&swift_root);
    mounts.system()?;
    mounts.bind_same_path(&root)?;
    let target = util::target_dir();
    if !target.starts_with(&root) {
        mounts.bind_same_path(&target)?;
    }

    header("Swift: swift test (in the Debian trixie root)");
    let script = format!(
        // The tests are XCTest; skip the empty swift-testing pass (its "0 tests" line would end the output).
        "cd '{}' && exec swift test --disable-swift-testing --scratch-path '{}'",
        package.display(),
        scratch.display()
    );
    let result = run(util::cmd("chroot")
        .arg(&swift_root)
        .args(["/usr/bin/env", "-i", "HOME=/root", "LANG=C.UTF-8"])
        .arg("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .arg(format!("MOMENTS_LIB_DIR={}", generated.lib_dir.display()))
        .arg(format!("MOMENTS_MOCK_BIN={}", mock.display()))
        .args(["/bin/sh", "-c", &script]));
    drop(mounts);
    result
}

/// Makes the trixie root with `swiftlang` unless it is already complete (marker file).
fn ensure_swift_root(swift_root: &Path) -> Result {
    header(&format!("Swift root at {}", swift_root.display()));
    if swift_root.join(READY_MARKER).is_file()
        && std::fs::symlink_metadata(swift_root.join("usr/bin/swift")).is_ok()
    {
        println!("reusing the existing Swift root");
        return Ok(());
    }
    if util::which("debootstrap").is_none() {
        util::apt_install(&["debootstrap"])?;
    }
    // A root left half-made by an interrupted run: unmount whatever is still mounted, then start over.
    unmount_everything_under(swift_root)?;
    if !swift_root.join("usr/bin/apt-get").exists() {
        let staging = swift_root.with_extension("tmp");
        unmount_everything_under(&staging)?;
        let _ = std::fs::remove_dir_all(&staging);
        let _ = std::fs::remove_dir_all(swift_root);
        header("debootstrap Debian trixie (minbase), about 30 s");
        run(util::cmd("debootstrap")
            .args(["--variant=minbase", "trixie"])
            .arg(&staging)
            .arg(MIRROR))?;
        std::fs::rename(&staging, swift_root).map_err(|e| format!("rename the Swift root: {e}"))?;
    }
    let _ = std::fs::copy("/etc/resolv.conf", swift_root.join("etc/resolv.conf"));
    let mut mounts = Mounts::new(swift_root);
    mounts.system()?;
    header("install swiftlang + libc6-dev in the root, about a minute");
    let chroot = |args: &[&str]| {
        run(util::cmd("chroot")
            .arg(swift_root)
            .args(["/usr/bin/env", "DEBIAN_FRONTEND=noninteractive"])
            .args(args))
    };
    chroot(&["apt-get", "update", "-q"])?;
    chroot(&[
        "apt-get",
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        "swiftlang",
        "libc6-dev",
        "ca-certificates",
    ])?;
    chroot(&["apt-get", "clean"])?;
    drop(mounts);
    std::fs::write(swift_root.join(READY_MARKER), b"swiftlang\n")
        .map_err(|e| format!("write the marker: {e}"))?;
    Ok(())
}

/// Mount points under the root, unmounted in reverse order on drop.
struct Mounts {
    root: PathBuf,
    mounted: Vec<PathBuf>,
}

impl Mounts {
    fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            mounted: Vec::new(),
        }
    }

    fn mount(&mut self, at: &Path, args: &[&str], source: &Path) -> Result {
        std::fs::create_dir_all(at).map_err(|e| format!("create {}: {e}", at.display()))?;
        run(util::cmd("mount").args(args).arg(source).arg(at))?;
        self.mounted.push(at.to_path_buf());
        Ok(())
    }

    /// `/proc`, `/sys` and `/dev` (swiftc needs `/proc` to load its runtime).
    fn system(&mut self) -> Result {
        unmount_everything_under(&self.root)?;
        let root = self.root.clone();
        self.mount(&root.join("proc"), &["-t", "proc"], Path::new("proc"))?;
        self.mount(&root.join("sys"), &["-t", "sysfs"], Path::new("sys"))?;
        self.mount(&root.join("dev"), &["--rbind"], Path::new("/dev"))?;
        run(util::cmd("mount")
            .args(["--make-rslave"])
            .arg(root.join("dev")))
    }

    /// Makes `dir` visible inside the root at the same absolute path.
    fn bind_same_path(&mut self, dir: &Path) -> Result {
        let inside = self.root.join(dir.strip_prefix("/").unwrap_or(dir));
        self.mount(&inside, &["--bind"], dir)
    }
}

impl Drop for Mounts {
    fn drop(&mut self) {
        for at in self.mounted.drain(..).rev() {
            let ok = util::cmd("umount")
                .arg("-R")
                .arg(&at)
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                // Busy (a process still holds it): detach lazily so the root can never be deleted while mounted.
                let _ = util::cmd("umount").args(["-R", "-l"]).arg(&at).status();
            }
        }
    }
}

/// Unmounts every mount point under `dir` (deepest first); a root must never be deleted while mounted.
fn unmount_everything_under(dir: &Path) -> Result {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1))
        .filter(|p| Path::new(p).starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    points.dedup();
    for point in points {
        let ok = util::cmd("umount")
            .arg("-R")
            .arg(point)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            run(util::cmd("umount").args(["-R", "-l"]).arg(point))?;
        }
    }
    Ok(())
}
