//! Structure checks the project holds itself, on the sources rather than on behaviour:
//!
//! - no import cycle among `health-core`'s modules, neither between single modules nor between
//!   top-level folders (siblings import each other by module path, not through the crate root's
//!   re-exports);
//! - no non-test function over [`MAX_FN_LINES`] lines in the library crates unless its doc
//!   comment says why (`Long because: ...`).
//!
//! The checker's own pieces are unit-tested below on synthetic sources, so that the checks can
//! fail. See the top-level checks for how to run them with their report
//! (`cargo test -p health-tests --test structure -- --include-ignored --nocapture`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::{self, Visit};
use syn::{Attribute, Expr, ImplItem, Item, Lit, Meta, TraitItem, UseTree};

/// The longest a function may be (signature's first line to closing brace) without a reason.
const MAX_FN_LINES: usize = 60;

/// The phrase a long function's doc comment must hold, followed by the reason.
const LONG_BECAUSE: &str = "Long because:";

/// The library crates whose `src/` the function-length check reads.
const LIBRARY_CRATES: [&str; 3] = ["health-core", "health-macros", "health-axum"];

// ---------------------------------------------------------------------------------------------
// The top-level checks.
// ---------------------------------------------------------------------------------------------

#[test]
fn health_core_has_no_import_cycle() {
    let src = workspace_root().join("health-core/src");
    let files = read_sources(&src, "health-core/src");
    assert!(
        files.iter().any(|(rel, _, _)| rel == "lib.rs"),
        "no lib.rs under {}",
        src.display()
    );
    let graph = ModuleGraph::build(&files);
    let problems = graph.problems();
    println!("{}", graph.summary());
    assert!(
        problems.is_empty(),
        "health-core's module structure:\n\n{problems}"
    );
}

#[test]
fn no_long_function_without_a_reason() {
    let root = workspace_root();
    let mut all = Vec::new();
    for krate in LIBRARY_CRATES {
        let label = format!("{krate}/src");
        for (_, path_label, source) in read_sources(&root.join(&label), &label) {
            let file = syn::parse_file(&source)
                .unwrap_or_else(|e| panic!("{path_label} does not parse: {e}"));
            all.extend(function_lengths(&file, &path_label));
        }
    }
    assert!(!all.is_empty(), "no function found in {LIBRARY_CRATES:?}");
    all.sort_by(|a, b| {
        b.lines
            .cmp(&a.lines)
            .then_with(|| a.place().cmp(&b.place()))
    });

    println!("longest non-test functions (limit {MAX_FN_LINES} lines without `{LONG_BECAUSE}`):");
    for f in all.iter().take(15) {
        let note = match (f.lines > MAX_FN_LINES, f.reason.is_some()) {
            (true, true) => "  (documented)",
            (true, false) => "  OVER THE LIMIT",
            _ => "",
        };
        println!("  {} {} ({} lines){note}", f.place(), f.name, f.lines);
    }

    let offenders: Vec<String> = all
        .iter()
        .filter(|f| f.lines > MAX_FN_LINES && f.reason.is_none())
        .map(|f| format!("  {} {} ({} lines)", f.place(), f.name, f.lines))
        .collect();
    assert!(
        offenders.is_empty(),
        "{} function(s) over {MAX_FN_LINES} lines without `{LONG_BECAUSE} <reason>` in their doc \
         comment (split them, or say why they must stay whole):\n{}",
        offenders.len(),
        offenders.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Reading the sources.
// ---------------------------------------------------------------------------------------------

/// The workspace root: the parent of this package's directory (`tests/`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests package lives in the workspace")
        .to_path_buf()
}

/// Every `.rs` file under `dir`, sorted: (path relative to `dir` with `/` separators, path for
/// messages as `label/relative`, source).
fn read_sources(dir: &Path, label: &str) -> Vec<(String, String, String)> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) {
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let rel = format!("{prefix}{name}");
            if path.is_dir() {
                walk(&path, &format!("{rel}/"), out);
            } else if name.ends_with(".rs") {
                out.push((rel, path));
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, "", &mut found);
    found.sort();
    found
        .into_iter()
        .map(|(rel, path)| {
            let source = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (rel.clone(), format!("{label}/{rel}"), source)
        })
        .collect()
}

/// The line of a span's start (1-based, with proc-macro2's `span-locations`).
fn line_of(span: proc_macro2::Span) -> usize {
    span.start().line
}

/// Whether `attrs` put the item under test only: `#[cfg(test)]` (also inside `all(..)`),
/// `#[test]` or a test macro such as `#[tokio::test]`.
fn is_test(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let path = attr.path();
        if path.is_ident("cfg") {
            match &attr.meta {
                Meta::List(list) => list
                    .parse_args::<Meta>()
                    .map(|m| cfg_requires_test(&m))
                    .unwrap_or(false),
                _ => false,
            }
        } else {
            path.segments.last().is_some_and(|s| s.ident == "test")
        }
    })
}

