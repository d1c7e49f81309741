//! Live events between servers: two engines on one PostgreSQL database, each with its own pool,
//! cache and event channel, as two server processes have. What one publishes the other's
//! listeners hear, through PostgreSQL's LISTEN/NOTIFY.

use std::time::{Duration, Instant};

use engine::Engine;
use engine::domain::{AccountRole, SyncStatus};
use engine::events::{Change, Heard, Listener, MAX_PAYLOAD, What};
use engine::model::TokenKind;
use engine::service::AUTH_CACHE_TTL;
use engine::testing::TestDb;
use serde_json::json;

/// The next thing `l` hears, within 10 s.
async fn heard(l: &mut Listener) -> Heard {
    tokio::time::timeout(Duration::from_secs(10), l.next())
        .await
        .expect("an event within 10 s")
        .expect("the channel is open")
}

/// Changes `l` hears until one about `id` matching `pred`, within 10 s.
async fn until(l: &mut Listener, id: &str, pred: impl Fn(&What) -> bool) -> Vec<Heard> {
    let mut seen = Vec::new();
    loop {
        let h = heard(l).await;
        let done = matches!(&h, Heard::Change(c) if c.datasource_id == id && pred(&c.what));
        seen.push(h);
        if done {
            return seen;
        }
    }
}

/// Nothing more is heard by `l` for a while.
async fn silent(l: &mut Listener) -> bool {
    tokio::time::timeout(Duration::from_millis(500), l.next())
        .await
        .is_err()
}

async fn two_servers() -> (TestDb, Engine, Engine) {
    let db = TestDb::postgres().await.expect("test database");
    let a = db.engine().await.expect("engine a");
    let b = db.engine().await.expect("engine b");
    (db, a, b)
}

#[tokio::test]
async fn sqlite_has_no_relay() {
    let db = TestDb::sqlite().await.unwrap();
    let e = db.engine().await.unwrap();
    assert!(e.relay_events().await.unwrap().is_none());
    db.cleanup().await.unwrap();
}

#[tokio::test]
async fn a_change_on_one_server_is_heard_on_the_other_once() {
    let (db, a, b) = two_servers().await;
    let _ra = a.relay_events().await.unwrap().expect("postgres relays");
    let _rb = b.relay_events().await.unwrap().expect("postgres relays");
    assert!(a.relay_events().await.is_err(), "a second start is refused");
    let mut on_a = a.events().listen();
    let mut on_b = b.events().listen();

    let admin = a
        .create_user("relay@example.com", "", "password123", AccountRole::Admin)
        .await
        .unwrap();
    // A paused S3 datasource: no worker runs here, so only what this test does is announced.
    let ds = a
        .create_datasource(
            &admin,
            &json!({"@type": "S3Datasource", "title": "far", "bucket": "relay-bucket", "type_sync": "arch"}),
        )
        .await
        .unwrap();
    a.update_datasource(&admin, &ds.id, &json!({"title": "renamed"}))
        .await
        .unwrap();
    let on_b_seen = until(&mut on_b, &ds.id, |w| *w == What::Updated).await;
    assert!(
        on_b_seen.iter().all(|h| matches!(h, Heard::Change(_))),
        "nothing was missed: {on_b_seen:?}"
    );
    // Server a heard its own change once, from its own channel, not again from the relay.
    let on_a_seen = until(&mut on_a, &ds.id, |w| *w == What::Updated).await;
    assert_eq!(
        on_a_seen, on_b_seen,
        "both heard the same, in the same order"
    );
    assert!(
        silent(&mut on_a).await,
        "a does not hear its own change twice"
    );
    assert!(silent(&mut on_b).await);

    // A status change carries its status and reason across.
    a.pause(&admin, &ds.id).await.unwrap();
    let seen = until(&mut on_b, &ds.id, |w| {
        matches!(
            w,
            What::Status {
                sync_status: SyncStatus::Paused,
                ..
            }
        )
    })
    .await;
    assert!(matches!(
        seen.last(),
        Some(Heard::Change(Change {
            what: What::Status {
                sync_status: SyncStatus::Paused,
                ..
            },
            ..
        }))
    ));

    // Both ways.
    b.resume(&admin, &ds.id).await.unwrap();
    until(&mut on_a, &ds.id, |w| matches!(w, What::Status { .. })).await;
    db.cleanup().await.unwrap();
}

