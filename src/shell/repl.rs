//! The interactive prompt's editor: `DESKTOP-01 C:\Windows>` (the lines it reads are run by
//! [`crate::shell::interp`]).
//!
//! rustyline blocks, so the editor lives on its own OS thread for the whole session and the
//! async side asks it for one line at a time. Background notices (session re-opened, pulse
//! failures) go through rustyline's external printer while a line is being typed, so they do
//! not corrupt it, and straight to stderr while a command runs. Ctrl-C at the prompt clears the
//! line; during a command it cancels the wait (the command may still run on the host). Ctrl-D or
//! `exit` ends the session.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc as std_mpsc};
use std::time::Duration;

use rustyline::config::{Behavior, ColorMode, CompletionType};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor, ExternalPrinter};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::output::sanitize::sanitize_line;
use crate::output::style;
use crate::shell::complete::ShellHelper;

/// What the editor thread answers.
pub enum Read {
    Line(String),
    Interrupted,
    Eof,
    Failed(String),
}

/// One line asked of the editor thread: shown with `prompt`, answered on `reply`.
pub struct ReadRequest {
    pub prompt: String,
    pub reply: oneshot::Sender<Read>,
}

/// Prints notices without breaking the line being edited.
#[derive(Clone)]
pub struct Notifier {
    reading: Arc<AtomicBool>,
    printer: Option<std_mpsc::Sender<String>>,
}

impl Notifier {
    pub fn notify(&self, msg: &str) {
        let line = style::notice(msg);
        if self.reading.load(Ordering::SeqCst)
            && let Some(p) = &self.printer
            && p.send(format!("{line}\n")).is_ok()
        {
            return;
        }
        eprintln!("{line}");
    }
}

/// The history file of a profile: `<data dir>/rtrsh/history` for the default profile,
/// `history-<profile>` for others (commands typed for one tenant stay out of another's).
pub fn history_path(profile: Option<&str>) -> Option<PathBuf> {
    Some(
        dirs::data_dir()?
            .join("rtrsh")
            .join(crate::shell::complete::history_file_name(profile)),
    )
}

