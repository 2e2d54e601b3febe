//! `openssl s_client` against a loopback port, driven line by line through its standard input
//! and stopped by its own PID.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::collect_lines;

/// How often to look at the client's output while waiting.
const POLL: Duration = Duration::from_millis(10);

/// A running `openssl s_client`; killed by its PID if still running when dropped.
pub struct SClient {
    child: Child,
    stdin: Option<ChildStdin>,
    output: Arc<Mutex<Vec<String>>>,
    /// The threads reading stdout and stderr; each ends when its pipe closes.
    readers: Vec<JoinHandle<()>>,
}

/// How a conversation with the listener ended.
#[derive(Debug)]
pub struct Conversation {
    /// True when the listener's echo of the first line came back.
    pub echoed: bool,
    /// The exit status, if s_client ended in time.
    pub status: Option<ExitStatus>,
    /// Everything s_client printed, stdout and stderr interleaved by line.
    pub output: Vec<String>,
}

impl Conversation {
    /// The handshake completed and data went both ways.
    pub fn succeeded(&self) -> bool {
        self.echoed && self.status.is_some_and(|s| s.success())
    }

    /// Some line of output contains `text`.
    pub fn printed(&self, text: &str) -> bool {
        self.output.iter().any(|l| l.contains(text))
    }
}

impl SClient {
    /// Starts `openssl s_client -connect 127.0.0.1:PORT` with `args` (file names relative to
    /// `dir`).
    pub fn start(dir: &Path, port: u16, args: &[&str]) -> SClient {
        let mut child = Command::new("openssl")
            .arg("s_client")
            .arg("-connect")
            .arg(format!("127.0.0.1:{port}"))
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl s_client runs");
        let output = Arc::new(Mutex::new(Vec::new()));
        let readers = [
            collect_lines(child.stdout.take(), &output),
            collect_lines(child.stderr.take(), &output),
        ];
        let stdin = child.stdin.take();
        SClient { child, stdin, output, readers: readers.into_iter().flatten().collect() }
    }

    /// Sends `line` and a newline; a client that already ended is left alone.
    pub fn send(&mut self, line: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(format!("{line}\n").as_bytes());
            let _ = stdin.flush();
        }
    }

    /// Waits (at most `timeout`) for a line containing `text`; false if it did not come, or
    /// the client ended without printing it.
    pub fn wait_for(&mut self, text: &str, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.printed(text) {
                return true;
            }
            if !matches!(self.child.try_wait(), Ok(None)) {
                self.drain();
                return self.printed(text);
            }
            thread::sleep(POLL);
        }
        false
    }

    /// Closes the client's input, so that it says goodbye, and waits (at most `timeout`) for
    /// it to end; kills it if it does not.
    pub fn finish(mut self, timeout: Duration) -> (Option<ExitStatus>, Vec<String>) {
        drop(self.stdin.take());
        let start = Instant::now();
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if start.elapsed() < timeout => thread::sleep(POLL),
                _ => break None,
            }
        };
        if status.is_some() {
            self.drain();
        }
        (status, self.output())
    }

    /// Waits for the output of a client that has ended: its pipes are closed, so the readers
    /// end.
    fn drain(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }

    /// Everything printed so far.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    fn printed(&self, text: &str) -> bool {
        self.output().iter().any(|l| l.contains(text))
    }

    /// Connects, sends `hello`, waits (at most `timeout`) for its echo, and says goodbye.
    pub fn converse(dir: &Path, port: u16, args: &[&str], timeout: Duration) -> Conversation {
        let mut client = SClient::start(dir, port, args);
        client.send("hello");
        let echoed = client.wait_for("echo: hello", timeout);
        let (status, output) = client.finish(timeout);
        Conversation { echoed, status, output }
    }
}

impl Drop for SClient {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
