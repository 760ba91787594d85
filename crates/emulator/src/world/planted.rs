//! What stacking across a fleet has to find: on a few Windows hosts, an intruder's process
//! (`svch0st.exe`), its autorun (the `WindowsUpdaterSvc` value under `HKLM\...\Run`) and a
//! listening port (TCP 4444). Each is planted on its own few hosts (about 1 in 125, chosen from
//! the host's seed) and all three on `DESKTOP-01` (the demo's compromised workstation), so that
//! `stack name ps`, `stack value reg query ...\Run` and `stack local_port netstat` each find a
//! value on a handful of hosts among hundreds. `GET /_emulator/hosts` says which hosts have which,
//! so tests check the counts against the world, not against numbers written down.

use serde::Serialize;

use super::fs::Who;
use crate::rng::Rng;
use rtrsh_command::Platform;

/// The planted process's image name.
pub const PROCESS: &str = "svch0st.exe";
/// Its path.
pub const PROCESS_PATH: &str = r"C:\Windows\Temp\svch0st.exe";
/// The planted autorun: value name, type and data under [`RUN_KEY`].
pub const AUTORUN: (&str, &str, &str) = (
    "WindowsUpdaterSvc",
    "REG_SZ",
    r"C:\Windows\Temp\svch0st.exe -k netsvcs",
);
/// The key of the planted autorun.
pub const RUN_KEY: &str = r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Run";
/// The planted listening port.
pub const PORT: u16 = 4444;

/// One in how many generated Windows hosts has each planted item.
const ONE_IN: u64 = 125;

/// Which planted items a host has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Planted {
    pub process: bool,
    pub autorun: bool,
    pub port: bool,
}

/// The planted items of a host (none off Windows, none on the hostile host).
pub fn planted(index: usize, seed: u64, platform: Platform, hostile: bool) -> Planted {
    if platform != Platform::Windows || hostile {
        return Planted::default();
    }
    if index == 0 {
        return Planted {
            process: true,
            autorun: true,
            port: true,
        };
    }
    let mut r = Rng::derive(seed, &[0x91a7]);
    Planted {
        process: r.below(ONE_IN) == 0,
        autorun: r.below(ONE_IN) == 0,
        port: r.below(ONE_IN) == 0,
    }
}

impl Who<'_> {
    pub fn planted(&self) -> Planted {
        planted(self.index, self.seed, self.host.platform, self.host.hostile)
    }
}
