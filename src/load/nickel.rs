//! Loads a `lab.ncl`: evaluates it with Nickel, as `nickel export` would,
//! and turns the result into JSON plus the span of every value.
//!
//! The file is evaluated by path, so `import "schemas/lab.ncl"` resolves
//! next to it, under labc's lenient contracts (see [`wrapper`]): what the
//! schema refuses (enum tags, patterns, types, unknown and missing fields)
//! is left for labc's schema check, which reports all of it at once in
//! labc's words. What only Nickel detects (syntax, evaluation errors, a
//! contract the lab applies itself) is reported in Nickel's own words, as
//! labc diagnostics, with a guess at the real place of a syntax error the
//! parser noticed late (`hints.rs`).
//!
//! Invariants:
//! - every pointer in [`Loaded::value`] has a span in [`Loaded::spans`] (a
//!   value Nickel built without a position, e.g. in a stdlib function,
//!   inherits its parent's span; spans into Nickel's stdlib are never used,
//!   since no one can fix a lab there);
//! - the lab file itself is file 0 of [`Loaded::sources`];
//! - a value that only a contract default supplied points into the contract
//!   file, which is then part of [`Loaded::sources`];
//! - record keys come out in lexicographic order, as with `nickel export`
//!   and the TOML loader, so both formats load to the same value;
//! - file names, in spans and in Nickel's own messages, are the path as given
//!   (and paths next to it), never Nickel's absolute normalised paths.

use super::{Contracts, LoadError, Loaded, Spans, depth};
use crate::diag::{Code, Diagnostic, FileId, Severity, Sources, Span};
use codespan_reporting::diagnostic::{LabelStyle, Severity as CsSeverity};
use codespan_reporting::files::Files as CsFiles;
use nickel_lang_core::cache::normalize_path;
use nickel_lang_core::error::{Error as NickelError, IntoDiagnostics};
use nickel_lang_core::eval::cache::CacheImpl;
use nickel_lang_core::eval::value::{Container, EnumVariantData, NickelValue, ValueContentRef};
use nickel_lang_core::files::{FileId as NickelFileId, Files as NickelFiles};
use nickel_lang_core::identifier::LocIdent;
use nickel_lang_core::position::{PosTable, RawSpan};
use nickel_lang_core::program::{BuilderError, FieldPath, Program, ProgramBuilder};
use nickel_lang_core::term::{IsInteger, Number, RoundingFrom, RoundingMode};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Name of the program labc evaluates: the lab, under labc's own `Lab`
/// contract. Positions inside it are never shown as the lab's.
const WRAPPER: &str = "<labc: the lab under labc's own contracts>";

/// The field of the wrapper that holds the lab (the wrapper is merged with
/// the lenient contracts, a record of their own; see [`wrapper`]).
const LAB_FIELD: &str = "labc_lab";

pub(super) fn load(path: &Path, contracts: Contracts) -> Result<Loaded, LoadError> {
    let naming = Naming::new(path);
    // The lab file comes first, and is what a value with no position at all
    // (say, a whole lab built by `std.record.map`) is attributed to. Read by
    // labc first: a file that is not UTF-8 is reported where it breaks.
    let (mut sources, lab_file, text) = super::read_text(path, naming.given.display().to_string())?;
    let whole_lab = Span {
        file: lab_file,
        start: 0,
        end: text.trim_end().len(),
    };
    // Nickel's passes recurse once per level of syntax: bound it first.
    if let Err(d) = bounded_depth(&naming, &text, lab_file, &mut sources) {
        return Err(LoadError::Diagnostics(sources, vec![*d]));
    }
    let main = wrapper(path, &naming, contracts)?;
    let mut builder = ProgramBuilder::new()
        .add_source_string(main.text.clone(), WRAPPER)
        .add_source_string(contracts.lenient.to_owned(), main.lenient.clone());
    if let (Some(schema), Some(passive)) = (&main.passive_at, contracts.passive) {
        builder = builder.add_source_string(passive.to_owned(), schema.clone());
    }
    let mut program: Program<CacheImpl> = builder
        .with_field_path(FieldPath(vec![LocIdent::from(LAB_FIELD)]))
        .build()
        .map_err(|e| match e {
            BuilderError::Io { error, .. } => LoadError::Io(format!("{}: {error}", path.display())),
            other => LoadError::Io(format!("{}: {other}", path.display())),
        })?;

    let value = match program.eval_full_for_export() {
        Ok(value) => value,
        Err(err) => {
            let lab = (text.as_str(), &main);
            let (sources, diags) = diagnostics(&program.files(), err, &naming, lab);
            return Err(LoadError::Nickel(sources, diags));
        }
    };
    let whole_lab = Some(whole_lab);

    let files = program.files();
    let mut walker = Walker {
        files: &files,
        lenient: &main.lenient,
        pos_table: program.pos_table(),
        naming: &naming,
        file_ids: HashMap::new(),
        sources,
        spans: Spans::default(),
        diags: Vec::new(),
        depth: 0,
    };
    let json = walker.walk(&value, whole_lab, None);
    let Walker {
        sources,
        spans,
        diags,
        ..
    } = walker;
    if diags.is_empty() {
        Ok(Loaded {
            value: json,
            spans,
            sources,
        })
    } else {
        Err(LoadError::Diagnostics(sources, diags))
    }
}

