//! Stacking at fleet scale: `stack name ps` over 10,000 hosts' outputs, timed from the moment
//! the outputs have arrived (parsing them into records and counting), with the memory the
//! kept records take next to the size of the outputs they came from.
//!
//! Run with `cargo bench --bench stack` (10,000 hosts) or `cargo bench --bench stack -- --quick`
//! (1,000; also `RTRSH_BENCH_QUICK=1`). The outputs are the emulator's own (`ps` on each host of
//! a simulated tenant, rendered in process, one at a time: the bench never holds them all), so
//! the figures are the parser's and the store's, not HTTP's. Memory: the process's peak resident
//! size (`VmHWM`) before and after, and the store's own estimate of what it keeps. Figures go to
//! `target/bench-stack.json`.

mod common;

use std::time::{Duration, Instant};

use rtrsh::shell::results::{self, Results};
use rtrsh_emulator::content::Content;
use rtrsh_emulator::world::{CloudLibrary, HostState, World, WorldConfig};

struct NoLibrary;

impl CloudLibrary for NoLibrary {
    fn put_file(&self, _: &str) -> Option<Content> {
        None
    }
    fn script(&self, _: &str) -> Option<String> {
        None
    }
}

/// `VmHWM` of this process, in KiB (0 where /proc is missing).
fn peak_kib() -> u64 {
    common::status_kib(None, "VmHWM:").unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    let Some(quick) = common::mode("stack") else {
        return;
    };
    let hosts = if quick { 1_000 } else { 10_000 };
    let world = World::new(&WorldConfig {
        hosts,
        offline_share: 0.0,
        ..Default::default()
    });
    let words = vec!["ps".to_string()];
    let mut results = Results::default();
    let before_kib = peak_kib();
    let mut collect = results.start("ps", &words).expect("ps is parsed");
    let mut parse_time = Duration::ZERO;
    let mut parser_time = Duration::ZERO;
    let mut output_bytes = 0u64;
    let mut answered = 0usize;
    for (i, h) in world.hosts().iter().enumerate() {
        let mut state = HostState::default();
        let mut cwd = world.initial_cwd(i);
        let Ok(run) = world.execute(i, &mut state, &mut cwd, "ps", "ps", &NoLibrary) else {
            continue;
        };
        let text = String::from_utf8_lossy(&run.stdout.to_bytes()).into_owned();
        output_bytes += text.len() as u64;
        answered += 1;
        // The parser alone (its share of the time below).
        let t = Instant::now();
        let parsed = rtrsh::parse::parse(rtrsh::parse::Kind::Ps, h.platform, &text);
        parser_time += t.elapsed();
        drop(parsed);
        // Timed: what happens once a host's output has arrived.
        let t = Instant::now();
        collect.add(&h.hostname, &h.aid, Some(h.platform), None, &text);
        parse_time += t.elapsed();
    }
    let t = Instant::now();
    results.finish(collect);
    let kept = results.get(None).expect("kept");
    let stack = results::stack(kept, "name").expect("stacks");
    let stack_time = t.elapsed();
    let rarest: Vec<String> = stack
        .rows
        .iter()
        .take(3)
        .map(|r| {
            format!(
                "{} ({})",
                rtrsh::output::sanitize::sanitize_line(&r.value),
                r.count()
            )
        })
        .collect();
    let after_kib = peak_kib();
    let total = parse_time + stack_time;
    println!("stack bench: `stack name ps` over {answered} hosts' outputs");
    println!(
        "  outputs          {:>10.1} MiB ({} records kept)",
        output_bytes as f64 / 1048576.0,
        kept.records()
    );
    println!(
        "  parse + keep     {:>10.1} ms  ({:.1} µs a host)",
        parse_time.as_secs_f64() * 1e3,
        parse_time.as_secs_f64() * 1e6 / answered.max(1) as f64
    );
    println!(
        "    of which parser{:>10.1} ms (parsing alone, a second pass)",
        parser_time.as_secs_f64() * 1e3
    );
    println!(
        "  stack (count)    {:>10.1} ms",
        stack_time.as_secs_f64() * 1e3
    );
    println!(
        "  total            {:>10.1} ms   target: well under 1000 ms",
        total.as_secs_f64() * 1e3
    );
    println!(
        "  kept (estimate)  {:>10.1} MiB",
        kept.bytes() as f64 / 1048576.0
    );
    println!(
        "  peak RSS         {:>10.1} MiB -> {:.1} MiB (+{:.1} MiB)",
        mib(before_kib),
        mib(after_kib),
        mib(after_kib.saturating_sub(before_kib))
    );
    println!("  rarest           {}", rarest.join(", "));
    let report = serde_json::json!({
        "hosts": answered,
        "output_bytes": output_bytes,
        "records": kept.records(),
        "parse_ms": parse_time.as_secs_f64() * 1e3,
        "parser_alone_ms": parser_time.as_secs_f64() * 1e3,
        "stack_ms": stack_time.as_secs_f64() * 1e3,
        "total_ms": total.as_secs_f64() * 1e3,
        "kept_bytes_estimate": kept.bytes(),
        "peak_rss_before_kib": before_kib,
        "peak_rss_after_kib": after_kib,
    });
    common::write_report("bench-stack.json", &report);
}
