//! The devices API: FQL host queries, device details and online state (docs/protocol.md,
//! "Host lookup").

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::{HostnameMatch, Misbehaviour};
use crate::fql::{self, Record};
use crate::handlers::{Call, Query, body_ids, parse_filter};
use crate::http::{ApiError, ApiResult, PoweredBy, json_reply, meta, ok_paged, raw_json_reply};
use crate::state::{Caller, ContainRefusal, Emulator};
use crate::world::Host;

/// Fields of a host that FQL filters and `sort` may name.
pub const FIELDS: [&str; 16] = [
    "device_id",
    "cid",
    "hostname",
    "platform_name",
    "os_version",
    "agent_version",
    "local_ip",
    "external_ip",
    "mac_address",
    "product_type_desc",
    "machine_domain",
    "system_manufacturer",
    "first_seen",
    "last_seen",
    "status",
    "tags",
];

/// A host as filters see it, with its containment status.
struct HostRecord<'a>(&'a Host, HostnameMatch, &'static str);

impl Record for HostRecord<'_> {
    fn rule(&self, field: &str) -> fql::TextRule {
        match (field, self.1) {
            ("hostname", HostnameMatch::Prefix) => fql::TextRule::Name,
            _ => fql::TextRule::Plain,
        }
    }

    fn field(&self, name: &str) -> Option<fql::Value<'_>> {
        let h = self.0;
        fn s(v: &str) -> Option<fql::Value<'_>> {
            Some(fql::Value::Str(v))
        }
        match name {
            "device_id" => s(&h.aid),
            "cid" => s(&h.cid),
            "hostname" => s(&h.hostname),
            "platform_name" => s(h.platform.api_name()),
            "os_version" => s(&h.os_version),
            "agent_version" => s(&h.agent_version),
            "local_ip" => s(&h.local_ip),
            "external_ip" => s(&h.external_ip),
            "mac_address" => s(&h.mac_address),
            "product_type_desc" => s(&h.product_type_desc),
            "machine_domain" => s(&h.machine_domain),
            "system_manufacturer" => s(&h.system_manufacturer),
            "first_seen" => s(&h.first_seen),
            "last_seen" => s(&h.last_seen),
            "status" => s(self.2),
            "tags" => Some(fql::Value::List(
                h.tags.iter().map(String::as_str).collect(),
            )),
            _ => None,
        }
    }
}

fn platform_id(h: &Host) -> &'static str {
    match h.platform {
        rtrsh_command::Platform::Windows => "0",
        rtrsh_command::Platform::Mac => "1",
        rtrsh_command::Platform::Linux => "3",
    }
}

/// `deviceapi.DeviceSwagger` for a host, serialised straight from it. The fields are in
/// alphabetical order, as a `serde_json::Value` object (a `BTreeMap`) would write them.
#[derive(Serialize)]
pub struct DeviceSwagger<'a> {
    agent_version: &'a str,
    cid: &'a str,
    connection_ip: &'a str,
    device_id: &'a str,
    external_ip: &'a str,
    first_seen: &'a str,
    groups: &'a [String],
    hostname: &'a str,
    last_seen: &'a str,
    local_ip: &'a str,
    mac_address: &'a str,
    machine_domain: &'a str,
    modified_timestamp: &'a str,
    os_version: &'a str,
    platform_id: &'a str,
    platform_name: &'a str,
    product_type_desc: &'a str,
    /// The containment state.
    status: &'a str,
    system_manufacturer: &'a str,
    tags: &'a [String],
}

