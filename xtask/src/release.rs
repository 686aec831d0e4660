//! Releases: one version for every artifact, and `cargo xtask dist`.
//!
//! The version is `[workspace.package] version` of the root `Cargo.toml`. The files that cannot read it from
//! there (Maven's POM, the Gradle module, the Swift package's constant and release URL, the workspace's path
//! dependencies) carry a copy: [`COPIES`]. `cargo xtask version` checks that every copy agrees (a step of `cargo xtask ci`);
//! `cargo xtask version X.Y.Z` writes the version into `Cargo.toml` and every copy.
//!
//! `cargo xtask dist` builds every artifact this machine can build into a staging folder and moves it to
//! `target/dist/` at the end; what it cannot build here it names and skips.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::util::{self, Result, header, run};
use crate::{artifacts, image, kit, mobile, repository};

/// A copy of the version in a file other than the root `Cargo.toml`: on the first line containing `key`
/// (or the line after it, with `next_line`), between `before` and `after`.
#[derive(Debug)]
pub struct Copy {
    pub path: &'static str,
    key: &'static str,
    next_line: bool,
    before: &'static str,
    after: &'static str,
}

/// Every copy of the version.
pub const COPIES: &[Copy] = &[
    Copy {
        path: "Cargo.toml",
        key: "moments-client = { path",
        next_line: false,
        before: "version = \"",
        after: "\"",
    },
    Copy {
        path: "Cargo.toml",
        key: "moments-idempotency = { path",
        next_line: false,
        before: "version = \"",
        after: "\"",
    },
    Copy {
        path: "Cargo.toml",
        key: "moments-outbox = { path",
        next_line: false,
        before: "version = \"",
        after: "\"",
    },
    Copy {
        path: "Cargo.toml",
        key: "moments-mock-server = { path",
        next_line: false,
        before: "version = \"",
        after: "\"",
    },
    Copy {
        path: "bindings/kotlin/pom.xml",
        key: "<artifactId>moments-sdk</artifactId>",
        next_line: true,
        before: "<version>",
        after: "</version>",
    },
    Copy {
        path: "bindings/kotlin/android/build.gradle.kts",
        key: "artifactId = \"moments-sdk-android\"",
        next_line: true,
        before: "version = \"",
        after: "\"",
    },
    Copy {
        path: "bindings/swift/Sources/MomentsSDK/MomentsSDKVersion.swift",
        key: "public static let version = ",
        next_line: false,
        before: "= \"",
        after: "\"",
    },
    // The Swift package's release binary target (`cargo xtask dist` writes its checksum).
    Copy {
        path: "Package.swift",
        key: "let releaseXCFrameworkURL = ",
        next_line: false,
        before: "/releases/download/v",
        after: "/",
    },
    // The testing kit's own version, and the SDK's jar its tests use.
    Copy {
        path: "bindings/kotlin-testing/pom.xml",
        key: "<artifactId>moments-sdk-testing</artifactId>",
        next_line: true,
        before: "<version>",
        after: "</version>",
    },
    Copy {
        path: "bindings/kotlin-testing/pom.xml",
        key: "<artifactId>moments-sdk</artifactId>",
        next_line: true,
        before: "<version>",
        after: "</version>",
    },
    // The Android example's compile check depends on the SDK's jar by version.
    Copy {
        path: "examples/android-kotlin/pom.xml",
        key: "<artifactId>moments-sdk</artifactId>",
        next_line: true,
        before: "<version>",
        after: "</version>",
    },
    // Its unit tests depend on the testing kit by version.
    Copy {
        path: "examples/android-kotlin/pom.xml",
        key: "<artifactId>moments-sdk-testing</artifactId>",
        next_line: true,
        before: "<version>",
        after: "</version>",
    },
    Copy {
        path: "examples/android-kotlin/pom.xml",
        key: "<moments.sdk.jar>",
        next_line: false,
        before: "moments-sdk-",
        after: ".jar",
    },
];

