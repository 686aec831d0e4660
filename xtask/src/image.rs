//! The mock as static Linux binaries (musl, x86_64 and aarch64) and as an OCI image (linux/amd64 and
//! linux/arm64, from scratch), written without a container engine: the layout (tar + gzip + SHA-256 + JSON)
//! is written here.
//!
//! - `cargo xtask mock-dist`: both binaries built and checked (`file` says statically linked; each answers
//!   a trigger, the foreign one under `qemu-user`), then into `target/dist/`: per architecture
//!   `moments-mock-server-VERSION-TARGET.tar.gz` and an OCI layout tarball
//!   `moments-mock-server-VERSION-oci-linux-ARCH.tar`, the multi-arch one `moments-mock-server-VERSION-oci.tar`,
//!   each with its `.sha256`. A release task calls [`write_artifacts`] with a staging folder of its own.
//! - `cargo xtask mock-image-check`: runs the amd64 image from `target/dist/` (podman when it works,
//!   else its root filesystem unpacked and its entrypoint started under `chroot` as the image's user) and
//!   probes it over HTTP.
//!
//! Not part of `cargo xtask ci`: a cold musl release build of the mock takes 5–6 minutes per architecture on
//! two cores, so the release workflow runs `mock-dist` instead (docs/ci-integration.md).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::util::{self, Result};

/// The binary's name, in archives and in the image.
const BIN: &str = "moments-mock-server";
/// Where the image keeps the binary.
const IMAGE_BIN: &str = "/usr/local/bin/moments-mock-server";
/// The image's user and group (numeric: nothing in the image resolves names at run time).
const IMAGE_UID: u32 = 10001;
/// The port the image exposes (the binary's default).
const IMAGE_PORT: u16 = 8080;

/// A Linux architecture the mock ships for.
pub struct Arch {
    /// Rust target triple.
    pub rust_target: &'static str,
    /// OCI / Go architecture name.
    pub oci: &'static str,
    /// The uname machine name that runs it natively.
    machine: &'static str,
    /// The C compiler for `ring` (the cc crate's `CC_<target>`) and the Debian package that has it.
    cc: (&'static str, &'static str),
    /// The linker, when the host's `cc` cannot link it (`rust-lld` with the target's self-contained musl).
    linker: Option<&'static str>,
    /// The user-mode emulator that runs it on another machine, and its Debian package.
    emulator: (&'static str, &'static str),
}

/// Both architectures.
pub const ARCHES: &[Arch] = &[
    Arch {
        rust_target: "x86_64-unknown-linux-musl",
        oci: "amd64",
        machine: "x86_64",
        cc: ("musl-gcc", "musl-tools"),
        linker: None,
        emulator: ("qemu-x86_64", "qemu-user"),
    },
    Arch {
        rust_target: "aarch64-unknown-linux-musl",
        oci: "arm64",
        machine: "aarch64",
        cc: ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
        linker: Some("rust-lld"),
        emulator: ("qemu-aarch64", "qemu-user"),
    },
];

/// The target folder of these builds: apart from `target/`, so they never wait for (or block) the
/// workspace's own builds, and kept, so a second run builds nothing.
fn build_dir() -> PathBuf {
    util::target_dir().join("dist-build")
}

fn host_machine() -> &'static str {
    std::env::consts::ARCH
}

/// Installs the Rust target with rustup when missing.
fn ensure_rust_target(target: &str) -> Result {
    let sysroot = util::output(util::cmd("rustc").args(["--print", "sysroot"]))?;
    if Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(target)
        .exists()
    {
        return Ok(());
    }
    if util::which("rustup").is_none() {
        return Err(format!(
            "the Rust target {target} is not installed and rustup is missing: install the target's standard library"
        ));
    }
    util::run(util::cmd("rustup").args(["target", "add", target])).map_err(|e| {
        format!("{e}: the Rust target {target} is needed: run `rustup target add {target}`")
    })
}

/// Installs a program's Debian package when missing (root on Debian), else names it.
fn ensure_program(program: &str, package: &str, why: &str) -> Result {
    if util::which(program).is_some() {
        return Ok(());
    }
    util::apt_install(&[package]).map_err(|e| {
        format!("`{program}` is needed {why}: install it (Debian: apt-get install {package}); {e}")
    })?;
    match util::which(program) {
        Some(_) => Ok(()),
        None => Err(format!(
            "`{program}` still missing after installing {package}"
        )),
    }
}