#[tokio::test]
async fn another_servers_change_is_read_at_once_not_after_the_cache_expires() {
    let (db, a, b) = two_servers().await;
    let _ra = a.relay_events().await.unwrap();
    let _rb = b.relay_events().await.unwrap();
    let mut on_b = b.events().listen();
    let admin = a
        .create_user("cache@example.com", "", "password123", AccountRole::Admin)
        .await
        .unwrap();
    let ds = a
        .create_datasource(
            &admin,
            &json!({"@type": "S3Datasource", "title": "before", "bucket": "relay-bucket"}),
        )
        .await
        .unwrap();
    // Server b reads it, and keeps the row.
    assert_eq!(
        b.get_datasource(&admin, &ds.id)
            .await
            .unwrap()
            .datasource
            .title,
        "before"
    );
    let changed = Instant::now();
    a.update_datasource(&admin, &ds.id, &json!({"title": "after"}))
        .await
        .unwrap();
    until(&mut on_b, &ds.id, |w| *w == What::Updated).await;
    let title = b
        .get_datasource(&admin, &ds.id)
        .await
        .unwrap()
        .datasource
        .title;
    assert!(
        changed.elapsed() < engine::store::cached::TTL,
        "read before the kept row would have expired anyway"
    );
    assert_eq!(title, "after", "the event dropped b's kept row");

    // A member removed on server a: server b no longer grants the role it kept.
    let viewer = a
        .create_user("viewer@example.com", "", "password123", AccountRole::Member)
        .await
        .unwrap();
    let inv = a
        .invite(
            &admin,
            &ds.id,
            &json!({"email": viewer.email, "role": "viewer"}),
        )
        .await
        .unwrap();
    a.accept_invitation(&viewer, &inv.id).await.unwrap();
    // The invitation's change, then the acceptance's.
    until(&mut on_b, &ds.id, |_| true).await;
    until(&mut on_b, &ds.id, |_| true).await;
    assert!(
        b.get_datasource(&viewer, &ds.id).await.is_ok(),
        "b sees the member"
    );
    a.change_sharing(
        &admin,
        &ds.id,
        &json!({"roles": [{"user": viewer.id, "role": null}]}),
    )
    .await
    .unwrap();
    until(&mut on_b, &ds.id, |w| matches!(w, What::Withdrawn { .. })).await;
    assert_eq!(
        b.store().role_of(&ds.id, &viewer.id).await.unwrap(),
        None,
        "the role b kept was dropped with the event"
    );
    assert_eq!(
        b.get_datasource(&viewer, &ds.id)
            .await
            .unwrap_err()
            .status_code(),
        404,
        "and so was the row"
    );
    db.cleanup().await.unwrap();
}

#[tokio::test]
async fn who_to_tell_travels_along_and_what_cannot_is_missed() {
    let (db, a, b) = two_servers().await;
    let _ra = a.relay_events().await.unwrap();
    let _rb = b.relay_events().await.unwrap();
    let mut on_b = b.events().listen();
    // The audience of a deletion is never sent to browsers, but the other server needs it to
    // tell those who could see the datasource.
    let audience = vec!["u1".to_owned(), "ann@example.com".to_owned()];
    a.events().publish(
        "gone",
        What::Deleted {
            audience: audience.clone(),
        },
    );
    assert_eq!(
        heard(&mut on_b).await,
        Heard::Change(Change {
            datasource_id: "gone".into(),
            what: What::Deleted { audience }
        })
    );
    // Too many to name in one notification: b is told to refetch instead.
    let crowd: Vec<String> = (0..MAX_PAYLOAD / 8)
        .map(|i| format!("user{i:05}"))
        .collect();
    a.events()
        .publish("crowded", What::Deleted { audience: crowd });
    assert_eq!(heard(&mut on_b).await, Heard::Missed(1));
    // And then the next change arrives as usual.
    a.events().publish("after", What::Processed);
    assert_eq!(
        heard(&mut on_b).await,
        Heard::Change(Change {
            datasource_id: "after".into(),
            what: What::Processed
        })
    );
    db.cleanup().await.unwrap();
}