impl<'a> DeviceSwagger<'a> {
    pub fn new(h: &'a Host, status: &'a str) -> Self {
        DeviceSwagger {
            agent_version: &h.agent_version,
            cid: &h.cid,
            connection_ip: &h.local_ip,
            device_id: &h.aid,
            external_ip: &h.external_ip,
            first_seen: &h.first_seen,
            groups: &[],
            hostname: &h.hostname,
            last_seen: &h.last_seen,
            local_ip: &h.local_ip,
            mac_address: &h.mac_address,
            machine_domain: &h.machine_domain,
            modified_timestamp: &h.last_seen,
            os_version: &h.os_version,
            platform_id: platform_id(h),
            platform_name: h.platform.api_name(),
            product_type_desc: &h.product_type_desc,
            status,
            system_manufacturer: &h.system_manufacturer,
            tags: &h.tags,
        }
    }
}

/// One host's `online-state` entry (fields in alphabetical order, as [`DeviceSwagger`]'s).
#[derive(Serialize)]
struct OnlineState<'a> {
    cid: &'a str,
    id: &'a str,
    last_seen: &'a str,
    state: &'static str,
}

fn visible<'a>(emu: &'a Emulator, caller: &'a Caller) -> impl Iterator<Item = &'a Host> + 'a {
    emu.world
        .hosts()
        .iter()
        .filter(move |h| h.cid == caller.cid)
}

/// The offset-paged query answers at most this far into a result (`offset + limit`); past it,
/// 400 (docs/protocol.md, "Host lookup"; seen on real tenants: falconpy#241 reads 10,000 hosts in
/// two pages of 5,000 and no further, falconpy#532 gets the 400 at offset 10,000).
pub const OFFSET_QUERY_CAP: usize = 10_000;
/// A scroll `offset` token expires this long after it was issued (the spec's summary: "offset
/// pointer which expires after 2 minutes").
const SCROLL_TOKEN_LIFETIME: Duration = Duration::from_secs(120);

/// The hosts a devices query selects, filtered and sorted as `filter` and `sort` say.
fn select<'a>(emu: &'a Emulator, caller: &'a Caller, q: &Query) -> Result<Vec<&'a Host>, ApiError> {
    let rule = emu.config.hostname_match;
    let filter = parse_filter(q.get("filter").unwrap_or_default())?;
    for f in filter.fields() {
        if !FIELDS.contains(&f.as_str()) {
            return Err(ApiError::bad_request(format!(
                "Invalid filter: unknown field {f:?}"
            )));
        }
    }
    let statuses = statuses(emu);
    let status = |h: &Host| {
        emu.host_index(&h.aid)
            .and_then(|i| statuses.get(i).copied())
            .unwrap_or("normal")
    };
    let mut hosts: Vec<&Host> = visible(emu, caller)
        .filter(|h| filter.matches(&HostRecord(h, rule, status(h))))
        .collect();
    if let Some(sort) = q.get("sort").filter(|s| !s.is_empty()) {
        let (field, dir) = sort
            .split_once(['.', '|'])
            .map(|(f, d)| (f, d.to_ascii_lowercase()))
            .unwrap_or((sort, "asc".into()));
        if !FIELDS.contains(&field) || !(dir == "asc" || dir == "desc") {
            return Err(ApiError::bad_request(format!("Invalid sort: {sort:?}")));
        }
        let key = |h: &&Host| match HostRecord(h, rule, status(h)).field(field) {
            Some(fql::Value::Str(s)) => s.to_ascii_lowercase(),
            Some(fql::Value::List(l)) => l.join(",").to_ascii_lowercase(),
            _ => String::new(),
        };
        hosts.sort_by_key(key);
        if dir == "desc" {
            hosts.reverse();
        }
    }
    Ok(hosts)
}

/// The aids of one page of a query's hosts.
fn aids<'a>(hosts: &[&'a Host], start: usize, limit: usize) -> Vec<&'a str> {
    hosts
        .iter()
        .skip(start)
        .take(limit)
        .map(|h| h.aid.as_str())
        .collect()
}