/// Builds the mock's static binary for `arch` (release, symbols stripped) and returns its path.
pub fn build_static(arch: &Arch) -> Result<PathBuf> {
    if !cfg!(target_os = "linux") || host_machine() != "x86_64" {
        return Err(format!(
            "the static binaries are built on an x86_64 Linux machine (this is {} {})",
            std::env::consts::OS,
            host_machine()
        ));
    }
    util::header(&format!("static mock binary for {}", arch.rust_target));
    ensure_rust_target(arch.rust_target)?;
    ensure_program(
        arch.cc.0,
        arch.cc.1,
        &format!("to compile ring's C and assembly for {}", arch.rust_target),
    )?;
    let env_target = arch.rust_target.replace('-', "_");
    let mut c = util::cargo();
    c.args([
        "build",
        "--release",
        "--locked",
        "-p",
        "moments-mock-server",
        "--bin",
        BIN,
        "--target",
        arch.rust_target,
    ])
    .env("CARGO_TARGET_DIR", build_dir())
    .env("CARGO_PROFILE_RELEASE_STRIP", "symbols")
    .env(format!("CC_{env_target}"), arch.cc.0);
    if let Some(linker) = arch.linker {
        c.env(
            format!("CARGO_TARGET_{}_LINKER", env_target.to_uppercase()),
            linker,
        );
    }
    util::run(&mut c)?;
    Ok(build_dir().join(arch.rust_target).join("release").join(BIN))
}

/// Checks a built binary: `file` says it is statically linked, and it answers a trigger (under the
/// user-mode emulator when it is not this machine's architecture).
pub fn check_binary(arch: &Arch, binary: &Path) -> Result {
    ensure_program("file", "file", "to check that the binary is static")?;
    let described = util::output(util::cmd("file").arg("-b").arg(binary))?;
    let described = described.trim();
    println!("file: {described}");
    // Rust's musl targets link static PIE executables: `static-pie linked`, no interpreter, no libraries.
    let is_static =
        described.contains("statically linked") || described.contains("static-pie linked");
    if !is_static || described.contains("dynamically") || described.contains("interpreter") {
        return Err(format!(
            "{} is not a static executable: `file` says {described}",
            binary.display()
        ));
    }
    let mut c = if arch.machine == host_machine() {
        util::cmd(binary)
    } else {
        ensure_program(
            arch.emulator.0,
            arch.emulator.1,
            &format!("to run the {} binary here", arch.machine),
        )?;
        let mut c = util::cmd(arch.emulator.0);
        c.arg(binary);
        c
    };
    c.args(["--port", "0", "--log", "info"]);
    answers_a_trigger(c)
}

/// Starts the mock with `c` (whose first output line announces its URL), probes `/_mock/health`,
/// sends a trigger, then stops it with SIGTERM and expects a clean exit.
fn answers_a_trigger(mut c: Command) -> Result {
    println!("$ {c:?}");
    let child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("could not start {c:?}: {e}"))?;
    let mut running = Running(Some(child));
    let url = running.url(Duration::from_secs(60))?;
    let (status, body) = http(&url, "GET", "/_mock/health", &[], "")?;
    if status != 200 || !body.contains("\"status\":\"ok\"") {
        return Err(format!("GET /_mock/health answered {status}: {body}"));
    }
    probe_trigger(&url, "dist-check-1")?;
    running.stop()
}

/// Sends a demo trigger under `key` and expects a reward.
fn probe_trigger(url: &str, key: &str) -> Result {
    let trigger = r#"{"campaign_id":"cmp_demo_workouts","moment_id":"first_workout","customer":{"id":"cust_probe","marketplace":"US"},"device":{"type":"Android"}}"#;
    let headers = [
        (
            "Authorization",
            "Bearer sk_test_demo_4eC39HqLyjWDarjtT1zdp7dc",
        ),
        ("Idempotency-Key", key),
        ("Content-Type", "application/json"),
    ];
    let (status, body) = http(url, "POST", "/v1/triggers", &headers, trigger)?;
    if status != 200 || !body.contains("\"reward\"") {
        return Err(format!("POST /v1/triggers answered {status}: {body}"));
    }
    println!("POST /v1/triggers -> 200, a reward");
    Ok(())
}

/// A started mock, killed if dropped before [`Running::stop`].
struct Running(Option<Child>);