/// Whether a cfg predicate can hold only under `test`: `test` itself, or `all(..)` holding such
/// a predicate, or `any(..)` all of whose branches do.
fn cfg_requires_test(meta: &Meta) -> bool {
    match meta {
        Meta::Path(path) => path.is_ident("test"),
        Meta::List(list) => {
            let inner = list.parse_args_with(
                syn::punctuated::Punctuated::<Meta, syn::Token![,]>::parse_terminated,
            );
            let Ok(inner) = inner else { return false };
            if list.path.is_ident("all") {
                inner.iter().any(cfg_requires_test)
            } else if list.path.is_ident("any") {
                !inner.is_empty() && inner.iter().all(cfg_requires_test)
            } else {
                false
            }
        }
        Meta::NameValue(_) => false,
    }
}

/// The text of the doc comments among `attrs`, one line per attribute.
fn doc_text(attrs: &[Attribute]) -> String {
    let mut text = String::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let Meta::NameValue(nv) = &attr.meta {
            if let Expr::Lit(lit) = &nv.value {
                if let Lit::Str(s) = &lit.lit {
                    text.push_str(&s.value());
                    text.push('\n');
                }
            }
        }
    }
    text
}

// ---------------------------------------------------------------------------------------------
// Check 1: the module graph of one crate.
// ---------------------------------------------------------------------------------------------

/// A module's path from the crate root; the root is the empty path.
type ModPath = Vec<String>;

fn mod_name(m: &[String]) -> String {
    if m.is_empty() {
        "crate".to_string()
    } else {
        m.join("::")
    }
}

/// The module path of a file from its path relative to `src/`: `lib.rs` is the root,
/// `engine/mod.rs` is `engine`, `engine/slot.rs` is `engine::slot`.
fn module_path_of_file(rel: &str) -> ModPath {
    let mut parts: Vec<String> = rel.split('/').map(str::to_string).collect();
    let file = parts.pop().expect("a file name");
    match file.as_str() {
        "lib.rs" | "main.rs" if parts.is_empty() => parts,
        "mod.rs" => parts,
        _ => {
            parts.push(file.trim_end_matches(".rs").to_string());
            parts
        }
    }
}

/// A path naming something in the crate, as written (`crate`, `super`, `self` or a child
/// module first), where it was written.
#[derive(Clone, Debug)]
struct Reference {
    segments: Vec<String>,
    /// How the source spells it, for messages (in backticks).
    text: String,
    file: String,
    line: usize,
}

/// One leaf of a module-level `use` item: the name it binds (`None` for a glob or `as _`).
#[derive(Clone, Debug)]
struct Import {
    binds: Option<String>,
    glob: bool,
    reference: Reference,
}

#[derive(Default, Debug)]
struct Module {
    /// Where the module is written (`health-core/src/engine.rs`, also for inline modules).
    file: String,
    /// Items defined here, by name (modules included).
    defined: BTreeSet<String>,
    /// The module's own `use` items (not those inside functions): the names they bring in.
    imports: Vec<Import>,
    /// Every reference to the crate made in the module: `use` leaves (at any depth) and paths
    /// in code, attributes aside.
    references: Vec<Reference>,
}

/// A dependency of one module on another, with the reference that makes it.
#[derive(Clone, Debug)]
struct Edge {
    from: ModPath,
    to: ModPath,
    reference: Reference,
    /// The reference names an item the crate root re-exports (`crate::Foo`) rather than the
    /// module that defines it.
    through_root: bool,
}

struct ModuleGraph {
    modules: BTreeMap<ModPath, Module>,
    edges: Vec<Edge>,
}

impl ModuleGraph {
    /// The graph of a crate from its `src/` files: (path relative to `src/`, path for messages,
    /// source). Test-only modules (`#[cfg(test)] mod x;` or inline) and test items are left out.
    fn build(files: &[(String, String, String)]) -> ModuleGraph {
        let mut modules = BTreeMap::new();
        let mut test_modules = BTreeSet::new();
        for (rel, label, source) in files {
            let file = syn::parse_file(source).unwrap_or_else(|e| panic!("{label}: {e}"));
            let path = module_path_of_file(rel);
            scan_items(&file.items, path, label, &mut modules, &mut test_modules);
        }
        modules.retain(|path, _| !test_modules.iter().any(|t| path.starts_with(t)));
        let mut graph = ModuleGraph {
            modules,
            edges: Vec::new(),
        };
        graph.edges = graph.resolve_edges();
        graph
    }

