//! A fleet's outputs larger than one chunk are handed on in bounded units as their chunk loops
//! finish, and the chunk 0 the batch replies carried is kept only up to a budget (the rest is
//! fetched again): every host is still accounted once with its whole output.

use std::collections::{HashMap, HashSet};

use rtrsh_client::session::fleet::{Fleet, FleetOptions, HostIdx, RunResult};
use rtrsh_command::Tier;
use rtrsh_emulator::EmulatorConfig;
use tokio_util::sync::CancellationToken;

use crate::support::client::falcon_client;
use crate::support::{TestEnv, fast};

const CHUNK: usize = 128 * 1024;
const MIB: usize = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_outputs_arrive_in_bounded_units_and_every_host_once() {
    let env = TestEnv::start(EmulatorConfig {
        chunk_size: CHUNK as u64,
        ..fast()
    })
    .await;
    let aids = env.online_windows_aids(8).await;
    let client = falcon_client(&env);
    let aids: Vec<rtrsh_client::Aid> = aids.into_iter().map(Into::into).collect();
    let devices = client.get_devices(&aids).await.expect("devices");
    let opts = FleetOptions {
        // A unit is handed on once it holds 1.5 MiB: two of these 1 MiB outputs.
        unit_bytes: MIB + MIB / 2,
        // Room for three hosts' chunk 0; the others fetch theirs again.
        first_chunks_kept: 3 * CHUNK,
        ..Default::default()
    };
    let mut fleet = Fleet::new(client, devices, opts);
    fleet.check_online().await.expect("online states");
    let report = fleet.connect(&mut |_| {}).await.expect("connect");
    assert_eq!(report.connected, aids.len());
    let targets: Vec<HostIdx> = fleet.active().collect();
    let line = r"cat C:\Logs\big-1mb.log";
    let mut units = Vec::new();
    let mut outputs: HashMap<HostIdx, (String, String)> = HashMap::new();
    fleet
        .run(
            line,
            "cat",
            Tier::ReadOnly,
            &targets,
            &CancellationToken::new(),
            &mut |_, unit| {
                let bytes: usize = unit
                    .groups
                    .iter()
                    .map(|g| g.stdout.len() + g.stderr.len())
                    .sum();
                for r in &unit.runs {
                    let RunResult::Output { group, stderr } = r.result else {
                        panic!("host {} did not succeed: {:?}", r.host, r.result);
                    };
                    assert!(!stderr);
                    let text = unit.groups[group].stdout.clone();
                    let before = outputs.insert(r.host, (r.cloud_request_id.to_string(), text));
                    assert!(before.is_none(), "host {} accounted twice", r.host);
                }
                units.push((unit.runs.len(), bytes));
            },
        )
        .await;
    assert_eq!(outputs.len(), aids.len(), "every host once");
    // No unit holds more than its limit plus the one output that crossed it.
    assert!(units.len() >= 4, "{units:?}");
    assert!(
        units.iter().all(|&(_, b)| b <= MIB + MIB / 2 + MIB),
        "{units:?}"
    );
    // Each host's whole file, and a command's chunk 0 was fetched again only where it had not
    // been kept (three hosts kept theirs).
    let stats = env.stats().await;
    let api = env.api();
    let mut refetched = 0;
    let mut crids = HashSet::new();
    for (crid, text) in outputs.values() {
        assert!(crids.insert(crid.clone()), "one command per host");
        let (stdout, _, chunks) = api.read_all(Tier::ReadOnly, crid).await;
        assert_eq!(chunks, (MIB / CHUNK) as u64);
        assert_eq!(text.len(), MIB);
        assert!(*text == stdout, "output of {crid} differs from the file");
        let polls = &stats["commands"][crid.as_str()]["polls_by_sequence"];
        if polls.get("0").is_some() {
            refetched += 1;
        }
    }
    assert_eq!(refetched, aids.len() - 3, "chunk 0 kept for three hosts");
}