/// Starts the editor thread; returns the request channel and the notifier.
pub fn start_editor(
    history: Option<PathBuf>,
    helper: ShellHelper,
) -> Result<(std_mpsc::Sender<ReadRequest>, Notifier), String> {
    let setup = EditorSetup::detect();
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_space(true)
        .max_history_size(10_000)
        .map_err(|e| e.to_string())?
        // Like bash: TAB completes the common prefix, a second TAB lists the candidates.
        .completion_type(CompletionType::List)
        .behavior(setup.behavior)
        .bracketed_paste(setup.bracketed_paste)
        .color_mode(if setup.colour {
            ColorMode::Forced
        } else {
            ColorMode::Disabled
        })
        .build();
    // rustyline calls the highlighter (coloured prompt, dimmed hints) only with colours on. An
    // undimmed hint would read as typed text, so without colours there are none.
    let helper = helper.with_hints(setup.colour);
    let mut editor: Editor<ShellHelper, FileHistory> =
        Editor::with_config(config).map_err(|e| format!("cannot start the line editor: {e}"))?;
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    editor.set_helper(Some(helper));
    let reading = Arc::new(AtomicBool::new(false));
    // The external printer's `print` can block: feed it from its own thread.
    let printer = match editor.create_external_printer() {
        Ok(mut p) => {
            let (tx, rx) = std_mpsc::channel::<String>();
            std::thread::Builder::new()
                .name("rtrsh-printer".into())
                .spawn(move || {
                    while let Ok(msg) = rx.recv() {
                        if p.print(msg).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| e.to_string())?;
            Some(tx)
        }
        Err(_) => None,
    };
    let (tx, rx) = std_mpsc::channel::<ReadRequest>();
    let flag = reading.clone();
    std::thread::Builder::new()
        .name("rtrsh-readline".into())
        .spawn(move || {
            while let Ok(req) = rx.recv() {
                flag.store(true, Ordering::SeqCst);
                let r = editor.readline(&req.prompt);
                flag.store(false, Ordering::SeqCst);
                let answer = match r {
                    Ok(line) => {
                        if !line.trim().is_empty() {
                            let _ = editor.add_history_entry(line.as_str());
                        }
                        Read::Line(line)
                    }
                    Err(ReadlineError::Interrupted) => Read::Interrupted,
                    Err(ReadlineError::Eof) => Read::Eof,
                    Err(e) => Read::Failed(e.to_string()),
                };
                let _ = req.reply.send(answer);
            }
            if let Some(h) = &history {
                save_history(&mut editor, h);
            }
        })
        .map_err(|e| e.to_string())?;
    Ok((tx, Notifier { reading, printer }))
}

fn save_history(editor: &mut Editor<ShellHelper, FileHistory>, path: &std::path::Path) {
    if let Some(dir) = path.parent() {
        let _ = crate::output::private::dirs(dir);
    }
    if editor.save_history(path).is_ok() {
        // Command lines can name sensitive paths: keep the file private.
        crate::output::private::restrict(path);
    }
}

/// Where the line editor talks to the user, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EditorSetup {
    behavior: Behavior,
    bracketed_paste: bool,
    /// Coloured prompt and dimmed hints.
    colour: bool,
}

impl EditorSetup {
    fn detect() -> EditorSetup {
        use std::io::IsTerminal;
        let stdout_tty = std::io::stdout().is_terminal();
        // With stdout redirected the editor draws on the terminal itself, which it can when
        // rtrsh has one.
        let tty = stdout_tty
            || std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")
                .is_ok();
        EditorSetup::new(stdout_tty, style::decide_from_env(tty))
    }

    /// On a terminal, the editor uses stdin and stdout as usual. With stdout redirected
    /// (`rtrsh --host X > log`, `| tee log`), stdout carries what the commands printed, as a
    /// terminal session would show it, and nothing of the editor: the prompt, the typed line
    /// and its repaints go to the terminal (`/dev/tty`), and the terminal is never put into
    /// bracketed-paste mode through stdout.
    fn new(stdout_tty: bool, colour: bool) -> EditorSetup {
        EditorSetup {
            behavior: if stdout_tty {
                Behavior::Stdio
            } else {
                Behavior::PreferTerm
            },
            bracketed_paste: stdout_tty,
            colour,
        }
    }
}

/// The prompt text: hostname and the directory the sensor reports, both made inert.
pub fn prompt_text(hostname: &str, cwd: &str) -> String {
    let host = sanitize_line(hostname);
    if cwd.is_empty() {
        format!("{host}> ")
    } else {
        format!("{host} {}> ", sanitize_line(cwd))
    }
}

/// A spinner on stderr while waiting for a command's first output (only on a terminal).
pub fn spinner(label: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    pb.set_message(format!("running {}", sanitize_line(label)));
    pb.enable_steady_tick(Duration::from_millis(100));
    Some(pb)
}

/// What the terminal shows while a session opens (a sensor can take seconds): a spinner and
/// "connecting to HOST …" on stderr when it is a terminal. With `hold_keys` (the interactive
/// prompt follows) the terminal stops echoing meanwhile, so keys typed ahead are not printed
/// raw under the spinner; the terminal keeps them, and the first prompt reads them as typed.
/// Dropping it clears the spinner and gives the echo back (before the line editor saves the
/// terminal's settings).
pub struct Connecting {
    bar: Option<indicatif::ProgressBar>,
    #[cfg(unix)]
    saved: Option<rustix::termios::Termios>,
}

/// Starts showing that a session to `hostname` is opening (see [`Connecting`]).
pub fn connecting(hostname: &str, hold_keys: bool) -> Connecting {
    use std::io::IsTerminal;
    #[cfg(unix)]
    let saved = if hold_keys {
        without_local_modes(rustix::termios::LocalModes::ECHO)
    } else {
        None
    };
    #[cfg(not(unix))]
    let _ = hold_keys;
    let bar = std::io::stderr().is_terminal().then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        pb.set_message(format!("connecting to {} …", sanitize_line(hostname)));
        pb.enable_steady_tick(Duration::from_millis(100));
        pb
    });
    Connecting {
        bar,
        #[cfg(unix)]
        saved,
    }
}

impl Drop for Connecting {
    fn drop(&mut self) {
        if let Some(pb) = self.bar.take() {
            pb.finish_and_clear();
        }
        // `Now`, not a flush: the keys typed meanwhile stay queued for the prompt.
        #[cfg(unix)]
        restore_modes(self.saved.take());
    }
}

/// While a command runs at a prompt, the terminal does not echo control keys: Ctrl-C would
/// otherwise print `^C` after a spinner or progress bar drawn to the terminal's full width, the
/// terminal would wrap, and clearing the bar would leave its line behind. Keys typed ahead still
/// echo, and Ctrl-C still interrupts. Dropping it puts the setting back (before the next read).
pub struct QuietControls {
    #[cfg(unix)]
    saved: Option<rustix::termios::Termios>,
}