/// The program labc evaluates: the lab, imported by its absolute path,
/// under labc's lenient `Lab` contract (`contracts.lenient`, see
/// `schema::nickel_lenient_contracts`): the shape of the schema, bounded in
/// depth, refusing nothing, so that every value the schema does not allow
/// reaches labc's own check, which reports them all at once; and no value
/// deeper than the schema plus two levels is ever built (`subst` recurses
/// once per level, and a recursive Nickel function can build a value of any
/// depth). The lenient contracts are a second source, which Nickel merges
/// with the wrapper's record (hence [`LAB_FIELD`]).
///
/// A lab applies `schemas/lab.ncl`'s `Lab` itself, for the editor. When
/// that file is labc's text (`contracts.strict`), the lenient contracts are
/// registered under its path, so the lab's own `| Lab` is the lenient one
/// too and its strict checks (one error per run, in Nickel's words) are
/// left to the editor. A `schemas/lab.ncl` that is stale or edited is the
/// lab's own business: Nickel applies it as written.
fn wrapper(path: &Path, naming: &Naming, contracts: Contracts) -> Result<Wrapper, LoadError> {
    let utf8 = |p: &Path| {
        p.to_str().map(nickel_string).ok_or_else(|| {
            LoadError::Io(format!(
                "{}: labc needs a UTF-8 path to evaluate a lab.ncl",
                p.display()
            ))
        })
    };
    let lab = naming
        .main_abs
        .clone()
        .unwrap_or_else(|| path.to_path_buf());
    let lab = utf8(&lab)?;
    let dir = naming
        .main_dir_abs
        .clone()
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    let on_disk = dir.join("schemas").join("lab.ncl");
    let labcs = std::fs::read(&on_disk).is_ok_and(|b| b == contracts.strict.as_bytes());
    let passive_at = (labcs && contracts.passive.is_some()).then(|| on_disk.display().to_string());
    let lenient = if labcs && contracts.passive.is_none() {
        on_disk
    } else {
        // A name no file of the lab has: only labc's wrapper imports it.
        dir.join("<labc: lenient contracts>.ncl")
    };
    let import = format!("(import {lab})");
    let prefix = format!("{{ {LAB_FIELD} = ");
    let text = format!("{prefix}{import}\n| (import {}).Lab }}\n", utf8(&lenient)?);
    Ok(Wrapper {
        text,
        import: prefix.len()..prefix.len() + import.len(),
        lenient: lenient.display().to_string(),
        passive_at,
    })
}

/// The program [`wrapper`] builds, where its `(import "<lab>")` is (what
/// Nickel blames on that part is the lab's, and shown on the lab file), and
/// the name of the lenient contracts' source (positions in it are labc's,
/// never shown).
struct Wrapper {
    text: String,
    import: std::ops::Range<usize>,
    lenient: String,
    /// `schemas/lab.ncl`'s path when it is labc's text: the lab's import of
    /// it gets the passive contracts (`Contracts::passive`).
    passive_at: Option<String>,
}

/// `text` as a Nickel string literal.
fn nickel_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '%' => out.push_str("\\%"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Checks that the lab, and every Nickel file it imports by a static path,
/// nests no deeper than [`depth::MAX_DEPTH`]; the error points at the first
/// token past it.
fn bounded_depth(
    naming: &Naming,
    text: &str,
    lab_file: FileId,
    sources: &mut Sources,
) -> Result<(), Box<Diagnostic>> {
    let too_deep = |file, at: depth::TooDeep| {
        Diagnostic::error(
            Code::TooDeep,
            format!("this file nests deeper than {} levels", depth::MAX_DEPTH),
        )
        .at(
            Some(Span {
                file,
                start: at.start,
                end: at.end,
            }),
            "too deep from here on",
        )
        .note(
            "Nickel evaluates a lab with one level of recursion per level of syntax; \
             flatten the data or split the expression with `let`",
        )
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = match depth::scan(text) {
        Ok(scan) => vec![(naming.given_dir.clone(), scan.imports)],
        Err(at) => return Err(Box::new(too_deep(lab_file, at))),
    };
    while let Some((dir, imports)) = todo.pop() {
        for import in imports {
            let path = dir.join(&import);
            // Data formats are parsed by serde, which bounds its own depth.
            let nickel = matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("ncl") | None
            );
            if !nickel || !seen.insert(normalize_path(&path).unwrap_or(path.clone())) {
                continue;
            }
            // Unreadable: Nickel reports it at the import.
            let Ok(imported) = std::fs::read_to_string(&path) else {
                continue;
            };
            match depth::scan(&imported) {
                Ok(scan) => todo.push((
                    path.parent().map(Path::to_path_buf).unwrap_or_default(),
                    scan.imports,
                )),
                Err(at) => {
                    let file = sources.add(path.display().to_string(), imported);
                    return Err(Box::new(too_deep(file, at)));
                }
            }
        }
    }
    Ok(())
}

/// Converts an evaluated value to JSON, recording spans and collecting every
/// value that has no JSON form (so one run reports all of them).
struct Walker<'a> {
    files: &'a NickelFiles,
    /// The lenient contracts' source name: a `null` they put in place of
    /// a value too deep has its position there.
    lenient: &'a str,
    pos_table: &'a PosTable,
    naming: &'a Naming,
    /// Nickel's file ids are only meaningful with Nickel's `Files`; ours
    /// index `sources`, where each file must appear once.
    file_ids: HashMap<NickelFileId, FileId>,
    sources: Sources,
    spans: Spans,
    diags: Vec<Diagnostic>,
    /// How many values enclose the one being converted.
    depth: usize,
}

