//! What `rtrsh` generates from its own command line: shell completions and the man page
//! (`rtrsh completions SHELL`, `rtrsh man`, and the committed copies under `completions/` and
//! `man/` that `scripts/gen-completions.sh --check` keeps fresh).

use std::io::Write;

use clap::CommandFactory;

use crate::error::{CliError, Exit};

/// The committed completion scripts: shell and file name under `completions/`.
pub const COMPLETION_FILES: &[(clap_complete::Shell, &str)] = &[
    (clap_complete::Shell::Bash, "rtrsh.bash"),
    (clap_complete::Shell::Zsh, "_rtrsh"),
    (clap_complete::Shell::Fish, "rtrsh.fish"),
    (clap_complete::Shell::PowerShell, "_rtrsh.ps1"),
    (clap_complete::Shell::Elvish, "rtrsh.elv"),
];

/// The committed man page, relative to the repository.
pub const MAN_FILE: &str = "man/rtrsh.1";

/// The completion script of `shell` for the `rtrsh` command line.
pub fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = super::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "rtrsh", &mut out);
    out
}

/// Sections clap does not know, appended to the generated page.
const MAN_EXTRA: &str = r#".SH "INTERACTIVE USE"
At the prompt, TAB completes command names, subcommands, flags and paths on the host
(listed with \fBls\fR through the session and cached per directory for a minute) as far as
the candidates agree; a second TAB lists them.
After a command and a space, its usage shows dimmed after the cursor (not when \fBNO_COLOR\fR
is set); it is never part of the line.
\fBhelp\fR lists the commands of the host's platform; \fBhelp\fR \fICMD\fR describes one.
\fBfiles\fR lists the session's retrieved files; \fBlibrary\fR [\fBput\fR|\fBscripts\fR|\fBfalcon\fR]
lists the tenant's put\-files, custom scripts and Falcon scripts.
Ctrl\-C cancels the wait for a running command; Ctrl\-D or \fBexit\fR closes the session.
With stdout redirected (\fB> log\fR, \fB| tee log\fR) the prompt and line editing stay on the
terminal and stdout gets the commands' output only, each ending its line.
.SH COLOUR
On a terminal, host stderr is red, rtrsh's notices are dimmed, its errors bold red, per\-host
headers bold, and the prompt's host and directory coloured; host stdout stays plain.
\fB\-\-color\fR \fIauto\fR|\fIalways\fR|\fInever\fR; with \fIauto\fR, colour is off when
\fBNO_COLOR\fR is set or the stream is not a terminal. Colour never enters \fB\-\-json\fR
output, saved files or the audit transcript.
.SH "EXIT STATUS"
.TP
\fB0\fR
Every command succeeded.
.TP
\fB1\fR
A command failed.
.TP
\fB2\fR
Usage error: bad flags or command lines.
.TP
\fB3\fR
Authentication or connection failure.
.SH "SEE ALSO"
Shell completions: \fBrtrsh completions\fR \fIbash\fR|\fIzsh\fR|\fIfish\fR|\fIpowershell\fR|\fIelvish\fR.
"#;

/// The man page (roff).
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(super::Cli::command()).render(&mut out)?;
    out.extend_from_slice(MAN_EXTRA.as_bytes());
    Ok(out)
}

fn write_stdout(bytes: &[u8]) -> Result<Exit, CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(Exit::Ok),
        // `rtrsh man | head`: the reader left; not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Ok),
        Err(e) => Err(CliError::new(
            Exit::CommandFailed,
            format!("cannot write to stdout: {e}"),
        )),
    }
}

/// `rtrsh completions SHELL`
pub fn print_completions(shell: clap_complete::Shell) -> Result<Exit, CliError> {
    write_stdout(&completion_script(shell))
}

/// `rtrsh man`
pub fn print_man() -> Result<Exit, CliError> {
    let page = man_page().map_err(|e| {
        CliError::new(
            Exit::CommandFailed,
            format!("cannot render the man page: {e}"),
        )
    })?;
    write_stdout(&page)
}
