//! The admin libraries behind `put` and `runscript -CloudFile` (docs/protocol.md,
//! "Put-files and scripts"): list, get, create (multipart), update and delete put-files and custom
//! scripts; and the read-only Falcon scripts catalogue behind `falconscript` (2026 spec).

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::content::Content;
use crate::handlers::sessions::user_uuid;
use crate::handlers::{Call, Query, parse_filter, rfc3339};
use crate::http::{ApiError, ApiResult, ErrorShape, PoweredBy, json_reply, meta, ok, ok_paged};
use crate::state::{Emulator, Library, PutFileRec, ScriptRec};

fn meta_only(status: StatusCode) -> ApiResult {
    Ok(json_reply(
        status,
        &json!({ "meta": meta(PoweredBy::Rtr), "errors": [] }),
    ))
}

fn ids_page(q: &Query, mut items: Vec<(String, String, SystemTime)>) -> ApiResult {
    let (limit, offset) = q.paging()?;
    if let Some(f) = q.get("filter").filter(|f| !f.is_empty()) {
        let filter = parse_filter(f)?;
        struct Named<'a>(&'a str);
        impl crate::fql::Record for Named<'_> {
            fn field(&self, name: &str) -> Option<crate::fql::Value<'_>> {
                (name == "name").then_some(crate::fql::Value::Str(self.0))
            }
        }
        items.retain(|(_, name, _)| filter.matches(&Named(name)));
    }
    let sort = q.get("sort").unwrap_or_default().to_ascii_lowercase();
    if sort.starts_with("name") {
        items.sort_by(|a, b| a.1.cmp(&b.1));
    } else {
        items.sort_by_key(|a| a.2);
    }
    if sort.ends_with("desc") {
        items.reverse();
    }
    let total = items.len();
    let ids: Vec<String> = items
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|(id, _, _)| id)
        .collect();
    Ok(ok_paged(PoweredBy::Rtr, offset, limit, total, json!(ids)))
}

/// The audit fields every library record shows, and in the v2 shape the workflow fields, added
/// to `v` (the fields of the record's own kind).
fn with_audit_fields(
    mut v: Value,
    created_by: &str,
    created_at: SystemTime,
    modified_at: SystemTime,
    v2: bool,
) -> Value {
    v["created_by"] = json!(created_by);
    v["created_by_uuid"] = json!(user_uuid(created_by));
    v["created_timestamp"] = json!(rfc3339(created_at));
    v["modified_by"] = json!(created_by);
    v["modified_by_uuid"] = json!(user_uuid(created_by));
    v["modified_timestamp"] = json!(rfc3339(modified_at));
    v["run_attempt_count"] = json!(0);
    v["run_success_count"] = json!(0);
    v["write_access"] = json!(true);
    if v2 {
        v["share_with_workflow"] = json!(false);
        v["workflow_is_disruptive"] = json!(false);
    }
    v
}

fn put_file_json(p: &PutFileRec, v2: bool) -> Value {
    let v = json!({
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "comments_for_audit_log": p.comments_for_audit_log,
        "file_type": "binary",
        "platform": ["windows"],
        "permission_type": "public",
        "size": p.content.len(),
        "sha256": p.content.sha256_hex(),
    });
    with_audit_fields(v, &p.created_by, p.created_at, p.created_at, v2)
}

fn script_json(s: &ScriptRec, v2: bool) -> Value {
    let v = json!({
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "comments_for_audit_log": s.comments_for_audit_log,
        "file_type": "script",
        "platform": s.platform,
        "permission_type": s.permission_type,
        "content": s.content,
        "size": s.content.len(),
        "sha256": Content::text(s.content.clone()).sha256_hex(),
    });
    with_audit_fields(v, &s.created_by, s.created_at, s.modified_at, v2)
}

/// One of the two admin libraries: the put-files or the custom scripts. Their endpoints behave
/// alike; only the records and the names in messages differ.
#[derive(Clone, Copy)]
enum Shelf {
    PutFiles,
    Scripts,
}

