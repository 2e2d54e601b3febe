//! `/metrics`: Prometheus text with the days until each stored certificate expires.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use tlsdeck_pki as pki;
use tlsdeck_store::{Page, Store, StoreError};

use crate::AppState;
use crate::auth::Caller;
use crate::permissions::Permission::SettingsView;
use crate::problem::Problem;

/// The most pages of stores read per org and kind (of 1,000 each).
const MAX_PAGES: u64 = 100;

/// One stored certificate and where it lives.
struct Series {
    org: String,
    kind: &'static str,
    store: String,
    subject: String,
    fingerprint: String,
    days: f64,
}

/// `GET /metrics`: for members of the `admin` org with `settings:view`, since it names the
/// stores and certificates of every org.
pub async fn metrics(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, Problem> {
    caller.authorize(&state, crate::ADMIN_ORG, SettingsView).await?;
    let now = Utc::now();
    let series = state.run(move |s| collect(s, now)).await?;
    let mut body = render(&series);
    let _ = write!(
        body,
        "# HELP tlsdeck_store_change_seq The last store change this instance has followed.\n\
         # TYPE tlsdeck_store_change_seq gauge\ntlsdeck_store_change_seq {}\n",
        crate::feed::seen(&state)
    );
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body))
}

fn collect(store: &dyn Store, now: DateTime<Utc>) -> Result<Vec<Series>, StoreError> {
    let mut out = Vec::new();
    for org in store.list_orgs()? {
        for page in pages() {
            let (total, keystores) = store.list_keystores(org.id, page)?;
            for ks in &keystores {
                for der in &ks.chain {
                    push(&mut out, &org.name, "keystore", &ks.labels.name, der, now);
                }
            }
            if done(page, total) {
                break;
            }
        }
        for page in pages() {
            let (total, truststores) = store.list_truststores(org.id, page)?;
            for ts in &truststores {
                for entry in store.truststore_entries(ts.id)? {
                    push(&mut out, &org.name, "truststore", &ts.labels.name, &entry.der, now);
                }
            }
            if done(page, total) {
                break;
            }
        }
    }
    Ok(out)
}

fn pages() -> impl Iterator<Item = Page> {
    (0..MAX_PAGES).map(|i| Page { limit: 1000, offset: i * 1000 })
}

fn done(page: Page, total: u64) -> bool {
    page.offset + u64::from(page.limit) >= total
}

fn push(
    out: &mut Vec<Series>,
    org: &str,
    kind: &'static str,
    store: &str,
    der: &[u8],
    now: DateTime<Utc>,
) {
    let Ok(cert) = pki::parse_certificate(der) else { return };
    let seconds = (cert.info.not_after - now).num_seconds() as f64;
    out.push(Series {
        org: org.to_owned(),
        kind,
        store: store.to_owned(),
        subject: cert.info.subject,
        fingerprint: cert.info.fingerprint_sha256,
        days: (seconds / 86_400.0 * 100.0).round() / 100.0,
    });
}

fn render(series: &[Series]) -> String {
    let mut out = String::from(
        "# HELP tlsdeck_certificate_expiry_days Days until a stored certificate expires \
         (negative once expired).\n# TYPE tlsdeck_certificate_expiry_days gauge\n",
    );
    for s in series {
        let _ = writeln!(
            out,
            "tlsdeck_certificate_expiry_days{{org=\"{}\",kind=\"{}\",store=\"{}\",subject=\"{}\",fingerprint=\"{}\"}} {}",
            escape(&s.org),
            s.kind,
            escape(&s.store),
            escape(&s.subject),
            escape(&s.fingerprint),
            s.days
        );
    }
    out
}

/// Escapes a label value for the Prometheus text format.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape("CN=a \"b\"\\c\nd"), "CN=a \\\"b\\\"\\\\c\\nd");
    }
}
