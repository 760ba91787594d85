//! The committed shell completions and man page match what the binary generates now (CI runs
//! this test, so a change to the command line without regenerating them fails CI).

use std::path::Path;

use rtrsh::cli::docs::{COMPLETION_FILES, MAN_FILE, completion_script, man_page};

const REGENERATE: &str = "run scripts/gen-completions.sh and commit the result";

fn committed(relative: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{} is missing ({e}): {REGENERATE}", path.display()))
}

/// The first differing line, for a readable failure.
fn first_difference(old: &[u8], new: &[u8]) -> String {
    let old = String::from_utf8_lossy(old);
    let new = String::from_utf8_lossy(new);
    for (i, (a, b)) in old.lines().zip(new.lines()).enumerate() {
        if a != b {
            return format!("line {}: committed {a:?}, generated {b:?}", i + 1);
        }
    }
    format!(
        "committed has {} lines, generated {}",
        old.lines().count(),
        new.lines().count()
    )
}

#[test]
fn shell_completions_are_fresh() {
    for (shell, file) in COMPLETION_FILES {
        let relative = format!("completions/{file}");
        let generated = completion_script(*shell);
        let on_disk = committed(&relative);
        assert!(
            generated == on_disk,
            "{relative} is stale ({}): {REGENERATE}",
            first_difference(&on_disk, &generated)
        );
    }
}

#[test]
fn man_page_is_fresh() {
    let generated = man_page().expect("renders");
    let on_disk = committed(MAN_FILE);
    assert!(
        generated == on_disk,
        "{MAN_FILE} is stale ({}): {REGENERATE}",
        first_difference(&on_disk, &generated)
    );
}

#[test]
fn every_shell_is_covered() {
    use clap::ValueEnum;
    for shell in clap_complete::Shell::value_variants() {
        assert!(
            COMPLETION_FILES.iter().any(|(s, _)| s == shell),
            "no committed completions for {shell}"
        );
    }
    let bash = String::from_utf8(completion_script(clap_complete::Shell::Bash)).expect("utf-8");
    assert!(bash.contains("rtrsh") && bash.contains("completions"));
}

#[test]
fn the_binary_prints_the_committed_files() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_rtrsh"))
            .args(args)
            .output()
            .expect("runs rtrsh");
        assert!(out.status.success(), "rtrsh {args:?}: {:?}", out.status);
        out.stdout
    };
    assert!(run(&["completions", "zsh"]) == committed("completions/_rtrsh"));
    assert!(run(&["man"]) == committed(MAN_FILE));
}