    /// The absolute path (from the root) a reference written in `module` denotes, or `None` if
    /// it leaves the crate.
    fn absolute(&self, module: &[String], segments: &[String]) -> Option<Vec<String>> {
        let (first, rest) = segments.split_first()?;
        let mut base: Vec<String> = module.to_vec();
        let mut rest = rest;
        match first.as_str() {
            "crate" => base.clear(),
            "self" => {}
            "super" => {
                base.pop()?;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop()?;
                    rest = &rest[1..];
                }
            }
            _ => {
                // A path relative to the module: only through one of its child modules.
                let mut child = base.clone();
                child.push(first.clone());
                if !self.modules.contains_key(&child) {
                    return None;
                }
                rest = segments;
            }
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// The longest prefix of `path` that is a known module, and the rest.
    fn split_module<'p>(&self, path: &'p [String]) -> (ModPath, &'p [String]) {
        (0..=path.len())
            .rev()
            .map(|i| path.split_at(i))
            .find(|(m, _)| self.modules.contains_key(*m))
            .map(|(m, rest)| (m.to_vec(), rest))
            .unwrap_or((Vec::new(), path))
    }

    /// The absolute path the name `name`, imported by a `use` in `module`, stands for: `Some(None)`
    /// if it comes from outside the crate, `None` if `module` imports no such name.
    fn imported(&self, module: &[String], name: &str) -> Option<Option<Vec<String>>> {
        let m = self.modules.get(module)?;
        m.imports
            .iter()
            .find(|i| i.binds.as_deref() == Some(name))
            .map(|i| self.absolute(module, &i.reference.segments))
    }

    /// The module defining what an absolute path names, following `use` re-exports (and globs)
    /// of the modules on the way; `None` if it leads out of the crate.
    fn defining_module(&self, path: &[String], depth: usize) -> Option<ModPath> {
        let (module, rest) = self.split_module(path);
        let Some(name) = rest.first() else {
            return Some(module);
        };
        if depth > 16 {
            return Some(module);
        }
        let m = &self.modules[&module];
        if m.defined.contains(name) {
            return Some(module);
        }
        if let Some(target) = self.imported(&module, name) {
            let mut next = target?;
            next.extend(rest[1..].iter().cloned());
            return self.defining_module(&next, depth + 1);
        }
        for glob in m.imports.iter().filter(|i| i.glob) {
            let Some(source) = self.absolute(&module, &glob.reference.segments) else {
                continue;
            };
            let (source_module, source_rest) = self.split_module(&source);
            let provides = source_rest.is_empty()
                && (self.modules[&source_module].defined.contains(name)
                    || self.imported(&source_module, name).is_some());
            if provides && source_module != module {
                let mut next = source;
                next.extend(rest.iter().cloned());
                return self.defining_module(&next, depth + 1);
            }
        }
        Some(module)
    }

    fn resolve_edges(&self) -> Vec<Edge> {
        let mut edges = Vec::new();
        for (from, module) in &self.modules {
            for reference in &module.references {
                let Some(path) = self.absolute(from, &reference.segments) else {
                    continue;
                };
                let Some(to) = self.defining_module(&path, 0) else {
                    continue;
                };
                if &to == from {
                    continue;
                }
                // `crate::Foo` (or `super::Foo` from a top-level module) where the root only
                // re-exports `Foo`.
                let through_root = !to.is_empty()
                    && self.split_module(&path).0.is_empty()
                    && path
                        .first()
                        .is_some_and(|name| !self.modules[&Vec::new()].defined.contains(name));
                edges.push(Edge {
                    from: from.clone(),
                    to,
                    reference: reference.clone(),
                    through_root,
                });
            }
        }
        edges
    }

    /// The modules written in the root's file (`lib.rs` and its inline modules): the crate's
    /// facade, which may name its own re-exports.
    fn in_root_file(&self, module: &[String]) -> bool {
        let root_file = &self.modules[&Vec::new()].file;
        self.modules
            .get(module)
            .is_some_and(|m| &m.file == root_file)
    }

    /// Every failure, as text: cycles between modules, cycles between top-level folders, and
    /// imports through the root's re-exports. Empty if the structure is sound.
    fn problems(&self) -> String {
        let mut out = String::new();

        let module_cycles = cycles(
            self.edges
                .iter()
                .map(|e| (mod_name(&e.from), mod_name(&e.to), e)),
        );
        if !module_cycles.is_empty() {
            let _ = writeln!(out, "import cycles between modules:");
            out.push_str(&describe_cycles(&module_cycles));
        }

        let folder = |m: &ModPath| m.first().cloned().unwrap_or_else(|| "crate".to_string());
        let folder_cycles = cycles(
            self.edges
                .iter()
                .filter(|e| folder(&e.from) != folder(&e.to))
                .map(|e| (folder(&e.from), folder(&e.to), e)),
        );
        if !folder_cycles.is_empty() {
            let _ = writeln!(
                out,
                "import cycles between top-level folders (a folder counts as one node, the edges \
                 inside one folder aside):"
            );
            // A cycle of top-level modules only is the same at both levels: named, not repeated.
            let (same, new): (Vec<_>, Vec<_>) =
                folder_cycles.into_iter().partition(|(c, inside)| {
                    module_cycles
                        .iter()
                        .any(|(m, m_inside)| m == c && m_inside.len() == inside.len())
                });
            for (component, _) in same {
                let _ = writeln!(
                    out,
                    "  cycle among {{{}}}: the one above",
                    component.join(", ")
                );
            }
            out.push_str(&describe_cycles(&new));
        }

        let through_root: Vec<&Edge> = self
            .edges
            .iter()
            .filter(|e| e.through_root && !self.in_root_file(&e.from))
            .collect();
        if !through_root.is_empty() {
            let _ = writeln!(
                out,
                "import siblings by module path, not through the root re-exports ({} reference(s)):",
                through_root.len()
            );
            for e in through_root {
                let _ = writeln!(
                    out,
                    "  {}:{} {} (defined in `{}`) in `{}`",
                    e.reference.file,
                    e.reference.line,
                    e.reference.text,
                    mod_name(&e.to),
                    mod_name(&e.from)
                );
            }
        }
        out
    }

