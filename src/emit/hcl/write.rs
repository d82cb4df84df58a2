//! The writer: [`to_string`] lays a [`Body`] out exactly as `tofu fmt`
//! would, so the formatter finds nothing to change.
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

use super::escape::quote_into;
use super::{Block, Body, Expr, INDENT, Item, MAX_INLINE_LIST_WIDTH, is_identifier};
use std::borrow::Cow;
use std::fmt::Write as _;

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
pub fn width(s: &str) -> usize {
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

#[cfg(test)]
mod tests {
    use super::super::{Items, identifier};
    use super::*;

    /// Renders and checks the invariants every output must satisfy.
    fn render(body: &Body) -> String {
        // Whether `tofu fmt` leaves it unchanged is proven with the real
        // formatter on every generated file (tests/it/tofu.rs).
        let out = to_string(body);
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
            ("dance-lessons-coach", "dance-lessons-coach"),
            ("webapp", "webapp"),
            ("9lives", "_9lives"),
            ("-lead", "_-lead"),
            ("a.b c", "a_b_c"),
            ("caf\u{e9}", "caf_"),
            ("", "_"),
            ("_x", "_x"),
        ];
        for (name, ident) in cases {
            assert_eq!(identifier(name), ident, "{name}");
            assert!(is_identifier(&identifier(name)));
        }
    }
}
