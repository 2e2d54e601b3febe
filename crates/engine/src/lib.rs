//! The TLS engine: turns a client profile into an OpenSSL context and handshakes with it.
//!
//! Everything OpenSSL stays inside this crate; callers see profiles, targets and reports.

mod cache;
mod certs;
mod connect;
mod context;
mod diagnosis;
mod effective;
mod error;
mod identity;
mod report;
mod suites;
mod target;
mod trust;
mod verify;

pub use cache::ContextCache;
pub use context::{ClientContext, ProbeOptions, probe, probe_with_identity};
pub use effective::{Effective, effective, warnings};
pub use error::EngineError;
pub use identity::Identity;
pub use report::{FailureCategory, PeerCertificate, ProbeError, ProbeReport};
pub use target::{Target, TargetError};
pub use trust::Trust;
