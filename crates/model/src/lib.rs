//! The domain model of tlsdeck: TLS profiles, the cipher catalogue, and their rules.
//!
//! Raw input becomes a validated value here; nothing in this crate does I/O.

pub mod cipher;
pub mod error;
pub mod labels;
pub mod lint;
pub mod naming;
pub mod preset;
pub mod profile;
pub mod protocol;
pub mod server_profile;

pub use cipher::CipherSuite;
pub use error::{FieldError, ValidationErrors};
pub use labels::{Labels, parse_labels};
pub use lint::{Grade, Warning};
pub use naming::{Name, Version};
pub use preset::Preset;
pub use profile::{ClientProfile, StoreRef, Visibility};
pub use protocol::ProtocolVersion;
pub use server_profile::{MutualAuthentication, ServerKey, ServerProfile};
