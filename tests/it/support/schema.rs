//! Validation of JSON bodies against the Falcon RTR spec: the official 2023 Swagger subset
//! (`spec/falcon-rtr-openapi.json`) and, where it has a definition of the same name, the 2026
//! reconstruction (`spec/falcon-rtr-definitions-2026-reconstructed.json`).
//!
//! Swagger 2.0 definitions are draft-4 JSON Schema plus a few extensions. Each definition is
//! compiled from a root document `{"definitions": ..., "$ref": "#/definitions/NAME"}`; unknown
//! formats (`"integer"`, `"int32"`, ...) are ignored, `date-time` is checked, and `x-nullable`
//! properties also accept `null`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};

/// Which spec file a definition comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Edition {
    Y2023,
    Y2026,
}

pub struct Spec {
    paths: Value,
    defs23: Value,
    defs26: Value,
    compiled: Mutex<HashMap<(Edition, String), Arc<jsonschema::Validator>>>,
}

/// The spec, loaded once per test binary.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(Spec::load)
}

fn read_json(rel: &str) -> Value {
    let path = format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"))
}

/// Rewrites `x-nullable: true` into something draft 4 understands.
fn nullable(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                nullable(child);
            }
            if map.get("x-nullable") == Some(&Value::Bool(true)) {
                map.remove("x-nullable");
                if let Some(Value::String(t)) = map.get("type").cloned() {
                    map.insert("type".into(), json!([t, "null"]));
                } else if let Some(r) = map.remove("$ref") {
                    // Siblings of `$ref` are ignored in draft 4: wrap it.
                    map.insert("anyOf".into(), json!([{ "$ref": r }, { "type": "null" }]));
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(nullable),
        _ => {}
    }
}

impl Spec {
    fn load() -> Spec {
        let mut doc23 = read_json("spec/falcon-rtr-openapi.json");
        let mut doc26 = read_json("spec/falcon-rtr-definitions-2026-reconstructed.json");
        nullable(&mut doc23);
        nullable(&mut doc26);
        Spec {
            paths: doc23["paths"].take(),
            defs23: doc23["definitions"].take(),
            defs26: doc26["definitions"].take(),
            compiled: Mutex::new(HashMap::new()),
        }
    }

    fn defs(&self, ed: Edition) -> &Value {
        match ed {
            Edition::Y2023 => &self.defs23,
            Edition::Y2026 => &self.defs26,
        }
    }

    pub fn has(&self, ed: Edition, name: &str) -> bool {
        self.defs(ed).get(name).is_some()
    }

    /// The definition a response of `method path` with `status` is declared with, if any.
    pub fn response_definition(&self, method: &str, path: &str, status: u16) -> Option<String> {
        let r = self
            .paths
            .get(path)?
            .get(method.to_ascii_lowercase())?
            .get("responses")?
            .get(status.to_string())?;
        let reference = r.get("schema")?.get("$ref")?.as_str()?;
        reference.strip_prefix("#/definitions/").map(str::to_string)
    }

    /// Whether the spec lists this path and method at all.
    pub fn has_operation(&self, method: &str, path: &str) -> bool {
        self.paths
            .get(path)
            .and_then(|p| p.get(method.to_ascii_lowercase()))
            .is_some()
    }

    fn validator(&self, ed: Edition, name: &str) -> Arc<jsonschema::Validator> {
        let mut cache = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = cache.get(&(ed, name.to_string())) {
            return v.clone();
        }
        assert!(
            self.has(ed, name),
            "no definition {name} in the {ed:?} spec"
        );
        let root = json!({
            "definitions": self.defs(ed),
            "$ref": format!("#/definitions/{name}"),
        });
        let v = jsonschema::draft4::options()
            .should_validate_formats(true)
            .should_ignore_unknown_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("compiling {ed:?} definition {name}: {e}"));
        let v = Arc::new(v);
        cache.insert((ed, name.to_string()), v.clone());
        v
    }

    /// Every schema error of `instance` against one definition, as `at <path>: <message>`.
    pub fn errors(&self, ed: Edition, name: &str, instance: &Value) -> Vec<String> {
        self.validator(ed, name)
            .iter_errors(instance)
            .map(|e| {
                let at = e.instance_path().to_string();
                let at = if at.is_empty() { "/".to_string() } else { at };
                format!("at {at}: {e}")
            })
            .collect()
    }

    /// Errors against the 2023 definition and, if it exists there, the 2026 one.
    pub fn errors_both(&self, name: &str, instance: &Value) -> Vec<String> {
        let mut out: Vec<String> = self
            .errors(Edition::Y2023, name, instance)
            .into_iter()
            .map(|e| format!("[2023] {e}"))
            .collect();
        if self.has(Edition::Y2026, name) {
            out.extend(
                self.errors(Edition::Y2026, name, instance)
                    .into_iter()
                    .map(|e| format!("[2026] {e}")),
            );
        }
        out
    }
}

fn excerpt(v: &Value) -> String {
    let s = serde_json::to_string_pretty(v).unwrap_or_default();
    if s.len() > 4000 {
        let mut end = 4000;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}\n... ({} bytes in all)", &s[..end], s.len())
    } else {
        s
    }
}

fn report(what: &str, name: &str, errors: &[String], body: &Value) -> String {
    let mut msg = format!("{what} does not match {name}:\n");
    for e in errors {
        let _ = writeln!(msg, "  - {e}");
    }
    let _ = write!(msg, "body:\n{}", excerpt(body));
    msg
}

/// Validates a response body against the definition the spec declares for `method path status`
/// (2023 and, when present, 2026). Undeclared statuses are not validated. Panics with every
/// schema error.
#[track_caller]
pub fn validate_response(method: &str, path: &str, status: u16, body: &Value) {
    let spec = spec();
    let Some(name) = spec.response_definition(method, path, status) else {
        return;
    };
    let errors = spec.errors_both(&name, body);
    if !errors.is_empty() {
        panic!(
            "{}",
            report(
                &format!("response to {method} {path} ({status})"),
                &name,
                &errors,
                body
            )
        );
    }
}

/// Validates a request body against a definition (2023 and, when present, 2026).
#[track_caller]
pub fn validate_request(definition: &str, body: &Value) {
    let errors = spec().errors_both(definition, body);
    if !errors.is_empty() {
        panic!("{}", report("request body", definition, &errors, body));
    }
}

/// Validates any body against a named definition (2023 and, when present, 2026).
#[track_caller]
pub fn validate_definition(definition: &str, body: &Value) {
    let errors = spec().errors_both(definition, body);
    if !errors.is_empty() {
        panic!("{}", report("body", definition, &errors, body));
    }
}
