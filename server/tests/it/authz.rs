//! Who may do what: every datasource endpoint and server function, called over real HTTP by
//! seven people (anonymous, a stranger, an invitee who has not accepted, a viewer, an editor,
//! the owner, an account admin with no role on it), against the expected status. Run on SQLite
//! and PostgreSQL. Each row is written out, so removing any single check in the engine's rule
//! changes at least one cell.

use engine::domain::AccountRole;
use engine::model::User;
use engine::testing::TestDb;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::on_both;

const PERSONAS: [&str; 7] = [
    "anonymous",
    "stranger",
    "invited",
    "viewer",
    "editor",
    "owner",
    "admin",
];

struct World {
    base: String,
    http: reqwest::Client,
    engine: engine::Engine,
    /// Bearer tokens and session cookies by persona (anonymous has none).
    tokens: Vec<Option<String>>,
    users: Vec<Option<User>>,
    db: TestDb,
    server: tokio::task::JoinHandle<()>,
}

async fn world(backend: &str) -> World {
    let db = TestDb::new(backend).await.expect("database");
    let crate::common::Running {
        base,
        state,
        server,
    } = crate::common::start(crate::common::config_for(db.dir.path(), &db.url)).await;
    let engine = state.engine.clone();
    let http = crate::common::http();
    let mut tokens = vec![None];
    let mut users = vec![None];
    for name in &PERSONAS[1..] {
        // The first admin (from the test configuration) is admin@example.com.
        let (email, role) = if *name == "admin" {
            ("second-admin@example.com".to_owned(), AccountRole::Admin)
        } else {
            (format!("{name}@example.com"), AccountRole::Member)
        };
        let u = engine
            .create_user(&email, name, "password123", role)
            .await
            .unwrap();
        let t = engine
            .login(&email, "password123", engine::model::TokenKind::Session)
            .await
            .unwrap();
        tokens.push(Some(t.token));
        users.push(Some(u));
    }
    World {
        base,
        http,
        engine,
        tokens,
        users,
        db,
        server,
    }
}

impl World {
    fn user(&self, persona: &str) -> &User {
        let i = PERSONAS.iter().position(|p| *p == persona).unwrap();
        self.users[i].as_ref().unwrap()
    }

    /// A datasource of `owner` with a child, a viewer, an editor and a pending invitee, plus a
    /// spare pending invitation (for revoking). Returns (datasource id, resource id, spare
    /// invitation id).
    async fn shared_datasource(&self, title: &str) -> (String, String, String) {
        let e = &self.engine;
        let owner = self.user("owner");
        let folder = self.db.folder_root().join(title.replace(' ', "-"));
        std::fs::create_dir_all(&folder).unwrap();
        // Only account admins collect the server's folders: the first admin (no persona here)
        // creates it, hands it to the owner, and leaves.
        let first_admin = e
            .store()
            .credentials_by_email("admin@example.com")
            .await
            .unwrap()
            .unwrap()
            .user;
        let ds = e
            .create_datasource(
                &first_admin,
                &json!({"@type": "FolderDatasource", "title": title, "path": folder.display().to_string()}),
            )
            .await
            .unwrap();
        let handover = e
            .invite(
                &first_admin,
                &ds.id,
                &json!({"email": "owner@example.com", "role": "owner"}),
            )
            .await
            .unwrap();
        e.accept_invitation(owner, &handover.id).await.unwrap();
        e.store()
            .change_roles(
                &ds.id,
                &[(first_admin.id.clone(), None)],
                engine::service::now(),
            )
            .await
            .unwrap();
        let r = engine::service::sample_resource(&ds.id, 1);
        e.add_resources(&ds.id, std::slice::from_ref(&r))
            .await
            .unwrap();
        for (who, role) in [("viewer", "viewer"), ("editor", "editor")] {
            let inv = e
                .invite(
                    owner,
                    &ds.id,
                    &json!({"email": format!("{who}@example.com"), "role": role}),
                )
                .await
                .unwrap();
            e.accept_invitation(self.user(who), &inv.id).await.unwrap();
        }
        e.invite(owner, &ds.id, &json!({"email": "invited@example.com"}))
            .await
            .unwrap();
        let spare = e
            .invite(owner, &ds.id, &json!({"email": "spare@example.com"}))
            .await
            .unwrap();
        (ds.id, r.id, spare.id)
    }

