//! The error of this layer: a profile, trust, client or server certificate that cannot become
//! an OpenSSL context.

use tlsdeck_model::ProtocolVersion;

/// Why a client or server context could not be built. Every variant is a configuration
/// problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A chosen protocol version has no cipher suite that the linked OpenSSL supports.
    #[error(
        "no cipher suite chosen for {protocol} is supported by the linked OpenSSL \
         (choose another suite for {protocol}, or remove {protocol} from the protocols)"
    )]
    NoUsableCipher {
        /// The protocol version left without a suite.
        protocol: ProtocolVersion,
    },
    /// The profile allows no protocol version (a validated profile always allows one).
    #[error("the profile allows no protocol version (choose at least one)")]
    NoProtocol,
    /// The trust bundle could not be used.
    #[error("trust bundle: {0}")]
    Trust(String),
    /// The client certificate chain or its key could not be read.
    #[error("client certificate: {0}")]
    Identity(String),
    /// The private key does not belong to the leaf certificate of the client chain.
    #[error(
        "client certificate: the private key does not match the leaf certificate '{leaf}' \
         (store the key that was issued with that certificate)"
    )]
    KeyMismatch {
        /// The leaf's subject.
        leaf: String,
    },
    /// The server certificate chain or its key could not be read.
    #[error("server certificate: {0}")]
    ServerIdentity(String),
    /// The private key does not belong to the leaf certificate of the server chain.
    #[error(
        "server certificate: the private key does not match the leaf certificate '{leaf}' \
         (store the key that was issued with that certificate)"
    )]
    ServerKeyMismatch {
        /// The leaf's subject.
        leaf: String,
    },
    /// The server's key cannot serve any suite chosen for a protocol version.
    #[error("{0}")]
    UnservableSuites(String),
    /// The master key that opens sealed private keys is missing, invalid, or not the one a
    /// key was sealed with.
    #[error("master key: {0}")]
    MasterKey(String),
    /// OpenSSL refused a setting the profile compiles to.
    #[error("openssl refused the {setting}: {reason}")]
    Refused {
        /// The setting, e.g. `cipher list`.
        setting: &'static str,
        /// OpenSSL's reason, lower case.
        reason: String,
    },
}

impl EngineError {
    /// An OpenSSL refusal of `setting`, keeping OpenSSL's reasons as text.
    pub(crate) fn refused(setting: &'static str, err: &openssl::error::ErrorStack) -> Self {
        let reasons: Vec<&str> = err.errors().iter().filter_map(|e| e.reason()).collect();
        let reason =
            if reasons.is_empty() { "no reason given".to_owned() } else { reasons.join("; ") };
        Self::Refused { setting, reason }
    }
}
