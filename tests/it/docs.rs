//! The generated docs (`docs/README.md`), proven with their consumers: every
//! Mermaid diagram renders with the real Mermaid CLI (in Debian's Chromium),
//! markdownlint passes with the committed configuration, every relative
//! link resolves to a generated file, and every host, app, database and
//! OpenTofu module of each lab appears on the page.

use crate::common::{Lab, labs, root, stderr, stdout, tool};
use std::path::Path;
use std::process::Command;

const PAGE: &str = "docs/README.md";

/// The ```mermaid blocks of a Markdown text.
fn mermaid_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line) {
            (None, "```mermaid") => current = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// Renders every Mermaid block of the Markdown file `md` with `mmdc` (one
/// SVG per block) and returns the SVGs, or what mmdc said.
fn render(md: &Path) -> Result<Vec<String>, String> {
    let dir = md.parent().expect("a folder");
    let out = dir.join("rendered.md");
    let o = Command::new(tool("tests/validators/node_modules/.bin/mmdc"))
        .arg("--input")
        .arg(md)
        .arg("--output")
        .arg(&out)
        .arg("--puppeteerConfigFile")
        .arg(root().join("tests/validators/puppeteer.json"))
        .arg("--quiet")
        .output()
        .expect("mmdc runs");
    if !o.status.success() {
        return Err(format!("{}{}", stdout(&o), stderr(&o)));
    }
    let mut svgs: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("svg");
            (p.display().to_string(), text)
        })
        .collect();
    svgs.sort();
    Ok(svgs.into_iter().map(|(_, t)| t).collect())
}

#[test]
fn every_mermaid_diagram_renders_with_the_real_mermaid() {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "chromium is missing: run tests/tools/install.sh"
    );
    for lab in labs() {
        lab.build();
        let page = lab.read(PAGE);
        let blocks = mermaid_blocks(&page);
        assert!(blocks.len() >= 2, "{}: {} diagrams", lab.file, blocks.len());
        let scratch = tempfile::tempdir().unwrap();
        let md = scratch.path().join("README.md");
        std::fs::write(&md, &page).unwrap();
        let svgs = render(&md).unwrap_or_else(|e| panic!("{}: mmdc failed:\n{e}", lab.file));
        assert_eq!(
            svgs.len(),
            blocks.len(),
            "{}: one SVG per diagram",
            lab.file
        );
        for (svg, block) in svgs.iter().zip(&blocks) {
            assert!(svg.contains("<svg"), "{svg}");
            assert!(!svg.contains("Syntax error"), "{block}");
        }
        // Every host's label is drawn in the placement diagram.
        for host in labc_names(&lab).0 {
            assert!(svgs[0].contains(&host), "{host} not drawn");
        }
    }
}

/// The check above can fail: a diagram Mermaid cannot parse is reported.
#[test]
fn mermaid_rejects_a_broken_diagram() {
    let scratch = tempfile::tempdir().unwrap();
    let md = scratch.path().join("README.md");
    std::fs::write(
        &md,
        "# x\n\n```mermaid\nflowchart LR\n    a[\"x\" --> ]]\n```\n",
    )
    .unwrap();
    assert!(render(&md).is_err(), "a broken diagram rendered");
}

/// (hosts, apps, databases, modules) of a lab, from labc's own model.
fn labc_names(lab: &Lab) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
    let model = match labc::compile::compile(&lab.path().join(&lab.file)) {
        Ok(c) => c.lab,
        Err(_) => panic!("{} does not compile", lab.file),
    };
    (
        model.hosts.keys().cloned().collect(),
        model.apps.keys().cloned().collect(),
        model.databases.keys().cloned().collect(),
        model
            .tofu
            .iter()
            .flat_map(|t| t.modules.keys().cloned())
            .collect(),
    )
}

#[test]
fn links_resolve_and_the_whole_lab_appears() {
    for lab in labs() {
        lab.build();
        let page = lab.read(PAGE);
        let docs = lab.generated().join("docs");
        let mut links = 0;
        for (i, _) in page.match_indices("](") {
            let rest = &page[i + 2..];
            let target = &rest[..rest.find(')').expect("closed link")];
            // Anchors, and the lab's own URLs (repositories), are not files.
            if target.starts_with('#') || target.starts_with("https://") {
                continue;
            }
            links += 1;
            let file = docs.join(target);
            assert!(file.is_file(), "{}: {target} does not resolve", lab.file);
            let canonical = file.canonicalize().unwrap();
            assert!(
                canonical.starts_with(lab.generated().canonicalize().unwrap()),
                "{target} leaves generated/"
            );
        }
        assert!(links > 10, "{}: only {links} links", lab.file);
        let (hosts, apps, dbs, modules) = labc_names(&lab);
        for name in hosts.iter().chain(&apps).chain(&dbs).chain(&modules) {
            let cell = format!("| {} |", labc::emit::docs::markdown(name));
            assert!(page.contains(&cell), "{}: no row for {name}", lab.file);
        }
    }
}

fn markdownlint(file: &Path) -> std::process::Output {
    Command::new(tool("tests/validators/node_modules/.bin/markdownlint-cli2"))
        .arg("--config")
        .arg(root().join("tests/validators/markdownlint.jsonc"))
        .arg(file)
        .output()
        .expect("markdownlint-cli2 runs")
}

#[test]
fn markdownlint_passes_and_notices_a_broken_page() {
    for lab in labs() {
        lab.build();
        let o = markdownlint(&lab.generated().join(PAGE));
        assert!(
            o.status.success(),
            "{}:\n{}{}",
            lab.file,
            stdout(&o),
            stderr(&o)
        );
    }
    let scratch = tempfile::tempdir().unwrap();
    let bad = scratch.path().join("bad.md");
    std::fs::write(&bad, "# a\n# a\n\n| x |\n|---|---|\n").unwrap();
    assert!(!markdownlint(&bad).status.success());
}
