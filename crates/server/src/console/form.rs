//! Submitted forms: their fields (repeated names kept, as check boxes send them), their
//! uploaded files, and the errors to show beside each field when they come back.

use std::collections::BTreeMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// The largest file a console form takes, as the API's own limit allows in base64.
const MAX_FILE: usize = 4 << 20;

/// The fields of a submitted form.
#[derive(Debug, Default, Clone)]
pub(crate) struct Fields {
    values: Vec<(String, String)>,
    files: BTreeMap<String, Bytes>,
}

impl Fields {
    /// The fields of a URL-encoded body.
    pub fn from_urlencoded(body: &[u8]) -> Self {
        let values =
            form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), lines(&v))).collect();
        Self { values, files: BTreeMap::new() }
    }

    /// The first value of `name`, if sent.
    pub fn one(&self, name: &str) -> Option<&str> {
        self.values.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first value of `name` trimmed, or `""`.
    pub fn text(&self, name: &str) -> &str {
        self.one(name).map_or("", str::trim)
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.values.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// True when a check box `name` was ticked.
    pub fn ticked(&self, name: &str) -> bool {
        self.one(name).is_some()
    }

    /// True when `name` was ticked with `value` (one of several boxes of one name).
    pub fn has(&self, name: &str, value: &str) -> bool {
        self.values.iter().any(|(k, v)| k == name && v == value)
    }

    /// The non-empty file uploaded as `name`.
    pub fn file(&self, name: &str) -> Option<&Bytes> {
        self.files.get(name).filter(|b| !b.is_empty())
    }

    /// Sets `name` to one value, replacing what was there.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.values.retain(|(k, _)| k != name);
        self.values.push((name.to_owned(), value.into()));
    }

    /// Sets `name` to several values (check boxes), replacing what was there.
    pub fn set_all<I, S>(&mut self, name: &str, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.values.retain(|(k, _)| k != name);
        self.values.extend(values.into_iter().map(|v| (name.to_owned(), v.into())));
    }
}

/// A form body, URL-encoded or multipart (with files).
impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            let body =
                Bytes::from_request(req, state).await.map_err(IntoResponse::into_response)?;
            return Ok(Self::from_urlencoded(&body));
        }
        let mut parts = Multipart::from_request(req, state).await.map_err(|e| e.into_response())?;
        let mut fields = Self::default();
        let bad = |why: &str| super::page::bad_form(why);
        // A form has a handful of fields; many more is not a form of ours.
        for _ in 0..64 {
            let Some(part) = parts.next_field().await.map_err(|_| bad("unreadable form data"))?
            else {
                return Ok(fields);
            };
            let name = part.name().unwrap_or_default().to_owned();
            if part.file_name().is_some() {
                let data = part.bytes().await.map_err(|e| {
                    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                        bad("the form is larger than the 9 MiB a console upload may be")
                    } else {
                        bad("an upload could not be read")
                    }
                })?;
                if data.len() > MAX_FILE {
                    return Err(bad("an uploaded file is larger than 4 MiB"));
                }
                fields.files.insert(name, data);
            } else {
                let text = part.text().await.map_err(|_| bad("a field is not text"))?;
                fields.values.push((name, lines(&text)));
            }
        }
        Err(bad("the form has too many fields"))
    }
}

/// Where a resource's form is posted, what it edits, and where Cancel leads.
pub(crate) struct FormTarget {
    pub action: String,
    /// The `ETag` of the item being edited; `None` on a create.
    pub etag: Option<String>,
    pub cancel: String,
}

impl FormTarget {
    /// The form that creates a `kind` in `org`: posted to the collection, cancelled back to
    /// Resources → TLS.
    pub fn create(org: &str, kind: super::Resource) -> Self {
        let org = super::page::seg(org);
        Self {
            action: format!("/orgs/{org}/{}", kind.collection()),
            etag: None,
            cancel: format!("/orgs/{org}/tls"),
        }
    }
}