impl Running {
    /// Reads the first line of standard output: `Moments mock server listening on URL`.
    fn url(&mut self, within: Duration) -> Result<String> {
        let child = self.0.as_mut().expect("running");
        let out = child.stdout.take().expect("stdout piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(out).lines();
            let _ = tx.send(lines.next());
            // Keep reading, so the rest of the banner never blocks the server.
            for _ in lines {}
        });
        let first = match rx.recv_timeout(within) {
            Ok(Some(Ok(line))) => line,
            Ok(other) => return Err(format!("the mock printed no URL line: {other:?}")),
            Err(_) => return Err(format!("the mock printed no URL within {within:?}")),
        };
        first
            .strip_prefix("Moments mock server listening on ")
            .map(str::to_string)
            .ok_or_else(|| format!("unexpected first line: {first}"))
    }

    /// SIGTERM, then a clean exit within 30 s (else it is killed, on drop).
    fn stop(mut self) -> Result {
        let pid = self.0.as_ref().expect("running").id();
        util::run(util::cmd("kill").args(["-TERM", &pid.to_string()]))?;
        for _ in 0..300 {
            let child = self.0.as_mut().expect("running");
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                self.0 = None;
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("the mock exited with {status} after SIGTERM"))
                };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("the mock did not exit within 30 s of SIGTERM".into())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One HTTP/1.1 request over a fresh connection (`Connection: close`); answers (status, body).
fn http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String)> {
    let authority = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http URL: {base}"))?;
    let mut stream = std::net::TcpStream::connect(authority)
        .map_err(|e| format!("connect to {authority}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{method} {path}: not an HTTP answer: {answer}"))?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// `cargo xtask mock-dist`: both binaries built and checked, then the archives and images written to
/// `target/dist/` through a staging folder (renamed into place at the end: a failure leaves nothing
/// half-written there).
pub fn mock_dist() -> Result {
    let dist = util::target_dir().join("dist");
    std::fs::create_dir_all(&dist).map_err(|e| format!("create {}: {e}", dist.display()))?;
    let staging = dist.join(format!(".mock-dist.{}.partial", std::process::id()));
    let result = write_artifacts(&staging).and_then(|written| {
        let mut moved = Vec::new();
        for from in written {
            let to = dist.join(from.file_name().expect("a file"));
            std::fs::rename(&from, &to)
                .map_err(|e| format!("move {} to {}: {e}", from.display(), to.display()))?;
            moved.push(to);
        }
        Ok(moved)
    });
    let _ = std::fs::remove_dir_all(&staging);
    let moved = result?;
    util::header("target/dist/");
    for path in moved {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        println!("{:>10}  {}", size, path.display());
    }
    Ok(())
}

/// Builds and checks both binaries and writes into `staging` (created; its files only): per architecture
/// the binary's `.tar.gz` and its OCI layout tarball, then the multi-arch layout, each with a `.sha256`
/// line (`sha256sum -c` reads it). Returns the files written.
pub fn write_artifacts(staging: &Path) -> Result<Vec<PathBuf>> {
    let version = crate::release::workspace_version(&util::root())?;
    std::fs::create_dir_all(staging).map_err(|e| format!("create {}: {e}", staging.display()))?;
    let mtime = source_date_epoch();
    let mut written = Vec::new();
    let mut images = Vec::new();
    for arch in ARCHES {
        let binary = build_static(arch)?;
        check_binary(arch, &binary)?;
        let exe = std::fs::read(&binary).map_err(|e| format!("read {}: {e}", binary.display()))?;
        let stem = format!("{BIN}-{version}-{}", arch.rust_target);
        let archive = binary_archive(&stem, &exe, mtime)?;
        written.extend(write_with_checksum(
            staging,
            &format!("{stem}.tar.gz"),
            &archive,
        )?);
        let image = Image::new(arch, &version, &exe, mtime)?;
        let layout = layout_tar(&image.blobs, &[image.descriptor(&version)], mtime)?;
        written.extend(write_with_checksum(
            staging,
            &format!("{BIN}-{version}-oci-linux-{}.tar", arch.oci),
            &layout,
        )?);
        images.push(image);
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": images.iter().map(|i| i.descriptor(&version)).collect::<Vec<_>>(),
    });
    let index_blob = serde_json::to_vec(&index).map_err(|e| e.to_string())?;
    let mut blobs: Vec<Vec<u8>> = images.into_iter().flat_map(|i| i.blobs).collect();
    let top = json!({
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": digest(&index_blob),
        "size": index_blob.len(),
        "annotations": { "org.opencontainers.image.ref.name": format!("{BIN}:{version}") },
    });
    blobs.push(index_blob);
    let layout = layout_tar(&blobs, &[top], mtime)?;
    written.extend(write_with_checksum(
        staging,
        &format!("{BIN}-{version}-oci.tar"),
        &layout,
    )?);
    Ok(written)
}