impl Shelf {
    /// What one record is called in messages.
    fn noun(self) -> &'static str {
        match self {
            Shelf::PutFiles => "put-file",
            Shelf::Scripts => "script",
        }
    }

    /// Every record's id, name and creation time (what queries filter and sort by).
    fn keys(self, lib: &Library) -> Vec<(String, String, SystemTime)> {
        match self {
            Shelf::PutFiles => lib
                .put_files
                .iter()
                .map(|p| (p.id.clone(), p.name.clone(), p.created_at))
                .collect(),
            Shelf::Scripts => lib
                .scripts
                .iter()
                .map(|s| (s.id.clone(), s.name.clone(), s.created_at))
                .collect(),
        }
    }

    /// The records whose ids are in `ids`, in the v1 or v2 shape.
    fn records(self, lib: &Library, ids: &[String], v2: bool) -> Vec<Value> {
        fn pick<T>(
            items: &[T],
            ids: &[String],
            id: impl Fn(&T) -> &String,
            json: impl Fn(&T) -> Value,
        ) -> Vec<Value> {
            items
                .iter()
                .filter(|x| ids.contains(id(x)))
                .map(json)
                .collect()
        }
        match self {
            Shelf::PutFiles => pick(&lib.put_files, ids, |p| &p.id, |p| put_file_json(p, v2)),
            Shelf::Scripts => pick(&lib.scripts, ids, |s| &s.id, |s| script_json(s, v2)),
        }
    }

    /// Removes the record `id`; false when there is none.
    fn remove(self, lib: &mut Library, id: &str) -> bool {
        fn remove_by_id<T>(items: &mut Vec<T>, id: &str, get: impl Fn(&T) -> &str) -> bool {
            let before = items.len();
            items.retain(|x| get(x) != id);
            items.len() != before
        }
        match self {
            Shelf::PutFiles => remove_by_id(&mut lib.put_files, id, |p| &p.id),
            Shelf::Scripts => remove_by_id(&mut lib.scripts, id, |s| &s.id),
        }
    }

    /// The 409 for a new record whose name is taken.
    fn name_taken(self, name: &str) -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            409,
            format!("A {} named {name} already exists", self.noun()),
        )
    }
}

/// The records whose ids are in the `ids` query parameter, as `pick` finds them, or a 404
/// naming `what` when none matches.
fn records_by_ids(q: &Query, what: &str, pick: impl FnOnce(&[String]) -> Vec<Value>) -> ApiResult {
    let ids = q.all("ids");
    if ids.is_empty() {
        return Err(ApiError::bad_request("ids is a required parameter"));
    }
    let found = pick(&ids);
    if found.is_empty() {
        return Err(ApiError::not_found(format!(
            "No {what} found for the given ids"
        )));
    }
    Ok(ok(StatusCode::OK, PoweredBy::Rtr, Value::Array(found)))
}

/// `GET .../queries/{put-files,scripts}/v1`: ids, with `filter` (on `name`), `limit`, `offset`
/// and `sort`.
fn query(emu: &Emulator, q: &Query, shelf: Shelf) -> ApiResult {
    let items = shelf.keys(&emu.lock().library);
    ids_page(q, items)
}

/// `GET .../entities/{put-files,scripts}/v{1,2}?ids=...`
fn get(emu: &Emulator, q: &Query, shelf: Shelf, v2: bool) -> ApiResult {
    let what = format!("{}s", shelf.noun());
    records_by_ids(q, &what, |ids| shelf.records(&emu.lock().library, ids, v2))
}

/// `DELETE .../entities/{put-files,scripts}/v1?ids=...`
fn delete(emu: &Emulator, q: &Query, shelf: Shelf) -> ApiResult {
    let id = q.required("ids")?.to_string();
    if !shelf.remove(&mut emu.lock().library, &id) {
        return Err(
            ApiError::not_found(format!("Could not find {} {id}", shelf.noun()))
                .shape(ErrorShape::MetaOnly),
        );
    }
    meta_only(StatusCode::OK)
}

/// The query, get (v1 and v2) and delete handlers of one library.
macro_rules! shelf_handlers {
    ($query:ident, $get_v1:ident, $get_v2:ident, $delete:ident, $shelf:expr) => {
        pub async fn $query(State(emu): State<Arc<Emulator>>, q: Query) -> ApiResult {
            query(&emu, &q, $shelf)
        }

        pub async fn $get_v1(State(emu): State<Arc<Emulator>>, q: Query) -> ApiResult {
            get(&emu, &q, $shelf, false)
        }

        pub async fn $get_v2(State(emu): State<Arc<Emulator>>, q: Query) -> ApiResult {
            get(&emu, &q, $shelf, true)
        }

        pub async fn $delete(State(emu): State<Arc<Emulator>>, q: Query) -> ApiResult {
            delete(&emu, &q, $shelf)
        }
    };
}

shelf_handlers!(
    query_put_files,
    get_put_files_v1,
    get_put_files_v2,
    delete_put_file,
    Shelf::PutFiles
);
shelf_handlers!(
    query_scripts,
    get_scripts_v1,
    get_scripts_v2,
    delete_script,
    Shelf::Scripts
);

