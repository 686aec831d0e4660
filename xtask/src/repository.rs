//! The repository's URL: `[workspace.package] repository` of the root `Cargo.toml`, copied into the files that
//! cannot read it from there ([`FILES`]: the POMs' URL and SCM, the Swift package's release download URL, the
//! install lines of the docs). `cargo xtask repository` checks every copy (a step of `cargo xtask ci`, with the
//! version check); `cargo xtask repository URL` writes a new one everywhere. A release (`dist --tag`) refuses the
//! placeholder (a host under `.invalid`, RFC 2606).

use std::path::Path;

use crate::util::Result;

/// The files that carry a copy of the repository's URL.
pub const FILES: &[&str] = &[
    "Package.swift",
    "bindings/kotlin/pom.xml",
    "bindings/kotlin-testing/pom.xml",
    "bindings/kotlin/src/javadoc/README.md",
    "README.md",
    "docs/mobile.md",
];

/// `[workspace.package] repository` of `root/Cargo.toml`.
pub fn workspace_repository(root: &Path) -> Result<String> {
    crate::release::workspace_package_field(root, "repository")
}

/// Whether `url` is the placeholder that stands until the project has its public home.
pub fn is_placeholder(url: &str) -> bool {
    url.strip_prefix("https://")
        .and_then(|rest| rest.split('/').next())
        .is_none_or(|host| host.ends_with(".invalid"))
}

/// Checks that every file of [`FILES`] names the repository of `Cargo.toml`, and that the Swift package downloads
/// its release from it. Returns the URL.
pub fn check(root: &Path) -> Result<String> {
    let url = workspace_repository(root)?;
    if !url.starts_with("https://") || url.ends_with('/') {
        return Err(format!(
            "the root Cargo.toml's workspace.package.repository `{url}` is not an https URL without a trailing `/`"
        ));
    }
    let mut problems = Vec::new();
    for path in FILES {
        if !read(&root.join(path))?.contains(&url) {
            problems.push(format!("  {path}"));
        }
    }
    let release_prefix = format!("let releaseXCFrameworkURL = \"{url}/releases/download/v");
    if !read(&root.join("Package.swift"))?.contains(&release_prefix) {
        problems.push(format!(
            "  Package.swift: releaseXCFrameworkURL does not start with {url}/releases/download/v"
        ));
    }
    if problems.is_empty() {
        return Ok(url);
    }
    Err(format!(
        "the repository's URL disagrees between files: Cargo.toml (workspace.package.repository) says {url}, but \
         these do not name it:\n{}\nrun `cargo xtask repository NEW_URL` to move every copy from one URL to another, \
         or fix them by hand",
        problems.join("\n")
    ))
}

/// Replaces the current URL (`Cargo.toml`'s) with `new` in `Cargo.toml` and every file of [`FILES`].
pub fn set(root: &Path, new: &str) -> Result {
    if !new.starts_with("https://") || new.ends_with('/') || new.contains(char::is_whitespace) {
        return Err(format!(
            "`{new}` is not an https URL without a trailing `/` (e.g. https://github.com/OWNER/moments-sdk)"
        ));
    }
    let old = check(root)?;
    for path in std::iter::once("Cargo.toml").chain(FILES.iter().copied()) {
        let file = root.join(path);
        let text = read(&file)?;
        std::fs::write(&file, text.replace(&old, new))
            .map_err(|e| format!("write {}: {e}", file.display()))?;
    }
    check(root).map(|_| ())
}

/// `cargo xtask repository [URL]`.
pub fn task(args: &[String]) -> Result {
    let root = crate::util::root();
    match args {
        [] => {
            let url = check(&root)?;
            println!("repository {url}: every copy agrees");
            Ok(())
        }
        [url] => {
            set(&root, url)?;
            println!(
                "repository {url} written to Cargo.toml and {}",
                FILES.join(", ")
            );
            Ok(())
        }
        _ => Err("usage: cargo xtask repository [URL]".into()),
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util;

    /// A copy of the URL-bearing files in a temporary folder.
    struct Copy(std::path::PathBuf);

    impl Copy {
        fn new(name: &str) -> Copy {
            let dir = std::env::temp_dir()
                .join(format!("xtask-repository-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            for path in std::iter::once("Cargo.toml").chain(FILES.iter().copied()) {
                util::copy(&util::root().join(path), &dir.join(path)).unwrap();
            }
            Copy(dir)
        }
    }

    impl Drop for Copy {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_repository_copies_agree() {
        check(&util::root()).unwrap();
    }

    #[test]
    fn a_file_without_the_url_is_named_and_set_moves_every_copy() {
        let copy = Copy::new("set");
        let old = workspace_repository(&copy.0).unwrap();
        let pom = copy.0.join("bindings/kotlin/pom.xml");
        let text = std::fs::read_to_string(&pom).unwrap();
        std::fs::write(&pom, text.replace(&old, "https://elsewhere.example/x")).unwrap();
        let err = check(&copy.0).unwrap_err();
        assert!(err.contains("bindings/kotlin/pom.xml"), "{err}");
        assert!(!err.contains("README.md"), "{err}");
        std::fs::write(&pom, text).unwrap();

        let new = "https://github.com/example-owner/moments-sdk";
        set(&copy.0, new).unwrap();
        assert_eq!(workspace_repository(&copy.0).unwrap(), new);
        for path in FILES {
            let text = std::fs::read_to_string(copy.0.join(path)).unwrap();
            assert!(!text.contains(&old), "{path} still names {old}");
        }
        assert!(
            std::fs::read_to_string(copy.0.join("Package.swift"))
                .unwrap()
                .contains(&format!("\"{new}/releases/download/v"))
        );
    }

    #[test]
    fn a_url_that_is_not_https_is_refused() {
        let copy = Copy::new("bad");
        assert!(
            set(&copy.0, "http://github.com/x/y")
                .unwrap_err()
                .contains("https URL")
        );
        assert!(
            set(&copy.0, "https://github.com/x/y/")
                .unwrap_err()
                .contains("trailing")
        );
    }

    #[test]
    fn the_placeholder_is_recognised() {
        assert!(is_placeholder("https://example.invalid/moments-sdk"));
        assert!(!is_placeholder(
            "https://github.com/example-owner/moments-sdk"
        ));
    }
}