/// `[workspace.package] version` of `root/Cargo.toml`.
pub fn workspace_version(root: &Path) -> Result<String> {
    workspace_package_field(root, "version")
}

/// The string `key` under `[workspace.package]` of `root/Cargo.toml`.
pub fn workspace_package_field(root: &Path, key: &str) -> Result<String> {
    let manifest = read(&root.join("Cargo.toml"))?;
    let mut in_section = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section
            && let Some(rest) = line.strip_prefix(key)
            && let Some(v) = rest.trim_start().strip_prefix('=')
        {
            return Ok(v.trim().trim_matches('"').to_owned());
        }
    }
    Err(format!(
        "no `{key}` under [workspace.package] in the root Cargo.toml: add one"
    ))
}

/// Where `copy` is in `text`: (line index, byte range of the version in that line).
fn locate(copy: &Copy, text: &str) -> Option<(usize, std::ops::Range<usize>)> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.contains(copy.key))? + usize::from(copy.next_line);
    let line = lines.get(at)?;
    let search_from = if copy.next_line {
        0
    } else {
        line.find(copy.key)?
    };
    let start = search_from + line[search_from..].find(copy.before)? + copy.before.len();
    let end = start + line[start..].find(copy.after)?;
    Some((at, start..end))
}

/// The version `copy` holds in `text`.
fn read_copy(copy: &Copy, text: &str) -> Option<String> {
    let (at, range) = locate(copy, text)?;
    Some(text.lines().nth(at)?[range].to_owned())
}

/// `text` with `copy` set to `version` (line endings kept).
fn write_copy(copy: &Copy, text: &str, version: &str) -> Option<String> {
    let (at, range) = locate(copy, text)?;
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i == at {
            out.push_str(&line[..range.start]);
            out.push_str(version);
            out.push_str(&line[range.end..]);
        } else {
            out.push_str(line);
        }
    }
    Some(out)
}

fn describe(copy: &Copy) -> String {
    if copy.next_line {
        format!(
            "{}{{version}}{} after `{}`",
            copy.before, copy.after, copy.key
        )
    } else {
        format!("`{}` … {}{{version}}{}", copy.key, copy.before, copy.after)
    }
}

/// Checks every copy against the workspace version of `root`; returns that version. The error names each
/// file that disagrees (or holds no version where one is expected) and what to run.
pub fn check_versions(root: &Path) -> Result<String> {
    let version = workspace_version(root)?;
    if !is_version(&version) {
        return Err(format!(
            "the root Cargo.toml's workspace.package.version `{version}` is not a version (MAJOR.MINOR.PATCH)"
        ));
    }
    let mut problems = Vec::new();
    for copy in COPIES {
        let text = read(&root.join(copy.path))?;
        match read_copy(copy, &text) {
            Some(v) if v == version => {}
            Some(v) => problems.push(format!("  {}: {v}", copy.path)),
            None => problems.push(format!(
                "  {}: no version found (expected {})",
                copy.path,
                describe(copy)
            )),
        }
    }
    if problems.is_empty() {
        return Ok(version);
    }
    Err(format!(
        "the version disagrees between files: Cargo.toml (workspace.package.version) says {version}, but\n{}\n\
         run `cargo xtask version {version}` to write it into every file (or `cargo xtask version X.Y.Z` for another)",
        problems.join("\n")
    ))
}