impl Walker<'_> {
    /// Converts `value`, recording its span and then its children's, in the
    /// order [`Spans`] expects: the record's keys sorted, as they are
    /// inserted into the JSON object.
    fn walk(
        &mut self,
        value: &NickelValue,
        parent: Option<Span>,
        key: Option<Span>,
    ) -> serde_json::Value {
        let span = self.span_of(value).or(parent);
        let node = self.spans.open(span, key);
        self.depth += 1;
        // labc's contract keeps a lab's data within the schema's few levels;
        // this keeps labc's own recursion bounded whatever gets past it.
        let json = if self.depth > super::MAX_DATA_DEPTH {
            self.diags.push(
                Diagnostic::error(
                    Code::TooDeep,
                    format!(
                        "this value nests deeper than {} levels",
                        super::MAX_DATA_DEPTH
                    ),
                )
                .at(span, "too deep"),
            );
            serde_json::Value::Null
        } else {
            self.convert(value, span)
        };
        self.depth -= 1;
        self.spans.close(node);
        json
    }

    fn convert(&mut self, value: &NickelValue, span: Option<Span>) -> serde_json::Value {
        use serde_json::Value as J;
        match value.content_ref() {
            ValueContentRef::Null => J::Null,
            ValueContentRef::Bool(b) => J::Bool(b),
            ValueContentRef::String(s) => J::String(s.to_string()),
            ValueContentRef::Number(n) => match json_number(n) {
                Some(n) => J::Number(n),
                None => {
                    self.diags.push(
                        Diagnostic::error(
                            Code::NumberTooLarge,
                            "this number is too large to be exported",
                        )
                        .at(span, "beyond the range of a 64-bit float"),
                    );
                    J::Null
                }
            },
            ValueContentRef::EnumVariant(EnumVariantData { tag, arg: None }) => {
                J::String(tag.label().to_owned())
            }
            ValueContentRef::Record(Container::Empty) => J::Object(serde_json::Map::new()),
            ValueContentRef::Array(Container::Empty) => J::Array(Vec::new()),
            ValueContentRef::Record(Container::Alloc(record)) => {
                let mut fields = Vec::with_capacity(record.fields.len());
                // What `iter_serializable` yields, with each key's position.
                for (id, field) in &record.fields {
                    let hidden = field.metadata.not_exported();
                    match &field.value {
                        Some(v) if !hidden => fields.push((id.label(), id.pos, v)),
                        // Evaluation for export already rejects these; kept
                        // as a diagnostic so a Nickel change can't panic us.
                        None if !hidden && !field.metadata.opt() => self.diags.push(
                            Diagnostic::error(
                                Code::MissingValue,
                                format!("field `{}` has no value", id.label()),
                            )
                            .at(span, "in this record"),
                        ),
                        _ => {}
                    }
                }
                fields.sort_by(|a, b| a.0.cmp(b.0));
                let mut map = serde_json::Map::with_capacity(fields.len());
                for (key, pos, v) in fields {
                    let key_span = self.raw_span(pos.into_opt());
                    map.insert(key.to_owned(), self.walk(v, span, key_span));
                }
                J::Object(map)
            }
            ValueContentRef::Array(Container::Alloc(array)) => J::Array(
                array
                    .array
                    .iter()
                    .map(|v| self.walk(v, span, None))
                    .collect(),
            ),
            _ => {
                let kind = match value.type_of() {
                    Some("Function") => "a function",
                    Some("EnumVariant") => "an enum variant with an argument",
                    Some("Label") => "a contract label",
                    Some("Type") | Some("CustomContract") => "a contract",
                    _ => "not plain data",
                };
                self.diags.push(
                    Diagnostic::error(Code::NotData, "this value can't be exported")
                        .at(span, format!("this is {kind}"))
                        .note(
                            "a lab holds only records, arrays, strings, numbers, booleans, \
                             null and enum tags without argument",
                        ),
                );
                J::Null
            }
        }
    }

    /// The span of `value` itself, if Nickel kept one outside its stdlib.
    fn span_of(&mut self, value: &NickelValue) -> Option<Span> {
        self.raw_span(value.pos(self.pos_table).into_opt())
    }

    /// A Nickel position as a span of [`Walker::sources`], unless it is in
    /// Nickel's stdlib or in labc's wrapper, which no one can edit.
    fn raw_span(&mut self, raw: Option<RawSpan>) -> Option<Span> {
        let raw = raw?;
        if self.files.is_stdlib(raw.src_id)
            || CsFiles::name(self.files, raw.src_id)
                .is_ok_and(|n| n == WRAPPER || n == self.lenient)
        {
            return None;
        }
        let file = self.file_id(raw.src_id)?;
        Some(Span {
            file,
            start: raw.start.into(),
            end: raw.end.into(),
        })
    }

    fn file_id(&mut self, id: NickelFileId) -> Option<FileId> {
        if let Some(file) = self.file_ids.get(&id) {
            return Some(*file);
        }
        // The trait's accessors, not `Files`' own: those panic on a bad id.
        let name = self.naming.display(&CsFiles::name(self.files, id).ok()?);
        let file = match self.sources.find(&name) {
            Some(file) => file,
            None => {
                let text = CsFiles::source(self.files, id).ok()?;
                self.sources.add(name, text.to_owned())
            }
        };
        self.file_ids.insert(id, file);
        Some(file)
    }
}

