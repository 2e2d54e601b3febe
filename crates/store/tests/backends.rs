//! What several processes sharing one store rely on, on SQLite and on PostgreSQL: the change
//! feed, concurrent writers, concurrent migrations, and copying a whole store between
//! backends through a dump.

mod common;

use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{Backend, TestDb};
use serde_json::json;
use tlsdeck_model::{ClientProfile, ServerProfile};
use tlsdeck_store::{
    Cell, ChangeKind, CustomRole, Dump, Event, EventFilter, Labels, NewEntry, NewKeystore, NewUser,
    Page, ProfileRefs, Store, StoreError, UserChange,
};
use uuid::Uuid;

on_both_backends!(
    records_a_change_for_every_write_to_profiles_and_stores,
    records_nothing_for_a_refused_write,
    keeps_only_the_newest_changes,
    wakes_a_follower_soon_after_another_store_commits,
    lets_one_writer_win_each_revision,
    applies_each_migration_once_when_stores_open_at_once,
    copies_a_whole_store_through_a_dump,
    refuses_to_import_into_a_store_in_use_or_of_another_schema,
);

fn profile(name: &str, version: &str) -> ClientProfile {
    ClientProfile::from_json(&json!({
        "title": format!("Profile {name}"),
        "name": name,
        "version": version,
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }))
    .unwrap()
}

fn server_profile(keystore: &str) -> ServerProfile {
    ServerProfile::from_json(&json!({
        "title": "Listener", "keystore": keystore,
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }))
    .unwrap()
}

fn labels(name: &str) -> Labels {
    Labels { name: name.into(), title: format!("Store {name}"), summary: None }
}

fn keystore(name: &str) -> NewKeystore {
    NewKeystore {
        labels: labels(name),
        chain: vec![vec![0x30, 0x82, 0, 0xff], vec![4, 5]],
        sealed_key: (0..=255).collect(),
    }
}

fn entry(n: u8) -> NewEntry {
    NewEntry { fingerprint: format!("FP{n}"), der: vec![n; 8] }
}

/// The changes after `since`, as (kind, id).
fn changes(store: &dyn Store, since: i64) -> Vec<(ChangeKind, Uuid)> {
    let all = store.changes_since(since, 1000).unwrap();
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "oldest first");
    all.into_iter().map(|c| (c.kind, c.id)).collect()
}

fn records_a_change_for_every_write_to_profiles_and_stores(db: &TestDb) {
    use ChangeKind::{ClientProfile as Client, Keystore, ServerProfile as Server, Truststore};
    let store = db.open();
    assert_eq!(store.last_change().unwrap(), 0);
    let org = store.create_org("admin", "Admin", "admin").unwrap();
    assert_eq!(store.last_change().unwrap(), 0, "orgs are not in the feed");

    let ks = store.create_keystore(org.id, &keystore("k")).unwrap();
    let ts = store.create_truststore(org.id, &labels("t"), &[entry(1)]).unwrap();
    let refs = ProfileRefs { keystore: Some(ks.id), truststore: Some(ts.id) };
    let p = store.create_client_profile(org.id, &profile("a", "1.0.0"), refs).unwrap();
    let s = store.create_server_profile(org.id, &server_profile("k"), refs).unwrap();
    let after_creates = store.last_change().unwrap();
    assert_eq!(
        changes(&*store, 0),
        [(Keystore, ks.id), (Truststore, ts.id), (Client, p.id), (Server, s.id)]
    );
    let first = store.changes_since(0, 1).unwrap();
    assert_eq!((first.len(), first[0].org_id), (1, org.id));

    store.update_keystore(org.id, ks.id, Some(1), &keystore("k")).unwrap();
    let added = store.add_truststore_entries(ts.id, &[entry(2)]).unwrap();
    store.delete_truststore_entry(ts.id, added[0].id).unwrap();
    store.update_truststore(org.id, ts.id, None, &labels("t"), Some(&[entry(3)])).unwrap();
    store.update_client_profile(org.id, p.id, Some(1), &p.profile, refs).unwrap();
    store.delete_client_profile(org.id, p.id, None).unwrap();
    store.delete_server_profile(org.id, s.id, None).unwrap();
    assert_eq!(
        changes(&*store, after_creates),
        [
            (Keystore, ks.id),
            (Truststore, ts.id),
            (Truststore, ts.id),
            (Truststore, ts.id),
            (Client, p.id),
            (Client, p.id),
            (Server, s.id),
        ]
    );

    let cleared = store.last_change().unwrap();
    let p1 = store.create_client_profile(org.id, &profile("b", "1.0.0"), refs).unwrap();
    let p2 = store.create_client_profile(org.id, &profile("c", "1.0.0"), refs).unwrap();
    assert_eq!(store.clear_client_profiles(org.id).unwrap(), 2);
    let mut gone = changes(&*store, cleared).split_off(2);
    gone.sort();
    let mut expected = vec![(Client, p1.id), (Client, p2.id)];
    expected.sort();
    assert_eq!(gone, expected, "a clear records each item it deleted");

    let before_delete = store.last_change().unwrap();
    store.delete_org(org.id).unwrap();
    let mut gone = changes(&*store, before_delete);
    gone.sort();
    let mut expected = vec![(Keystore, ks.id), (Truststore, ts.id)];
    expected.sort();
    assert_eq!(gone, expected, "deleting an org records what went with it");
}

