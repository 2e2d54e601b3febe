//! The store's behaviour, the same on every backend: each test runs on SQLite and on
//! PostgreSQL, each time on a fresh database (see `common`).

mod common;

use chrono::{Duration, Utc};
use common::{Backend, TestDb};
use serde_json::json;
use tlsdeck_model::ClientProfile;
use tlsdeck_store::{
    CustomRole, Event, EventFilter, Labels, NewEntry, NewKeystore, NewUser, Page, ProfileRefs,
    StoreError, UserChange,
};

on_both_backends!(
    creates_reads_and_refuses_a_duplicate_name_and_version,
    keeps_orgs_apart,
    lists_in_pages_ordered_by_name_and_version,
    orders_names_byte_by_byte_whatever_the_locale,
    updates_only_the_expected_revision,
    refuses_a_rename_onto_an_existing_profile,
    clears_an_org,
    tokens_expire_and_can_be_ended,
    keeps_data_across_reopening_and_migrates_once,
    keeps_keystores_with_their_chain_and_sealed_key,
    links_profiles_to_stores_and_refuses_deleting_a_used_store,
    lists_every_user_of_a_store_in_order,
    stores_truststore_entries_once_each,
    never_deletes_the_last_entry_even_when_deletes_race,
    records_a_one_off_fact_once,
    keeps_server_profiles_apart_and_counts_them_as_store_users,
    manages_users_memberships_and_custom_roles,
    lists_events_newest_first_with_filters,
    deletes_an_org_with_everything_in_it,
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

fn creates_reads_and_refuses_a_duplicate_name_and_version(db: &TestDb) {
    let store = db.open();
    let org = store.create_org("admin", "Admin", "admin").unwrap();
    let created = store
        .create_client_profile(org.id, &profile("a", "1.0.0"), ProfileRefs::default())
        .unwrap();
    assert_eq!(created.revision, 1);
    assert_eq!(store.client_profile(org.id, "a", "1.0.0").unwrap(), created);
    assert_eq!(store.client_profile_by_id(org.id, created.id).unwrap(), created);

    let err = store
        .create_client_profile(org.id, &profile("a", "1.0.0"), ProfileRefs::default())
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(ref m) if m.contains("a:1.0.0")), "{err}");
    store.create_client_profile(org.id, &profile("a", "1.1.0"), ProfileRefs::default()).unwrap();
}

fn keeps_orgs_apart(db: &TestDb) {
    let store = db.open();
    let a = store.create_org("admin", "Admin", "admin").unwrap();
    let b = store.create_org("p1", "P1", "provider").unwrap();
    let created =
        store.create_client_profile(a.id, &profile("a", "1.0.0"), ProfileRefs::default()).unwrap();
    assert!(matches!(store.client_profile_by_id(b.id, created.id), Err(StoreError::NotFound)));
    assert_eq!(store.list_client_profiles(b.id, None, Page::default()).unwrap().0, 0);
    assert!(matches!(store.create_org("p1", "again", "provider"), Err(StoreError::Conflict(_))));
}

fn lists_in_pages_ordered_by_name_and_version(db: &TestDb) {
    let store = db.open();
    let org = store.create_org("admin", "Admin", "admin").unwrap();
    for (n, v) in [("b", "1.0.0"), ("a", "2.0.0"), ("a", "1.0.0"), ("c", "1.0.0")] {
        store.create_client_profile(org.id, &profile(n, v), ProfileRefs::default()).unwrap();
    }
    let (total, page) =
        store.list_client_profiles(org.id, None, Page { limit: 2, offset: 1 }).unwrap();
    let keys: Vec<String> =
        page.iter().map(|s| format!("{}:{}", s.profile.name, s.profile.version)).collect();
    assert_eq!((total, keys), (4, vec!["a:2.0.0".to_owned(), "b:1.0.0".to_owned()]));

    let (total, versions) = store.list_client_profiles(org.id, Some("a"), Page::default()).unwrap();
    assert_eq!((total, versions.len()), (2, 2));
}

