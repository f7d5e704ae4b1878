//! The workspace's `rust-version` is true of what a user compiles: no
//! package our published crates build on (normal and build dependencies,
//! every feature, every target platform, as locked in `Cargo.lock`)
//! declares a newer one. Dev-dependencies are exempt: they build only for
//! contributors, who need a newer toolchain (the README says which).
//!
//! What this cannot see: a dependency with no `rust-version`, and std APIs
//! or syntax of our own code (clippy's `incompatible_msrv`, on by default,
//! checks our std API use against `rust-version` in CI).

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;

/// `"1.88"` or `"1.85.1"` as a comparable triple.
fn version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| {
        p.parse::<u64>()
            .unwrap_or_else(|_| panic!("not a Rust version: {text}"))
    });
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next())
}

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--all-features",
            "--locked",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON")
}

/// The packages the published workspace members build on, and their
/// (name, version, rust-version) by id.
struct Graph {
    ours: String,
    reached: BTreeSet<String>,
    packages: HashMap<String, (String, String, Option<String>)>,
}

/// Published crates with a `rust-version` of their own, above the core
/// crates' (a heavy integration whose SDK needs a newer Rust): each is
/// checked against its own, and the core crates do not reach it.
const OWN_RUST_VERSION: &[&str] = &["toolcall-restate"];

/// The graph from the published core crates (`own` is `None`), or from one
/// crate of [`OWN_RUST_VERSION`].
fn graph(own: Option<&str>) -> Graph {
    let meta = metadata();
    let packages: HashMap<String, (String, String, Option<String>)> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id").to_owned(),
                (
                    p["name"].as_str().expect("name").to_owned(),
                    p["version"].as_str().expect("version").to_owned(),
                    p["rust_version"].as_str().map(str::to_owned),
                ),
            )
        })
        .collect();
    let members: Vec<&str> = meta["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .map(|m| m.as_str().expect("a member id"))
        .collect();
    // `publish = false` is `"publish": []`; examples are not what users build.
    let published: Vec<String> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| members.contains(&p["id"].as_str().expect("id")))
        .filter(|p| p["publish"].as_array().is_none_or(|to| !to.is_empty()))
        .filter(|p| {
            let name = p["name"].as_str().expect("name");
            match own {
                Some(own) => name == own,
                None => !OWN_RUST_VERSION.contains(&name),
            }
        })
        .map(|p| p["id"].as_str().expect("id").to_owned())
        .collect();
    let ours: BTreeSet<&str> = published
        .iter()
        .map(|id| packages[id].2.as_deref().expect("a rust-version"))
        .collect();
    assert_eq!(ours.len(), 1, "published crates disagree: {ours:?}");
    let ours = ours.into_iter().next().expect("one").to_owned();

    let edges: HashMap<&str, Vec<(&str, bool)>> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve.nodes")
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .expect("deps")
                .iter()
                .map(|dep| {
                    // `kind` is null for normal dependencies, "build" or "dev".
                    let built_for_users = dep["dep_kinds"]
                        .as_array()
                        .expect("dep_kinds")
                        .iter()
                        .any(|k| k["kind"].as_str() != Some("dev"));
                    (dep["pkg"].as_str().expect("pkg"), built_for_users)
                })
                .collect();
            (node["id"].as_str().expect("id"), deps)
        })
        .collect();
    let mut reached = BTreeSet::new();
    let mut stack: Vec<&str> = published.iter().map(String::as_str).collect();
    while let Some(id) = stack.pop() {
        if reached.insert(id.to_owned()) {
            stack.extend(
                edges[id]
                    .iter()
                    .filter(|(_, built_for_users)| *built_for_users)
                    .map(|(dep, _)| *dep),
            );
        }
    }
    Graph {
        ours,
        reached,
        packages,
    }
}

/// The packages users build that declare a `rust-version` above `ours`.
fn newer_than(graph: &Graph, ours: (u64, u64, u64)) -> Vec<String> {
    graph
        .reached
        .iter()
        .map(|id| &graph.packages[id])
        .filter_map(|(name, v, rust)| {
            let rust = rust.as_deref()?;
            (version(rust) > ours).then(|| format!("{name} {v} needs Rust {rust}"))
        })
        .collect()
}

#[test]
fn no_dependency_users_build_needs_a_newer_rust_than_ours() {
    let graph = graph(None);
    let names: BTreeSet<&str> = graph
        .reached
        .iter()
        .map(|id| graph.packages[id].0.as_str())
        .collect();
    // The walk follows what users build and stops at dev-dependencies.
    for built in ["toolcall-runtime", "serde", "tokio", "async-openai", "rmcp"] {
        assert!(names.contains(built), "{built} not reached: {names:?}");
    }
    for dev_only in ["sqlx", "proptest", "trybuild", "jsonschema", "quick-xml"] {
        assert!(!names.contains(dev_only), "{dev_only} is a dev-dependency");
    }
    for own in OWN_RUST_VERSION {
        assert!(!names.contains(own), "the core crates depend on {own}");
    }
    let newer = newer_than(&graph, version(&graph.ours));
    assert!(
        newer.is_empty(),
        "rust-version = \"{}\" in Cargo.toml, but users would build:\n{}",
        graph.ours,
        newer.join("\n")
    );

    // One minor release below the newest a dependency declares, the check
    // names that dependency: it compares what it should.
    let (newest, name) = graph
        .reached
        .iter()
        .map(|id| &graph.packages[id])
        .filter(|(name, _, _)| !name.starts_with("toolcall"))
        .filter_map(|(name, _, rust)| Some((version(rust.as_deref()?), name)))
        .max()
        .expect("dependencies that declare a rust-version");
    let below = (newest.0, newest.1 - 1, 0);
    assert!(
        newer_than(&graph, below)
            .iter()
            .any(|line| line.starts_with(&format!("{name} "))),
        "{name} needs {newest:?}, yet is not reported below it"
    );
}

#[test]
fn crates_with_a_rust_version_of_their_own_keep_to_it() {
    for own in OWN_RUST_VERSION {
        let graph = graph(Some(own));
        let names: BTreeSet<&str> = graph
            .reached
            .iter()
            .map(|id| graph.packages[id].0.as_str())
            .collect();
        assert!(names.contains("restate-sdk"), "{own} reaches {names:?}");
        let newer = newer_than(&graph, version(&graph.ours));
        assert!(
            newer.is_empty(),
            "{own} states rust-version = \"{}\", but users would build:\n{}",
            graph.ours,
            newer.join("\n")
        );
    }
}

#[test]
fn versions_compare_by_number() {
    assert!(version("1.88") < version("1.94.0"));
    assert!(version("1.100") > version("1.99.9"));
    assert_eq!(version("1.88"), version("1.88.0"));
}
