//! A tokio listener on 127.0.0.1 that accepts through a `ServerContext`, records how each
//! accept ended, and echoes each line a client sends as `echo: LINE`.

use std::net::TcpListener as StdListener;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tlsdeck_engine::{AcceptError, ServerContext, TlsStream};
use tlsdeck_model::ProtocolVersion;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The most connections one listener accepts.
const MAX_CONNECTIONS: usize = 64;
/// The most lines one connection echoes.
const MAX_LINES: usize = 32;
/// How long a connection waits for the client's next line before closing.
const IDLE: Duration = Duration::from_secs(10);
/// How often to look for a recorded outcome while waiting.
const POLL: Duration = Duration::from_millis(10);

/// How one accept ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The handshake completed.
    Accepted {
        protocol: Option<ProtocolVersion>,
        cipher: Option<String>,
        peer_subject: Option<String>,
    },
    /// The handshake failed.
    Refused(AcceptError),
}

/// A running listener; dropping it stops it and every connection it holds.
pub struct Listener {
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    /// Listens on a fresh port of 127.0.0.1 and accepts through `ctx`.
    pub fn start(ctx: ServerContext) -> Listener {
        let std_listener = StdListener::bind("127.0.0.1:0").expect("bind a loopback port");
        std_listener.set_nonblocking(true).expect("non-blocking listener");
        let port = std_listener.local_addr().expect("local addr").port();
        let outcomes = Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = oneshot::channel();

        let recorded = Arc::clone(&outcomes);
        let thread = thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()
                .expect("tokio runtime");
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("tokio listener");
                tokio::select! {
                    () = serve(listener, Arc::new(ctx), recorded) => {}
                    _ = stopped => {}
                }
            });
        });
        Listener { port, outcomes, stop: Some(stop), thread: Some(thread) }
    }

    /// The outcomes recorded so far, in the order the accepts ended.
    pub fn outcomes(&self) -> Vec<Outcome> {
        self.outcomes.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Waits (at most `timeout`) until `n` accepts have ended; returns their outcomes.
    pub fn wait_outcomes(&self, n: usize, timeout: Duration) -> Vec<Outcome> {
        let start = Instant::now();
        loop {
            let outcomes = self.outcomes();
            if outcomes.len() >= n || start.elapsed() > timeout {
                return outcomes;
            }
            thread::sleep(POLL);
        }
    }

    /// The first accept's outcome, waiting at most `timeout` for it.
    #[track_caller]
    pub fn first_outcome(&self, timeout: Duration) -> Outcome {
        let outcomes = self.wait_outcomes(1, timeout);
        outcomes.into_iter().next().expect("the listener recorded no accept in time")
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(listener: TcpListener, ctx: Arc<ServerContext>, outcomes: Arc<Mutex<Vec<Outcome>>>) {
    for _ in 0..MAX_CONNECTIONS {
        let Ok((tcp, _)) = listener.accept().await else { return };
        let ctx = Arc::clone(&ctx);
        let outcomes = Arc::clone(&outcomes);
        tokio::spawn(async move {
            match ctx.accept(tcp).await {
                Ok(stream) => {
                    record(&outcomes, accepted(&stream));
                    echo(stream).await;
                }
                Err(e) => record(&outcomes, Outcome::Refused(e)),
            }
        });
    }
}

fn accepted(stream: &TlsStream) -> Outcome {
    Outcome::Accepted {
        protocol: stream.protocol(),
        cipher: stream.cipher(),
        peer_subject: stream.peer_subject(),
    }
}

fn record(outcomes: &Mutex<Vec<Outcome>>, outcome: Outcome) {
    if let Ok(mut all) = outcomes.lock() {
        all.push(outcome);
    }
}

/// Answers each line with `echo: LINE` until the client closes, goes quiet, or sends too many.
async fn echo(stream: TlsStream) {
    let mut stream = BufReader::new(stream);
    let mut line = String::new();
    for _ in 0..MAX_LINES {
        line.clear();
        match tokio::time::timeout(IDLE, stream.read_line(&mut line)).await {
            Ok(Ok(n)) if n > 0 => {
                let answer = format!("echo: {}\n", line.trim_end());
                if stream.get_mut().write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
            }
            _ => break,
        }
    }
    let _ = stream.get_mut().shutdown().await;
}
