//! `cargo xtask swift-test`: the Swift SDK (the root `Package.swift`) built and tested against the real native
//! library, the iOS example's model compiled against it and its tests run against the mock, and every Swift snippet
//! of docs/mobile.md compiled against it. The package's tests include the testing kit's (`MomentsTesting`, over the
//! mock's own native library `moments-mock-ffi`, built here too).
//!
//! With a native `swift` on `PATH` (macOS, or Linux with Swift installed) it runs directly. Otherwise, on Debian
//! as root, it uses a Debian trixie root with the `swiftlang` package, made once with debootstrap under
//! `/var/cache/moments-swift-root` and reused; `/proc`, `/sys`, `/dev` and the repository (at the same absolute
//! path) are mounted into it for the run and unmounted afterwards, even on failure. One run at a time uses the
//! root: [`Mounts`] holds a lock on `/var/cache/moments-swift-root.lock` while anything is mounted.

use std::path::{Path, PathBuf};

use crate::bindings;
use crate::util::{self, Result, header, run};

const SWIFT_ROOT: &str = "/var/cache/moments-swift-root";
const READY_MARKER: &str = ".moments-swift-ready";
const MIRROR: &str = "http://deb.debian.org/debian";

/// Builds everything the tests need (the library, checked against the committed generated Swift the package
/// compiles), then `swift test`.
pub fn test() -> Result {
    if cfg!(target_os = "macos") {
        // On Apple platforms the package uses the xcframework.
        crate::mobile::build_xcframework()?;
    }
    let lib_dir = bindings::checked_library()?;
    build_mock_library(&lib_dir)?;
    // A mock binary named by MOMENTS_MOCK_BIN is used as it is (no build).
    let mock = match std::env::var_os("MOMENTS_MOCK_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => util::build_mock_server(false)?,
    };
    let root = util::root();
    let package = root.clone();
    let scratch = util::target_dir().join("swift-build");

    let example = example_check_package(&root)?;
    let example_scratch = util::target_dir().join("swift-example-build");
    let snippets = snippet_check_package(&root)?;
    let snippets_scratch = util::target_dir().join("swift-snippets-build");

    if util::which("swift").is_some() {
        header("Swift: swift test (native toolchain)");
        run(util::cmd("swift")
            .current_dir(&package)
            .args(["test", "--scratch-path"])
            .arg(&scratch)
            .env("MOMENTS_LIB_DIR", &lib_dir)
            .env("MOMENTS_MOCK_BIN", &mock))?;
        check_privacy_manifest_bundled(&scratch)?;
        for (title, dir, command, build) in [
            (EXAMPLE_HEADER, &example, "test", &example_scratch),
            (SNIPPETS_HEADER, &snippets, "build", &snippets_scratch),
        ] {
            header(title);
            run(util::cmd("swift")
                .current_dir(dir)
                .args([command, "--scratch-path"])
                .arg(build)
                .env("MOMENTS_LIB_DIR", &lib_dir))?;
        }
        return Ok(());
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

    let in_root = |title: &str, script: String| {
        header(title);
        run(util::cmd("chroot")
            .arg(&swift_root)
            .args(["/usr/bin/env", "-i", "HOME=/root", "LANG=C.UTF-8"])
            .arg("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .arg(format!("MOMENTS_LIB_DIR={}", lib_dir.display()))
            .arg(format!("MOMENTS_MOCK_BIN={}", mock.display()))
            .args(["/bin/sh", "-c", &script]))
    };
    let result = in_root(
        "Swift: swift test (in the Debian trixie root)",
        // XCTest, then swift-testing (the testing kit's scenario).
        format!(
            "cd '{}' && exec swift test --scratch-path '{}'",
            package.display(),
            scratch.display()
        ),
    )
    .and_then(|()| check_privacy_manifest_bundled(&scratch))
    .and_then(|()| {
        in_root(
            EXAMPLE_HEADER,
            format!(
                "cd '{}' && exec swift test --scratch-path '{}'",
                example.display(),
                example_scratch.display()
            ),
        )
    })
    .and_then(|()| {
        in_root(
            SNIPPETS_HEADER,
            format!(
                "cd '{}' && exec swift build --scratch-path '{}'",
                snippets.display(),
                snippets_scratch.display()
            ),
        )
    });
    drop(mounts);
    result
}

/// Builds the testing kit's native library (`moments-mock-ffi`, dev profile), which the package's `MomentsTesting`
/// links from `lib_dir` (the folder of the SDK's library, `MOMENTS_LIB_DIR`).
fn build_mock_library(lib_dir: &Path) -> Result {
    header("Swift testing kit: the mock's native library (moments-mock-ffi)");
    run(util::cargo().args(["build", "-p", "moments-mock-ffi", "--lib"]))?;
    let lib = util::cdylib_name("moments_mock_ffi");
    let built = util::target_dir().join("debug").join(&lib);
    let wanted = lib_dir.join(&lib);
    if built != wanted {
        util::copy(&built, &wanted)?;
    }
    Ok(())
}

const EXAMPLE_HEADER: &str = "Swift: the iOS example's model (RewardsModel.swift) compiles against the SDK, warnings as errors, and its tests (MomentsDemoTests) pass against the mock";
const SNIPPETS_HEADER: &str = "Swift: every ```swift snippet of docs/mobile.md compiles against the SDK (Swift 6), warnings as errors";

/// The SwiftPM identity of the root package when a package depends on it by path: its folder's name.
pub(crate) fn root_package_identity(root: &Path) -> String {
    root.file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_else(|| "moments-sdk".into())
}

/// The SDK's resource bundle that `swift test` built carries the privacy manifest.
fn check_privacy_manifest_bundled(scratch: &Path) -> Result {
    header("Swift: the MomentsSDK resource bundle carries PrivacyInfo.xcprivacy");
    // SwiftPM names a target's resource bundle `<package name>_<target name>`.
    let bundle = "MomentsSDK_MomentsSDK.resources";
    let candidates: Vec<PathBuf> = std::fs::read_dir(scratch)
        .map_err(|e| format!("read {}: {e}", scratch.display()))?
        .flatten()
        .map(|platform| platform.path().join("debug").join(bundle))
        .collect();
    match candidates
        .iter()
        .map(|dir| dir.join("PrivacyInfo.xcprivacy"))
        .find(|manifest| manifest.is_file())
    {
        Some(manifest) => {
            println!("{}", manifest.display());
            Ok(())
        }
        None => Err(format!(
            "no PrivacyInfo.xcprivacy in a {bundle} bundle under {}: is it still in the MomentsSDK target's resources \
             (Package.swift)?",
            scratch.display()
        )),
    }
}

/// A package in `target/` that compiles the iOS example's UI-free part (`RewardsModel.swift`, copied) against the
/// SDK package in Swift 6 language mode, so the example cannot drift from the SDK's API, and runs its tests
/// (`MomentsDemoTests/*.swift`, copied) against the mock through `MomentsTesting`. The module is named `MomentsDemo`,
/// as the app's, so the tests' `@testable import MomentsDemo` is the same here and in Xcode. The SwiftUI shell needs
/// Apple's SDKs and is not compiled here.
fn example_check_package(root: &Path) -> Result<PathBuf> {
    let dir = util::target_dir().join("swift-example-check");
    // An earlier layout's target folder must not linger as a second module.
    let stale = dir.join("Sources/MomentsDemoCheck");
    if stale.exists() {
        std::fs::remove_dir_all(&stale).map_err(|e| format!("remove {}: {e}", stale.display()))?;
    }
    let example = root.join("examples/ios-swift");
    let tests_dir = example.join("MomentsDemoTests");
    let tests: Vec<PathBuf> = std::fs::read_dir(&tests_dir)
        .map_err(|e| format!("read {}: {e}", tests_dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "swift"))
        .collect();
    let copies = std::iter::once((
        "Sources/MomentsDemo",
        example.join("MomentsDemo/RewardsModel.swift"),
    ))
    .chain(tests.into_iter().map(|t| ("Tests/MomentsDemoTests", t)));
    for (to, file) in copies {
        let target = dir.join(to);
        std::fs::create_dir_all(&target)
            .map_err(|e| format!("create {}: {e}", target.display()))?;
        let name = file
            .file_name()
            .ok_or(format!("{} has no name", file.display()))?;
        std::fs::copy(&file, target.join(name))
            .map_err(|e| format!("copy {}: {e}", file.display()))?;
    }
    // The model imports Observation, whose Linux library leaves `swift::threading::fatal` undefined when an executable
    // (the tests) links it (swiftlang/swift#75670): the handler, defined here for the test bundle.
    let fix = dir.join("Sources/ObservationThreadingFatal");
    std::fs::create_dir_all(fix.join("include"))
        .map_err(|e| format!("create {}: {e}", fix.display()))?;
    std::fs::write(
        fix.join("include/ObservationThreadingFatal.h"),
        "// The fatal-error handler of Swift's threading library, for Observation on Linux.\n",
    )
    .map_err(|e| format!("write {}: {e}", fix.display()))?;
    std::fs::write(fix.join("fatal.c"), OBSERVATION_THREADING_FATAL)
        .map_err(|e| format!("write {}: {e}", fix.display()))?;
    let manifest = format!(
        r#"// swift-tools-version:6.0
// Generated by `cargo xtask swift-test`: compiles examples/ios-swift/MomentsDemo/RewardsModel.swift against the SDK
// and runs examples/ios-swift/MomentsDemoTests against the mock.
import PackageDescription

let package = Package(
    name: "MomentsDemoCheck",
    platforms: [.iOS(.v17), .macOS(.v14)],
    dependencies: [.package(path: "{sdk}")],
    targets: [
        .target(
            name: "MomentsDemo",
            dependencies: [.product(name: "MomentsSDK", package: "{identity}")],
            path: "Sources/MomentsDemo",
            swiftSettings: [.unsafeFlags(["-warnings-as-errors"])]
        ),
        .target(name: "ObservationThreadingFatal", path: "Sources/ObservationThreadingFatal"),
        .testTarget(
            name: "MomentsDemoTests",
            dependencies: [
                "MomentsDemo",
                "ObservationThreadingFatal",
                .product(name: "MomentsSDK", package: "{identity}"),
                .product(name: "MomentsTesting", package: "{identity}"),
            ],
            path: "Tests/MomentsDemoTests"
        ),
    ]
)
"#,
        sdk = root.display(),
        identity = root_package_identity(root),
    );
    std::fs::write(dir.join("Package.swift"), manifest)
        .map_err(|e| format!("write {}: {e}", dir.display()))?;
    Ok(dir)
}

/// `swift::threading::fatal(const char *, ...)` (its C++ name), which Observation's Linux library needs from the
/// executable that links it: print the message and abort.
const OBSERVATION_THREADING_FATAL: &str = r#"#ifdef __linux__
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void _ZN5swift9threading5fatalEPKcz(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    abort();
}
#endif
"#;

/// Declarations the snippets of docs/mobile.md use without showing them: the app's own backend client (an
/// ordinary class, not `Sendable`, as an app's usually is) and a way to show something. The values they use
/// (`campaignID`, …) are parameters of the functions their statements are compiled in.
const SNIPPET_PRELUDE: &str = r#"import Foundation
import MomentsSDK

/// The app's own backend client, as the snippets use it: an ordinary class.
final class AppBackend {
    func customerToken() async throws -> CustomerToken {
        CustomerToken(token: "ct_snippet", expiresIn: 900)
    }
}

func show(_ url: URL) {}
func show(_ text: String) {}
"#;

/// The parameters every snippet of docs/mobile.md may use (its body is compiled inside a function taking them).
const SNIPPET_PARAMETERS: &str = "client: MomentsClient, installID: String?, campaignID: String, customerID: String, apiURL: URL, \
     outboxFile: URL";

/// One fenced ```swift block of a Markdown document.
#[derive(Debug, PartialEq, Eq)]
struct Snippet {
    /// The line of its opening fence (1-based).
    line: usize,
    code: String,
}

/// Every fenced block whose info string is `swift`, in order.
fn swift_snippets(markdown: &str) -> Vec<Snippet> {
    let mut snippets = Vec::new();
    let mut open: Option<(usize, String, String)> = None; // (line, fence indent, code)
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        match &mut open {
            None => {
                if trimmed.strip_prefix("```").map(str::trim) == Some("swift") {
                    open = Some((index + 1, indent.to_owned(), String::new()));
                }
            }
            Some((start, fence_indent, code)) => {
                if trimmed.starts_with("```") {
                    snippets.push(Snippet {
                        line: *start,
                        code: std::mem::take(code),
                    });
                    open = None;
                } else {
                    code.push_str(line.strip_prefix(fence_indent.as_str()).unwrap_or(trimmed));
                    code.push('\n');
                }
            }
        }
    }
    snippets
}

/// Whether a snippet declares things (its first line is an import, a type, a function or an attribute) rather
/// than being statements: it is compiled at the top level of its own file, not inside a function.
fn declares(code: &str) -> bool {
    const STARTS: &[&str] = &[
        "import ",
        "final class ",
        "class ",
        "struct ",
        "actor ",
        "enum ",
        "extension ",
        "func ",
        "@MainActor",
        "@Observable",
    ];
    let first = code
        .lines()
        .map(str::trim_end)
        .find(|l| !l.is_empty() && !l.starts_with("//"))
        .unwrap_or("");
    STARTS.iter().any(|s| first.starts_with(s))
}

/// The Swift source compiling `snippet` number `n` of docs/mobile.md: declarations as they are; statements inside
/// two functions, one `@MainActor` (as in an app's UI code) and one nonisolated (as in a background task).
fn snippet_source(n: usize, snippet: &Snippet) -> String {
    let header = format!("// docs/mobile.md, line {}\n", snippet.line);
    if declares(&snippet.code) {
        let (imports, rest): (Vec<&str>, Vec<&str>) =
            snippet.code.lines().partition(|l| l.starts_with("import "));
        let mut out = header;
        for import in imports {
            out.push_str(import);
            out.push('\n');
        }
        out.push_str("import Foundation\nimport MomentsSDK\n\n");
        out.push_str(&rest.join("\n"));
        out.push('\n');
        return out;
    }
    let body: String = snippet
        .code
        .lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_owned()
            } else {
                format!("    {l}\n")
            }
        })
        .collect();
    format!(
        "{header}import Foundation\nimport MomentsSDK\n\n\
         @MainActor\nfunc snippet{n}OnTheMainActor({SNIPPET_PARAMETERS}) async throws {{\n{body}}}\n\n\
         func snippet{n}Nonisolated({SNIPPET_PARAMETERS}) async throws {{\n{body}}}\n"
    )
}