fn updates_only_the_expected_revision(db: &TestDb) {
    let store = db.open();
    let org = store.create_org("admin", "Admin", "admin").unwrap();
    let created = store
        .create_client_profile(org.id, &profile("a", "1.0.0"), ProfileRefs::default())
        .unwrap();
    let mut changed = created.profile.clone();
    changed.title = "Changed".into();

    let updated = store
        .update_client_profile(org.id, created.id, Some(1), &changed, ProfileRefs::default())
        .unwrap();
    assert_eq!((updated.revision, updated.profile.title.as_str()), (2, "Changed"));

    let err = store.update_client_profile(
        org.id,
        created.id,
        Some(1),
        &profile("a", "1.0.0"),
        ProfileRefs::default(),
    );
    assert!(matches!(err, Err(StoreError::Stale { current: 2 })));
    assert_eq!(store.client_profile_by_id(org.id, created.id).unwrap().profile.title, "Changed");

    let err = store.delete_client_profile(org.id, created.id, Some(1));
    assert!(matches!(err, Err(StoreError::Stale { current: 2 })));
    store.delete_client_profile(org.id, created.id, Some(2)).unwrap();
    assert!(matches!(store.client_profile_by_id(org.id, created.id), Err(StoreError::NotFound)));
}

fn refuses_a_rename_onto_an_existing_profile(db: &TestDb) {
    let store = db.open();
    let org = store.create_org("admin", "Admin", "admin").unwrap();
    store.create_client_profile(org.id, &profile("a", "1.0.0"), ProfileRefs::default()).unwrap();
    let b = store
        .create_client_profile(org.id, &profile("b", "1.0.0"), ProfileRefs::default())
        .unwrap();
    let err = store.update_client_profile(
        org.id,
        b.id,
        None,
        &profile("a", "1.0.0"),
        ProfileRefs::default(),
    );
    assert!(matches!(err, Err(StoreError::Conflict(_))));
}

fn clears_an_org(db: &TestDb) {
    let store = db.open();
    let org = store.create_org("admin", "Admin", "admin").unwrap();
    store.create_client_profile(org.id, &profile("a", "1.0.0"), ProfileRefs::default()).unwrap();
    store.create_client_profile(org.id, &profile("b", "1.0.0"), ProfileRefs::default()).unwrap();
    assert_eq!(store.clear_client_profiles(org.id).unwrap(), 2);
    assert_eq!(store.list_client_profiles(org.id, None, Page::default()).unwrap().0, 0);
}

fn tokens_expire_and_can_be_ended(db: &TestDb) {
    let store = db.open();
    let user = store
        .create_user(&NewUser {
            username: "admin".into(),
            realm: "admin/default-idp-1".into(),
            email: None,
            password_hash: "$argon2id$x".into(),
        })
        .unwrap();
    let now = Utc::now();
    store.insert_token("live", user.id, now + Duration::hours(8)).unwrap();
    store.insert_token("old", user.id, now + Duration::seconds(1)).unwrap();
    assert_eq!(store.token_user("live", now).unwrap().id, user.id);
    assert!(matches!(
        store.token_user("old", now + Duration::seconds(2)),
        Err(StoreError::NotFound)
    ));
    assert!(store.delete_token("live").unwrap());
    assert!(matches!(store.token_user("live", now), Err(StoreError::NotFound)));
}

fn keeps_data_across_reopening_and_migrates_once(db: &TestDb) {
    {
        let store = db.open();
        let org = store.create_org("admin", "Admin", "admin").unwrap();
        store
            .create_client_profile(org.id, &profile("a", "1.0.0"), ProfileRefs::default())
            .unwrap();
    }
    let store = db.open();
    let org = store.org("admin").unwrap();
    assert_eq!(store.client_profile(org.id, "a", "1.0.0").unwrap().revision, 1);
    let versions = db.raw("SELECT version FROM schema_migrations ORDER BY version");
    assert_eq!(versions, (1..=7).map(|v| v.to_string()).collect::<Vec<_>>());
}

#[test]
fn keeps_the_sqlite_file_readable_by_its_owner_only() {
    let db = TestDb::new(Backend::Sqlite).unwrap();
    drop(db.open());
    let path = db.sqlite_path().unwrap();
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the database holds hashes: owner only");
}

fn labels(name: &str) -> Labels {
    Labels { name: name.into(), title: format!("Store {name}"), summary: None }
}

fn keystore(name: &str) -> NewKeystore {
    NewKeystore {
        labels: labels(name),
        chain: vec![vec![1, 2, 3], vec![4, 5]],
        sealed_key: vec![9; 40],
    }
}

