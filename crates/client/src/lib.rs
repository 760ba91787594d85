//! A typed client of the Falcon REST API subset RTR needs, with nothing shell-specific in it:
//! authentication, retries, rate limiting and tolerant decoding live here (`client`, `governor`,
//! `error`); `devices`, `rtr`, `batch` and `files` are the endpoints. [`session`] builds on them:
//! one host's session (execute-then-poll, chunked output, pulse, re-open) and fleets of hosts in
//! batches.
//!
//! Decoding is tolerant where real replies stray from the spec (`errors: null`, missing
//! `resources`, missing `sequence_id`, invalid UTF-8 in output): see docs/protocol.md,
//! "Response envelopes", "Sequence chunks" and "Output encoding".

pub mod batch;
pub mod client;
pub mod devices;
pub mod error;
pub mod files;
pub mod governor;
pub mod ids;
pub mod rtr;
pub mod session;

pub use client::{ClientOptions, Credentials, FalconClient, RegionSwitch, Reply, Safety};
pub use error::{ApiErrorItem, FalconError};
pub use ids::{Aid, BatchId, CloudRequestId, SessionId};

use serde::{Deserialize, Deserializer};

/// Deserialises `null` (and a missing key, with `#[serde(default)]`) as the type's default.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `meta` of a reply (only what the client uses).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Meta {
    #[serde(default, deserialize_with = "null_default")]
    pub trace_id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub query_time: f64,
    #[serde(default)]
    pub pagination: Option<Pagination>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Pagination {
    /// A number for the devices offset query; an opaque string token for the devices scroll
    /// query (and a string in the RTR `queries/*` replies): kept as text either way.
    #[serde(default, deserialize_with = "text_or_number")]
    pub offset: String,
    #[serde(default, deserialize_with = "null_default")]
    pub limit: u64,
    #[serde(default, deserialize_with = "null_default")]
    pub total: u64,
}

/// A JSON string or number as text (`null`/missing: empty).
fn text_or_number<'de, D>(d: D) -> Result<String, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    })
}

/// The usual `{meta, resources, errors}` wrapper, tolerant of `null` and missing keys.
#[derive(Clone, Debug, Deserialize)]
#[serde(bound = "T: Default + Deserialize<'de>")]
pub struct Envelope<T> {
    #[serde(default, deserialize_with = "null_default")]
    pub meta: Meta,
    #[serde(default, deserialize_with = "null_default")]
    pub resources: T,
    #[serde(default, deserialize_with = "null_default")]
    pub errors: Vec<ApiErrorItem>,
}

/// `fut` as a task of its own on the runtime (so it runs beside the caller, on another thread
/// when there is one), awaited through the returned future: dropping that future stops the
/// task; a panic in the task comes back as a panic here.
pub(crate) fn spawned<F>(fut: F) -> impl std::future::Future<Output = F::Output> + Send
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let task = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(fut));
    async move {
        match task.await {
            Ok(out) => out,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Aborted only when this future is dropped, so never awaited then.
            Err(e) => panic!("a spawned task ended without its result: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::spawned;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_spawned_task_gives_its_result_and_stops_when_dropped() {
        assert_eq!(spawned(async { 6 * 7 }).await, 42);
        // Dropped before it finishes: the task is stopped, not left running.
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        let waiting = spawned(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            flag.store(true, Ordering::SeqCst);
        });
        let _ = tokio::time::timeout(Duration::from_millis(20), waiting).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(!finished.load(Ordering::SeqCst), "the dropped task ran on");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[should_panic(expected = "boom in the task")]
    async fn a_panic_in_a_spawned_task_comes_back_to_the_caller() {
        spawned(async { panic!("boom in the task") }).await;
    }
}
