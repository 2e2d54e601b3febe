//! TCP connections with one deadline for resolving, connecting and the handshake.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::report::FailureCategory;
use crate::target::Target;

/// The most addresses of one host name that a probe tries.
const MAX_ADDRESSES: usize = 16;

/// A failure before TLS: the category and a message for the report.
pub(crate) type ConnectFailure = (FailureCategory, String);

/// Resolves `target` and connects to the first address that answers before `deadline`.
pub(crate) fn connect(
    target: &Target,
    deadline: Instant,
) -> Result<(TcpStream, SocketAddr), ConnectFailure> {
    let addrs = resolve(target)?;
    let mut last_error = None;
    for addr in addrs.into_iter().take(MAX_ADDRESSES) {
        let Some(remaining) = remaining(deadline) else {
            break;
        };
        match TcpStream::connect_timeout(&addr, remaining) {
            Ok(stream) => return Ok((stream, addr)),
            Err(e) => last_error = Some((addr, e)),
        }
    }
    Err(explain(target, last_error))
}

/// Resolves `target` and connects to the first address that answers before `deadline`, with
/// tokio; the failures are the probe's. Small writes go out at once (`TCP_NODELAY`).
pub(crate) async fn connect_async(
    target: &Target,
    deadline: Instant,
) -> Result<(tokio::net::TcpStream, SocketAddr), ConnectFailure> {
    let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
    let addrs: Vec<SocketAddr> = match tokio::time::timeout_at(deadline.into(), lookup).await {
        Err(_) => return Err(explain(target, None)),
        Ok(found) => found.map_err(|e| dns_failure(target, &e.to_string()))?.collect(),
    };
    if addrs.is_empty() {
        return Err(dns_failure(target, "no address found"));
    }

    let mut last_error = None;
    for addr in addrs.into_iter().take(MAX_ADDRESSES) {
        let attempt = tokio::net::TcpStream::connect(addr);
        match tokio::time::timeout_at(deadline.into(), attempt).await {
            Err(_) => {
                last_error = Some((addr, io::ErrorKind::TimedOut.into()));
                break;
            }
            Ok(Ok(stream)) => {
                // Only latency is at stake when this fails, never correctness.
                let _ = stream.set_nodelay(true);
                return Ok((stream, addr));
            }
            Ok(Err(e)) => last_error = Some((addr, e)),
        }
    }
    Err(explain(target, last_error))
}

fn resolve(target: &Target) -> Result<Vec<SocketAddr>, ConnectFailure> {
    let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|e| dns_failure(target, &e.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(dns_failure(target, "no address found"));
    }
    Ok(addrs)
}

fn dns_failure(target: &Target, why: &str) -> ConnectFailure {
    let message = format!("cannot resolve the host name '{}': {why} (check the name)", target.host);
    (FailureCategory::DnsFailure, message)
}

fn explain(target: &Target, last_error: Option<(SocketAddr, io::Error)>) -> ConnectFailure {
    let Some((addr, e)) = last_error else {
        let message = format!("no TCP connection to {target} within the timeout");
        return (FailureCategory::Timeout, message);
    };
    match e.kind() {
        io::ErrorKind::ConnectionRefused => (
            FailureCategory::ConnectionRefused,
            format!(
                "{addr} refused the connection: nothing listens on port {} \
                 (check the host and port)",
                addr.port()
            ),
        ),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => (
            FailureCategory::Timeout,
            format!(
                "no answer from {addr} to the TCP connection within the timeout \
                 (check the address and any firewall)"
            ),
        ),
        _ => (
            FailureCategory::ConnectionRefused,
            format!("cannot connect to {addr}: {e} (check the host, port and network)"),
        ),
    }
}

/// The time left until `deadline`, or `None` when it has passed.
pub(crate) fn remaining(deadline: Instant) -> Option<Duration> {
    Some(deadline.saturating_duration_since(Instant::now())).filter(|d| !d.is_zero())
}

/// A TCP stream whose every read and write ends by a deadline, so that a slow or silent
/// peer cannot stretch a handshake past it.
#[derive(Debug)]
pub(crate) struct DeadlineStream {
    inner: TcpStream,
    deadline: Instant,
}

impl DeadlineStream {
    pub(crate) fn new(inner: TcpStream, deadline: Instant) -> Self {
        Self { inner, deadline }
    }

    /// Moves the deadline, e.g. to bound the wait for the peer's close_notify.
    pub(crate) fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = deadline;
    }

    fn time_left(&self) -> io::Result<Duration> {
        remaining(self.deadline)
            .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "deadline passed"))
    }
}

impl Read for DeadlineStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.set_read_timeout(Some(self.time_left()?))?;
        self.inner.read(buf).map_err(timed_out)
    }
}

impl Write for DeadlineStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.set_write_timeout(Some(self.time_left()?))?;
        self.inner.write(buf).map_err(timed_out)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A socket timeout shows as `WouldBlock`; OpenSSL would take that as "retry later".
fn timed_out(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::WouldBlock {
        io::Error::new(io::ErrorKind::TimedOut, "no answer within the timeout")
    } else {
        e
    }
}
