//! Bounds how deeply a Nickel source nests, before Nickel's own passes see
//! it.
//!
//! Why: Nickel's import resolution, typechecking and program transformations
//! recurse once per level of the syntax tree (about 22 stack frames a level
//! in a debug build). A lab nested about 1,500 levels deep, whether arrays
//! of arrays, `1 + 1 + ...` or a chain of `let .. in`, overflowed the stack
//! and aborted the process. Lexing is safe (Nickel's lexer keeps its modes
//! on the heap), so labc lexes the file with Nickel's own lexer and bounds
//! an estimate of the tree's depth that is never below it:
//!
//! - each bracket (`{`, `[`, `(`, `[|`, an interpolation `%{`, a string)
//!   opens a group one level below the one holding it;
//! - inside a group, the tokens since the last `,` or `;` each count as a
//!   level: an operator, an application or a `let .. in` nests its operand
//!   at most one level deeper per token, and separators end an element.
//!   Text inside strings counts nothing: a string is one flat node.
//!
//! A lab is about 20 levels by this measure; the bound is far above any
//! hand-written file and far below what overflows (see [`MAX_DEPTH`]).

use nickel_lang_core::parser::lexer::{Lexer, MultiStringToken, NormalToken, StringToken, Token};

/// The deepest a Nickel file may nest by this module's measure. At most
/// 512 levels x ~3 tree nodes a token x ~6 KiB of stack a node (debug
/// build) is ~9 MiB, within the 64 MiB stack `cmd` compiles on; release
/// builds use a fraction of that.
pub const MAX_DEPTH: usize = 512;

/// Where a file first nests deeper than [`MAX_DEPTH`]: the byte range of
/// the token that goes past it.
pub struct TooDeep {
    pub start: usize,
    pub end: usize,
}

/// What bounding a file found: the static `import` paths it names (to be
/// checked in turn), or where it nests too deep.
pub struct Scan {
    pub imports: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    Bracket,
    Str,
    MultiStr,
    /// `%{ .. }` in a string: closed by the `}` at its own level.
    Interpolation,
}

struct Frame {
    group: Group,
    /// Depth of the frame's first token.
    base: usize,
    /// Tokens since the last separator, each a possible level.
    run: usize,
}