/// Integral numbers become JSON integers when they fit, so `70000` is not
/// turned into `70000.0` (or clamped); anything else is the nearest `f64`.
/// `None` when even a float can't hold it.
fn json_number(n: &Number) -> Option<serde_json::Number> {
    if n.is_integer() {
        if let Ok(i) = i64::try_from(n) {
            return Some(i.into());
        }
        if let Ok(u) = u64::try_from(n) {
            return Some(u.into());
        }
    }
    serde_json::Number::from_f64(f64::rounding_from(n, RoundingMode::Nearest).0)
}

/// How files are named for people. Nickel names files by normalised
/// absolute path; a user who typed `labc lab.ncl` expects `lab.ncl` and
/// `schemas/lab.ncl`.
struct Naming {
    given: PathBuf,
    given_dir: PathBuf,
    main_abs: Option<PathBuf>,
    main_dir_abs: Option<PathBuf>,
    cwd: Option<PathBuf>,
}

impl Naming {
    fn new(path: &Path) -> Self {
        // Same normalisation as Nickel's, so the comparisons below match.
        let main_abs = normalize_path(path).ok();
        Naming {
            given: path.to_path_buf(),
            given_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            main_dir_abs: main_abs
                .as_ref()
                .and_then(|p| p.parent())
                .map(Path::to_path_buf),
            main_abs,
            cwd: std::env::current_dir().ok(),
        }
    }

    fn display(&self, nickel_name: &str) -> String {
        let p = Path::new(nickel_name);
        // Stdlib and generated sources have names like `<stdlib/std.ncl>`.
        if !p.is_absolute() {
            return nickel_name.to_owned();
        }
        if Some(p) == self.main_abs.as_deref() {
            return self.given.display().to_string();
        }
        if let Some(rest) = self
            .main_dir_abs
            .as_deref()
            .and_then(|d| p.strip_prefix(d).ok())
        {
            return self.given_dir.join(rest).display().to_string();
        }
        if let Some(rest) = self.cwd.as_deref().and_then(|d| p.strip_prefix(d).ok()) {
            return rest.display().to_string();
        }
        nickel_name.to_owned()
    }
}

/// The schema import every lab starts with, and Nickel's words for an
/// import it could not find.
const SCHEMA_IMPORT: &str = "schemas/lab.ncl";
const NOT_FOUND: &str = "could not find import";