/// The archives' file times: `SOURCE_DATE_EPOCH` when set, else 0 (so the same binary gives the same bytes).
fn source_date_epoch() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `name` and `name.sha256` into `dir`.
fn write_with_checksum(dir: &Path, name: &str, bytes: &[u8]) -> Result<Vec<PathBuf>> {
    let path = dir.join(name);
    let sum = dir.join(format!("{name}.sha256"));
    std::fs::write(&path, bytes).map_err(|e| format!("write {}: {e}", path.display()))?;
    let line = format!("{}  {name}\n", hex(&Sha256::digest(bytes)));
    std::fs::write(&sum, line).map_err(|e| format!("write {}: {e}", sum.display()))?;
    Ok(vec![path, sum])
}

/// A tar builder whose entries are owned by `uid`:`uid`, dated `mtime`.
struct Tar {
    builder: tar::Builder<Vec<u8>>,
    mtime: u64,
}

impl Tar {
    fn new(mtime: u64) -> Tar {
        let mut builder = tar::Builder::new(Vec::new());
        builder.mode(tar::HeaderMode::Deterministic);
        Tar { builder, mtime }
    }

    fn dir(&mut self, path: &str, mode: u32) -> Result {
        self.entry(path, tar::EntryType::Directory, mode, 0, &[])
    }

    fn file(&mut self, path: &str, mode: u32, uid: u32, bytes: &[u8]) -> Result {
        self.entry(path, tar::EntryType::Regular, mode, uid, bytes)
    }

    fn entry(
        &mut self,
        path: &str,
        kind: tar::EntryType,
        mode: u32,
        uid: u32,
        bytes: &[u8],
    ) -> Result {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(u64::from(uid));
        h.set_gid(u64::from(uid));
        h.set_mtime(self.mtime);
        h.set_size(bytes.len() as u64);
        self.builder
            .append_data(&mut h, path, bytes)
            .map_err(|e| format!("tar {path}: {e}"))
    }

    fn finish(self) -> Result<Vec<u8>> {
        self.builder.into_inner().map_err(|e| format!("tar: {e}"))
    }
}

fn gzip(bytes: &[u8], mtime: u64) -> Result<Vec<u8>> {
    let mut gz = flate2::GzBuilder::new()
        .mtime(mtime as u32)
        .write(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).map_err(|e| format!("gzip: {e}"))?;
    gz.finish().map_err(|e| format!("gzip: {e}"))
}

/// `STEM/moments-mock-server` (and `STEM/LICENSE` when the repository has one), gzipped.
fn binary_archive(stem: &str, exe: &[u8], mtime: u64) -> Result<Vec<u8>> {
    let mut tar = Tar::new(mtime);
    tar.dir(&format!("{stem}/"), 0o755)?;
    tar.file(&format!("{stem}/{BIN}"), 0o755, 0, exe)?;
    if let Ok(license) = std::fs::read(util::root().join("LICENSE")) {
        tar.file(&format!("{stem}/LICENSE"), 0o644, 0, &license)?;
    }
    gzip(&tar.finish()?, mtime)
}

/// One architecture's image: its blobs (layer, config, manifest; the manifest last) and platform.
struct Image {
    blobs: Vec<Vec<u8>>,
    oci: &'static str,
}