fn records_nothing_for_a_refused_write(db: &TestDb) {
    let store = db.open();
    let org = store.create_org("admin", "Admin", "admin").unwrap();
    let ks = store.create_keystore(org.id, &keystore("k")).unwrap();
    let refs = ProfileRefs { keystore: Some(ks.id), truststore: None };
    let p = store.create_client_profile(org.id, &profile("a", "1.0.0"), refs).unwrap();
    let last = store.last_change().unwrap();

    let stale = store.update_client_profile(org.id, p.id, Some(9), &p.profile, refs);
    assert!(matches!(stale, Err(StoreError::Stale { current: 1 })));
    let used = store.delete_keystore(org.id, ks.id, None);
    assert!(matches!(used, Err(StoreError::InUse { .. })));
    let taken = store.create_client_profile(org.id, &profile("a", "1.0.0"), refs);
    assert!(matches!(taken, Err(StoreError::Conflict(_))));
    assert_eq!(store.last_change().unwrap(), last);
    assert!(store.changes_since(last, 10).unwrap().is_empty());
}

fn keeps_only_the_newest_changes(db: &TestDb) {
    let store = db.open();
    let org = store.create_org("admin", "Admin", "admin").unwrap();
    let rows = match db.backend {
        Backend::Sqlite => {
            "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10050)
             SELECT i FROM n"
        }
        Backend::Postgres => "SELECT generate_series(1, 10050)",
    };
    db.execute(&format!(
        "INSERT INTO changes (kind, id, org_id, at)
         SELECT 'keystore', '{id}', '{org}', '2026-01-01T00:00:00.000Z' FROM ({rows}) AS n",
        id = Uuid::new_v4(),
        org = org.id,
    ));
    let ks = store.create_keystore(org.id, &keystore("k")).unwrap();
    let last = store.last_change().unwrap();
    assert_eq!(db.raw("SELECT COUNT(*) FROM changes"), ["10000"]);
    assert_eq!(store.changes_since(0, 1).unwrap()[0].seq, last - 9_999);
    let newest = store.changes_since(last - 1, 10).unwrap();
    assert_eq!((newest.len(), newest[0].id, newest[0].kind), (1, ks.id, ChangeKind::Keystore));
}

fn wakes_a_follower_soon_after_another_store_commits(db: &TestDb) {
    let follower = db.open();
    let writer = db.open();
    let org = writer.create_org("admin", "Admin", "admin").unwrap();
    // Skip what earlier writes left pending, then find nothing more within the timeout.
    follower.wait_for_change(Duration::ZERO).unwrap();
    let started = Instant::now();
    follower.wait_for_change(Duration::from_millis(300)).unwrap();
    let idle = started.elapsed();
    assert!(idle < Duration::from_secs(2), "waited {idle:?}, past the timeout");
    if db.backend == Backend::Postgres {
        assert!(idle >= Duration::from_millis(250), "returned after {idle:?} with no change");
    }

    let committed = Mutex::new(None);
    let woke = std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            writer.create_keystore(org.id, &keystore("k")).unwrap();
            *committed.lock().unwrap() = Some(Instant::now());
        });
        let started = Instant::now();
        let mut woke = None;
        // Returns may be spurious (SQLite polls): wait until the change is there to read.
        while started.elapsed() < Duration::from_secs(10) {
            follower.wait_for_change(Duration::from_secs(5)).unwrap();
            if follower.last_change().unwrap() > 0 {
                woke = Some(Instant::now());
                break;
            }
        }
        woke.expect("the follower saw the change")
    });
    let committed = committed.into_inner().unwrap().expect("the writer committed");
    let lag = woke.saturating_duration_since(committed);
    eprintln!("woke {lag:?} after the commit");
    assert!(lag < Duration::from_millis(700), "the follower woke {lag:?} after the commit");
}

