//! A small HCL document model and a writer whose output `tofu fmt` leaves
//! byte-for-byte unchanged.
//!
//! The OpenTofu emitter builds a [`Body`] (attributes, blocks, blank lines,
//! comments) and turns it into text with [`to_string`]. Nothing here does
//! I/O; the model is plain data.
//!
//! # Invariants of [`to_string`]
//!
//! - The text is a fixed point of `tofu fmt`: running the formatter on it
//!   changes nothing. This holds for every document the model can express,
//!   given the preconditions on [`Expr::Raw`] below.
//! - LF line endings only, no trailing spaces, no tabs outside string escapes.
//! - A non-empty document ends with exactly one `\n`; an empty one is `""`.
//! - Deterministic: the same [`Body`] always gives the same bytes.
//!
//! # What `tofu fmt` does, and how this writer matches it
//!
//! `tofu fmt` (opentofu `internal/command/fmt.go`, `formatSourceCode`) parses
//! the file with `hclwrite.ParseConfig`, normalises a few expressions (see
//! below) and writes it back with `hclwrite.File.Bytes`, which runs
//! `format` from hashicorp/hcl `hclwrite/format.go`. That pass only changes
//! the spaces *before* tokens; it never adds or removes newlines, commas or
//! other tokens. So the writer is free to choose line breaks, and must get
//! the spacing exactly right for the lines it chose:
//!
//! - **Lines and cells** (`linesForFormat`): text is split into lines at
//!   newline tokens. A line whose first `=` (not the first token) is followed
//!   by a bracket-balanced rest of line gets an "assign" cell starting at the
//!   `=`. So `name = "x"` and `name = ["a"]` have one; `name = [` (value
//!   continues below), `block {`, `}`, a blank line and a comment-only line
//!   do not.
//! - **Indentation** (`formatIndent`): two spaces per level, where a line with
//!   a net surplus of opening brackets (`{ [ (`, `${`, `%{`) opens one level
//!   and a line with a net surplus of closers closes it. The writer indents
//!   the contents of blocks, multi-line lists and multi-line objects by one
//!   level and puts the closer on its own line, which is exactly that.
//! - **Spaces between tokens** (`formatSpaces`, `spaceAfterToken`): one space
//!   around `=`; one after `,` and none before it; none inside `[`…`]` and
//!   none after `[` or before `]`; one after `{` and before `}` except in the
//!   empty `{}`; none between a unary minus and its number (`-1`,
//!   `[1, -2]`); none around `.` or between a function name and `(`; none
//!   inside quoted strings; one between a block type and its labels and
//!   before the block's `{`. The writer emits exactly these.
//! - **Alignment** (`formatCells`): the `=` of consecutive lines that have an
//!   assign cell is padded so all of them line up one column after the
//!   longest lead; width is counted in grapheme clusters (`Tokens.Columns`,
//!   `hclwrite/tokens.go`). Any line without an assign cell ends the group: a
//!   blank line, a comment line, a block's opening or closing line, an empty
//!   block `x {}`, and the first and last line of an attribute whose value
//!   spans several lines (which itself gets a single space before its `=`).
//!   Object items are lines like any other, so they align the same way.
//!   Trailing comments also align (the "comment" cell); this model has only
//!   whole-line comments, so that rule never applies.
//! - **Label normalisation** (`formatBody` calls `Block.SetLabels`, which
//!   re-encodes each label with `TokensForValue` →
//!   `escapeQuotedStringLit` in `hclwrite/generate.go`): labels are always
//!   quoted and escaped the way hclwrite escapes. Every string here uses
//!   that same escaping: `\n \r \t \" \\`, `${`→`$${`, `%{`→`%%{`, and
//!   characters Go's `unicode.IsPrint` rejects as `\uXXXX`/`\UXXXXXXXX`
//!   (lower-case hex).
//! - **Expression normalisation** (fmt.go `formatValueExpr`,
//!   `formatTypeExpr`): an attribute value that is a lone interpolation
//!   `"${x}"` is unwrapped to `x`, and inside a top-level `variable` block the
//!   `type` attribute is rewritten (`list`/`map`/`set` → `list(any)`…,
//!   `"string"` → `string`, `"list"` → `list(string)`, `"map"` →
//!   `map(string)`). [`Expr::Str`] never produces an interpolation; the
//!   `type` rewrite is applied by this writer so its output already has it.
//!
//! # Layout choices (all stable under the rules above)
//!
//! - Blocks are `type "label" "label" {`, body, `}`; a block with an empty
//!   body is written `type "label" {}`.
//! - Lists are written on one line, `["a", "b"]`, unless an element spans
//!   several lines (a non-empty object) or the one-line form is longer than
//!   [`MAX_INLINE_LIST_WIDTH`]; then one element per line, each followed by
//!   a comma, closer on its own line.
//! - Non-empty objects are always one item per line without commas (as
//!   hclwrite's `TokensForValue` writes them); keys are bare identifiers
//!   when [`is_identifier`] holds and they are not `true`/`false`/`null`/
//!   `for` (which HCL would read as a keyword), otherwise quoted.
//! - Blank lines: runs of [`Item::Blank`] collapse to one, and blanks at the
//!   start or end of a body are dropped. The formatter would keep them; the
//!   writer just refuses to produce untidy output.
//! - Quoted object keys additionally escape every non-ASCII character outside
//!   a few scripts known to be one grapheme cluster per character (Latin,
//!   Greek, Cyrillic, kana, CJK ideographs, Hangul syllables). Key width
//!   decides `=` alignment and this module has no grapheme segmentation, so
//!   escaping combining marks, emoji sequences and the like keeps the count
//!   exact. Values need no such care: nothing after `=` is aligned.
//!
//! # Preconditions (the caller's side of the contract)
//!
//! - Attribute names and block types satisfy [`is_identifier`] (checked,
//!   panics otherwise). Map user-supplied names with [`identifier`] or
//!   [`resource_name`]; both may map different names to the same result, so
//!   callers must check for collisions.
//! - [`Expr::Raw`] is written verbatim (surrounding whitespace trimmed): it
//!   must be one line, already spaced the way `spaceAfterToken` spaces it
//!   (`var.x`, `file("a")`, `a == b ? 1 : 2`, `list(string)`), and not a lone
//!   interpolation `"${x}"` (write `x` instead). Debug builds check the
//!   first and last.
//! - Go's `unicode.IsPrint` rejects unassigned code points; this module does
//!   not carry Unicode tables and passes them through. A *block label*
//!   containing an unassigned code point would therefore be re-escaped by
//!   `tofu fmt`; no other position is affected.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Longest one-line rendering of a list (the `[...]` text alone, without the
/// attribute name or indentation) before it is broken one element per line.
pub const MAX_INLINE_LIST_WIDTH: usize = 80;