/// `GET /devices/queries/devices/v1`: offset paging, which stops at [`OFFSET_QUERY_CAP`].
pub async fn query(Call { emu, caller, q }: Call) -> ApiResult {
    let dev_err = |e: ApiError| e.by(PoweredBy::Devices);
    let limit = q.int("limit", 1, 5000).map_err(dev_err)?.unwrap_or(100) as usize;
    let offset = q.int("offset", 0, i64::MAX).map_err(dev_err)?.unwrap_or(0) as usize;
    if offset.saturating_add(limit) > OFFSET_QUERY_CAP {
        return Err(dev_err(ApiError::bad_request(format!(
            "limit + offset must be less than {OFFSET_QUERY_CAP}"
        ))));
    }
    let hosts = select(&emu, &caller, &q).map_err(dev_err)?;
    let total = hosts.len();
    let page = aids(&hosts, offset, limit);
    Ok(ok_paged(
        PoweredBy::Devices,
        offset,
        limit,
        total,
        json!(page),
    ))
}

/// What a scroll token stands for: where the next page starts, for which query, issued when.
fn scroll_token(emu: &Emulator, caller: &Caller, q: &Query, next: usize) -> String {
    use base64::Engine;
    let issued = emu.started.elapsed().as_millis();
    let plain = format!("{next}.{issued}.{:016x}", query_fingerprint(caller, q));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(plain)
}

/// Where a scroll token says the next page starts, if it is one of ours, for this query, and
/// not expired.
fn scroll_position(
    emu: &Emulator,
    caller: &Caller,
    q: &Query,
    token: &str,
) -> Result<usize, ApiError> {
    use base64::Engine;
    let invalid = || {
        ApiError::bad_request(format!(
            "Invalid offset: {token:?} (pass the offset of the previous page's meta.pagination)"
        ))
    };
    let plain = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(invalid)?;
    let mut parts = plain.split('.');
    let (Some(next), Some(issued), Some(print), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let next: usize = next.parse().map_err(|_| invalid())?;
    let issued: u128 = issued.parse().map_err(|_| invalid())?;
    if print != format!("{:016x}", query_fingerprint(caller, q)) {
        return Err(ApiError::bad_request(
            "Invalid offset: it belongs to another filter or sort",
        ));
    }
    let age = emu.started.elapsed().as_millis().saturating_sub(issued);
    if age > SCROLL_TOKEN_LIFETIME.as_millis() {
        return Err(ApiError::bad_request(
            "Invalid offset: the offset has expired",
        ));
    }
    Ok(next)
}

fn query_fingerprint(caller: &Caller, q: &Query) -> u64 {
    // FNV-1a over the things a token is bound to.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        caller.cid.as_str(),
        "\0",
        q.get("filter").unwrap_or_default(),
        "\0",
        q.get("sort").unwrap_or_default(),
    ] {
        for b in part.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// `GET /devices/queries/devices-scroll/v1`: pages through any number of hosts with an opaque
/// string `offset` (docs/protocol.md, "Host lookup"; PSFalcon and caracara use it for big
/// selections). Each page's `meta.pagination.offset` is the token of the next page; it expires
/// after two minutes.
pub async fn scroll(Call { emu, caller, q }: Call) -> ApiResult {
    let dev_err = |e: ApiError| e.by(PoweredBy::Devices);
    // The spec says 1-5000; PSFalcon asks for 10,000 at a time and gets them.
    let limit = q.int("limit", 1, 10_000).map_err(dev_err)?.unwrap_or(100) as usize;
    let start = match q.get("offset").filter(|o| !o.is_empty()) {
        None => 0,
        Some(token) => scroll_position(&emu, &caller, &q, token).map_err(dev_err)?,
    };
    let hosts = select(&emu, &caller, &q).map_err(dev_err)?;
    let total = hosts.len();
    let page = aids(&hosts, start, limit);
    let next = start.saturating_add(page.len()).min(total);
    let expires_at = SystemTime::now()
        .checked_add(SCROLL_TOKEN_LIFETIME)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    let mut m = meta(PoweredBy::Devices);
    let total = if emu.config.misbehaves(Misbehaviour::AbsurdNumbers) {
        u64::MAX
    } else {
        total as u64
    };
    m["pagination"] = json!({
        "offset": scroll_token(&emu, &caller, &q, next),
        "expires_at": expires_at,
        "limit": limit,
        "total": total,
    });
    Ok(json_reply(
        StatusCode::OK,
        &json!({ "meta": m, "resources": page, "errors": [] }),
    ))
}

fn details(emu: &Emulator, caller: &Caller, ids: &[String], max: usize) -> ApiResult {
    if ids.is_empty() {
        return Err(ApiError::bad_request("ids is a required parameter").by(PoweredBy::Devices));
    }
    if ids.len() > max {
        return Err(ApiError::bad_request(format!(
            "Too many ids: {} (at most {max} per request)",
            ids.len()
        ))
        .by(PoweredBy::Devices));
    }
    let hosts = resolve(emu, caller, ids);
    // The containment state of the hosts asked for, as of now (one look under the lock).
    let statuses: Vec<&'static str> = {
        let inner = emu.lock();
        let now = Instant::now();
        let delay = emu.config.containment_delay;
        hosts
            .iter()
            .filter_map(|r| r.ok())
            .map(|i| inner.containment_status(i, delay, now))
            .collect()
    };
    let mut status = statuses.into_iter();
    Ok(per_device(&hosts, |i| {
        DeviceSwagger::new(&emu.world.hosts()[i], status.next().unwrap_or("normal"))
    }))
}

/// The 404 error entry for an id that names none of the caller's hosts.
fn device_not_found(id: &str) -> Value {
    json!({ "code": 404, "message": format!("Device not found: {id}") })
}

/// Each of `ids` as the caller's host (by index), or the id itself when it names none.
fn resolve<'a>(emu: &Emulator, caller: &Caller, ids: &'a [String]) -> Vec<Result<usize, &'a str>> {
    ids.iter()
        .map(|id| {
            emu.host_index(id)
                .filter(|&i| caller_owns(emu, caller, i))
                .ok_or(id.as_str())
        })
        .collect()
}

