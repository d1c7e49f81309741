//! One story of every storage and service behaviour, run against SQLite and PostgreSQL alike.

use engine::domain::{
    AccountRole, DatasourceQuery, DatasourceRole, InvitationStatus, SyncAction, SyncStatus,
    SyncType,
};
use engine::model::{Access, TokenKind};
use engine::service::ChildrenQuery;
use engine::service::sample_resource;
use engine::status::Actor;
use engine::store::StatusChange;
use engine::testing::TestDb;
use engine::{Engine, EngineError};
use serde_json::json;

use crate::common::on_both;

on_both!(
    users_and_tokens,
    first_admin_only_once,
    datasource_crud,
    folder_rules,
    bad_input_changes_nothing,
    children_keyset_paging,
    status_compare_and_set,
    owners_only,
    account_administration,
    login_throttling,
    writes_from_another_process_are_counted,
    access_read_on_a_cold_cache,
    sharing_roles_and_last_owner,
    invitations_lifecycle,
    invitation_waits_for_an_account,
    personal_tokens_and_password_change,
    listing_filters_sorts_and_counts,
    bulk_actions_report_each_item,
);

async fn run<F, Fut>(backend: &str, f: F)
where
    F: FnOnce(Engine, TestDb) -> Fut,
    Fut: std::future::Future<Output = TestDb>,
{
    let db = TestDb::new(backend).await.expect("test database");
    let engine = db.engine().await.expect("engine");
    let db = f(engine, db).await;
    db.cleanup().await.expect("cleanup");
}

async fn user(e: &Engine, email: &str) -> engine::model::User {
    e.create_user(email, "", "password123", AccountRole::Member)
        .await
        .expect("user")
}

/// An account admin: only they may collect folders on the server's disks.
async fn admin(e: &Engine, email: &str) -> engine::model::User {
    e.create_user(email, "", "password123", AccountRole::Admin)
        .await
        .expect("admin")
}

async fn users_and_tokens(e: Engine, db: TestDb) -> TestDb {
    let u = e
        .create_user("Ann@Example.com", "Ann", "password123", AccountRole::Member)
        .await
        .unwrap();
    assert_eq!(u.email, "ann@example.com");
    let dup = e
        .create_user("ann@example.com", "", "password123", AccountRole::Member)
        .await
        .unwrap_err();
    assert_eq!(dup.status_code(), 409);
    assert_eq!(
        e.create_user("b@x.io", "", "short", AccountRole::Member)
            .await
            .unwrap_err()
            .field(),
        Some("password")
    );

    assert_eq!(
        e.login("ann@example.com", "wrong-password", TokenKind::Api)
            .await
            .unwrap_err()
            .status_code(),
        401
    );
    assert_eq!(
        e.login("nobody@example.com", "password123", TokenKind::Api)
            .await
            .unwrap_err()
            .status_code(),
        401
    );
    let t = e
        .login("ANN@example.com", "password123", TokenKind::Api)
        .await
        .unwrap();
    assert_eq!(e.authenticate(&t.token).await.unwrap().id, u.id);
    assert_eq!(
        e.authenticate("forged").await.unwrap_err().status_code(),
        401
    );
    e.logout(&t.token).await.unwrap();
    assert_eq!(
        e.authenticate(&t.token).await.unwrap_err().status_code(),
        401
    );
    db
}

