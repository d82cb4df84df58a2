//! `labc diff --base`'s report as text (coloured or not), Markdown (a
//! pull-request comment: summary table, risks first, details folded) or
//! JSON ([`crate::review::Review`]'s shape, described by
//! `review.schema.json`).
//!
//! User text (names, images, URLs) reaches Markdown only escaped by
//! [`crate::emit::docs::markdown`], or inside a code span that cannot end
//! early ([`code`]).

use crate::cli::ReportFormat;
use crate::review::{Action, Change, FieldChange, Files, Review};
use std::fmt::Write;

pub fn render(review: &Review, format: ReportFormat, color: bool) -> String {
    match format {
        ReportFormat::Text => text(review, color),
        ReportFormat::Markdown => markdown(review),
        ReportFormat::Json => json(review),
    }
}

/// The JSON report: pretty-printed, one trailing newline.
pub fn json(review: &Review) -> String {
    // Serialising plain structs of strings and numbers cannot fail.
    serde_json::to_string_pretty(review).unwrap_or_default() + "\n"
}

fn headline(r: &Review) -> String {
    let s = &r.summary;
    let what = if r.new_lab {
        format!("a new lab (no lab file at {})", r.base)
    } else {
        format!("the lab since {}", r.base)
    };
    format!(
        "{what}: {} change{}, {} risk{}; generated files: {} added, {} removed, {} changed",
        s.changes,
        plural(s.changes),
        s.risks,
        plural(s.risks),
        s.files_added,
        s.files_removed,
        s.files_changed
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn value(v: &Option<String>) -> &str {
    match v.as_deref() {
        None => "(none)",
        Some("") => "(empty)",
        Some(v) => v,
    }
}

/// Text for a terminal.
pub fn text(r: &Review, color: bool) -> String {
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", paint("1", &headline(r)));
    if !r.risks.is_empty() {
        let _ = writeln!(out, "\n{}", paint("1;31", "RISKS"));
        for risk in &r.risks {
            let _ = writeln!(
                out,
                "  {} {}: {}",
                paint("1;31", "!"),
                risk.subject,
                risk.message
            );
        }
    }
    for c in &r.changes {
        let code = match c.action {
            Action::Added => "32",
            Action::Removed => "31",
            Action::Changed | Action::Moved => "33",
        };
        let _ = writeln!(
            out,
            "\n{} {}: {}",
            c.kind.as_str(),
            paint("1", &c.name),
            paint(code, c.action.as_str())
        );
        for f in &c.fields {
            let _ = writeln!(out, "    {}", field_text(c.action, f));
        }
        file_lines(&mut out, &c.files, "    ", &paint);
    }
    if !r.other_files.is_empty() {
        let _ = writeln!(out, "\nother generated files");
        file_lines(&mut out, &r.other_files, "    ", &paint);
    }
    out
}

fn field_text(action: Action, f: &FieldChange) -> String {
    match action {
        Action::Added => format!("{}: {}", f.field, value(&f.new)),
        Action::Removed => format!("{}: {}", f.field, value(&f.old)),
        _ => format!("{}: {} -> {}", f.field, value(&f.old), value(&f.new)),
    }
}

fn file_lines(out: &mut String, files: &Files, indent: &str, paint: &dyn Fn(&str, &str) -> String) {
    for (sign, code, list) in [
        ("+", "32", &files.added),
        ("-", "31", &files.removed),
        ("~", "33", &files.changed),
    ] {
        for p in list {
            let _ = writeln!(out, "{indent}{} {p}", paint(code, sign));
        }
    }
}

/// Markdown for a pull-request comment.
pub fn markdown(r: &Review) -> String {
    let md = crate::emit::docs::markdown;
    let mut out = String::new();
    let _ = writeln!(out, "## labc: {}\n", md(&headline(r)));
    if !r.risks.is_empty() {
        let _ = writeln!(out, "### ⚠️ Risks\n");
        for risk in &r.risks {
            let _ = writeln!(
                out,
                "- **{}** ({}): {}",
                md(risk.kind.as_str()),
                md(&risk.subject),
                md(&risk.message)
            );
        }
        out.push('\n');
    }
    if r.changes.is_empty() {
        let _ = writeln!(out, "No change in the lab.");
    } else {
        let _ = writeln!(out, "### Changes\n");
        let _ = writeln!(out, "| Kind | Name | Change | Risks | Files |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        for c in &r.changes {
            let subject = format!("{} {}", c.kind.as_str(), c.name);
            let risks = r.risks.iter().filter(|x| x.subject == subject).count();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                md(c.kind.as_str()),
                code(&c.name),
                c.action.as_str(),
                if risks == 0 {
                    String::new()
                } else {
                    format!("⚠️ {risks}")
                },
                c.files.len()
            );
        }
        out.push('\n');
        let _ = writeln!(out, "<details><summary>Details</summary>\n");
        for c in &r.changes {
            details(&mut out, c);
        }
        let _ = writeln!(out, "</details>");
    }
    if !r.other_files.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>Other generated files ({})</summary>\n",
            r.other_files.len()
        );
        file_items(&mut out, &r.other_files);
        let _ = writeln!(out, "\n</details>");
    }
    out
}

fn details(out: &mut String, c: &Change) {
    let md = crate::emit::docs::markdown;
    let _ = writeln!(
        out,
        "#### {} {} ({})\n",
        md(c.kind.as_str()),
        code(&c.name),
        c.action.as_str()
    );
    if !c.fields.is_empty() {
        let _ = writeln!(out, "| Field | Before | After |");
        let _ = writeln!(out, "|---|---|---|");
        for f in &c.fields {
            let cell = |v: &Option<String>| v.as_deref().map(code).unwrap_or_default();
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                md(&f.field),
                cell(&f.old),
                cell(&f.new)
            );
        }
        out.push('\n');
    }
    if !c.files.is_empty() {
        file_items(out, &c.files);
        out.push('\n');
    }
}

fn file_items(out: &mut String, files: &Files) {
    for (what, list) in [
        ("added", &files.added),
        ("removed", &files.removed),
        ("changed", &files.changed),
    ] {
        for p in list {
            let _ = writeln!(out, "- {what}: {}", code(p));
        }
    }
}

/// `text` as a Markdown code span, safe in a table cell: a fence longer than
/// any run of backticks in it, `|` as its entity-free escape (GitHub and
/// Gitea both honour `\|` inside a span in a table), line breaks as spaces.
pub fn code(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let body: String = text
        .chars()
        .map(|c| match c {
            '\n' | '\r' => ' '.to_string(),
            '|' => "\\|".to_string(),
            c => c.to_string(),
        })
        .collect();
    let pad = if body.starts_with('`') || body.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::code;

    #[test]
    fn code_spans_cannot_end_early_or_split_a_table() {
        assert_eq!(code("erp"), "`erp`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("a|b\nc"), "`a\\|b c`");
    }
}
