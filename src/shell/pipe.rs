//! Local pipes and redirection: `ps | grep -i svchost`, `netstat > net.txt`. The command goes
//! to the hosts; its output (stdout; stderr stays on the terminal) goes to a local pipeline run
//! by the user's shell, or to a file. Nothing of the pipe or the file name is sent to the API.
//!
//! Host output is hostile: it is made inert (unless `--raw`) before it reaches the pipeline
//! or the file, as it is before it reaches the terminal. Files are created private (0600), as
//! they hold what a compromised host said. The file is opened, or the pipeline started, before
//! the command is sent: a bad path costs no API call.

use std::fs::File;
use std::io::{self, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::output::writer::{OutputMode, SanitizingWriter};

enum Sink {
    /// The pipeline's stdin, fed by a thread of its own: a pipeline that reads slowly (`| less`)
    /// must not hold up the polling (the hosts' results would time out). What it has not read
    /// yet waits in memory.
    Pipe(Feeder),
    File(File),
    /// The pipeline stopped reading (`| head -1`): the rest is dropped, as a shell does.
    Closed,
}

/// Where a command's output goes, locally, instead of the terminal. Nothing of it is sent to
/// the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// `| PIPELINE`: the user's shell runs PIPELINE (`$SHELL -c`, `cmd /C` on Windows) with
    /// the output on its stdin.
    Pipe(String),
    /// `> FILE` (or `>> FILE`: `append`).
    File {
        path: std::path::PathBuf,
        append: bool,
    },
    /// Not printed (`stack FIELD CMD` prints the stack, not CMD's output): the output is still
    /// saved, audited and parsed.
    Discard,
}

/// Writes handed to the pipeline's writer and not yet taken: when the pipeline reads slower
/// than the output comes (`| less` at its prompt), the output waits here, so memory stays
/// bounded (a few MB at most), whatever the output's size.
const PIPE_WRITES_AHEAD: usize = 16;

