//! `cargo xtask api`: the public API of the SDKs as committed text, and the Kotlin/Swift parity table.
//!
//! Five dumps under [`API_DIR`], each one sorted line per declaration, so a change of the public API shows
//! in review as a diff of the dump (the role of Kotlin's binary-compatibility validator and of
//! cargo-semver-checks):
//!
//! - `moments-client.txt`: the Rust crate's public API, from rustdoc's JSON (`RUSTC_BOOTSTRAP=1` on the
//!   pinned stable toolchain) rendered by the `public-api` crate;
//! - `moments-mock-server-testing.txt`: the Rust testing kit's part of moments-mock-server's public API (the
//!   same way; [`kit_parity::RUST_KIT_PATHS`]);
//! - `kotlin-testing.txt`: the Kotlin testing kit (`moments-sdk-testing`), as `kotlin.txt`;
//! - `kotlin.txt`: the public classes and members of the compiled Kotlin SDK (hand-written layer and
//!   generated code) in the `.api` format of Kotlin's binary-compatibility validator, which reads the
//!   classes' Kotlin metadata (so `internal` declarations are left out) — what Kotlin and Java callers
//!   can link against;
//! - `swift.txt`: every public symbol of the Swift package's modules, from
//!   `swift package dump-symbol-graph` (in the Debian trixie root of `cargo xtask swift-test` when there
//!   is no native Swift).
//!
//! `cargo xtask api` writes them; `cargo xtask api --check` (a CI step) regenerates them into
//! `target/api-check/` and fails naming each dump that differs from the committed one. Both first check the
//! committed generated bindings against the library (`cargo xtask bindings --check`). Then the parity check:
//! the table in docs/mobile.md between [`TABLE_START`] and [`TABLE_END`] must name every public call of the
//! Kotlin layer ([`kotlin_calls`]) and of the Swift layer ([`swift_calls`]), each beside its twin; and the testing
//! kits' table in docs/testing.md ([`kit_parity`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::bindings;
use crate::kit_parity;
use crate::kotlin;
use crate::util::{self, Result, cargo, header, run};

/// Where the dumps are committed, relative to the repository root.
pub const API_DIR: &str = "api";
const RUST_DUMP: &str = "moments-client.txt";
const KOTLIN_DUMP: &str = "kotlin.txt";
const SWIFT_DUMP: &str = "swift.txt";
/// The Rust testing kit's dump (`moments_mock_server::testing` and `MockServer`).
pub const RUST_KIT_DUMP: &str = "moments-mock-server-testing.txt";
/// The Kotlin testing kit's dump (`moments-sdk-testing`).
pub const KOTLIN_KIT_DUMP: &str = "kotlin-testing.txt";

/// The package of the Kotlin SDK's public layer; generated code lives in packages below it or elsewhere.
pub const KOTLIN_PACKAGE: &str = "com.moments.sdk";
/// The Swift module of the public, hand-written layer.
pub const SWIFT_MODULE: &str = "MomentsSDK";

/// The parity table's markers in docs/mobile.md.
pub const TABLE_START: &str = "<!-- parity-table:start -->";
pub const TABLE_END: &str = "<!-- parity-table:end -->";
const PARITY_DOC: &str = "docs/mobile.md";

/// `cargo xtask api [--check]`.
pub fn task(args: &[String]) -> Result {
    match args {
        [] => write(),
        [flag] if flag == "--check" => check(),
        _ => Err("usage: cargo xtask api [--check]".into()),
    }
}

