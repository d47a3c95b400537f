//! The examples in `docs/` are true: every ```toml and ```json block of every file there
//! parses. A TOML block holding both `version` and `[categories…]` is a whole policy and
//! must pass [`Policy::parse`] (the file format in `docs/policy.md` is one); any other TOML
//! block is a fragment of something larger and is checked as TOML only. A JSON block holds
//! one value, or one value per line.

use std::path::{Path, PathBuf};

use herald_domain::Policy;

/// One fenced block: where it is, its language and its text.
struct Block {
    at: String,
    lang: &'static str,
    text: String,
}

fn blocks(file: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut found = Vec::new();
    let mut open: Option<(usize, &'static str, String)> = None;
    for (n, line) in text.lines().enumerate() {
        let fence = line.trim_start();
        match &mut open {
            Some((start, lang, body)) => {
                if fence.starts_with("```") {
                    found.push(Block {
                        at: format!("{}:{}", file.display(), *start + 1),
                        lang,
                        text: std::mem::take(body),
                    });
                    open = None;
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
            None => {
                if let Some(tag) = fence.strip_prefix("```") {
                    let lang = match tag.trim() {
                        "toml" => "toml",
                        "json" => "json",
                        _ => "other",
                    };
                    open = Some((n, lang, String::new()));
                }
            }
        }
    }
    assert!(
        open.is_none(),
        "{}: a code block is never closed",
        file.display()
    );
    found
}

fn docs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no docs in {}", dir.display());
    files
}

#[test]
fn every_toml_and_json_example_in_the_docs_parses() {
    let mut problems = Vec::new();
    let mut whole_policies = Vec::new();
    let mut checked = 0;
    for file in docs() {
        for block in blocks(&file) {
            match block.lang {
                "toml" => {
                    checked += 1;
                    let table: toml::Table = match toml::from_str(&block.text) {
                        Ok(t) => t,
                        Err(e) => {
                            problems.push(format!("{}: not TOML: {e}", block.at));
                            continue;
                        }
                    };
                    if table.contains_key("version") && table.contains_key("categories") {
                        whole_policies.push(block.at.clone());
                        if let Err(e) = Policy::parse(&block.text) {
                            problems.push(format!("{}: not a valid policy: {e}", block.at));
                        }
                    }
                }
                "json" => {
                    checked += 1;
                    let one: Result<serde_json::Value, _> = serde_json::from_str(&block.text);
                    if one.is_err() {
                        for (n, line) in block.text.lines().enumerate() {
                            if line.trim().is_empty() {
                                continue;
                            }
                            if let Err(e) = serde_json::from_str::<serde_json::Value>(line) {
                                problems.push(format!(
                                    "{} (line {} of the block): not JSON, as one value or one a line: {e}",
                                    block.at,
                                    n + 1
                                ));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked > 0, "no examples found in docs/");
    assert!(
        whole_policies.iter().any(|at| at.contains("policy.md")),
        "docs/policy.md's file format is checked as a whole policy; whole policies: {whole_policies:?}"
    );
}
