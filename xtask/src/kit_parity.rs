//! The testing kits' parity: the calls of the Rust kit (`moments_mock_server::testing` and `MockServer`), the
//! Kotlin kit (`com.moments.sdk.testing`) and the Swift kit (`MomentsTesting`), read from their committed API dumps,
//! against the table of docs/testing.md between [`TABLE_START`] and [`TABLE_END`]: every call of every kit in exactly
//! one row beside its twins, and a row that lacks a kit's twin says why in its note.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::api::{self, API_DIR, KOTLIN_KIT_DUMP, RUST_KIT_DUMP};
use crate::util::{Result, header};

/// The table's markers in docs/testing.md.
pub const TABLE_START: &str = "<!-- kit-parity:start -->";
pub const TABLE_END: &str = "<!-- kit-parity:end -->";
const DOC: &str = "docs/testing.md";

/// The Rust kit: the testing module, its types the crate's root re-exports, and the in-process server.
pub const RUST_KIT_PATHS: &[&str] = &[
    "moments_mock_server::testing",
    "moments_mock_server::Control",
    "moments_mock_server::Fault",
    "moments_mock_server::Fixtures",
    "moments_mock_server::Route",
    "moments_mock_server::MockServer",
];
/// The Kotlin kit's package.
pub const KOTLIN_KIT_PACKAGE: &str = "com.moments.sdk.testing";
/// The Swift kit's module.
pub const SWIFT_KIT_MODULE: &str = "MomentsTesting";

const KITS: [&str; 3] = ["Rust", "Kotlin", "Swift"];

/// The item a line of public-api's notation declares (the type an `impl` line is for), without its signature.
fn rust_subject(line: &str) -> &str {
    let line = line.trim_start();
    let line = match line.strip_prefix("#[") {
        Some(rest) => rest.split_once("] ").map_or(rest, |(_, l)| l),
        None => line,
    };
    if line.starts_with("impl") {
        let target = line.rsplit_once(" for ").map_or(line, |(_, t)| t);
        return target.rsplit(' ').next().unwrap_or(target);
    }
    line.split_whitespace()
        .find(|w| w.contains("::"))
        .map_or("", |w| w.split(['(', '<']).next().unwrap_or(w))
}

/// Whether a line of moments-mock-server's public API belongs to the kit ([`RUST_KIT_PATHS`]).
pub fn is_rust_kit_item(line: &str) -> bool {
    let subject = rust_subject(line);
    RUST_KIT_PATHS.iter().any(|p| {
        subject
            .strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::") || rest.starts_with('<'))
    })
}

/// The Rust kit's calls: the functions of inherent `impl` blocks (not trait impls) and of modules, as
/// `Type::name`.
pub fn rust_calls(dump: &str) -> BTreeSet<String> {
    let mut calls = BTreeSet::new();
    let mut inherent = false;
    for line in dump.lines() {
        let line = line.trim();
        let item = line
            .strip_prefix("#[non_exhaustive] ")
            .unwrap_or(line)
            .trim_start_matches("pub ");
        if line.starts_with("impl") {
            inherent = !line.contains(" for ");
            continue;
        }
        if item.starts_with("mod ") {
            inherent = true;
            continue;
        }
        if ["struct ", "enum ", "trait ", "type ", "union "]
            .iter()
            .any(|k| item.starts_with(k))
        {
            inherent = false;
            continue;
        }
        let Some(rest) = ["pub fn ", "pub async fn ", "pub const fn "]
            .iter()
            .find_map(|p| line.strip_prefix(p))
        else {
            continue;
        };
        if !inherent {
            continue;
        }
        let path = rest.split(['(', '<']).next().unwrap_or(rest);
        let mut parts: Vec<&str> = path.rsplitn(3, "::").collect();
        parts.reverse();
        if let [_, ty, name] = parts[..] {
            calls.insert(format!("{ty}::{name}"));
        }
    }
    calls
}