fn lets_one_writer_win_each_revision(db: &TestDb) {
    const THREADS: usize = 4;
    const REVISIONS: i64 = 30;
    let stores = [db.open(), db.open()];
    let org = stores[0].create_org("admin", "Admin", "admin").unwrap();
    let created = stores[0]
        .create_client_profile(org.id, &profile("race", "1.0.0"), ProfileRefs::default())
        .unwrap();
    let first_change = stores[0].last_change().unwrap();
    let wins = Mutex::new(Vec::new());
    let stale = Mutex::new(0_usize);
    let deadline = Instant::now() + Duration::from_secs(60);

    std::thread::scope(|s| {
        for t in 0..THREADS {
            let store = Arc::clone(&stores[t % 2]);
            let (wins, stale) = (&wins, &stale);
            s.spawn(move || {
                for attempt in 0..REVISIONS * 20 {
                    let current = store.client_profile_by_id(org.id, created.id).unwrap();
                    if current.revision > REVISIONS || Instant::now() > deadline {
                        break;
                    }
                    let mut p = current.profile.clone();
                    p.title = format!("writer {t} attempt {attempt}");
                    let expected = Some(current.revision);
                    match store.update_client_profile(
                        org.id,
                        created.id,
                        expected,
                        &p,
                        ProfileRefs::default(),
                    ) {
                        Ok(u) => {
                            assert_eq!(u.revision, current.revision + 1);
                            assert_eq!(u.profile.title, p.title, "the write returned is ours");
                            wins.lock().unwrap().push((u.revision, p.title));
                        }
                        Err(StoreError::Stale { current: now }) => {
                            assert!(now > current.revision, "stale at {now}");
                            *stale.lock().unwrap() += 1;
                        }
                        Err(e) => panic!("writer {t}: {e}"),
                    }
                }
            });
        }
    });

    let mut wins = wins.into_inner().unwrap();
    wins.sort();
    let last = stores[1].client_profile_by_id(org.id, created.id).unwrap();
    let revisions: Vec<i64> = wins.iter().map(|(r, _)| *r).collect();
    assert_eq!(revisions, (2..=last.revision).collect::<Vec<_>>(), "one winner per revision");
    assert!(last.revision > REVISIONS, "every round was written (stopped at {})", last.revision);
    assert_eq!(last.profile.title, wins.last().unwrap().1, "the last acknowledged write stays");
    let feed = stores[0].changes_since(first_change, 1000).unwrap();
    assert_eq!(feed.len(), wins.len(), "one change per acknowledged write");
    let stale = stale.into_inner().unwrap();
    eprintln!("{} wins, {stale} stale", wins.len());
}

fn applies_each_migration_once_when_stores_open_at_once(db: &TestDb) {
    const OPENERS: usize = 4;
    let barrier = Barrier::new(OPENERS);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..OPENERS)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    tlsdeck_store::open_url(&db.url).map(drop)
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap().unwrap();
        }
    });
    let counts = db.raw("SELECT COUNT(*) FROM schema_migrations GROUP BY version ORDER BY version");
    assert_eq!(counts, vec!["1"; 7], "each version applied exactly once");
    let store = db.open();
    store.create_org("admin", "Admin", "admin").unwrap();
}

/// What [`seed`] made, to read back after a copy.
struct Seeded {
    org: Uuid,
    profile: Uuid,
    server_profile: Uuid,
    keystore: Uuid,
    truststore: Uuid,
}