/// MAJOR.MINOR.PATCH with an optional `-pre` suffix.
fn is_version(v: &str) -> bool {
    let core = v
        .split_once('-')
        .map_or(v, |(core, pre)| if pre.is_empty() { "" } else { core });
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Writes `version` into the root `Cargo.toml` and every copy.
pub fn set_version(root: &Path, version: &str) -> Result {
    if !is_version(version) {
        return Err(format!(
            "`{version}` is not a version: give MAJOR.MINOR.PATCH (e.g. 0.2.0)"
        ));
    }
    let manifest_path = root.join("Cargo.toml");
    let manifest = read(&manifest_path)?;
    let old = workspace_version(root)?;
    let section = manifest
        .find("[workspace.package]")
        .ok_or("no [workspace.package] in the root Cargo.toml")?;
    let needle = format!("version = \"{old}\"");
    let at = section
        + manifest[section..].find(&needle).ok_or(
            "write workspace.package.version as `version = \"X.Y.Z\"` in the root Cargo.toml",
        )?;
    let manifest = format!(
        "{}version = \"{version}\"{}",
        &manifest[..at],
        &manifest[at + needle.len()..]
    );
    write(&manifest_path, &manifest)?;
    for copy in COPIES {
        let path = root.join(copy.path);
        let text = read(&path)?;
        let updated = write_copy(copy, &text, version).ok_or_else(|| {
            format!(
                "{}: no version found (expected {})",
                copy.path,
                describe(copy)
            )
        })?;
        write(&path, &updated)?;
    }
    check_versions(root).map(|_| ())
}

/// `cargo xtask version [X.Y.Z]`: checks every copy of the version, or sets them all.
pub fn version_task(args: &[String]) -> Result {
    let root = util::root();
    match args {
        [] => {
            let version = check_versions(&root)?;
            println!(
                "version {version}: Cargo.toml and {} copies agree",
                COPIES.len()
            );
            Ok(())
        }
        [version] => {
            set_version(&root, version)?;
            println!(
                "version {version} written to Cargo.toml and {}",
                COPIES.iter().map(|c| c.path).collect::<Vec<_>>().join(", ")
            );
            println!(
                "Cargo.lock follows at the next cargo build; add a `## [{version}]` section to CHANGELOG.md"
            );
            Ok(())
        }
        _ => Err("usage: cargo xtask version [X.Y.Z]".into()),
    }
}

/// `cargo xtask ci`'s release step: the versions agree, and the three published crates package (in dependency
/// order through cargo's local registry, each verified by building it from its `.crate`).
pub fn ci_check() -> Result {
    let version = check_versions(&util::root())?;
    println!("version {version}: every copy agrees");
    let url = repository::check(&util::root())?;
    println!("repository {url}: every copy agrees");
    run(util::cargo()
        // `--allow-dirty`: `cargo xtask ci` also runs on uncommitted work; `dist` is the task that refuses it.
        .args(["package", "--allow-dirty"])
        .args(PUBLISHED.iter().flat_map(|p| ["-p", p]))
        // The workspace's profile (the packaged crates are built as workspaces of their own): the same
        // debug info, so the dependencies built by the other steps are reused.
        .args([
            "--config",
            "profile.dev.debug=\"line-tables-only\"",
            "--config",
            "profile.dev.package.\"*\".debug=false",
        ]))
}

/// The crates published to crates.io, in dependency order.
pub const PUBLISHED: &[&str] = &[
    "moments-idempotency",
    "moments-client",
    "moments-mock-server",
    "moments-outbox",
];

/// What `dist` was asked: `--allow-dirty` (build from uncommitted changes, for trying it out; the notes say
/// so) and `--tag vX.Y.Z` (a release: the tag must be `v` + the version, and CHANGELOG.md must have its section).
#[derive(Debug, Default, PartialEq)]
pub struct DistArgs {
    pub allow_dirty: bool,
    pub tag: Option<String>,
}

pub fn parse_dist_args(args: &[String]) -> Result<DistArgs> {
    let mut out = DistArgs::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--allow-dirty" => out.allow_dirty = true,
            "--tag" => {
                out.tag = Some(
                    it.next()
                        .ok_or("--tag needs a value, e.g. --tag v0.1.0")?
                        .clone(),
                )
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}`: cargo xtask dist [--allow-dirty] [--tag vX.Y.Z]"
                ));
            }
        }
    }
    Ok(out)
}

/// The files `git status` reports in `root` (modified, staged, untracked and not ignored).
fn dirty_files(root: &Path) -> Result<Vec<String>> {
    let out = util::output(util::cmd("git").current_dir(root).args([
        "status",
        "--porcelain",
        "--untracked-files=normal",
    ]))
    .map_err(|e| format!("git status in {}: {e}", root.display()))?;
    Ok(out
        .lines()
        .filter(|l| l.len() > 3)
        .map(|l| l[3..].to_owned())
        .collect())
}

/// Everything `dist` refuses before it builds anything: a dirty tree, disagreeing versions, a tag that is not
/// the version, a release without its changelog section. Returns the version and the release notes.
pub fn preflight(root: &Path, args: &DistArgs) -> Result<(String, String)> {
    let version = check_versions(root)?;
    if !args.allow_dirty {
        let dirty = dirty_files(root)?;
        if !dirty.is_empty() {
            let shown: Vec<&str> = dirty.iter().take(10).map(String::as_str).collect();
            return Err(format!(
                "the working tree has uncommitted changes ({} files: {}{}): commit or remove them so the artifacts \
                 match a commit, or pass --allow-dirty to build them anyway (not for a release)",
                dirty.len(),
                shown.join(", "),
                if dirty.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            ));
        }
    }
    if let Some(tag) = &args.tag {
        if tag.strip_prefix('v') != Some(version.as_str()) {
            return Err(format!(
                "the tag `{tag}` is not `v{version}` (Cargo.toml's workspace.package.version): tag v{version}, or \
                 run `cargo xtask version X.Y.Z` and commit before tagging"
            ));
        }
        if args.allow_dirty {
            return Err(
                "--allow-dirty is not allowed with --tag: a release is built from its commit"
                    .into(),
            );
        }
    }
    let changelog = read(&root.join("CHANGELOG.md"))?;
    let notes = release_notes(&changelog, &version, args.tag.is_some())?;
    if args.tag.is_some() {
        let url = repository::workspace_repository(root)?;
        if repository::is_placeholder(&url) {
            return Err(format!(
                "workspace.package.repository is the placeholder {url}: a release names its repository (the POM's \
                 SCM, the Swift package's download URL); run `cargo xtask repository https://…` and commit before \
                 tagging"
            ));
        }
    }
    Ok((version, notes))
}

