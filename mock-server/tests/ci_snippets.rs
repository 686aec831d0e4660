//! The CI snippets of docs/ci-integration.md (docs/ci/): the start script runs the binary and returns once it
//! is healthy; every mock flag, environment variable and control path they name exists; the Dockerfile builds
//! the image `cargo xtask mock-dist` writes (same user, port, entrypoint and command).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn snippets() -> Vec<(PathBuf, String)> {
    let dir = root().join("docs/ci");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// The words of `text` that start with `prefix`, up to the first character outside `[A-Za-z0-9_/{}-]`.
fn words<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let tail = &rest[at..];
        let end = tail[prefix.len()..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || "_-/{}".contains(c)))
            .map_or(tail.len(), |e| e + prefix.len());
        found.push(&tail[..end]);
        rest = &tail[end..];
    }
    found
}

#[test]
fn the_snippets_name_only_flags_variables_and_paths_that_exist() {
    let help = Command::new(env!("CARGO_BIN_EXE_moments-mock-server"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let routes: Vec<&str> = moments_mock_server::routes()
        .iter()
        .map(|(_, t)| t.as_str())
        .collect();
    // Flags of the other tools the snippets call (curl, skopeo, cargo).
    let others = [
        "--retry",
        "--retry-delay",
        "--retry-all-errors",
        "--all",
        "--release",
    ];
    let doc = std::fs::read_to_string(root().join("docs/ci-integration.md")).unwrap();
    for (path, text) in snippets() {
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            doc.contains(&format!("docs/ci/{name}")),
            "docs/ci-integration.md shows docs/ci/{name}"
        );
        for flag in words(text.as_str(), "--") {
            if flag.len() > 2 && !others.contains(&flag) {
                assert!(
                    help.contains(flag),
                    "{name}: {flag} is not a flag of the mock"
                );
            }
        }
        for var in words(text.as_str(), "MOMENTS_MOCK_") {
            assert!(
                help.contains(&format!("env: {var}=")),
                "{name}: {var} is not read by the mock"
            );
        }
        for control in words(text.as_str(), "/_mock/") {
            assert!(routes.contains(&control), "{name}: {control} is not served");
        }
    }
}

#[test]
fn the_start_script_returns_once_the_mock_is_healthy_and_it_logs_json() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("moments-ci-snippet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (pid_file, log) = (dir.join("mock.pid"), dir.join("mock.log"));
    let out = Command::new("sh")
        .arg(root().join("docs/ci/start-mock.sh"))
        .arg("--random-demo-keys")
        .env("MOCK_BIN", env!("CARGO_BIN_EXE_moments-mock-server"))
        .env("MOCK_PORT", port.to_string())
        .env("MOCK_PID_FILE", &pid_file)
        .env("MOCK_LOG", &log)
        .output()
        .unwrap();
    let pid = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .to_string();
    let stop = || {
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    };
    if !out.status.success() {
        stop();
        panic!("{}", String::from_utf8_lossy(&out.stderr));
    }
    let url = String::from_utf8(out.stdout).unwrap();
    assert_eq!(url.trim(), format!("http://127.0.0.1:{port}"));
    // Healthy when the script returned: the next request answers at once.
    let answer = Command::new("curl")
        .args(["-fsS", &format!("{}/_mock/health", url.trim())])
        .output()
        .unwrap();
    stop();
    assert!(answer.status.success());
    let health: serde_json::Value = serde_json::from_slice(&answer.stdout).unwrap();
    assert_eq!(health["status"], "ok");
    // Wait for the graceful exit, then read the log: JSON lines, the health probes among them.
    for _ in 0..100 {
        let alive = Command::new("kill").args(["-0", &pid]).status().unwrap();
        if !alive.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["route"] == "/_mock/health" && l["status"] == 200),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_dockerfile_matches_the_constants_of_the_xtask_image() {
    let dockerfile = std::fs::read_to_string(root().join("mock-server/Dockerfile")).unwrap();
    let xtask = std::fs::read_to_string(root().join("xtask/src/image.rs")).unwrap();
    for (line, in_xtask) in [
        ("USER 10001:10001", "const IMAGE_UID: u32 = 10001;"),
        ("EXPOSE 8080", "const IMAGE_PORT: u16 = 8080;"),
        (
            r#"ENTRYPOINT ["/usr/local/bin/moments-mock-server"]"#,
            r#"const IMAGE_BIN: &str = "/usr/local/bin/moments-mock-server";"#,
        ),
        (
            r#"CMD ["--host", "0.0.0.0"]"#,
            r#""Cmd": ["--host", "0.0.0.0"],"#,
        ),
    ] {
        assert!(dockerfile.lines().any(|l| l == line), "Dockerfile: {line}");
        assert!(xtask.contains(in_xtask), "xtask/src/image.rs: {in_xtask}");
    }
}