impl Image {
    /// From scratch: the binary at [`IMAGE_BIN`], `/etc/passwd` and `/etc/group` naming its user, an empty
    /// `/tmp`; user 10001, port 8080 exposed, `--host 0.0.0.0` the default command.
    fn new(arch: &Arch, version: &str, exe: &[u8], mtime: u64) -> Result<Image> {
        let mut tar = Tar::new(mtime);
        for dir in ["etc/", "usr/", "usr/local/", "usr/local/bin/"] {
            tar.dir(dir, 0o755)?;
        }
        tar.dir("tmp/", 0o1777)?;
        tar.file(
            "etc/passwd",
            0o644,
            0,
            format!("root:x:0:0:root:/:/sbin/nologin\nmock:x:{IMAGE_UID}:{IMAGE_UID}:moments mock:/tmp:/sbin/nologin\n")
                .as_bytes(),
        )?;
        tar.file(
            "etc/group",
            0o644,
            0,
            format!("root:x:0:\nmock:x:{IMAGE_UID}:\n").as_bytes(),
        )?;
        tar.file(IMAGE_BIN.trim_start_matches('/'), 0o755, 0, exe)?;
        let layer_tar = tar.finish()?;
        let layer = gzip(&layer_tar, mtime)?;
        let created = chrono_like(mtime);
        let config = json!({
            "created": created,
            "architecture": arch.oci,
            "os": "linux",
            "config": {
                "User": format!("{IMAGE_UID}:{IMAGE_UID}"),
                "ExposedPorts": { format!("{IMAGE_PORT}/tcp"): {} },
                "Env": ["PATH=/usr/local/bin"],
                "Entrypoint": [IMAGE_BIN],
                "Cmd": ["--host", "0.0.0.0"],
                "WorkingDir": "/tmp",
                "Labels": labels(version),
            },
            "rootfs": { "type": "layers", "diff_ids": [digest(&layer_tar)] },
            "history": [{ "created": created, "created_by": "cargo xtask mock-dist" }],
        });
        let config = serde_json::to_vec(&config).map_err(|e| e.to_string())?;
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest(&config),
                "size": config.len(),
            },
            "layers": [{
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": digest(&layer),
                "size": layer.len(),
            }],
            "annotations": labels(version),
        });
        let manifest = serde_json::to_vec(&manifest).map_err(|e| e.to_string())?;
        Ok(Image {
            blobs: vec![layer, config, manifest],
            oci: arch.oci,
        })
    }

    /// The manifest's descriptor, with its platform and `moments-mock-server:VERSION` as reference name.
    fn descriptor(&self, version: &str) -> Value {
        let manifest = self.blobs.last().expect("the manifest");
        json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest(manifest),
            "size": manifest.len(),
            "platform": { "architecture": self.oci, "os": "linux" },
            "annotations": { "org.opencontainers.image.ref.name": format!("{BIN}:{version}") },
        })
    }
}

fn labels(version: &str) -> Value {
    json!({
        "org.opencontainers.image.title": BIN,
        "org.opencontainers.image.description": "Stateful mock of the Moments Rewards API",
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.licenses": "Apache-2.0",
    })
}