    /// The modules and their dependencies, one line each.
    fn summary(&self) -> String {
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for m in self.modules.keys() {
            deps.entry(mod_name(m)).or_default();
        }
        for e in &self.edges {
            deps.entry(mod_name(&e.from))
                .or_default()
                .insert(mod_name(&e.to));
        }
        let mut out = String::from("module dependencies:\n");
        for (m, to) in deps {
            let to: Vec<String> = to.into_iter().collect();
            let _ = writeln!(out, "  {m} -> {}", to.join(", "));
        }
        out
    }
}

/// Records what `items`, the content of module `path` written in `file`, define, import and
/// reference; recurses into inline modules. Test-only modules go to `test_modules`.
fn scan_items(
    items: &[Item],
    path: ModPath,
    file: &str,
    modules: &mut BTreeMap<ModPath, Module>,
    test_modules: &mut BTreeSet<ModPath>,
) {
    modules.entry(path.clone()).or_default().file = file.to_string();
    for item in items {
        if let Item::Mod(m) = item {
            let mut child = path.clone();
            child.push(m.ident.to_string());
            if is_test(&m.attrs) {
                test_modules.insert(child);
                continue;
            }
            modules
                .entry(path.clone())
                .or_default()
                .defined
                .insert(m.ident.to_string());
            if let Some((_, content)) = &m.content {
                scan_items(content, child, file, modules, test_modules);
            }
            continue;
        }
        if item_attrs(item).is_some_and(is_test) {
            continue;
        }
        let module = modules.entry(path.clone()).or_default();
        if let Some(name) = item_name(item) {
            module.defined.insert(name);
        }
        if let Item::Use(u) = item {
            let mut leaves = Vec::new();
            use_leaves(&u.tree, Vec::new(), file, &mut leaves);
            for leaf in leaves {
                module.references.push(leaf.reference.clone());
                module.imports.push(leaf);
            }
            continue;
        }
        let mut collector = References {
            file,
            found: Vec::new(),
        };
        collector.visit_item(item);
        module.references.extend(collector.found);
    }
}

fn item_attrs(item: &Item) -> Option<&[Attribute]> {
    Some(match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => return None,
    })
}

fn item_name(item: &Item) -> Option<String> {
    Some(match item {
        Item::Const(i) => i.ident.to_string(),
        Item::Enum(i) => i.ident.to_string(),
        Item::Fn(i) => i.sig.ident.to_string(),
        Item::Macro(i) => i.ident.as_ref()?.to_string(),
        Item::Mod(i) => i.ident.to_string(),
        Item::Static(i) => i.ident.to_string(),
        Item::Struct(i) => i.ident.to_string(),
        Item::Trait(i) => i.ident.to_string(),
        Item::TraitAlias(i) => i.ident.to_string(),
        Item::Type(i) => i.ident.to_string(),
        Item::Union(i) => i.ident.to_string(),
        _ => return None,
    })
}

/// The leaves of a `use` tree, each with its full path: `use crate::{a::X, b::{Y, Z as W}}`
/// gives `crate::a::X`, `crate::b::Y` and `crate::b::Z` (binding `W`).
fn use_leaves(tree: &UseTree, prefix: Vec<String>, file: &str, out: &mut Vec<Import>) {
    let leaf = |segments: Vec<String>, binds: Option<String>, glob: bool, line: usize| {
        let text = if glob {
            format!("`{}::*`", segments.join("::"))
        } else {
            format!("`{}`", segments.join("::"))
        };
        Import {
            binds,
            glob,
            reference: Reference {
                segments,
                text,
                file: file.to_string(),
                line,
            },
        }
    };
    match tree {
        UseTree::Path(p) => {
            let mut prefix = prefix;
            prefix.push(p.ident.to_string());
            use_leaves(&p.tree, prefix, file, out);
        }
        UseTree::Name(n) => {
            // `use a::b::{self}` imports `a::b` itself.
            let (segments, binds) = if n.ident == "self" {
                let binds = prefix.last().cloned();
                (prefix, binds)
            } else {
                let mut segments = prefix;
                segments.push(n.ident.to_string());
                (segments, Some(n.ident.to_string()))
            };
            out.push(leaf(segments, binds, false, line_of(n.ident.span())));
        }
        UseTree::Rename(r) => {
            let mut segments = prefix;
            if r.ident != "self" {
                segments.push(r.ident.to_string());
            }
            let binds = (r.rename != "_").then(|| r.rename.to_string());
            out.push(leaf(segments, binds, false, line_of(r.ident.span())));
        }
        UseTree::Glob(g) => {
            out.push(leaf(prefix, None, true, line_of(g.star_token.spans[0])));
        }
        UseTree::Group(g) => {
            for tree in &g.items {
                use_leaves(tree, prefix.clone(), file, out);
            }
        }
    }
}