fn entry(n: u8) -> NewEntry {
    NewEntry { fingerprint: format!("FP{n}"), der: vec![n; 8] }
}

fn keeps_keystores_with_their_chain_and_sealed_key(db: &TestDb) {
    let store = db.open();
    let org = store.create_org("admin", "Admin", "admin").unwrap();
    let ks = store.create_keystore(org.id, &keystore("client")).unwrap();
    assert_eq!((ks.revision, ks.chain.len(), ks.sealed_key.len()), (1, 2, 40));
    assert_eq!(store.keystore(org.id, "client").unwrap(), ks);
    assert_eq!(store.keystore(org.id, &ks.id.to_string()).unwrap(), ks);
    assert!(matches!(
        store.create_keystore(org.id, &keystore("client")),
        Err(StoreError::Conflict(_))
    ));
    assert!(!format!("{ks:?}").contains("9, 9"), "Debug hides the sealed key");

    let mut changed = keystore("client");
    changed.chain = vec![vec![7]];
    let updated = store.update_keystore(org.id, ks.id, Some(1), &changed).unwrap();
    assert_eq!((updated.revision, updated.chain.clone()), (2, vec![vec![7]]));
    assert!(matches!(
        store.update_keystore(org.id, ks.id, Some(1), &changed),
        Err(StoreError::Stale { current: 2 })
    ));
}

fn links_profiles_to_stores_and_refuses_deleting_a_used_store(db: &TestDb) {
    let store = db.open();
    let org = store.create_org("admin", "Admin", "admin").unwrap();
    let ks = store.create_keystore(org.id, &keystore("client")).unwrap();
    let ts = store.create_truststore(org.id, &labels("ca"), &[entry(1)]).unwrap();
    let refs = ProfileRefs { keystore: Some(ks.id), truststore: Some(ts.id) };
    let p = store.create_client_profile(org.id, &profile("a", "1.0.0"), refs).unwrap();
    assert_eq!(p.keystore.as_ref().map(|l| l.name.as_str()), Some("client"));
    assert_eq!(p.profile.truststore.as_ref().map(|r| r.key()), Some("ca"));

    let err = store.delete_keystore(org.id, ks.id, None).unwrap_err();
    assert!(
        matches!(err, StoreError::InUse { ref users } if users == &["tls-client-profile a:1.0.0"]),
        "{err}"
    );
    assert!(matches!(store.clear_truststores(org.id), Err(StoreError::InUse { .. })));
    assert!(store.keystore(org.id, "client").is_ok(), "nothing deleted");

    let mut renamed = keystore("renamed");
    renamed.chain = ks.chain.clone();
    store.update_keystore(org.id, ks.id, None, &renamed).unwrap();
    let p = store.client_profile_by_id(org.id, p.id).unwrap();
    assert_eq!(
        p.keystore.as_ref().map(|l| l.name.as_str()),
        Some("renamed"),
        "a renamed store stays linked"
    );
    assert_eq!(p.revision, 1, "the profile itself did not change: its ETag stays");
    assert_eq!(p.material_revision(), "1.2.1", "but what it compiles from did");

    store
        .update_client_profile(org.id, p.id, None, &profile("a", "1.0.0"), ProfileRefs::default())
        .unwrap();
    store.delete_keystore(org.id, ks.id, None).unwrap();
    assert_eq!(store.clear_truststores(org.id).unwrap(), 1);
}

fn stores_truststore_entries_once_each(db: &TestDb) {
    let store = db.open();
    let org = store.create_org("admin", "Admin", "admin").unwrap();
    let ts =
        store.create_truststore(org.id, &labels("ca"), &[entry(1), entry(2), entry(1)]).unwrap();
    assert_eq!(ts.entry_count, 2);
    let added = store.add_truststore_entries(ts.id, &[entry(2), entry(3)]).unwrap();
    assert_eq!(added.iter().map(|e| e.fingerprint.as_str()).collect::<Vec<_>>(), ["FP3"]);
    let all = store.truststore_entries(ts.id).unwrap();
    assert_eq!(all.len(), 3);
    store.delete_truststore_entry(ts.id, all[0].id).unwrap();
    assert!(matches!(store.delete_truststore_entry(ts.id, all[0].id), Err(StoreError::NotFound)));
    let now = store.truststore(org.id, "ca").unwrap();
    assert_eq!((now.entry_count, now.revision), (2, 3));

    let replaced =
        store.update_truststore(org.id, ts.id, Some(3), &labels("ca"), Some(&[entry(9)])).unwrap();
    assert_eq!(replaced.entry_count, 1);
    let (total, list) = store.list_truststores(org.id, Page::default()).unwrap();
    assert_eq!((total, list[0].entry_count), (1, 1));
}