/// The Swift kit's calls: in [`SWIFT_KIT_MODULE`], the top-level functions, the initialisers, methods and properties
/// of classes, actors and protocols, and the initialisers and methods of the structs and enums that have methods
/// (builders and clients: `Clock`, `CampaignFixture`). Their properties, and structs and enums of data alone
/// (`Delivery`, `Mode`), are values, not calls; so are static constants (`Route.trigger`).
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
        if module != SWIFT_KIT_MODULE {
            continue;
        }
        match kind {
            "class" | "actor" | "protocol" | "struct" | "enum" => {
                kinds.insert(path, kind);
            }
            "func" | "method" | "type.method" | "init" | "property" => members.push((kind, path)),
            _ => {}
        }
    }
    let parent = |path: &str| -> Option<String> {
        let head = path.split('(').next().unwrap_or(path);
        head.rfind('.').map(|i| path[..i].to_owned())
    };
    let has_methods: BTreeSet<String> = members
        .iter()
        .filter(|(kind, _)| matches!(*kind, "method" | "type.method"))
        .filter_map(|(_, path)| parent(path))
        .collect();
    let mut calls = BTreeSet::new();
    for (kind, path) in members {
        match parent(path) {
            None if kind == "func" => {
                calls.insert(path.to_owned());
            }
            Some(p) => {
                let service = match kinds.get(p.as_str()) {
                    Some(&("class" | "actor" | "protocol")) => true,
                    Some(&("struct" | "enum")) => kind != "property" && has_methods.contains(&p),
                    _ => false,
                };
                if service {
                    calls.insert(path.to_owned());
                }
            }
            None => {}
        }
    }
    calls
}

/// One row of the table: the calls of each kit (Rust, Kotlin, Swift) and the note.
#[derive(Debug)]
pub struct Row {
    pub calls: [Vec<String>; 3],
    pub note: String,
}

/// The rows between the markers: `| Rust | Kotlin | Swift | Note |`, each cell zero or more backticked calls (`—`
/// for none).
pub fn parse_table(doc: &str) -> Result<Vec<Row>> {
    let rows = crate::api::call_table(doc, DOC, TABLE_START, TABLE_END, "| Rust", 3)?;
    Ok(rows
        .into_iter()
        .map(|(calls, note)| Row {
            calls: <[Vec<String>; 3]>::try_from(calls).expect("three columns"),
            note,
        })
        .collect())
}

/// The table against the three kits' calls: every call in exactly one row, no row naming a call that does not
/// exist, and a row where a kit has no twin explains it in its note.
pub fn problems(
    rust_dump: &str,
    kotlin_dump: &str,
    swift_dump: &str,
    doc: &str,
) -> Result<Vec<String>> {
    let kits = [
        rust_calls(rust_dump),
        api::kotlin_calls_in(kotlin_dump, KOTLIN_KIT_PACKAGE),
        swift_calls(swift_dump),
    ];
    let rows = parse_table(doc)?;
    let mut problems = Vec::new();
    let mut seen: [BTreeSet<String>; 3] = Default::default();
    for row in &rows {
        let cells: Vec<String> = row
            .calls
            .iter()
            .map(|c| {
                if c.is_empty() {
                    "—".into()
                } else {
                    c.join(", ")
                }
            })
            .collect();
        let label = format!("row [{}]", cells.join(" | "));
        let missing: Vec<&str> = (0..3)
            .filter(|&i| row.calls[i].is_empty())
            .map(|i| KITS[i])
            .collect();
        if missing.len() == 3 {
            problems.push(format!("{label}: names no call"));
        } else if !missing.is_empty() && row.note.trim().is_empty() {
            problems.push(format!(
                "{label}: no twin in {}, and the note does not say why",
                missing.join(" and ")
            ));
        }
        for i in 0..3 {
            for call in &row.calls[i] {
                if !kits[i].contains(call) {
                    problems.push(format!("{label}: the {} kit has no call `{call}`", KITS[i]));
                }
                if !seen[i].insert(call.clone()) {
                    problems.push(format!("{} `{call}` is in more than one row", KITS[i]));
                }
            }
        }
    }
    for i in 0..3 {
        for call in kits[i].difference(&seen[i]) {
            problems.push(format!(
                "the {} kit's call `{call}` is missing from the table (add its twins beside it)",
                KITS[i]
            ));
        }
    }
    Ok(problems)
}

