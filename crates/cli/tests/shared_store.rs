//! Several `tlsdeck serve` processes on one PostgreSQL store, and `admin copy-store`.
//!
//! These need a PostgreSQL server: `TLSDECK_TEST_DATABASE_URL` names one that lets this
//! user create databases (`scripts/test` starts a throwaway cluster). Without it they are
//! skipped, unless `TLSDECK_REQUIRE_POSTGRES=1` makes that a failure.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use ureq::Agent;

const BIN: &str = env!("CARGO_BIN_EXE_tlsdeck");
const PASSWORD: &str = "Shared-Store-Passw0rd";
/// Both instances seal and open keys with this one master key (base64 of 32 bytes).
const MASTER_KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
const PROFILE: &str = "/api/orgs/admin/tls-client-profiles/tls-client-profile-default/1.0.0";

/// A child process stopped by its own PID when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh database on the test server, or `None` when there is no server to use.
fn fresh_database() -> Option<String> {
    let Ok(server) = std::env::var("TLSDECK_TEST_DATABASE_URL") else {
        assert!(
            std::env::var("TLSDECK_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "TLSDECK_REQUIRE_POSTGRES=1 but TLSDECK_TEST_DATABASE_URL is not set"
        );
        eprintln!("skipped: TLSDECK_TEST_DATABASE_URL is not set");
        return None;
    };
    let name = format!("tlsdeck_cli_{}", uuid_like());
    let out = Command::new("psql")
        .args([server.as_str(), "-v", "ON_ERROR_STOP=1", "-qc", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("psql runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (base, _) = server.rsplit_once('/').expect("the URL names a database");
    Some(format!("{base}/{name}"))
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{:x}{:x}", nanos, std::process::id())
}

/// Starts `tlsdeck serve` with its data in `data`, on `database` (or its own SQLite file);
/// returns it and its base URL.
fn serve(data: &Path, database: Option<&str>) -> (Running, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("TLSDECK_ADMIN_PASSWORD", PASSWORD)
        .env("TLSDECK_MASTER_KEY", MASTER_KEY)
        .env_remove("TLSDECK_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(data.with_extension("err")).unwrap());
    if let Some(url) = database {
        cmd.env("TLSDECK_DATABASE_URL", url);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads on after the first line, so the server never writes into a closed pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("tlsdeck listening on ") {
                let _ = tx.send(url.to_owned());
            }
        }
    });
    let running = Running(child);
    let url = rx.recv_timeout(Duration::from_secs(30)).expect("the server did not start");
    (running, url)
}

/// One HTTP client of one instance, logged in as the admin owner.
struct Client {
    agent: Agent,
    base: String,
    token: String,
}

impl Client {
    fn log_in(base: &str) -> Self {
        let agent: Agent = Agent::config_builder().http_status_as_error(false).build().into();
        let grant = json!({"username": "admin", "password": PASSWORD,
            "realm": "admin/default-idp-1", "grant_type": "password"});
        let mut resp = agent.post(format!("{base}/api/token")).send_json(&grant).unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.body_mut().read_json().unwrap();
        let token = body["access_token"].as_str().unwrap().to_owned();
        Self { agent, base: base.to_owned(), token }
    }

    fn get(&self, path: &str) -> (u16, Option<String>, Value) {
        let resp = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .call()
            .unwrap();
        answer(resp)
    }

    fn patch(&self, path: &str, if_match: &str, body: &Value) -> (u16, Option<String>, Value) {
        let resp = self
            .agent
            .patch(format!("{}{path}", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .header("If-Match", if_match)
            .send_json(body)
            .unwrap();
        answer(resp)
    }

    fn metric(&self, name: &str) -> Option<i64> {
        let mut resp = self
            .agent
            .get(format!("{}/metrics", self.base))
            .header("Authorization", format!("Bearer {}", self.token))
            .call()
            .unwrap();
        let text = resp.body_mut().read_to_string().unwrap();
        text.lines().find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
    }
}

fn answer(mut resp: ureq::http::Response<ureq::Body>) -> (u16, Option<String>, Value) {
    let status = resp.status().as_u16();
    let etag = resp.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    (status, etag, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[test]
fn two_instances_share_one_store_and_lose_no_update() {
    let Some(database) = fresh_database() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Both start at once on the new database: migrations and first-start set-up race.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| serve(&dir.path().join("a"), Some(&database)));
        let b = s.spawn(|| serve(&dir.path().join("b"), Some(&database)));
        (a.join().unwrap(), b.join().unwrap())
    });
    let (ca, cb) = (Client::log_in(&a.1), Client::log_in(&b.1));

    // What one writes, the other reads at once.
    let (status, etag, _) = ca.get(PROFILE);
    assert_eq!(status, 200);
    let (status, _, _) = ca.patch(PROFILE, &etag.unwrap(), &json!({"summary": "from a"}));
    assert_eq!(status, 200);
    let (_, _, seen) = cb.get(PROFILE);
    assert_eq!(seen["summary"], "from a");

    // The change feed reaches the other instance within a second.
    let written = ca.metric("tlsdeck_store_change_seq").unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let followed = cb.metric("tlsdeck_store_change_seq").unwrap_or(0);
        if followed >= written && written > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "b followed {followed} of {written} after 1 s");
        std::thread::sleep(Duration::from_millis(20));
    }

    // Rounds of concurrent PATCHes with one If-Match through both: one wins each round.
    let clients = [Arc::new(ca), Arc::new(cb)];
    let start = clients[1].get(PROFILE).2["revision"].as_i64().unwrap();
    let mut acknowledged = Vec::new();
    for round in 0..25 {
        let (_, etag, _) = clients[0].get(PROFILE);
        let etag = etag.unwrap();
        let barrier = Arc::new(Barrier::new(4));
        let answers: Vec<(u16, String)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|writer| {
                    let (client, barrier, etag) =
                        (Arc::clone(&clients[writer % 2]), Arc::clone(&barrier), etag.clone());
                    s.spawn(move || {
                        let summary = format!("round {round} writer {writer}");
                        barrier.wait();
                        let (status, _, _) =
                            client.patch(PROFILE, &etag, &json!({"summary": summary}));
                        (status, summary)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let won: Vec<_> = answers.iter().filter(|(s, _)| *s == 200).collect();
        assert_eq!(won.len(), 1, "round {round}: {answers:?}");
        assert!(answers.iter().all(|(s, _)| *s == 200 || *s == 412), "{answers:?}");
        acknowledged.push(won[0].1.clone());
    }
    let (_, _, last) = clients[1].get(PROFILE);
    assert_eq!(last["summary"], acknowledged.last().unwrap().as_str());
    let rounds = acknowledged.len() as i64;
    assert_eq!(last["revision"], start + rounds, "one revision per acknowledged write, none lost");
    drop((a, b));
}

#[test]
fn copy_store_moves_a_store_to_postgres_and_back() {
    let Some(database) = fresh_database() else { return };
    let dir = tempfile::tempdir().unwrap();
    // A SQLite store with the defaults and one change.
    let data = dir.path().join("sqlite-a");
    let (running, base) = serve(&data, None);
    let client = Client::log_in(&base);
    let (_, etag, _) = client.get(PROFILE);
    let (status, _, before) = client.patch(PROFILE, &etag.unwrap(), &json!({"summary": "moved"}));
    assert_eq!(status, 200);
    let (_, _, keystore_before) = client.get("/api/orgs/admin/keystores/default-keystore");
    drop(running);

    let copy = |from: &str, to: &str| {
        let out = Command::new(BIN)
            .args(["admin", "copy-store", "--from", from, "--to", to])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(!said.contains(PASSWORD));
        said
    };
    let data_b = dir.path().join("sqlite-b");
    std::fs::create_dir(&data_b).unwrap();
    copy(data.to_str().unwrap(), &database);
    copy(&database, data_b.to_str().unwrap());
    // A second copy into a store that holds data is refused.
    let again = Command::new(BIN)
        .args(["admin", "copy-store", "--from", data.to_str().unwrap(), "--to", &database])
        .output()
        .unwrap();
    assert!(!again.status.success(), "a filled store is not overwritten");

    // The copy serves the same items, with their ids and revisions, and opens the key.
    let (running, base) = serve(&data_b, None);
    let client = Client::log_in(&base);
    let (_, _, after) = client.get(PROFILE);
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["revision"], before["revision"]);
    assert_eq!(after["summary"], "moved");
    let (_, _, mut keystore_after) = client.get("/api/orgs/admin/keystores/default-keystore");
    let mut keystore_before = keystore_before;
    for ks in [&mut keystore_before, &mut keystore_after] {
        // URLs name the server they came from.
        ks.as_object_mut().unwrap().retain(|k, _| !k.ends_with("url"));
    }
    assert_eq!(keystore_after, keystore_before);
    let (status, _, events) = client.get("/api/orgs/admin/events?limit=100");
    assert_eq!(status, 200);
    assert!(
        events["results"].as_array().unwrap().iter().any(|e| e["action"] == "update"),
        "the audit events came along"
    );
    drop(running);
}