/// Nickel's report of an error, as labc diagnostics: its messages, labels
/// and notes unchanged (what `nickel` itself would print), with file names as
/// the user knows them. Rendering (and colour) is the command line's job.
fn diagnostics(
    files: &NickelFiles,
    err: NickelError,
    naming: &Naming,
    (lab_text, wrapper): (&str, &Wrapper),
) -> (Sources, Vec<Diagnostic>) {
    let code = code_of(&err);
    // Diagnostics may add snippets to the files they refer to.
    let mut files = files.clone();
    let reports = err.into_diagnostics(&mut files);
    // What Nickel blames on the lab as a whole (the import of it in labc's
    // wrapper) is shown on the lab file itself.
    let lab_name = naming
        .main_abs
        .clone()
        .unwrap_or_else(|| naming.given.clone());
    let lab_id = files.add(lab_name.into_os_string(), lab_text);
    let whole_lab = 0..lab_text.trim_end().len();
    let mut sources = Sources::default();
    let mut ids: HashMap<NickelFileId, FileId> = HashMap::new();
    let mut out = Vec::new();
    let in_wrapper = |files: &NickelFiles, id| CsFiles::name(files, id).is_ok_and(|n| n == WRAPPER);
    let on_import = |l: &codespan_reporting::diagnostic::Label<NickelFileId>| {
        wrapper.import.start <= l.range.start && l.range.end <= wrapper.import.end
    };
    let in_lenient = |files: &NickelFiles, id| {
        CsFiles::name(files, id).is_ok_and(|n| n == wrapper.lenient.as_str())
    };
    for mut d in reports {
        // A label on the import itself ("imported here", "applied to this
        // expression") is noise next to a label in a real file; alone, it
        // blames the lab as a whole. The lenient contracts are labc's
        // internals, never shown.
        d.labels.retain(|l| !in_lenient(&files, l.file_id));
        let elsewhere = d.labels.iter().any(|l| !in_wrapper(&files, l.file_id));
        d.labels
            .retain(|l| !(elsewhere && on_import(l) && in_wrapper(&files, l.file_id)));
        for label in &mut d.labels {
            if on_import(label) && in_wrapper(&files, label.file_id) {
                label.file_id = lab_id;
                label.range = whole_lab.clone();
            }
        }
        point_at_extra_field(&files, &mut d);
        drop_generated_labels(&files, &mut d);
        let severity = match d.severity {
            CsSeverity::Bug | CsSeverity::Error => Severity::Error,
            CsSeverity::Warning => Severity::Warning,
            CsSeverity::Note => Severity::Note,
            CsSeverity::Help => Severity::Help,
        };
        // The one import labc writes itself: say how to get it.
        let schema_missing = d.message.contains(SCHEMA_IMPORT) && d.message.contains(NOT_FOUND);
        let mut diag = Diagnostic::new(severity, code, d.message);
        diag.notes = d.notes;
        if schema_missing {
            diag.notes.push(format!(
                "{SCHEMA_IMPORT} is written by labc: run `labc schema` beside the lab (or `labc init` to start a new lab)"
            ));
        }
        for label in d.labels {
            let file = match ids.get(&label.file_id) {
                Some(&f) => f,
                None => {
                    let (Ok(name), Ok(text)) = (
                        CsFiles::name(&files, label.file_id),
                        CsFiles::source(&files, label.file_id),
                    ) else {
                        continue;
                    };
                    let shown = naming.display(&name.to_string());
                    let f = match sources.find(&shown) {
                        Some(f) => f,
                        None => sources.add(shown, text),
                    };
                    ids.insert(label.file_id, f);
                    f
                }
            };
            let span = Span {
                file,
                start: label.range.start,
                end: label.range.end,
            };
            if label.style == LabelStyle::Primary && diag.primary.is_none() {
                diag.primary = Some((span, label.message));
            } else {
                diag.secondary.push((span, label.message));
            }
        }
        out.push(diag);
    }
    if code == Code::NickelSyntax {
        let lab = sources.find(&naming.given.display().to_string());
        let first = out
            .iter()
            .position(|d| d.primary.as_ref().is_some_and(|(s, _)| Some(s.file) == lab));
        if let Some(i) = first
            && syntax_hint(&mut out[i], lab_text, naming)
        {
            // The parser's next complaints on the same line are the same
            // fault seen again (it resumes inside the broken field).
            let line = |d: &Diagnostic| {
                d.primary.as_ref().map(|(s, _)| {
                    let before = lab_text.get(..s.start).unwrap_or(lab_text);
                    (s.file, before.matches('\n').count())
                })
            };
            let hinted = line(&out[i]);
            let mut k = 0;
            out.retain(|d| {
                k += 1;
                k - 1 <= i || line(d) != hinted
            });
        }
    }
    (sources, out)
}

/// Nickel's parser reports where it stopped, which for a missing `,` or an
/// unclosed `{` is after the fault: add a label and a note at the likely
/// place (see `hints.rs`), and name the lab in the message as the user did.
/// Returns whether it added one.
fn syntax_hint(d: &mut Diagnostic, lab_text: &str, naming: &Naming) -> bool {
    if let Some(abs) = &naming.main_abs {
        d.message = d.message.replace(
            &abs.display().to_string(),
            &naming.given.display().to_string(),
        );
    }
    let Some((at, _)) = d.primary.clone() else {
        return false;
    };
    // `file:line:col`, as the report's own positions are written, so a
    // terminal or an editor can jump to it.
    let place = |offset: usize| {
        let before = lab_text.get(..offset).unwrap_or(lab_text);
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("{}:{line}:{col}", naming.given.display())
    };
    if d.message.starts_with("unexpected end of file") {
        if let Some(open) = super::hints::unclosed(lab_text) {
            let span = Span {
                file: at.file,
                start: open,
                end: open + 1,
            };
            d.secondary.push((span, "never closed?".to_string()));
            d.notes.push(format!(
                "Nickel reached the end of the file with a bracket still open: likely the one at {}",
                place(open)
            ));
            return true;
        }
    } else if let Some(end) = super::hints::missing_comma(lab_text, at.start) {
        let span = Span {
            file: at.file,
            start: end - 1,
            end,
        };
        d.secondary
            .push((span, "a `,` missing after this?".to_string()));
        d.notes.push(format!(
            "Nickel stopped at the next field: likely a `,` missing at {}, between two fields",
            place(end)
        ));
        return true;
    }
    false
}

