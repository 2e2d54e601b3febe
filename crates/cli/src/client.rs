//! The REST API client: JSON in, JSON out, problem+json turned into readable errors.

use std::time::Duration;

use anyhow::{Result, anyhow};
use serde_json::Value;
use ureq::Agent;
use ureq::http::Response;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider, parse_pem};

/// A client for one server, with a bearer token when logged in.
#[derive(Debug)]
pub struct Client {
    agent: Agent,
    base: String,
    token: Option<String>,
}

/// A successful answer.
#[derive(Debug)]
pub struct Answer {
    /// The JSON body, or null.
    pub body: Value,
}

impl Client {
    /// A client for the server at `base`; an `https://` server is verified against the CA
    /// certificates of `ca_pem`, or the system's when none are given.
    pub fn new(
        base: &str,
        token: Option<String>,
        timeout: Duration,
        ca_pem: Option<&str>,
    ) -> Result<Self> {
        let roots = match ca_pem {
            Some(pem) => {
                let certs: Vec<Certificate<'static>> = parse_pem(pem.as_bytes())
                    .filter_map(|item| match item {
                        Ok(PemItem::Certificate(c)) => Some(Ok(c)),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    })
                    .collect::<Result<_, _>>()
                    .map_err(|e| anyhow!("the CA file is not PEM: {e}"))?;
                if certs.is_empty() {
                    return Err(anyhow!("the CA file holds no certificate"));
                }
                RootCerts::new_with_certs(&certs)
            }
            None => RootCerts::PlatformVerifier,
        };
        let tls = TlsConfig::builder().provider(TlsProvider::NativeTls).root_certs(roots).build();
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .tls_config(tls)
            .build()
            .into();
        Ok(Self { agent, base: base.trim_end_matches('/').to_owned(), token })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token.as_deref().unwrap_or_default())
    }

    /// GET `path`.
    pub fn get(&self, path: &str) -> Result<Answer> {
        let resp = self.agent.get(self.url(path)).header("Authorization", self.auth()).call();
        self.answer(resp)
    }

    /// POST JSON to `path`.
    pub fn post(&self, path: &str, body: &Value) -> Result<Answer> {
        let resp =
            self.agent.post(self.url(path)).header("Authorization", self.auth()).send_json(body);
        self.answer(resp)
    }

    /// PATCH `path` with a JSON merge patch.
    pub fn patch(&self, path: &str, body: &Value) -> Result<Answer> {
        let resp =
            self.agent.patch(self.url(path)).header("Authorization", self.auth()).send_json(body);
        self.answer(resp)
    }

    /// DELETE `path`.
    pub fn delete(&self, path: &str) -> Result<Answer> {
        let resp = self.agent.delete(self.url(path)).header("Authorization", self.auth()).call();
        self.answer(resp)
    }

    fn answer(&self, resp: Result<Response<ureq::Body>, ureq::Error>) -> Result<Answer> {
        let mut resp = resp.map_err(|e| {
            let text = e.to_string();
            if text.contains("certificate verify failed") {
                anyhow!(
                    "the server {} presented a certificate this machine does not trust: log in \
                     with --ca-file and the CA that issued it ({text})",
                    self.base
                )
            } else {
                anyhow!("cannot reach {}: {text}", self.base)
            }
        })?;
        let status = resp.status();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            return Ok(Answer { body });
        }
        Err(anyhow!(describe_problem(status.as_u16(), &body)))
    }
}

/// One readable message from a problem+json body: the detail, then each bad field.
fn describe_problem(status: u16, body: &Value) -> String {
    let detail = body
        .get("detail")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| body.as_str().unwrap_or("no detail").to_owned());
    let fields: Vec<&Value> =
        body.get("errors").and_then(Value::as_array).into_iter().flatten().collect();
    // With field errors the detail only repeats them: the title and the list say it once.
    let detail = if fields.is_empty() {
        detail
    } else {
        body.get("title").and_then(Value::as_str).unwrap_or("invalid input").to_lowercase()
    };
    let mut msg = format!("{status}: {detail}");
    for f in fields {
        let name = f.get("field").and_then(Value::as_str).unwrap_or("?");
        let why = f.get("message").and_then(Value::as_str).unwrap_or("?");
        msg.push_str(&format!("\n  {name}: {why}"));
    }
    msg
}