/// Fills a store with one of everything, plus gaps and second revisions.
fn seed(store: &dyn Store) -> Seeded {
    let admin = store.create_org("admin", "Admin", "admin").unwrap();
    let org = store.create_org("p1", "Provider One", "provider").unwrap();
    let alice = store
        .create_user(&NewUser {
            username: "alice".into(),
            realm: "provider/default-idp-2".into(),
            email: Some("alice@example.com".into()),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        })
        .unwrap();
    let bob = store
        .create_user(&NewUser {
            username: "bob".into(),
            realm: "admin/default-idp-1".into(),
            email: None,
            password_hash: "$argon2id$bob".into(),
        })
        .unwrap();
    store.update_user(bob.id, &UserChange { disabled: Some(true), ..Default::default() }).unwrap();
    store.add_member(org.id, alice.id, "administrator").unwrap();
    store.add_member(admin.id, bob.id, "viewer").unwrap();
    let role = CustomRole {
        name: "auditor".into(),
        title: "Auditor".into(),
        permissions: vec!["settings:view".into()],
    };
    store.create_custom_role(org.id, &role).unwrap();
    store.set_roles(org.id, alice.id, &["auditor".into(), "administrator".into()]).unwrap();
    store.insert_token("token-hash", alice.id, Utc::now() + chrono::Duration::hours(1)).unwrap();

    let ks = store.create_keystore(org.id, &keystore("client")).unwrap();
    let mut summary = labels("ca");
    summary.summary = Some("Issuing CAs".into());
    let ts = store.create_truststore(org.id, &summary, &[entry(1), entry(2), entry(3)]).unwrap();
    let entries = store.truststore_entries(ts.id).unwrap();
    store.delete_truststore_entry(ts.id, entries[1].id).unwrap();
    store.add_truststore_entries(ts.id, &[entry(4)]).unwrap();
    let refs = ProfileRefs { keystore: Some(ks.id), truststore: Some(ts.id) };
    let p = store.create_client_profile(org.id, &profile("backend", "1.0.0"), refs).unwrap();
    let mut changed = p.profile.clone();
    changed.title = "Backend".into();
    store.update_client_profile(org.id, p.id, Some(1), &changed, refs).unwrap();
    let s = store.create_server_profile(org.id, &server_profile("client"), refs).unwrap();
    let gone = store.create_client_profile(org.id, &profile("gone", "1.0.0"), refs).unwrap();
    store.delete_client_profile(org.id, gone.id, None).unwrap();

    for (org, resource) in [(Some("p1"), "keystore client"), (None, "login")] {
        store
            .record_event(&Event {
                id: Uuid::nil(),
                org: org.map(Into::into),
                at: Utc::now(),
                actor: "alice (provider/default-idp-2)".into(),
                action: "create".into(),
                resource: resource.into(),
                outcome: "success".into(),
                detail: org.map(|_| "Ünïcode détail".into()),
            })
            .unwrap();
    }
    store.set_meta_once("defaults", "created").unwrap();
    Seeded { org: org.id, profile: p.id, server_profile: s.id, keystore: ks.id, truststore: ts.id }
}

/// Compares two dumps table by table and row by row, for a readable failure.
fn assert_same(a: &Dump, b: &Dump) {
    assert_eq!(a.schema_version, b.schema_version);
    let names = |d: &Dump| d.tables.iter().map(|t| t.table.clone()).collect::<Vec<_>>();
    assert_eq!(names(a), names(b));
    for (x, y) in a.tables.iter().zip(&b.tables) {
        assert_eq!(x.columns, y.columns, "columns of {}", x.table);
        assert_eq!(x.rows.len(), y.rows.len(), "rows of {}", x.table);
        for (i, (r, s)) in x.rows.iter().zip(&y.rows).enumerate() {
            assert_eq!(r, s, "row {i} of {}", x.table);
        }
    }
    assert_eq!(a, b);
}

fn copies_a_whole_store_through_a_dump(db: &TestDb) {
    let source_db = TestDb::new(Backend::Sqlite).unwrap();
    let source = source_db.open();
    let seeded = seed(&*source);
    let first = source.export().unwrap();
    assert!(first.table("tokens").is_none() && first.table("schema_migrations").is_none());
    let users = first.table("users").unwrap();
    let disabled = users.columns.iter().position(|c| c == "disabled").unwrap();
    assert!(users.rows.iter().any(|r| r[disabled] == Cell::Int(1)), "flags are 0 or 1");

    let target = db.open();
    target.import(&first).unwrap();
    let second = target.export().unwrap();
    assert_same(&first, &second);
    let back_db = TestDb::new(Backend::Sqlite).unwrap();
    let back = back_db.open();
    back.import(&second).unwrap();
    assert_same(&first, &back.export().unwrap());

    reads_the_same_through_the_store(&*source, &*target, &seeded);
    keeps_counting_after_the_imported_numbers(&*target, &seeded);
}

