//! Throughput and memory of the loopback Falcon API emulator at 10,000 hosts.
//!
//! Run with `cargo bench --bench emulator` (full: 10,000 hosts, 20,000 requests per load point)
//! or `cargo bench --bench emulator -- --quick` (1,000 hosts, 2,000 requests; also
//! `RTRSH_BENCH_QUICK=1`). See `benches/README.md` for what every figure means.
//!
//! The emulator under load runs as a child process (`rtrsh emulator ...`, the binary cargo built
//! next to this bench), so its memory (`VmRSS`/`VmHWM` of `/proc/<pid>/status`) is its own and
//! not mixed with the load generator's. Only the world-build figure is taken in-process as well.
//! Every loop has a fixed count; nothing leaves loopback. The report is printed and written as
//! JSON to `target/bench-emulator.json`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{EmulatorProcess, round2};
use rtrsh_emulator::{self as emulator, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, EmulatorConfig};
use serde_json::{Value, json};

const RTR: &str = "/real-time-response";

/// Sizes of one run.
struct Plan {
    quick: bool,
    hosts: usize,
    /// Requests per (scenario, concurrency) point.
    requests: usize,
    concurrency: &'static [usize],
    /// What a host takes to run a command in the batch part.
    batch_latency: &'static str,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        Plan {
            quick,
            hosts: if quick { 1_000 } else { 10_000 },
            requests: if quick { 2_000 } else { 20_000 },
            concurrency: &[1, 8, 32],
            batch_latency: "300ms",
        }
    }
}

fn main() {
    let Some(quick) = common::mode("emulator") else {
        return;
    };
    let plan = Plan::new(quick);
    common::install_tls_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start the tokio runtime");
    let started = Instant::now();
    let (mut report, errors) = rt.block_on(run(&plan));
    let total = started.elapsed();
    report["total_seconds"] = json!(secs(total));
    println!("\nwhole bench: {:.1} s", total.as_secs_f64());
    common::write_report("bench-emulator.json", &report);
    if errors > 0 {
        eprintln!("FAILED: {errors} unexpected responses or checks (see above)");
        std::process::exit(1);
    }
}

async fn run(plan: &Plan) -> (Value, usize) {
    let mut errors = 0usize;
    println!(
        "rtrsh emulator bench ({} mode): {} hosts, {} requests per load point, concurrency {:?}",
        if plan.quick { "quick" } else { "full" },
        plan.hosts,
        plan.requests,
        plan.concurrency
    );
    println!(
        "machine: {} CPUs available; load generator and emulator share them\n",
        common::cpus()
    );
    let world = world_build(plan).await;
    let (load, e) = throughput(plan).await;
    errors += e;
    let (batch, e) = batch(plan).await;
    errors += e;
    let report = json!({
        "bench": "emulator",
        "mode": if plan.quick { "quick" } else { "full" },
        "unix_time": common::unix_time(),
        "git_commit": common::git_commit(),
        "cpus": common::cpus(),
        "hosts": plan.hosts,
        "requests_per_point": plan.requests,
        "world_build": world,
        "throughput": load,
        "batch": batch,
        "errors": errors,
    });
    (report, errors)
}

// ---------------------------------------------------------------------------------------------
// Memory and the child emulator

/// `VmRSS` and `VmHWM` (peak RSS) in KiB.
#[derive(Clone, Copy, Debug, Default)]
struct Mem {
    rss_kib: u64,
    hwm_kib: u64,
}

impl Mem {
    /// Of the process `pid`, or of this one with `None` (0 where /proc has no figure).
    fn of(pid: Option<u32>) -> Mem {
        let field = |name: &str| common::status_kib(pid, name).unwrap_or(0);
        Mem {
            rss_kib: field("VmRSS:"),
            hwm_kib: field("VmHWM:"),
        }
    }

    fn json(self) -> Value {
        json!({ "rss_mib": mib(self.rss_kib), "hwm_mib": mib(self.hwm_kib) })
    }
}

fn mib(kib: u64) -> f64 {
    round2(kib as f64 / 1024.0)
}

fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10_000.0
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1_000.0
}

