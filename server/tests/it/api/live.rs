//! Live events: what each user hears, withdrawals, events across servers on one database, and the command line telling a running server.

use super::*;

on_both!(
    spawn =>
    live_events,
    withdrawals_reach_who_lost_sight,
);

/// A server-sent event stream read over real HTTP.
struct EventStream {
    resp: reqwest::Response,
    buf: String,
}

impl EventStream {
    async fn open(app: &TestApp, token: &str) -> Self {
        Self::open_at(&app.http, &app.base, token).await
    }

    async fn open_at(http: &reqwest::Client, base: &str, token: &str) -> Self {
        let resp = http
            .get(format!("{base}/api/@events"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let mut s = Self {
            resp,
            buf: String::new(),
        };
        assert_eq!(s.next().await.0, "ready");
        s
    }

    /// The next event as (name, data); panics after 10 s of silence.
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if data.is_empty() {
                    continue; // keep-alive comment
                }
                return (name, serde_json::from_str(&data).unwrap());
            }
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), self.resp.chunk())
                .await
                .expect("an event within 10 s")
                .unwrap()
                .expect("the stream stays open");
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Events up to and including the first about `marker`.
    async fn until(&mut self, marker: &str) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        loop {
            let e = self.next().await;
            let done = e.1["datasource_id"] == marker;
            out.push(e);
            if done {
                return out;
            }
        }
    }
}