fn never_deletes_the_last_entry_even_when_deletes_race(db: &TestDb) {
    let store = db.open();
    let org = store.create_org("admin", "Admin", "admin").unwrap();
    for round in 0..10 {
        let name = format!("ca-{round}");
        let ts = store.create_truststore(org.id, &labels(&name), &[entry(1), entry(2)]).unwrap();
        let ids: Vec<_> = store.truststore_entries(ts.id).unwrap().iter().map(|e| e.id).collect();
        // Two stores on one database, as two instances are; one delete each, at once.
        let (a, b) = (db.open(), db.open());
        let barrier = std::sync::Barrier::new(2);
        let results: Vec<_> = std::thread::scope(|s| {
            let handles = [(&a, ids[0]), (&b, ids[1])].map(|(st, id)| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    st.delete_truststore_entry(ts.id, id)
                })
            });
            handles.map(|h| h.join().unwrap()).into_iter().collect()
        });
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "round {round}: {results:?}");
        let refused = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert!(matches!(refused, StoreError::Conflict(m) if m.contains("last certificate")));
        assert_eq!(store.truststore_entries(ts.id).unwrap().len(), 1);
    }
    let last = store.truststore(org.id, "ca-0").unwrap();
    let only = store.truststore_entries(last.id).unwrap()[0].id;
    assert!(matches!(store.delete_truststore_entry(last.id, only), Err(StoreError::Conflict(_))));
}

fn records_a_one_off_fact_once(db: &TestDb) {
    let store = db.open();
    assert!(store.set_meta_once("defaults", "created").unwrap());
    assert!(!store.set_meta_once("defaults", "created").unwrap());
}