/// Collects the references to the crate in an item: `use` items at any depth, paths in code
/// (`crate::a::f()`, `super::X`, `self::child::Y`, `child::Z`), and `crate::`/`super::`/`self::`
/// paths in macro invocations' tokens. Test items inside are skipped; visibility paths
/// (`pub(in crate::a)`) and doc links are not dependencies.
struct References<'f> {
    file: &'f str,
    found: Vec<Reference>,
}

impl<'ast> Visit<'ast> for References<'_> {
    fn visit_item(&mut self, item: &'ast Item) {
        if item_attrs(item).is_some_and(is_test) {
            return;
        }
        if let Item::Use(u) = item {
            let mut leaves = Vec::new();
            use_leaves(&u.tree, Vec::new(), self.file, &mut leaves);
            self.found.extend(leaves.into_iter().map(|l| l.reference));
            return;
        }
        visit::visit_item(self, item);
    }

    fn visit_impl_item(&mut self, item: &'ast ImplItem) {
        let attrs = match item {
            ImplItem::Const(i) => &i.attrs,
            ImplItem::Fn(i) => &i.attrs,
            ImplItem::Type(i) => &i.attrs,
            ImplItem::Macro(i) => &i.attrs,
            _ => return visit::visit_impl_item(self, item),
        };
        if !is_test(attrs) {
            visit::visit_impl_item(self, item);
        }
    }

    fn visit_trait_item(&mut self, item: &'ast TraitItem) {
        let attrs = match item {
            TraitItem::Const(i) => &i.attrs,
            TraitItem::Fn(i) => &i.attrs,
            TraitItem::Type(i) => &i.attrs,
            TraitItem::Macro(i) => &i.attrs,
            _ => return visit::visit_trait_item(self, item),
        };
        if !is_test(attrs) {
            visit::visit_trait_item(self, item);
        }
    }

    fn visit_vis_restricted(&mut self, _: &'ast syn::VisRestricted) {}

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() && path.segments.len() >= 2 {
            let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.found.push(Reference {
                text: format!("`{}`", segments.join("::")),
                segments,
                file: self.file.to_string(),
                line: line_of(path.segments[0].ident.span()),
            });
        }
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        visit::visit_macro(self, mac);
        self.macro_tokens(mac.tokens.clone());
    }
}

impl References<'_> {
    /// `crate::a::b`, `super::x` and `self::x` sequences in a macro's tokens (`$crate` aside).
    fn macro_tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                TokenTree::Group(g) => self.macro_tokens(g.stream()),
                TokenTree::Ident(id)
                    if (id == "crate" || id == "super" || id == "self")
                        && !matches!(i.checked_sub(1).map(|p| &trees[p]),
                                     Some(TokenTree::Punct(p)) if p.as_char() == '$') =>
                {
                    let mut segments = vec![id.to_string()];
                    let mut j = i + 1;
                    while let (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)), Some(next)) =
                        (trees.get(j), trees.get(j + 1), trees.get(j + 2))
                    {
                        if a.as_char() != ':' || b.as_char() != ':' {
                            break;
                        }
                        match next {
                            TokenTree::Ident(n) => segments.push(n.to_string()),
                            _ => break,
                        }
                        j += 3;
                    }
                    if segments.len() >= 2 {
                        self.found.push(Reference {
                            text: format!("`{}` (in a macro)", segments.join("::")),
                            segments,
                            file: self.file.to_string(),
                            line: line_of(id.span()),
                        });
                    }
                    i = j;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// An edge between two named nodes, with what makes it.
type Labeled<'e, T> = (String, String, &'e T);

/// A cycle: its nodes (sorted) and the edges between them.
type Component<'e, T> = (Vec<String>, Vec<Labeled<'e, T>>);

