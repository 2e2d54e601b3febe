//! Names and versions of resources, and the name generated from a title.

use std::fmt;

use serde::Serialize;

/// The longest name allowed.
pub const MAX_NAME_LEN: usize = 63;
/// The longest version allowed.
pub const MAX_VERSION_LEN: usize = 32;
/// The version given to a profile that names none.
pub const DEFAULT_VERSION: &str = "1.0.0";

/// A resource name: `^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`, at most 63 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    /// Checks `s` against the name rule.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.len() > MAX_NAME_LEN {
            return Err(format!("must be at most {MAX_NAME_LEN} characters"));
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if !s.chars().all(allowed) {
            return Err(format!("'{s}' may hold only lower-case letters, digits and '-'"));
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err(format!("'{s}' must start and end with a letter or digit"));
        }
        if looks_like_id(s) {
            return Err(format!("'{s}' has the form of an id, which would make URLs ambiguous"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The name generated from a title, or `None` when the title holds no letter or digit.
    ///
    /// Lower-cases the title, turns every run of other characters into one `-`, trims `-`
    /// at both ends and cuts to 63 characters without a trailing `-`.
    pub fn from_title(title: &str) -> Option<Self> {
        let mut out = String::with_capacity(title.len());
        for c in title.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                out.push(c);
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        out.truncate(MAX_NAME_LEN);
        let trimmed = out.trim_end_matches('-');
        (!trimmed.is_empty()).then(|| Self(trimmed.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// True for the 8-4-4-4-12 hex form of a UUID, which names may not take: items are reachable
/// by name and by id at the same URL.
fn looks_like_id(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    lengths == [8, 4, 4, 4, 12] && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A version: 1–32 characters of `[0-9A-Za-z.+-]`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Version(String);

impl Version {
    /// Checks `s` against the version rule.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.len() > MAX_VERSION_LEN {
            return Err(format!("must be at most {MAX_VERSION_LEN} characters"));
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-');
        if !s.chars().all(allowed) {
            return Err(format!("'{s}' may hold only letters, digits, '.', '+' and '-'"));
        }
        if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(format!("'{s}' must start with a letter or digit"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The version as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Version {
    fn default() -> Self {
        Self(DEFAULT_VERSION.to_owned())
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated(title: &str) -> Option<String> {
        Name::from_title(title).map(|n| n.0)
    }

    #[test]
    fn generates_names_from_titles() {
        assert_eq!(generated("My Profile 1.0").as_deref(), Some("my-profile-1-0"));
        assert_eq!(generated("RR-Client-TLS-2").as_deref(), Some("rr-client-tls-2"));
        assert_eq!(generated("  --Ünïcode  Title!! ").as_deref(), Some("n-code-title"));
        assert_eq!(generated("***"), None);
    }

    #[test]
    fn cuts_generated_names_without_a_trailing_dash() {
        let title = format!("{} tail", "a".repeat(62));
        let name = generated(&title).unwrap();
        assert_eq!(name, "a".repeat(62));
        assert!(Name::parse(&name).is_ok());
    }

    #[test]
    fn checks_names() {
        assert!(Name::parse("a").is_ok());
        assert!(Name::parse("a-1").is_ok());
        for bad in
            ["", "-a", "a-", "A", "a_b", &"a".repeat(64), "0f5b3e2c-9d1a-4a8b-8c7d-6e5f4a3b2c1d"]
        {
            assert!(Name::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checks_versions() {
        for good in ["1.0.0", "2", "v1.0.0-beta+1"] {
            assert!(Version::parse(good).is_ok(), "{good}");
        }
        for bad in ["", ".1", "1 0", "1/0", &"1".repeat(33)] {
            assert!(Version::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Version::default().as_str(), "1.0.0");
    }
}