/// `rtrsh emulator` as a child process, killed when dropped.
struct ChildEmulator {
    process: EmulatorProcess,
    /// From spawning the process to its "listening on" line (world build included).
    startup: Duration,
}

impl ChildEmulator {
    fn start(hosts: usize, latency: &str) -> ChildEmulator {
        let t = Instant::now();
        let hosts = hosts.to_string();
        let process = EmulatorProcess::start([
            "--hosts",
            &hosts,
            "--latency",
            latency,
            // No per-CID limit (the default 6000/min would answer most of the load with 429),
            // and every host online so the batch reaches all of them.
            "--rate-limit",
            "0",
            "--offline-share",
            "0",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        ChildEmulator {
            startup: t.elapsed(),
            process,
        }
    }

    fn mem(&self) -> Mem {
        Mem::of(Some(self.process.pid()))
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    bearer: String,
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(300))
        .build()
        .expect("cannot build the HTTP client")
}

impl Api {
    async fn login(base: &str) -> Api {
        let http = http_client();
        let resp = http
            .post(format!("{base}/oauth2/token"))
            .form(&[
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", DEFAULT_CLIENT_SECRET),
            ])
            .send()
            .await
            .expect("token request");
        let v: Value = resp.json().await.expect("token reply is JSON");
        let token = v["access_token"]
            .as_str()
            .expect("token reply has access_token")
            .to_string();
        Api {
            http,
            base: base.to_string(),
            bearer: format!("Bearer {token}"),
        }
    }

    /// GET of an absolute URL; (status, body). A transport error is status 0.
    async fn get_url(&self, url: &str) -> (u16, Bytes) {
        let r = self
            .http
            .get(url)
            .header("authorization", &self.bearer)
            .send()
            .await;
        finish(r).await
    }

    async fn get(&self, path_and_query: &str) -> (u16, Bytes) {
        self.get_url(&format!("{}{path_and_query}", self.base))
            .await
    }

    async fn post(&self, path_and_query: &str, body: &Value) -> (u16, Bytes) {
        let r = self
            .http
            .post(format!("{}{path_and_query}", self.base))
            .header("authorization", &self.bearer)
            .json(body)
            .send()
            .await;
        finish(r).await
    }

    /// Every aid, paging the devices scroll query by 5000 (the offset query stops at 10,000);
    /// (aids, requests made).
    async fn all_aids(&self, expected: usize) -> (Vec<String>, usize) {
        let mut aids = Vec::with_capacity(expected);
        let mut requests = 0;
        let pages = expected / 5000 + 2;
        let mut token = String::new();
        for _ in 0..pages {
            let offset: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
            let reply = self
                .get(&format!(
                    "/devices/queries/devices-scroll/v1?limit=5000&offset={offset}"
                ))
                .await;
            requests += 1;
            let v = expect_json("devices scroll query", reply, 200);
            let page = v["resources"].as_array().cloned().unwrap_or_default();
            aids.extend(page.iter().filter_map(|a| a.as_str().map(str::to_string)));
            let total = v["meta"]["pagination"]["total"].as_u64().unwrap_or(0) as usize;
            if page.is_empty() || aids.len() >= total {
                break;
            }
            token = v["meta"]["pagination"]["offset"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
        (aids, requests)
    }

    /// Brings every offline host online, so that every host answers; how many there were. Finds
    /// them with `GET /devices/entities/online-state/v1` (100 ids a request, as a client would)
    /// and wakes them through the emulator's test control (`/_emulator/hosts/{aid}/online`).
    /// `GET /_emulator/hosts` would be one request, but it builds a ~20 MB reply at 10,000 hosts
    /// that stays in the emulator's heap and blurs the memory figures.
    async fn bring_all_online(&self, aids: &[String]) -> usize {
        let mut offline = Vec::new();
        for chunk in aids.chunks(100) {
            let ids: Vec<String> = chunk.iter().map(|a| format!("ids={a}")).collect();
            let reply = self
                .get(&format!(
                    "/devices/entities/online-state/v1?{}",
                    ids.join("&")
                ))
                .await;
            let v = expect_json("online-state", reply, 200);
            for r in v["resources"].as_array().into_iter().flatten() {
                if r["state"] != json!("online")
                    && let Some(id) = r["id"].as_str()
                {
                    offline.push(id.to_string());
                }
            }
        }
        for aid in &offline {
            let r = self
                .http
                .post(format!(
                    "{}/_emulator/hosts/{aid}/online?state=true",
                    self.base
                ))
                .send()
                .await
                .expect("set host online");
            assert!(r.status().is_success(), "set host online: {}", r.status());
        }
        offline.len()
    }

    /// Opens a single-host session; its id.
    async fn init_session(&self, aid: &str) -> String {
        let reply = self
            .post(
                &format!("{RTR}/entities/sessions/v1"),
                &json!({ "device_id": aid, "origin": "rtrsh-bench", "queue_offline": false }),
            )
            .await;
        let v = expect_json("init", reply, 201);
        v["resources"][0]["session_id"]
            .as_str()
            .expect("init reply has session_id")
            .to_string()
    }

    /// Runs `ls` in a session; (status, cloud_request_id, reply).
    async fn execute(&self, session: &str, aid: &str) -> (u16, Option<String>, Bytes) {
        let (status, body) = self
            .post(
                &format!("{RTR}/entities/command/v1"),
                &json!({
                    "base_command": "ls", "command_string": "ls", "session_id": session,
                    "device_id": aid, "id": 0, "persist": false,
                }),
            )
            .await;
        let id = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
            v["resources"][0]["cloud_request_id"]
                .as_str()
                .map(String::from)
        });
        (status, id, body)
    }

    fn status_url(&self, cloud_request_id: &str) -> String {
        format!(
            "{}{RTR}/entities/command/v1?cloud_request_id={cloud_request_id}&sequence_id=0",
            self.base
        )
    }
}

async fn finish(r: Result<reqwest::Response, reqwest::Error>) -> (u16, Bytes) {
    match r {
        Ok(resp) => {
            let status = resp.status().as_u16();
            match resp.bytes().await {
                Ok(b) => (status, b),
                Err(_) => (0, Bytes::new()),
            }
        }
        Err(_) => (0, Bytes::new()),
    }
}

/// The JSON of a reply that must have HTTP status `want` (a set-up step: the bench cannot go on
/// without it).
fn expect_json(what: &str, (status, body): (u16, Bytes), want: u16) -> Value {
    assert_eq!(status, want, "{what}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{what}: the reply is not JSON: {e}"))
}

fn is_complete(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["resources"][0]["complete"].as_bool())
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------------------------
// 1. World build

async fn world_build(plan: &Plan) -> Value {
    println!("== 1. World build ({} hosts)", plan.hosts);
    let before = Mem::of(None);
    let t = Instant::now();
    let handle = emulator::spawn(EmulatorConfig {
        hosts: plan.hosts,
        ..Default::default()
    })
    .await
    .expect("in-process emulator starts");
    let took = t.elapsed();
    let after = Mem::of(None);
    let built = handle.emulator().world.hosts().len();
    handle.shutdown();
    let delta = after.rss_kib.saturating_sub(before.rss_kib);
    println!(
        "  in-process spawn: {:.1} ms, RSS +{:.1} MiB (this process also holds the load \
         generator: figure is the delta across spawn)",
        ms(took),
        mib(delta)
    );

    let base = ChildEmulator::start(1, "0ms");
    let base_mem = base.mem();
    drop(base);
    let child = ChildEmulator::start(plan.hosts, "0ms");
    let child_mem = child.mem();
    let child_startup = child.startup;
    drop(child);
    let per_host = (child_mem.rss_kib.saturating_sub(base_mem.rss_kib)) as f64 * 1024.0
        / plan.hosts.max(1) as f64;
    println!(
        "  child `rtrsh emulator --hosts 1`: RSS {:.1} MiB (process baseline)",
        mib(base_mem.rss_kib)
    );
    println!(
        "  child `rtrsh emulator --hosts {}`: up in {:.1} ms, RSS {:.1} MiB, peak {:.1} MiB \
         -> ~{:.0} bytes per host",
        plan.hosts,
        ms(child_startup),
        mib(child_mem.rss_kib),
        mib(child_mem.hwm_kib),
        per_host
    );
    json!({
        "hosts": built,
        "in_process_spawn_ms": ms(took),
        "in_process_rss_delta_mib": mib(delta),
        "child_startup_ms": ms(child_startup),
        "child_baseline_1_host": base_mem.json(),
        "child_idle": child_mem.json(),
        "bytes_per_host": per_host.round(),
    })
}

// ---------------------------------------------------------------------------------------------
// 2. Requests/s on loopback

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    /// `GET /devices/queries/devices/v1` (limit 100).
    DevicesQuery,
    /// Check-status of one finished `ls` command (sequence_id 0).
    StatusPoll,
    /// Execute `ls`, then check-status until complete (latency 0: one poll).
    ExecuteCycle,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::DevicesQuery => "devices_query",
            Scenario::StatusPoll => "status_poll",
            Scenario::ExecuteCycle => "execute_status_cycle",
        }
    }
}

