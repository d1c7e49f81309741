//! The datasources listing (filters, orders, counts) and bulk actions.

use super::*;

on_both!(
    listing_filters_sorts_and_counts,
    bulk_actions_report_each_item,
);

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