    /// A REST call as `persona`; the status code.
    async fn rest(&self, persona: usize, method: Method, path: &str, body: Option<Value>) -> u16 {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.tokens[persona] {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        req.send().await.unwrap().status().as_u16()
    }

    /// A server function as the browser calls it, with `persona`'s session cookie; the status
    /// the function answered (server functions carry it in their error body).
    async fn rpc(&self, persona: usize, name: &str, form: &[(&str, &str)]) -> u16 {
        let mut req = self
            .http
            .post(format!("{}/rpc/{name}", self.base))
            .header("sec-fetch-site", "same-origin")
            .form(form);
        if let Some(t) = &self.tokens[persona] {
            req = req.header("cookie", format!("tributary_session={t}"));
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        if status == 500 {
            let v: Value = r.json().await.unwrap_or(Value::Null);
            v["status"].as_u64().map_or(500, |s| s as u16)
        } else if (300..400).contains(&status) {
            200 // a form's redirect after success
        } else {
            status
        }
    }
}

// Expected statuses, in PERSONAS order:
// anonymous, stranger, invited, viewer, editor, owner, admin.
const SEE: [u16; 7] = [401, 404, 200, 200, 200, 200, 404];
const BROWSE: [u16; 7] = [401, 404, 403, 200, 200, 200, 404];
const CONFIGURE: [u16; 7] = [401, 404, 403, 403, 200, 200, 404];
const fn owner_only(ok: u16) -> [u16; 7] {
    [401, 404, 403, 403, 403, ok, 404]
}

on_both!(rest_endpoints, server_functions, account_endpoints);

async fn finish(w: World) {
    w.server.abort();
    w.db.cleanup().await.unwrap();
}

fn check(got: &[u16], want: &[u16; 7], what: &str) {
    let table: Vec<String> = PERSONAS
        .iter()
        .zip(got.iter().zip(want))
        .map(|(p, (g, w))| format!("{p}: got {g}, want {w}"))
        .collect();
    assert_eq!(got, want, "{what}\n  {}", table.join("\n  "));
}

async fn rest_endpoints(backend: &str) {
    let w = world(backend).await;
    let (ds, rid, _) = w.shared_datasource("shared").await;
    let d = format!("/api/datasources/{ds}");
    type Row = (Method, String, Option<Value>, [u16; 7]);
    let rows: Vec<Row> = vec![
        (Method::GET, d.clone(), None, SEE),
        (
            Method::GET,
            format!("{d}/@getAllChildren?page_size=5"),
            None,
            BROWSE,
        ),
        (
            Method::POST,
            format!("{d}/@getAllChildren"),
            Some(json!({"page_size": 5})),
            BROWSE,
        ),
        (Method::GET, format!("{d}/resources/{rid}"), None, BROWSE),
        (Method::GET, format!("{d}/@sharing"), None, BROWSE),
        (Method::GET, format!("{d}/@history"), None, BROWSE),
        (
            Method::POST,
            format!("{d}/@frontsearch"),
            Some(json!({"query": "anything"})),
            BROWSE,
        ),
        (
            Method::GET,
            format!("{d}/@sendToCompute"),
            None,
            [401, 404, 403, 403, 202, 202, 404],
        ),
        (
            Method::GET,
            format!("{d}/resources/{rid}/@sendToCompute"),
            None,
            [401, 404, 403, 403, 202, 202, 404],
        ),
        (
            Method::PATCH,
            d.clone(),
            Some(json!({"title": "renamed"})),
            CONFIGURE,
        ),
        (
            Method::POST,
            format!("{d}/@sharing"),
            Some(json!({"roles": [{"user": "viewer@example.com", "role": "viewer"}]})),
            owner_only(200),
        ),
    ];
    for (method, path, body, want) in rows {
        let mut got = Vec::new();
        for p in 0..PERSONAS.len() {
            got.push(w.rest(p, method.clone(), &path, body.clone()).await);
        }
        check(&got, &want, &format!("{method} {path}"));
    }

    // Inviting: each persona invites someone new.
    let mut got = Vec::new();
    for (p, name) in PERSONAS.iter().enumerate() {
        let body = json!({"email": format!("new-by-{name}@example.com")});
        got.push(
            w.rest(p, Method::POST, &format!("{d}/@invite"), Some(body))
                .await,
        );
    }
    check(&got, &owner_only(201), "POST @invite");

    // Operating, revoking and deleting need a fresh target per persona.
    let mut revoke = Vec::new();
    let mut delete = Vec::new();
    let (mut send, mut pause, mut resume) = (Vec::new(), Vec::new(), Vec::new());
    for (p, persona) in PERSONAS.iter().enumerate() {
        let (ds, _, spare) = w.shared_datasource(&format!("for {persona}")).await;
        let d = format!("/api/datasources/{ds}");
        send.push(
            w.rest(p, Method::GET, &format!("{d}/@sendToSpyder"), None)
                .await,
        );
        pause.push(w.rest(p, Method::POST, &format!("{d}/@pause"), None).await);
        resume.push(w.rest(p, Method::POST, &format!("{d}/@resume"), None).await);
        revoke.push(
            w.rest(
                p,
                Method::DELETE,
                &format!("/api/datasources/{ds}/@invite/{spare}"),
                None,
            )
            .await,
        );
        delete.push(
            w.rest(p, Method::DELETE, &format!("/api/datasources/{ds}"), None)
                .await,
        );
        let still_there = w.engine.store().datasource(&ds).await.unwrap().is_some();
        assert_eq!(still_there, *persona != "owner", "{persona}");
    }
    const OPERATE: fn(u16) -> [u16; 7] = |ok| [401, 404, 403, 403, ok, ok, 404];
    check(&send, &OPERATE(202), "GET @sendToSpyder");
    check(&pause, &OPERATE(200), "POST @pause");
    check(&resume, &OPERATE(200), "POST @resume");
    check(&revoke, &owner_only(204), "DELETE @invite/{invitation}");
    check(&delete, &owner_only(204), "DELETE datasource");

    // The list shows each persona what they have: the invitee sees it as invited, and the
    // stranger and the admin do not see it.
    for (p, want) in [(1, 0), (2, 1), (3, 1), (6, 0)] {
        let r = w
            .http
            .get(format!("{}/api/datasources", w.base))
            .bearer_auth(w.tokens[p].as_ref().unwrap())
            .send()
            .await
            .unwrap();
        let v: Value = r.json().await.unwrap();
        let shared: Vec<&Value> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["id"] == ds.as_str())
            .collect();
        assert_eq!(shared.len(), want, "{}: {v}", PERSONAS[p]);
        if PERSONAS[p] == "invited" {
            assert_eq!(shared[0]["sync_status"], "invited");
            assert!(
                shared[0].get("bucket").is_none(),
                "no settings for an invitee"
            );
            assert!(shared[0].get("resource_count").is_none());
        }
    }
    finish(w).await;
}

async fn server_functions(backend: &str) {
    let w = world(backend).await;
    let (ds, _, _) = w.shared_datasource("shared").await;
    let id = ds.as_str();
    let path = w.db.folder_root().join("shared").display().to_string();
    type Row<'a> = (&'a str, Vec<(&'a str, &'a str)>, [u16; 7]);
    let rows: Vec<Row> = vec![
        ("get_datasource", vec![("id", id)], SEE),
        ("list_children", vec![("id", id)], BROWSE),
        ("get_sharing", vec![("id", id)], BROWSE),
        (
            "update_datasource",
            vec![
                ("id", id),
                ("title", "renamed"),
                ("type_sync", "one"),
                ("path", &path),
            ],
            CONFIGURE,
        ),
        (
            "set_role",
            vec![
                ("id", id),
                ("user", "viewer@example.com"),
                ("role", "viewer"),
            ],
            owner_only(200),
        ),
    ];
    for (name, form, want) in rows {
        let mut got = Vec::new();
        for p in 0..PERSONAS.len() {
            got.push(w.rpc(p, name, &form).await);
        }
        check(&got, &want, name);
    }
    let mut invite = Vec::new();
    let mut revoke = Vec::new();
    let mut delete = Vec::new();
    for (p, persona) in PERSONAS.iter().enumerate() {
        let email = format!("rpc-{persona}@example.com");
        invite.push(
            w.rpc(
                p,
                "invite",
                &[("id", id), ("email", &email), ("role", "viewer")],
            )
            .await,
        );
        let (fresh, _, spare) = w.shared_datasource(&format!("rpc {persona}")).await;
        revoke.push(
            w.rpc(
                p,
                "revoke_invitation",
                &[("id", &fresh), ("invitation_id", &spare)],
            )
            .await,
        );
        let title = format!("rpc {persona}");
        delete.push(
            w.rpc(
                p,
                "delete_datasource",
                &[("id", &fresh), ("confirm_title", &title)],
            )
            .await,
        );
    }
    check(&invite, &owner_only(200), "invite");
    check(&revoke, &owner_only(200), "revoke_invitation");
    check(&delete, &owner_only(200), "delete_datasource");
    finish(w).await;
}