/// The code of a Nickel error: one per kind of Nickel report, for every
/// diagnostic of that report (its notes included).
fn code_of(err: &NickelError) -> Code {
    use nickel_lang_core::error::{EvalErrorKind, ImportErrorKind, TypecheckErrorKind};
    // The lab itself is imported by labc's wrapper: its syntax errors come
    // as errors of an import, which the typechecker may report.
    let import = |e: &ImportErrorKind| match e {
        ImportErrorKind::ParseErrors(..) => Code::NickelSyntax,
        _ => Code::NickelImport,
    };
    match err {
        NickelError::ParseErrors(_) => Code::NickelSyntax,
        NickelError::EvalError(e) if matches!(e.error, EvalErrorKind::BlameError { .. }) => {
            Code::NickelContract
        }
        NickelError::TypecheckError(e) => match e.borrow_error() {
            TypecheckErrorKind::ImportError(i) => import(i),
            _ => Code::NickelType,
        },
        NickelError::ImportError(i) => import(i),
        NickelError::ExportError(_) => Code::NickelExport,
        _ => Code::NickelEval,
    }
}

/// Nickel blames an unknown field on the whole record that holds it (the
/// complaint of nickel#1459). The message names the field, so narrow the
/// record's label to the field's own definition inside it, which is the line
/// the user has to fix.
fn point_at_extra_field(
    files: &NickelFiles,
    d: &mut codespan_reporting::diagnostic::Diagnostic<NickelFileId>,
) {
    let Some(field) = d
        .message
        .lines()
        .chain(d.notes.iter().map(String::as_str))
        .find_map(|l| l.trim().strip_prefix("extra field `"))
        .and_then(|rest| rest.split('`').next())
        .map(str::to_owned)
    else {
        return;
    };
    for label in d.labels.iter_mut().rev() {
        let Ok(source) = CsFiles::source(files, label.file_id) else {
            continue;
        };
        let Some(text) = source.get(label.range.clone()) else {
            continue;
        };
        if let Some(&(offset, len)) = super::key_positions(text, &field).first() {
            let start = label.range.start + offset;
            label.range = start..start + len;
            label.message = format!("`{field}` is not a field here");
            // Nickel then suggests loosening the contract with `..`; labc's
            // contracts are generated and closed on purpose.
            d.notes
                .retain(|n| !n.contains("record contract might also be too strict"));
            return;
        }
    }
}