/// Scans `source` (the text of one Nickel file). Lexical errors end the scan
/// quietly: Nickel reports them with their position when it parses.
pub fn scan(source: &str) -> Result<Scan, TooDeep> {
    let mut stack: Vec<Frame> = vec![Frame {
        group: Group::Bracket,
        base: 0,
        run: 0,
    }];
    let mut imports = Vec::new();
    // `import` was the last token: a string opening now is its path.
    let mut after_import = false;
    // The path of the import whose string is being read.
    let mut path: Option<String> = None;
    for token in Lexer::new(source) {
        let Ok((start, token, end)) = token else {
            break;
        };
        let Some(top) = stack.last_mut() else {
            break;
        };
        let depth = top.base + top.run;
        let mut open = None;
        let mut close = false;
        match (&token, top.group) {
            (Token::Normal(NormalToken::DoubleQuote), Group::Str)
            | (Token::MultiStr(MultiStringToken::End), Group::MultiStr)
            | (Token::Normal(NormalToken::RBrace), Group::Interpolation)
            | (
                Token::Normal(
                    NormalToken::RBrace
                    | NormalToken::RBracket
                    | NormalToken::RParen
                    | NormalToken::EnumClose,
                ),
                Group::Bracket,
            ) => close = true,
            (Token::Str(StringToken::Literal(text)), Group::Str) => {
                if let Some(p) = path.as_mut() {
                    p.push_str(text);
                }
            }
            (Token::Str(StringToken::EscapedChar(c)), Group::Str) => {
                if let Some(p) = path.as_mut() {
                    p.push(*c);
                }
            }
            (
                Token::Str(StringToken::Interpolation)
                | Token::MultiStr(MultiStringToken::Interpolation),
                _,
            ) => open = Some(Group::Interpolation),
            // Text of a string is one flat node.
            (_, Group::Str | Group::MultiStr) => {}
            (
                Token::Normal(
                    NormalToken::LBrace
                    | NormalToken::LBracket
                    | NormalToken::LParen
                    | NormalToken::EnumOpen,
                ),
                _,
            ) => open = Some(Group::Bracket),
            (Token::Normal(NormalToken::DoubleQuote | NormalToken::StrEnumTagBegin), _) => {
                open = Some(Group::Str)
            }
            (
                Token::Normal(
                    NormalToken::MultiStringStart(_) | NormalToken::SymbolicStringStart(_),
                ),
                _,
            ) => open = Some(Group::MultiStr),
            (Token::Normal(NormalToken::Comma | NormalToken::Semicolon), _) => top.run = 0,
            _ => top.run += 1,
        }
        // `import "path"`: a static path, read from the string's text.
        if close && top.group == Group::Str {
            imports.extend(path.take());
        }
        if after_import && open == Some(Group::Str) {
            path = Some(String::new());
        }
        after_import = matches!(token, Token::Normal(NormalToken::Import));
        if let Some(group) = open {
            top.run += 1;
            stack.push(Frame {
                group,
                base: depth + 1,
                run: 0,
            });
            if depth + 1 > MAX_DEPTH {
                return Err(TooDeep { start, end });
            }
        } else if close {
            if stack.len() > 1 {
                stack.pop();
            }
        } else if depth > MAX_DEPTH {
            return Err(TooDeep { start, end });
        }
    }
    Ok(Scan { imports })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(src: &str) -> bool {
        scan(src).is_ok()
    }

    #[test]
    fn the_lab_shapes_pass() {
        assert!(depth_ok(include_str!("../../lab.ncl")));
        let apps: String = (0..5000)
            .map(|i| format!("a{i} = {{ archetype = 'stateless, ingress = ['public] }},\n"))
            .collect();
        assert!(depth_ok(&format!("{{ apps = {{ {apps} }} }}")));
        let long = "x".repeat(100_000);
        let escapes = "\\n".repeat(10_000);
        assert!(depth_ok(&format!("{{ a = \"{long}{escapes}\" }}")));
        assert!(depth_ok(&format!("{{ a = m%\"{long}\"% }}")));
    }

    #[test]
    fn every_kind_of_nesting_is_bounded() {
        let n = MAX_DEPTH + 10;
        let cases = [
            format!("{{ x = {}{} }}", "[".repeat(n), "]".repeat(n)),
            format!("{{ x = {}1{} }}", "(".repeat(n), ")".repeat(n)),
            format!("{}{}", "{ a = ".repeat(n), "1 }".repeat(n)),
            format!("{{ x = {} }}", vec!["1"; n].join(" + ")),
            format!("{{ x = {}1 }}", "let a = 1 in ".repeat(n)),
            format!("{{ x = {}1 }}", "fun a => ".repeat(n)),
            format!("{{ x = {}\"a\"{} }}", "\"%{".repeat(n), "}\"".repeat(n)),
            format!("{{ x = f {} }}", vec!["a"; n].join(" ")),
        ];
        for src in &cases {
            let Err(at) = scan(src) else {
                panic!("not refused: {}", &src[..80.min(src.len())]);
            };
            assert!(at.start < at.end && at.end <= src.len());
        }
    }

    #[test]
    fn finds_static_imports() {
        let scan = scan("let s = import \"schemas/lab.ncl\" in let t = import \"a b.ncl\" in s")
            .ok()
            .expect("shallow");
        assert_eq!(scan.imports, ["schemas/lab.ncl", "a b.ncl"]);
    }

    #[test]
    fn interpolated_braces_are_matched() {
        let src = "{ a = \"%{ { b = 1 }.b }\", c = [1, 2] }";
        assert!(depth_ok(src));
    }
}
