//! Signing in, accounts, login throttling, and start-up errors.

use super::*;

on_both!(
    spawn =>
    auth_is_required,
    users_api,
    throttled_login,
);

async fn auth_is_required(app: &TestApp) {
    let r = app
        .http
        .get(app.url("/api/datasources"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    let r = app
        .http
        .get(app.url("/api/datasources"))
        .bearer_auth("forged")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .post(app.url("/api/@login"))
        .json(&json!({"username": ADMIN.0, "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .post(app.url("/api/@login"))
        .json(&json!({"username": ADMIN.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        app.http
            .get(app.url("/health"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok"
    );
}

async fn users_api(app: &TestApp) {
    let (s, created) = app
        .post(
            "/api/users",
            json!({"email": "carol@example.com", "password": "carol-password", "role": "member"}),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["role"], "member");
    assert!(created.get("password").is_none() && !created.to_string().contains("carol-password"));
    let (s, dup) = app
        .post(
            "/api/users",
            json!({"email": "carol@example.com", "password": "carol-password"}),
        )
        .await;
    assert_eq!(
        (s.as_u16(), dup["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    let (s, list) = app.get("/api/users").await;
    assert_eq!((s.as_u16(), list["total"].as_i64()), (200, Some(2)));

    let r = app
        .http
        .post(app.url("/api/@login"))
        .json(&json!({"username": "carol@example.com", "password": "carol-password"}))
        .send()
        .await
        .unwrap();
    let carol = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .http
        .get(app.url("/api/users"))
        .bearer_auth(&carol)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .http
        .post(app.url("/api/users"))
        .bearer_auth(&carol)
        .body(r#"{"email":"d@x.io","password":"password123"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let url = created["@id"].as_str().unwrap();
    let (s, off) = app
        .send(reqwest::Method::PATCH, url, Some(json!({"active": false})))
        .await;
    assert_eq!((s.as_u16(), off["active"].as_bool()), (200, Some(false)));
    let r = app
        .http
        .get(app.url("/api/datasources"))
        .bearer_auth(&carol)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a deactivated user's token stops working");
}

async fn throttled_login(app: &TestApp) {
    app.post(
        "/api/users",
        json!({"email": "dan@example.com", "password": "dan-password"}),
    )
    .await;
    let login = |pw: &'static str| {
        app.http
            .post(app.url("/api/@login"))
            .body(json!({"username": "dan@example.com", "password": pw}).to_string())
            .send()
    };
    for _ in 0..engine::service::throttle::FREE_ATTEMPTS {
        assert_eq!(login("wrong").await.unwrap().status(), 401);
    }
    let r = login("dan-password").await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "too_many_attempts"
    );
}

#[tokio::test]
async fn bad_database_url_is_a_one_line_error() {
    let dir = engine::testing::tempfile_dir::Dir::new().unwrap();
    for url in ["mysql://x", "postgres://nobody@127.0.0.1:1/x"] {
        let Err(e) = Application::build(crate::common::config_for(dir.path(), url)).await else {
            panic!("{url} accepted")
        };
        assert!(!e.contains('\n') && !e.is_empty(), "{e}");
        assert!(
            !e.contains("internal error"),
            "the cause, not a category: {e}"
        );
        if url.contains(":1/") {
            assert!(
                e.contains("refused"),
                "the real cause, not a pool timeout: {e}"
            );
        }
    }
}

#[tokio::test]
async fn an_unreachable_rabbitmq_is_a_one_line_error() {
    let db = TestDb::new("sqlite").await.unwrap();
    let mut config = crate::common::config_for(db.dir.path(), &db.url);
    config.amqp_url = Some("amqp://guest:guest@127.0.0.1:1/%2f".into());
    let Err(e) = Application::build(config).await else {
        panic!("an unreachable broker accepted")
    };
    assert!(
        !e.contains('\n') && e.starts_with("TRIBUTARY_AMQP_URL: "),
        "{e}"
    );
    assert!(
        !e.contains("guest:guest"),
        "no password in the message: {e}"
    );
    db.cleanup().await.unwrap();
}