const INDENT: &str = "  ";

/// A sequence of attributes, blocks, blank lines and comments: a whole file
/// or the inside of a block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Body<'a> {
    pub items: Vec<Item<'a>>,
}

/// Text in the model: an attribute name, block type, label, comment or
/// string. Borrowed from the lab model or labc's own literals wherever it
/// can be; a large lab's OpenTofu files hold ~100,000 of them.
pub type Text<'a> = Cow<'a, str>;

/// One entry of a [`Body`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    /// `name = value`; `name` must satisfy [`is_identifier`].
    Attribute(Text<'a>, Expr<'a>),
    Block(Block<'a>),
    /// An empty line (consecutive blanks collapse to one).
    Blank,
    /// A `#` comment; the text excludes the `#`. Each line of a multi-line
    /// text becomes its own `# ` line.
    Comment(Text<'a>),
}

/// `kind "label" "label" { body }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block<'a> {
    /// The block type; must satisfy [`is_identifier`].
    pub kind: Text<'a>,
    /// Written quoted and escaped, whatever they contain.
    pub labels: Vec<Text<'a>>,
    pub body: Body<'a>,
}

/// An attribute value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr<'a> {
    /// A quoted string; the writer escapes it so the value reads back
    /// exactly, with no interpolation.
    Str(Text<'a>),
    /// Written verbatim: traversals, function calls, type expressions. See
    /// the module preconditions.
    Raw(Text<'a>),
    Number(i64),
    Bool(bool),
    Null,
    List(Vec<Expr<'a>>),
    /// Keys in order; written bare when they are identifiers, else quoted.
    Object(Vec<(Text<'a>, Expr<'a>)>),
}

impl<'a> Body<'a> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn push(&mut self, item: Item<'a>) {
        self.items.push(item);
    }

    pub fn item(mut self, item: Item<'a>) -> Self {
        self.items.push(item);
        self
    }

    pub fn attr(self, name: impl Into<Text<'a>>, value: impl Into<Expr<'a>>) -> Self {
        self.item(Item::Attribute(name.into(), value.into()))
    }

    pub fn block(self, block: Block<'a>) -> Self {
        self.item(Item::Block(block))
    }

    pub fn blank(self) -> Self {
        self.item(Item::Blank)
    }

    pub fn comment(self, text: impl Into<Text<'a>>) -> Self {
        self.item(Item::Comment(text.into()))
    }
}

impl<'a> Extend<Item<'a>> for Body<'a> {
    fn extend<I: IntoIterator<Item = Item<'a>>>(&mut self, iter: I) {
        self.items.extend(iter);
    }
}

impl<'a> FromIterator<Item<'a>> for Body<'a> {
    fn from_iter<I: IntoIterator<Item = Item<'a>>>(iter: I) -> Self {
        Self {
            items: iter.into_iter().collect(),
        }
    }
}

impl<'a> Block<'a> {
    /// `Block::new("resource", ["postgresql_role", "webapp"])`; pass
    /// `[] as [&str; 0]` (or `Block::unlabeled`) for no labels.
    pub fn new<L, S>(kind: impl Into<Text<'a>>, labels: L) -> Self
    where
        L: IntoIterator<Item = S>,
        S: Into<Text<'a>>,
    {
        Self {
            kind: kind.into(),
            labels: labels.into_iter().map(Into::into).collect(),
            body: Body::new(),
        }
    }

    pub fn unlabeled(kind: impl Into<Text<'a>>) -> Self {
        Self::new(kind, [] as [&str; 0])
    }

    pub fn with_body(mut self, body: Body<'a>) -> Self {
        self.body = body;
        self
    }

    pub fn item(mut self, item: Item<'a>) -> Self {
        self.body.items.push(item);
        self
    }

    pub fn attr(self, name: impl Into<Text<'a>>, value: impl Into<Expr<'a>>) -> Self {
        self.item(Item::Attribute(name.into(), value.into()))
    }

    pub fn block(self, block: Block<'a>) -> Self {
        self.item(Item::Block(block))
    }

    pub fn blank(self) -> Self {
        self.item(Item::Blank)
    }

    pub fn comment(self, text: impl Into<Text<'a>>) -> Self {
        self.item(Item::Comment(text.into()))
    }
}

impl<'a> Expr<'a> {
    pub fn str(s: impl Into<Text<'a>>) -> Self {
        Self::Str(s.into())
    }

    pub fn raw(s: impl Into<Text<'a>>) -> Self {
        Self::Raw(s.into())
    }

    /// A reference such as `postgresql_role.webapp.name` from its parts;
    /// each part should satisfy [`is_identifier`] (checked in debug builds).
    pub fn traversal<I, S>(parts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = String::new();
        for (i, part) in parts.into_iter().enumerate() {
            let part = part.as_ref();
            debug_assert!(is_identifier(part), "traversal step {part:?}");
            if i > 0 {
                out.push('.');
            }
            out.push_str(part);
        }
        Self::Raw(out.into())
    }

    pub fn list<I, E>(items: I) -> Self
    where
        I: IntoIterator<Item = E>,
        E: Into<Expr<'a>>,
    {
        Self::List(items.into_iter().map(Into::into).collect())
    }

    pub fn object<I, K, V>(entries: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<Text<'a>>,
        V: Into<Expr<'a>>,
    {
        Self::Object(
            entries
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// Plain strings become quoted [`Expr::Str`] values, never raw expressions.
impl<'a> From<&'a str> for Expr<'a> {
    fn from(s: &'a str) -> Self {
        Self::Str(Cow::Borrowed(s))
    }
}

impl<'a> From<String> for Expr<'a> {
    fn from(s: String) -> Self {
        Self::Str(Cow::Owned(s))
    }
}

impl<'a> From<&'a String> for Expr<'a> {
    fn from(s: &'a String) -> Self {
        Self::Str(Cow::Borrowed(s))
    }
}

impl From<i64> for Expr<'_> {
    fn from(n: i64) -> Self {
        Self::Number(n)
    }
}

impl From<i32> for Expr<'_> {
    fn from(n: i32) -> Self {
        Self::Number(n.into())
    }
}

impl From<u32> for Expr<'_> {
    fn from(n: u32) -> Self {
        Self::Number(n.into())
    }
}

impl From<u16> for Expr<'_> {
    fn from(n: u16) -> Self {
        Self::Number(n.into())
    }
}

impl From<bool> for Expr<'_> {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl<'a> From<Vec<Expr<'a>>> for Expr<'a> {
    fn from(items: Vec<Expr<'a>>) -> Self {
        Self::List(items)
    }
}

