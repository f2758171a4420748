//! The crates' modules depend on each other in one direction only: no two
//! modules of chat-core (or of chat-server) import each other, directly or
//! through others.
//!
//! Every `crate::...` and `super::...` path in a module's non-test code is an
//! edge to the module it names (items re-exported at the crate root count as
//! edges to the module defining them). Edges between a module and its own
//! parents or children are structure, not dependencies, and are left out.
//! The test fails naming every cycle it finds.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path such as `service::writer` ("" for the crate root).
type Module = String;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(src: &Path, file: &Path) -> Module {
    let relative = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// The file's code without comments, string contents and test modules.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            // Test modules come last in a file.
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

fn ident_at(text: &str, at: usize) -> Option<(String, usize)> {
    let rest = &text[at..];
    let len = rest
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map(|(i, _)| i)
        .unwrap_or(rest.len());
    (len > 0).then(|| (rest[..len].to_owned(), at + len))
}

/// Every path following `prefix::` (`crate::` or `super::`), with `{...}`
/// groups expanded one level.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut start = 0;
    while let Some(offset) = code[start..].find(prefix) {
        let at = start + offset;
        start = at + prefix.len();
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut segments = Vec::new();
        let mut pos = start;
        loop {
            if code[pos..].starts_with('{') {
                let end = code[pos..].find('}').map_or(code.len(), |e| pos + e);
                for item in code[pos + 1..end].split(',') {
                    let mut path = segments.clone();
                    path.extend(
                        item.split("::")
                            .map(|s| s.trim().trim_start_matches('{').to_owned())
                            .filter(|s| {
                                !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
                            }),
                    );
                    found.push(path);
                }
                break;
            }
            let Some((ident, next)) = ident_at(code, pos) else {
                break;
            };
            segments.push(ident);
            if code[next..].starts_with("::") {
                pos = next + 2;
            } else {
                found.push(segments.clone());
                break;
            }
        }
    }
    found
}

/// Root re-exports (`pub use a::b::{X, Y};` in lib.rs): name -> module.
fn root_exports(lib: &str, modules: &BTreeSet<Module>) -> BTreeMap<String, Module> {
    let mut exports = BTreeMap::new();
    for path in paths_after(
        &code_of(lib).replace("pub use ", "pub use crate::"),
        "crate::",
    ) {
        if let Some((name, module)) = path.split_last() {
            let module = module.join("::");
            if modules.contains(&module) {
                exports.insert(name.clone(), module);
            }
        }
    }
    exports
}

/// The longest known module that `path` (absolute segments) names.
fn resolve(
    path: &[String],
    modules: &BTreeSet<Module>,
    exports: &BTreeMap<String, Module>,
) -> Option<Module> {
    for len in (1..=path.len()).rev() {
        let candidate = path[..len].join("::");
        if modules.contains(&candidate) {
            return Some(candidate);
        }
    }
    path.first().and_then(|name| exports.get(name).cloned())
}

fn related(a: &str, b: &str) -> bool {
    a.is_empty()
        || b.is_empty()
        || a.starts_with(&format!("{b}::"))
        || b.starts_with(&format!("{a}::"))
}

fn graph(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let files: Vec<(Module, String)> = files
        .iter()
        .filter(|f| !f.ends_with("tests.rs") && !f.to_string_lossy().contains("/bin/"))
        .map(|f| {
            (
                module_of(src, f),
                std::fs::read_to_string(f).unwrap_or_default(),
            )
        })
        .collect();
    let modules: BTreeSet<Module> = files.iter().map(|(m, _)| m.clone()).collect();
    let lib = files
        .iter()
        .find(|(m, _)| m.is_empty())
        .map(|(_, t)| t.as_str())
        .unwrap_or("");
    let exports = root_exports(lib, &modules);
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, text) in &files {
        let code = code_of(text);
        let mut targets = Vec::new();
        for path in paths_after(&code, "crate::") {
            targets.push(path);
        }
        for path in paths_after(&code, "super::") {
            let mut base: Vec<String> = module
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            // In a file module `a::b`, `super` is `a`.
            base.pop();
            base.extend(path);
            targets.push(base);
        }
        for path in targets {
            if let Some(target) = resolve(&path, &modules, &exports)
                && !related(module, &target)
            {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    edges
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<Module>> {
    struct State<'a> {
        edges: &'a BTreeMap<Module, BTreeSet<Module>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<Module>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(targets) = s.edges.get(v) {
            for w in targets {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let low = s.low[v].min(s.low[w]);
                    s.low.insert(v, low);
                } else if s.on_stack.contains(w) {
                    let low = s.low[v].min(s.index[w]);
                    s.low.insert(v, low);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v.as_str());
        }
    }
    state.found
}

fn assert_no_cycles(crate_dir: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(crate_dir)
        .join("src");
    let edges = graph(&src);
    assert!(!edges.is_empty(), "no modules read under {}", src.display());
    let found = cycles(&edges);
    let described: Vec<String> = found
        .iter()
        .map(|component| {
            let inner: Vec<String> = component
                .iter()
                .flat_map(|m| {
                    edges[m]
                        .iter()
                        .filter(|t| component.contains(t))
                        .map(move |t| format!("{m} -> {t}"))
                })
                .collect();
            inner.join(", ")
        })
        .collect();
    assert!(
        found.is_empty(),
        "import cycles in {crate_dir}:\n{}",
        described.join("\n")
    );
}

#[test]
fn chat_core_modules_have_no_import_cycles() {
    assert_no_cycles(".");
}

#[test]
fn chat_server_modules_have_no_import_cycles() {
    assert_no_cycles("../chat-server");
}

#[test]
fn the_check_sees_a_cycle() {
    let mut edges = BTreeMap::new();
    edges.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    edges.insert("b".to_owned(), BTreeSet::from(["c".to_owned()]));
    edges.insert("c".to_owned(), BTreeSet::from(["a".to_owned()]));
    edges.insert("d".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(
        cycles(&edges),
        vec![vec!["a".to_owned(), "b".to_owned(), "c".to_owned()]]
    );
    let dir = std::env::temp_dir().join(format!("layering-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("x")).expect("dir");
    std::fs::write(src.join("lib.rs"), "mod x;\nmod y;\npub use y::Thing;\n").expect("lib");
    std::fs::write(src.join("x/mod.rs"), "use crate::Thing;\n").expect("x");
    std::fs::write(
        src.join("y.rs"),
        "use crate::x::{self};\npub struct Thing;\n",
    )
    .expect("y");
    let found = cycles(&graph(&src));
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(found, vec![vec!["x".to_owned(), "y".to_owned()]]);
}
