//! The SQLite store, each test on a fresh database file.

use chrono::{Duration, Utc};
use serde_json::json;
use tlsdeck_model::ClientProfile;
use tlsdeck_store::{
    Labels, NewEntry, NewKeystore, NewUser, Page, ProfileRefs, SqliteStore, Store, StoreError,
};

fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("tlsdeck.db")).unwrap();
    (dir, store)
}

fn profile(name: &str, version: &str) -> ClientProfile {
    ClientProfile::from_json(&json!({
        "title": format!("Profile {name}"),
        "name": name,
        "version": version,
        "ciphers": ["ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
    }))
    .unwrap()
}

#[test]
fn creates_reads_and_refuses_a_duplicate_name_and_version() {
    let (_dir, store) = fresh();
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

#[test]
fn keeps_orgs_apart() {
    let (_dir, store) = fresh();
    let a = store.create_org("admin", "Admin", "admin").unwrap();
    let b = store.create_org("p1", "P1", "provider").unwrap();
    let created =
        store.create_client_profile(a.id, &profile("a", "1.0.0"), ProfileRefs::default()).unwrap();
    assert!(matches!(store.client_profile_by_id(b.id, created.id), Err(StoreError::NotFound)));
    assert_eq!(store.list_client_profiles(b.id, None, Page::default()).unwrap().0, 0);
    assert!(matches!(store.create_org("p1", "again", "provider"), Err(StoreError::Conflict(_))));
}

#[test]
fn lists_in_pages_ordered_by_name_and_version() {
    let (_dir, store) = fresh();
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

#[test]
fn updates_only_the_expected_revision() {
    let (_dir, store) = fresh();
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

#[test]
fn refuses_a_rename_onto_an_existing_profile() {
    let (_dir, store) = fresh();
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

#[test]
fn clears_an_org() {
    let (_dir, store) = fresh();
    let org = store.create_org("admin", "Admin", "admin").unwrap();
    store.create_client_profile(org.id, &profile("a", "1.0.0"), ProfileRefs::default()).unwrap();
    store.create_client_profile(org.id, &profile("b", "1.0.0"), ProfileRefs::default()).unwrap();
    assert_eq!(store.clear_client_profiles(org.id).unwrap(), 2);
    assert_eq!(store.list_client_profiles(org.id, None, Page::default()).unwrap().0, 0);
}

#[test]
fn tokens_expire_and_can_be_ended() {
    let (_dir, store) = fresh();
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

#[test]
fn keeps_data_across_reopening_and_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tlsdeck.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        let org = store.create_org("admin", "Admin", "admin").unwrap();
        store
            .create_client_profile(org.id, &profile("a", "1.0.0"), ProfileRefs::default())
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let org = store.org("admin").unwrap();
    assert_eq!(store.client_profile(org.id, "a", "1.0.0").unwrap().revision, 1);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the database holds hashes: owner only");
}

#[test]
fn two_stores_opening_one_file_at_once_both_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tlsdeck.db");
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || SqliteStore::open(&path).map(|_| ()))
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
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

#[test]
fn keeps_keystores_with_their_chain_and_sealed_key() {
    let (_dir, store) = fresh();
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

#[test]
fn links_profiles_to_stores_and_refuses_deleting_a_used_store() {
    let (_dir, store) = fresh();
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

#[test]
fn stores_truststore_entries_once_each() {
    let (_dir, store) = fresh();
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

#[test]
fn records_a_one_off_fact_once() {
    let (_dir, store) = fresh();
    assert!(store.set_meta_once("defaults", "created").unwrap());
    assert!(!store.set_meta_once("defaults", "created").unwrap());
}

#[test]
fn keeps_server_profiles_apart_and_counts_them_as_store_users() {
    let (_dir, store) = fresh();
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