/// The body of the `## [version]` section of a Keep a Changelog file; without a `--tag`, `## [Unreleased]`
/// when the version has no section yet.
pub fn release_notes(changelog: &str, version: &str, release: bool) -> Result<String> {
    let section = |name: &str| -> Option<String> {
        let mut lines = changelog.lines().skip_while(|l| {
            !l.strip_prefix("## [")
                .is_some_and(|r| r.starts_with(&format!("{name}]")))
        });
        lines.next()?;
        let body: Vec<&str> = lines.take_while(|l| !l.starts_with("## ")).collect();
        let body = body
            .into_iter()
            .filter(|l| !l.starts_with('[') || !l.contains("]: "))
            .collect::<Vec<_>>()
            .join("\n");
        Some(body.trim().to_owned())
    };
    if let Some(body) = section(version).filter(|b| !b.is_empty()) {
        return Ok(format!("# Moments SDK {version}\n\n{body}\n"));
    }
    if release {
        return Err(format!(
            "CHANGELOG.md has no `## [{version}] - YYYY-MM-DD` section with notes: rename `## [Unreleased]` to it \
             (and start a new empty Unreleased section), commit, then tag"
        ));
    }
    match section("Unreleased").filter(|b| !b.is_empty()) {
        Some(body) => Ok(format!("# Moments SDK {version} (unreleased)\n\n{body}\n")),
        None => Err(format!(
            "CHANGELOG.md has neither a `## [{version}]` nor a `## [Unreleased]` section with notes: write one"
        )),
    }
}

/// One part of the release: built (its files, in the staging folder) or skipped here (why).
enum Part {
    Built(Vec<PathBuf>),
    Skipped(String),
}