/// Account-wide endpoints: user administration is for admins; invitations and tokens are
/// one's own.
async fn account_endpoints(backend: &str) {
    let w = world(backend).await;
    let (ds, _, _) = w.shared_datasource("shared").await;
    let invitation = w
        .engine
        .store()
        .pending_invitation(&ds, "invited@example.com")
        .await
        .unwrap()
        .unwrap();
    const ADMIN_ONLY: [u16; 7] = [401, 403, 403, 403, 403, 403, 200];
    const ANY_USER: [u16; 7] = [401, 200, 200, 200, 200, 200, 200];
    for (method, path, want) in [
        (Method::GET, "/api/users", ADMIN_ONLY),
        (Method::GET, "/api/invitations", ANY_USER),
        (Method::GET, "/api/@me", ANY_USER),
        (Method::GET, "/api/@me/tokens", ANY_USER),
    ] {
        let mut got = Vec::new();
        for p in 0..PERSONAS.len() {
            got.push(w.rest(p, method.clone(), path, None).await);
        }
        check(&got, &want, path);
    }
    let mut got = Vec::new();
    for p in 0..PERSONAS.len() {
        got.push(w.rpc(p, "list_users", &[]).await);
    }
    check(&got, &ADMIN_ONLY, "list_users");

    // Only the addressee can accept: everyone else gets a 404, and it stays pending until the
    // invitee's own call.
    let path = format!("/api/invitations/{}/@accept", invitation.id);
    let mut got = Vec::new();
    for p in 0..PERSONAS.len() {
        got.push(w.rest(p, Method::POST, &path, None).await);
    }
    check(&got, &[401, 404, 200, 404, 404, 404, 404], "accept");
    finish(w).await;
}