#[tokio::test]
async fn a_lost_connection_is_told_and_listening_resumes() {
    let (db, a, b) = two_servers().await;
    let _ra = a.relay_events().await.unwrap();
    let _rb = b.relay_events().await.unwrap();
    let mut on_b = b.events().listen();
    a.events().publish("first", What::Updated);
    assert!(matches!(heard(&mut on_b).await, Heard::Change(c) if c.datasource_id == "first"));

    // Cut every listening connection of this database (both servers' listeners).
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    let mut admin = sqlx::PgConnection::connect(&engine::testing::postgres_admin_url())
        .await
        .unwrap();
    let cut: Vec<(bool,)> = sqlx::query_as(
        "select pg_terminate_backend(pid) from pg_stat_activity \
         where datname = $1 and query ilike 'listen%'",
    )
    .bind(&name)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(
        cut.len(),
        2,
        "both servers listen on a connection of their own"
    );
    admin.close().await.unwrap();

    // What was sent while b was not listening may be lost: b says so once it listens again.
    assert_eq!(heard(&mut on_b).await, Heard::Missed(1));
    // a listens again too; its next change reaches b.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        a.events().publish("again", What::Updated);
        match tokio::time::timeout(Duration::from_millis(300), on_b.next()).await {
            Ok(Some(Heard::Change(c))) if c.datasource_id == "again" => break,
            _ if Instant::now() < deadline => {}
            other => panic!("nothing relayed after the reconnect: {other:?}"),
        }
    }
    db.cleanup().await.unwrap();
}

/// Server `b` has heard everything `a` sent before this: `a` sends a marker after it, and the
/// relay keeps order (and PostgreSQL delivers notifications in commit order).
async fn b_caught_up(a: &Engine, on_b: &mut Listener, marker: &str) {
    a.events().publish(marker, What::Processed);
    until(on_b, marker, |w| *w == What::Processed).await;
}

#[tokio::test]
async fn a_sign_in_ended_on_one_server_is_not_trusted_on_another() {
    let (db, a, b) = two_servers().await;
    let _ra = a.relay_events().await.unwrap();
    let _rb = b.relay_events().await.unwrap();
    let mut on_b = b.events().listen();
    let admin = a
        .create_user("boss@example.com", "", "password123", AccountRole::Admin)
        .await
        .unwrap();
    let ann = a
        .create_user("ann@example.com", "", "password123", AccountRole::Member)
        .await
        .unwrap();
    let unauthorized = |r: engine::Result<engine::model::User>| match r {
        Err(e) => e.status_code() == 401,
        Ok(_) => false,
    };

    // A session used on b (which keeps it), then logged out on a.
    let session = a
        .login("ann@example.com", "password123", TokenKind::Session)
        .await
        .unwrap()
        .token;
    let kept = Instant::now();
    assert_eq!(b.authenticate(&session).await.unwrap().id, ann.id);
    a.logout(&session).await.unwrap();
    b_caught_up(&a, &mut on_b, "after-logout").await;
    assert!(unauthorized(b.authenticate(&session).await), "logged out");
    assert!(kept.elapsed() < AUTH_CACHE_TTL, "before b's copy expired");

    // Two tokens kept on b; the admin deactivates ann on a: b refuses both.
    let api = a
        .login("ann@example.com", "password123", TokenKind::Api)
        .await
        .unwrap()
        .token;
    let personal = a
        .create_personal_token(&ann, "script")
        .await
        .unwrap()
        .secret;
    let kept = Instant::now();
    b.authenticate(&api).await.unwrap();
    b.authenticate(&personal).await.unwrap();
    a.update_user(&admin, &ann.id, &json!({"active": false}))
        .await
        .unwrap();
    b_caught_up(&a, &mut on_b, "after-deactivate").await;
    assert!(unauthorized(b.authenticate(&api).await), "deactivated");
    assert!(unauthorized(b.authenticate(&personal).await));
    assert!(kept.elapsed() < AUTH_CACHE_TTL, "before b's copies expired");

    // The admin's token, kept on b, survives all of that.
    let own = a
        .login("boss@example.com", "password123", TokenKind::Api)
        .await
        .unwrap()
        .token;
    b.authenticate(&own).await.unwrap();

    // The command line (`tributary user reset-password`): a short-lived engine of its own that
    // waits until the running servers were told, then exits.
    let kept = Instant::now();
    assert_eq!(b.authenticate(&own).await.unwrap().id, admin.id);
    {
        let cli = db.engine().await.unwrap();
        let _relay = cli.relay_events().await.unwrap();
        cli.reset_password("boss@example.com", "a-new-password-1")
            .await
            .unwrap();
        cli.events().flush().await.unwrap();
    }
    b_caught_up(&a, &mut on_b, "after-reset").await;
    assert!(unauthorized(b.authenticate(&own).await), "password reset");
    assert!(kept.elapsed() < AUTH_CACHE_TTL, "before b's copy expired");
    db.cleanup().await.unwrap();
}

use sqlx::Connection;