/// Turns `modes` off on the terminal of stdin; the settings to restore, or `None` when stdin
/// is not a terminal (or refuses).
#[cfg(unix)]
fn without_local_modes(modes: rustix::termios::LocalModes) -> Option<rustix::termios::Termios> {
    use rustix::termios::{OptionalActions, tcgetattr, tcsetattr};
    use std::io::IsTerminal;
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return None;
    }
    let original = tcgetattr(&stdin).ok()?;
    let mut changed = original.clone();
    changed.local_modes.remove(modes);
    tcsetattr(&stdin, OptionalActions::Now, &changed)
        .ok()
        .map(|()| original)
}

/// Puts back what [`without_local_modes`] changed (at once: typed keys stay queued).
#[cfg(unix)]
fn restore_modes(saved: Option<rustix::termios::Termios>) {
    if let Some(t) = saved {
        let _ =
            rustix::termios::tcsetattr(std::io::stdin(), rustix::termios::OptionalActions::Now, &t);
    }
}

/// Starts [`QuietControls`] (nothing when stdin is not a terminal).
pub fn quiet_controls() -> QuietControls {
    #[cfg(unix)]
    {
        QuietControls {
            saved: without_local_modes(rustix::termios::LocalModes::ECHOCTL),
        }
    }
    #[cfg(not(unix))]
    QuietControls {}
}

impl Drop for QuietControls {
    fn drop(&mut self) {
        #[cfg(unix)]
        restore_modes(self.saved.take());
    }
}

/// Ctrl-C as a stream of events, taken from the moment it is made (SIGINT on Unix; the console's
/// Ctrl-C event on Windows).
pub struct Interrupts {
    #[cfg(unix)]
    inner: tokio::signal::unix::Signal,
    #[cfg(windows)]
    inner: tokio::signal::windows::CtrlC,
}

impl Interrupts {
    /// Installs the handler at once (call it within the runtime).
    pub fn take() -> std::io::Result<Interrupts> {
        #[cfg(unix)]
        let inner = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        #[cfg(windows)]
        let inner = tokio::signal::windows::ctrl_c()?;
        Ok(Interrupts { inner })
    }

    /// The next Ctrl-C (`None`: no more can come).
    pub async fn recv(&mut self) -> Option<()> {
        self.inner.recv().await
    }
}

/// The token of the command running now, if any: what Ctrl-C cancels.
pub type Running = Arc<Mutex<Option<CancellationToken>>>;

/// Takes Ctrl-C for the prompt (one host or many): while a command runs (the terminal is in
/// cooked mode then) it cancels that command's wait; at the prompt rustyline sees the key
/// itself and clears the line. Call it BEFORE the editor's first read: rustyline saves the
/// SIGINT disposition it finds and restores it after each read, so if it found the default it
/// would put the default back and Ctrl-C during a command would kill rtrsh. `signal()` installs
/// the handler at once (`ctrl_c()` only when first polled, which is too late).
pub fn interrupt_canceller() -> Result<(Running, tokio::task::JoinHandle<()>), String> {
    let mut interrupts = Interrupts::take().map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
    let running: Running = Arc::new(Mutex::new(None));
    let r = running.clone();
    let task = tokio::spawn(async move {
        while interrupts.recv().await.is_some() {
            if let Some(c) = r.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                c.cancel();
            }
        }
    });
    Ok((running, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_is_inert() {
        assert_eq!(
            prompt_text("DESKTOP-01", "C:\\Windows"),
            "DESKTOP-01 C:\\Windows> "
        );
        let p = prompt_text("EVIL\x1b]0;x\x07", "/tmp\n");
        assert!(
            !p.contains('\x1b') && !p.contains('\n') && !p.contains('\x07'),
            "{p:?}"
        );
        assert_eq!(prompt_text("H", ""), "H> ");
    }

    #[test]
    fn the_editor_keeps_off_a_redirected_stdout() {
        let on_terminal = EditorSetup::new(true, true);
        assert_eq!(on_terminal.behavior, Behavior::Stdio);
        assert!(on_terminal.bracketed_paste && on_terminal.colour);
        let redirected = EditorSetup::new(false, false);
        assert_eq!(redirected.behavior, Behavior::PreferTerm);
        assert!(!redirected.bracketed_paste && !redirected.colour);
    }
}