/// Text as browsers send it from a text area (CRLF line ends) with plain `\n` line ends.
fn lines(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// The errors of a form that came back, by field.
#[derive(Debug, Default)]
pub(crate) struct Errors {
    by_field: BTreeMap<String, Vec<String>>,
    /// Errors that belong to no field of the form.
    pub general: Vec<String>,
}

impl Errors {
    /// The API's errors, placed on `fields` (the form's own names); the rest are general.
    ///
    /// An API field such as `ciphers[2]` or `visibility.orgs` belongs to the form field
    /// before its first `[` or `.`.
    pub fn place(api_errors: Vec<(String, String)>, fields: &[&str], detail: String) -> Self {
        let mut errors = Self::default();
        for (field, message) in api_errors {
            let base = field.split(['[', '.']).next().unwrap_or_default();
            let base = match base {
                "keystore_url" | "keystore_base64" => "keystore",
                "truststore_url" | "truststore_base64" => "truststore",
                other => other,
            };
            if fields.contains(&base) {
                errors.by_field.entry(base.to_owned()).or_default().push(message);
            } else {
                errors.general.push(format!("{field}: {message}"));
            }
        }
        if errors.is_empty() {
            errors.general.push(detail);
        }
        errors
    }

    /// The errors of a save the API refused, placed on the form's `fields`: a stale write
    /// (412), a taken name (409, beside Name), or invalid fields (400, 422). `None` for any
    /// other refusal, which is shown as a page of its own.
    pub fn of_refused_save(reply: &super::api::Reply, fields: &[&str]) -> Option<Self> {
        use axum::http::StatusCode;
        match reply.status {
            StatusCode::PRECONDITION_FAILED => Some(Self::general(
                "Someone changed this item after you opened the form. Open it again to see the \
                 change, then make yours.",
            )),
            StatusCode::CONFLICT => {
                Some(Self::place(vec![("name".to_owned(), reply.detail())], fields, reply.detail()))
            }
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
                Some(Self::place(reply.field_errors(), fields, reply.detail()))
            }
            _ => None,
        }
    }

    /// One error that belongs to no field.
    pub fn general(message: impl Into<String>) -> Self {
        Self { general: vec![message.into()], ..Self::default() }
    }

    /// The messages for `field`.
    pub fn of(&self, field: &str) -> &[String] {
        self.by_field.get(field).map_or(&[], Vec::as_slice)
    }

    /// True when some error sits beside a field.
    pub fn has_field_errors(&self) -> bool {
        !self.by_field.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.by_field.is_empty() && self.general.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_repeated_names_in_order() {
        let f = Fields::from_urlencoded(
            b"protocols=tls_v1.2&title=A+b&protocols=tls_v1.3&x=&summary=one%0D%0Atwo",
        );
        assert_eq!(f.text("summary"), "one\ntwo", "browsers' CRLF becomes LF");
        assert_eq!(f.all("protocols"), ["tls_v1.2", "tls_v1.3"]);
        assert_eq!(f.text("title"), "A b");
        assert!(f.ticked("x"));
        assert!(!f.ticked("y"));
        assert!(f.has("protocols", "tls_v1.3"));
    }

    #[test]
    fn places_api_errors_on_the_form_fields() {
        let api = vec![
            ("ciphers[3]".to_owned(), "unknown cipher 'X'".to_owned()),
            ("keystore_url".to_owned(), "no such keystore".to_owned()),
            ("colour".to_owned(), "unknown field".to_owned()),
        ];
        let e = Errors::place(api, &["ciphers", "keystore"], "invalid".into());
        assert_eq!(e.of("ciphers"), ["unknown cipher 'X'"]);
        assert_eq!(e.of("keystore"), ["no such keystore"]);
        assert_eq!(e.general, ["colour: unknown field"]);
        let none = Errors::place(Vec::new(), &["title"], "stale".into());
        assert_eq!(none.general, ["stale"]);
    }
}
