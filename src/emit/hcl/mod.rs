//! A small HCL document model: the OpenTofu emitter builds a [`Body`]
//! (attributes, blocks, blank lines, comments) and [`to_string`] turns it
//! into text `tofu fmt` leaves byte-for-byte unchanged.
//!
//! The model is plain data (this file); the layout that matches `tofu fmt`
//! lives in `write.rs`, the string escaping that matches hclwrite in
//! `escape.rs`. Nothing here does I/O.
//!
//! # Preconditions (the caller's side of the contract)
//!
//! - Attribute names and block types satisfy [`is_identifier`] (checked,
//!   panics otherwise). Map user-supplied names with [`identifier`], which
//!   may map different names to the same result (callers must check for
//!   collisions), or better keep them out of labels: OpenTofu's emitter
//!   keys `for_each` instances by name instead.
//! - [`Expr::Raw`] is written verbatim (surrounding whitespace trimmed): it
//!   must be one line, already spaced the way `spaceAfterToken` spaces it
//!   (`var.x`, `file("a")`, `a == b ? 1 : 2`, `list(string)`), and not a lone
//!   interpolation `"${x}"` (write `x` instead). Debug builds check the
//!   first and last.
//! - Go's `unicode.IsPrint` rejects unassigned code points; this module does
//!   not carry Unicode tables and passes them through. A *block label*
//!   containing an unassigned code point would therefore be re-escaped by
//!   `tofu fmt`; no other position is affected.

mod escape;
mod write;

pub use write::{to_string, width, write_after};

use std::borrow::Cow;

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
}

/// Builders shared by a [`Body`] and a [`Block`] (whose body they fill):
/// each appends one item and hands the value back, so a document reads in
/// the order it is written.
pub trait Items<'a>: Sized {
    /// Appends `item`.
    fn item(self, item: Item<'a>) -> Self;

    fn attr(self, name: impl Into<Text<'a>>, value: impl Into<Expr<'a>>) -> Self {
        self.item(Item::Attribute(name.into(), value.into()))
    }

    fn block(self, block: Block<'a>) -> Self {
        self.item(Item::Block(block))
    }

    fn blank(self) -> Self {
        self.item(Item::Blank)
    }

    fn comment(self, text: impl Into<Text<'a>>) -> Self {
        self.item(Item::Comment(text.into()))
    }
}

impl<'a> Items<'a> for Body<'a> {
    fn item(mut self, item: Item<'a>) -> Self {
        self.items.push(item);
        self
    }
}

impl<'a> Items<'a> for Block<'a> {
    fn item(mut self, item: Item<'a>) -> Self {
        self.body.items.push(item);
        self
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