/// Whether `s` is an HCL identifier, restricted to ASCII:
/// `[A-Za-z_][A-Za-z0-9_-]*`. (HCL itself accepts Unicode ID_Start /
/// ID_Continue; staying ASCII keeps generated names portable.)
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Maps any name to an identifier: characters outside `[A-Za-z0-9_-]`
/// become `_`, and `_` is prepended when the result would not start with a
/// letter or `_` (including the empty name). Already-valid names are
/// unchanged (`dance-lessons-coach` stays). Distinct names can collide
/// (`a.b`, `a b`); callers must check.
pub fn identifier(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    if !name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
    {
        out.push('_');
    }
    out.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            c
        } else {
            '_'
        }
    }));
    out
}

/// Maps a name to a resource name made only of `[A-Za-z0-9_]`: every other
/// character (including `-`, which is legal but must be written around in
/// some expressions) becomes `_`, and `_` is prepended when the name starts
/// with a digit or is empty. `dance-lessons-coach` → `dance_lessons_coach`.
/// Distinct names can collide (`a-b`, `a_b`); callers must check.
pub fn resource_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 1);
    if name.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        out.push('_');
    }
    out.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    out
}

/// Renders `body` as a file `tofu fmt` leaves unchanged (see the module doc
/// for the rules). Panics if an attribute name or block type is not an
/// identifier.
pub fn to_string(body: &Body<'_>) -> String {
    write_after(String::new(), body)
}

/// [`to_string`], appended to `out` (a file's header, say) without a copy.
pub fn write_after(out: String, body: &Body<'_>) -> String {
    let mut w = Writer {
        out,
        spare_texts: Vec::new(),
        spare_ranges: Vec::new(),
    };
    w.body(body, 0, &mut Vec::new());
    w.out
}

/// One output line's worth of model, as [`Writer::lines`] sees it. Object
/// items and body items share it so both align by the same rule.
enum Line<'a, 'x> {
    Assign {
        key: Cow<'a, str>,
        value: Cow<'a, Expr<'x>>,
    },
    Blank,
    Comment(&'a str),
    Block(&'a Block<'x>),
}

struct Writer {
    out: String,
    /// Buffers [`Writer::lines`] reuses, one per nesting level in use: a
    /// large lab has thousands of blocks, each a body of its own.
    spare_texts: Vec<String>,
    spare_ranges: Vec<Vec<Option<std::ops::Range<usize>>>>,
}

/// Columns `s` takes, as hclwrite counts them (ASCII: its length).
pub(super) fn width(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

impl Writer {
    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str(INDENT);
        }
    }

    fn body<'a, 'x>(&mut self, body: &'a Body<'x>, depth: usize, path: &mut Vec<&'a str>) {
        let in_variable = path.len() == 1 && path[0] == "variable";
        let lines: Vec<Line<'a, 'x>> = tidy(&body.items)
            .map(|item| match item {
                Item::Attribute(name, value) => {
                    assert!(
                        is_identifier(name),
                        "HCL attribute name {name:?} is not an identifier"
                    );
                    let value = match in_variable && name == "type" {
                        true => type_expr(value).map_or(Cow::Borrowed(value), Cow::Owned),
                        false => Cow::Borrowed(value),
                    };
                    Line::Assign {
                        key: Cow::Borrowed(name.as_ref()),
                        value,
                    }
                }
                Item::Block(block) => Line::Block(block),
                Item::Blank => Line::Blank,
                Item::Comment(text) => Line::Comment(text),
            })
            .collect();
        self.lines(&lines, depth, path);
    }

    /// Writes each line at `depth`, aligning the `=` of every maximal run of
    /// one-line assignments (`formatCells` in format.go).
    fn lines<'a, 'x>(&mut self, lines: &[Line<'a, 'x>], depth: usize, path: &mut Vec<&'a str>) {
        // The one-line renderings, end to end in one buffer (one allocation
        // for the whole body rather than one per line).
        let mut texts = self.spare_texts.pop().unwrap_or_default();
        texts.clear();
        let mut inline = self.spare_ranges.pop().unwrap_or_default();
        inline.clear();
        inline.extend(lines.iter().map(|line| match line {
            Line::Assign { value, .. } => {
                let start = texts.len();
                let fits = inline_into(&mut texts, value);
                fits.then_some(start..texts.len())
            }
            _ => None,
        }));
        let mut group_width = 0;
        for (i, line) in lines.iter().enumerate() {
            match line {
                Line::Assign { key, value } => {
                    self.indent(depth);
                    self.out.push_str(key);
                    match &inline[i] {
                        Some(text) => {
                            if i == 0 || inline[i - 1].is_none() {
                                group_width = (i..lines.len())
                                    .take_while(|&j| inline[j].is_some())
                                    .map(|j| match &lines[j] {
                                        Line::Assign { key, .. } => width(key),
                                        _ => unreachable!("only assignments render inline"),
                                    })
                                    .max()
                                    .unwrap_or(0);
                            }
                            let pad = group_width - width(key);
                            for _ in 0..pad {
                                self.out.push(' ');
                            }
                            self.out.push_str(" = ");
                            self.out.push_str(&texts[text.clone()]);
                        }
                        None => {
                            self.out.push_str(" = ");
                            self.multiline(value, depth);
                        }
                    }
                    self.out.push('\n');
                }
                Line::Blank => self.out.push('\n'),
                Line::Comment(text) => self.comment(text, depth),
                Line::Block(block) => self.block(block, depth, path),
            }
        }
        self.spare_texts.push(texts);
        self.spare_ranges.push(inline);
    }

    fn comment(&mut self, text: &str, depth: usize) {
        for line in text.split('\n') {
            // Control characters (a stray `\r`, say) would end or corrupt
            // the comment token; they carry no meaning in a comment.
            let line: Cow<'_, str> = if line.chars().any(char::is_control) {
                line.chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect::<String>()
                    .into()
            } else {
                line.into()
            };
            let line = line.trim_end();
            self.indent(depth);
            self.out.push('#');
            if !line.is_empty() {
                self.out.push(' ');
                self.out.push_str(line);
            }
            self.out.push('\n');
        }
    }

    fn block<'a, 'x>(&mut self, block: &'a Block<'x>, depth: usize, path: &mut Vec<&'a str>) {
        assert!(
            is_identifier(&block.kind),
            "HCL block type {:?} is not an identifier",
            block.kind
        );
        self.indent(depth);
        self.out.push_str(&block.kind);
        for label in &block.labels {
            self.out.push(' ');
            quote_into(&mut self.out, label, false);
        }
        if tidy(&block.body.items).next().is_none() {
            self.out.push_str(" {}\n");
            return;
        }
        self.out.push_str(" {\n");
        path.push(&block.kind);
        self.body(&block.body, depth + 1, path);
        path.pop();
        self.indent(depth);
        self.out.push_str("}\n");
    }

    /// Writes a value that does not fit on one line, starting at the current
    /// position of a line indented `depth` levels and ending after its
    /// closing bracket.
    fn multiline(&mut self, expr: &Expr<'_>, depth: usize) {
        match expr {
            Expr::List(items) => {
                self.out.push_str("[\n");
                for item in items {
                    self.indent(depth + 1);
                    if !inline_into(&mut self.out, item) {
                        self.multiline(item, depth + 1);
                    }
                    self.out.push_str(",\n");
                }
                self.indent(depth);
                self.out.push(']');
            }
            Expr::Object(entries) => {
                self.out.push_str("{\n");
                let lines: Vec<Line<'_, '_>> = entries
                    .iter()
                    .map(|(key, value)| Line::Assign {
                        key: Cow::Owned(object_key(key)),
                        value: Cow::Borrowed(value),
                    })
                    .collect();
                self.lines(&lines, depth + 1, &mut Vec::new());
                self.indent(depth);
                self.out.push('}');
            }
            _ => unreachable!("scalars always render inline"),
        }
    }
}

