//! Request bodies: JSON parsed by hand so that every failure is a problem+json answer.

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// Parses a JSON body into `T`, naming the place and reason of any failure.
pub fn parse<T: DeserializeOwned>(raw: &Bytes) -> Result<T, Problem> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::bad_request("body: a JSON body is required"));
    }
    serde_json::from_slice(raw).map_err(|e| Problem::bad_request(format!("body: {e}")))
}