/// What the load workers share.
struct Setup {
    api: Api,
    aids: Vec<String>,
    /// One session per worker (on a different host each).
    sessions: Vec<String>,
    /// The finished command the status scenario polls.
    finished_cmd: String,
}

#[derive(Default)]
struct WorkerOut {
    latencies_us: Vec<u32>,
    errors: usize,
    bytes: u64,
    first_error: Option<String>,
}

async fn throughput(plan: &Plan) -> (Value, usize) {
    println!("\n== 2. Requests/s on loopback (emulator: child process, latency 0, no rate limit)");
    let emu = ChildEmulator::start(plan.hosts, "0ms");
    let api = Api::login(&emu.process.base).await;
    let (aids, _) = api.all_aids(plan.hosts).await;
    api.bring_all_online(&aids).await;
    assert_eq!(aids.len(), plan.hosts, "every host is listed");
    let max_conc = plan.concurrency.iter().copied().max().unwrap_or(1);
    let mut sessions = Vec::new();
    for aid in aids.iter().take(max_conc) {
        sessions.push(api.init_session(aid).await);
    }
    let (status, cmd, _) = api.execute(&sessions[0], &aids[0]).await;
    let finished_cmd = cmd.unwrap_or_else(|| panic!("execute failed with {status}"));
    let mut done = false;
    for _ in 0..100 {
        let (_, body) = api.get_url(&api.status_url(&finished_cmd)).await;
        if is_complete(&body) {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(done, "the command to poll finished");
    let setup = Arc::new(Setup {
        api,
        aids,
        sessions,
        finished_cmd,
    });
    let idle = emu.mem();
    println!("  emulator RSS after setup: {:.1} MiB", mib(idle.rss_kib));
    println!(
        "  {:<22} {:>5} {:>9} {:>10} {:>9} {:>9} {:>9} {:>8}",
        "scenario", "conns", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "B/reply"
    );
    let mut points = Vec::new();
    let mut errors = 0;
    let mut exec_mem = None;
    for scenario in [
        Scenario::DevicesQuery,
        Scenario::StatusPoll,
        Scenario::ExecuteCycle,
    ] {
        let mem_before = emu.mem();
        let mut commands = 0usize;
        for &conc in plan.concurrency {
            let (point, e, cmds) = load_point(&setup, scenario, conc, plan.requests).await;
            errors += e;
            commands += cmds;
            points.push(point);
        }
        if scenario == Scenario::ExecuteCycle {
            let after = emu.mem();
            let per_cmd =
                after.rss_kib.saturating_sub(mem_before.rss_kib) as f64 * 1024.0 / commands as f64;
            println!(
                "  emulator RSS {:.1} -> {:.1} MiB over {commands} executed commands \
                 (~{per_cmd:.0} bytes kept per command)",
                mib(mem_before.rss_kib),
                mib(after.rss_kib)
            );
            exec_mem = Some(json!({
                "commands": commands,
                "rss_before_mib": mib(mem_before.rss_kib),
                "rss_after_mib": mib(after.rss_kib),
                "bytes_per_command": per_cmd.round(),
            }));
        }
    }
    let end = emu.mem();
    println!(
        "  emulator after the load: RSS {:.1} MiB, peak {:.1} MiB",
        mib(end.rss_kib),
        mib(end.hwm_kib)
    );
    (
        json!({
            "emulator_after_setup": idle.json(),
            "points": points,
            "execute_memory": exec_mem,
            "emulator_after_load": end.json(),
        }),
        errors,
    )
}

/// One scenario at one concurrency: `requests` requests over `conc` connections.
async fn load_point(
    setup: &Arc<Setup>,
    scenario: Scenario,
    conc: usize,
    requests: usize,
) -> (Value, usize, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..conc {
        let setup = setup.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            worker(&setup, scenario, w, &next, requests).await
        }));
    }
    let mut all = WorkerOut::default();
    for task in tasks {
        let out = task.await.expect("load worker");
        all.latencies_us.extend(out.latencies_us);
        all.errors += out.errors;
        all.bytes += out.bytes;
        if all.first_error.is_none() {
            all.first_error = out.first_error;
        }
    }
    let took = t.elapsed();
    let n = all.latencies_us.len();
    all.latencies_us.sort_unstable();
    let pct = |p: usize| {
        all.latencies_us
            .get((n * p / 100).min(n.saturating_sub(1)))
            .map_or(0.0, |&us| us as f64 / 1000.0)
    };
    let rps = n as f64 / took.as_secs_f64();
    let per_reply = all.bytes / n.max(1) as u64;
    let max = all
        .latencies_us
        .last()
        .map_or(0.0, |&us| us as f64 / 1000.0);
    println!(
        "  {:<22} {:>5} {:>9} {:>10.0} {:>9.3} {:>9.3} {:>9.3} {:>8}",
        scenario.name(),
        conc,
        n,
        rps,
        pct(50),
        pct(99),
        max,
        per_reply
    );
    if let Some(e) = &all.first_error {
        println!("    {} errors; first: {e}", all.errors);
    }
    let commands = if scenario == Scenario::ExecuteCycle {
        n / 2
    } else {
        0
    };
    (
        json!({
            "scenario": scenario.name(),
            "connections": conc,
            "requests": n,
            "seconds": secs(took),
            "requests_per_second": rps.round(),
            "p50_ms": pct(50),
            "p99_ms": pct(99),
            "max_ms": max,
            "bytes_per_reply": per_reply,
            "errors": all.errors,
        }),
        all.errors,
        commands,
    )
}

