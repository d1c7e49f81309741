//! Datasources: creation and its rules, bad input, children paging, status compare-and-set, ownership, the cache.

use super::*;

on_both!(
    datasource_crud,
    folder_rules,
    bad_input_changes_nothing,
    children_keyset_paging,
    status_compare_and_set,
    owners_only,
    writes_from_another_process_are_counted,
    access_read_on_a_cold_cache,
);

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