/// The reply about the hosts of a devices request. Fields in alphabetical order, as the
/// `serde_json::Value` object it replaces wrote them.
#[derive(Serialize)]
struct PerDevice<T> {
    errors: Vec<Value>,
    meta: Value,
    resources: Vec<T>,
}

/// The reply to a request about each of `hosts` ([`resolve`]): `resources` has what `each` makes
/// of the caller's hosts (by host index, in order), `errors` a 404 for every other id; 404 when
/// no id was found. Serialised straight into the body, without a `Value` tree per host.
fn per_device<T: Serialize>(
    hosts: &[Result<usize, &str>],
    mut each: impl FnMut(usize) -> T,
) -> Response {
    let mut found = Vec::with_capacity(hosts.len());
    let mut errors = Vec::new();
    for h in hosts {
        match *h {
            Ok(i) => found.push(each(i)),
            Err(id) => errors.push(device_not_found(id)),
        }
    }
    let status = if found.is_empty() {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    let reply = PerDevice {
        errors,
        meta: meta(PoweredBy::Devices),
        resources: found,
    };
    // A body of 5,000 devices is about 3 MB: start near that rather than grow by doubling.
    let mut body = Vec::with_capacity(256 + 640 * reply.resources.len());
    match serde_json::to_writer(&mut body, &reply) {
        Ok(()) => raw_json_reply(status, body),
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, 500, e.to_string())
            .by(PoweredBy::Devices)
            .into_response(),
    }
}

/// `GET /devices/entities/devices/v2?ids=...` (at most 100 ids)
pub async fn get_details(Call { emu, caller, q }: Call) -> ApiResult {
    details(&emu, &caller, &q.all("ids"), 100)
}

