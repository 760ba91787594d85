//! The validator itself: every labelled example of the API reference validates against its
//! definition, and wrong bodies are rejected with useful messages.

use serde_json::{Value, json};

use crate::support::schema::{self, Edition, spec};

fn examples() -> Vec<Value> {
    let text = include_str!("fixtures/reference-examples.json");
    let doc: Value = serde_json::from_str(text).expect("fixture is JSON");
    doc["examples"].as_array().cloned().expect("examples array")
}

#[test]
fn every_reference_example_matches_its_2023_definition() {
    let all = examples();
    assert!(all.len() >= 25, "the fixture lost examples: {}", all.len());
    let mut failures = Vec::new();
    for e in &all {
        let name = e["definition"].as_str().expect("definition");
        let errors = spec().errors(Edition::Y2023, name, &e["example"]);
        if !errors.is_empty() {
            failures.push(format!("{name} ({}): {errors:?}", e["label"]));
        }
    }
    assert!(
        failures.is_empty(),
        "examples failing:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_reference_example_matches_its_2026_definition_but_the_2023_error_envelope() {
    // The one known exception (docs/protocol.md, "Response envelopes"): `domain.APIError` became a
    // flat {code, message} in 2026, so the 2023-only envelope example cannot satisfy it.
    let mut failures = Vec::new();
    for e in examples() {
        let name = e["definition"].as_str().expect("definition");
        if !spec().has(Edition::Y2026, name) {
            continue;
        }
        let errors = spec().errors(Edition::Y2026, name, &e["example"]);
        if !errors.is_empty() {
            failures.push(format!(
                "{name} ({})",
                e["label"].as_str().unwrap_or_default()
            ));
        }
    }
    assert_eq!(failures, vec!["domain.APIError (err 400 2023)".to_string()]);
}

#[test]
fn the_dual_shape_error_example_matches_both_editions() {
    // docs/protocol.md, "Response envelopes": the body the emulator sends for RTR errors satisfies
    // the 2023 envelope and the 2026 flat {code, message} at once; the 2023-only envelope does not
    // satisfy 2026.
    let all = examples();
    let find = |label: &str| {
        all.iter()
            .find(|e| e["label"] == label)
            .map(|e| e["example"].clone())
            .unwrap_or_else(|| panic!("no example {label:?}"))
    };
    schema::validate_definition("domain.APIError", &find("both 400"));
    let old = find("err 400 2023");
    assert!(
        spec()
            .errors(Edition::Y2023, "domain.APIError", &old)
            .is_empty()
    );
    let errs = spec().errors(Edition::Y2026, "domain.APIError", &old);
    assert!(
        errs.iter().any(|e| e.contains("code")),
        "the 2026 definition should want `code`: {errs:?}"
    );
}

fn reply_meta_only() -> Value {
    json!({
        "meta": { "query_time": 0.01, "powered_by": "csam", "trace_id": "t" },
        "errors": []
    })
}

#[test]
fn a_missing_required_key_is_rejected_with_its_path() {
    let mut body = reply_meta_only();
    body["meta"]
        .as_object_mut()
        .expect("object")
        .remove("trace_id");
    let errors = spec().errors(Edition::Y2023, "msa.ReplyMetaOnly", &body);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("/meta") && errors[0].contains("trace_id"),
        "{errors:?}"
    );
}

#[test]
fn null_errors_are_rejected_where_the_spec_does_not_allow_them() {
    let body = json!({
        "meta": { "query_time": 0.01, "trace_id": "t" },
        "resources": [],
        "errors": null
    });
    let errors = spec().errors_both("domain.StatusResponseWrapper", &body);
    assert!(
        errors.iter().any(|e| e.contains("/errors")),
        "errors: null must fail: {errors:?}"
    );
}

#[test]
fn a_wrong_type_deep_inside_is_reported_at_its_path() {
    let body = json!({
        "meta": { "query_time": 0.01, "trace_id": "t" },
        "errors": [],
        "resources": [{
            "session_id": "s", "complete": "yes", "stdout": "", "stderr": ""
        }]
    });
    let errors = spec().errors_both("domain.StatusResponseWrapper", &body);
    assert!(
        errors.iter().any(|e| e.contains("/resources/0/complete")),
        "{errors:?}"
    );
    assert!(errors.iter().any(|e| e.starts_with("[2023]")));
    assert!(errors.iter().any(|e| e.starts_with("[2026]")));
}

#[test]
fn a_bad_date_time_is_rejected_and_unknown_formats_are_ignored() {
    let mut file = json!({
        "id": 1, "cloud_request_id": "c", "session_id": "s", "name": "n", "sha256": "x",
        "size": 3, "created_at": "2026-11-22T10:20:01Z", "updated_at": "2026-11-22T10:20:01Z",
        "deleted_at": "0001-01-01T00:00:00Z"
    });
    assert!(
        spec()
            .errors(Edition::Y2023, "model.File", &file)
            .is_empty()
    );
    file["deleted_at"] = json!("yesterday");
    let errors = spec().errors(Edition::Y2023, "model.File", &file);
    assert!(
        errors.iter().any(|e| e.contains("/deleted_at")),
        "{errors:?}"
    );
}

#[test]
fn validate_response_panics_with_every_error_and_the_body() {
    let body = json!({ "errors": null });
    let panic = std::panic::catch_unwind(|| {
        schema::validate_response(
            "POST",
            "/real-time-response/entities/sessions/v1",
            201,
            &body,
        )
    })
    .expect_err("an invalid init reply must fail");
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("domain.InitResponseWrapper"), "{msg}");
    assert!(msg.contains("meta"), "{msg}");
    assert!(msg.contains("/errors"), "{msg}");
    assert!(msg.contains("body:"), "{msg}");
}

#[test]
fn undeclared_statuses_and_unknown_paths_are_not_schema_checked() {
    assert_eq!(
        spec().response_definition("POST", "/real-time-response/entities/sessions/v1", 404),
        None
    );
    assert_eq!(spec().response_definition("GET", "/nope", 200), None);
    schema::validate_response("GET", "/nope", 200, &json!("anything"));
}

#[test]
fn request_bodies_are_checked_too() {
    schema::validate_request(
        "domain.InitRequest",
        &json!({ "device_id": "a", "origin": "o", "queue_offline": false }),
    );
    let errors = spec().errors_both("domain.InitRequest", &json!({ "device_id": "a" }));
    assert!(errors.iter().any(|e| e.contains("origin")), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("queue_offline")),
        "{errors:?}"
    );
}
