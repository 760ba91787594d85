//! `rtrsh demo` on a real pseudo-terminal, as the README's first command runs it: the emulator
//! starts in-process, the banner names the simulated tenant, the prompt is on DESKTOP-01, and
//! listing, `cd`, TAB completion of a remote path and `help` work. Hermetic: the transcript
//! and history land under the test's temporary HOME.

use std::time::Duration;

use crate::support::shell::{Pty, files_under, rtrsh_alone};

/// Generous: the machine is shared; a deadline only catches hangs.
const T: Duration = Duration::from_secs(30);

#[test]
fn the_demo_lists_changes_directory_completes_and_helps_on_a_terminal() {
    let sh = rtrsh_alone().args(["demo", "--latency", "20ms"]);
    let mut t = Pty::spawn(&sh);

    let banner = t.expect(r"DESKTOP-01 C:\> ", T);
    assert!(
        banner.contains("rtrsh demo: a simulated Falcon tenant with")
            && banner.contains("(nothing leaves this machine)")
            && banner.contains("Ctrl-D or `exit` leaves."),
        "{banner:?}"
    );

    t.line("ls");
    let listing = t.expect(r"DESKTOP-01 C:\> ", T);
    assert!(
        listing.contains(r"Directory listing for C:\")
            && listing.contains("Program Files")
            && listing.contains("Windows"),
        "{listing:?}"
    );

    t.line("cd Windows");
    t.expect(r"DESKTOP-01 C:\Windows> ", T);
    t.line(r"cd C:\");
    t.expect(r"DESKTOP-01 C:\> ", T);

    // TAB lists C:\ on the host and completes the only match, a directory: separator added.
    t.send("cd C:\\Win\t");
    t.expect(r"cd C:\Windows\", T);
    t.send("\r");
    t.expect(r"DESKTOP-01 C:\Windows> ", T);

    t.line("help");
    let help = t.expect(r"DESKTOP-01 C:\Windows> ", T);
    assert!(
        help.contains("RTR commands (help CMD for details):")
            && help.contains("Query and change the Windows registry")
            && help.contains("Local (one host or many):")
            && help.contains("library [put|scripts|falcon]"),
        "{help:?}"
    );

    t.ctrl_d();
    assert_eq!(t.wait_exit(T), 0, "Ctrl-D leaves with 0");

    let files = files_under(sh.home());
    let transcript = files
        .iter()
        .find(|f| {
            f.components().any(|c| c.as_os_str() == "transcripts")
                && f.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("DESKTOP-01"))
        })
        .unwrap_or_else(|| panic!("no transcript under the test's HOME: {files:?}"));
    let transcript = std::fs::read_to_string(transcript).expect("the transcript");
    assert!(transcript.contains(r#""cd Windows""#), "{transcript}");
    let history = std::fs::read_to_string(sh.home().join(".local/share/rtrsh/history"))
        .expect("the history, under the test's HOME");
    // rustyline's file format escapes backslashes.
    assert!(
        history.contains("cd Windows\n") && history.contains(r"cd C:\\Windows\\"),
        "{history:?}"
    );
}

/// `rtrsh demo --hosts 50` on an 80-column terminal: a fleet prompt, `stack name ps` finds the
/// planted process on one host in a table that fits the terminal, Ctrl-C stops a `stack` while
/// its command runs and the shell goes on, `results` numbers only what was kept.
#[test]
fn the_fleet_demo_stacks_in_80_columns_and_ctrl_c_stops_a_stack() {
    let sh = rtrsh_alone()
        .args(["demo", "--hosts", "50", "--latency", "3s"])
        .env("NO_COLOR", "1");
    let mut t = Pty::spawn(&sh);
    let banner = t.expect(" hosts] ", T);
    assert!(
        banner.contains("a simulated Falcon tenant with 50 hosts")
            && banner.contains("stack name ps"),
        "{banner:?}"
    );
    t.expect("> ", T);
    t.line("stack name ps");
    let shown = t.expect(" hosts] ", T);
    t.expect("> ", T);
    assert!(shown.contains("name of `ps` (#1) on "), "{shown:?}");
    let rows: Vec<&str> = shown.lines().filter(|l| l.starts_with('│')).collect();
    assert!(
        rows.iter()
            .any(|l| l.contains("svch0st.exe") && l.contains("DESKTOP-01")),
        "{shown:?}"
    );
    // Fitted: no row is broken by the terminal's own wrapping.
    assert!(
        rows.len() > 5 && rows.iter().all(|l| l.trim_end().ends_with('│')),
        "{shown:?}"
    );
    assert!(
        shown.contains("`stack --all name #1` shows every one"),
        "{shown:?}"
    );

    // Each host takes 3 s: Ctrl-C after 0.4 s comes long before any answer, however busy
    // the machine is.
    t.line("stack listen_port netstat");
    std::thread::sleep(Duration::from_millis(400));
    t.ctrl_c();
    t.expect(" hosts] ", T);
    t.expect("> ", T);
    t.line("results");
    let kept = t.expect(" hosts] ", T);
    assert!(kept.contains("#1") && kept.contains("ps"), "{kept:?}");
    assert!(
        !kept.contains("netstat"),
        "nothing answered the cancelled one: {kept:?}"
    );
    t.ctrl_d();
    assert_eq!(t.wait_exit(T), 0);
}