/// The strongly-connected components of more than one node of a graph given by its edges
/// (`from`, `to`, payload), each with the edges inside it, in a stable order. Self-loops are
/// ignored (a module naming its own items is no cycle).
fn cycles<'e, T>(
    edges: impl IntoIterator<Item = (String, String, &'e T)>,
) -> Vec<Component<'e, T>> {
    let edges: Vec<(String, String, &T)> = edges.into_iter().filter(|(a, b, _)| a != b).collect();
    let mut nodes: BTreeSet<&str> = BTreeSet::new();
    let mut next: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (a, b, _) in &edges {
        nodes.insert(a.as_str());
        nodes.insert(b.as_str());
        next.entry(a.as_str()).or_default().insert(b.as_str());
    }
    let reach = |start: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([start]);
        while let Some(n) = queue.pop_front() {
            for &m in next.get(n).into_iter().flatten() {
                if seen.insert(m.to_string()) {
                    queue.push_back(m);
                }
            }
        }
        seen
    };
    // Small graphs: two nodes share a component when each reaches the other.
    let reachable: BTreeMap<&str, BTreeSet<String>> =
        nodes.iter().map(|&n| (n, reach(n))).collect();
    let mut assigned = BTreeSet::new();
    let mut out = Vec::new();
    for &n in &nodes {
        if assigned.contains(n) {
            continue;
        }
        let component: Vec<String> = nodes
            .iter()
            .filter(|&&m| m == n || (reachable[n].contains(m) && reachable[m].contains(n)))
            .map(|m| m.to_string())
            .collect();
        assigned.extend(component.iter().cloned());
        if component.len() > 1 {
            let inside: Vec<(String, String, &T)> = edges
                .iter()
                .filter(|(a, b, _)| component.contains(a) && component.contains(b))
                .cloned()
                .collect();
            out.push((component, inside));
        }
    }
    out
}

/// One shortest cycle through the first node of a component, as `a -> b -> a`.
fn one_cycle<T>(component: &[String], inside: &[(String, String, &T)]) -> String {
    let start = &component[0];
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start.as_str()]);
    while let Some(n) = queue.pop_front() {
        for (a, b, _) in inside {
            if a != n || parent.contains_key(b.as_str()) {
                continue;
            }
            parent.insert(b, n);
            if b == start {
                let mut path = vec![start.as_str()];
                let mut at = n;
                while at != start {
                    path.push(at);
                    at = parent[at];
                }
                path.push(start);
                path.reverse();
                return path.join(" -> ");
            }
            queue.push_back(b);
        }
    }
    component.join(", ")
}

