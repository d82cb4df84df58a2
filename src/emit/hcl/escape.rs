//! String escaping as hclwrite does it (`escapeQuotedStringLit` in
//! hashicorp/hcl `hclwrite/generate.go`), so labels and values survive
//! `tofu fmt` unchanged and user text is never read as an interpolation.

use std::fmt::Write as _;

/// Appends `s` as a quoted HCL string, escaped as hclwrite's
/// `escapeQuotedStringLit` does (generate.go). With `key`, also escapes
/// non-ASCII characters that might join a neighbour into one grapheme
/// cluster, so `chars().count()` equals hclwrite's column count.
pub(super) fn quote_into(out: &mut String, s: &str, key: bool) {
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