/// Regenerates the dumps into `api/`, then checks parity against the new dumps.
fn write() -> Result {
    let dumps = generate()?;
    let dir = util::root().join(API_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    for (name, text) in &dumps {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
        println!("wrote {} ({} lines)", path.display(), text.lines().count());
    }
    parity_check(&util::root())
}

/// CI: the committed generated bindings and the committed dumps are what the current code gives, and the
/// parity table agrees with the dumps.
pub fn check() -> Result {
    let dumps = generate()?;
    let scratch = util::target_dir().join("api-check");
    std::fs::create_dir_all(&scratch).map_err(|e| format!("create {}: {e}", scratch.display()))?;
    header("compare the committed API dumps with the current API");
    let root = util::root();
    let mut stale = Vec::new();
    for (name, text) in &dumps {
        let fresh = scratch.join(name);
        std::fs::write(&fresh, text).map_err(|e| format!("write {}: {e}", fresh.display()))?;
        let committed = root.join(API_DIR).join(name);
        let old = std::fs::read_to_string(&committed).unwrap_or_default();
        if old == *text {
            println!(
                "{API_DIR}/{name}: up to date ({} lines)",
                text.lines().count()
            );
            continue;
        }
        println!("{API_DIR}/{name}: the public API changed:");
        print_diff(&old, text);
        stale.push(format!("{API_DIR}/{name}"));
    }
    if !stale.is_empty() {
        return Err(format!(
            "the public API differs from the committed dump ({}): review the change, run `cargo xtask api` \
             and commit the dumps with it (fresh ones are in {})",
            stale.join(", "),
            scratch.display()
        ));
    }
    parity_check(&root)
}

/// The lines only in `old` (`-`) and only in `new` (`+`); the dumps are sorted sets of lines.
fn print_diff(old: &str, new: &str) {
    let old: BTreeSet<&str> = old.lines().collect();
    let new: BTreeSet<&str> = new.lines().collect();
    for line in old.difference(&new) {
        println!("  - {line}");
    }
    for line in new.difference(&old) {
        println!("  + {line}");
    }
}

/// The five dumps, by file name.
fn generate() -> Result<Vec<(&'static str, String)>> {
    let lib_dir = bindings::checked_library()?;
    Ok(vec![
        (RUST_DUMP, rust_dump()?),
        (RUST_KIT_DUMP, rust_kit_dump()?),
        (KOTLIN_DUMP, kotlin_dump(&lib_dir)?),
        (KOTLIN_KIT_DUMP, kotlin_kit_dump()?),
        (SWIFT_DUMP, swift_dump(&lib_dir)?),
    ])
}

fn banner(what: &str) -> String {
    format!(
        "# {what}\n# Written by `cargo xtask api`; checked by `cargo xtask api --check` (CI). Do not edit.\n"
    )
}

// ---------------------------------------------------------------------------------------------------------
// Rust

/// `moments-client`'s public API: rustdoc JSON of the pinned stable toolchain (unstable output unlocked with
/// `RUSTC_BOOTSTRAP=1`; its own target folder, so the usual builds keep their fingerprints), read by
/// `public-api` (whose `rustdoc-types` must be of the same format version: see xtask/Cargo.toml).
fn rust_dump() -> Result<String> {
    let mut out = banner(
        "The public API of the Rust crate moments-client (public-api's notation and order).",
    );
    for line in rust_public_api("moments-client")? {
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

/// The Rust testing kit's public API: the items of moments-mock-server's public API under
/// [`kit_parity::RUST_KIT_PATHS`] (the rest of the crate is the server, not the kit).
pub(crate) fn rust_kit_dump() -> Result<String> {
    let mut out = banner(
        "The public API of the Rust testing kit: moments_mock_server::testing and MockServer (public-api's notation).",
    );
    for line in rust_public_api("moments-mock-server")? {
        if kit_parity::is_rust_kit_item(&line) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// The public API of a library crate of the workspace, one item a line, from rustdoc's JSON.
fn rust_public_api(package: &str) -> Result<Vec<String>> {
    header(&format!("Rust: rustdoc JSON of {package}"));
    let target = util::target_dir().join("api-rustdoc");
    run(cargo()
        .args(["rustdoc", "-q", "-p", package, "--lib", "--target-dir"])
        .arg(&target)
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .env("RUSTC_BOOTSTRAP", "1"))?;
    let json = target.join(format!("doc/{}.json", package.replace('-', "_")));
    let api = public_api::Builder::from_rustdoc_json(&json)
        .omit_blanket_impls(true)
        .omit_auto_trait_impls(true)
        .omit_auto_derived_impls(true)
        .build()
        .map_err(|e| {
            format!(
                "read {}: {e} (a toolchain update changes rustdoc's JSON format: pin the `public-api` \
                 version whose `rustdoc-types` has the new FORMAT_VERSION in xtask/Cargo.toml)",
                json.display()
            )
        })?;
    Ok(api.items().map(|item| item.to_string()).collect())
}

// ---------------------------------------------------------------------------------------------------------
// Kotlin

/// The compiled Kotlin SDK (Maven `compile` into its own build folder) read by Kotlin's binary-compatibility
/// validator (`xtask/kotlin-api/KotlinApiDump.java`, run as a single-file Java program on the classpath Maven
/// resolves from `xtask/kotlin-api/pom.xml`): its `.api` format, from the classes' Kotlin metadata, so
/// `internal` declarations and synthetic classes are not in it.
fn kotlin_dump(lib_dir: &Path) -> Result<String> {
    kotlin::ensure_toolchain()?;
    let root = util::root();
    let build_dir = util::target_dir().join("kotlin-api");
    header("Kotlin: compile the SDK (mvn compile)");
    run(util::cmd("mvn")
        .current_dir(root.join("bindings/kotlin"))
        .args(["-B", "--no-transfer-progress", "-q", "compile"])
        .args(kotlin::maven_props(
            &root.join(bindings::KOTLIN_DIR),
            lib_dir,
            &build_dir,
        )))?;
    let mut text = banner(
        "The public JVM API of the Kotlin SDK (Kotlin's binary-compatibility validator, `.api` format).",
    );
    text.push_str(&kotlin_validator_dump(&build_dir)?);
    Ok(text)
}

/// The Kotlin testing kit (`bindings/kotlin-testing`, Maven `compile`) read by the same validator. Its native library
/// is not needed to compile.
fn kotlin_kit_dump() -> Result<String> {
    kotlin::ensure_toolchain()?;
    let root = util::root();
    let build_dir = util::target_dir().join("kotlin-testing-api");
    header("Kotlin testing kit: compile (mvn compile)");
    run(util::cmd("mvn")
        .current_dir(root.join("bindings/kotlin-testing"))
        .args(["-B", "--no-transfer-progress", "-q", "compile"])
        .arg(format!("-Dmoments.build.dir={}", build_dir.display())))?;
    let mut text = banner(
        "The public JVM API of the Kotlin testing kit moments-sdk-testing (Kotlin's binary-compatibility validator).",
    );
    text.push_str(&kotlin_validator_dump(&build_dir)?);
    Ok(text)
}

/// The binary-compatibility validator's `.api` text of `build_dir/classes`.
fn kotlin_validator_dump(build_dir: &Path) -> Result<String> {
    let root = util::root();
    header("Kotlin: the binary-compatibility validator's dump of the compiled classes");
    let tool = root.join("xtask/kotlin-api");
    let classpath_file = build_dir.join("api-dump.classpath");
    run(util::cmd("mvn")
        .current_dir(&tool)
        .args([
            "-B",
            "--no-transfer-progress",
            "-q",
            "dependency:build-classpath",
        ])
        .arg(format!("-Dmdep.outputFile={}", classpath_file.display())))?;
    let classpath = std::fs::read_to_string(&classpath_file)
        .map_err(|e| format!("read {}: {e}", classpath_file.display()))?;
    let out = build_dir.join("classes.api");
    run(util::cmd("java")
        .arg("-cp")
        .arg(classpath.trim())
        .arg(tool.join("KotlinApiDump.java"))
        .arg(build_dir.join("classes"))
        .arg(&out))?;
    std::fs::read_to_string(&out).map_err(|e| format!("read {}: {e}", out.display()))
}

// ---------------------------------------------------------------------------------------------------------
// Swift

/// The Swift package of the SDK: the repository root's `Package.swift` (the one a consumer adds by URL),
/// else the package in bindings/swift.
fn swift_package(root: &Path) -> PathBuf {
    if root.join("Package.swift").is_file() {
        root.to_path_buf()
    } else {
        root.join("bindings/swift")
    }
}

/// `swift package dump-symbol-graph` (public symbols, no synthesized members) of the package's modules, each
/// symbol one line: `module kind path | declaration`, plus `module conformance Type: Protocol` lines.
fn swift_dump(lib_dir: &Path) -> Result<String> {
    let root = util::root();
    let package = swift_package(&root);
    let scratch = util::target_dir().join("swift-api-build");
    remove_symbol_graphs(&scratch)?;
    crate::swift::run_in_swift_env(
        "Swift: swift package dump-symbol-graph (public symbols)",
        &format!(
            "cd '{}' && exec swift package --scratch-path '{}' dump-symbol-graph \
             --minimum-access-level public --skip-synthesized-members",
            package.display(),
            scratch.display()
        ),
        &[("MOMENTS_LIB_DIR", lib_dir)],
        &[],
    )?;
    let mut graphs = Vec::new();
    find_symbol_graphs(&scratch, &mut graphs)?;
    if graphs.is_empty() {
        return Err(format!("no *.symbols.json under {}", scratch.display()));
    }
    let mut lines = BTreeSet::new();
    for path in graphs {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
        let graph: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        symbol_graph_lines(&graph, &mut lines);
    }
    let mut out = banner(
        "The public API of the Swift package (swift package dump-symbol-graph): module kind path | declaration.",
    );
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

fn remove_symbol_graphs(dir: &Path) -> Result {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            if path.file_name().is_some_and(|n| n == "symbolgraph") {
                std::fs::remove_dir_all(&path)
                    .map_err(|e| format!("remove {}: {e}", path.display()))?;
            } else if !path.ends_with("checkouts") {
                remove_symbol_graphs(&path)?;
            }
        }
    }
    Ok(())
}

fn find_symbol_graphs(dir: &Path, out: &mut Vec<PathBuf>) -> Result {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !path.is_symlink() {
            find_symbol_graphs(&path, out)?;
        } else if path.to_string_lossy().ends_with(".symbols.json")
            && path
                .parent()
                .is_some_and(|p| p.to_string_lossy().contains("symbolgraph"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The lines of one symbol graph: the package's own modules only (`Moments…`), public symbols.
pub fn symbol_graph_lines(graph: &serde_json::Value, out: &mut BTreeSet<String>) {
    let module = graph["module"]["name"].as_str().unwrap_or_default();
    if !module.starts_with("Moments") {
        return;
    }
    let mut paths = BTreeMap::new();
    for symbol in graph["symbols"].as_array().into_iter().flatten() {
        let kind = symbol["kind"]["identifier"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("swift.");
        let path: Vec<&str> = symbol["pathComponents"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str())
            .collect();
        let path = path.join(".");
        let declaration: String = symbol["declarationFragments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["spelling"].as_str())
            .collect();
        let declaration = declaration.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(id) = symbol["identifier"]["precise"].as_str() {
            paths.insert(id.to_owned(), path.clone());
        }
        out.insert(format!("{module} {kind} {path} | {declaration}"));
    }
    for rel in graph["relationships"].as_array().into_iter().flatten() {
        if rel["kind"].as_str() != Some("conformsTo") {
            continue;
        }
        let Some(source) = rel["source"].as_str().and_then(|s| paths.get(s)) else {
            continue;
        };
        let target = rel["target"]
            .as_str()
            .and_then(|t| paths.get(t).cloned())
            .or_else(|| rel["targetFallback"].as_str().map(str::to_owned))
            .unwrap_or_else(|| rel["target"].as_str().unwrap_or_default().to_owned());
        // Foundation's types live in FoundationEssentials on Linux, Foundation on Apple platforms.
        let target = target.replace("FoundationEssentials.", "Foundation.");
        out.insert(format!("{module} conformance {source}: {target}"));
    }
}

// ---------------------------------------------------------------------------------------------------------
// Parity

/// The public calls of the Kotlin layer, from the Kotlin dump: members of the classes directly in
/// [`KOTLIN_PACKAGE`] that are services rather than values (not enums, exceptions or data classes), as
/// `Class.member` (`Class()` for constructors, `Outer.Inner.member` for nested classes, companion members on
/// their class, top-level functions by name). Property accessors are the property (`getStatus()` is
/// `status`); overloads are one call; `equals`/`hashCode`/`toString` and synthetic members are not calls.
pub fn kotlin_calls(dump: &str) -> BTreeSet<String> {
    kotlin_calls_in(dump, KOTLIN_PACKAGE)
}

/// [`kotlin_calls`] of the classes directly in `package` (the SDK's, or the testing kit's).
pub fn kotlin_calls_in(dump: &str, package: &str) -> BTreeSet<String> {
    struct Class<'a> {
        supertypes: Vec<&'a str>,
        is_abstract: bool,
        members: Vec<&'a str>,
    }
    let mut classes: BTreeMap<String, Class> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in dump.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if let Some(head) = line.strip_suffix(" {") {
            let (decl, supers) = head.split_once(" : ").unwrap_or((head, ""));
            let words: Vec<&str> = decl.split_whitespace().collect();
            let Some(name) = words.last() else {
                continue;
            };
            let name = name.replace('/', ".");
            classes.insert(
                name.clone(),
                Class {
                    supertypes: supers.split(", ").filter(|s| !s.is_empty()).collect(),
                    is_abstract: words.contains(&"abstract") && !words.contains(&"interface"),
                    members: Vec::new(),
                },
            );
            current = Some(name);
        } else if line == "}" {
            current = None;
        } else if let Some(name) = &current
            && let Some(class) = classes.get_mut(name)
        {
            class.members.push(line.trim());
        }
    }
    let is_value = |name: &str| -> bool {
        let mut pending = vec![name.to_owned()];
        let mut guard = 0;
        while let Some(name) = pending.pop() {
            guard += 1;
            if guard > 64 {
                break;
            }
            if matches!(
                name.as_str(),
                "java/lang/Enum"
                    | "java/lang/Exception"
                    | "java/lang/RuntimeException"
                    | "java/lang/Throwable"
                    | "java/lang/Error"
            ) {
                return true;
            }
            let Some(class) = classes.get(&name.replace('/', ".")) else {
                continue;
            };
            if class.members.iter().any(|m| {
                kotlin_member(m).is_some_and(|(n, _)| {
                    n == "copy" || (n.starts_with("component") && n[9..].parse::<u32>().is_ok())
                })
            }) {
                return true;
            }
            pending.extend(class.supertypes.iter().map(|s| s.to_string()));
        }
        false
    };
    let mut calls = BTreeSet::new();
    for (name, class) in &classes {
        let Some(simple) = name.strip_prefix(package).and_then(|s| s.strip_prefix('.')) else {
            continue;
        };
        if simple.contains('.') {
            continue; // a subpackage: generated code
        }
        let owner = simple.trim_end_matches("$Companion");
        let is_companion = owner.len() != simple.len();
        let owner_full = format!("{package}.{owner}");
        if is_value(name) || (is_companion && is_value(&owner_full)) {
            continue;
        }
        let display = owner.replace('$', ".");
        let facade = !owner.contains('$') && owner.ends_with("Kt");
        for member in &class.members {
            if member.contains(" synthetic ") {
                continue;
            }
            let Some((m, params)) = kotlin_member(member) else {
                continue;
            };
            let call = if m == "<init>" {
                // An abstract class's constructors are for its subclasses; a companion's are the compiler's.
                if class.is_abstract || is_companion {
                    continue;
                }
                format!("{display}()")
            } else if m.contains('$') || matches!(m, "equals" | "hashCode" | "toString") {
                continue;
            } else {
                let m =
                    accessor_property(m, params, &class.members).unwrap_or_else(|| m.to_owned());
                if facade { m } else { format!("{display}.{m}") }
            };
            calls.insert(call);
        }
    }
    calls
}

/// A `.api` member line's function name and parameter descriptor (`None` for a field).
fn kotlin_member(line: &str) -> Option<(&str, &str)> {
    let (_, rest) = line.split_once("fun ")?;
    let (name, descriptor) = rest.split_once(' ')?;
    let params = descriptor.strip_prefix('(')?.split_once(')')?.0;
    Some((name, params))
}

/// `getFoo` (no parameters) → `foo`, `isFoo` stays; `setFoo` → `foo` when `getFoo` is there too (a
/// `var`; other `set…` functions are calls of their own).
fn accessor_property(name: &str, params: &str, members: &[&str]) -> Option<String> {
    let lower_first = |s: &str| {
        let mut c = s.chars();
        c.next()
            .map(|f| f.to_lowercase().collect::<String>() + c.as_str())
    };
    let is_upper = |s: &str| s.starts_with(|c: char| c.is_ascii_uppercase());
    if let Some(rest) = name.strip_prefix("get")
        && params.is_empty()
        && is_upper(rest)
    {
        return lower_first(rest);
    }
    if let Some(rest) = name.strip_prefix("set")
        && is_upper(rest)
        && members.iter().any(|m| {
            kotlin_member(m).is_some_and(|(n, p)| p.is_empty() && n == format!("get{rest}"))
        })
    {
        return lower_first(rest);
    }
    None
}

/// The public calls of the Swift layer, from the Swift dump: in module [`SWIFT_MODULE`], top-level functions
/// and the initialisers, methods, properties and subscripts of classes, actors and protocols (values —
/// structs and enums — are data, not calls), as their symbol path (`MomentsClient.report(_:)`).
pub fn swift_calls(dump: &str) -> BTreeSet<String> {
    let mut kinds: BTreeMap<&str, &str> = BTreeMap::new();
    let mut members: Vec<(&str, &str)> = Vec::new();
    for line in dump.lines() {
        let Some((head, _)) = line.split_once(" | ") else {
            continue;
        };
        let mut words = head.splitn(3, ' ');
        let (Some(module), Some(kind), Some(path)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        if module != SWIFT_MODULE {
            continue;
        }
        match kind {
            "class" | "actor" | "protocol" | "struct" | "enum" | "typealias" => {
                kinds.insert(path, kind);
            }
            "func" | "method" | "type.method" | "init" | "property" | "type.property"
            | "subscript" | "type.subscript" => members.push((kind, path)),
            _ => {}
        }
    }
    let mut calls = BTreeSet::new();
    for (kind, path) in members {
        match parent_path(path) {
            None if kind == "func" => {
                calls.insert(path.to_owned());
            }
            Some(parent)
                if matches!(kinds.get(parent), Some(&("class" | "actor" | "protocol"))) =>
            {
                calls.insert(path.to_owned());
            }
            _ => {}
        }
    }
    calls
}

/// `A.b(c:)` → `A`; `A.B.c` → `A.B`; `f(x:)` → none. Dots inside parentheses (none in Swift labels) are kept.
fn parent_path(path: &str) -> Option<&str> {
    let head = path.split('(').next().unwrap_or(path);
    head.rfind('.').map(|i| &path[..i])
}

/// One row of the parity table: the Kotlin calls, the Swift calls, and the note.
#[derive(Debug)]
pub struct Row {
    pub kotlin: Vec<String>,
    pub swift: Vec<String>,
    pub note: String,
}

/// The rows between the markers: `| Kotlin | Swift | Note |`, each cell zero or more backticked calls;
/// a cell of `—` says the call has no twin on that side, which the note must explain starting with
/// `Kotlin only:` or `Swift only:`.
pub fn parse_table(doc: &str) -> Result<Vec<Row>> {
    let rows = call_table(doc, PARITY_DOC, TABLE_START, TABLE_END, "| Kotlin", 2)?;
    Ok(rows
        .into_iter()
        .map(|(calls, note)| {
            let [kotlin, swift] = <[Vec<String>; 2]>::try_from(calls).expect("two columns");
            Row {
                kotlin,
                swift,
                note,
            }
        })
        .collect())
}

/// The rows of a Markdown table of calls between the markers `start` and `end` of `doc` (named `doc_name` in
/// errors), skipping its header (the line starting with `header`) and rule: per row, the backticked calls of each
/// of the first `columns` cells, and the next cell as the note.
pub fn call_table(
    doc: &str,
    doc_name: &str,
    start: &str,
    end: &str,
    header: &str,
    columns: usize,
) -> Result<Vec<(Vec<Vec<String>>, String)>> {
    let from = doc
        .find(start)
        .ok_or(format!("{doc_name} has no {start}"))?;
    let to = doc.find(end).ok_or(format!("{doc_name} has no {end}"))?;
    let mut rows = Vec::new();
    for line in doc[from..to].lines() {
        let line = line.trim();
        if !line.starts_with('|') || line.starts_with(header) || line.starts_with("|--") {
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells.len() < columns {
            return Err(format!(
                "{doc_name}: a table row without {columns} columns: {line}"
            ));
        }
        let calls = cells[..columns]
            .iter()
            .map(|cell| {
                cell.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect()
            })
            .collect();
        rows.push((calls, cells.get(columns).copied().unwrap_or("").to_owned()));
    }
    Ok(rows)
}

/// The table against the calls of both dumps: every call in exactly one row, every row with a twin on both
/// sides (or a note saying which platform alone has it), no row naming a call that does not exist.
pub fn parity_problems(kotlin_dump: &str, swift_dump: &str, doc: &str) -> Result<Vec<String>> {
    let kotlin = kotlin_calls(kotlin_dump);
    let swift = swift_calls(swift_dump);
    let rows = parse_table(doc)?;
    let mut problems = Vec::new();
    let mut seen_k = BTreeSet::new();
    let mut seen_s = BTreeSet::new();
    for row in &rows {
        let label = format!(
            "row `{}` / `{}`",
            row.kotlin.join(", "),
            row.swift.join(", ")
        );
        match (row.kotlin.is_empty(), row.swift.is_empty()) {
            (true, true) => problems.push(format!("{label}: names no call")),
            (false, true) if !row.note.starts_with("Kotlin only:") => problems.push(format!(
                "{label}: Kotlin has it, Swift has no twin (and the note does not start with `Kotlin only:`)"
            )),
            (true, false) if !row.note.starts_with("Swift only:") => problems.push(format!(
                "{label}: Swift has it, Kotlin has no twin (and the note does not start with `Swift only:`)"
            )),
            _ => {}
        }
        for k in &row.kotlin {
            if !kotlin.contains(k) {
                problems.push(format!("{label}: Kotlin has no public call `{k}`"));
            }
            if !seen_k.insert(k.clone()) {
                problems.push(format!("Kotlin `{k}` is in more than one row"));
            }
        }
        for s in &row.swift {
            if !swift.contains(s) {
                problems.push(format!("{label}: Swift has no public call `{s}`"));
            }
            if !seen_s.insert(s.clone()) {
                problems.push(format!("Swift `{s}` is in more than one row"));
            }
        }
    }
    for k in kotlin.difference(&seen_k) {
        problems.push(format!(
            "Kotlin's public call `{k}` is missing from the table (add its Swift twin beside it)"
        ));
    }
    for s in swift.difference(&seen_s) {
        problems.push(format!(
            "Swift's public call `{s}` is missing from the table (add its Kotlin twin beside it)"
        ));
    }
    Ok(problems)
}

/// The parity check over the committed dumps and docs/mobile.md.
fn parity_check(root: &Path) -> Result {
    header("parity: every Kotlin and Swift public call beside its twin in docs/mobile.md");
    let read =
        |rel: &str| std::fs::read_to_string(root.join(rel)).map_err(|e| format!("read {rel}: {e}"));
    let kotlin = read(&format!("{API_DIR}/{KOTLIN_DUMP}"))?;
    let swift = read(&format!("{API_DIR}/{SWIFT_DUMP}"))?;
    let problems = parity_problems(&kotlin, &swift, &read(PARITY_DOC)?)?;
    if problems.is_empty() {
        println!(
            "parity: {} Kotlin and {} Swift calls, all in the table with their twins",
            kotlin_calls(&kotlin).len(),
            swift_calls(&swift).len()
        );
        return kit_parity::check(root);
    }
    for p in &problems {
        println!("parity: {p}");
    }
    Err(format!(
        "the Kotlin/Swift parity table in {PARITY_DOC} disagrees with the public APIs ({} problems)",
        problems.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KOTLIN: &str = "\
# banner
public final class com/moments/sdk/MomentsClient : java/lang/AutoCloseable {
\tpublic static final field Companion Lcom/moments/sdk/MomentsClient$Companion;
\tpublic fun <init> (Lcom/moments/sdk/ClientConfig;Lcom/moments/sdk/TokenProvider;)V
\tpublic final fun reportAction (Lcom/moments/sdk/Action;Lkotlin/coroutines/Continuation;)Ljava/lang/Object;
\tpublic static synthetic fun reportAction$default (Lcom/moments/sdk/MomentsClient;Lcom/moments/sdk/Action;Lkotlin/coroutines/Continuation;ILjava/lang/Object;)Ljava/lang/Object;
\tpublic final fun getStatus ()Lkotlinx/coroutines/flow/StateFlow;
\tpublic final fun isClosed ()Z
\tpublic fun close ()V
\tpublic fun toString ()Ljava/lang/String;
}

public final class com/moments/sdk/MomentsClient$Companion {
\tpublic final fun getVersion ()Ljava/lang/String;
}

public final class com/moments/sdk/Reward {
\tpublic fun <init> (Ljava/lang/String;)V
\tpublic final fun component1 ()Ljava/lang/String;
\tpublic final fun copy (Ljava/lang/String;)Lcom/moments/sdk/Reward;
\tpublic final fun getUrl ()Ljava/lang/String;
}

public abstract class com/moments/sdk/MomentsException : java/lang/Exception {
\tpublic final fun getCode ()Lcom/moments/sdk/ErrorCode;
}

public final class com/moments/sdk/MomentsException$Network : com/moments/sdk/MomentsException {
\tpublic final fun getReason ()Ljava/lang/String;
}

public final class com/moments/sdk/Level : java/lang/Enum {
\tpublic static fun values ()[Lcom/moments/sdk/Level;
}

public abstract class com/moments/sdk/ClientStatus {
}

public final class com/moments/sdk/MomentsKt {
\tpublic static final fun tokenProvider (Lkotlin/jvm/functions/Function1;)Lcom/moments/sdk/TokenProvider;
}

public final class com/moments/sdk/internal/FfiConverterString {
\tpublic final fun lift (Ljava/lang/Object;)Ljava/lang/String;
}

public abstract interface class com/moments/sdk/TokenProvider {
\tpublic abstract fun fetchToken (Lkotlin/coroutines/Continuation;)Ljava/lang/Object;
}
";

    const SWIFT: &str = "\
# banner
MomentsSDK class MomentsClient | public final class MomentsClient
MomentsSDK init MomentsClient.init(config:tokenProvider:) | init(config: ClientConfig, tokenProvider: any TokenProvider)
MomentsSDK method MomentsClient.reportAction(_:) | func reportAction(_ action: Action) async throws(MomentsError) -> Reward
MomentsSDK property MomentsClient.status | var status: AsyncStream<ClientStatus> { get }
MomentsSDK struct Reward | struct Reward
MomentsSDK property Reward.url | let url: URL
MomentsSDK enum MomentsError | enum MomentsError
MomentsSDK property MomentsError.code | var code: ErrorCode { get }
MomentsSDK protocol TokenProvider | protocol TokenProvider : Sendable
MomentsSDK method TokenProvider.fetchToken() | func fetchToken() async throws -> CustomerToken
MomentsSDK func tokenProvider(_:) | func tokenProvider(_ fetch: @escaping @Sendable () async throws -> CustomerToken) -> some TokenProvider
MomentsBindings class FfiConverterString | public class FfiConverterString
MomentsSDK conformance MomentsClient: Sendable
";

    #[test]
    fn kotlin_calls_are_the_members_of_service_classes_in_the_public_package() {
        let calls: Vec<String> = kotlin_calls(KOTLIN).into_iter().collect();
        assert_eq!(
            calls,
            [
                "MomentsClient()",
                "MomentsClient.close",
                "MomentsClient.isClosed",
                "MomentsClient.reportAction",
                "MomentsClient.status",
                "MomentsClient.version",
                "TokenProvider.fetchToken",
                "tokenProvider",
            ]
        );
    }

    #[test]
    fn swift_calls_are_the_members_of_classes_and_protocols_and_free_functions() {
        let calls: Vec<String> = swift_calls(SWIFT).into_iter().collect();
        assert_eq!(
            calls,
            [
                "MomentsClient.init(config:tokenProvider:)",
                "MomentsClient.reportAction(_:)",
                "MomentsClient.status",
                "TokenProvider.fetchToken()",
                "tokenProvider(_:)",
            ]
        );
    }

    fn doc(rows: &str) -> String {
        format!(
            "# Mobile\n\n{TABLE_START}\n| Kotlin | Swift | Note |\n|---|---|---|\n{rows}{TABLE_END}\n"
        )
    }

    const FULL: &str = "\
| `MomentsClient()` | `MomentsClient.init(config:tokenProvider:)` | |
| `MomentsClient.reportAction` | `MomentsClient.reportAction(_:)` | |
| `MomentsClient.status` | `MomentsClient.status` | |
| `MomentsClient.close`, `MomentsClient.isClosed` | — | Kotlin only: `AutoCloseable`; Swift frees on deinit |
| `MomentsClient.version` | — | Kotlin only: the version constant |
| `TokenProvider.fetchToken` | `TokenProvider.fetchToken()` | |
| `tokenProvider` | `tokenProvider(_:)` | |
";

    #[test]
    fn a_table_naming_every_call_with_its_twin_passes() {
        assert_eq!(
            parity_problems(KOTLIN, SWIFT, &doc(FULL)).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_call_one_side_lacks_or_the_table_misses_fails() {
        // Swift grows a call the table does not name.
        let swift =
            format!("{SWIFT}MomentsSDK method MomentsClient.flush() | func flush() async\n");
        let problems = parity_problems(KOTLIN, &swift, &doc(FULL)).unwrap();
        assert_eq!(
            problems,
            [
                "Swift's public call `MomentsClient.flush()` is missing from the table (add its Kotlin twin beside it)"
            ]
        );

        // A row with one side empty and no `… only:` note.
        let rows = FULL.replace(
            "| `MomentsClient.status` | `MomentsClient.status` | |",
            "| `MomentsClient.status` | — | |",
        );
        let problems = parity_problems(KOTLIN, SWIFT, &doc(&rows)).unwrap();
        assert!(
            problems.iter().any(|p| p.contains("Swift has no twin")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`MomentsClient.status` is missing from the table")),
            "{problems:?}"
        );

        // A row naming a call that is gone.
        let rows = format!("{FULL}| `MomentsClient.pause` | `MomentsClient.pause()` | |\n");
        let problems = parity_problems(KOTLIN, SWIFT, &doc(&rows)).unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("Kotlin has no public call `MomentsClient.pause`"));
    }

    #[test]
    fn a_symbol_graph_becomes_one_line_per_symbol_and_conformance() {
        let graph = serde_json::json!({
            "module": {"name": "MomentsSDK"},
            "symbols": [
                {"kind": {"identifier": "swift.class"}, "identifier": {"precise": "s:C"},
                 "pathComponents": ["MomentsClient"],
                 "declarationFragments": [{"spelling": "final"}, {"spelling": " "}, {"spelling": "class"},
                                          {"spelling": " "}, {"spelling": "MomentsClient"}]},
                {"kind": {"identifier": "swift.method"}, "identifier": {"precise": "s:C.m"},
                 "pathComponents": ["MomentsClient", "cancelAll()"],
                 "declarationFragments": [{"spelling": "func"}, {"spelling": " "},
                                          {"spelling": "cancelAll"}, {"spelling": "()"}]}
            ],
            "relationships": [
                {"kind": "conformsTo", "source": "s:C", "target": "s:s8SendableP", "targetFallback": "Swift.Sendable"},
                {"kind": "conformsTo", "source": "s:C", "target": "s:LE", "targetFallback": "FoundationEssentials.LocalizedError"},
                {"kind": "memberOf", "source": "s:C.m", "target": "s:C"}
            ]
        });
        let mut lines = BTreeSet::new();
        symbol_graph_lines(&graph, &mut lines);
        // Another package's module is not the SDK's.
        symbol_graph_lines(
            &serde_json::json!({"module": {"name": "Foundation"}, "symbols": [
                {"kind": {"identifier": "swift.struct"}, "pathComponents": ["URL"], "declarationFragments": []}]}),
            &mut lines,
        );
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(
            lines,
            [
                "MomentsSDK class MomentsClient | final class MomentsClient",
                "MomentsSDK conformance MomentsClient: Foundation.LocalizedError",
                "MomentsSDK conformance MomentsClient: Swift.Sendable",
                "MomentsSDK method MomentsClient.cancelAll() | func cancelAll()",
            ]
        );
    }

    /// The committed dumps and docs/mobile.md agree (`cargo test` catches a table edit that breaks parity
    /// without running the whole `cargo xtask api --check`).
    #[test]
    fn the_committed_dumps_and_the_parity_table_agree() {
        let root = util::root();
        let read = |rel: &str| std::fs::read_to_string(root.join(rel)).unwrap();
        let problems = parity_problems(
            &read(&format!("{API_DIR}/{KOTLIN_DUMP}")),
            &read(&format!("{API_DIR}/{SWIFT_DUMP}")),
            &read(PARITY_DOC),
        )
        .unwrap();
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