/// Counts one request of a load point; `ok` is the status it must have.
fn record(out: &mut WorkerOut, t: Instant, status: u16, body: &Bytes, ok: u16) {
    out.latencies_us
        .push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
    out.bytes += body.len() as u64;
    if status != ok {
        out.errors += 1;
        if out.first_error.is_none() {
            out.first_error = Some(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            ));
        }
    }
}

async fn worker(
    setup: &Setup,
    scenario: Scenario,
    w: usize,
    next: &AtomicUsize,
    requests: usize,
) -> WorkerOut {
    let api = &setup.api;
    let mut out = WorkerOut::default();
    match scenario {
        Scenario::DevicesQuery | Scenario::StatusPoll => {
            let url = if scenario == Scenario::DevicesQuery {
                format!("{}/devices/queries/devices/v1?limit=100", api.base)
            } else {
                api.status_url(&setup.finished_cmd)
            };
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let t = Instant::now();
                let (status, body) = api.get_url(&url).await;
                record(&mut out, t, status, &body, 200);
            }
        }
        Scenario::ExecuteCycle => {
            let session = &setup.sessions[w];
            let aid = &setup.aids[w];
            // Two requests per cycle (more if a poll finds the command unfinished).
            while next.fetch_add(2, Ordering::Relaxed) < requests {
                let t = Instant::now();
                let (status, id, body) = api.execute(session, aid).await;
                record(&mut out, t, status, &body, 201);
                let Some(id) = id else { continue };
                let url = api.status_url(&id);
                for _ in 0..100 {
                    let t = Instant::now();
                    let (status, body) = api.get_url(&url).await;
                    record(&mut out, t, status, &body, 200);
                    if status != 200 || is_complete(&body) {
                        break;
                    }
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 3. The batch across every host

/// Sequential cheap requests (online state of one host) while the batch runs: their worst
/// latency shows how long the batch holds the emulator's state lock.
fn spawn_probe(
    api: Api,
    aid: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(Instant, Duration)>> {
    tokio::spawn(async move {
        let url = format!("{}/devices/entities/online-state/v1?ids={aid}", api.base);
        let mut samples = Vec::new();
        for _ in 0..200_000 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let t = Instant::now();
            let _ = api.get_url(&url).await;
            samples.push((t, t.elapsed()));
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        samples
    })
}

fn max_probe(samples: &[(Instant, Duration)], from: Instant, to: Instant) -> f64 {
    samples
        .iter()
        .filter(|(t, _)| *t >= from && *t < to)
        .map(|(_, d)| ms(*d))
        .fold(0.0, f64::max)
}

async fn batch(plan: &Plan) -> (Value, usize) {
    println!(
        "\n== 3. Batch across {} hosts (emulator: child process, command latency {})",
        plan.hosts, plan.batch_latency
    );
    let mut errors = 0;
    let emu = ChildEmulator::start(plan.hosts, plan.batch_latency);
    let idle = emu.mem();
    let api = Api::login(&emu.process.base).await;

    let t = Instant::now();
    let (aids, pages) = api.all_aids(plan.hosts).await;
    let resolve = t.elapsed();
    println!(
        "  resolve aids: {} aids in {pages} pages of <=5000, {:.1} ms",
        aids.len(),
        ms(resolve)
    );
    if aids.len() != plan.hosts {
        println!("  ERROR: expected {} aids", plan.hosts);
        errors += 1;
    }
    let woken = api.bring_all_online(&aids).await;
    println!(
        "  {woken} offline hosts brought online (online-state, then POST /_emulator/hosts/{{aid}}/online)"
    );
    let ready = emu.mem();

    let stop = Arc::new(AtomicBool::new(false));
    let probe = spawn_probe(
        Api::login(&emu.process.base).await,
        aids[0].clone(),
        stop.clone(),
    );
    tokio::time::sleep(Duration::from_millis(50)).await;

    // batch-init-session
    let t_init = Instant::now();
    let (status, body) = api
        .post(
            &format!("{RTR}/combined/batch-init-session/v1?timeout=120"),
            &json!({ "host_ids": aids, "queue_offline": false, "existing_batch_id": "" }),
        )
        .await;
    let init = t_init.elapsed();
    let init_bytes = body.len();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let batch_id = v["batch_id"].as_str().unwrap_or_default().to_string();
    let init_ok = v["resources"].as_object().map_or(0, |m| {
        m.values()
            .filter(|r| {
                r["session_id"].as_str().is_some_and(|s| !s.is_empty())
                    && r["errors"].as_array().is_some_and(Vec::is_empty)
            })
            .count()
    });
    println!(
        "  batch-init-session: HTTP {status}, {init_ok}/{} sessions, {:.1} ms, reply {:.2} MiB",
        aids.len(),
        ms(init),
        init_bytes as f64 / 1_048_576.0
    );
    if status != 201 || init_ok != aids.len() || batch_id.is_empty() {
        println!("  ERROR: batch init did not open every session");
        errors += 1;
    }

    // batch-command `ps`
    let t_cmd = Instant::now();
    let (status, body) = api
        .post(
            &format!("{RTR}/combined/batch-command/v1?timeout=120"),
            &json!({
                "base_command": "ps", "command_string": "ps", "batch_id": batch_id,
                "optional_hosts": aids, "persist_all": false,
            }),
        )
        .await;
    let cmd = t_cmd.elapsed();
    let cmd_bytes = body.len();
    let t_parse = Instant::now();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let parse = t_parse.elapsed();
    let results = v["combined"]["resources"].as_object();
    let mut complete = 0usize;
    let mut bad = Vec::new();
    for aid in &aids {
        let r = results.and_then(|m| m.get(aid));
        let ok = r.is_some_and(|r| {
            r["complete"].as_bool() == Some(true)
                && r["stdout"].as_str().is_some_and(|s| !s.is_empty())
        });
        if ok {
            complete += 1;
        } else if bad.len() < 3 {
            bad.push(aid.clone());
        }
    }
    let stdout_bytes: usize = results.map_or(0, |m| {
        m.values()
            .filter_map(|r| r["stdout"].as_str().map(str::len))
            .sum()
    });
    println!(
        "  batch-command ps: HTTP {status}, {complete}/{} complete with stdout, {:.1} ms \
         ({:.1} ms beyond the {} host latency), reply {:.2} MiB ({:.0} B stdout/host), \
         client parse {:.1} ms",
        aids.len(),
        ms(cmd),
        ms(cmd.saturating_sub(humantime::parse_duration(plan.batch_latency).unwrap_or_default())),
        plan.batch_latency,
        cmd_bytes as f64 / 1_048_576.0,
        stdout_bytes as f64 / aids.len().max(1) as f64,
        ms(parse)
    );
    if status != 201 || complete != aids.len() {
        println!("  ERROR: hosts without a complete result, e.g. {bad:?}");
        errors += 1;
    }
    let after_cmd = emu.mem();

    // batch-refresh-session
    let t_ref = Instant::now();
    let (status, body) = api
        .post(
            &format!("{RTR}/combined/batch-refresh-session/v1?timeout=120"),
            &json!({ "batch_id": batch_id, "hosts_to_remove": [] }),
        )
        .await;
    let refresh = t_ref.elapsed();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let refreshed = v["resources"].as_object().map_or(0, |m| {
        m.values()
            .filter(|r| r["errors"].as_array().is_some_and(Vec::is_empty))
            .count()
    });
    println!(
        "  batch-refresh-session: HTTP {status}, {refreshed}/{} refreshed, {:.1} ms, reply {:.2} MiB",
        aids.len(),
        ms(refresh),
        body.len() as f64 / 1_048_576.0
    );
    if status != 201 || refreshed != aids.len() {
        println!("  ERROR: batch refresh did not refresh every session");
        errors += 1;
    }
    let t_end = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let samples = probe.await.unwrap_or_default();
    let probe_init = max_probe(&samples, t_init, t_cmd);
    let probe_cmd = max_probe(&samples, t_cmd, t_ref);
    let probe_ref = max_probe(&samples, t_ref, t_end);
    let probe_p50 = {
        let mut d: Vec<f64> = samples.iter().map(|(_, d)| ms(*d)).collect();
        d.sort_by(f64::total_cmp);
        d.get(d.len() / 2).copied().unwrap_or(0.0)
    };
    println!(
        "  a cheap request (online-state) during: init max {probe_init:.1} ms, \
         command max {probe_cmd:.1} ms, refresh max {probe_ref:.1} ms (median {probe_p50:.2} ms, \
         {} probes)",
        samples.len()
    );
    let end = emu.mem();
    println!(
        "  emulator memory: idle RSS {:.1} MiB, before the batch {:.1} MiB, after it {:.1} MiB, \
         peak (VmHWM) {:.1} MiB",
        mib(idle.rss_kib),
        mib(ready.rss_kib),
        mib(end.rss_kib),
        mib(end.hwm_kib)
    );
    (
        json!({
            "hosts": aids.len(),
            "command_latency": plan.batch_latency,
            "emulator_idle": idle.json(),
            "emulator_ready": ready.json(),
            "resolve_aids_ms": ms(resolve),
            "resolve_aids_pages": pages,
            "init": { "ms": ms(init), "reply_bytes": init_bytes, "sessions": init_ok },
            "command": {
                "ms": ms(cmd), "reply_bytes": cmd_bytes, "complete": complete,
                "stdout_bytes": stdout_bytes, "client_parse_ms": ms(parse),
            },
            "emulator_after_command": after_cmd.json(),
            "refresh": { "ms": ms(refresh), "refreshed": refreshed },
            "probe_max_ms": { "init": probe_init, "command": probe_cmd, "refresh": probe_ref },
            "probe_median_ms": probe_p50,
            "emulator_end": end.json(),
        }),
        errors,
    )
}
