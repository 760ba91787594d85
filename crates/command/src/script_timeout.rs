//! `runscript -Timeout`: the sensor stops a script that outlives it, and it defaults to 30 s.
//!
//! Evidence (docs/protocol.md, "Script timeout"): Falcon-Toolkit's help gives 30 s as the default;
//! a maintainer explains 50401 "Exceeded maximum timeout" as scripts outliving that window
//! (psfalcon#56); PSFalcon therefore always appends `-Timeout` (3595 s for one host, the request
//! timeout minus 2 s for batches). rtrsh does the same, matched to its own wait: a script the user
//! did not limit may run as long as rtrsh waits for it, and no longer:
//! - one host: rtrsh's poll limit (`--command-timeout`), at most 3595 s (PSFalcon's value, the
//!   largest one known to be accepted);
//! - a fleet: the batch timeout minus 2 s, so the script ends (and says so) before the batch
//!   request gives up on the host.
//!
//! The largest `-Timeout` accepted is [`MAX_SECONDS`], one hour. No source documents a maximum:
//! PSFalcon's 3595 s is its "just under the limit" value, as its batch value (request timeout
//! minus 2 s) is just under the request's limit, which puts the limit at 3600 s. The old help
//! text's "max 600" had no source (600 s is the batch *request* timeout PSFalcon validates, a
//! different thing). rtrsh refuses more than an hour, and 0, locally (`help runscript` says so);
//! every value it appends itself is within that.
//!
//! Only the spelling `-Timeout` is accepted (the catalog refuses `-timeout` and suggests
//! `-Timeout`): flags are case-sensitive as written (docs/protocol.md, "Command tiers") and every
//! client that sends one (PSFalcon, Falcon-Toolkit) writes `-Timeout`. Sending `-timeout` would
//! also risk the worst case: a host that ignores it stops the script at its 30 s default while
//! rtrsh, seeing a timeout given, appends none.
//!
//! A `-Timeout` the user gave is left alone. What a stopped script returns
//! is undocumented, so [`looks_cut_off`] recognises it tolerantly.

use std::time::Duration;

use crate::lexer;

/// The largest `-Timeout` rtrsh appends for one host (PSFalcon's single-host value).
pub const MAX_SINGLE_HOST: u64 = 3595;

/// The largest `-Timeout` accepted at all (see the module documentation).
pub const MAX_SECONDS: u64 = 3600;

/// The `-Timeout` rtrsh appends for one host that it waits for `wait`.
pub fn single_host_seconds(wait: Duration) -> u64 {
    wait.as_secs().clamp(1, MAX_SINGLE_HOST)
}

/// The `-Timeout` rtrsh appends on a fleet whose batch requests wait `batch_timeout`.
pub fn fleet_seconds(batch_timeout: Duration) -> u64 {
    batch_timeout
        .as_secs()
        .saturating_sub(2)
        .clamp(1, MAX_SECONDS)
}

fn is_runscript(words: &[String]) -> bool {
    words
        .first()
        .is_some_and(|w| w.eq_ignore_ascii_case("runscript"))
}

/// The `-Timeout` value given on a `runscript` line, if any (any letter case).
pub fn given(words: &[String]) -> Option<&str> {
    if !is_runscript(words) {
        return None;
    }
    words.iter().skip(1).find_map(|w| {
        let (name, value) = lexer::split_flag(w);
        name.eq_ignore_ascii_case("-Timeout")
            .then(|| value.unwrap_or_default())
    })
}

/// `line` as rtrsh sends it: a `runscript` line without `-Timeout` gets ` -Timeout=SECONDS`
/// appended; every other line is returned unchanged.
pub fn with_timeout(line: &str, words: &[String], seconds: u64) -> String {
    if !is_runscript(words) || given(words).is_some() {
        return line.to_string();
    }
    format!("{} -Timeout={seconds}", line.trim_end())
}

/// Whether a `runscript`'s stderr says the script was stopped by its time limit. The sensor's
/// wording is unknown: any last line that speaks of a timeout counts.
pub fn looks_cut_off(stderr: &str) -> bool {
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_ascii_lowercase();
    ["timeout", "timed out", "time out", "time-out", "time limit"]
        .iter()
        .any(|k| last.contains(k))
}

/// The one-line note for a script stopped by its time limit.
pub fn cut_off_note(words: &[String]) -> String {
    match given(words) {
        Some(v) if !v.is_empty() => format!(
            "the script was stopped by its time limit (-Timeout={v} seconds); give it more with a larger -Timeout=SECONDS"
        ),
        _ => "the script was stopped by its time limit (-Timeout); give it more with a larger -Timeout=SECONDS".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(line: &str) -> Vec<String> {
        lexer::words(line).expect("lexes")
    }

    #[test]
    fn appends_only_when_missing() {
        let l = "runscript -Raw=```Start-Sleep 5```";
        assert_eq!(
            with_timeout(l, &w(l), 900),
            "runscript -Raw=```Start-Sleep 5``` -Timeout=900"
        );
        for l in [
            "runscript -CloudFile=x -Timeout=5",
            "runscript -CloudFile=x -timeout=5",
            "runscript -CloudFile=x -TIMEOUT=5",
            "ls -Timeout",
            "ls C:\\",
        ] {
            assert_eq!(with_timeout(l, &w(l), 900), l, "{l}");
        }
        assert_eq!(given(&w("runscript -CloudFile=x -timeout=7")), Some("7"));
        assert_eq!(given(&w("ls -Timeout=7")), None);
    }

    #[test]
    fn seconds_follow_the_wait() {
        assert_eq!(single_host_seconds(Duration::from_secs(900)), 900);
        assert_eq!(single_host_seconds(Duration::from_secs(86_400)), 3595);
        assert_eq!(single_host_seconds(Duration::from_millis(10)), 1);
        assert_eq!(fleet_seconds(Duration::from_secs(30)), 28);
        assert_eq!(fleet_seconds(Duration::from_secs(1)), 1);
    }

    #[test]
    fn cut_off_is_recognised_tolerantly() {
        assert!(looks_cut_off(
            "partial\nThe script did not finish within its timeout of 30 seconds and was stopped.\n"
        ));
        assert!(looks_cut_off("Script execution TIMED OUT\n\n"));
        assert!(!looks_cut_off(
            "timeout talking to the server\nother error\n"
        ));
        assert!(!looks_cut_off(""));
    }
}
