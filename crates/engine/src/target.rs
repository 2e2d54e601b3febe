//! Where a probe connects: a host (name or IP literal) and a port.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

/// The port an `https://` URL without a port connects to.
const HTTPS_PORT: u16 = 443;
/// The longest host name DNS allows, in characters.
const MAX_HOST_LEN: usize = 253;
/// How much of a bad input an error message quotes.
const QUOTE_LEN: usize = 80;

/// A host and port to handshake with.
///
/// Parses from `host:port`, `[::1]:443`, or `https://host[:port][/path]` (port 443 by default).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// A DNS name or an IP literal, without brackets.
    pub host: String,
    /// The TCP port, never 0.
    pub port: u16,
}

impl Target {
    /// The host as an IP address, when it is an IP literal.
    pub fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip() {
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]:{}", self.port),
            _ => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

/// Why a target could not be parsed; the message quotes the input and says what to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid target '{input}': {reason}")]
pub struct TargetError {
    /// The input, escaped and shortened for display.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl TargetError {
    fn new(input: &str, reason: impl Into<String>) -> Self {
        let mut quoted: String =
            input.chars().take(QUOTE_LEN).collect::<String>().escape_debug().collect();
        if input.chars().count() > QUOTE_LEN {
            quoted.push_str("...");
        }
        Self { input: quoted, reason: reason.into() }
    }
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = input.trim();
        if s.is_empty() {
            return Err(TargetError::new(input, "empty (write host:port, e.g. example.com:443)"));
        }
        let parsed = match split_scheme(s) {
            Some((scheme, rest)) if scheme == "https" => parse_url_authority(rest),
            Some((scheme, _)) => Err(format!(
                "the scheme '{}' is not supported (use https:// or host:port)",
                scheme.escape_debug()
            )),
            None => parse_authority(s, None),
        };
        parsed.map_err(|reason| TargetError::new(input, reason))
    }
}

/// Splits `scheme://rest`, lower-casing the scheme.
fn split_scheme(s: &str) -> Option<(String, &str)> {
    let (scheme, rest) = s.split_once("://")?;
    Some((scheme.to_ascii_lowercase(), rest))
}

/// The authority of an `https://` URL: everything before the path, query or fragment.
fn parse_url_authority(rest: &str) -> Result<Target, String> {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.is_empty() {
        return Err("the URL has no host (write https://host[:port])".into());
    }
    if authority.contains('@') {
        return Err("user names and passwords in the URL are not supported".into());
    }
    parse_authority(authority, Some(HTTPS_PORT))
}

/// `host:port` or `[v6]:port`; `default_port` applies when the port is absent.
fn parse_authority(s: &str, default_port: Option<u16>) -> Result<Target, String> {
    let (host, after_host) = split_host(s)?;
    let port = match (after_host.strip_prefix(':'), default_port) {
        (Some(p), _) => parse_port(p)?,
        (None, Some(d)) if after_host.is_empty() => d,
        (None, None) if after_host.is_empty() => {
            return Err("no port (write host:port, e.g. example.com:443)".into());
        }
        (None, _) => {
            return Err(format!("unexpected '{}' after the address", after_host.escape_debug()));
        }
    };
    // Host names are case-insensitive; one spelling keeps SNI and name checks predictable.
    Ok(Target { host: host.to_ascii_lowercase(), port })
}

/// The host, and what follows it (empty, or `:` and the port).
fn split_host(s: &str) -> Result<(String, &str), String> {
    if let Some(rest) = s.strip_prefix('[') {
        let (inside, after) =
            rest.split_once(']').ok_or("an opening '[' has no closing ']' (write [::1]:443)")?;
        return Ok((parse_ipv6(inside)?, after));
    }
    let colon = s.rfind(':').unwrap_or(s.len());
    let host = &s[..colon];
    if host.contains(':') {
        return Err("an IPv6 address needs brackets (write [::1]:443)".into());
    }
    Ok((parse_host(host)?, &s[colon..]))
}

fn parse_ipv6(inside: &str) -> Result<String, String> {
    let ip: Ipv6Addr = inside
        .parse()
        .map_err(|_| format!("'{}' is not an IPv6 address", inside.escape_debug()))?;
    Ok(ip.to_string())
}