/// The check over the committed dumps and docs/testing.md.
pub fn check(root: &Path) -> Result {
    header(
        "kit parity: every call of the Rust, Kotlin and Swift testing kits beside its twins in docs/testing.md",
    );
    let read =
        |rel: &str| std::fs::read_to_string(root.join(rel)).map_err(|e| format!("read {rel}: {e}"));
    let rust = read(&format!("{API_DIR}/{RUST_KIT_DUMP}"))?;
    let kotlin = read(&format!("{API_DIR}/{KOTLIN_KIT_DUMP}"))?;
    let swift = read(&format!("{API_DIR}/swift.txt"))?;
    let problems = problems(&rust, &kotlin, &swift, &read(DOC)?)?;
    if problems.is_empty() {
        println!("kit parity: every call in the table with its twins");
        return Ok(());
    }
    for p in &problems {
        println!("kit parity: {p}");
    }
    Err(format!(
        "the testing kits' parity table in {DOC} disagrees with their public APIs ({} problems)",
        problems.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util;

    const RUST: &str = "\
# banner
pub mod moments_mock_server::testing
pub struct moments_mock_server::testing::Clock
impl moments_mock_server::testing::Clock
pub const moments_mock_server::testing::Clock::STEP: u8
pub async fn moments_mock_server::testing::Clock::advance(&self, by: core::time::Duration) -> moments_mock_server::testing::Result<moments_mock_server::testing::ClockView>
pub fn moments_mock_server::testing::Clock::freeze(&self) -> u8
impl core::fmt::Debug for moments_mock_server::testing::Clock
pub fn moments_mock_server::testing::Clock::fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result
pub struct moments_mock_server::testing::ClockView
pub moments_mock_server::testing::ClockView::now: u8
";

    const KOTLIN: &str = "\
# banner
public final class com/moments/sdk/testing/Clock {
\tpublic final fun advance (Ljava/time/Duration;)Lcom/moments/sdk/testing/ClockView;
\tpublic final fun freeze ()Lcom/moments/sdk/testing/ClockView;
}

public final class com/moments/sdk/testing/ClockView {
\tpublic fun <init> (Ljava/time/Instant;)V
\tpublic final fun component1 ()Ljava/time/Instant;
\tpublic final fun copy (Ljava/time/Instant;)Lcom/moments/sdk/testing/ClockView;
\tpublic final fun getNow ()Ljava/time/Instant;
}

public final class com/moments/sdk/testing/MomentsMockRule : org/junit/rules/TestRule {
\tpublic fun <init> ()V
}
";

    const SWIFT: &str = "\
# banner
MomentsTesting struct Clock | struct Clock
MomentsTesting method Clock.advance(by:) | func advance(by seconds: TimeInterval) async throws -> ClockView
MomentsTesting method Clock.freeze() | func freeze() async throws -> ClockView
MomentsTesting struct ClockView | struct ClockView
MomentsTesting property ClockView.now | let now: Date
MomentsTesting func withMomentsMock(isolation:_:) | func withMomentsMock<T>() async throws -> T
MomentsSDK class MomentsClient | final class MomentsClient
MomentsSDK method MomentsClient.reportAction(_:) | func reportAction()
";

    fn doc(rows: &str) -> String {
        format!(
            "# Testing\n\n{TABLE_START}\n| Rust | Kotlin | Swift | Note |\n|---|---|---|---|\n{rows}{TABLE_END}\n"
        )
    }

    const FULL: &str = "\
| `Clock::advance` | `Clock.advance` | `Clock.advance(by:)` | |
| `Clock::freeze` | `Clock.freeze` | `Clock.freeze()` | |
| — | `MomentsMockRule()` | `withMomentsMock(isolation:_:)` | each test runner's own way to give a test a mock |
";

    #[test]
    fn calls_are_the_members_of_service_types_of_each_kit() {
        assert_eq!(
            rust_calls(RUST).into_iter().collect::<Vec<_>>(),
            ["Clock::advance", "Clock::freeze"]
        );
        assert_eq!(
            api::kotlin_calls_in(KOTLIN, KOTLIN_KIT_PACKAGE)
                .into_iter()
                .collect::<Vec<_>>(),
            ["Clock.advance", "Clock.freeze", "MomentsMockRule()"]
        );
        assert_eq!(
            swift_calls(SWIFT).into_iter().collect::<Vec<_>>(),
            [
                "Clock.advance(by:)",
                "Clock.freeze()",
                "withMomentsMock(isolation:_:)"
            ]
        );
    }

    #[test]
    fn a_table_naming_every_call_with_its_twins_passes() {
        assert_eq!(
            problems(RUST, KOTLIN, SWIFT, &doc(FULL)).unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_call_one_kit_lacks_fails() {
        // The Swift kit grows a call the others lack and the table does not name.
        let swift = format!(
            "{SWIFT}MomentsTesting method Clock.rewind(by:) | func rewind(by seconds: TimeInterval) async throws\n"
        );
        assert_eq!(
            problems(RUST, KOTLIN, &swift, &doc(FULL)).unwrap(),
            [
                "the Swift kit's call `Clock.rewind(by:)` is missing from the table (add its twins beside it)"
            ]
        );
        // Named in a row without its twins and without a note.
        let rows = format!("{FULL}| — | — | `Clock.rewind(by:)` | |\n");
        let found = problems(RUST, KOTLIN, &swift, &doc(&rows)).unwrap();
        assert_eq!(
            found,
            [
                "row [— | — | Clock.rewind(by:)]: no twin in Rust and Kotlin, and the note does not say why"
            ]
        );
        // A row naming a call a kit does not have.
        let rows = FULL.replace("`Clock.freeze` |", "`Clock.freeze`, `Clock.thaw` |");
        let found = problems(RUST, KOTLIN, SWIFT, &doc(&rows)).unwrap();
        assert!(
            found
                .iter()
                .any(|p| p.contains("the Kotlin kit has no call `Clock.thaw`")),
            "{found:?}"
        );
    }

    #[test]
    fn only_the_kit_s_items_of_the_mock_server_s_api_are_the_rust_kit() {
        assert!(is_rust_kit_item(
            "pub async fn moments_mock_server::testing::Clock::advance(&self) -> u8"
        ));
        assert!(is_rust_kit_item(
            "impl core::fmt::Debug for moments_mock_server::testing::Clock"
        ));
        assert!(is_rust_kit_item(
            "pub async fn moments_mock_server::MockServer::start() -> u8"
        ));
        assert!(!is_rust_kit_item(
            "pub struct moments_mock_server::MockServerConfig"
        ));
        assert!(!is_rust_kit_item(
            "pub fn moments_mock_server::model::Money::usd(i64) -> Money"
        ));
    }

    /// The committed kit dumps, api/swift.txt and docs/testing.md agree (`cargo test` catches a kit call without
    /// its twins without running `cargo xtask api --check`).
    #[test]
    fn the_committed_kit_dumps_and_the_table_agree() {
        let root = util::root();
        let read = |rel: &str| std::fs::read_to_string(root.join(rel)).unwrap();
        let found = problems(
            &read(&format!("{API_DIR}/{RUST_KIT_DUMP}")),
            &read(&format!("{API_DIR}/{KOTLIN_KIT_DUMP}")),
            &read(&format!("{API_DIR}/swift.txt")),
            &read(DOC),
        )
        .unwrap();
        assert!(found.is_empty(), "{found:#?}");
    }
}
