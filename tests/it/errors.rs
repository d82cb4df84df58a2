//! The error corpus: each folder of `tests/fixtures/invalid/` is a lab.ncl
//! (or lab.toml) broken the way a user would break it, one case per class
//! of error. Each must exit 2, report every position its `expect` file
//! names, leave generated/ byte-identical, and read as its `report.snap`.
//! Adding a case is adding a folder (see tests/fixtures/README.md).

use crate::common::{
    Lab, copy_dir, fixtures, folders, json_messages, lab_file, read_tree, root, stderr, stdout,
};
use std::path::Path;

/// The positions a case's `expect` file names, one `<file>:<line>` a line
/// (`#` starts a comment saying what the case breaks). Each must be a line
/// of the case's own lab file.
fn expected_positions(case: &Path, file: &str) -> Vec<String> {
    let expect = std::fs::read_to_string(case.join("expect"))
        .unwrap_or_else(|e| panic!("{}/expect: {e}", case.display()));
    // Bytes, not text: a case may be a file that is not UTF-8.
    let bytes = std::fs::read(case.join(file)).expect("lab readable");
    let lines = bytes.iter().filter(|b| **b == b'\n').count()
        + usize::from(bytes.last().is_some_and(|b| *b != b'\n'));
    let positions: Vec<String> = expect
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    assert!(
        !positions.is_empty(),
        "{}/expect names no position",
        case.display()
    );
    for p in &positions {
        let line = p
            .strip_prefix(file)
            .and_then(|rest| rest.strip_prefix(':'))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or_else(|| panic!("{}/expect: `{p}` is not {file}:<line>", case.display()));
        assert!(
            (1..=lines).contains(&line),
            "{}/expect: {file} has no line {line}",
            case.display()
        );
    }
    positions
}

#[test]
fn every_error_case_points_at_its_lines_and_writes_nothing() {
    let invalid = fixtures().join("invalid");
    let cases = folders(&invalid);
    assert!(!cases.is_empty(), "no case in {}", invalid.display());
    let mut failures = Vec::new();
    let mut reports = Vec::new();
    for case in &cases {
        let dir = invalid.join(case);
        let file = lab_file(&dir);
        let positions = expected_positions(&dir, &file);
        let lab = Lab::from_dir(case, &dir);
        // Any valid output folder shows whether a failed build touched it:
        // the repository's committed one is at hand.
        copy_dir(&root().join("generated"), &lab.generated());
        let before = read_tree(&lab.generated());

        let o = lab.run(&["build"]);
        let err = stderr(&o);
        if o.status.code() != Some(2) {
            failures.push(format!("{case}: exit {:?}\n{err}", o.status.code()));
            continue;
        }
        for at in &positions {
            // `file:line:` then the column: not a longer line number.
            if !err.contains(&format!("{at}:")) {
                failures.push(format!("{case}: no `{at}:` in\n{err}"));
            }
        }
        if read_tree(&lab.generated()) != before {
            failures.push(format!("{case}: generated/ changed"));
        }
        let o = lab.run(&["build", "--message-format", "json"]);
        if o.status.code() != Some(2) || !stderr(&o).is_empty() {
            failures.push(format!(
                "{case}: --message-format json: exit {:?}, stderr:\n{}",
                o.status.code(),
                stderr(&o)
            ));
        }
        if let Err(e) = same_report(&err, &json_messages(&stdout(&o))) {
            failures.push(format!("{case}: --message-format json: {e}"));
        }
        reports.push((dir, file, err));
    }
    // The reports last, so a wrong position is told even when the report
    // changed too.
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    for (dir, file, err) in reports {
        let input = dir.join(&file);
        insta::with_settings!({
            snapshot_path => dir,
            prepend_module_to_snapshot => false,
            input_file => input,
        }, {
            insta::assert_snapshot!("report", err);
        });
    }
}

/// The text report's diagnostics, in order: `(severity, code, the first
/// `file:line:col` under it)`.
fn text_diagnostics(text: &str) -> Vec<(String, String, Option<String>)> {
    let mut out: Vec<(String, String, Option<String>)> = Vec::new();
    for line in text.lines() {
        let header = ["error", "warning", "note", "help"]
            .iter()
            .find_map(|s| line.strip_prefix(&format!("{s}[")).map(|rest| (s, rest)))
            .and_then(|(s, rest)| Some((s.to_string(), rest.split_once("]: ")?.0.to_string())));
        if let Some((severity, code)) = header {
            out.push((severity, code, None));
        } else if let (Some(at), Some(last)) =
            (line.trim_start().strip_prefix("┌─ "), out.last_mut())
        {
            last.2.get_or_insert_with(|| at.to_string());
        }
    }
    out
}

/// `--message-format json` says what the text report says: the same
/// diagnostics in the same order, each with its severity, code and the
/// position the text shows first.
fn same_report(text: &str, json: &[serde_json::Value]) -> Result<(), String> {
    let text = text_diagnostics(text);
    if text.len() != json.len() {
        return Err(format!(
            "{} diagnostics in text, {} in JSON",
            text.len(),
            json.len()
        ));
    }
    for ((severity, code, at), m) in text.iter().zip(json) {
        let field = |k: &str| m[k].as_str().unwrap_or_default().to_string();
        if field("severity") != *severity || field("code") != *code {
            return Err(format!("text {severity}[{code}], JSON {m}"));
        }
        if m["file"].is_string() {
            let json_at = format!("{}:{}:{}", field("file"), m["line"], m["column"]);
            if at.as_deref() != Some(json_at.as_str()) {
                return Err(format!("text at {at:?}, JSON at {json_at}"));
            }
        }
    }
    Ok(())
}