fn parse_host(h: &str) -> Result<String, String> {
    if h.is_empty() {
        return Err("no host (write host:port, e.g. example.com:443)".into());
    }
    if h.len() > MAX_HOST_LEN {
        return Err(format!("the host is longer than {MAX_HOST_LEN} characters"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    if let Some(bad) = h.chars().find(|c| !allowed(*c)) {
        return Err(format!("the host holds '{}', which a host name cannot", bad.escape_debug()));
    }
    if h.trim_end_matches('.').split('.').any(str::is_empty) {
        return Err("the host has an empty label (two dots in a row, or a leading dot)".into());
    }
    Ok(h.to_owned())
}

fn parse_port(p: &str) -> Result<u16, String> {
    if p.is_empty() {
        return Err("the port is empty (write host:port, e.g. example.com:443)".into());
    }
    if !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the port '{}' is not a number", p.escape_debug()));
    }
    match p.parse::<u16>() {
        Ok(0) => Err("port 0 cannot be connected to (use 1 to 65535)".into()),
        Ok(port) => Ok(port),
        Err(_) => Err(format!("the port {p} is out of range (use 1 to 65535)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<(String, u16), String> {
        s.parse::<Target>().map(|t| (t.host, t.port)).map_err(|e| e.to_string())
    }

    fn ok(host: &str, port: u16) -> Result<(String, u16), String> {
        Ok((host.to_owned(), port))
    }

    #[test]
    fn parses_host_and_port() {
        assert_eq!(parse("example.com:8443"), ok("example.com", 8443));
        assert_eq!(parse("  localhost:443 "), ok("localhost", 443));
        assert_eq!(parse("LocalHost:443"), ok("localhost", 443));
        assert_eq!(parse("127.0.0.1:1"), ok("127.0.0.1", 1));
        assert_eq!(parse("my_host.example.:65535"), ok("my_host.example.", 65535));
    }

    #[test]
    fn parses_bracketed_ipv6() {
        assert_eq!(parse("[::1]:443"), ok("::1", 443));
        assert_eq!(parse("[2001:DB8::0:1]:8443"), ok("2001:db8::1", 8443));
    }

    #[test]
    fn parses_https_urls_with_port_443_by_default() {
        assert_eq!(parse("https://example.com"), ok("example.com", 443));
        assert_eq!(parse("https://example.com/"), ok("example.com", 443));
        assert_eq!(parse("HTTPS://example.com:8443/a/b?c=d#e"), ok("example.com", 8443));
        assert_eq!(parse("https://[::1]/path"), ok("::1", 443));
        assert_eq!(parse("https://example.com?x"), ok("example.com", 443));
    }

    #[test]
    fn prints_ipv6_in_brackets() {
        let t: Target = "[::1]:443".parse().unwrap();
        assert_eq!(t.to_string(), "[::1]:443");
        assert_eq!("https://localhost".parse::<Target>().unwrap().to_string(), "localhost:443");
    }

    #[test]
    fn refuses_empty_input() {
        for s in ["", "   ", "\n"] {
            let err = parse(s).unwrap_err();
            assert!(err.contains("empty"), "{s:?}: {err}");
        }
    }

    #[test]
    fn refuses_a_missing_port_outside_urls() {
        assert!(parse("example.com").unwrap_err().contains("no port"));
        assert!(parse("[::1]").unwrap_err().contains("no port"));
        assert!(parse("example.com:").unwrap_err().contains("port is empty"));
    }

    #[test]
    fn refuses_ports_out_of_range() {
        assert!(parse("example.com:0").unwrap_err().contains("port 0"));
        assert!(parse("example.com:99999").unwrap_err().contains("out of range"));
        assert!(parse("example.com:65536").unwrap_err().contains("out of range"));
        assert!(parse("https://example.com:0").unwrap_err().contains("port 0"));
        assert!(parse("example.com:-1").unwrap_err().contains("not a number"));
        assert!(parse("example.com:+1").unwrap_err().contains("not a number"));
        assert!(parse("example.com:443x").unwrap_err().contains("not a number"));
        assert!(parse("example.com:123456789012345678901234567890").unwrap_err().contains("range"));
    }

    #[test]
    fn refuses_bad_urls() {
        assert!(parse("https://").unwrap_err().contains("no host"));
        assert!(parse("https:///path").unwrap_err().contains("no host"));
        assert!(parse("ftp://example.com").unwrap_err().contains("not supported"));
        assert!(parse("http://example.com").unwrap_err().contains("'http'"));
        assert!(parse("https://user:pw@example.com").unwrap_err().contains("user names"));
        assert!(parse("https://exa mple.com").unwrap_err().contains("' '"));
        assert!(parse("https://example.com:abc/").unwrap_err().contains("not a number"));
    }

    #[test]
    fn refuses_bad_ipv6() {
        assert!(parse("::1:443").unwrap_err().contains("brackets"));
        assert!(parse("[::1:443").unwrap_err().contains("closing"));
        assert!(parse("[nonsense]:443").unwrap_err().contains("not an IPv6"));
        assert!(parse("[::1]x443").unwrap_err().contains("unexpected"));
        assert!(parse("[::1]:").unwrap_err().contains("port is empty"));
    }

    #[test]
    fn refuses_hostile_hosts() {
        assert!(parse(":443").unwrap_err().contains("no host"));
        assert!(parse("a..b:443").unwrap_err().contains("empty label"));
        assert!(parse(".a:443").unwrap_err().contains("empty label"));
        assert!(parse("a\u{0}b:443").unwrap_err().contains("\\0"));
        assert!(parse("héllo:443").unwrap_err().contains("'é'"));
        let long = format!("{}:443", "a".repeat(300));
        let err = parse(&long).unwrap_err();
        assert!(err.contains("longer than 253") && err.contains("..."), "{err}");
    }

    #[test]
    fn never_panics_on_odd_input() {
        let odd = [
            "[",
            "]",
            "[]",
            "[]:1",
            ":",
            "::",
            "https://[",
            "https://[]:",
            "https://:1",
            "@",
            "💥:1",
        ];
        for s in odd {
            assert!(parse(s).is_err(), "{s:?} should be refused");
        }
    }
}