async fn login_as(app: &TestApp, email: &str) -> String {
    let (s, _) = app
        .post(
            "/api/users",
            json!({"email": email, "password": "long-enough-password", "role": "member"}),
        )
        .await;
    assert_eq!(s, 201);
    let r = app
        .http
        .post(app.url("/api/@login"))
        .json(&json!({"username": email, "password": "long-enough-password"}))
        .send()
        .await
        .unwrap();
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A datasource of `who`'s own; its first event marks "everything before has been sent".
async fn marker(app: &TestApp, token: &str, name: &str) -> String {
    let r = app
        .http
        .post(app.url("/api/datasources"))
        .bearer_auth(token)
        .json(&json!({"@type": "S3Datasource", "title": name, "bucket": "marker-bucket"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn live_events(app: &TestApp) {
    let bob = login_as(app, "bob@example.com").await;
    let eve = login_as(app, "eve@example.com").await;
    let mut admin_s = EventStream::open(app, &app.token).await;
    let mut bob_s = EventStream::open(app, &bob).await;
    let mut eve_s = EventStream::open(app, &eve).await;

    let path = app.folder("live");
    for i in 0..3 {
        std::fs::write(format!("{path}/f{i}.txt"), format!("file {i}")).unwrap();
    }
    let (s, ds) = app
        .post(
            "/api/datasources",
            json!({"@type": "FolderDatasource", "title": "Live", "path": path}),
        )
        .await;
    assert_eq!(s, 201);
    let id = ds["id"].as_str().unwrap().to_owned();
    app.state.manager.run_due_now().await.unwrap();
    let (s, _) = app
        .post(
            &format!("/api/datasources/{id}/@invite"),
            json!({"email": "bob@example.com"}),
        )
        .await;
    assert_eq!(s, 201);
    let (s, _) = app
        .get(&format!("/api/datasources/{id}/@sendToSpyder?force=true"))
        .await;
    assert_eq!(s, 202);
    app.state.manager.run_due_now().await.unwrap();
    let bob_mark = marker(app, &bob, "bob-mark").await;
    let eve_mark = marker(app, &eve, "eve-mark").await;

    // The owner follows both runs: queued, collecting, a committed batch, done; the
    // invitation in between.
    let mut seen = Vec::new();
    while seen.len() < 9 {
        seen.push(admin_s.next().await);
    }
    let brief: Vec<String> = seen
        .iter()
        .map(|(n, d)| match n.as_str() {
            "status" => format!("status:{}", d["sync_status"].as_str().unwrap()),
            "progress" => format!("progress:{}+{}", d["seen"], d["added"]),
            other => other.to_owned(),
        })
        .collect();
    assert_eq!(
        brief,
        [
            "status:pending",
            "status:syncing",
            "progress:3+3",
            "status:synced",
            "updated",
            "status:pending",
            "status:syncing",
            "progress:3+0",
            "status:synced"
        ],
        "{seen:?}"
    );
    assert!(seen.iter().all(|(_, d)| d["datasource_id"] == id.as_str()));
    assert!(
        seen[3].1["status_reason"]
            .as_str()
            .unwrap()
            .contains("3 added")
    );

    // Bob, only invited, hears that it changed (the invitation) and nothing of its syncing.
    let heard = bob_s.until(&bob_mark).await;
    let about: Vec<&str> = heard
        .iter()
        .filter(|(_, d)| d["datasource_id"] == id.as_str())
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(about, ["updated"], "{heard:?}");
    // Eve, a stranger, hears nothing of it at all.
    let heard = eve_s.until(&eve_mark).await;
    assert!(
        heard.iter().all(|(_, d)| d["datasource_id"] != id.as_str()),
        "{heard:?}"
    );

    // Processing its resources is news to the owner (one batch, one event), not to the
    // invitee or the stranger.
    assert_eq!(app.state.pipeline.drain().await.unwrap(), 3);
    let about = |heard: &[(String, Value)]| -> Vec<String> {
        heard
            .iter()
            .filter(|(_, d)| d["datasource_id"] == id.as_str())
            .map(|(n, _)| n.clone())
            .collect()
    };
    let admin_mark = marker(app, &app.token, "admin-processed").await;
    assert_eq!(about(&admin_s.until(&admin_mark).await), ["processed"]);
    let bob_mark = marker(app, &bob, "bob-processed").await;
    assert!(about(&bob_s.until(&bob_mark).await).is_empty());
    let eve_mark = marker(app, &eve, "eve-processed").await;
    assert!(about(&eve_s.until(&eve_mark).await).is_empty());

    // Deleting it reaches the invitee too, but not the stranger.
    let (s, _) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/datasources/{id}"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let gone = bob_s.next().await;
    assert_eq!(
        (gone.0.as_str(), &gone.1["datasource_id"]),
        ("deleted", &json!(id))
    );
    let eve_mark2 = marker(app, &eve, "eve-mark-2").await;
    let heard = eve_s.until(&eve_mark2).await;
    assert_eq!(heard.len(), 1, "only her own marker: {heard:?}");

    // Without credentials there is no stream.
    let r = app.http.get(app.url("/api/@events")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

/// Someone who loses sight of a datasource (an invitation revoked or declined, a member
/// removed) hears it on their stream, though they may no longer see it: their invitations and
/// lists follow. A stranger still hears nothing.
async fn withdrawals_reach_who_lost_sight(app: &TestApp) {
    let bob = login_as(app, "bob@example.com").await;
    let eve = login_as(app, "eve@example.com").await;
    let mut bob_s = EventStream::open(app, &bob).await;
    let mut eve_s = EventStream::open(app, &eve).await;
    let mut ids = Vec::new();
    for title in ["Revoked", "Removed"] {
        let (s, ds) = app
            .post(
                "/api/datasources",
                json!({"@type": "S3Datasource", "title": title, "bucket": "abc", "type_sync": "arch", "endpoint": "http://127.0.0.1:9"}),
            )
            .await;
        assert_eq!(s, 201, "{ds}");
        ids.push(ds["id"].as_str().unwrap().to_owned());
    }
    let invite = |id: String| async move {
        let (s, inv) = app
            .post(
                &format!("/api/datasources/{id}/@invite"),
                json!({"email": "bob@example.com"}),
            )
            .await;
        assert_eq!(s, 201, "{inv}");
        inv["id"].as_str().unwrap().to_owned()
    };
    // What Bob hears about `id` until his marker.
    let heard_about = |heard: Vec<(String, Value)>, id: &str| -> Vec<String> {
        heard
            .into_iter()
            .filter(|(_, d)| d["datasource_id"] == id)
            .map(|(n, _)| n)
            .collect()
    };

    // Invited, then revoked: he hears both. (Each is heard before the next is made: whether he
    // may hear a change is decided when it reaches his stream, so an invitation revoked before
    // its news reached him is rightly never told.)
    let inv = invite(ids[0].clone()).await;
    let mark = marker(app, &bob, "bob-invited").await;
    assert_eq!(heard_about(bob_s.until(&mark).await, &ids[0]), ["updated"]);
    let (s, _) = app
        .send(
            reqwest::Method::DELETE,
            &format!("/api/datasources/{}/@invite/{inv}", ids[0]),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let mark = marker(app, &bob, "bob-revoked").await;
    assert_eq!(heard_about(bob_s.until(&mark).await, &ids[0]), ["updated"]);

    // A member, then removed: he hears that too.
    let inv = invite(ids[1].clone()).await;
    let r = app
        .http
        .post(app.url(&format!("/api/invitations/{inv}/@accept")))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mark = marker(app, &bob, "bob-member").await;
    let _ = bob_s.until(&mark).await;
    let (s, v) = app
        .post(
            &format!("/api/datasources/{}/@sharing", ids[1]),
            json!({"roles": [{"user": "bob@example.com", "role": null}]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let mark = marker(app, &bob, "bob-removed").await;
    assert_eq!(heard_about(bob_s.until(&mark).await, &ids[1]), ["updated"]);

    // And nothing after: later changes to either are no longer his to hear.
    for id in &ids {
        let (s, v) = app
            .send(
                reqwest::Method::PATCH,
                &format!("/api/datasources/{id}"),
                Some(json!({"title": "Renamed later"})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let mark = marker(app, &bob, "bob-after").await;
    let heard = bob_s.until(&mark).await;
    assert!(
        heard
            .iter()
            .all(|(_, d)| !ids.iter().any(|id| d["datasource_id"] == id.as_str())),
        "{heard:?}"
    );

    // Eve, who never had a role or an invitation, heard nothing of either.
    let mark = marker(app, &eve, "eve-mark").await;
    let heard = eve_s.until(&mark).await;
    assert!(
        heard
            .iter()
            .all(|(_, d)| !ids.iter().any(|id| d["datasource_id"] == id.as_str())),
        "{heard:?}"
    );
}

/// Two servers on one PostgreSQL database, as two processes behind a load balancer: each has
/// its own pool, caches, search index and live events, and a browser on either hears what the
/// other did, with the same rules of who may see what.
#[tokio::test]
async fn live_events_cross_servers() {
    let app = spawn("postgres").await;
    let eve = login_as(&app, "eve@example.com").await;
    let dir = engine::testing::tempfile_dir::Dir::new().unwrap();
    let other = Application::build(crate::common::config_for(dir.path(), &app.db.url))
        .await
        .expect("a second server");
    let other_base = format!("http://127.0.0.1:{}", other.port());
    let other_server = tokio::spawn(async move {
        let _ = other.run_until(std::future::pending()).await;
    });
    // The same sessions work on both: they are in the database.
    let mut admin_s = EventStream::open_at(&app.http, &other_base, &app.token).await;
    let mut eve_s = EventStream::open_at(&app.http, &other_base, &eve).await;

    let path = app.folder("far");
    std::fs::write(format!("{path}/a.txt"), "collected on the first server").unwrap();
    let (s, ds) = app
        .post(
            "/api/datasources",
            json!({"@type": "FolderDatasource", "title": "Far", "path": path}),
        )
        .await;
    assert_eq!(s, 201);
    let id = ds["id"].as_str().unwrap().to_owned();
    app.state.manager.run_due_now().await.unwrap();

    // The second server's admin follows the first server's sync to its end.
    let mut statuses = Vec::new();
    while statuses.last().map(String::as_str) != Some("synced") {
        let (name, data) = admin_s.next().await;
        assert_eq!(data["datasource_id"], id.as_str());
        if name == "status" {
            statuses.push(data["sync_status"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(statuses, ["pending", "syncing", "synced"]);
    // And reads the result there at once: the events dropped what it kept of the datasource.
    let r = app
        .http
        .get(format!("{other_base}/api/datasources/{id}"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    let seen: Value = r.json().await.unwrap();
    assert_eq!(
        (
            seen["sync_status"].as_str(),
            seen["resource_count"].as_i64()
        ),
        (Some("synced"), Some(1))
    );
    // Eve may not see it, on either server: her first event is her own datasource's.
    let eve_mark = marker(&app, &eve, "eve-far").await;
    let (_, first) = eve_s.next().await;
    assert_eq!(first["datasource_id"], eve_mark.as_str());

    other_server.abort();
    app.finish().await;
}

/// `tributary <args>` on the test's database, as an admin runs it beside the running server;
/// its standard error when it fails.
fn command_line(app: &TestApp, args: &[&str], new_password: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tributary"))
        .args(args)
        .env("TRIBUTARY_DATA_DIR", app.db.dir.path())
        .env("DATABASE_URL", &app.db.url)
        .env("TRIBUTARY_NEW_PASSWORD", new_password)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the tributary binary");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "tributary {args:?}: {stderr}");
    stderr
}

#[tokio::test]
async fn the_command_line_tells_the_running_server_at_once_on_postgres() {
    let app = spawn("postgres").await;
    let eve = login_as(&app, "eve@example.com").await;
    let id = marker(&app, &app.token, "seeded").await;
    let mut admin_s = EventStream::open(&app, &app.token).await;
    // The server keeps what it just read: eve's token, then the datasource row.
    let token_kept = std::time::Instant::now();
    let me = app
        .http
        .get(app.url("/api/@me"))
        .bearer_auth(&eve)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    // Eve's password is reset by a command, and resources are seeded by another.
    let said = command_line(
        &app,
        &["user", "reset-password", "eve@example.com"],
        "a-brand-new-password",
    );
    assert!(!said.contains("warning"), "{said}");
    let row_kept = std::time::Instant::now();
    let (_, ds) = app.get(&format!("/api/datasources/{id}")).await;
    assert_eq!(ds["resource_count"], 0);
    command_line(&app, &["seed-children", &id, "--count", "5"], "");

    // The open stream hears the seeding (the commands' notifications arrive in the order they
    // were sent, so the reset was heard before it).
    loop {
        let (name, data) = admin_s.next().await;
        if name == "updated" && data["datasource_id"] == id.as_str() {
            break;
        }
    }
    let (_, ds) = app.get(&format!("/api/datasources/{id}")).await;
    assert_eq!(ds["resource_count"], 5, "the kept row was dropped");
    let me = app
        .http
        .get(app.url("/api/@me"))
        .bearer_auth(&eve)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "eve's kept token was dropped");
    // Both read back before what the server kept would have expired anyway.
    assert!(row_kept.elapsed() < engine::store::cached::TTL);
    assert!(token_kept.elapsed() < engine::service::AUTH_CACHE_TTL);
    app.finish().await;
}
