//! Fails on tests that sleep to wait for something: they should await the telemetry (or the
//! output) that proves the work happened. A sleep that *is* the behaviour under test carries a
//! comment saying so (`behaviour`, `intended` or `deliberate`) on its line or the line above.

use std::path::Path;

const PATTERNS: &[&str] = &[
    "thread::sleep",
    "time::sleep",
    "sleep(Duration",
    "sleep_ms(",
];
const EXCUSES: &[&str] = &[
    "behaviour",
    "behavior",
    "intended",
    "deliberate",
    "on purpose",
];

pub(crate) fn check(root: &Path) -> Result<(), String> {
    let mut files = Vec::new();
    collect(root, &mut files);
    let mut hits = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let rel = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        let in_tests_dir = rel.split('/').any(|part| part == "tests");
        let lines: Vec<&str> = text.lines().collect();
        let start = if in_tests_dir {
            0
        } else {
            match lines.iter().position(|l| l.contains("#[cfg(test)]")) {
                Some(i) => i,
                None => continue,
            }
        };
        for (i, line) in lines.iter().enumerate().skip(start) {
            if !PATTERNS.iter().any(|p| line.contains(p)) {
                continue;
            }
            let excused =
                |l: &str| l.contains("//") && EXCUSES.iter().any(|e| l.to_lowercase().contains(e));
            if excused(line) || i.checked_sub(1).is_some_and(|j| excused(lines[j])) {
                continue;
            }
            hits.push(format!("{rel}:{}: {}", i + 1, line.trim()));
        }
    }
    if hits.is_empty() {
        println!("<== no sleep-to-wait in tests");
        Ok(())
    } else {
        Err(format!(
            "tests sleep to wait (await the telemetry that proves the work instead, or comment \
             a sleep that is the behaviour under test):\n  {}",
            hits.join("\n  ")
        ))
    }
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !matches!(name.as_ref(), "target" | ".git" | ".cache" | "xtask") {
                collect(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}