/// `POST /devices/entities/devices/v2` with `{"ids": [...]}` (at most 5000 ids)
pub async fn post_details(Call { emu, caller, .. }: Call, body: Bytes) -> ApiResult {
    let ids = body_ids(&emu, "/devices/entities/devices/v2", &body)
        .map_err(|e| e.by(PoweredBy::Devices))?;
    details(&emu, &caller, &ids, 5000)
}

/// `GET /devices/entities/online-state/v1?ids=...` (at most 100 ids)
pub async fn online_state(Call { emu, caller, q }: Call) -> ApiResult {
    let ids = q.all("ids");
    if ids.is_empty() || ids.len() > 100 {
        return Err(
            ApiError::bad_request("ids: between 1 and 100 ids are required").by(PoweredBy::Devices),
        );
    }
    let hosts = resolve(&emu, &caller, &ids);
    let online: Vec<bool> = {
        let inner = emu.lock();
        hosts
            .iter()
            .filter_map(|r| r.ok())
            .map(|i| inner.online.get(i).copied().unwrap_or(false))
            .collect()
    };
    let mut online = online.into_iter();
    Ok(per_device(&hosts, |i| {
        let h = &emu.world.hosts()[i];
        OnlineState {
            cid: &h.cid,
            id: &h.aid,
            last_seen: &h.last_seen,
            state: if online.next().unwrap_or(false) {
                "online"
            } else {
                "offline"
            },
        }
    }))
}

/// Every host's containment status, by host index, as of now.
fn statuses(emu: &Emulator) -> Vec<&'static str> {
    let inner = emu.lock();
    let now = Instant::now();
    let delay = emu.config.containment_delay;
    (0..emu.world.hosts().len())
        .map(|i| inner.containment_status(i, delay, now))
        .collect()
}

/// The most ids one devices action takes: PSFalcon sends `contain` and `lift_containment` in
/// groups of 500 (psfalcon#73, maintainer), `hide_host` in groups of 100.
pub const MAX_ACTION_IDS: usize = 500;