/// The parts of a multipart form: text fields and, for `file`, its bytes and file name.
#[derive(Default)]
pub struct Form {
    fields: Vec<(String, String)>,
    file: Option<(Option<String>, bytes::Bytes)>,
}

impl Form {
    fn get(&self, k: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn all(&self, k: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// A multipart request body as a [`Form`]; a body that is not one is refused as `Multipart`
/// refuses it, a part that cannot be read is a 400.
impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mp = Multipart::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        read_form(mp).await.map_err(IntoResponse::into_response)
    }
}

async fn read_form(mut mp: Multipart) -> Result<Form, ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(format!("Invalid multipart body: {e}"))
    };
    let mut form = Form::default();
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let fname = field.file_name().map(str::to_string);
            form.file = Some((fname, field.bytes().await.map_err(bad)?));
        } else {
            form.fields.push((name, field.text().await.map_err(bad)?));
        }
    }
    Ok(form)
}

pub async fn create_put_file(Call { emu, caller, .. }: Call, form: Form) -> ApiResult {
    let Some((fname, data)) = form.file.clone() else {
        return Err(ApiError::bad_request("file is required"));
    };
    let description = form
        .get("description")
        .ok_or_else(|| ApiError::bad_request("description is required"))?;
    let name = form
        .get("name")
        .map(str::to_string)
        .or(fname)
        .ok_or_else(|| ApiError::bad_request("name is required"))?;
    let comments = form.get("comments_for_audit_log").unwrap_or_default();
    if comments.len() > 4096 {
        return Err(ApiError::bad_request(
            "comments_for_audit_log must be at most 4096 characters",
        ));
    }
    let mut inner = emu.lock();
    if inner.library.put_files.iter().any(|p| p.name == name) {
        return Err(Shelf::PutFiles.name_taken(&name));
    }
    let id = inner.rng.hex32();
    inner.library.put_files.push(PutFileRec {
        id,
        name,
        description: description.to_string(),
        comments_for_audit_log: comments.to_string(),
        content: Content::bytes(data),
        created_at: SystemTime::now(),
        created_by: caller.client_id.clone(),
    });
    drop(inner);
    meta_only(StatusCode::OK)
}

fn script_fields(form: &Form, s: &mut ScriptRec) -> Result<(), ApiError> {
    if let Some((_, data)) = &form.file {
        s.content = String::from_utf8(data.to_vec())
            .map_err(|_| ApiError::bad_request("script file must be UTF-8 text"))?;
    }
    if let Some(c) = form.get("content") {
        s.content = c.to_string();
    }
    if let Some(d) = form.get("description") {
        s.description = d.to_string();
    }
    if let Some(n) = form.get("name") {
        s.name = n.to_string();
    }
    if let Some(c) = form.get("comments_for_audit_log") {
        s.comments_for_audit_log = c.to_string();
    }
    if let Some(p) = form.get("permission_type") {
        if !["private", "group", "public", "none"].contains(&p) {
            return Err(ApiError::bad_request(
                "permission_type must be private, group or public",
            ));
        }
        s.permission_type = p.to_string();
    }
    let platforms = form.all("platform");
    if !platforms.is_empty() {
        let list: Vec<String> = platforms
            .iter()
            .flat_map(|p| p.split(','))
            .map(|p| p.trim().to_ascii_lowercase())
            .collect();
        if list
            .iter()
            .any(|p| !["windows", "mac", "linux"].contains(&p.as_str()))
        {
            return Err(ApiError::bad_request(
                "platform must be windows, mac or linux",
            ));
        }
        s.platform = list;
    }
    s.modified_at = SystemTime::now();
    Ok(())
}

pub async fn create_script(Call { emu, caller, .. }: Call, form: Form) -> ApiResult {
    if form.get("description").is_none() {
        return Err(ApiError::bad_request("description is required"));
    }
    if form.get("permission_type").is_none() {
        return Err(ApiError::bad_request("permission_type is required"));
    }
    if form.file.is_none() && form.get("content").is_none() {
        return Err(ApiError::bad_request("either file or content is required"));
    }
    let now = SystemTime::now();
    let mut s = ScriptRec {
        id: String::new(),
        name: form
            .file
            .as_ref()
            .and_then(|f| f.0.clone())
            .unwrap_or_default(),
        description: String::new(),
        comments_for_audit_log: String::new(),
        content: String::new(),
        platform: vec!["windows".into()],
        permission_type: "private".into(),
        created_at: now,
        created_by: caller.client_id.clone(),
        modified_at: now,
    };
    script_fields(&form, &mut s)?;
    if s.name.is_empty() {
        return Err(ApiError::bad_request("name is required"));
    }
    let mut inner = emu.lock();
    if inner.library.scripts.iter().any(|x| x.name == s.name) {
        return Err(Shelf::Scripts.name_taken(&s.name));
    }
    s.id = inner.rng.hex32();
    inner.library.scripts.push(s);
    drop(inner);
    meta_only(StatusCode::OK)
}