/// `mtime` as an RFC 3339 UTC timestamp (days from the civil calendar, no dependency).
fn chrono_like(mtime: u64) -> String {
    let (days, secs) = (mtime / 86_400, mtime % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// An OCI image layout as a tar: `oci-layout`, `index.json` listing `manifests`, `blobs/sha256/…`.
fn layout_tar(blobs: &[Vec<u8>], manifests: &[Value], mtime: u64) -> Result<Vec<u8>> {
    let mut tar = Tar::new(mtime);
    tar.file("oci-layout", 0o644, 0, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    tar.file(
        "index.json",
        0o644,
        0,
        &serde_json::to_vec(&index).map_err(|e| e.to_string())?,
    )?;
    tar.dir("blobs/", 0o755)?;
    tar.dir("blobs/sha256/", 0o755)?;
    let mut seen = std::collections::BTreeSet::new();
    for blob in blobs {
        let name = hex(&Sha256::digest(blob));
        if seen.insert(name.clone()) {
            tar.file(&format!("blobs/sha256/{name}"), 0o644, 0, blob)?;
        }
    }
    tar.finish()
}

/// `cargo xtask mock-image-check`: runs the amd64 image of `target/dist/` and probes it over HTTP:
/// with podman when it can run containers here, else from its root filesystem under `chroot` as the
/// image's user, with the image's entrypoint, command and environment.
pub fn image_check() -> Result {
    let version = crate::release::workspace_version(&util::root())?;
    let archive = util::target_dir()
        .join("dist")
        .join(format!("{BIN}-{version}-oci-linux-amd64.tar"));
    if !archive.exists() {
        return Err(format!(
            "{} is missing: run `cargo xtask mock-dist` first",
            archive.display()
        ));
    }
    let work = util::target_dir().join("dist-build/image-check");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("create {}: {e}", work.display()))?;
    let result = match podman_check(&archive) {
        Ok(()) => Ok(()),
        Err(why) => {
            println!(
                "podman cannot run the image here ({why}); running its root filesystem under chroot"
            );
            chroot_check(&archive, &work)
        }
    };
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn podman_check(archive: &Path) -> Result {
    if util::which("podman").is_none() {
        return Err("podman is not installed".into());
    }
    util::header("podman: load and run the amd64 image");
    let loaded = util::output(util::cmd("podman").arg("load").arg("-i").arg(archive))?;
    let image = loaded
        .lines()
        .find_map(|l| l.trim().strip_prefix("Loaded image: "))
        .ok_or_else(|| format!("podman load said: {loaded}"))?
        .trim()
        .to_string();
    let port = free_port()?;
    let run = util::output(util::cmd("podman").args([
        "run",
        "-d",
        "--rm",
        "-p",
        &format!("127.0.0.1:{port}:{IMAGE_PORT}"),
        &image,
    ]));
    let id = match run {
        Ok(id) => id.trim().to_string(),
        Err(e) => {
            let _ = util::run(util::cmd("podman").args(["rmi", &image]));
            return Err(e);
        }
    };
    let url = format!("http://127.0.0.1:{port}");
    let probed = wait_healthy(&url);
    let _ = util::run(util::cmd("podman").args(["stop", "-t", "5", &id]));
    let _ = util::run(util::cmd("podman").args(["rmi", &image]));
    probed
}

fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Polls `/_mock/health` for up to 30 s, then sends a trigger.
fn wait_healthy(url: &str) -> Result {
    let mut last = String::new();
    for _ in 0..60 {
        match http(url, "GET", "/_mock/health", &[], "") {
            Ok((200, body)) => {
                println!("GET /_mock/health -> 200 {body}");
                return probe_trigger(url, "image-check-1");
            }
            Ok((status, body)) => last = format!("{status} {body}"),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    Err(format!("{url}/_mock/health never answered 200: {last}"))
}

/// Unpacks the layout, follows index → manifest → config and layers, unpacks the layers into a root
/// filesystem and starts the entrypoint there with `chroot --userspec` (root needed).
fn chroot_check(archive: &Path, work: &Path) -> Result {
    util::header("chroot: the amd64 image's root filesystem, its entrypoint as its user");
    if !util::is_root() {
        return Err("running the image without podman needs root (chroot)".into());
    }
    let layout = work.join("layout");
    let rootfs = work.join("rootfs");
    let file =
        std::fs::File::open(archive).map_err(|e| format!("open {}: {e}", archive.display()))?;
    tar::Archive::new(file)
        .unpack(&layout)
        .map_err(|e| format!("unpack {}: {e}", archive.display()))?;
    let blob = |digest: &str| -> Result<Vec<u8>> {
        let path = layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"));
        let bytes = std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
        if self::digest(&bytes) != digest {
            return Err(format!("blob {digest} does not match its digest"));
        }
        Ok(bytes)
    };
    let json = |bytes: &[u8]| -> Result<Value> {
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    };
    let index = json(&std::fs::read(layout.join("index.json")).map_err(|e| e.to_string())?)?;
    let manifest = json(&blob(
        index["manifests"][0]["digest"]
            .as_str()
            .ok_or("index without a manifest")?,
    )?)?;
    let config = json(&blob(
        manifest["config"]["digest"]
            .as_str()
            .ok_or("manifest without a config")?,
    )?)?;
    std::fs::create_dir_all(&rootfs).map_err(|e| e.to_string())?;
    for layer in manifest["layers"]
        .as_array()
        .ok_or("manifest without layers")?
    {
        let bytes = blob(layer["digest"].as_str().ok_or("layer without a digest")?)?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        archive.set_preserve_permissions(true);
        archive.set_preserve_ownerships(true);
        archive
            .unpack(&rootfs)
            .map_err(|e| format!("unpack a layer: {e}"))?;
    }
    let cfg = &config["config"];
    println!("config: {cfg}");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let user = cfg["User"].as_str().ok_or("the image names no user")?;
    if user.starts_with('0') || user == "root" {
        return Err(format!("the image runs as {user}: it must not be root"));
    }
    // By its full path: the cleared environment's PATH is the image's, where the program is looked up.
    let chroot = util::which("chroot").ok_or("chroot is missing (Debian: coreutils)")?;
    let mut c = util::cmd(chroot);
    c.arg(format!("--userspec={user}"))
        .arg(&rootfs)
        .args(strings(&cfg["Entrypoint"]))
        .args(strings(&cfg["Cmd"]))
        .env_clear();
    for kv in strings(&cfg["Env"]) {
        if let Some((k, v)) = kv.split_once('=') {
            c.env(k, v);
        }
    }
    // The image's command binds 0.0.0.0 on its default port; here any free port, announced on stdout.
    c.env("MOMENTS_MOCK_PORT", "0");
    answers_a_trigger(c)
}