/// Drops blanks at both ends and collapses runs of blanks.
fn tidy<'a, 'x>(items: &'a [Item<'x>]) -> impl Iterator<Item = &'a Item<'x>> {
    let start = items
        .iter()
        .position(|i| *i != Item::Blank)
        .unwrap_or(items.len());
    let end = items
        .iter()
        .rposition(|i| *i != Item::Blank)
        .map_or(start, |p| p + 1);
    items[start..end]
        .iter()
        .enumerate()
        .filter(move |&(k, item)| {
            !(*item == Item::Blank && k > 0 && items[start + k - 1] == Item::Blank)
        })
        .map(|(_, item)| item)
}

/// Appends the one-line rendering of `expr` to `out` and returns true, or
/// returns false (with `out` as it was) when it spans several lines.
fn inline_into(out: &mut String, expr: &Expr<'_>) -> bool {
    match expr {
        Expr::Str(s) => quote_into(out, s, false),
        Expr::Raw(raw) => {
            let raw = raw.trim();
            debug_assert!(
                !raw.is_empty() && !raw.contains('\n'),
                "Expr::Raw must be one non-empty line: {raw:?}"
            );
            debug_assert!(
                !is_lone_interpolation(raw),
                "tofu fmt unwraps {raw:?}; write the inner expression instead"
            );
            out.push_str(raw);
        }
        Expr::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Expr::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Expr::Null => out.push_str("null"),
        Expr::Object(entries) if entries.is_empty() => out.push_str("{}"),
        Expr::Object(_) => return false,
        Expr::List(items) => {
            let start = out.len();
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if !inline_into(out, item) {
                    out.truncate(start);
                    return false;
                }
            }
            out.push(']');
            if out[start..].chars().count() > MAX_INLINE_LIST_WIDTH {
                out.truncate(start);
                return false;
            }
        }
    }
    true
}

/// The obvious shape of what fmt.go `formatValueExpr` unwraps; it only
/// backs a debug assertion, so a rough test is enough.
fn is_lone_interpolation(raw: &str) -> bool {
    raw.len() >= 5
        && raw.starts_with("\"${")
        && raw.ends_with("}\"")
        && !raw[3..raw.len() - 2].contains(['"', '$', '%'])
}

/// fmt.go `formatTypeExpr`, applied to the `type` of a top-level `variable`
/// block: the rewrites `tofu fmt` would make, or `None` if it keeps it.
fn type_expr<'x>(expr: &Expr<'x>) -> Option<Expr<'x>> {
    match expr {
        Expr::Raw(raw) => match raw.trim() {
            kind @ ("list" | "map" | "set") => Some(Expr::Raw(format!("{kind}(any)").into())),
            _ => None,
        },
        Expr::Str(s) => match s.as_ref() {
            "string" => Some(Expr::raw("string")),
            "list" => Some(Expr::raw("list(string)")),
            "map" => Some(Expr::raw("map(string)")),
            _ => None,
        },
        _ => None,
    }
}

/// An object key as written: bare if it is an identifier HCL would not read
/// as a keyword (`{ null = 1 }` is a null key, `{ for = 1 }` a for
/// expression), else quoted.
fn object_key(key: &str) -> String {
    if is_identifier(key) && !matches!(key, "true" | "false" | "null" | "for") {
        key.to_owned()
    } else {
        let mut out = String::with_capacity(key.len() + 2);
        quote_into(&mut out, key, true);
        out
    }
}