/// Hands bytes to the thread that writes them into the pipeline.
struct Feeder {
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl Feeder {
    fn start(mut stdin: ChildStdin) -> io::Result<Feeder> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(PIPE_WRITES_AHEAD);
        let thread = std::thread::Builder::new()
            .name("rtrsh-pipe".into())
            .spawn(move || {
                while let Ok(bytes) = rx.recv() {
                    match stdin.write_all(&bytes) {
                        Ok(()) => {}
                        // It stopped reading: the rest is dropped (as a shell does).
                        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
                        Err(e) => return Err(e),
                    }
                }
                stdin.flush().or_else(|e| {
                    if e.kind() == io::ErrorKind::BrokenPipe {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
            })?;
        Ok(Feeder {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Closes the pipeline's input once everything was written; the writer's error, if any.
    fn close(&mut self) -> io::Result<()> {
        self.tx = None;
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(io::Error::other("the pipe's writer failed")),
            None => Ok(()),
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = match self {
            Sink::Pipe(p) => {
                // The writer ended (the pipeline stopped reading): dropped from here on.
                if p.tx
                    .as_ref()
                    .is_none_or(|tx| tx.send(buf.to_vec()).is_err())
                {
                    return Ok(buf.len());
                }
                Ok(buf.len())
            }
            Sink::File(f) => f.write(buf),
            Sink::Closed => return Ok(buf.len()),
        };
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                *self = Sink::Closed;
                Ok(buf.len())
            }
            r => r,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = match self {
            Sink::Pipe(_) | Sink::Closed => Ok(()),
            Sink::File(f) => f.flush(),
        };
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                *self = Sink::Closed;
                Ok(())
            }
            r => r,
        }
    }
}

/// Where one command's output goes instead of the terminal.
pub struct Local {
    out: SanitizingWriter<Sink>,
    child: Option<Child>,
    /// `| grep x`, `> net.txt`: for messages.
    shown: String,
    /// A write failed (disk full, ...): the first error, reported at the end.
    failed: Option<io::Error>,
    /// The last byte given: output that does not end a line gets its newline at the end
    /// (`wc -l`, `grep` and the next `>>` see whole lines).
    last: Option<u8>,
    /// Set once the output has ended ([`Local::close`]).
    outcome: Option<Result<bool, String>>,
}

/// The user's shell and its "run this line" flag.
fn user_shell() -> (String, &'static str) {
    if cfg!(windows) {
        (
            std::env::var("COMSPEC").unwrap_or_else(|_| "cmd.exe".into()),
            "/C",
        )
    } else {
        (
            std::env::var("SHELL")
                .ok()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "/bin/sh".into()),
            "-c",
        )
    }
}

impl Local {
    /// Starts the pipeline or opens the file. `raw`: pass host bytes unchanged (`--raw`).
    pub fn open(to: &Output, raw: bool) -> Result<Local, String> {
        let mode = if raw {
            OutputMode::Raw
        } else {
            OutputMode::Sanitized
        };
        let (sink, child, shown) = match to {
            Output::Pipe(pipeline) => {
                let (shell, flag) = user_shell();
                let mut child = Command::new(&shell)
                    .arg(flag)
                    .arg(pipeline)
                    .stdin(Stdio::piped())
                    .spawn()
                    .map_err(|e| format!("cannot start `{pipeline}` with {shell}: {e}"))?;
                let stdin = child
                    .stdin
                    .take()
                    .ok_or_else(|| format!("cannot write to `{pipeline}`"))?;
                let feeder = Feeder::start(stdin)
                    .map_err(|e| format!("cannot write to `{pipeline}`: {e}"))?;
                (Sink::Pipe(feeder), Some(child), format!("| {pipeline}"))
            }
            Output::Discard => (Sink::Closed, None, String::new()),
            Output::File { path, append } => {
                let mut o = crate::output::private::options();
                o.create(true).write(true);
                if *append {
                    o.append(true);
                } else {
                    o.truncate(true);
                }
                let f = o
                    .open(path)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                let op = if *append { ">>" } else { ">" };
                (Sink::File(f), None, format!("{op} {}", path.display()))
            }
        };
        Ok(Local {
            out: SanitizingWriter::new(sink, mode),
            child,
            shown,
            failed: None,
            last: None,
            outcome: None,
        })
    }

    /// Nothing is shown: the output is only discarded (progress may be drawn meanwhile).
    pub fn discards(&self) -> bool {
        self.child.is_none() && self.shown.is_empty()
    }

    /// Output for the pipeline or file (a write error is kept for [`Local::finish`]).
    pub fn put(&mut self, bytes: &[u8]) {
        if self.failed.is_some() || bytes.is_empty() {
            return;
        }
        self.last = bytes.last().copied();
        if let Err(e) = self.out.write_all(bytes).and_then(|_| self.out.flush()) {
            self.failed = Some(e);
        }
    }

    /// Ends the output: the file is flushed, the pipeline's input closed and the pipeline
    /// waited for (its output shows before the next prompt). `Ok(false)`: the pipeline ended
    /// with a failure status (`| grep -q x` found nothing), as a shell's pipeline status.
    /// `Err`: what went wrong, one line.
    pub fn finish(mut self) -> Result<bool, String> {
        self.close();
        self.outcome.take().unwrap_or(Ok(true))
    }

    /// Ends the output now (see [`Local::finish`], which gives the outcome): a fleet ends it
    /// before its summary line, so the pipeline's last output shows above that line, never
    /// after it. Closing twice does nothing more.
    pub fn close(&mut self) {
        if self.outcome.is_some() {
            return;
        }
        if self.last.is_some_and(|b| b != b'\n') {
            self.put(b"\n");
        }
        let r = self.out.finish().and_then(|_| self.out.flush());
        if self.failed.is_none()
            && let Err(e) = r
        {
            self.failed = Some(e);
        }
        if let Sink::File(f) = self.out.get_mut()
            && self.failed.is_none()
            && let Err(e) = f.sync_data()
        {
            self.failed = Some(e);
        }
        // Closing stdin (after the writer has written everything) lets the pipeline end.
        let mut sink = std::mem::replace(self.out.get_mut(), Sink::Closed);
        if let Sink::Pipe(feeder) = &mut sink
            && let Err(e) = feeder.close()
            && self.failed.is_none()
        {
            self.failed = Some(e);
        }
        drop(sink);
        let status = self.child.take().map(|mut c| c.wait());
        self.outcome = Some(if let Some(e) = self.failed.take() {
            Err(format!("{}: {e}", self.shown))
        } else {
            match status {
                Some(Err(e)) => Err(format!("{}: {e}", self.shown)),
                Some(Ok(s)) => Ok(s.success()),
                None => Ok(true),
            }
        });
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // Not finished (an error path): close its input and let it end.
            if let Sink::Pipe(feeder) = self.out.get_mut() {
                let _ = feeder.close();
            }
            *self.out.get_mut() = Sink::Closed;
            let _ = c.wait();
        }
    }
}

impl Write for Local {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.put(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_gets_the_output_inert_and_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.txt");
        let to = Output::File {
            path: path.clone(),
            append: false,
        };
        let mut l = Local::open(&to, false).expect("opens");
        l.put(b"one\n\x1b]0;evil\x07two\n");
        l.finish().expect("finishes");
        let text = std::fs::read_to_string(&path).expect("written");
        assert!(
            text.starts_with("one\n") && !text.contains('\x1b'),
            "{text:?}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let append = Output::File {
            path: path.clone(),
            append: true,
        };
        let mut l = Local::open(&append, true).expect("opens");
        l.put(b"three\n");
        l.finish().expect("finishes");
        let text = std::fs::read_to_string(&path).expect("written");
        assert!(text.ends_with("two\nthree\n"), "{text:?}");
    }

    #[test]
    fn a_missing_directory_is_an_error_before_anything_runs() {
        let to = Output::File {
            path: "/nonexistent-dir-rtrsh/x.txt".into(),
            append: false,
        };
        assert!(
            Local::open(&to, false)
                .err()
                .is_some_and(|e| e.contains("cannot write /nonexistent-dir-rtrsh/x.txt"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_pipeline_that_stops_reading_is_not_an_error() {
        let mut l =
            Local::open(&Output::Pipe("head -c 1 >/dev/null".into()), false).expect("starts");
        for _ in 0..1000 {
            l.put(&[b'x'; 4096]);
        }
        assert_eq!(l.finish(), Ok(true));
    }
}
