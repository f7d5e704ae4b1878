//! No circular imports in `simulator/src`: the module tree is read from the
//! `mod` declarations of each crate root (the library's `lib.rs`, the
//! binary's `cli/main.rs`), every `crate::`, `super::` and `self::` path is
//! resolved to the module it names, and among the children of each module
//! (the top-level folders first) the references must form no cycle. A
//! module using its own parent or child is not a cycle between siblings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module: its path from the crate root (empty for the root).
struct Module {
    path: Vec<String>,
    /// The source with comments and string literals blanked.
    code: String,
}

#[test]
fn no_cycle_between_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for root in ["lib.rs", "cli/main.rs", "main.rs"] {
        let file = src.join(root);
        if file.exists() {
            let modules = crate_modules(&file);
            assert!(!modules.is_empty(), "{} holds no module", file.display());
            found.extend(cycles(&modules).into_iter().map(|c| (root, c)));
        }
    }
    assert!(
        found.is_empty(),
        "circular imports in simulator/src:\n{}",
        found
            .iter()
            .map(|(root, cycle)| format!("  ({root}) {}", cycle.join(" -> ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The checker sees a cycle where there is one and none where there is none.
#[test]
fn the_checker_finds_cycles() {
    let module = |path: &str, code: &str| Module {
        path: path.split("::").map(String::from).collect(),
        code: strip(code),
    };
    let root = Module {
        path: Vec::new(),
        code: String::new(),
    };
    let cyclic = [
        module("a", "use crate::b::{X, c::Y};"),
        module("b", "fn f() { crate::a::go() }"),
        module("b::c", ""),
    ];
    let modules: Vec<Module> = std::iter::once(root).chain(cyclic).collect();
    assert_eq!(cycles(&modules), vec![vec!["a", "b", "a"]]);

    let modules = [
        module("a", "use crate::b::c::Y; use super::d;"),
        module("b", "use self::c::Y;"),
        module(
            "b::c",
            "use super::super::d; // crate::a\n const S: &str = \"crate::a\";",
        ),
        module("d", ""),
    ];
    assert_eq!(cycles(&modules), Vec::<Vec<String>>::new());
    let modules = [
        module("b", ""),
        module("b::c", "use super::e::Z;"),
        module("b::e", "use crate::b::c;"),
    ];
    assert_eq!(cycles(&modules), vec![vec!["b::c", "b::e", "b::c"]]);
}

/// Every module of the crate whose root is `root`, following `mod x;`.
fn crate_modules(root: &Path) -> Vec<Module> {
    let mut modules = Vec::new();
    let mut todo = vec![(Vec::new(), root.to_path_buf())];
    while let Some((path, file)) = todo.pop() {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let code = strip(&text);
        // A `mod.rs` or crate root holds its children beside it; `a.rs`
        // holds them in `a/`.
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let dir = match file.parent() {
            Some(parent) if path.is_empty() || name == "mod.rs" => parent.to_path_buf(),
            Some(parent) => parent.join(name.trim_end_matches(".rs")),
            None => PathBuf::new(),
        };
        for child in declared_modules(&code) {
            let flat = dir.join(format!("{child}.rs"));
            let nested = dir.join(&child).join("mod.rs");
            let child_file = if flat.exists() { flat } else { nested };
            let mut child_path = path.clone();
            child_path.push(child);
            todo.push((child_path, child_file));
        }
        modules.push(Module { path, code });
    }
    modules
}

/// The names of `mod x;` declarations (not inline `mod x { .. }`).
fn declared_modules(code: &str) -> Vec<String> {
    let words = words(code);
    words
        .windows(3)
        .filter(|w| w[0] == "mod" && w[2] == ";")
        .map(|w| w[1].to_string())
        .collect()
}

/// The cycles among siblings, each as the module paths around it.
fn cycles(modules: &[Module]) -> Vec<Vec<String>> {
    let known: BTreeSet<&[String]> = modules.iter().map(|m| m.path.as_slice()).collect();
    // Edges between siblings: from the child of the common parent that holds
    // the user to the child that holds what it uses.
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for module in modules {
        for target in references(module) {
            let target = deepest_module(&target, &known);
            let common = module
                .path
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common == module.path.len() || common == target.len() {
                continue; // itself, an ancestor or a descendant
            }
            edges
                .entry(module.path[..=common].to_vec())
                .or_default()
                .insert(target[..=common].to_vec());
        }
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for start in edges.keys() {
        let mut stack = vec![start.clone()];
        find_cycle(&edges, &mut stack, &mut done, &mut cycles);
    }
    cycles
        .into_iter()
        .map(|c| c.iter().map(|p| p.join("::")).collect())
        .collect()
}

/// Depth-first search from the last module of `stack`; records each cycle
/// found once (by its set of members).
fn find_cycle(
    edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
    stack: &mut Vec<Vec<String>>,
    done: &mut BTreeSet<Vec<String>>,
    cycles: &mut Vec<Vec<Vec<String>>>,
) {
    let Some(last) = stack.last().cloned() else {
        return;
    };
    if done.contains(&last) {
        return;
    }
    for next in edges.get(&last).into_iter().flatten() {
        if let Some(at) = stack.iter().position(|m| m == next) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(next.clone());
            let members: BTreeSet<_> = cycle.iter().collect();
            if !cycles
                .iter()
                .any(|c: &Vec<Vec<String>>| c.iter().collect::<BTreeSet<_>>() == members)
            {
                cycles.push(cycle);
            }
        } else {
            stack.push(next.clone());
            find_cycle(edges, stack, done, cycles);
            stack.pop();
        }
    }
    done.insert(last);
}

/// The longest prefix of `path` that is a module.
fn deepest_module(path: &[String], known: &BTreeSet<&[String]>) -> Vec<String> {
    (0..=path.len())
        .rev()
        .map(|n| &path[..n])
        .find(|p| known.contains(p))
        .unwrap_or(&[])
        .to_vec()
}

/// Every path the module names from `crate::`, `super::` or `self::`,
/// absolute from the crate root, with `use` groups expanded.
fn references(module: &Module) -> Vec<Vec<String>> {
    let words = words(&module.code);
    let mut paths = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let starts = matches!(words[i], "crate" | "super" | "self")
            && words.get(i + 1) == Some(&"::")
            && (i == 0 || words[i - 1] != "::");
        if starts {
            let mut expanded = Vec::new();
            i = use_tree(&words, i, Vec::new(), &mut expanded);
            for relative in expanded {
                if let Some(path) = absolute(&module.path, &relative) {
                    paths.push(path);
                }
            }
        } else {
            i += 1;
        }
    }
    paths
}

/// Reads the path (or `use` tree) starting at `words[i]`, appending each
/// complete path to `out`; returns the index after it.
fn use_tree(
    words: &[&str],
    mut i: usize,
    prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    let mut path = prefix;
    loop {
        match words.get(i) {
            Some(&"{") => {
                i += 1;
                while i < words.len() && words[i] != "}" {
                    i = use_tree(words, i, path.clone(), out);
                    if words.get(i) == Some(&",") {
                        i += 1;
                    }
                }
                out.push(path);
                return i + 1;
            }
            Some(word) if is_ident(word) => {
                path.push(word.to_string());
                i += 1;
                if words.get(i) == Some(&"::") {
                    i += 1;
                } else {
                    out.push(path);
                    return i;
                }
            }
            _ => {
                out.push(path);
                return i;
            }
        }
    }
}

/// `relative` (starting with `crate`, `super` or `self`) from the module at
/// `at`; `None` when it climbs above the root.
fn absolute(at: &[String], relative: &[String]) -> Option<Vec<String>> {
    let mut path = at.to_vec();
    let mut rest = relative;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            path.clear();
            rest = &rest[1..];
        }
        _ => {
            while let Some(first) = rest.first() {
                match first.as_str() {
                    "super" => {
                        path.pop()?;
                    }
                    "self" => {}
                    _ => break,
                }
                rest = &rest[1..];
            }
        }
    }
    path.extend(rest.iter().cloned());
    Some(path)
}

fn is_ident(word: &str) -> bool {
    word.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
}

/// The source split into identifiers, `::` and single punctuation.
fn words(code: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphanumeric() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            words.push(&code[start..i]);
        } else if c == b':' && bytes.get(i + 1) == Some(&b':') {
            words.push("::");
            i += 2;
        } else if c.is_ascii_whitespace() || !c.is_ascii() {
            i += 1;
        } else {
            words.push(&code[i..i + 1]);
            i += 1;
        }
    }
    words
}

/// `text` with comments, string and char literals replaced by spaces, so a
/// path in a doc comment or a message is not a reference.
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r' && matches!(next, Some('"') | Some('#')) && !prev_ident(&chars, i) {
            // A raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) == Some(&'"') {
                j += 1;
                while j < chars.len() {
                    if chars[j] == '"' && (1..=hashes).all(|h| chars.get(j + h) == Some(&'#')) {
                        j += 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                i = j;
                out.push(' ');
            } else {
                out.push(c);
                i += 1;
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(' ');
        } else if c == '\'' && is_char_literal(&chars, i) {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(' ');
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_ident(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// A `'` opening a char literal rather than a lifetime: `'x'` or `'\..'`.
fn is_char_literal(chars: &[char], i: usize) -> bool {
    match chars.get(i + 1) {
        Some('\\') => true,
        Some(_) => chars.get(i + 2) == Some(&'\''),
        None => false,
    }
}