/// Appends `s` as a quoted HCL string, escaped as hclwrite's
/// `escapeQuotedStringLit` does (generate.go). With `key`, also escapes
/// non-ASCII characters that might join a neighbour into one grapheme
/// cluster, so `chars().count()` equals hclwrite's column count.
fn quote_into(out: &mut String, s: &str, key: bool) {
    out.push('"');
    // Fast path: printable ASCII with nothing to escape.
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && !matches!(b, b'"' | b'\\' | b'$' | b'%'))
    {
        out.push_str(s);
        out.push('"');
        return;
    }
    for (i, c) in s.char_indices() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '$' | '%' => {
                out.push(c);
                if s[i + 1..].starts_with('{') {
                    out.push(c);
                }
            }
            // Printable ASCII is the common case: skip the Unicode checks.
            c if c.is_ascii_graphic() || c == ' ' => out.push(c),
            c if !go_is_print(c) || (key && !one_cluster_per_char(c)) => {
                let code = u32::from(c);
                // Infallible: writing to a String.
                let _ = if code < 0x1_0000 {
                    write!(out, "\\u{code:04x}")
                } else {
                    write!(out, "\\U{code:08x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Go's `unicode.IsPrint`: categories L, M, N, P, S and the ASCII space;
/// i.e. not a control (Cc), separator (Z*), format (Cf) or private-use (Co)
/// character, nor a noncharacter. Unassigned code points (Cn) are not
/// detected (no Unicode tables here); see the module preconditions.
fn go_is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    // White_Space is exactly Cc whitespace plus every Z* character.
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = u32::from(c);
    let format = matches!(
        u,
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    );
    let private_use = matches!(u, 0xE000..=0xF8FF | 0xF_0000..=0xF_FFFD | 0x10_0000..=0x10_FFFD);
    let noncharacter = matches!(u, 0xFDD0..=0xFDEF) || (u & 0xFFFE) == 0xFFFE;
    !(format || private_use || noncharacter)
}

/// Characters that are always a grapheme cluster of their own, next to any
/// other such character: ASCII (CR is escaped before this is asked) and
/// letter blocks without combining marks. Hangul syllables are safe because
/// the jamo that would extend them are not in the set.
fn one_cluster_per_char(c: char) -> bool {
    c.is_ascii()
        || matches!(
            u32::from(c),
            0x00A1..=0x024F
                | 0x0370..=0x03FF
                | 0x0400..=0x0482
                | 0x048A..=0x052F
                | 0x3041..=0x3096
                | 0x30A1..=0x30FA
                | 0x4E00..=0x9FFF
                | 0xAC00..=0xD7A3
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transliteration of hashicorp/hcl `hclwrite/format.go` (`format`,
    /// `linesForFormat`, `formatIndent`, `formatSpaces`, `formatCells`,
    /// `spaceAfterToken`) over a lexer for the token kinds this writer can
    /// emit. It re-derives every token's leading spaces from scratch, so
    /// `fmt(x) == x` checks the writer against the formatter's rules rather
    /// than against itself.
    mod fmt {
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Ty {
            Nil,
            Newline,
            Comment,
            Ident,
            Number,
            OQuote,
            QuotedLit,
            CQuote,
            OBrace,
            CBrace,
            OBrack,
            CBrack,
            OParen,
            CParen,
            Comma,
            Dot,
            Equal,
            Minus,
            Colon,
            DoubleColon,
            Question,
            Bang,
            /// The operators after which fmt reads `-` as negation.
            Op,
            FatArrow,
        }

        #[derive(Clone, Debug)]
        struct Tok {
            ty: Ty,
            text: String,
            spaces: usize,
        }

        const NIL: Tok = Tok {
            ty: Ty::Nil,
            text: String::new(),
            spaces: 0,
        };

        fn lex(src: &str) -> Vec<Tok> {
            let cs: Vec<char> = src.chars().collect();
            let mut toks = Vec::new();
            let mut i = 0;
            let push = |toks: &mut Vec<Tok>, ty, text: String| {
                toks.push(Tok {
                    ty,
                    text,
                    spaces: 0,
                })
            };
            while i < cs.len() {
                let c = cs[i];
                let start = i;
                match c {
                    ' ' => i += 1,
                    '\n' => {
                        push(&mut toks, Ty::Newline, "\n".into());
                        i += 1;
                    }
                    '#' => {
                        while i < cs.len() && cs[i] != '\n' {
                            i += 1;
                        }
                        i = (i + 1).min(cs.len());
                        push(&mut toks, Ty::Comment, cs[start..i].iter().collect());
                    }
                    '"' => {
                        push(&mut toks, Ty::OQuote, "\"".into());
                        i += 1;
                        let lit = i;
                        while cs[i] != '"' {
                            assert!(cs[i] != '\n', "newline in string");
                            // scan_tokens.rl: `$${`/`%%{` are escapes, a `$`
                            // or `%` before anything but `{` is literal.
                            i += match (cs[i], cs[i + 1], cs.get(i + 2)) {
                                ('\\', _, _) => 2,
                                ('$', '$', Some('{')) | ('%', '%', Some('{')) => 3,
                                ('$' | '%', '{', _) => panic!("template sequence at {i}"),
                                _ => 1,
                            };
                        }
                        if i > lit {
                            push(&mut toks, Ty::QuotedLit, cs[lit..i].iter().collect());
                        }
                        push(&mut toks, Ty::CQuote, "\"".into());
                        i += 1;
                    }
                    c if c.is_alphabetic() || c == '_' => {
                        while i < cs.len()
                            && (cs[i].is_alphanumeric() || cs[i] == '_' || cs[i] == '-')
                        {
                            i += 1;
                        }
                        push(&mut toks, Ty::Ident, cs[start..i].iter().collect());
                    }
                    c if c.is_ascii_digit() => {
                        while i < cs.len() && cs[i].is_ascii_digit() {
                            i += 1;
                        }
                        push(&mut toks, Ty::Number, cs[start..i].iter().collect());
                    }
                    _ => {
                        let two: String = cs[i..(i + 2).min(cs.len())].iter().collect();
                        let (ty, len) = match (c, two.as_str()) {
                            (_, "==" | "!=" | "<=" | ">=" | "&&" | "||") => (Ty::Op, 2),
                            (_, "=>") => (Ty::FatArrow, 2),
                            (_, "::") => (Ty::DoubleColon, 2),
                            ('{', _) => (Ty::OBrace, 1),
                            ('}', _) => (Ty::CBrace, 1),
                            ('[', _) => (Ty::OBrack, 1),
                            (']', _) => (Ty::CBrack, 1),
                            ('(', _) => (Ty::OParen, 1),
                            (')', _) => (Ty::CParen, 1),
                            (',', _) => (Ty::Comma, 1),
                            ('.', _) => (Ty::Dot, 1),
                            ('=', _) => (Ty::Equal, 1),
                            ('-', _) => (Ty::Minus, 1),
                            (':', _) => (Ty::Colon, 1),
                            ('?', _) => (Ty::Question, 1),
                            ('!', _) => (Ty::Bang, 1),
                            ('+' | '*' | '/' | '%' | '<' | '>', _) => (Ty::Op, 1),
                            _ => panic!("test lexer: unexpected {c:?} at {i}"),
                        };
                        i += len;
                        push(&mut toks, ty, cs[start..i].iter().collect());
                    }
                }
            }
            toks
        }

        fn bracket_change(t: &Tok) -> i32 {
            match t.ty {
                Ty::OBrace | Ty::OBrack | Ty::OParen => 1,
                Ty::CBrace | Ty::CBrack | Ty::CParen => -1,
                _ => 0,
            }
        }

        fn space_after(subject: &Tok, before: &Tok, after: &Tok) -> bool {
            use Ty::*;
            let (s, a) = (subject.ty, after.ty);
            if a == Newline || a == Nil {
                return false;
            }
            if s == Ident && a == OParen {
                return false;
            }
            if (s == Ident && a == DoubleColon) || (s == DoubleColon && a == Ident) {
                return false;
            }
            if s == Dot || a == Dot {
                return false;
            }
            if a == Comma {
                return false;
            }
            if s == Comma {
                return true;
            }
            if s == QuotedLit || s == OQuote || a == QuotedLit || a == CQuote {
                return false;
            }
            if s == Ident && subject.text == "in" && before.ty == Ident {
                return true;
            }
            if a == OBrack && (s == Ident || s == Number || bracket_change(subject) < 0) {
                return false;
            }
            if s == Bang {
                return false;
            }
            if s == Minus {
                return !matches!(
                    before.ty,
                    Nil | OParen
                        | OBrace
                        | OBrack
                        | Equal
                        | Colon
                        | Comma
                        | Question
                        | Minus
                        | Op
                        | Bang
                );
            }
            if s == OBrace || a == CBrace {
                return !(s == OBrace && a == CBrace);
            }
            if bracket_change(subject) > 0 {
                return false;
            }
            if bracket_change(after) < 0 {
                return false;
            }
            true
        }

        #[derive(Default)]
        struct Line {
            lead: Vec<usize>,
            assign: Vec<usize>,
        }

        fn columns(toks: &[Tok], cell: &[usize]) -> usize {
            cell.iter()
                .map(|&i| toks[i].spaces + toks[i].text.chars().count())
                .sum()
        }

        pub fn format(src: &str) -> String {
            let mut toks = lex(src);
            // linesForFormat
            let mut lines: Vec<Line> = vec![Line::default()];
            for (i, t) in toks.iter().enumerate() {
                lines.last_mut().unwrap().lead.push(i);
                if t.ty == Ty::Newline || (t.ty == Ty::Comment && t.text.ends_with('\n')) {
                    lines.push(Line::default());
                }
            }
            for line in &mut lines {
                assert!(
                    !(line.lead.len() > 1 && toks[*line.lead.last().unwrap()].ty == Ty::Comment),
                    "trailing comments are not modelled"
                );
                if let Some(pos) =
                    (1..line.lead.len()).find(|&k| toks[line.lead[k]].ty == Ty::Equal)
                {
                    let net: i32 = line.lead[pos..]
                        .iter()
                        .map(|&k| bracket_change(&toks[k]))
                        .sum();
                    if net == 0 {
                        line.assign = line.lead.split_off(pos);
                    }
                }
            }
            // formatIndent
            let mut indents: Vec<i32> = Vec::new();
            for line in &lines {
                let Some(&first) = line.lead.first() else {
                    continue;
                };
                if toks[first].ty == Ty::Newline {
                    toks[first].spaces = 0;
                    continue;
                }
                let net: i32 = line
                    .lead
                    .iter()
                    .chain(&line.assign)
                    .map(|&k| bracket_change(&toks[k]))
                    .sum();
                if net > 0 {
                    toks[first].spaces = 2 * indents.len();
                    indents.push(net);
                } else {
                    let mut closed = -net;
                    while closed > 0 && !indents.is_empty() {
                        let top = indents.last_mut().unwrap();
                        if closed > *top {
                            closed -= *top;
                            indents.pop();
                        } else if closed < *top {
                            *top -= closed;
                            closed = 0;
                        } else {
                            indents.pop();
                            closed = 0;
                        }
                    }
                    toks[first].spaces = 2 * indents.len();
                }
            }
            // formatSpaces
            for line in &lines {
                for cell in [&line.lead, &line.assign] {
                    for k in 0..cell.len() {
                        if cell == &line.assign && k == 0 {
                            toks[cell[0]].spaces = 1;
                        }
                        if k + 1 == cell.len() {
                            continue;
                        }
                        let before = if k > 0 {
                            toks[cell[k - 1]].clone()
                        } else {
                            NIL
                        };
                        let space = space_after(&toks[cell[k]], &before, &toks[cell[k + 1]]);
                        toks[cell[k + 1]].spaces = usize::from(space);
                    }
                }
            }
            // formatCells (assign cells only; see the assertion above)
            let mut chain: Option<usize> = None;
            let mut max = 0;
            for i in 0..=lines.len() {
                if i < lines.len() && !lines[i].assign.is_empty() {
                    chain.get_or_insert(i);
                    max = max.max(columns(&toks, &lines[i].lead));
                } else if let Some(start) = chain.take() {
                    for line in &lines[start..i] {
                        toks[line.assign[0]].spaces = max - columns(&toks, &line.lead) + 1;
                    }
                    max = 0;
                }
            }
            toks.iter()
                .map(|t| format!("{}{}", " ".repeat(t.spaces), t.text))
                .collect()
        }
    }

    /// Renders and checks the invariants every output must satisfy.
    fn render(body: &Body) -> String {
        let out = to_string(body);
        assert_eq!(
            fmt::format(&out),
            out,
            "not a fixed point of hclwrite format"
        );
        assert!(!out.contains('\r') && !out.contains('\t'));
        assert!(out.lines().all(|l| l == l.trim_end()), "trailing space");
        if !out.is_empty() {
            assert!(out.ends_with('\n') && !out.ends_with("\n\n"), "{out:?}");
            hcl_edit::parser::parse_body(&out).expect("hcl-edit parses the output");
        }
        out
    }

    fn parsed_str(out: &str, attr: &str) -> String {
        let body = hcl_edit::parser::parse_body(out).unwrap();
        let value = &body.get_attribute(attr).unwrap().value;
        value.as_str().expect("a plain string literal").to_owned()
    }

    #[test]
    fn escapes_like_hclwrite() {
        let body = Body::new()
            .attr("interp", "${var.x} and %{ if } and $${} %%{")
            .attr("quote", r#"say "hi" \ bye"#)
            .attr("ws", "a\nb\tc\rd")
            .attr("ctl", "\u{1}\u{7f}\u{a0}\u{ad}\u{200d}\u{e000}\u{10ffff}")
            .attr("dollar", "$ % $$ %% end$")
            .attr("text", "caf\u{e9} \u{65}\u{301} \u{1f600}");
        let out = render(&body);
        assert_eq!(
            out,
            concat!(
                "interp = \"$${var.x} and %%{ if } and $$${} %%%{\"\n",
                "quote  = \"say \\\"hi\\\" \\\\ bye\"\n",
                "ws     = \"a\\nb\\tc\\rd\"\n",
                "ctl    = \"\\u0001\\u007f\\u00a0\\u00ad\\u200d\\ue000\\U0010ffff\"\n",
                "dollar = \"$ % $$ %% end$\"\n",
                "text   = \"caf\u{e9} \u{65}\u{301} \u{1f600}\"\n",
            )
        );
        for item in &body.items {
            let Item::Attribute(name, Expr::Str(value)) = item else {
                unreachable!()
            };
            assert_eq!(&parsed_str(&out, name), value, "{name}");
        }
    }

    #[test]
    fn aligns_consecutive_one_line_attributes() {
        let out = render(
            &Body::new()
                .attr("a", 1)
                .attr("long_name", Expr::raw("var.x"))
                .attr("mid", true)
                .attr("n", Expr::Null)
                .attr("neg", -3),
        );
        assert_eq!(
            out,
            "a         = 1\nlong_name = var.x\nmid       = true\nn         = null\nneg       = -3\n"
        );
    }

    #[test]
    fn alignment_groups_break_at_non_assignment_lines() {
        let out = render(
            &Body::new()
                .attr("a", 1)
                .attr("bb", 2)
                .blank()
                .attr("ccc", 3)
                .attr("d", 4)
                .comment("why")
                .attr("eeeee", 5)
                .attr("f", 6)
                .block(Block::unlabeled("inner").attr("x", 1).attr("yyy", 2))
                .attr("g", 7)
                .attr("hhhh", Expr::object([("k", 1)]))
                .attr("i", 8)
                .attr("jj", 9)
                .block(Block::unlabeled("empty"))
                .attr("kkkkkk", 10),
        );
        assert_eq!(
            out,
            "\
a  = 1
bb = 2

ccc = 3
d   = 4
# why
eeeee = 5
f     = 6
inner {
  x   = 1
  yyy = 2
}
g = 7
hhhh = {
  k = 1
}
i  = 8
jj = 9
empty {}
kkkkkk = 10
"
        );
    }

    #[test]
    fn nested_blocks_and_labels() {
        let out = render(
            &Body::new()
                .block(
                    Block::new("resource", ["postgresql_role", "webapp"])
                        .attr("name", "webapp")
                        .attr("login", true)
                        .blank()
                        .block(
                            Block::unlabeled("lifecycle")
                                .attr("prevent_destroy", true)
                                .block(Block::new("x", ["a \"q\" ${b}"]).attr("v", 1)),
                        ),
                )
                .blank()
                .blank()
                .block(
                    Block::new("resource", ["postgresql_grant", "webapp"])
                        .attr(
                            "role",
                            Expr::traversal(["postgresql_role", "webapp", "name"]),
                        )
                        .attr("privileges", Expr::list(["SELECT", "INSERT"])),
                )
                .blank(),
        );
        assert_eq!(
            out,
            r#"resource "postgresql_role" "webapp" {
  name  = "webapp"
  login = true

  lifecycle {
    prevent_destroy = true
    x "a \"q\" $${b}" {
      v = 1
    }
  }
}

resource "postgresql_grant" "webapp" {
  role       = postgresql_role.webapp.name
  privileges = ["SELECT", "INSERT"]
}
"#
        );
        let parsed = hcl_edit::parser::parse_body(&out).unwrap();
        let block = parsed.blocks().next().unwrap();
        let inner = block
            .body
            .blocks()
            .next()
            .unwrap()
            .body
            .blocks()
            .next()
            .unwrap();
        match &inner.labels[0] {
            hcl_edit::structure::BlockLabel::String(s) => assert_eq!(s.as_str(), "a \"q\" ${b}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn blanks_are_tidied_and_empty_bodies_stay_compact() {
        assert_eq!(render(&Body::new()), "");
        assert_eq!(render(&Body::new().blank().blank()), "");
        let out = render(
            &Body::new()
                .blank()
                .block(Block::new("terraform", [] as [&str; 0]).blank())
                .blank()
                .blank()
                .block(
                    Block::new("provider", ["x"])
                        .blank()
                        .attr("a", 1)
                        .blank()
                        .blank(),
                )
                .blank(),
        );
        assert_eq!(out, "terraform {}\n\nprovider \"x\" {\n  a = 1\n}\n");
    }

    #[test]
    fn comments() {
        let out = render(
            &Body::new()
                .comment("Generated by labc.\n\nDo not edit.  \r")
                .block(
                    Block::unlabeled("b")
                        .comment("inside")
                        .attr("a", 1)
                        .comment(""),
                ),
        );
        assert_eq!(
            out,
            "# Generated by labc.\n#\n# Do not edit.\nb {\n  # inside\n  a = 1\n  #\n}\n"
        );
    }

    #[test]
    fn lists() {
        let long: Vec<String> = (0..12).map(|i| format!("element-{i}")).collect();
        let out = render(
            &Body::new()
                .attr("empty", Expr::List(vec![]))
                .attr("short", Expr::list([1, -2, 3]))
                .attr(
                    "nested",
                    Expr::list([Expr::list(["a"]), Expr::list([true])]),
                )
                .attr("long", Expr::list(long.iter()))
                .attr(
                    "objects",
                    Expr::list([
                        Expr::object([("name", "a"), ("port", "1")]),
                        Expr::object(Vec::<(String, Expr)>::new()),
                        Expr::list([Expr::object([("k", Expr::Null)])]),
                    ]),
                ),
        );
        assert_eq!(
            out,
            r#"empty  = []
short  = [1, -2, 3]
nested = [["a"], [true]]
long = [
  "element-0",
  "element-1",
  "element-2",
  "element-3",
  "element-4",
  "element-5",
  "element-6",
  "element-7",
  "element-8",
  "element-9",
  "element-10",
  "element-11",
]
objects = [
  {
    name = "a"
    port = "1"
  },
  {},
  [
    {
      k = null
    },
  ],
]
"#
        );
        let parsed = hcl_edit::parser::parse_body(&out).unwrap();
        let long_parsed = parsed
            .get_attribute("long")
            .unwrap()
            .value
            .as_array()
            .unwrap();
        let values: Vec<&str> = long_parsed.iter().map(|e| e.as_str().unwrap()).collect();
        assert_eq!(values, long.iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn list_width_limit() {
        // `["…"]` is exactly MAX_INLINE_LIST_WIDTH chars, then one more.
        let fits = "x".repeat(MAX_INLINE_LIST_WIDTH - 4);
        let out = render(&Body::new().attr("a", Expr::list([fits.as_str()])));
        assert_eq!(out, format!("a = [\"{fits}\"]\n"));
        let over = "x".repeat(MAX_INLINE_LIST_WIDTH - 3);
        let out = render(&Body::new().attr("a", Expr::list([over.as_str()])));
        assert_eq!(out, format!("a = [\n  \"{over}\",\n]\n"));
    }

    #[test]
    fn objects_align_and_quote_keys() {
        let out = render(&Body::new().block(
            Block::new("resource", ["docker_container", "web"]).attr(
                "labels",
                Expr::object([
                    ("app", Expr::str("web")),
                    ("traefik.http.routers.web.rule", Expr::str("Host(`x`)")),
                    ("kebab-key", Expr::from(1)),
                    ("null", Expr::Bool(false)),
                    ("for", Expr::from(2)),
                    ("", Expr::from(3)),
                    ("1st", Expr::list(["a"])),
                    ("nested", Expr::object([("deep", Expr::str("v"))])),
                    ("after", Expr::from(4)),
                    ("caf\u{e9}", Expr::from(5)),
                    ("e\u{301}\u{1f600}", Expr::from(6)),
                ]),
            ),
        ));
        assert_eq!(
            out,
            r#"resource "docker_container" "web" {
  labels = {
    app                             = "web"
    "traefik.http.routers.web.rule" = "Host(`x`)"
    kebab-key                       = 1
    "null"                          = false
    "for"                           = 2
    ""                              = 3
    "1st"                           = ["a"]
    nested = {
      deep = "v"
    }
    after               = 4
    "café"              = 5
    "e\u0301\U0001f600" = 6
  }
}
"#
        );
        let parsed = hcl_edit::parser::parse_body(&out).unwrap();
        let block = parsed.blocks().next().unwrap();
        let labels = block
            .body
            .get_attribute("labels")
            .unwrap()
            .value
            .as_object()
            .unwrap();
        let keys: Vec<String> = labels
            .iter()
            .map(|(k, _)| match k {
                hcl_edit::expr::ObjectKey::Ident(id) => id.as_str().to_owned(),
                hcl_edit::expr::ObjectKey::Expression(e) => e.as_str().unwrap().to_owned(),
            })
            .collect();
        assert_eq!(
            keys,
            [
                "app",
                "traefik.http.routers.web.rule",
                "kebab-key",
                "null",
                "for",
                "",
                "1st",
                "nested",
                "after",
                "caf\u{e9}",
                "e\u{301}\u{1f600}"
            ]
        );
    }

    #[test]
    fn variable_type_is_pre_normalised() {
        let out = render(
            &Body::new()
                .block(Block::new("variable", ["a"]).attr("type", Expr::raw("list")))
                .block(Block::new("variable", ["b"]).attr("type", "string"))
                .block(Block::new("variable", ["c"]).attr("type", "map"))
                .block(
                    Block::new("variable", ["d"])
                        .attr("type", Expr::raw("map(string)"))
                        .attr("default", "list"),
                )
                .block(Block::new("output", ["e"]).attr("type", "list")),
        );
        assert_eq!(
            out,
            r#"variable "a" {
  type = list(any)
}
variable "b" {
  type = string
}
variable "c" {
  type = map(string)
}
variable "d" {
  type    = map(string)
  default = "list"
}
output "e" {
  type = "list"
}
"#
        );
    }

    #[test]
    fn round_trips_string_values() {
        let samples = [
            "",
            "plain",
            "${x}",
            "%{if a}b%{endif}",
            "$${x}",
            "$$${x}",
            "%%{x}",
            "trailing $",
            "trailing %",
            "back\\slash\\",
            "\"quoted\"",
            "multi\nline\r\nwith\ttab",
            "nul \u{0} bell \u{7} del \u{7f} nbsp \u{a0} bom \u{feff}",
            "unicode: ü ß 日本 🚀 e\u{301}",
        ];
        for s in samples {
            let out = render(
                &Body::new()
                    .attr("v", s)
                    .attr("l", Expr::list([s]))
                    .attr("o", Expr::object([(s, s)])),
            );
            assert_eq!(parsed_str(&out, "v"), s, "{out}");
            let body = hcl_edit::parser::parse_body(&out).unwrap();
            let list = body.get_attribute("l").unwrap().value.as_array().unwrap();
            assert_eq!(list.get(0).unwrap().as_str(), Some(s));
            let obj = body.get_attribute("o").unwrap().value.as_object().unwrap();
            let (key, value) = obj.iter().next().unwrap();
            let key = match key {
                hcl_edit::expr::ObjectKey::Ident(id) => id.as_str().to_owned(),
                hcl_edit::expr::ObjectKey::Expression(e) => e.as_str().unwrap().to_owned(),
            };
            assert_eq!(key, s);
            assert_eq!(value.expr().as_str(), Some(s));
        }
    }

    #[test]
    #[should_panic(expected = "not an identifier")]
    fn rejects_invalid_attribute_names() {
        to_string(&Body::new().attr("my attr", 1));
    }

    #[test]
    fn identifiers() {
        for ok in ["a", "_", "_a1", "dance-lessons-coach", "A-b_c9"] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["", "1a", "-a", "a.b", "a b", "é", "a$"] {
            assert!(!is_identifier(bad), "{bad}");
        }
        let cases = [
            (
                "dance-lessons-coach",
                "dance-lessons-coach",
                "dance_lessons_coach",
            ),
            ("webapp", "webapp", "webapp"),
            ("9lives", "_9lives", "_9lives"),
            ("-lead", "_-lead", "_lead"),
            ("a.b c", "a_b_c", "a_b_c"),
            ("caf\u{e9}", "caf_", "caf_"),
            ("", "_", "_"),
            ("_x", "_x", "_x"),
        ];
        for (name, ident, resource) in cases {
            assert_eq!(identifier(name), ident, "{name}");
            assert_eq!(resource_name(name), resource, "{name}");
            assert!(is_identifier(&identifier(name)));
            assert!(is_identifier(&resource_name(name)));
            assert!(
                resource_name(name)
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            );
        }
    }

    #[test]
    fn format_port_agrees_with_hclwrite_tests() {
        // Cases from hashicorp/hcl hclwrite/format_test.go (`TestFormat`)
        // within the port's scope (no templates, no trailing comments), to
        // show the port behaves like the real formatter.
        let cases = [
            ("a=1", "a = 1"),
            ("a=b.c", "a = b.c"),
            ("a=b[c]", "a = b[c]"),
            ("a=b()[c]", "a = b()[c]"),
            ("a=[\"hello\"][0]", "a = [\"hello\"][0]"),
            ("( a+2 )", "(a + 2)"),
            ("( a*2 )", "(a * 2)"),
            ("( a+-2 )", "(a + -2)"),
            ("( a*-2 )", "(a * -2)"),
            ("(-2+1)", "(-2 + 1)"),
            ("foo(1, -2,a*b, b,c)", "foo(1, -2, a * b, b, c)"),
            ("b{}", "b {}"),
            (
                "\nfoo(\n1,\n- 2,\na*b,\nb,\nc,\n)\n",
                "\nfoo(\n  1,\n  -2,\n  a * b,\n  b,\n  c,\n)\n",
            ),
            ("[ [ ] ]", "[[]]"),
            ("\n[\n[\na\n]\n]\n", "\n[\n  [\n    a\n  ]\n]\n"),
            ("\n[[\na\n]]\n", "\n[[\n  a\n]]\n"),
            ("\n[[\n[\na\n]]\n]\n", "\n[[\n  [\n    a\n  ]]\n]\n"),
            ("\nb {\na = 1\n}\n", "\nb {\n  a = 1\n}\n"),
            ("\nb {a = 1}\n", "\nb { a = 1 }\n"),
            ("\na = 1\nbungle = 2\n", "\na      = 1\nbungle = 2\n"),
            ("\na = 1\n\nbungle = 2\n", "\na = 1\n\nbungle = 2\n"),
            ("\nfoo {\n# ...\n}\n", "\nfoo {\n  # ...\n}\n"),
            ("\nfoo = {\n# ...\n}\n", "\nfoo = {\n  # ...\n}\n"),
            ("\nfoo = [{\n# ...\n}]\n", "\nfoo = [{\n  # ...\n}]\n"),
            (
                "\nfoo {\nbar = [\n# ...\n]\n}\n",
                "\nfoo {\n  bar = [\n    # ...\n  ]\n}\n",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(fmt::format(input), want, "{input:?}");
        }
    }
}
