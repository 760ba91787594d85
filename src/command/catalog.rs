//! STUB: the catalog of every RTR command is being written.

use super::{Platform, Tier};

/// The lowest tier whose endpoints accept this command line, from its words
/// (`["reg", "query", ...]` → read-only, `["reg", "set", ...]` → active-responder).
/// `None` when the command is unknown.
pub fn required_tier(words: &[String]) -> Option<Tier> {
    match words.first().map(String::as_str) {
        Some("rm" | "mkdir" | "kill" | "get" | "cp" | "mv") => Some(Tier::ActiveResponder),
        Some("put" | "run") => Some(Tier::Admin),
        Some(_) => Some(Tier::ReadOnly),
        None => None,
    }
}

/// The `scripts` help catalogue that session init returns for a platform
/// (an array of `domain.ScriptHelp`).
pub fn script_help(_platform: Platform) -> serde_json::Value {
    serde_json::json!([])
}