fn reads_the_same_through_the_store(source: &dyn Store, target: &dyn Store, s: &Seeded) {
    let p = target.client_profile_by_id(s.org, s.profile).unwrap();
    assert_eq!(p, source.client_profile_by_id(s.org, s.profile).unwrap());
    assert_eq!((p.revision, p.profile.title.as_str()), (2, "Backend"));
    assert_eq!(
        target.server_profile_by_id(s.org, s.server_profile).unwrap(),
        source.server_profile_by_id(s.org, s.server_profile).unwrap()
    );
    let ks = target.keystore(s.org, &s.keystore.to_string()).unwrap();
    assert_eq!(ks, source.keystore(s.org, "client").unwrap());
    assert_eq!(ks.sealed_key, (0..=255).collect::<Vec<u8>>(), "sealed bytes kept as they were");
    assert_eq!(
        target.truststore_entries(s.truststore).unwrap(),
        source.truststore_entries(s.truststore).unwrap()
    );
    assert_eq!(target.truststore(s.org, "ca").unwrap(), source.truststore(s.org, "ca").unwrap());
    assert_eq!(target.list_users().unwrap(), source.list_users().unwrap());
    assert_eq!(target.members(s.org).unwrap(), source.members(s.org).unwrap());
    assert_eq!(target.custom_roles(s.org).unwrap(), source.custom_roles(s.org).unwrap());
    let all = EventFilter::default();
    assert_eq!(
        target.list_events("admin", &all, Page::default()).unwrap(),
        source.list_events("admin", &all, Page::default()).unwrap()
    );
    assert_eq!(target.meta("defaults").unwrap().as_deref(), Some("created"));
    assert_eq!(target.last_change().unwrap(), source.last_change().unwrap());
    assert_eq!(target.changes_since(0, 100).unwrap(), source.changes_since(0, 100).unwrap());
    assert!(
        matches!(target.token_user("token-hash", Utc::now()), Err(StoreError::NotFound)),
        "tokens are not copied"
    );
}

fn keeps_counting_after_the_imported_numbers(target: &dyn Store, s: &Seeded) {
    let last = target.last_change().unwrap();
    let p = target
        .create_client_profile(s.org, &profile("after", "1.0.0"), ProfileRefs::default())
        .unwrap();
    let next = target.changes_since(last, 10).unwrap();
    assert_eq!(next.len(), 1);
    assert!(next[0].seq > last && next[0].id == p.id);

    let added = target.add_truststore_entries(s.truststore, &[entry(9)]).unwrap();
    let entries = target.truststore_entries(s.truststore).unwrap();
    assert_eq!(entries.last().map(|e| e.id), Some(added[0].id), "new entries come last");

    target
        .record_event(&Event {
            id: Uuid::nil(),
            org: Some("p1".into()),
            at: Utc::now(),
            actor: "alice".into(),
            action: "delete".into(),
            resource: "newest".into(),
            outcome: "success".into(),
            detail: None,
        })
        .unwrap();
    let (_, events) = target.list_events("p1", &EventFilter::default(), Page::default()).unwrap();
    assert_eq!(events[0].resource, "newest", "new events list first");
}

fn refuses_to_import_into_a_store_in_use_or_of_another_schema(db: &TestDb) {
    let source_db = TestDb::new(Backend::Sqlite).unwrap();
    let source = source_db.open();
    seed(&*source);
    let dump = source.export().unwrap();

    let target = db.open();
    let mut newer = dump.clone();
    newer.schema_version += 1;
    assert!(matches!(target.import(&newer), Err(StoreError::Conflict(m)) if m.contains("version")));
    let mut odd = dump.clone();
    odd.tables[0].columns.push("nickname".into());
    for row in &mut odd.tables[0].rows {
        row.push(Cell::Null);
    }
    assert!(matches!(target.import(&odd), Err(StoreError::Conflict(m)) if m.contains("nickname")));
    assert!(target.list_orgs().unwrap().is_empty(), "a refused import leaves nothing");

    target.create_org("admin", "Admin", "admin").unwrap();
    assert!(
        matches!(target.import(&dump), Err(StoreError::Conflict(m)) if m.contains("not empty"))
    );
}

#[test]
fn both_backends_have_the_same_tables_and_columns() {
    let Some(pg) = TestDb::new(Backend::Postgres) else { return };
    let lite = TestDb::new(Backend::Sqlite).unwrap();
    let dumped: Vec<String> = {
        let store = lite.open();
        drop(pg.open());
        store.export().unwrap().tables.into_iter().map(|t| t.table).collect()
    };
    let schema = lite.schema();
    assert_eq!(pg.schema(), schema);

    let mut expected: Vec<String> = schema
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| t != "schema_migrations" && t != "tokens")
        .collect();
    let mut dumped = dumped;
    expected.sort();
    dumped.sort();
    assert_eq!(dumped, expected, "a dump carries every table but migrations and tokens");
}
