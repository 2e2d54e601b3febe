//! The TLS engine: turns a client profile into an OpenSSL context and handshakes with it, and
//! a server profile into a context that accepts connections.
//!
//! Everything OpenSSL stays inside this crate; callers see profiles, targets, reports and
//! streams. Long-lived callers (the gateway) connect with [`ClientContext::connect`], which
//! resumes sessions and explains failures in the probe's words.

mod cache;
mod certs;
mod client;
mod connect;
mod context;
mod diagnosis;
mod effective;
mod error;
mod identity;
mod report;
mod server;
mod session;
mod settings;
mod stream;
mod suites;
mod target;
mod trust;
mod unseal;
mod verify;

pub use cache::ContextCache;
pub use client::{ClientStream, ConnectError, ConnectOptions, connect_tcp};
pub use context::{ClientContext, ProbeOptions, probe, probe_with_identity};
pub use effective::{Effective, effective, server_effective, server_warnings, warnings};
pub use error::EngineError;
pub use identity::Identity;
pub use report::{FailureCategory, PeerCertificate, ProbeError, ProbeReport};
pub use server::{HANDSHAKE_TIMEOUT, ServerContext};
pub use stream::{AcceptError, AcceptErrorKind, TlsStream};
pub use target::{Target, TargetError};
pub use trust::Trust;
pub use unseal::{KeyUnsealer, keystore_seal_context};