/// `POST /devices/entities/devices-actions/v2?action_name=contain|lift_containment` with
/// `{"ids": [...]}` (scope `devices:write`, checked by the gateway). Per host: the hosts the
/// action was taken on are `resources` (`{id, path}`), the others are `errors` naming the aid:
/// 409 for a host already in (or on its way to) that state, 404 for an unknown aid. 202 when
/// any host took the action, else 409 when some were already there, else 400. The reply is
/// `msa.ReplyAffectedEntities` whatever the status. Each host goes `containment_pending` (or
/// `lift_containment_pending`) and settles after `--containment-delay` online; an offline host
/// stays pending until it is back (inferred: the sensor enforces containment).
pub async fn action(Call { emu, caller, q }: Call, body: Bytes) -> ApiResult {
    let affected = |status: StatusCode, resources: Vec<Value>, errors: Vec<Value>| {
        json_reply(
            status,
            &json!({ "meta": meta(PoweredBy::Devices), "resources": resources, "errors": errors }),
        )
    };
    let bad = |msg: String| {
        Ok(affected(
            StatusCode::BAD_REQUEST,
            Vec::new(),
            vec![json!({ "code": 400, "message": msg })],
        ))
    };
    let contain = match q.get("action_name") {
        Some("contain") => true,
        Some("lift_containment") => false,
        Some(other) => {
            return bad(format!(
                "Invalid action_name {other:?}: this emulator takes contain or lift_containment"
            ));
        }
        None => return bad("action_name is a required parameter".into()),
    };
    let path = "/devices/entities/devices-actions/v2";
    let ids = match body_ids(&emu, path, &body) {
        Ok(ids) => ids,
        Err(e) => return bad(e.message),
    };
    if ids.is_empty() || ids.len() > MAX_ACTION_IDS {
        return bad(format!(
            "request must contain between 1 and {MAX_ACTION_IDS} ids"
        ));
    }
    let now = Instant::now();
    let delay = emu.config.containment_delay;
    let mut inner = emu.lock();
    let mut done = Vec::new();
    let mut errors = Vec::new();
    let mut conflicts = 0;
    for id in &ids {
        let Some(i) = emu
            .host_index(id)
            .filter(|&i| caller_owns(&emu, &caller, i))
        else {
            errors.push(device_not_found(id));
            continue;
        };
        match inner.set_containment(i, contain, delay, now) {
            Ok(()) => done.push(json!({ "id": emu.world.hosts()[i].aid, "path": "" })),
            Err(ContainRefusal::AlreadyThere(status)) => {
                conflicts += 1;
                errors.push(json!({
                    "code": 409,
                    "message": format!("Device {id} is already {}", status.replace('_', " ")),
                }));
            }
        }
    }
    drop(inner);
    let status = if !done.is_empty() {
        StatusCode::ACCEPTED
    } else if conflicts > 0 {
        StatusCode::CONFLICT
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(affected(status, done, errors))
}

/// The hosts a caller may see, for handlers elsewhere.
pub fn caller_owns(emu: &Emulator, caller: &Caller, host: usize) -> bool {
    emu.world
        .hosts()
        .get(host)
        .is_some_and(|h| h.cid == caller.cid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{World, WorldConfig};

    /// The `Value` tree device details were built as: the direct serialisation must give the
    /// same bytes.
    fn reference(h: &Host, status: &str) -> Value {
        json!({
            "device_id": h.aid,
            "cid": h.cid,
            "hostname": h.hostname,
            "platform_name": h.platform.api_name(),
            "platform_id": platform_id(h),
            "os_version": h.os_version,
            "agent_version": h.agent_version,
            "local_ip": h.local_ip,
            "connection_ip": h.local_ip,
            "external_ip": h.external_ip,
            "mac_address": h.mac_address,
            "product_type_desc": h.product_type_desc,
            "machine_domain": h.machine_domain,
            "system_manufacturer": h.system_manufacturer,
            "first_seen": h.first_seen,
            "last_seen": h.last_seen,
            "modified_timestamp": h.last_seen,
            "status": status,
            "tags": h.tags,
            "groups": [],
        })
    }

    #[test]
    fn device_details_serialise_as_the_value_tree_did() {
        let world = World::new(&WorldConfig {
            hosts: 600,
            child_cids: 2,
            ..WorldConfig::default()
        });
        let mut hosts: Vec<Host> = world.hosts().to_vec();
        // Text that needs escaping, and more than one tag.
        hosts[0].hostname = "WS-\"quoted\"\\back\u{1b}[0m-ünï".into();
        hosts[0].tags = vec!["a\"b".into(), "FalconGroupingTags/x".into()];
        for (i, h) in hosts.iter().enumerate() {
            let status = ["normal", "contained", "containment_pending"][i % 3];
            let ours = serde_json::to_vec(&DeviceSwagger::new(h, status)).expect("json");
            let theirs = serde_json::to_vec(&reference(h, status)).expect("json");
            assert_eq!(ours, theirs, "host {i}");
            let online = OnlineState {
                cid: &h.cid,
                id: &h.aid,
                last_seen: &h.last_seen,
                state: "online",
            };
            let theirs = json!({
                "id": h.aid, "cid": h.cid, "state": "online", "last_seen": h.last_seen,
            });
            assert_eq!(
                serde_json::to_vec(&online).expect("json"),
                serde_json::to_vec(&theirs).expect("json")
            );
        }
        let reply = PerDevice {
            errors: vec![device_not_found("x")],
            meta: json!({"query_time": 0.5, "powered_by": "device-api", "trace_id": "t"}),
            resources: vec![DeviceSwagger::new(&hosts[1], "normal")],
        };
        let theirs = json!({
            "meta": reply.meta,
            "resources": [reference(&hosts[1], "normal")],
            "errors": [device_not_found("x")],
        });
        assert_eq!(
            serde_json::to_vec(&reply).expect("json"),
            serde_json::to_vec(&theirs).expect("json")
        );
    }
}
