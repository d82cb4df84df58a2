//! Where a Nickel syntax error most likely is, when the parser stops after
//! it: a missing `,` between two fields is only noticed at the next field
//! (`unexpected token` on its `=`), an unclosed `{` only at the end of the
//! file. These functions read the lab's text, not Nickel's syntax tree (there
//! is none: it did not parse), so they only ever add a guess, shown as a
//! note next to Nickel's own report.
//!
//! Invariant: pure functions of the text; a guess, never an error of its own.

/// What a byte of a Nickel file is part of.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Code,
    Str,
    Comment,
}

/// The kind of every byte of a Nickel file. Strings are `"…"` with `\`
/// escapes and `m%"…"%` (any number of `%`); comments run from `#` to the
/// end of the line.
fn code_mask(text: &str) -> Vec<Kind> {
    let bytes = text.as_bytes();
    let mut mask = vec![Kind::Code; bytes.len()];
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    mask[i] = Kind::Comment;
                    i += 1;
                }
            }
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                let end = (i + 1).min(bytes.len());
                mask[start..end].iter_mut().for_each(|m| *m = Kind::Str);
                i = end;
            }
            b'm' if bytes.get(i + 1) == Some(&b'%') => {
                let percents = bytes[i + 1..].iter().take_while(|b| **b == b'%').count();
                if bytes.get(i + 1 + percents) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'%', percents))
                    .collect();
                let body = i + 2 + percents;
                let end = bytes[body..]
                    .windows(close.len())
                    .position(|w| w == close.as_slice())
                    .map_or(bytes.len(), |p| body + p + close.len());
                mask[i..end].iter_mut().for_each(|m| *m = Kind::Str);
                i = end;
            }
            _ => i += 1,
        }
    }
    mask
}

/// The last byte of code or string before `line_start`, skipping
/// whitespace and comments.
fn previous_code(text: &str, mask: &[Kind], line_start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    (0..line_start)
        .rev()
        .find(|&i| mask[i] != Kind::Comment && !bytes[i].is_ascii_whitespace())
}

/// A syntax error at `at` on a line that defines a field (`name =` or
/// `name |`) whose previous line of code ends a value without a `,`: the
/// likely fault is that missing `,`. Returns the offset just past the end of
/// that value.
pub fn missing_comma(text: &str, at: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mask = code_mask(text);
    let line_start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text.get(line_start..)?.lines().next()?.trim_start();
    let name_len = line
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-' || *b == b'"')
        .count();
    let after = line.get(name_len..)?.trim_start();
    if name_len == 0 || !(after.starts_with('=') || after.starts_with('|')) {
        return None;
    }
    let last = previous_code(text, &mask, line_start)?;
    // A value that is complete: a literal, a name, a closed bracket or
    // string. An operator or an opener means the expression goes on.
    let ends_value = mask[last] == Kind::Str
        || matches!(bytes[last], b'}' | b']' | b')' | b'_')
        || bytes[last].is_ascii_alphanumeric();
    ends_value.then_some(last + 1)
}

/// For an error at the end of the file: the `{`, `[` or `(` most likely
/// left unclosed. That is the innermost open one at the first line that
/// starts a field at the indentation of the line that opened it (a sibling
/// of the record it opened, so the record should have been closed before);
/// failing that, the innermost one still open at the end.
pub fn unclosed(text: &str) -> Option<usize> {
    let mask = code_mask(text);
    let bytes = text.as_bytes();
    let indent = |at: usize| {
        let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        bytes[start..].iter().take_while(|b| **b == b' ').count()
    };
    let mut open: Vec<usize> = Vec::new();
    let mut line_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if i == line_start {
            // A new line: does it start a field where an open record's
            // siblings are?
            if let Some(&innermost) = open.last() {
                let rest = &text[i..];
                let this_indent = rest.bytes().take_while(|b| *b == b' ').count();
                let code = rest.trim_start_matches(' ');
                let starts_field = code.split(['=', '\n']).next().is_some_and(|name| {
                    code.len() > name.len()
                        && code.as_bytes()[name.len()] == b'='
                        && !name.trim().is_empty()
                        && name
                            .trim()
                            .bytes()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'"'))
                });
                if starts_field
                    && bytes[innermost] == b'{'
                    && this_indent <= indent(innermost)
                    && this_indent > 0
                {
                    return Some(innermost);
                }
            }
        }
        if b == b'\n' {
            line_start = i + 1;
        }
        if mask[i] != Kind::Code {
            continue;
        }
        match b {
            b'{' | b'[' | b'(' => open.push(i),
            b'}' | b']' | b')' => {
                open.pop();
            }
            _ => {}
        }
    }
    open.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_comma_is_found_at_the_end_of_the_previous_field() {
        let text = "{\n  a = \"x\" # note, with a comma\n\n  b = 1,\n}\n";
        let at = text.find("b = 1").unwrap() + 2;
        let end = missing_comma(text, at).unwrap();
        assert_eq!(&text[..end], "{\n  a = \"x\"");
        // With the comma there, no guess.
        let text = "{\n  a = \"x\",\n  b = 1,\n}\n";
        assert_eq!(missing_comma(text, text.find("b = 1").unwrap() + 2), None);
        // An operator goes on to the next line: not a missing comma.
        let text = "{\n  a = 1 +\n  b = 1,\n}\n";
        assert_eq!(missing_comma(text, text.find("b = 1").unwrap() + 2), None);
    }

    #[test]
    fn strings_and_comments_hide_brackets() {
        let text = "{\n  a = \"{\", # {\n  b = m%\"{ [\"%,\n}\n";
        assert_eq!(unclosed(text), None);
    }

    #[test]
    fn an_unclosed_record_is_found_where_its_sibling_starts() {
        let text = "{\n  hosts = {\n    pi1 = {\n      a = 1,\n    pi2 = {\n      a = 2,\n    },\n  },\n}\n";
        let at = unclosed(text).unwrap();
        assert_eq!(&text[at - 6..=at], "pi1 = {");
        let text = "{\n  a = [1, 2,\n";
        assert_eq!(unclosed(text), Some(text.find('[').unwrap()));
    }
}