pub async fn update_script(State(emu): State<Arc<Emulator>>, form: Form) -> ApiResult {
    let id = form
        .get("id")
        .ok_or_else(|| ApiError::bad_request("id is required"))?
        .to_string();
    let mut inner = emu.lock();
    let s = inner
        .library
        .scripts
        .iter_mut()
        .find(|s| s.id == id)
        .ok_or_else(|| ApiError::not_found(format!("Could not find script {id}")))?;
    script_fields(&form, s)?;
    drop(inner);
    meta_only(StatusCode::OK)
}

/// One entry of the Falcon scripts catalogue (CrowdStrike-authored scripts run with
/// `falconscript -Name=...`; 2026 spec, `empowerapi.FalconScript`). Read-only: the catalogue is
/// the same in every tenant.
struct FalconScript {
    id: &'static str,
    name: &'static str,
    description: &'static str,
    platform: &'static str,
    use_case: &'static str,
    categories: &'static [&'static str],
    content: &'static str,
    input_schema: &'static str,
}

const FALCON_SCRIPTS: [FalconScript; 3] = [
    FalconScript {
        id: "3a7c0f2e1b9d4e6fa1c2d3e4f5a6b7c8",
        name: "CollectBrowserHistory",
        description: "Collects browser history databases of every user profile",
        platform: "windows",
        use_case: "Investigation",
        categories: &["Collection", "Browser"],
        content: "Get-ChildItem C:\\Users -Directory | ForEach-Object { $_.Name }\r\n",
        input_schema: r#"{"type":"object","properties":{"user":{"type":"string"}}}"#,
    },
    FalconScript {
        id: "5d1e9b3c7a2f4c8e9b0a1d2c3e4f5a6b",
        name: "GetScheduledTasks",
        description: "Lists scheduled tasks with their actions and triggers",
        platform: "windows",
        use_case: "Persistence hunting",
        categories: &["Persistence"],
        content: "Get-ScheduledTask | Select-Object TaskName, State\r\n",
        input_schema: r#"{"type":"object","properties":{}}"#,
    },
    FalconScript {
        id: "9f8e7d6c5b4a4f3e8d2c1b0a9f8e7d6c",
        name: "ListCronJobs",
        description: "Lists crontab entries of every user",
        platform: "linux",
        use_case: "Persistence hunting",
        categories: &["Persistence"],
        content: "for u in $(cut -f1 -d: /etc/passwd); do crontab -l -u \"$u\"; done\n",
        input_schema: r#"{"type":"object","properties":{}}"#,
    },
];

fn falcon_script_time() -> SystemTime {
    let secs = u64::try_from(crate::world::NOW - 30 * 86_400).unwrap_or(0);
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)
}

fn falcon_script_json(s: &FalconScript) -> Value {
    let at = rfc3339(falcon_script_time());
    json!({
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "platform": s.platform,
        "use_case": s.use_case,
        "categories": s.categories,
        "access_roles": ["remote_responder_three"],
        "content": s.content,
        "size": s.content.len(),
        "sha256": Content::text(s.content.to_string()).sha256_hex(),
        "created_by": "CrowdStrike",
        "created_timestamp": at,
        "modified_by": "CrowdStrike",
        "modified_timestamp": at,
        "revision": 1,
        "is_disruptive": false,
        "modifies_system": false,
        "workflow_enabled": false,
        "workflow_input_schema": s.input_schema,
        "workflow_output_schema": r#"{"type":"object"}"#,
        "workflow_tags": [],
    })
}

/// `GET /real-time-response/queries/falcon-scripts/v1` (2026 spec): ids of the Falcon scripts
/// catalogue, with `filter` (on `name`), `limit`, `offset` and `sort`.
pub async fn query_falcon_scripts(q: Query) -> ApiResult {
    let at = falcon_script_time();
    let items = FALCON_SCRIPTS
        .iter()
        .map(|s| (s.id.to_string(), s.name.to_string(), at))
        .collect();
    ids_page(&q, items)
}

/// `GET /real-time-response/entities/falcon-scripts/v1?ids=...` (2026 spec).
pub async fn get_falcon_scripts(q: Query) -> ApiResult {
    records_by_ids(&q, "falcon scripts", |ids| {
        FALCON_SCRIPTS
            .iter()
            .filter(|s| ids.iter().any(|id| id == s.id))
            .map(falcon_script_json)
            .collect()
    })
}