/// Nickel shows snippets of code it generated while evaluating (`<unknown>
/// (generated by evaluation)`): noise to a user, who cannot edit them. Keep
/// them only when nothing else is left to point at.
fn drop_generated_labels(
    files: &NickelFiles,
    d: &mut codespan_reporting::diagnostic::Diagnostic<NickelFileId>,
) {
    let generated = |id: NickelFileId| {
        CsFiles::name(files, id).is_ok_and(|n| n.to_string().starts_with("<unknown>"))
    };
    if d.labels.iter().any(|l| !generated(l.file_id)) {
        d.labels.retain(|l| !generated(l.file_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::test_support::{assert_every_value_has_a_span, slice};
    use serde_json::json;
    use std::fs;

    const SCHEMA: &str = r#"{
  Host = {
    address | String,
    ssh_port | Number | default = 22,
    labels | Array String | optional,
    role | [| 'k3s_server, 'k3s_agent |],
  },
  Lab = {
    name | String,
    hosts | { _ : Host },
    ports | Array Number | default = [],
    ratio | Number | optional,
    big | Number | optional,
  },
}
"#;

    /// labc's contract in tests of the walker: anything goes.
    const ANY: &str = "{ Lab = Dyn }";

    const LAB: &str = r#"let s = import "schemas/lab.ncl" in
{
  name = std.string.join "-" ["home", "lab"],
  hosts = {
    pi1 = {
      address = "192.168.1.201",
      role = 'k3s_server,
      labels = ["a", "b"],
    },
    pi2 = {
      address = "192.168.1.202",
      role = 'k3s_agent,
    },
  },
  ports = [80, 70000],
  ratio = 1.5,
  big = 1180591620717411303424,
} | s.Lab
"#;

    /// A lab directory with the schema next to `lab.ncl`, as in a real lab.
    fn lab_dir(lab: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir(dir.path().join("schemas")).expect("schemas dir");
        fs::write(dir.path().join("schemas/lab.ncl"), SCHEMA).expect("schema");
        let path = dir.path().join("lab.ncl");
        fs::write(&path, lab).expect("lab");
        (dir, path)
    }

    fn loaded(lab: &str) -> (tempfile::TempDir, PathBuf, Loaded) {
        let (dir, path) = lab_dir(lab);
        match load(
            &path,
            Contracts {
                strict: ANY,
                lenient: ANY,
                passive: None,
            },
        ) {
            Ok(l) => (dir, path, l),
            Err(LoadError::Io(e)) => panic!("{e}"),
            Err(LoadError::Nickel(s, d) | LoadError::Diagnostics(s, d)) => {
                panic!("{}", crate::diag::render(&s, &d, false))
            }
        }
    }

    fn rendered(lab: &str, color: bool) -> (PathBuf, String) {
        let (_dir, path) = lab_dir(lab);
        match load(
            &path,
            Contracts {
                strict: ANY,
                lenient: ANY,
                passive: None,
            },
        ) {
            Err(LoadError::Nickel(s, d)) => (path, crate::diag::render(&s, &d, color)),
            Err(LoadError::Io(e)) => panic!("expected Nickel's error, got I/O: {e}"),
            Err(LoadError::Diagnostics(s, d)) => {
                panic!(
                    "expected Nickel's error, got labc's:\n{}",
                    crate::diag::render(&s, &d, false)
                )
            }
            Ok(l) => panic!("expected an error, got {}", l.value),
        }
    }

    fn diagnostics(lab: &str) -> (Sources, Vec<Diagnostic>) {
        let (_dir, path) = lab_dir(lab);
        match load(
            &path,
            Contracts {
                strict: ANY,
                lenient: ANY,
                passive: None,
            },
        ) {
            Err(LoadError::Diagnostics(s, d)) => (s, d),
            Err(LoadError::Io(e)) => panic!("expected diagnostics, got:\n{e}"),
            Err(LoadError::Nickel(s, d)) => panic!(
                "expected labc's diagnostics, got Nickel's:\n{}",
                crate::diag::render(&s, &d, false)
            ),
            Ok(l) => panic!("expected an error, got {}", l.value),
        }
    }

    #[test]
    fn evaluates_to_json_with_tags_as_strings_and_sorted_keys() {
        let (_dir, _path, l) = loaded(LAB);
        assert_eq!(
            l.value,
            json!({
                "big": 1180591620717411303424.0_f64,
                "hosts": {
                    "pi1": {
                        "address": "192.168.1.201",
                        "labels": ["a", "b"],
                        "role": "k3s_server",
                        "ssh_port": 22,
                    },
                    "pi2": {
                        "address": "192.168.1.202",
                        "role": "k3s_agent",
                        "ssh_port": 22,
                    },
                },
                "name": "home-lab",
                "ports": [80, 70000],
                "ratio": 1.5,
            })
        );
        let keys: Vec<_> = l
            .value
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["big", "hosts", "name", "ports", "ratio"]);
    }

    #[test]
    fn integers_stay_integers_and_are_never_clamped() {
        let (_dir, _path, l) = loaded(LAB);
        assert_eq!(l.value["ports"][1].as_u64(), Some(70000));
        assert!(l.value["hosts"]["pi1"]["ssh_port"].is_i64());
        assert_eq!(l.value["ratio"].as_f64(), Some(1.5));
        // Too large for 64 bits: the nearest float, not u64::MAX.
        assert_eq!(l.value["big"].as_f64(), Some(1180591620717411303424.0));
    }

    #[test]
    fn leaf_spans_slice_to_the_literal() {
        let (_dir, _path, l) = loaded(LAB);
        assert_eq!(slice(&l, "/hosts/pi1/address"), r#""192.168.1.201""#);
        assert_eq!(slice(&l, "/hosts/pi1/role"), "'k3s_server");
        assert_eq!(slice(&l, "/ports/1"), "70000");
        assert_eq!(slice(&l, "/ratio"), "1.5");
        assert_eq!(
            l.sources
                .location(l.own_span("/hosts/pi1/address").unwrap())
                .rsplit_once("lab.ncl:")
                .map(|x| x.1),
            Some("6:17")
        );
    }

    #[test]
    fn arrays_and_their_elements_have_spans() {
        let (_dir, _path, l) = loaded(LAB);
        assert_eq!(slice(&l, "/hosts/pi1/labels"), r#"["a", "b"]"#);
        assert_eq!(slice(&l, "/hosts/pi1/labels/0"), r#""a""#);
        assert_eq!(slice(&l, "/hosts/pi1/labels/1"), r#""b""#);
        assert_eq!(slice(&l, "/ports/0"), "80");
    }

    #[test]
    fn every_value_has_a_span_even_when_built_by_the_stdlib() {
        let (_dir, path, l) = loaded(LAB);
        assert_every_value_has_a_span(&l, &l.value, "");
        // `std.string.join` builds the name: it must point into the lab, not
        // into Nickel's stdlib.
        let name = l.own_span("/name").unwrap();
        assert_eq!(Some(name.file), l.sources.find(&path.display().to_string()));
    }

    #[test]
    fn a_lab_built_by_the_stdlib_is_attributed_to_the_lab_file() {
        let lab = "std.record.map (fun _k v => v) { a = [1], b = { c = 2 } }\n";
        let (_dir, path, l) = loaded(lab);
        assert_every_value_has_a_span(&l, &l.value, "");
        assert_eq!(l.sources.find(&path.display().to_string()), Some(0));
        assert_eq!(slice(&l, ""), lab.trim_end());
        assert!(l.all_spans().iter().all(|s| s.file == 0));
    }

    #[test]
    fn optional_field_without_value_is_absent() {
        let (_dir, _path, l) = loaded(LAB);
        assert!(l.value["hosts"]["pi2"].get("labels").is_none());
        assert!(l.own_span("/hosts/pi2/labels").is_none());
    }

    #[test]
    fn contract_default_points_into_the_imported_schema() {
        let (dir, _path, l) = loaded(LAB);
        let span = l.own_span("/hosts/pi2/ssh_port").unwrap();
        assert_eq!(l.sources.slice(span), "22");
        let schema = dir.path().join("schemas/lab.ncl").display().to_string();
        assert_eq!(l.sources.find(&schema), Some(span.file));
        assert_eq!(l.sources.location(span), format!("{schema}:4:35"));
    }

    #[test]
    fn each_file_is_in_sources_once() {
        let (dir, path, l) = loaded(LAB);
        let lab = path.display().to_string();
        let schema = dir.path().join("schemas/lab.ncl").display().to_string();
        let lab_id = l.sources.find(&lab).expect("lab.ncl in sources");
        assert_eq!(lab_id, 0);
        let schema_id = l.sources.find(&schema).expect("schema in sources");
        let mut files: Vec<_> = l.all_spans().iter().map(|s| s.file).collect();
        files.sort();
        files.dedup();
        let mut expected = vec![lab_id, schema_id];
        expected.sort();
        assert_eq!(files, expected);
    }

    #[test]
    fn syntax_error_is_rendered_by_nickel_with_its_position() {
        let (path, text) = rendered("{\n  name = \"home\",\n  hosts = ,\n}\n", false);
        assert!(
            text.contains(&format!("┌─ {}:3:", path.display())),
            "{text}"
        );
        assert!(!text.contains('\x1b'), "{text}");
    }

    #[test]
    fn contract_violation_is_rendered_by_nickel_with_its_position() {
        let lab = LAB.replace(r#"address = "192.168.1.202""#, "address = 202");
        let (path, text) = rendered(&lab, false);
        assert!(text.contains("contract broken"), "{text}");
        assert!(
            text.contains(&format!("┌─ {}:11:17", path.display())),
            "{text}"
        );
    }

    #[test]
    fn missing_and_unknown_fields_are_rendered() {
        let lab = LAB.replace("      role = 'k3s_agent,\n", "");
        let (_, text) = rendered(&lab, false);
        assert!(text.contains("role"), "{text}");
        let lab = LAB.replace("ratio = 1.5", "ratoi = 1.5");
        let (_, text) = rendered(&lab, false);
        assert!(text.contains("ratoi"), "{text}");
    }

    #[test]
    fn color_is_only_used_when_asked() {
        let (_, text) = rendered("{ name = }", true);
        assert!(text.contains('\x1b'), "{text}");
    }

    #[test]
    fn functions_and_enum_variants_cannot_be_exported() {
        let (sources, diags) = diagnostics("{\n  f = fun x => x,\n  v = 'Some 1,\n}\n");
        assert_eq!(diags.len(), 2, "{diags:?}");
        for d in &diags {
            assert_eq!(d.message, "this value can't be exported");
        }
        let spans: Vec<_> = diags
            .iter()
            .map(|d| d.primary.as_ref().map(|(s, _)| sources.slice(*s)))
            .collect();
        assert_eq!(spans, [Some("fun x => x"), Some("'Some 1")]);
    }

    #[test]
    fn unreadable_file_is_an_io_error_naming_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nope.ncl");
        match load(
            &path,
            Contracts {
                strict: ANY,
                lenient: ANY,
                passive: None,
            },
        ) {
            Err(LoadError::Io(msg)) => assert!(msg.contains(&path.display().to_string()), "{msg}"),
            _ => panic!("expected an I/O error"),
        }
    }

    #[test]
    fn files_are_named_as_the_user_gave_them() {
        let naming = Naming {
            given: PathBuf::from("lab.ncl"),
            given_dir: PathBuf::new(),
            main_abs: Some(PathBuf::from("/home/u/lab/lab.ncl")),
            main_dir_abs: Some(PathBuf::from("/home/u/lab")),
            cwd: Some(PathBuf::from("/home/u/lab")),
        };
        assert_eq!(naming.display("/home/u/lab/lab.ncl"), "lab.ncl");
        assert_eq!(
            naming.display("/home/u/lab/schemas/lab.ncl"),
            "schemas/lab.ncl"
        );
        assert_eq!(naming.display("/elsewhere/x.ncl"), "/elsewhere/x.ncl");
        assert_eq!(naming.display("<stdlib/std.ncl>"), "<stdlib/std.ncl>");

        let naming = Naming {
            given: PathBuf::from("../lab/lab.ncl"),
            given_dir: PathBuf::from("../lab"),
            main_abs: Some(PathBuf::from("/home/u/lab/lab.ncl")),
            main_dir_abs: Some(PathBuf::from("/home/u/lab")),
            cwd: Some(PathBuf::from("/home/u/other")),
        };
        assert_eq!(
            naming.display("/home/u/lab/schemas/lab.ncl"),
            "../lab/schemas/lab.ncl"
        );
        assert_eq!(naming.display("/home/u/other/x.ncl"), "x.ncl");
    }
}
