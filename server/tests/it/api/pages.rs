//! Pages and server functions: sign-in redirects, cross-site refusals, flashes.

use super::*;

on_both!(
    spawn =>
    pages_and_server_functions,
    flashes_ride_the_redirect,
);

async fn pages_and_server_functions(app: &TestApp) {
    let r = app.http.get(app.url("/datasources")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=/datasources");
    let cookie = format!("tributary_session={}", app.token);
    let page = app
        .http
        .get(app.url("/datasources"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("data-testid=\"empty-state\""),
        "a fresh database shows the empty state"
    );
    assert!(html.contains(ADMIN.0), "the header names who is signed in");

    app.post(
        "/api/datasources",
        json!({"@type": "S3Datasource", "title": "Listed on the page", "bucket": "abc"}),
    )
    .await;
    let html = app.page_html("/datasources").await;
    assert!(html.contains("Listed on the page"));
    assert!(!html.contains("empty-state"));

    // The server function behind the page, as the browser calls it (browsers say where a
    // request comes from; a request from another site, or none at all, is refused).
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://evil.example"),
        ("x-none", "no origin headers"),
    ] {
        let r = app
            .http
            .post(app.url("/rpc/create_datasource"))
            .header("cookie", &cookie)
            .header(header, value)
            .form(&[
                ("kind", "S3Datasource"),
                ("title", "forged"),
                ("bucket", "abc"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{header}: {value}");
        assert!(r.text().await.unwrap().contains("cross-site"));
    }
    assert_eq!(app.count().await, 1, "forged requests created nothing");
    let r = app
        .http
        .post(app.url("/rpc/list_datasources"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .form(&[("page_size", "5")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["title"], "Listed on the page");
    let r = app
        .http
        .post(app.url("/rpc/list_datasources"))
        .form(&[("page_size", "5")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], 401);
}

/// The flash cookies a response set (name → value) and the ones it cleared.
fn flash_cookies(r: &reqwest::Response) -> (Vec<(String, String)>, Vec<String>) {
    let (mut set, mut cleared) = (Vec::new(), Vec::new());
    for v in r.headers().get_all("set-cookie") {
        let v = v.to_str().unwrap();
        let Some((name, rest)) = v.split_once('=') else {
            continue;
        };
        if !name.starts_with("tributary_flash") {
            continue;
        }
        let value = rest.split(';').next().unwrap_or("");
        if v.contains("Max-Age=0") {
            cleared.push(name.to_owned());
        } else {
            set.push((name.to_owned(), value.to_owned()));
        }
    }
    (set, cleared)
}

/// What a form said, carried over its redirect in cookies (as the page's script and a browser
/// without JavaScript both post forms): a page of bulk results with long titles and refusals
/// comes back whole over several cookies, is read once, and a later flash is not mixed with
/// an earlier one's leftovers; a live refetch leaves it alone.
async fn flashes_ride_the_redirect(app: &TestApp) {
    let session = format!("tributary_session={}", app.token);
    let title = |i: usize| format!("{} {i:02}", "Архив договоров и переписки ".repeat(6));
    let mut ids = Vec::new();
    for i in 0..20 {
        let (s, v) = app
            .post(
                "/api/datasources",
                json!({"@type": "S3Datasource", "title": title(i), "bucket": "abc", "type_sync": "arch", "endpoint": "http://127.0.0.1:9"}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    let list = app.url("/datasources?sort=title");
    let bulk = |action: &'static str, cookie: String| {
        let mut form: Vec<(String, String)> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (format!("ids[{i}]"), id.clone()))
            .collect();
        form.push(("action".into(), action.into()));
        app.http
            .post(app.url("/rpc/bulk_form"))
            .header("cookie", cookie)
            .header("accept", "text/html")
            .header("sec-fetch-site", "same-origin")
            .header("referer", &list)
            .form(&form)
            .send()
    };
    let with = |cookies: &[(String, String)]| {
        std::iter::once(session.clone())
            .chain(cookies.iter().map(|(n, v)| format!("{n}={v}")))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let page = |cookie: String, live: bool| {
        let mut req = app.http.get(&list).header("cookie", cookie);
        if live {
            req = req.header("x-tributary-live", "1");
        }
        req.send()
    };

    // Pausing them all, then again: twenty refusals, each with its whole reason.
    let r = bulk("pause", session.clone()).await.unwrap();
    assert_eq!(r.status(), 302);
    let r = page(with(&flash_cookies(&r).0), false).await.unwrap();
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Paused 20 of 20 datasources")
    );
    let r = bulk("pause", session.clone()).await.unwrap();
    assert_eq!(r.status(), 302);
    let (chunks, _) = flash_cookies(&r);
    assert!(
        chunks.len() > 1,
        "more than a cookie's worth: {}",
        chunks.len()
    );
    assert!(chunks.iter().all(|(_, v)| v.len() < 4000));

    // A live refetch neither shows nor clears it.
    let r = page(with(&chunks), true).await.unwrap();
    assert_eq!(flash_cookies(&r), (vec![], vec![]));
    let html = r.text().await.unwrap();
    assert!(!html.contains("data-testid=\"bulk-result\""));

    // The page it returns to shows every row whole, and clears every cookie it read.
    let r = page(with(&chunks), false).await.unwrap();
    let (_, cleared) = flash_cookies(&r);
    assert_eq!(cleared.len(), chunks.len());
    let html = r.text().await.unwrap();
    assert!(html.contains("Paused 0 of 20 datasources"));
    assert_eq!(html.matches("data-testid=\"bulk-result\"").count(), 20);
    assert_eq!(
        html.matches("cannot pause a datasource whose status is &#39;paused&#39;")
            .count()
            + html
                .matches("cannot pause a datasource whose status is 'paused'")
                .count(),
        20,
        "each refusal whole"
    );
    for i in 0..20 {
        assert!(html.contains(&title(i)), "title {i} whole");
    }

    // That long flash left unread, a short one: its answer clears the leftovers, so the page
    // shows the short one.
    let r = bulk("pause", session.clone()).await.unwrap();
    let (long, _) = flash_cookies(&r);
    let r = app
        .http
        .post(app.url("/rpc/resume_datasource"))
        .header("cookie", with(&long))
        .header("accept", "text/html")
        .header("sec-fetch-site", "same-origin")
        .header("referer", &list)
        .form(&[("id", ids[0].as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let (short, cleared) = flash_cookies(&r);
    assert_eq!(short.len(), 1);
    assert_eq!(
        cleared.len(),
        long.len() - 1,
        "the long flash's other cookies"
    );
    let r = page(with(&short), false).await.unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("Resuming from where it paused"));
    assert!(!html.contains("data-testid=\"bulk-result\""));
}