fn keeps_server_profiles_apart_and_counts_them_as_store_users(db: &TestDb) {
    let store = db.open();
    let org = store.create_org("admin", "Admin", "admin").unwrap();
    let ks = store.create_keystore(org.id, &keystore("listener")).unwrap();
    let p = tlsdeck_model::ServerProfile::from_json(&json!({
        "title": "Listener", "keystore": "listener", "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }))
    .unwrap();
    let refs = ProfileRefs { keystore: Some(ks.id), truststore: None };
    let stored = store.create_server_profile(org.id, &p, refs).unwrap();
    assert_eq!(stored.profile, p);
    assert_eq!(store.server_profile(org.id, "listener", "1.0.0").unwrap().id, stored.id);
    assert_eq!(store.list_client_profiles(org.id, None, Page::default()).unwrap().0, 0);

    let err = store.delete_keystore(org.id, ks.id, None).unwrap_err();
    assert!(
        matches!(err, StoreError::InUse { ref users } if users == &["tls-server-profile listener:1.0.0"]),
        "{err}"
    );
    store.delete_server_profile(org.id, stored.id, Some(1)).unwrap();
    store.delete_keystore(org.id, ks.id, None).unwrap();
}

fn keys(page: &[tlsdeck_store::StoredProfile]) -> Vec<String> {
    page.iter().map(|s| format!("{}:{}", s.profile.name, s.profile.version)).collect()
}

fn new_user(username: &str, email: Option<&str>) -> NewUser {
    NewUser {
        username: username.into(),
        realm: "provider/default-idp-2".into(),
        email: email.map(Into::into),
        password_hash: format!("$argon2id$hash-of-{username}"),
    }
}

fn orders_names_byte_by_byte_whatever_the_locale(db: &TestDb) {
    let store = db.open();
    for name in ["gamma", "Beta", "alpha"] {
        store.create_org(name, name, "provider").unwrap();
    }
    let orgs: Vec<String> = store.list_orgs().unwrap().into_iter().map(|o| o.name).collect();
    assert_eq!(orgs, ["Beta", "alpha", "gamma"]);

    let org = store.org("alpha").unwrap();
    for (n, v) in [("ab", "B1"), ("ab", "1.0.0-beta"), ("b", "1.0.0"), ("ab", "1.0.0-RC")] {
        store.create_client_profile(org.id, &profile(n, v), ProfileRefs::default()).unwrap();
    }
    store.create_client_profile(org.id, &profile("a-c", "1.0.0"), ProfileRefs::default()).unwrap();
    let (_, page) = store.list_client_profiles(org.id, None, Page::default()).unwrap();
    assert_eq!(
        keys(&page),
        ["a-c:1.0.0", "ab:1.0.0-RC", "ab:1.0.0-beta", "ab:B1", "b:1.0.0"],
        "ordered as bytes, as SQLite orders them"
    );

    for name in ["b", "B", "a"] {
        store.create_keystore(org.id, &keystore(name)).unwrap();
    }
    let (_, stores) = store.list_keystores(org.id, Page::default()).unwrap();
    let names: Vec<&str> = stores.iter().map(|k| k.labels.name.as_str()).collect();
    assert_eq!(names, ["B", "a", "b"]);

    for name in ["alice", "Zed", "Bob"] {
        store.create_user(&new_user(name, None)).unwrap();
    }
    let users: Vec<String> = store.list_users().unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(users, ["Bob", "Zed", "alice"]);
}

fn lists_every_user_of_a_store_in_order(db: &TestDb) {
    let store = db.open();
    let org = store.create_org("admin", "Admin", "admin").unwrap();
    let ks = store.create_keystore(org.id, &keystore("shared")).unwrap();
    let refs = ProfileRefs { keystore: Some(ks.id), truststore: None };
    for (n, v) in [("ab", "1.0.0-beta"), ("ab", "1.0.0"), ("a-c", "1.0.0"), ("ab", "1.0.0-RC")] {
        store.create_client_profile(org.id, &profile(n, v), refs).unwrap();
    }
    let server = tlsdeck_model::ServerProfile::from_json(&json!({
        "title": "Listener", "keystore": "shared", "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }))
    .unwrap();
    store.create_server_profile(org.id, &server, refs).unwrap();

    let expected = [
        "tls-client-profile a-c:1.0.0",
        "tls-client-profile ab:1.0.0",
        "tls-client-profile ab:1.0.0-RC",
        "tls-client-profile ab:1.0.0-beta",
        "tls-server-profile listener:1.0.0",
    ];
    let err = store.delete_keystore(org.id, ks.id, Some(1)).unwrap_err();
    assert!(matches!(&err, StoreError::InUse { users } if users == &expected), "{err}");
    let err = store.clear_keystores(org.id).unwrap_err();
    assert!(matches!(&err, StoreError::InUse { users } if users == &expected), "{err}");
    assert!(matches!(
        store.delete_keystore(org.id, ks.id, Some(7)),
        Err(StoreError::Stale { current: 1 })
    ));
    assert!(matches!(
        store.delete_keystore(org.id, uuid::Uuid::new_v4(), None),
        Err(StoreError::NotFound)
    ));
}

fn manages_users_memberships_and_custom_roles(db: &TestDb) {
    let store = db.open();
    let org = store.create_org("p1", "P1", "provider").unwrap();
    let alice = store.create_user(&new_user("alice", Some("alice@example.com"))).unwrap();
    let bob = store.create_user(&new_user("bob", None)).unwrap();
    assert!(matches!(
        store.create_user(&new_user("alice", None)),
        Err(StoreError::Conflict(m)) if m.contains("alice")
    ));
    assert_eq!(store.user("provider/default-idp-2", "alice").unwrap(), alice);
    assert_eq!(store.user_by_id(bob.id).unwrap(), bob);
    assert!(!alice.disabled);

    store.add_member(org.id, alice.id, "member").unwrap();
    store.add_member(org.id, alice.id, "member").unwrap();
    store.add_member(org.id, alice.id, "administrator").unwrap();
    store.add_member(org.id, bob.id, "viewer").unwrap();
    assert_eq!(store.roles(org.id, alice.id).unwrap(), ["administrator", "member"]);
    assert!(store.roles(org.id, uuid::Uuid::new_v4()).unwrap().is_empty());
    let members = store.members(org.id).unwrap();
    let listed: Vec<(&str, Vec<String>)> =
        members.iter().map(|(u, r)| (u.username.as_str(), r.clone())).collect();
    assert_eq!(
        listed,
        [("alice", vec!["administrator".into(), "member".into()]), ("bob", vec!["viewer".into()])]
    );

    let auditor = CustomRole {
        name: "auditor".into(),
        title: "Auditor".into(),
        permissions: vec!["settings:view".into(), "settings:manage".into()],
    };
    store.create_custom_role(org.id, &auditor).unwrap();
    assert!(matches!(store.create_custom_role(org.id, &auditor), Err(StoreError::Conflict(_))));
    assert_eq!(store.custom_roles(org.id).unwrap(), [auditor]);
    store.set_roles(org.id, bob.id, &["viewer".into(), "auditor".into()]).unwrap();
    assert_eq!(store.roles(org.id, bob.id).unwrap(), ["auditor", "viewer"]);
    store.delete_custom_role(org.id, "auditor").unwrap();
    assert_eq!(store.roles(org.id, bob.id).unwrap(), ["viewer"], "its memberships went with it");
    assert!(matches!(store.delete_custom_role(org.id, "auditor"), Err(StoreError::NotFound)));
    store.set_roles(org.id, bob.id, &[]).unwrap();
    assert_eq!(store.members(org.id).unwrap().len(), 1);

    store.insert_token("alice-token", alice.id, Utc::now() + Duration::hours(1)).unwrap();
    assert_eq!(store.token_user("alice-token", Utc::now()).unwrap().id, alice.id);
    let change = UserChange { disabled: Some(true), ..UserChange::default() };
    assert!(store.update_user(alice.id, &change).unwrap().disabled);
    assert!(
        matches!(store.token_user("alice-token", Utc::now()), Err(StoreError::NotFound)),
        "disabling ends the user's tokens"
    );
    let change = UserChange { email: Some(None), disabled: Some(false), ..UserChange::default() };
    let alice = store.update_user(alice.id, &change).unwrap();
    assert_eq!((alice.email, alice.disabled), (None, false));
    let change = UserChange { password_hash: Some("$argon2id$new".into()), ..Default::default() };
    assert_eq!(store.update_user(alice.id, &change).unwrap().password_hash, "$argon2id$new");
    assert!(matches!(store.update_user(uuid::Uuid::new_v4(), &change), Err(StoreError::NotFound)));

    store.delete_user(bob.id).unwrap();
    assert!(matches!(store.delete_user(bob.id), Err(StoreError::NotFound)));
    let names: Vec<String> = store.list_users().unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["alice"]);
}

fn event(org: Option<&str>, resource: &str) -> Event {
    Event {
        id: uuid::Uuid::nil(),
        org: org.map(Into::into),
        at: Utc::now(),
        actor: "admin (admin/default-idp-1)".into(),
        action: "create".into(),
        resource: resource.into(),
        outcome: "success".into(),
        detail: org.map(|o| format!("in {o}")),
    }
}

fn lists_events_newest_first_with_filters(db: &TestDb) {
    let store = db.open();
    let written = [
        (Some("p1"), "keystore a"),
        (None, "login"),
        (Some("p1"), "tls-client-profile b:1.0.0"),
        (Some("p2"), "keystore c"),
        (Some("p1"), "truststore d"),
    ];
    for (org, resource) in written {
        store.record_event(&event(org, resource)).unwrap();
        // Times are kept to the millisecond: keep them apart for the time filters.
        std::thread::sleep(std::time::Duration::from_millis(3));
    }
    let resources = |org: &str, f: &EventFilter, page: Page| {
        let (total, items) = store.list_events(org, f, page).unwrap();
        (total, items.into_iter().map(|e| e.resource).collect::<Vec<_>>())
    };
    let all = EventFilter::default();
    assert_eq!(
        resources("p1", &all, Page::default()),
        (3, vec!["truststore d".into(), "tls-client-profile b:1.0.0".into(), "keystore a".into()])
    );
    assert_eq!(resources("admin", &all, Page::default()), (1, vec!["login".into()]));
    let stores = EventFilter { resource: Some("store".into()), ..EventFilter::default() };
    assert_eq!(
        resources("p1", &stores, Page::default()),
        (2, vec!["truststore d".into(), "keystore a".into()])
    );
    assert_eq!(
        resources("p1", &all, Page { limit: 1, offset: 1 }),
        (3, vec!["tls-client-profile b:1.0.0".into()])
    );

    let (_, p1) = store.list_events("p1", &all, Page::default()).unwrap();
    assert_eq!(p1[2].detail.as_deref(), Some("in p1"));
    let middle = EventFilter { since: Some(p1[1].at), until: Some(p1[0].at), ..all.clone() };
    assert_eq!(
        resources("p1", &middle, Page::default()),
        (1, vec!["tls-client-profile b:1.0.0".into()])
    );
}

fn deletes_an_org_with_everything_in_it(db: &TestDb) {
    let store = db.open();
    let org = store.create_org("p1", "P1", "provider").unwrap();
    let other = store.create_org("p2", "P2", "provider").unwrap();
    let user = store.create_user(&new_user("alice", None)).unwrap();
    store.add_member(org.id, user.id, "member").unwrap();
    let ks = store.create_keystore(org.id, &keystore("client")).unwrap();
    let ts = store.create_truststore(org.id, &labels("ca"), &[entry(1)]).unwrap();
    let refs = ProfileRefs { keystore: Some(ks.id), truststore: Some(ts.id) };
    store.create_client_profile(org.id, &profile("a", "1.0.0"), refs).unwrap();
    store.create_client_profile(other.id, &profile("a", "1.0.0"), ProfileRefs::default()).unwrap();
    store.record_event(&event(Some("p1"), "keystore client")).unwrap();

    store.delete_org(org.id).unwrap();
    assert!(matches!(store.org("p1"), Err(StoreError::NotFound)));
    assert!(matches!(store.delete_org(org.id), Err(StoreError::NotFound)));
    assert!(store.truststore_entries(ts.id).unwrap().is_empty());
    assert_eq!(store.list_events("p1", &EventFilter::default(), Page::default()).unwrap().0, 0);
    assert_eq!(store.user_by_id(user.id).unwrap().id, user.id, "users stay");
    assert_eq!(store.list_client_profiles(other.id, None, Page::default()).unwrap().0, 1);

    let again = store.create_org("p1", "P1", "provider").unwrap();
    assert!(store.roles(again.id, user.id).unwrap().is_empty());
    assert_eq!(store.list_keystores(again.id, Page::default()).unwrap().0, 0);
}

#[test]
fn opens_the_backend_a_url_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("by-url.db");
    for url in [format!("sqlite:{}", path.display()), format!("sqlite://{}", path.display())] {
        let store = tlsdeck_store::open_url(&url).unwrap();
        assert!(format!("{store:?}").contains("SqliteStore"));
    }
    let plain = tlsdeck_store::open_url(path.to_str().unwrap()).unwrap();
    assert_eq!(plain.list_orgs().unwrap().len(), 0);
    tlsdeck_store::open_url("sqlite::memory:").unwrap().create_org("a", "A", "admin").unwrap();

    let err = tlsdeck_store::open_url("mysql://root@127.0.0.1/db").unwrap_err();
    assert!(err.to_string().contains("unsupported store URL scheme mysql"), "{err}");
    assert!(tlsdeck_store::open_url("sqlite:").is_err());
}

#[test]
fn names_what_is_wrong_with_a_postgres_url_without_its_password() {
    // Nothing listens on port 1 of the loopback address: the connection is refused at once.
    let err = tlsdeck_store::open_url("postgres://tlsdeck:s3cret@127.0.0.1:1/tlsdeck").unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("cannot connect to postgres://tlsdeck:***@127.0.0.1:1/tlsdeck"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");

    let err = tlsdeck_store::open_url("postgresql://tlsdeck:s3cret@127.0.0.1:port/x").unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("invalid PostgreSQL URL") && text.contains("port"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

/// The server opens its store inside its async main and drops it there at shutdown.
#[test]
fn opens_and_drops_a_store_on_an_async_runtime_thread() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(db) = TestDb::new(backend) else { continue };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let store = tlsdeck_store::open_url(&db.url).unwrap();
            let org = tokio::task::spawn_blocking({
                let store = std::sync::Arc::clone(&store);
                move || store.create_org("admin", "Admin", "admin")
            })
            .await
            .unwrap()
            .unwrap();
            assert_eq!(org.name, "admin");
            drop(store);
        });
    }
}