/// A package in `target/` compiling every ```swift block of docs/mobile.md against the SDK package, in Swift 6
/// language mode (strict concurrency) with warnings as errors, so the documentation cannot drift from the API.
fn snippet_check_package(root: &Path) -> Result<PathBuf> {
    let doc = root.join("docs/mobile.md");
    let markdown =
        std::fs::read_to_string(&doc).map_err(|e| format!("read {}: {e}", doc.display()))?;
    let snippets = swift_snippets(&markdown);
    if snippets.is_empty() {
        return Err(format!("no ```swift snippet in {}", doc.display()));
    }
    let dir = util::target_dir().join("swift-snippets-check");
    let sources = dir.join("Sources/MomentsDocSnippets");
    let _ = std::fs::remove_dir_all(&sources);
    std::fs::create_dir_all(&sources).map_err(|e| format!("create {}: {e}", sources.display()))?;
    let write = |name: &str, text: &str| {
        let path = sources.join(name);
        std::fs::write(&path, text).map_err(|e| format!("write {}: {e}", path.display()))
    };
    write("Prelude.swift", SNIPPET_PRELUDE)?;
    for (i, snippet) in snippets.iter().enumerate() {
        write(
            &format!("Snippet{:02}.swift", i + 1),
            &snippet_source(i + 1, snippet),
        )?;
    }
    println!(
        "{} Swift snippets of {} in {}",
        snippets.len(),
        doc.display(),
        sources.display()
    );
    let manifest = format!(
        r#"// swift-tools-version:6.0
// Generated by `cargo xtask swift-test`: compiles every ```swift block of docs/mobile.md against the SDK.
import PackageDescription

let package = Package(
    name: "MomentsDocSnippets",
    platforms: [.iOS(.v15), .macOS(.v12)],
    dependencies: [.package(path: "{sdk}")],
    targets: [
        .target(
            name: "MomentsDocSnippets",
            dependencies: [.product(name: "MomentsSDK", package: "{identity}")],
            path: "Sources/MomentsDocSnippets",
            swiftSettings: [.unsafeFlags(["-warnings-as-errors"])]
        ),
    ]
)
"#,
        sdk = root.display(),
        identity = root_package_identity(root),
    );
    std::fs::write(dir.join("Package.swift"), manifest)
        .map_err(|e| format!("write {}: {e}", dir.display()))?;
    Ok(dir)
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
///
/// Holds an exclusive lock on `<root>.lock` from creation to drop (after the unmounts), so that two xtask runs
/// on this machine take turns with the root instead of unmounting each other's mounts.
struct Mounts {
    root: PathBuf,
    mounted: Vec<PathBuf>,
    _lock: Option<std::fs::File>,
}

impl Mounts {
    fn new(root: &Path) -> Self {
        let lock_path = root.with_extension("lock");
        let lock = std::fs::File::create(&lock_path).and_then(|file| {
            if file.try_lock().is_err() {
                println!(
                    "waiting for another run using the Swift root to finish ({})",
                    lock_path.display()
                );
                file.lock()?;
            }
            Ok(file)
        });
        let lock = match lock {
            Ok(file) => Some(file),
            Err(e) => {
                println!(
                    "(no lock on {}: {e}; going on without it)",
                    lock_path.display()
                );
                None
            }
        };
        Self {
            root: root.to_path_buf(),
            mounted: Vec::new(),
            _lock: lock,
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

/// Runs `script` (`/bin/sh -c`) where Swift is: natively when `swift` is on `PATH`, else in the Debian trixie
/// root (made when missing), with the repository, the target folder and each of `dirs` mounted at their own
/// paths and `env` set. `cargo xtask api` runs `swift package dump-symbol-graph` through it, `cargo xtask swift`
/// an app's package.
pub(crate) fn run_in_swift_env(
    title: &str,
    script: &str,
    env: &[(&str, &Path)],
    dirs: &[&Path],
) -> Result {
    header(title);
    if util::which("swift").is_some() {
        let mut sh = util::cmd("/bin/sh");
        sh.args(["-c", script]);
        for (key, value) in env {
            sh.env(key, value);
        }
        return run(&mut sh);
    }
    if !cfg!(target_os = "linux") || !util::is_root() {
        return Err("no `swift` on PATH: install Swift, or run as root on Debian so a Swift root can be made".into());
    }
    let swift_root = PathBuf::from(SWIFT_ROOT);
    ensure_swift_root(&swift_root)?;
    let mut mounts = Mounts::new(&swift_root);
    mounts.system()?;
    let root = util::root();
    mounts.bind_same_path(&root)?;
    let target = util::target_dir();
    if !target.starts_with(&root) {
        mounts.bind_same_path(&target)?;
    }
    for dir in dirs {
        if !dir.starts_with(&root) && !dir.starts_with(&target) {
            mounts.bind_same_path(dir)?;
        }
    }
    let mut chroot = util::cmd("chroot");
    chroot
        .arg(&swift_root)
        .args(["/usr/bin/env", "-i", "HOME=/root", "LANG=C.UTF-8"])
        .arg("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for (key, value) in env {
        chroot.arg(format!("{key}={}", value.display()));
    }
    let result = run(chroot.args(["/bin/sh", "-c", script]));
    drop(mounts);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swift_blocks_are_found_with_their_lines_and_indented_ones_unindented() {
        let doc = "# Title\n\n```swift\nlet a = 1\n```\n\n```kotlin\nval b = 2\n```\n\n- item\n  ```swift\n  \
                   try await f()\n\n  g()\n  ```\n```swift manifest\nnot compiled\n```\n";
        assert_eq!(
            swift_snippets(doc),
            vec![
                Snippet {
                    line: 3,
                    code: "let a = 1\n".into()
                },
                Snippet {
                    line: 12,
                    code: "try await f()\n\ng()\n".into()
                },
            ]
        );
    }

    #[test]
    fn statements_are_compiled_in_a_main_actor_and_a_nonisolated_function() {
        let snippet = Snippet {
            line: 7,
            code: "let x = try await client.myRewards()\nshow(\"\\(x.count)\")\n".into(),
        };
        let source = snippet_source(3, &snippet);
        assert!(
            source.starts_with("// docs/mobile.md, line 7\n"),
            "{source}"
        );
        assert!(
            source.contains(&format!(
                "@MainActor\nfunc snippet3OnTheMainActor({SNIPPET_PARAMETERS}) async throws {{\n    let x = try await client.myRewards()\n"
            )),
            "{source}"
        );
        assert!(
            source.contains(&format!(
                "func snippet3Nonisolated({SNIPPET_PARAMETERS}) async throws {{"
            )),
            "{source}"
        );
    }

    #[test]
    fn declarations_stay_at_the_top_level_with_their_imports_first() {
        let snippet = Snippet {
            line: 1,
            code: "import SwiftUI\n\n@MainActor\nfinal class Model {}\n".into(),
        };
        assert!(declares(&snippet.code));
        let source = snippet_source(1, &snippet);
        assert!(
            source.starts_with(
                "// docs/mobile.md, line 1\nimport SwiftUI\nimport Foundation\nimport MomentsSDK\n\n\n@MainActor\nfinal class Model {}\n"
            ),
            "{source}"
        );
        assert!(!source.contains("func snippet"));
        // Constants are statements: a snippet starting with one is compiled inside the functions.
        assert!(!declares("// a client\nlet client = x\n"));
    }

    /// Every DocC symbol link (``` ``Type/member(label:)`` ```) in the MomentsSDK module's doc comments and its
    /// DocC catalog names a public symbol of the committed Swift API dump (api/swift.txt), absolutely or relative
    /// to a type, so the documentation renders without broken links (no DocC build runs here).
    #[test]
    fn docc_links_of_the_swift_sdk_name_public_symbols() {
        let root = util::root();
        let dump = std::fs::read_to_string(root.join("api/swift.txt")).unwrap();
        let symbols: Vec<&str> = dump
            .lines()
            .filter_map(|l| l.strip_prefix("MomentsSDK "))
            .filter_map(|l| l.split(" | ").next()?.split_once(' ').map(|(_, path)| path))
            .collect();
        assert!(
            symbols.contains(
                &"MomentsClient.reportAction(campaignID:momentID:quantity:cancellation:)"
            )
        );
        let resolves = |link: &str| {
            let path = link.replace('/', ".");
            path == "MomentsSDK"
                || symbols
                    .iter()
                    .any(|s| *s == path || s.ends_with(&format!(".{path}")))
        };
        let sources = root.join("bindings/swift/Sources/MomentsSDK");
        let mut files = vec![sources.join("MomentsSDK.docc/MomentsSDK.md")];
        files.extend(
            std::fs::read_dir(&sources)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "swift")),
        );
        let mut checked = 0;
        let mut broken = Vec::new();
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let docs = file.extension().is_some_and(|e| e == "md")
                    || line.trim_start().starts_with("///");
                let mut rest = line;
                while docs && let Some(start) = rest.find("``") {
                    let after = &rest[start + 2..];
                    let Some(end) = after.find("``") else { break };
                    let link = &after[..end];
                    checked += 1;
                    if !resolves(link) {
                        broken.push(format!("{}:{}: ``{link}``", file.display(), n + 1));
                    }
                    rest = &after[end + 2..];
                }
            }
        }
        assert!(checked > 50, "only {checked} links found");
        assert!(
            broken.is_empty(),
            "DocC links to no public symbol:\n{}",
            broken.join("\n")
        );
    }

    /// The hand-written Swift (the SDK module, its tests, the iOS example, the guide) opts out of no
    /// concurrency check: no `@unchecked Sendable`, no `nonisolated(unsafe)`. Only the generated module has them.
    #[test]
    fn the_hand_written_swift_needs_no_unchecked_sendable() {
        let root = util::root();
        let mut files = vec![root.join("docs/mobile.md")];
        for dir in [
            "bindings/swift/Sources/MomentsSDK",
            "bindings/swift/Tests/MomentsSDKTests",
            "bindings/swift/Sources/MomentsTesting",
            "bindings/swift/Tests/MomentsTestingTests",
            "examples/ios-swift/MomentsDemo",
            "examples/ios-swift/MomentsDemoTests",
        ] {
            files.extend(
                std::fs::read_dir(root.join(dir))
                    .unwrap()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "swift")),
            );
        }
        assert!(files.len() > 10, "{files:?}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for needle in ["@unchecked", "nonisolated(unsafe)"] {
                assert!(!text.contains(needle), "{} uses {needle}", file.display());
            }
        }
    }

    /// The Swift snippet of docs/testing.md is the testing kit's scenario test's text (between its snippet markers).
    #[test]
    fn the_swift_testing_snippet_is_the_scenario_test() {
        let root = util::root();
        let test = std::fs::read_to_string(
            root.join("bindings/swift/Tests/MomentsTestingTests/ScenarioTests.swift"),
        )
        .unwrap();
        let code = test
            .split_once("// snippet-start\n")
            .and_then(|(_, rest)| rest.split_once("// snippet-end"))
            .map(|(code, _)| code)
            .expect("ScenarioTests.swift has the snippet markers");
        let doc = std::fs::read_to_string(root.join("docs/testing.md")).unwrap();
        let snippet = doc
            .split_once("<!-- swift-scenario -->\n```swift\n")
            .and_then(|(_, rest)| rest.split_once("```"))
            .map(|(snippet, _)| snippet)
            .expect("docs/testing.md has the Swift scenario block");
        assert_eq!(
            snippet, code,
            "docs/testing.md's Swift scenario differs from ScenarioTests.swift"
        );
    }

    #[test]
    fn every_swift_snippet_of_the_mobile_guide_is_found() {
        let doc = std::fs::read_to_string(util::root().join("docs/mobile.md")).unwrap();
        let fences = doc.lines().filter(|l| l.trim_start() == "```swift").count();
        assert!(fences > 0);
        assert_eq!(swift_snippets(&doc).len(), fences);
    }
}