fn describe_cycles(found: &[Component<'_, Edge>]) -> String {
    let mut out = String::new();
    for (component, inside) in found {
        let _ = writeln!(
            out,
            "  cycle among {{{}}}, e.g. {}:",
            component.join(", "),
            one_cycle(component, inside)
        );
        let mut by_pair: BTreeMap<(&str, &str), Vec<&Edge>> = BTreeMap::new();
        for (a, b, e) in inside {
            by_pair.entry((a, b)).or_default().push(e);
        }
        for ((a, b), es) in by_pair {
            let _ = writeln!(out, "    {a} -> {b}:");
            // The names one line makes the edge with, together.
            let mut by_line: BTreeMap<(&str, usize, String), Vec<&str>> = BTreeMap::new();
            for e in es {
                let modules = if mod_name(&e.from) != a || mod_name(&e.to) != b {
                    format!(" ({} -> {})", mod_name(&e.from), mod_name(&e.to))
                } else {
                    String::new()
                };
                by_line
                    .entry((&e.reference.file, e.reference.line, modules))
                    .or_default()
                    .push(&e.reference.text);
            }
            for ((file, line, modules), names) in by_line {
                let _ = writeln!(out, "      {file}:{line} {}{modules}", names.join(", "));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Check 2: function lengths.
// ---------------------------------------------------------------------------------------------

#[derive(Debug)]
struct FnLength {
    file: String,
    line: usize,
    /// `name`, or `Type::name` in an impl, `Trait::name` in a trait.
    name: String,
    lines: usize,
    /// The text after `Long because:` in the doc comment, if there is some.
    reason: Option<String>,
}

impl FnLength {
    fn place(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// Every non-test function with a body in `file` (free functions, methods, trait default
/// methods, nested functions), with its length in lines from the signature's first line to the
/// closing brace.
fn function_lengths(file: &syn::File, label: &str) -> Vec<FnLength> {
    let mut visitor = FnLengths {
        file: label,
        owner: Vec::new(),
        found: Vec::new(),
    };
    visitor.visit_file(file);
    visitor.found
}

struct FnLengths<'f> {
    file: &'f str,
    /// The impl's type or trait being visited, for names.
    owner: Vec<String>,
    found: Vec<FnLength>,
}

impl FnLengths<'_> {
    fn record(&mut self, attrs: &[Attribute], sig: &syn::Signature, block: &syn::Block) {
        let start = [
            sig.constness.as_ref().map(|t| t.span),
            sig.asyncness.as_ref().map(|t| t.span),
            sig.unsafety.as_ref().map(|t| t.span),
            sig.abi.as_ref().map(|a| a.extern_token.span),
            Some(sig.fn_token.span),
        ]
        .into_iter()
        .flatten()
        .map(line_of)
        .min()
        .expect("the fn token");
        let end = block.brace_token.span.close().end().line;
        let doc = doc_text(attrs);
        let reason = doc.find(LONG_BECAUSE).and_then(|at| {
            let reason = doc[at + LONG_BECAUSE.len()..].trim();
            (!reason.is_empty()).then(|| reason.to_string())
        });
        let name = match self.owner.last() {
            Some(owner) => format!("{owner}::{}", sig.ident),
            None => sig.ident.to_string(),
        };
        self.found.push(FnLength {
            file: self.file.to_string(),
            line: start,
            name,
            lines: end + 1 - start,
            reason,
        });
    }
}

/// The last segment of a type's path (`Engine` for `crate::engine::Engine<S>`).
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        syn::Type::Reference(r) => type_name(&r.elem),
        _ => "_".to_string(),
    }
}

impl<'ast> Visit<'ast> for FnLengths<'_> {
    fn visit_item(&mut self, item: &'ast Item) {
        if !item_attrs(item).is_some_and(is_test) {
            visit::visit_item(self, item);
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.record(&f.attrs, &f.sig, &f.block);
        // Nested functions are named by themselves.
        let owner = std::mem::take(&mut self.owner);
        visit::visit_item_fn(self, f);
        self.owner = owner;
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        self.owner.push(type_name(&i.self_ty));
        visit::visit_item_impl(self, i);
        self.owner.pop();
    }

    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        self.owner.push(t.ident.to_string());
        visit::visit_item_trait(self, t);
        self.owner.pop();
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if is_test(&f.attrs) {
            return;
        }
        self.record(&f.attrs, &f.sig, &f.block);
        let owner = std::mem::take(&mut self.owner);
        visit::visit_impl_item_fn(self, f);
        self.owner = owner;
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if is_test(&f.attrs) {
            return;
        }
        if let Some(block) = &f.default {
            self.record(&f.attrs, &f.sig, block);
        }
        let owner = std::mem::take(&mut self.owner);
        visit::visit_trait_item_fn(self, f);
        self.owner = owner;
    }
}

// ---------------------------------------------------------------------------------------------
// The checker's own tests.
// ---------------------------------------------------------------------------------------------

/// A crate from (path under `src/`, source) pairs.
fn synthetic(files: &[(&str, &str)]) -> ModuleGraph {
    let files: Vec<(String, String, String)> = files
        .iter()
        .map(|(rel, src)| (rel.to_string(), format!("src/{rel}"), src.to_string()))
        .collect();
    ModuleGraph::build(&files)
}

fn edge_set(graph: &ModuleGraph) -> BTreeSet<(String, String)> {
    graph
        .edges
        .iter()
        .map(|e| (mod_name(&e.from), mod_name(&e.to)))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn cycle_finder_on_a_synthetic_graph() {
    let graph = |list: &[(&str, &str)]| -> Vec<(String, String, &'static ())> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string(), &()))
            .collect()
    };
    // A chain, a diamond and a self-loop: no cycle.
    let acyclic = graph(&[("a", "b"), ("b", "c"), ("a", "c"), ("c", "d"), ("d", "d")]);
    assert!(cycles(acyclic).is_empty());

    // Closing the chain makes one component of three; `e <-> f` another of two.
    let cyclic = graph(&[
        ("a", "b"),
        ("b", "c"),
        ("c", "a"),
        ("c", "d"),
        ("e", "f"),
        ("f", "e"),
    ]);
    let found = cycles(cyclic);
    let components: Vec<Vec<String>> = found.iter().map(|(c, _)| c.clone()).collect();
    assert_eq!(components, vec![vec!["a", "b", "c"], vec!["e", "f"]]);
    assert_eq!(found[0].1.len(), 3, "the edges inside the first cycle");
    assert_eq!(one_cycle(&found[0].0, &found[0].1), "a -> b -> c -> a");
}

#[test]
fn module_paths_come_from_file_paths() {
    assert_eq!(module_path_of_file("lib.rs"), Vec::<String>::new());
    assert_eq!(module_path_of_file("engine/mod.rs"), vec!["engine"]);
    assert_eq!(
        module_path_of_file("engine/slot.rs"),
        vec!["engine", "slot"]
    );
    assert_eq!(module_path_of_file("run.rs"), vec!["run"]);
}

#[test]
fn dependencies_resolve_through_groups_super_code_paths_and_root_reexports() {
    let graph = synthetic(&[
        (
            "lib.rs",
            "mod a; mod b; mod c; mod engine;
             pub use a::A; pub use engine::{slot::Slot, Engine};",
        ),
        // A nested group naming two modules.
        ("a.rs", "use crate::{b::{B, B2}, c::C}; pub struct A;"),
        // Through the root's re-export: resolved to `a`, and flagged.
        ("b.rs", "use crate::A; pub struct B; pub struct B2;"),
        // A path in code, a path in a macro, and a test module's import (ignored).
        (
            "c.rs",
            "pub struct C;
             fn f() { let _ = crate::engine::Engine::new(); println!(\"{:?}\", crate::b::B); }
             #[cfg(test)] mod tests { use crate::a::A; }
             #[test] fn t() { crate::a::A; }",
        ),
        // A folder module using its child by a relative path; the child using its parent.
        (
            "engine/mod.rs",
            "mod slot; pub use slot::Slot; pub struct Engine; fn g() { slot::helper(); }",
        ),
        (
            "engine/slot.rs",
            "use super::Engine; pub struct Slot; pub(in crate::engine) fn helper() {}",
        ),
    ]);
    assert_eq!(
        edge_set(&graph),
        pairs(&[
            ("crate", "a"),
            ("crate", "engine"),
            ("crate", "engine::slot"),
            ("a", "b"),
            ("a", "c"),
            ("b", "a"),
            ("c", "engine"),
            ("c", "b"),
            ("engine", "engine::slot"),
            ("engine::slot", "engine"),
        ])
    );
    let problems = graph.problems();
    // `a -> b -> a` and `a -> c -> b` make a cycle at both levels; `engine <-> engine::slot` only between modules.
    assert!(
        problems.contains("cycle among {a, b, c}, e.g. a -> b -> a"),
        "a -> b -> a, a -> c -> b:\n{problems}"
    );
    assert!(
        problems.contains("cycle among {engine, engine::slot}"),
        "engine <-> engine::slot:\n{problems}"
    );
    let folders = &problems[problems.find("top-level folders").expect("folder cycles")..];
    assert!(!folders.contains("engine"), "within one folder:\n{folders}");
    assert!(
        folders.contains("cycle among {a, b, c}: the one above"),
        "named, not repeated:\n{folders}"
    );
    assert!(
        problems.contains("src/c.rs:2 `crate::b::B` (in a macro)"),
        "a path in a macro:\n{problems}"
    );
    assert!(
        problems.contains("src/b.rs:1 `crate::A` (defined in `a`) in `b`"),
        "the root re-export is named with its line:\n{problems}"
    );
    assert!(
        problems.contains("src/a.rs:1 `crate::b::B`, `crate::b::B2`\n"),
        "the names that make an edge:\n{problems}"
    );
}

#[test]
fn a_cycle_through_folders_is_found_and_a_clean_crate_passes() {
    // `engine::slot -> run -> engine`: no cycle between modules, one between folders.
    let folders = synthetic(&[
        ("lib.rs", "mod engine; mod run;"),
        ("engine/mod.rs", "mod slot; pub struct Engine;"),
        ("engine/slot.rs", "use crate::run::go;"),
        ("run.rs", "pub fn go() { let _ = crate::engine::Engine; }"),
    ]);
    let problems = folders.problems();
    assert!(!problems.contains("between modules"), "{problems}");
    assert!(
        problems.contains("cycle among {engine, run}"),
        "a folder cycle:\n{problems}"
    );
    assert!(
        problems.contains("src/engine/slot.rs:1 `crate::run::go` (engine::slot -> run)"),
        "the edge named with its modules:\n{problems}"
    );

    let clean = synthetic(&[
        ("lib.rs", "mod a; mod b; pub use a::A; pub use b::B;"),
        ("a.rs", "use crate::b::B; pub struct A(B);"),
        (
            "b.rs",
            "pub struct B; #[cfg(test)] mod tests { use crate::A; }",
        ),
    ]);
    assert_eq!(clean.problems(), "");
}

fn lengths_of(source: &str) -> Vec<FnLength> {
    let file = syn::parse_file(source).expect("the sample parses");
    function_lengths(&file, "sample.rs")
}

#[test]
fn line_counter_counts_signature_to_closing_brace() {
    let source = "\
/// Docs and attributes are not counted.
#[inline]
pub fn three(
) {
}

struct S;
impl S {
    /// Long because: a state machine that reads best in one piece.
    async fn method(&self) {
        fn nested() {}
        let _ = 1;
    }
}

trait T {
    fn required(&self);
    fn provided(&self) {
        let _ = 2;
    }
}

#[cfg(test)]
mod tests {
    fn skipped() {}
}

#[test]
fn skipped_too() {}

#[cfg(all(test, unix))]
fn skipped_as_well() {}

#[cfg(not(test))]
fn kept() {}
";
    let found: Vec<(String, usize, usize, bool)> = lengths_of(source)
        .into_iter()
        .map(|f| (f.name, f.line, f.lines, f.reason.is_some()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("three".to_string(), 3, 3, false),
            ("S::method".to_string(), 10, 4, true),
            ("nested".to_string(), 11, 1, false),
            ("T::provided".to_string(), 18, 3, false),
            ("kept".to_string(), 35, 1, false),
        ]
    );
}

#[test]
fn long_function_needs_a_reason_after_the_phrase() {
    let body = "    let _ = 0;\n".repeat(MAX_FN_LINES);
    let source = format!(
        "/// Long because:\nfn empty_reason() {{\n{body}}}\n\n\
         /// Does a lot.\n///\n/// Long because: the protocol's states read in order.\n\
         fn documented() {{\n{body}}}\n"
    );
    let found = lengths_of(&source);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].lines, MAX_FN_LINES + 2);
    assert!(found[0].reason.is_none(), "the phrase alone is no reason");
    assert_eq!(
        found[1].reason.as_deref(),
        Some("the protocol's states read in order.")
    );
}