async fn first_admin_only_once(e: Engine, db: TestDb) -> TestDb {
    let first = e
        .ensure_first_admin(None, None)
        .await
        .unwrap()
        .expect("created");
    let pw = first.generated_password.expect("generated");
    assert!(pw.len() >= 16);
    let t = e
        .login(&first.email, &pw, TokenKind::Session)
        .await
        .unwrap();
    assert_eq!(t.user.role, AccountRole::Admin);
    assert!(
        e.ensure_first_admin(Some("other@x.io"), Some("password123"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(e.store().count_users().await.unwrap(), 1);
    db
}

async fn datasource_crud(e: Engine, db: TestDb) -> TestDb {
    let u = user(&e, "owner@example.com").await;
    let ds = e
        .create_datasource(&u, &json!({"@type": "S3Datasource", "title": " Bucket ", "bucket": "my-bucket", "region": "eu-west-1"}))
        .await
        .unwrap();
    assert_eq!(ds.title, "Bucket");
    assert_eq!(ds.type_sync, SyncType::Auto, "cloud kinds default to auto");
    assert_eq!(
        ds.sync_status,
        SyncStatus::Pending,
        "a fully configured S3 datasource is queued at once"
    );
    assert_eq!(e.get_datasource(&u, &ds.id).await.unwrap().datasource, ds);

    let edited = e
        .update_datasource(
            &u,
            &ds.id,
            &json!({"title": "Renamed", "type_sync": "arch", "prefix": "a/"}),
        )
        .await
        .unwrap()
        .datasource;
    assert_eq!(edited.title, "Renamed");
    assert_eq!(edited.type_sync, SyncType::Arch);
    assert_eq!(edited.settings["prefix"], "a/");
    assert_eq!(edited.settings["bucket"], "my-bucket");
    let stored = e.get_datasource(&u, &ds.id).await.unwrap().datasource;
    assert_eq!(stored.title, "Renamed");
    assert_eq!(stored.settings["prefix"], "a/");

    for i in 0..3 {
        e.create_datasource(
            &u,
            &json!({"@type": "S3Datasource", "title": format!("n{i}"), "bucket": "abc"}),
        )
        .await
        .unwrap();
    }
    let p1 = e
        .list_datasources(&u, &Default::default(), Some(3), None)
        .await
        .unwrap();
    assert_eq!((p1.items.len(), p1.total), (3, 4));
    let p2 = e
        .list_datasources(&u, &Default::default(), Some(3), p1.cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(p2.items.len(), 1);
    assert!(p2.cursor.is_none());

    e.delete_datasource(&u, &ds.id).await.unwrap();
    assert_eq!(
        e.get_datasource(&u, &ds.id)
            .await
            .unwrap_err()
            .status_code(),
        404
    );
    assert_eq!(
        e.delete_datasource(&u, &ds.id)
            .await
            .unwrap_err()
            .status_code(),
        404
    );
    db
}

async fn folder_rules(e: Engine, db: TestDb) -> TestDb {
    let u = admin(&e, "f@example.com").await;
    let member = user(&e, "member-f@example.com").await;
    let root = db.folder_root();
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::write(root.join("file.txt"), "x").unwrap();
    let outside = db.dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();

    let ok = e
        .create_datasource(
            &u,
            &json!({"@type": "FolderDatasource", "title": "Docs", "path": root.join("docs")}),
        )
        .await
        .unwrap();
    assert_eq!(ok.type_sync, SyncType::One);

    for t in ["auto", "arch"] {
        let err = e
            .create_datasource(&u, &json!({"@type": "FolderDatasource", "title": "D", "path": root.join("docs"), "type_sync": t}))
            .await
            .unwrap_err();
        assert_eq!(
            (err.status_code(), err.field()),
            (422, Some("type_sync")),
            "{err}"
        );
    }
    let err = e
        .update_datasource(&u, &ok.id, &json!({"type_sync": "auto"}))
        .await
        .unwrap_err();
    assert_eq!(err.field(), Some("type_sync"));

    // A member may not collect the server's folders, nor point one elsewhere.
    let err = e
        .create_datasource(
            &member,
            &json!({"@type": "FolderDatasource", "title": "Mine", "path": root.join("docs")}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status_code(), 403, "{err}");
    e.invite(
        &u,
        &ok.id,
        &json!({"email": "member-f@example.com", "role": "editor"}),
    )
    .await
    .unwrap();
    let inv = e.my_invitations(&member).await.unwrap();
    e.accept_invitation(&member, &inv[0].invitation.id)
        .await
        .unwrap();
    let err = e
        .update_datasource(&member, &ok.id, &json!({"path": root}))
        .await
        .unwrap_err();
    assert_eq!(err.status_code(), 403, "{err}");
    e.update_datasource(&member, &ok.id, &json!({"title": "Docs, renamed"}))
        .await
        .expect("an editor still renames it");

    // One answer for missing, not a directory and outside the roots: paths cannot be probed.
    let said = |p: &str| {
        let (e, u) = (e.clone(), u.clone());
        let p = p.to_owned();
        async move {
            e.create_datasource(
                &u,
                &json!({"@type": "FolderDatasource", "title": "D", "path": p}),
            )
            .await
            .unwrap_err()
            .to_string()
            .replace(&p, "<path>")
        }
    };
    let missing = said(&root.join("missing").display().to_string()).await;
    assert_eq!(
        said(&root.join("file.txt").display().to_string()).await,
        missing
    );
    assert_eq!(said(&outside.display().to_string()).await, missing);
    assert_eq!(said("/etc").await, missing);

    let bad_paths = [
        root.join("missing").display().to_string(),
        root.join("file.txt").display().to_string(),
        outside.display().to_string(),
        format!("{}/docs/../../outside", root.display()),
        root.join("escape").display().to_string(),
        "relative/path".into(),
    ];
    for p in bad_paths {
        let err = e
            .create_datasource(
                &u,
                &json!({"@type": "FolderDatasource", "title": "D", "path": p}),
            )
            .await
            .unwrap_err();
        assert_eq!(
            (err.status_code(), err.field()),
            (422, Some("path")),
            "{p}: {err}"
        );
    }
    assert_eq!(
        e.list_datasources(&u, &Default::default(), None, None)
            .await
            .unwrap()
            .total,
        1
    );
    db
}

async fn bad_input_changes_nothing(e: Engine, db: TestDb) -> TestDb {
    let u = user(&e, "b@example.com").await;
    let cases = [
        (json!([1, 2]), 400, None),
        (json!({"title": "x"}), 422, Some("@type")),
        (
            json!({"@type": "FtpDatasource", "title": "x"}),
            422,
            Some("@type"),
        ),
        (
            json!({"@type": "S3Datasource", "bucket": "abc"}),
            422,
            Some("title"),
        ),
        (
            json!({"@type": "S3Datasource", "title": 5, "bucket": "abc"}),
            422,
            Some("title"),
        ),
        (
            json!({"@type": "S3Datasource", "title": "x"}),
            422,
            Some("bucket"),
        ),
        (
            json!({"@type": "S3Datasource", "title": "x", "bucket": "Bad_Bucket"}),
            422,
            Some("bucket"),
        ),
        (
            json!({"@type": "S3Datasource", "title": "x", "bucket": "abc", "endpoint": "ftp://x"}),
            422,
            Some("endpoint"),
        ),
        (
            json!({"@type": "S3Datasource", "title": "x", "bucket": "abc", "type_sync": "hourly"}),
            422,
            Some("type_sync"),
        ),
        (
            json!({"@type": "S3Datasource", "title": "x", "bucket": "abc", "colour": "red"}),
            422,
            Some("colour"),
        ),
    ];
    for (body, status, field) in cases {
        let err = e.create_datasource(&u, &body).await.unwrap_err();
        assert_eq!(
            (err.status_code(), err.field()),
            (status, field),
            "{body}: {err}"
        );
    }
    let ds = e
        .create_datasource(
            &u,
            &json!({"@type": "S3Datasource", "title": "keep", "bucket": "abc"}),
        )
        .await
        .unwrap();
    for patch in [
        json!({"title": ""}),
        json!({"bucket": "X"}),
        json!({"@type": "FolderDatasource"}),
        json!({"sync_status": "synced"}),
        json!({"title": null}),
    ] {
        assert!(
            e.update_datasource(&u, &ds.id, &patch).await.is_err(),
            "{patch}"
        );
    }
    assert_eq!(
        e.get_datasource(&u, &ds.id).await.unwrap().datasource,
        ds,
        "refused edits changed nothing"
    );
    assert_eq!(
        e.list_datasources(&u, &Default::default(), None, None)
            .await
            .unwrap()
            .total,
        1
    );
    db
}

async fn children_keyset_paging(e: Engine, db: TestDb) -> TestDb {
    let u = user(&e, "c@example.com").await;
    let ds = e
        .create_datasource(
            &u,
            &json!({"@type": "S3Datasource", "title": "c", "bucket": "abc"}),
        )
        .await
        .unwrap();
    let other = e
        .create_datasource(
            &u,
            &json!({"@type": "S3Datasource", "title": "o", "bucket": "abc"}),
        )
        .await
        .unwrap();
    let resources: Vec<_> = (0..45).map(|i| sample_resource(&ds.id, i)).collect();
    e.add_resources(&ds.id, &resources).await.unwrap();

    // The seed's loop, as a client writes it.
    let mut seen = Vec::new();
    let mut q = ChildrenQuery {
        page_size: Some(7),
        scroll: None,
    };
    loop {
        let page = e.children(&u, &ds.id, &q).await.unwrap();
        assert_eq!(page.total, 45);
        assert!(page.items.len() <= 7);
        seen.extend(page.items.into_iter().map(|r| r.source_id));
        match page.cursor {
            Some(c) => q.scroll = Some(c),
            None => break,
        }
    }
    let expected: Vec<_> = resources.iter().map(|r| r.source_id.clone()).collect();
    assert_eq!(seen, expected, "every child once, in order");

    let first = e
        .children(
            &u,
            &ds.id,
            &ChildrenQuery {
                page_size: Some(5),
                scroll: None,
            },
        )
        .await
        .unwrap();
    let foreign = ChildrenQuery {
        page_size: Some(5),
        scroll: first.cursor.clone(),
    };
    assert_eq!(
        e.children(&u, &other.id, &foreign)
            .await
            .unwrap_err()
            .status_code(),
        400
    );
    let tampered = ChildrenQuery {
        page_size: Some(5),
        scroll: Some("not-a-cursor".into()),
    };
    assert_eq!(
        e.children(&u, &ds.id, &tampered)
            .await
            .unwrap_err()
            .status_code(),
        400
    );
    let too_big = ChildrenQuery {
        page_size: Some(1001),
        scroll: None,
    };
    assert_eq!(
        e.children(&u, &ds.id, &too_big).await.unwrap_err().field(),
        Some("page_size")
    );
    let empty = e
        .children(&u, &other.id, &ChildrenQuery::default())
        .await
        .unwrap();
    assert_eq!((empty.items.len(), empty.total, empty.cursor), (0, 0, None));
    let stored = e.get_datasource(&u, &ds.id).await.unwrap().datasource;
    assert_eq!(stored.resource_count, 45);
    assert_eq!(
        stored.byte_count,
        resources.iter().map(|r| r.size).sum::<i64>()
    );
    // Deleting a datasource deletes its children with it.
    e.delete_datasource(&u, &ds.id).await.unwrap();
    assert!(
        e.store()
            .list_children(&ds.id, 0, 10)
            .await
            .unwrap()
            .rows
            .is_empty()
    );
    db
}

async fn status_compare_and_set(e: Engine, db: TestDb) -> TestDb {
    let u = user(&e, "s@example.com").await;
    let ds = e
        .create_datasource(
            &u,
            // Without credentials a Dropbox stays `created`, for this state-machine test.
            &json!({"@type": "DropboxDatasource", "title": "s"}),
        )
        .await
        .unwrap();
    let change = |from, to| StatusChange {
        from,
        to,
        reason: None,
        at: chrono::Utc::now(),
    };
    engine::status::check_transition(SyncStatus::Created, SyncStatus::Pending, Actor::System)
        .unwrap();
    assert!(
        e.store()
            .change_status(&ds.id, &change(SyncStatus::Created, SyncStatus::Pending))
            .await
            .unwrap()
    );
    assert!(
        !e.store()
            .change_status(&ds.id, &change(SyncStatus::Created, SyncStatus::Pending))
            .await
            .unwrap(),
        "lost race"
    );
    assert!(
        e.store()
            .change_status(&ds.id, &change(SyncStatus::Pending, SyncStatus::Syncing))
            .await
            .unwrap()
    );
    let got = e.get_datasource(&u, &ds.id).await.unwrap().datasource;
    assert_eq!(got.sync_status, SyncStatus::Syncing);
    assert!(got.last_sync_started_at.is_some());
    db
}

fn is_404<T>(r: Result<T, EngineError>) -> bool {
    r.err().is_some_and(|e| e.status_code() == 404)
}

async fn owners_only(e: Engine, db: TestDb) -> TestDb {
    let a = user(&e, "a@example.com").await;
    let b = user(&e, "b@example.com").await;
    let ds = e
        .create_datasource(
            &a,
            &json!({"@type": "S3Datasource", "title": "mine", "bucket": "abc"}),
        )
        .await
        .unwrap();
    assert!(is_404(e.get_datasource(&b, &ds.id).await));
    assert!(is_404(
        e.update_datasource(&b, &ds.id, &json!({"title": "x"}))
            .await
    ));
    assert!(is_404(e.delete_datasource(&b, &ds.id).await));
    assert!(is_404(
        e.children(&b, &ds.id, &ChildrenQuery::default()).await
    ));
    assert_eq!(
        e.list_datasources(&b, &Default::default(), None, None)
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        e.get_datasource(&a, &ds.id).await.unwrap().datasource.title,
        "mine"
    );
    db
}

async fn account_administration(e: Engine, db: TestDb) -> TestDb {
    let admin = e
        .create_user(
            "root@example.com",
            "Root",
            "password123",
            AccountRole::Admin,
        )
        .await
        .unwrap();
    let member = user(&e, "m@example.com").await;
    let forbidden = e
        .admin_create_user(
            &member,
            &json!({"email": "x@example.com", "password": "password123"}),
        )
        .await
        .unwrap_err();
    assert_eq!(forbidden.status_code(), 403);
    assert_eq!(e.list_users(&member).await.unwrap_err().status_code(), 403);

    let bob = e
        .admin_create_user(
            &admin,
            &json!({"email": "Bob@Example.com", "password": "password123", "role": "admin"}),
        )
        .await
        .unwrap();
    assert_eq!(
        (bob.email.as_str(), bob.role),
        ("bob@example.com", AccountRole::Admin)
    );
    for (body, field) in [
        (json!({"password": "password123"}), "email"),
        (json!({"email": "c@x.io", "password": "short"}), "password"),
        (
            json!({"email": "c@x.io", "password": "password123", "role": "owner"}),
            "role",
        ),
        (
            json!({"email": "c@x.io", "password": "password123", "colour": 1}),
            "colour",
        ),
    ] {
        assert_eq!(
            e.admin_create_user(&admin, &body)
                .await
                .unwrap_err()
                .field(),
            Some(field),
            "{body}"
        );
    }
    assert_eq!(e.list_users(&admin).await.unwrap().len(), 3);

    // Deactivating ends the user's sessions and refuses new logins.
    let t = e
        .login("m@example.com", "password123", TokenKind::Api)
        .await
        .unwrap();
    let off = e
        .update_user(&admin, &member.id, &json!({"active": false}))
        .await
        .unwrap();
    assert!(!off.active);
    assert_eq!(
        e.authenticate(&t.token).await.unwrap_err().status_code(),
        401
    );
    assert_eq!(
        e.login("m@example.com", "password123", TokenKind::Api)
            .await
            .unwrap_err()
            .status_code(),
        401
    );

    // The last active admin can be neither demoted nor deactivated.
    e.update_user(&admin, &bob.id, &json!({"role": "member"}))
        .await
        .unwrap();
    assert_eq!(
        e.update_user(&admin, &admin.id, &json!({"active": false}))
            .await
            .unwrap_err()
            .status_code(),
        409
    );
    assert_eq!(
        e.update_user(&admin, &admin.id, &json!({"role": "member"}))
            .await
            .unwrap_err()
            .status_code(),
        409
    );

    // A password reset ends sessions; the new password works.
    let t = e
        .login("bob@example.com", "password123", TokenKind::Session)
        .await
        .unwrap();
    e.reset_password("bob@example.com", "new-password-1")
        .await
        .unwrap();
    assert!(e.authenticate(&t.token).await.is_err());
    assert!(
        e.login("bob@example.com", "new-password-1", TokenKind::Api)
            .await
            .is_ok()
    );
    db
}

async fn login_throttling(e: Engine, db: TestDb) -> TestDb {
    user(&e, "t@example.com").await;
    for _ in 0..engine::service::throttle::FREE_ATTEMPTS {
        assert_eq!(
            e.login("t@example.com", "wrong-password", TokenKind::Api)
                .await
                .unwrap_err()
                .status_code(),
            401
        );
    }
    // Locked now: even the right password is refused until the lock expires.
    let locked = e
        .login("t@example.com", "password123", TokenKind::Api)
        .await
        .unwrap_err();
    assert_eq!(locked.status_code(), 429, "{locked}");
    assert!(
        e.login("other@example.com", "x-password", TokenKind::Api)
            .await
            .unwrap_err()
            .status_code()
            == 401
    );
    db
}

/// A second engine on the same database stands for another process (the seed command, a second
/// server on PostgreSQL): its writes show in `total` at once, whatever the first one cached.
async fn writes_from_another_process_are_counted(e: Engine, db: TestDb) -> TestDb {
    let u = user(&e, "p@example.com").await;
    let ds = e
        .create_datasource(
            &u,
            &json!({"@type": "S3Datasource", "title": "shared", "bucket": "abc"}),
        )
        .await
        .unwrap();
    assert_eq!(
        e.get_datasource(&u, &ds.id)
            .await
            .unwrap()
            .datasource
            .resource_count,
        0
    ); // now cached
    let other = db.engine().await.unwrap();
    let rs: Vec<_> = (0..3).map(|i| sample_resource(&ds.id, i)).collect();
    other.add_resources(&ds.id, &rs).await.unwrap();
    let page = e
        .children(&u, &ds.id, &ChildrenQuery::default())
        .await
        .unwrap();
    assert_eq!((page.items.len(), page.total), (3, 3));
    // This process's own writes are never stale.
    e.update_datasource(&u, &ds.id, &json!({"title": "renamed"}))
        .await
        .unwrap();
    assert_eq!(
        e.get_datasource(&u, &ds.id).await.unwrap().datasource.title,
        "renamed"
    );
    db
}

/// A server that has not read a datasource yet gets it and the caller's role in one query;
/// every kind of access must come out of that read as it does from the separate ones.
async fn access_read_on_a_cold_cache(e: Engine, db: TestDb) -> TestDb {
    let owner = user(&e, "cold-owner@example.com").await;
    let viewer = user(&e, "cold-viewer@example.com").await;
    let invitee = user(&e, "cold-invitee@example.com").await;
    let stranger = user(&e, "cold-stranger@example.com").await;
    let ds = s3(&e, &owner, "cold").await;
    let inv = e
        .invite(
            &owner,
            &ds.id,
            &json!({"email": viewer.email, "role": "viewer"}),
        )
        .await
        .unwrap();
    e.accept_invitation(&viewer, &inv.id).await.unwrap();
    e.invite(&owner, &ds.id, &json!({"email": invitee.email}))
        .await
        .unwrap();
    for (who, expected) in [
        (&owner, Some(Access::Member(DatasourceRole::Owner))),
        (&viewer, Some(Access::Member(DatasourceRole::Viewer))),
        (&invitee, None),
        (&stranger, None),
    ] {
        // A new engine each time: nothing cached.
        let cold = db.engine().await.unwrap();
        let got = cold.get_datasource(who, &ds.id).await;
        match expected {
            Some(access) => assert_eq!(got.unwrap().access, access, "{}", who.email),
            // An invitee sees that it exists (as invited) and may not browse it yet.
            None if who.id == invitee.id => {
                assert!(matches!(got.unwrap().access, Access::Invited(_)));
                let browse = db.engine().await.unwrap();
                let children = browse
                    .children(who, &ds.id, &ChildrenQuery::default())
                    .await;
                assert_eq!(status(children), 403);
            }
            None => assert_eq!(status(got), 404, "{}", who.email),
        }
        // The warm path agrees.
        assert_eq!(
            status(cold.get_datasource(who, &ds.id).await),
            status(e.get_datasource(who, &ds.id).await)
        );
    }
    let cold = db.engine().await.unwrap();
    assert_eq!(
        status(cold.get_datasource(&owner, "no-such-datasource").await),
        404
    );
    db
}

fn status(r: Result<impl std::fmt::Debug, EngineError>) -> u16 {
    match r {
        Ok(_) => 200,
        Err(e) => e.status_code(),
    }
}

async fn s3(e: &Engine, owner: &engine::model::User, title: &str) -> engine::model::Datasource {
    e.create_datasource(
        owner,
        &json!({"@type": "S3Datasource", "title": title, "bucket": "shared-bucket"}),
    )
    .await
    .unwrap()
}

async fn sharing_roles_and_last_owner(e: Engine, db: TestDb) -> TestDb {
    let owner = user(&e, "owner@example.com").await;
    let bob = user(&e, "bob@example.com").await;
    let ds = s3(&e, &owner, "shared").await;
    let sharing = e.sharing(&owner, &ds.id).await.unwrap();
    assert_eq!(sharing.members.len(), 1);
    assert_eq!(
        sharing.members[0].role,
        DatasourceRole::Owner,
        "the creator is owner"
    );

    // Roles change only for members; newcomers are invited.
    let e404 = e
        .change_sharing(
            &owner,
            &ds.id,
            &json!({"roles": [{"user": "bob@example.com", "role": "editor"}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(e404.field(), Some("roles[0].user"), "{e404}");
    let inv = e
        .invite(
            &owner,
            &ds.id,
            &json!({"email": "bob@example.com", "role": "editor"}),
        )
        .await
        .unwrap();
    e.accept_invitation(&bob, &inv.id).await.unwrap();
    assert_eq!(
        e.get_datasource(&bob, &ds.id).await.unwrap().access,
        Access::Member(DatasourceRole::Editor)
    );
    // An editor configures but cannot share or delete.
    assert_eq!(
        status(
            e.update_datasource(&bob, &ds.id, &json!({"title": "by bob"}))
                .await
        ),
        200
    );
    assert_eq!(
        status(
            e.invite(&bob, &ds.id, &json!({"email": "x@example.com"}))
                .await
        ),
        403
    );
    assert_eq!(status(e.delete_datasource(&bob, &ds.id).await), 403);

    // The last owner cannot leave or be demoted; with a second owner they can.
    let last = e
        .change_sharing(
            &owner,
            &ds.id,
            &json!({"roles": [{"user": owner.id, "role": "viewer"}]}),
        )
        .await
        .unwrap_err();
    assert_eq!(last.status_code(), 409, "{last}");
    assert_eq!(
        e.sharing(&owner, &ds.id).await.unwrap().members[0].role,
        DatasourceRole::Owner,
        "a refused change changed nothing"
    );
    e.change_sharing(
        &owner,
        &ds.id,
        &json!({"roles": [{"user": bob.id, "role": "owner"}, {"user": owner.email, "role": null}]}),
    )
    .await
    .unwrap();
    assert_eq!(
        status(e.get_datasource(&owner, &ds.id).await),
        404,
        "removed: a stranger now"
    );
    assert_eq!(
        status(e.delete_datasource(&bob, &ds.id).await),
        200,
        "bob owns it now"
    );

    // Bad bodies are 4xx and change nothing.
    let ds2 = s3(&e, &owner, "other").await;
    for body in [
        json!([]),
        json!({"roles": []}),
        json!({"roles": [{"user": owner.id, "role": "king"}]}),
        json!({"roles": [{"user": owner.id}]}),
        json!({"roles": [{"user": owner.id, "role": "viewer", "x": 1}]}),
        json!({"nope": 1}),
    ] {
        let code = status(e.change_sharing(&owner, &ds2.id, &body).await);
        assert!((400..500).contains(&code), "{body} → {code}");
    }
    assert_eq!(e.sharing(&owner, &ds2.id).await.unwrap().members.len(), 1);
    db
}

async fn invitations_lifecycle(e: Engine, db: TestDb) -> TestDb {
    let owner = user(&e, "owner@example.com").await;
    let bob = user(&e, "bob@example.com").await;
    let carol = user(&e, "carol@example.com").await;
    let ds = s3(&e, &owner, "for bob").await;
    e.add_resources(&ds.id, &[engine::service::sample_resource(&ds.id, 1)])
        .await
        .unwrap();

    // Refusals: yourself, bad e-mail, bad role, someone else's datasource, twice.
    assert_eq!(
        e.invite(&owner, &ds.id, &json!({"email": "OWNER@example.com"}))
            .await
            .unwrap_err()
            .field(),
        Some("email")
    );
    assert_eq!(
        status(e.invite(&owner, &ds.id, &json!({"email": "nope"})).await),
        422
    );
    assert_eq!(
        status(
            e.invite(&owner, &ds.id, &json!({"email": "b@x.org", "role": "god"}))
                .await
        ),
        422
    );
    assert_eq!(
        status(
            e.invite(&carol, &ds.id, &json!({"email": "bob@example.com"}))
                .await
        ),
        404
    );
    let inv = e
        .invite(&owner, &ds.id, &json!({"email": " Bob@Example.com "}))
        .await
        .unwrap();
    assert_eq!(inv.role, DatasourceRole::Viewer, "viewer by default");
    assert_eq!(inv.email, "bob@example.com");
    assert_eq!(
        status(
            e.invite(&owner, &ds.id, &json!({"email": "bob@example.com"}))
                .await
        ),
        409
    );

    // The invitee sees it, as invited, and nothing inside.
    let list = e
        .list_datasources(&bob, &Default::default(), None, None)
        .await
        .unwrap();
    assert_eq!(list.total, 1);
    assert_eq!(list.items[0].shown_status(), SyncStatus::Invited);
    assert_eq!(
        status(e.children(&bob, &ds.id, &ChildrenQuery::default()).await),
        403
    );
    assert_eq!(status(e.sharing(&bob, &ds.id).await), 403);
    assert_eq!(e.count_my_invitations(&bob).await.unwrap(), 1);
    let mine = e.my_invitations(&bob).await.unwrap();
    assert_eq!(mine[0].datasource_title, "for bob");
    assert_eq!(mine[0].inviter_email, "owner@example.com");
    // Nobody else can accept it, and the owner sees it pending.
    assert_eq!(status(e.accept_invitation(&carol, &inv.id).await), 404);
    assert_eq!(
        e.sharing(&owner, &ds.id).await.unwrap().invitations.len(),
        1
    );

    e.accept_invitation(&bob, &inv.id).await.unwrap();
    assert_eq!(
        e.children(&bob, &ds.id, &ChildrenQuery::default())
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        status(e.accept_invitation(&bob, &inv.id).await),
        409,
        "only once"
    );
    assert_eq!(
        status(e.delete_datasource(&bob, &ds.id).await),
        403,
        "a viewer"
    );
    assert_eq!(e.count_my_invitations(&bob).await.unwrap(), 0);
    assert_eq!(
        status(
            e.invite(&owner, &ds.id, &json!({"email": "bob@example.com"}))
                .await
        ),
        409,
        "already a member"
    );

    // Decline and revoke.
    let to_carol = e
        .invite(
            &owner,
            &ds.id,
            &json!({"email": "carol@example.com", "role": "editor"}),
        )
        .await
        .unwrap();
    e.decline_invitation(&carol, &to_carol.id).await.unwrap();
    assert_eq!(status(e.get_datasource(&carol, &ds.id).await), 404);
    let again = e
        .invite(&owner, &ds.id, &json!({"email": "carol@example.com"}))
        .await
        .expect("a declined invitation can be sent again");
    assert_eq!(
        status(e.revoke_invitation(&bob, &ds.id, &again.id).await),
        403
    );
    e.revoke_invitation(&owner, &ds.id, &again.id)
        .await
        .unwrap();
    assert_eq!(status(e.accept_invitation(&carol, &again.id).await), 409);
    assert_eq!(status(e.get_datasource(&carol, &ds.id).await), 404);
    let stored = db.engine().await.unwrap();
    assert_eq!(
        stored
            .store()
            .invitation(&again.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        InvitationStatus::Revoked
    );
    db
}

async fn invitation_waits_for_an_account(e: Engine, db: TestDb) -> TestDb {
    let admin = e
        .create_user("admin@example.com", "", "password123", AccountRole::Admin)
        .await
        .unwrap();
    let ds = s3(&e, &admin, "early").await;
    let inv = e
        .invite(
            &admin,
            &ds.id,
            &json!({"email": "later@example.com", "role": "editor"}),
        )
        .await
        .unwrap();
    let later = e
        .admin_create_user(
            &admin,
            &json!({"email": "Later@example.com", "password": "password123"}),
        )
        .await
        .unwrap();
    let list = e
        .list_datasources(&later, &Default::default(), None, None)
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(matches!(&list.items[0].access, Access::Invited(i) if i.id == inv.id));
    e.accept_invitation(&later, &inv.id).await.unwrap();
    assert_eq!(
        e.get_datasource(&later, &ds.id).await.unwrap().access,
        Access::Member(DatasourceRole::Editor)
    );
    db
}

async fn personal_tokens_and_password_change(e: Engine, db: TestDb) -> TestDb {
    let u = user(&e, "tok@example.com").await;
    let other = user(&e, "other@example.com").await;
    let made = e.create_personal_token(&u, "backup script").await.unwrap();
    assert!(made.secret.starts_with("trb_"));
    assert_eq!(e.authenticate(&made.secret).await.unwrap().id, u.id);
    assert_eq!(
        status(e.create_personal_token(&u, "backup script").await),
        422
    );
    assert_eq!(status(e.create_personal_token(&u, "  ").await), 422);
    let listed = e.personal_tokens(&u).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "backup script");
    assert!(listed[0].expires_at.is_none(), "long-lived");
    assert!(e.personal_tokens(&other).await.unwrap().is_empty());
    assert_eq!(
        status(e.revoke_personal_token(&other, &made.info.id).await),
        404
    );
    assert!(
        e.authenticate(&made.secret).await.is_ok(),
        "another user's revoke did nothing"
    );

    // Changing the password ends other sessions but keeps this one and personal tokens.
    let here = e
        .login("tok@example.com", "password123", TokenKind::Session)
        .await
        .unwrap();
    let elsewhere = e
        .login("tok@example.com", "password123", TokenKind::Session)
        .await
        .unwrap();
    let wrong = e
        .change_password(&u, Some(&here.token), "not-it-at-all", "newpassword1")
        .await
        .unwrap_err();
    assert_eq!(wrong.field(), Some("current_password"));
    let short = e
        .change_password(&u, Some(&here.token), "password123", "short")
        .await
        .unwrap_err();
    assert_eq!(short.field(), Some("new_password"));
    assert!(
        e.authenticate(&elsewhere.token).await.is_ok(),
        "refused changes change nothing"
    );
    e.change_password(&u, Some(&here.token), "password123", "newpassword1")
        .await
        .unwrap();
    assert!(e.authenticate(&here.token).await.is_ok());
    assert_eq!(status(e.authenticate(&elsewhere.token).await), 401);
    assert!(e.authenticate(&made.secret).await.is_ok());
    assert_eq!(
        status(
            e.login("tok@example.com", "password123", TokenKind::Api)
                .await
        ),
        401
    );
    e.login("tok@example.com", "newpassword1", TokenKind::Api)
        .await
        .unwrap();

    e.revoke_personal_token(&u, &made.info.id).await.unwrap();
    assert_eq!(
        status(e.authenticate(&made.secret).await),
        401,
        "revoked at once"
    );
    assert!(e.personal_tokens(&u).await.unwrap().is_empty());
    db
}

/// Every page of a listing, following the cursors, as titles.
async fn all_titles(e: &Engine, u: &engine::model::User, q: &DatasourceQuery) -> Vec<String> {
    let mut titles = Vec::new();
    let mut scroll: Option<String> = None;
    loop {
        let page = e
            .list_datasources(u, q, Some(2), scroll.as_deref())
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        titles.extend(page.items.into_iter().map(|v| v.datasource.title));
        match page.cursor {
            Some(c) => scroll = Some(c),
            None => break,
        }
    }
    titles
}

async fn listing_filters_sorts_and_counts(e: Engine, db: TestDb) -> TestDb {
    let u = admin(&e, "lister@example.com").await;
    let other = user(&e, "other@example.com").await;
    let mut ids = Vec::new();
    // (title, kind, resources): created in this order.
    for (title, kind, n) in [
        ("beta reports", "S3Datasource", 5),
        ("Alpha_archive", "S3Datasource", 0),
        ("gamma", "FolderDatasource", 9),
        ("Delta 100%", "S3Datasource", 2),
        ("epsilon", "S3Datasource", 5),
    ] {
        let body = if kind == "FolderDatasource" {
            let dir = db.folder_root().join(title);
            std::fs::create_dir_all(&dir).unwrap();
            json!({"@type": kind, "title": title, "type_sync": "one", "path": dir})
        } else {
            json!({"@type": kind, "title": title, "bucket": "abc", "type_sync": "auto"})
        };
        let ds = e.create_datasource(&u, &body).await.unwrap();
        let resources: Vec<_> = (0..n).map(|i| sample_resource(&ds.id, i)).collect();
        e.add_resources(&ds.id, &resources).await.unwrap();
        ids.push(ds.id);
    }
    // Statuses: gamma errors, Delta is paused, the rest stay pending.
    e.transition(&ids[2], SyncStatus::Syncing, Actor::System, None)
        .await
        .unwrap();
    e.transition(
        &ids[2],
        SyncStatus::Error,
        Actor::System,
        Some("boom".into()),
    )
    .await
    .unwrap();
    e.pause(&u, &ids[3]).await.unwrap();
    // Another user's datasource, shared with u by invitation only.
    let theirs = e
        .create_datasource(
            &other,
            &json!({"@type": "S3Datasource", "title": "zeta shared", "bucket": "abc"}),
        )
        .await
        .unwrap();
    e.invite(
        &other,
        &theirs.id,
        &json!({"email": "lister@example.com", "role": "viewer"}),
    )
    .await
    .unwrap();
    // And one u cannot see at all.
    e.create_datasource(
        &other,
        &json!({"@type": "S3Datasource", "title": "hidden beta", "bucket": "abc"}),
    )
    .await
    .unwrap();

    let q = |status: Option<&str>,
             kind: Option<&str>,
             ts: Option<&str>,
             text: Option<&str>,
             sort: Option<&str>| {
        DatasourceQuery::parse(status, kind, ts, text, sort).unwrap()
    };
    let all = q(None, None, None, None, None);
    assert_eq!(
        all_titles(&e, &u, &all).await,
        [
            "beta reports",
            "Alpha_archive",
            "gamma",
            "Delta 100%",
            "epsilon",
            "zeta shared"
        ]
    );
    let newest = q(None, None, None, None, Some("newest"));
    assert_eq!(
        all_titles(&e, &u, &newest).await,
        [
            "zeta shared",
            "epsilon",
            "Delta 100%",
            "gamma",
            "Alpha_archive",
            "beta reports"
        ]
    );
    assert_eq!(
        all_titles(&e, &u, &q(None, None, None, None, Some("title"))).await,
        [
            "Alpha_archive",
            "beta reports",
            "Delta 100%",
            "epsilon",
            "gamma",
            "zeta shared"
        ]
    );
    assert_eq!(
        all_titles(&e, &u, &q(None, None, None, None, Some("-title"))).await,
        [
            "zeta shared",
            "gamma",
            "epsilon",
            "Delta 100%",
            "beta reports",
            "Alpha_archive"
        ]
    );
    // Ties (5 and 5) keep their order of creation, downwards like the key.
    assert_eq!(
        all_titles(&e, &u, &q(None, None, None, None, Some("-resources"))).await,
        [
            "gamma",
            "epsilon",
            "beta reports",
            "Delta 100%",
            "zeta shared",
            "Alpha_archive"
        ]
    );
    assert_eq!(
        all_titles(&e, &u, &q(None, None, None, None, Some("status"))).await,
        [
            "gamma",
            "Delta 100%",
            "beta reports",
            "Alpha_archive",
            "epsilon",
            "zeta shared"
        ]
    );

    // Filters, alone and together; the text is literal (`%`, `_` are not wildcards).
    let only = |p: &engine::model::Page<engine::model::DatasourceView>| -> Vec<String> {
        p.items.iter().map(|v| v.datasource.title.clone()).collect()
    };
    let page = e
        .list_datasources(&u, &q(Some("error"), None, None, None, None), None, None)
        .await
        .unwrap();
    assert_eq!((only(&page), page.total), (vec!["gamma".to_owned()], 1));
    let page = e
        .list_datasources(&u, &q(Some("invited"), None, None, None, None), None, None)
        .await
        .unwrap();
    assert_eq!(only(&page), ["zeta shared"]);
    assert!(matches!(page.items[0].access, Access::Invited(_)));
    let page = e
        .list_datasources(
            &u,
            &q(None, Some("FolderDatasource"), None, None, None),
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(only(&page), ["gamma"]);
    let page = e
        .list_datasources(
            &u,
            &q(None, None, Some("auto"), Some("A"), None),
            None,
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        only(&page),
        ["beta reports", "Alpha_archive", "Delta 100%", "zeta shared"]
    );
    let page = e
        .list_datasources(&u, &q(None, None, None, Some("100%"), None), None, None)
        .await
        .unwrap();
    assert_eq!(only(&page), ["Delta 100%"]);
    let page = e
        .list_datasources(&u, &q(None, None, None, Some("_"), None), None, None)
        .await
        .unwrap();
    assert_eq!(only(&page), ["Alpha_archive"]);
    let page = e
        .list_datasources(&u, &q(None, None, None, Some("BETA"), None), None, None)
        .await
        .unwrap();
    assert_eq!(
        (only(&page), page.total),
        (vec!["beta reports".to_owned()], 1),
        "never another user's"
    );

    // Counts per status, over the other filters.
    let counts = e
        .datasource_status_counts(&u, &q(Some("error"), None, None, None, None))
        .await
        .unwrap();
    let n = |s: SyncStatus| counts.iter().find(|(c, _)| *c == s).unwrap().1;
    assert_eq!(counts.len(), SyncStatus::ALL.len());
    assert_eq!(
        (
            n(SyncStatus::Pending),
            n(SyncStatus::Error),
            n(SyncStatus::Paused),
            n(SyncStatus::Invited),
            n(SyncStatus::Synced)
        ),
        (3, 1, 1, 1, 0)
    );
    let counts = e
        .datasource_status_counts(&u, &q(None, Some("S3Datasource"), None, None, None))
        .await
        .unwrap();
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<i64>(), 5);

    // A cursor only pages the listing it came from; bad parameters name themselves.
    let p1 = e
        .list_datasources(&u, &newest, Some(2), None)
        .await
        .unwrap();
    let err = e
        .list_datasources(&u, &all, Some(2), p1.cursor.as_deref())
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::BadRequest(_)), "{err:?}");
    for (field, parsed) in [
        (
            "status",
            DatasourceQuery::parse(Some("happy"), None, None, None, None),
        ),
        (
            "kind",
            DatasourceQuery::parse(None, Some("Ftp"), None, None, None),
        ),
        (
            "type_sync",
            DatasourceQuery::parse(None, None, Some("sometimes"), None, None),
        ),
        (
            "q",
            DatasourceQuery::parse(None, None, None, Some(&"x".repeat(201)), None),
        ),
        (
            "sort",
            DatasourceQuery::parse(None, None, None, None, Some("random")),
        ),
    ] {
        match parsed {
            Err(EngineError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    db
}

async fn bulk_actions_report_each_item(e: Engine, db: TestDb) -> TestDb {
    let u = user(&e, "bulk@example.com").await;
    let other = user(&e, "notyours@example.com").await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let ds = e
            .create_datasource(
                &u,
                &json!({"@type": "S3Datasource", "title": format!("b{i}"), "bucket": "abc"}),
            )
            .await
            .unwrap();
        ids.push(ds.id);
    }
    // A new datasource's first sync is queued, and due now.
    let first = e.get_datasource(&u, &ids[0]).await.unwrap().datasource;
    assert_eq!(first.sync_status, SyncStatus::Pending);
    assert!(
        first
            .next_sync_due_at
            .is_some_and(|t| t <= chrono::Utc::now()),
        "{first:?}"
    );
    let foreign = e
        .create_datasource(
            &other,
            &json!({"@type": "S3Datasource", "title": "theirs", "bucket": "abc"}),
        )
        .await
        .unwrap();
    e.pause(&u, &ids[0]).await.unwrap();

    // Pause: b0 is already paused (refused), b1 and b2 pause, the stranger's is not found.
    let mut asked = ids.clone();
    asked.push(foreign.id.clone());
    asked.push(ids[1].clone());
    let out = e
        .bulk_sync_action(&u, SyncAction::Pause, &asked)
        .await
        .unwrap();
    assert_eq!(out.len(), 4, "the repeated id is done once");
    assert!(
        matches!(out[0].error, Some(EngineError::Transition { .. })),
        "{:?}",
        out[0]
    );
    assert_eq!(
        (out[1].status, out[1].title.as_deref()),
        (Some(SyncStatus::Paused), Some("b1"))
    );
    assert_eq!(out[2].status, Some(SyncStatus::Paused));
    assert!(
        matches!(out[3].error, Some(EngineError::NotFound(_))),
        "{:?}",
        out[3]
    );
    assert_eq!(out[3].title, None, "a stranger learns no title");
    let theirs = e
        .get_datasource(&other, &foreign.id)
        .await
        .unwrap()
        .datasource;
    assert_eq!(
        theirs.sync_status,
        SyncStatus::Pending,
        "the stranger's is untouched"
    );

    let out = e
        .bulk_sync_action(&u, SyncAction::Resume, &ids)
        .await
        .unwrap();
    assert!(out.iter().all(|o| o.error.is_none()), "{out:?}");
    assert!(
        out.iter()
            .all(|o| matches!(o.status, Some(SyncStatus::Resuming | SyncStatus::Pending))),
        "{out:?}"
    );
    let out = e
        .bulk_sync_action(&u, SyncAction::Sync, &ids[..1])
        .await
        .unwrap();
    assert!(out[0].error.is_none(), "{out:?}");

    for bad in [vec![], vec!["x".to_owned(); 101]] {
        let err = e
            .bulk_sync_action(&u, SyncAction::Pause, &bad)
            .await
            .unwrap_err();
        assert!(
            matches!(err, EngineError::Invalid { ref field, .. } if field == "ids"),
            "{err:?}"
        );
    }
    db
}