/// `cargo xtask dist [--allow-dirty] [--tag vX.Y.Z]`: every artifact this machine can build, into a staging
/// folder, then moved to `target/dist/` (replacing it) only when all of them were built; a failure leaves the
/// previous `target/dist/` as it was.
pub fn dist(args: &[String]) -> Result {
    let args = parse_dist_args(args)?;
    let root = util::root();
    header("dist: check the tree, the version and the release notes");
    let (version, notes) = preflight(&root, &args)?;
    println!("version {version}");

    let target = util::target_dir();
    let dist = target.join("dist");
    let staging = target.join(format!("dist.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|e| format!("create {}: {e}", staging.display()))?;
    let result = build_parts(&root, &staging, &version, &notes, args.allow_dirty);
    let parts = match result {
        Ok(parts) => parts,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(format!("{e}\n(nothing was written to {})", dist.display()));
        }
    };
    if dist.exists() {
        std::fs::remove_dir_all(&dist).map_err(|e| format!("remove {}: {e}", dist.display()))?;
    }
    std::fs::rename(&staging, &dist)
        .map_err(|e| format!("move {} to {}: {e}", staging.display(), dist.display()))?;

    header(&format!("{} (version {version})", dist.display()));
    for (name, part) in &parts {
        match part {
            Part::Built(files) => {
                for file in files {
                    let name = file.file_name().unwrap_or_default().to_string_lossy();
                    let size = std::fs::metadata(dist.join(&*name))
                        .map(|m| m.len())
                        .unwrap_or(0);
                    println!("{size:>12}  {name}");
                }
            }
            Part::Skipped(why) => println!("{:>12}  {name}: {why}", "skipped"),
        }
    }
    println!(
        "SHA-256 of every file: {}",
        dist.join("SHA256SUMS").display()
    );
    Ok(())
}

/// Builds every part into `staging`; returns (name, what happened) per part.
fn build_parts(
    root: &Path,
    staging: &Path,
    version: &str,
    notes: &str,
    dirty: bool,
) -> Result<Vec<(&'static str, Part)>> {
    let mut parts = Vec::new();

    header("dist: the mock's static binaries and OCI image");
    parts.push((
        "mock binaries and OCI image",
        if cfg!(target_os = "linux") {
            Part::Built(image::write_artifacts(staging)?)
        } else {
            Part::Skipped("the static Linux binaries are built on Linux".into())
        },
    ));

    header("dist: the Kotlin SDK for the JVM (jar, sources, javadoc, POM)");
    let jvm = artifacts::jar()?;
    let mut files = Vec::new();
    for from in [&jvm.jar, &jvm.sources, &jvm.javadoc, &jvm.pom] {
        let to = staging.join(from.file_name().expect("a file"));
        util::copy(from, &to)?;
        files.push(to);
    }
    parts.push(("Kotlin JVM jar", Part::Built(files)));

    header("dist: the JVM testing kit (jar with this machine's mock library, sources, POM)");
    let mut files = Vec::new();
    for from in kit::testing_jar(&jvm.jar, &jvm.pom)? {
        let to = staging.join(from.file_name().expect("a file"));
        util::copy(&from, &to)?;
        files.push(to);
    }
    parts.push(("JVM testing kit jar", Part::Built(files)));

    header("dist: the Android AAR");
    parts.push(("Android AAR", android_aar(root, staging, version)?));

    header("dist: the XCFramework (Swift package binary target)");
    parts.push(("XCFramework zip", xcframework_zip(root, staging, version)?));

    let notes_path = staging.join("RELEASE_NOTES.md");
    let notes = if dirty {
        format!(
            "{notes}\n> Built from a working tree with uncommitted changes (`--allow-dirty`): not a release.\n"
        )
    } else {
        notes.to_owned()
    };
    write(&notes_path, &notes)?;
    parts.push(("release notes", Part::Built(vec![notes_path])));

    parts.push(("checksums", Part::Built(vec![write_sha256sums(staging)?])));
    Ok(parts)
}

/// The AAR, when an Android NDK is present (`ANDROID_NDK_HOME`): the native library per ABI, then Gradle.
fn android_aar(root: &Path, staging: &Path, version: &str) -> Result<Part> {
    let ndk = std::env::var_os("ANDROID_NDK_HOME").filter(|p| Path::new(p).is_dir());
    if ndk.is_none() {
        return Ok(Part::Skipped(
            "no Android NDK here (ANDROID_NDK_HOME unset): install it (sdkmanager \"ndk;27.2.12479018\") \
             and export ANDROID_NDK_HOME to build the AAR"
                .into(),
        ));
    }
    let Some(gradle) = util::which("gradle") else {
        return Err(
            "ANDROID_NDK_HOME is set but `gradle` is not on PATH: install Gradle 8.9+ and the Android SDK \
             (ANDROID_HOME), or unset ANDROID_NDK_HOME to skip the AAR"
                .into(),
        );
    };
    mobile::android(&[])?;
    let module = root.join("bindings/kotlin/android");
    run(util::cmd(gradle)
        .args(["-p"])
        .arg(&module)
        .args(["--no-daemon", "assembleRelease"]))?;
    let built = module.join("build/outputs/aar/moments-sdk-android-release.aar");
    let to = staging.join(format!("moments-sdk-android-{version}.aar"));
    util::copy(&built, &to)?;
    Ok(Part::Built(vec![to]))
}

/// The XCFramework as the zip a SwiftPM `binaryTarget(url:checksum:)` takes, and its checksum, on macOS; the
/// release's URL and that checksum are written into the root `Package.swift` (commit it with the release).
fn xcframework_zip(root: &Path, staging: &Path, version: &str) -> Result<Part> {
    if !cfg!(target_os = "macos") {
        return Ok(Part::Skipped(
            "the XCFramework is built on macOS with Xcode (the release workflow's macOS job)"
                .into(),
        ));
    }
    let (zip, checksum) = artifacts::xcframework_zip(staging)?;
    let sum = read(&checksum)?;
    let manifest = artifacts::write_release_binary_target(root, version, &sum)?;
    println!(
        "commit {} (its binaryTarget now names this zip) and upload the zip as {}",
        manifest.display(),
        artifacts::release_xcframework_url(root, version)?
    );
    Ok(Part::Built(vec![zip, checksum]))
}

/// `sha256sum`-style lines for every file directly in `dir`, by name.
/// Writes `dir/SHA256SUMS`: the checksum of every other file in `dir`.
pub fn write_sha256sums(dir: &Path) -> Result<PathBuf> {
    let path = dir.join("SHA256SUMS");
    let _ = std::fs::remove_file(&path);
    write(&path, &sha256sums(dir)?)?;
    Ok(path)
}

fn sha256sums(dir: &Path) -> Result<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("read {}: {e}", dir.display()))?
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut out = String::new();
    for name in names {
        let bytes = std::fs::read(dir.join(&name)).map_err(|e| format!("read {name}: {e}"))?;
        let sum: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        out.push_str(&format!("{sum}  {name}\n"));
    }
    Ok(out)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result {
    std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of the version-bearing files of the repository in a temporary git repository, committed.
    struct Repo(PathBuf);

    impl Repo {
        fn new(name: &str) -> Repo {
            let dir =
                std::env::temp_dir().join(format!("xtask-release-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let root = util::root();
            for path in COPIES
                .iter()
                .map(|c| c.path)
                .chain(["Cargo.toml", "CHANGELOG.md"])
            {
                util::copy(&root.join(path), &dir.join(path)).unwrap();
            }
            let repo = Repo(dir);
            repo.git(&["init", "-q"]);
            repo.git(&["add", "."]);
            repo.git(&[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-q",
                "-m",
                "init",
            ]);
            repo
        }

        fn git(&self, args: &[&str]) {
            util::output(util::cmd("git").current_dir(&self.0).args(args)).unwrap();
        }

        fn edit(&self, path: &str, from: &str, to: &str) {
            let file = self.0.join(path);
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(text.contains(from), "{path} has no `{from}`");
            std::fs::write(&file, text.replacen(from, to, 1)).unwrap();
        }
    }

    impl Drop for Repo {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_repository_versions_agree() {
        let version = check_versions(&util::root()).unwrap();
        assert!(is_version(&version), "{version}");
    }

    #[test]
    fn a_disagreeing_copy_is_named_with_what_to_run() {
        let repo = Repo::new("disagree");
        let version = workspace_version(&repo.0).unwrap();
        repo.edit(
            "bindings/kotlin/pom.xml",
            &format!("<version>{version}</version>"),
            "<version>9.9.9</version>",
        );
        repo.edit(
            "bindings/swift/Sources/MomentsSDK/MomentsSDKVersion.swift",
            &format!("\"{version}\""),
            "\"0.0.1\"",
        );
        let err = check_versions(&repo.0).unwrap_err();
        assert!(err.contains("bindings/kotlin/pom.xml: 9.9.9"), "{err}");
        assert!(
            err.contains("bindings/swift/Sources/MomentsSDK/MomentsSDKVersion.swift: 0.0.1"),
            "{err}"
        );
        assert!(!err.contains("build.gradle.kts"), "{err}");
        assert!(
            err.contains(&format!("cargo xtask version {version}")),
            "{err}"
        );
        // The refusal comes before anything is built.
        let err = preflight(&repo.0, &DistArgs::default()).unwrap_err();
        assert!(err.contains("the version disagrees between files"), "{err}");
    }

    #[test]
    fn a_missing_copy_is_named() {
        let repo = Repo::new("missing");
        repo.edit(
            "bindings/kotlin/android/build.gradle.kts",
            "artifactId = \"moments-sdk-android\"",
            "artifactId = \"renamed\"",
        );
        let err = check_versions(&repo.0).unwrap_err();
        assert!(
            err.contains("bindings/kotlin/android/build.gradle.kts: no version found"),
            "{err}"
        );
    }

    #[test]
    fn set_version_writes_every_copy_and_only_the_version() {
        let repo = Repo::new("set");
        let before: Vec<String> = COPIES
            .iter()
            .map(|c| std::fs::read_to_string(repo.0.join(c.path)).unwrap())
            .collect();
        set_version(&repo.0, "1.2.3-rc.1").unwrap();
        assert_eq!(check_versions(&repo.0).unwrap(), "1.2.3-rc.1");
        assert_eq!(workspace_version(&repo.0).unwrap(), "1.2.3-rc.1");
        let manifest = std::fs::read_to_string(repo.0.join("Cargo.toml")).unwrap();
        // rust-version and the dependencies' own versions are left alone.
        assert!(manifest.contains("rust-version = \"1.89\""), "{manifest}");
        assert!(
            manifest.contains("axum = { version = \"0.8\""),
            "{manifest}"
        );
        for (copy, before) in COPIES.iter().zip(before) {
            let after = std::fs::read_to_string(repo.0.join(copy.path)).unwrap();
            assert_eq!(
                after.lines().count(),
                before.lines().count(),
                "{}",
                copy.path
            );
        }
        for bad in ["1.2", "v1.2.3", "1.2.x", "1.2.3-", ""] {
            let err = set_version(&repo.0, bad).unwrap_err();
            assert!(err.contains("is not a version"), "{bad}: {err}");
        }
    }

    #[test]
    fn dist_refuses_a_dirty_tree_unless_allowed() {
        let repo = Repo::new("dirty");
        preflight(&repo.0, &DistArgs::default()).unwrap();
        std::fs::write(repo.0.join("stray.txt"), "x").unwrap();
        repo.edit("CHANGELOG.md", "## [Unreleased]", "## [Unreleased]\n");
        let err = preflight(&repo.0, &DistArgs::default()).unwrap_err();
        assert!(err.contains("uncommitted changes (2 files"), "{err}");
        assert!(
            err.contains("CHANGELOG.md") && err.contains("stray.txt"),
            "{err}"
        );
        assert!(err.contains("--allow-dirty"), "{err}");
        let allowed = DistArgs {
            allow_dirty: true,
            tag: None,
        };
        preflight(&repo.0, &allowed).unwrap();
        let tagged = DistArgs {
            allow_dirty: true,
            tag: Some(format!("v{}", workspace_version(&repo.0).unwrap())),
        };
        let err = preflight(&repo.0, &tagged).unwrap_err();
        assert!(
            err.contains("--allow-dirty is not allowed with --tag"),
            "{err}"
        );
    }

    #[test]
    fn a_release_tag_must_be_the_version_and_have_notes() {
        let repo = Repo::new("tag");
        let version = workspace_version(&repo.0).unwrap();
        let tag = |t: &str| DistArgs {
            allow_dirty: false,
            tag: Some(t.into()),
        };
        let err = preflight(&repo.0, &tag("v9.9.9")).unwrap_err();
        assert!(err.contains(&format!("is not `v{version}`")), "{err}");
        // The changelog has only Unreleased: fine for a build, not for a release.
        let err = preflight(&repo.0, &tag(&format!("v{version}"))).unwrap_err();
        assert!(
            err.contains(&format!("no `## [{version}] - YYYY-MM-DD` section")),
            "{err}"
        );
        repo.edit(
            "CHANGELOG.md",
            "## [Unreleased]",
            &format!("## [Unreleased]\n\n## [{version}] - 2030-01-01"),
        );
        repo.git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qam",
            "release",
        ]);
        // The placeholder repository: fine for a build, not for a release.
        let err = preflight(&repo.0, &tag(&format!("v{version}"))).unwrap_err();
        assert!(err.contains("placeholder"), "{err}");
        let placeholder = repository::workspace_repository(&repo.0).unwrap();
        repo.edit(
            "Cargo.toml",
            &placeholder,
            "https://github.com/example-owner/moments-sdk",
        );
        repo.git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qam",
            "repository",
        ]);
        let (_, notes) = preflight(&repo.0, &tag(&format!("v{version}"))).unwrap();
        assert!(
            notes.starts_with(&format!("# Moments SDK {version}\n")),
            "{notes}"
        );
    }

    #[test]
    fn release_notes_are_the_section_of_the_version() {
        let changelog = "# Changelog\n\n## [Unreleased]\n\n### Added\n- next\n\n## [0.2.0] - 2030-01-01\n\n\
            ### Added\n- two\n\n## [0.1.0] - 2029-01-01\n\n- one\n\n[0.2.0]: https://x/compare\n";
        assert_eq!(
            release_notes(changelog, "0.2.0", true).unwrap(),
            "# Moments SDK 0.2.0\n\n### Added\n- two\n"
        );
        assert_eq!(
            release_notes(changelog, "0.1.0", true).unwrap(),
            "# Moments SDK 0.1.0\n\n- one\n"
        );
        assert_eq!(
            release_notes(changelog, "0.3.0", false).unwrap(),
            "# Moments SDK 0.3.0 (unreleased)\n\n### Added\n- next\n"
        );
        assert!(release_notes(changelog, "0.3.0", true).is_err());
        assert!(release_notes("# Changelog\n", "0.3.0", false).is_err());
    }

    #[test]
    fn dist_arguments() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_dist_args(&[]).unwrap(), DistArgs::default());
        assert_eq!(
            parse_dist_args(&args(&["--tag", "v1.0.0", "--allow-dirty"])).unwrap(),
            DistArgs {
                allow_dirty: true,
                tag: Some("v1.0.0".into())
            }
        );
        assert!(parse_dist_args(&args(&["--tag"])).is_err());
        assert!(parse_dist_args(&args(&["--force"])).is_err());
    }
}
