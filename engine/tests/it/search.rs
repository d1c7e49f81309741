//! The processing pipeline and search, end to end inside the engine, on SQLite and PostgreSQL:
//! a folder of mixed documents is synced, extracted and indexed; searches find exactly what
//! each format holds, only for people who may see it; deletions never show, even before the
//! index has caught up; a rebuilt index answers the same.

use std::fs;
use std::path::PathBuf;

use engine::Engine;
use engine::domain::AccountRole;
use engine::manager::{ManagerConfig, SpyderManager};
use engine::model::{Processed, User};
use engine::process::{Pipeline, PipelineConfig};
use engine::search::SearchIndex;
use engine::testing::{TestDb, sample_docx, sample_pdf};
use serde_json::{Value, json};

use crate::common::on_both;

on_both!(
    mixed_documents_are_searchable,
    search_rules_and_errors,
    an_outcome_for_content_that_changed_meanwhile_is_left_out,
    segment_merges_wait_for_the_end_of_a_backlog,
    a_long_backlog_still_merges_its_segments,
    a_failed_catch_up_still_lets_the_segments_merge,
    a_catch_up_commits_once,
    fed_documents_are_searchable_after_the_next_commit,
    text_in_other_encodings_is_searchable,
    a_resource_without_content_is_processed_from_its_metadata,
    each_processed_batch_is_announced_per_datasource,
    a_forged_cursor_cannot_page_a_search_too_deep,
);

/// Cursors are not secret: a client can write one that points a million results down, which
/// would make the index collect a million hits. Such a page is refused.
async fn a_forged_cursor_cannot_page_a_search_too_deep(c: Ctx) -> TestDb {
    use sha2::Digest;
    let (_mine, _) = c.datasource("deep", &[("a.txt", b"word".to_vec())]).await;
    let digest: String = sha2::Sha256::digest(json!({"query": "word"}).to_string().as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let scope = format!("search:{}:*:{digest}", c.u.id);
    for (after, ok) in [(10_000, true), (10_001, false), (1_000_000_000_000, false)] {
        let forged = engine::domain::Cursor::new(scope.clone(), after).encode();
        let r =
            c.e.search(&c.u, None, &json!({"query": "word", "scroll": forged}))
                .await;
        match (r, ok) {
            (Ok(_), true) => {}
            (Err(e), false) => {
                assert_eq!((e.status_code(), e.field()), (422, Some("scroll")), "{e}")
            }
            (r, _) => panic!("cursor at {after}: {:?}", r.map(|p| p.total)),
        }
    }
    c.db
}

struct Ctx {
    e: Engine,
    m: SpyderManager,
    p: Pipeline,
    u: User,
    db: TestDb,
}

async fn run<F, Fut>(backend: &str, f: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: std::future::Future<Output = TestDb>,
{
    let db = TestDb::new(backend).await.expect("database");
    let index = SearchIndex::in_memory().unwrap();
    let e = db
        .engine()
        .await
        .expect("engine")
        .with_search(index.clone());
    let m = SpyderManager::new(e.clone(), ManagerConfig::new(db.dir.path().join("blobs")));
    let p = Pipeline::new(
        e.clone(),
        m.blobs().clone(),
        index,
        PipelineConfig::default(),
    );
    let u = e
        .create_user("owner@example.com", "", "password123", AccountRole::Admin)
        .await
        .unwrap();
    let db = f(Ctx { e, m, p, u, db }).await;
    db.cleanup().await.unwrap();
}

impl Ctx {
    fn folder(&self, name: &str) -> PathBuf {
        let p = self.db.folder_root().join(name);
        fs::create_dir_all(&p).unwrap();
        fs::canonicalize(p).unwrap()
    }

    /// A synced, processed Folder datasource of `files`.
    async fn datasource(&self, name: &str, files: &[(&str, Vec<u8>)]) -> (String, PathBuf) {
        let root = self.folder(name);
        for (rel, bytes) in files {
            let p = root.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, bytes).unwrap();
        }
        let ds = self
            .e
            .create_datasource(
                &self.u,
                &json!({"@type": "FolderDatasource", "title": name, "path": root.display().to_string()}),
            )
            .await
            .unwrap();
        self.m.run_due_now().await.unwrap();
        self.p.drain().await.unwrap();
        (ds.id, root)
    }

    /// Each `(word, file)`: searching `datasource` for the word finds that file alone.
    async fn finds_each(&self, datasource: &str, cases: &[(&str, &str)]) {
        for (word, file) in cases {
            let found = self
                .find(&self.u, Some(datasource), json!({"query": word}))
                .await;
            assert_eq!(found, [*file], "{word}");
        }
    }

    async fn find(&self, user: &User, scope: Option<&str>, body: Value) -> Vec<String> {
        self.e
            .search(user, scope, &body)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|h| h.resource.name)
            .collect()
    }
}

const MAIL: &str = "From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: Budget\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/plain\r\n\r\nThe mailbodyword is here.\r\n--b\r\n\
Content-Type: text/plain\r\nContent-Disposition: attachment; filename=\"numbers.txt\"\r\n\r\n\
attachmentword inside\r\n--b--\r\n";

fn files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("notes.txt", b"alpha zebra notes about the quarterly plan".to_vec()),
        ("readme.md", b"# Heading\nmarkdownword and the quarterly plan".to_vec()),
        (
            "page.html",
            b"<!doctype html><html><head><style>.cssword{}</style><script>var scriptword=1</script></head><body><p>visible giraffe text</p></body></html>".to_vec(),
        ),
        ("table.csv", b"name,value\ncsvword,42\n".to_vec()),
        ("data.json", br#"{"key": "jsonword"}"#.to_vec()),
        ("docs/report.pdf", sample_pdf("Annual pdfonlyword results")),
        ("docs/letter.docx", sample_docx("Dear docxword reader")),
        ("mail/budget.eml", MAIL.as_bytes().to_vec()),
        ("broken.pdf", b"%PDF-1.4\ngarbage that is not a pdf".to_vec()),
        ("blob.bin", vec![0u8, 159, 146, 150, 0, 1, 2, 3]),
    ]
}

async fn mixed_documents_are_searchable(c: Ctx) -> TestDb {
    let (id, root) = c.datasource("mixed", &files()).await;
    let children = c.e.store().known_after(&id, "", 100).await.unwrap().len();
    assert_eq!(children, 10);
    let q = |s: &str| json!({"query": s});

    // Each format's own word finds exactly its file; scripts and styles are not text.
    c.finds_each(
        &id,
        &[
            ("zebra", "notes.txt"),
            ("markdownword", "readme.md"),
            ("giraffe", "page.html"),
            ("csvword", "table.csv"),
            ("jsonword", "data.json"),
            ("pdfonlyword", "report.pdf"),
            ("docxword", "letter.docx"),
            ("mailbodyword", "budget.eml"),
            ("attachmentword", "budget.eml"),
        ],
    )
    .await;
    for hidden in ["scriptword", "cssword"] {
        assert!(
            c.find(&c.u, Some(&id), q(hidden)).await.is_empty(),
            "{hidden}"
        );
    }
    // Names are searchable too, even of files without text.
    assert_eq!(c.find(&c.u, Some(&id), q("blob")).await, ["blob.bin"]);

    // Processing status and reasons, per resource.
    let ids: Vec<String> =
        c.e.store()
            .known_after(&id, "", 100)
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.id)
            .collect();
    let all = c.e.store().resources_with_text(&ids).await.unwrap();
    let text_of = |n: &str| all.iter().find(|(r, _)| r.name == n).unwrap().1.clone();
    assert!(text_of("report.pdf").unwrap().contains("pdfonlyword"));
    assert_eq!(
        text_of("blob.bin").unwrap_or_default(),
        "",
        "metadata only: no text"
    );
    let by_name = |n: &str| all.iter().find(|(r, _)| r.name == n).unwrap().0.clone();
    let broken = by_name("broken.pdf");
    assert_eq!(broken.processing_status, "failed");
    assert!(
        broken
            .processing_error
            .as_deref()
            .unwrap()
            .starts_with("corrupt")
    );
    let pdf = by_name("report.pdf");
    assert_eq!(
        (pdf.processing_status.as_str(), pdf.media_type.as_deref()),
        ("processed", Some("application/pdf"))
    );
    let bin = by_name("blob.bin");
    assert_eq!(bin.processing_status, "processed");
    assert_eq!(bin.media_type.as_deref(), Some("application/octet-stream"));

    // Snippets highlight the match, escaped.
    let r =
        c.e.search(&c.u, Some(&id), &q("pdfonlyword"))
            .await
            .unwrap();
    assert!(
        r.items[0].snippet.contains("<mark>pdfonlyword</mark>"),
        "{}",
        r.items[0].snippet
    );
    assert_eq!(r.total, 1);
    // A prefix marks the words it matched, not the ones an excluded prefix names; so does
    // the advanced form's, but not one that searched the title only.
    let advanced = |var: &str, text: &str| {
        json!({"advanced": {"and": [{"text_contains": [{"var": var}, text]}],
                            "and_not": [{"text_contains": [{"var": "extracted_text"}, "quart*"]}]}})
    };
    for (body, marked) in [
        (q("zebr* -pdfonly*"), Some("zebra")),
        (advanced("extracted_text", "gira*"), Some("giraffe")),
        (advanced("title", "pag*"), None),
    ] {
        let r = c.e.search(&c.u, Some(&id), &body).await.unwrap();
        assert_eq!(r.items.len(), 1, "{body}");
        let s = &r.items[0].snippet;
        match marked {
            Some(w) => assert!(
                s.contains(&format!("<mark>{w}</mark>")) && s.matches("<mark>").count() == 1,
                "{body}: {s}"
            ),
            None => assert_eq!(s, "", "{body}"),
        }
    }

    // Phrases, prefixes, OR, exclusion, and Onna's advanced form.
    assert_eq!(
        c.find(&c.u, Some(&id), q("\"quarterly plan\" -markdownword"))
            .await,
        ["notes.txt"]
    );
    let mut pre = c.find(&c.u, Some(&id), q("zeb* OR giraf*")).await;
    pre.sort();
    assert_eq!(pre, ["notes.txt", "page.html"]);
    let adv = json!({"advanced": {
        "and": [{"text_contains": [{"var": "extracted_text"}, "quarterly"]}],
        "and_not": [{"text_contains": [{"var": "extracted_text"}, "zebra"]}]}});
    assert_eq!(c.find(&c.u, Some(&id), adv).await, ["readme.md"]);

    // Filters: media type (exact or family), path prefix, modification time.
    let f = |filters: Value| json!({"query": "quarterly OR pdfonlyword OR docxword", "filters": filters});
    assert_eq!(
        c.find(&c.u, Some(&id), f(json!({"media_type": "application/pdf"})))
            .await,
        ["report.pdf"]
    );
    let mut text = c
        .find(&c.u, Some(&id), f(json!({"media_type": "text/"})))
        .await;
    text.sort();
    assert_eq!(text, ["notes.txt", "readme.md"]);
    let mut docs = c
        .find(&c.u, Some(&id), f(json!({"path_prefix": "/docs/"})))
        .await;
    docs.sort();
    assert_eq!(docs, ["letter.docx", "report.pdf"]);
    assert!(
        c.find(&c.u, Some(&id), f(json!({"modified_before": "2000-01-01"})))
            .await
            .is_empty()
    );
    assert_eq!(
        c.find(&c.u, Some(&id), f(json!({"modified_after": "2000-01-01"})))
            .await
            .len(),
        4
    );

    // An `auto` deletion never shows, even before the index has caught up.
    let mut ds = c.e.store().datasource(&id).await.unwrap().unwrap();
    ds.type_sync = "auto".parse().unwrap();
    c.e.store().update_datasource(&ds).await.unwrap();
    fs::remove_file(root.join("notes.txt")).unwrap();
    c.e.send_to_spyder(&c.u, &id, false).await.unwrap();
    c.m.run_due_now().await.unwrap();
    let r = c.e.search(&c.u, Some(&id), &q("zebra")).await.unwrap();
    assert!(r.items.is_empty(), "deleted, not yet applied to the index");
    c.p.drain().await.unwrap();
    let r = c.e.search(&c.u, Some(&id), &q("zebra")).await.unwrap();
    assert_eq!((r.items.len(), r.total), (0, 0), "and gone from the index");

    // @sendToCompute: all of it again, or one resource; processing redoes the same.
    assert_eq!(c.e.send_to_compute(&c.u, &id, None).await.unwrap(), 9);
    assert_eq!(
        c.e.send_to_compute(&c.u, &id, Some(&pdf.id)).await.unwrap(),
        1
    );
    let e =
        c.e.send_to_compute(&c.u, &id, Some("nope"))
            .await
            .unwrap_err();
    assert_eq!(e.status_code(), 404);
    assert_eq!(c.p.drain().await.unwrap(), 9);
    assert_eq!(
        c.find(&c.u, Some(&id), q("pdfonlyword")).await,
        ["report.pdf"]
    );

    // A rebuilt index (from the database alone) answers the same.
    let fresh = SearchIndex::in_memory().unwrap();
    assert_eq!(fresh.rebuild(c.e.store().as_ref()).await.unwrap(), 9);
    let e2 = c.e.clone().with_search(fresh);
    let r = e2.search(&c.u, Some(&id), &q("pdfonlyword")).await.unwrap();
    assert_eq!(r.items[0].resource.name, "report.pdf");
    assert!(r.items[0].snippet.contains("<mark>pdfonlyword</mark>"));

    // An index on disk from an older schema is recreated empty when opened (start-up then
    // rebuilds it from the database).
    let dir = c.db.dir.path().join("index");
    let on_disk = SearchIndex::open(&dir).unwrap();
    assert_eq!(on_disk.rebuild(c.e.store().as_ref()).await.unwrap(), 9);
    assert_eq!(on_disk.len(), 9);
    // Closing (after its merges) is refused while the index is shared; closed, it has let go
    // of its writer's lock, so it opens again at once.
    let shared = on_disk.clone();
    assert!(on_disk.close().is_err(), "still shared");
    shared.close().unwrap();
    assert_eq!(
        SearchIndex::open(&dir).unwrap().len(),
        9,
        "same schema: kept"
    );
    std::fs::write(dir.join("tributary-schema"), "1").unwrap();
    let reopened = SearchIndex::open(&dir).unwrap();
    assert!(reopened.is_empty(), "older schema: recreated");
    assert_eq!(reopened.rebuild(c.e.store().as_ref()).await.unwrap(), 9);
    drop(reopened);

    // Deleting the datasource takes its documents out of the index.
    c.e.delete_datasource(&c.u, &id).await.unwrap();
    c.p.drain().await.unwrap();
    assert_eq!(c.e.search_index().unwrap().len(), 0);
    c.db
}

/// Text files saved by Windows tools: "Unicode" (UTF-16 with a byte-order mark, either byte
/// order) and the single-byte Windows-1252, are text like UTF-8's, not binaries.
async fn text_in_other_encodings_is_searchable(c: Ctx) -> TestDb {
    let utf16 = |text: &str, le: bool| -> Vec<u8> {
        let mut out = if le {
            vec![0xFF, 0xFE]
        } else {
            vec![0xFE, 0xFF]
        };
        for unit in text.encode_utf16() {
            out.extend(if le {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            });
        }
        out
    };
    let files = vec![
        (
            "unicode.txt",
            utf16("Grüße aus Köln: littlendianword", true),
        ),
        ("bigendian.txt", utf16("naïve bigendianword", false)),
        // "Crème brûlée – €5" in Windows-1252 (é, û, the dash and the euro sign are single bytes).
        (
            "menu.txt",
            b"Cr\xe8me br\xfbl\xe9e \x96 \x805 latinword".to_vec(),
        ),
        ("prices.csv", b"item;price\nfa\xe7ade;12\n".to_vec()),
    ];
    let (id, _) = c.datasource("encodings", &files).await;
    c.finds_each(
        &id,
        &[
            ("köln", "unicode.txt"),
            ("littlendianword", "unicode.txt"),
            ("naïve", "bigendian.txt"),
            ("brûlée", "menu.txt"),
            ("latinword", "menu.txt"),
            ("façade", "prices.csv"),
        ],
    )
    .await;
    let ids = resource_ids(&c, &id).await;
    let all = c.e.store().resources_with_text(&ids).await.unwrap();
    let get = |n: &str| all.iter().find(|(r, _)| r.name == n).unwrap().clone();
    let (menu, text) = get("menu.txt");
    assert_eq!(
        (menu.media_type.as_deref(), text.as_deref()),
        (Some("text/plain"), Some("Crème brûlée – €5 latinword"))
    );
    let (unicode, text) = get("unicode.txt");
    assert_eq!(
        (unicode.media_type.as_deref(), text.as_deref()),
        (Some("text/plain"), Some("Grüße aus Köln: littlendianword")),
        "decoded, without its byte-order mark"
    );
    assert_eq!(get("prices.csv").0.media_type.as_deref(), Some("text/csv"));
    c.db
}

/// A resource recorded without content (as `tributary seed-children` records them) is
/// processed all the same: nothing to extract, its name and path searchable.
async fn a_resource_without_content_is_processed_from_its_metadata(c: Ctx) -> TestDb {
    let (id, _) = c.datasource("seeded", &[]).await;
    let seeded = engine::service::sample_resource(&id, 7);
    c.e.add_resources(&id, std::slice::from_ref(&seeded))
        .await
        .unwrap();
    assert_eq!(c.p.drain().await.unwrap(), 1);
    let q = json!({"query": "file_0000007"});
    assert_eq!(c.find(&c.u, Some(&id), q).await, ["file_0000007.txt"]);
    let all = c.e.store().resources_with_text(&[seeded.id]).await.unwrap();
    let (r, text) = &all[0];
    assert_eq!(
        (r.processing_status.as_str(), r.processing_error.as_deref()),
        ("processed", None)
    );
    assert_eq!(text.as_deref().unwrap_or_default(), "");
    c.db
}

/// Pages showing resources follow their processing live: every batch the pipeline finishes
/// announces `Processed` once for each datasource it held, and nothing when there was nothing.
async fn each_processed_batch_is_announced_per_datasource(c: Ctx) -> TestDb {
    let mut ids = Vec::new();
    for (name, n) in [("seven", 7), ("two", 2)] {
        let root = c.folder(name);
        for i in 0..n {
            fs::write(root.join(format!("f{i}.txt")), format!("word{i}")).unwrap();
        }
        let ds =
            c.e.create_datasource(
                &c.u,
                &json!({"@type": "FolderDatasource", "title": name, "path": root.display().to_string()}),
            )
            .await
            .unwrap();
        ids.push(ds.id);
        c.m.run_due_now().await.unwrap();
    }
    // Three at a time: [7 7 7] [7 7 7] [7 2 2], oldest first. (Its own index: only the
    // announcements are looked at here.)
    let p = Pipeline::new(
        c.e.clone(),
        c.m.blobs().clone(),
        SearchIndex::in_memory().unwrap(),
        PipelineConfig {
            batch: 3,
            ..PipelineConfig::default()
        },
    );
    let mut events = c.e.events().listen();
    assert_eq!(p.drain().await.unwrap(), 9);
    assert_eq!(p.drain().await.unwrap(), 0);
    let mut heard = Vec::new();
    while let Ok(Some(h)) =
        tokio::time::timeout(std::time::Duration::from_millis(50), events.next()).await
    {
        match h {
            engine::events::Heard::Change(ch) => heard.push((ch.datasource_id, ch.what)),
            other => panic!("{other:?}"),
        }
    }
    let processed = |id: &str| {
        heard
            .iter()
            .filter(|(d, w)| d == id && *w == engine::events::What::Processed)
            .count()
    };
    assert_eq!(
        (processed(&ids[0]), processed(&ids[1])),
        (3, 1),
        "{heard:?}"
    );
    assert_eq!(heard.len(), 4, "nothing else: {heard:?}");
    // On the wire it is its own event, naming only the datasource.
    let wire = serde_json::to_value(&engine::events::Change {
        datasource_id: ids[1].clone(),
        what: engine::events::What::Processed,
    })
    .unwrap();
    assert_eq!(wire, json!({"datasource_id": ids[1], "event": "processed"}));
    c.db
}

async fn search_rules_and_errors(c: Ctx) -> TestDb {
    let (mine, _) = c
        .datasource("mine", &[("a.txt", b"sharedword mine".to_vec())])
        .await;
    let other =
        c.e.create_user("other@example.com", "", "password123", AccountRole::Admin)
            .await
            .unwrap();
    // Someone else's datasource with the same word: never in my results.
    let root = c.folder("theirs");
    fs::write(root.join("b.txt"), "sharedword theirs").unwrap();
    let theirs = c
        .e
        .create_datasource(
            &other,
            &json!({"@type": "FolderDatasource", "title": "theirs", "path": root.display().to_string()}),
        )
        .await
        .unwrap();
    c.m.run_due_now().await.unwrap();
    c.p.drain().await.unwrap();
    let q = json!({"query": "sharedword"});
    assert_eq!(c.find(&c.u, None, q.clone()).await, ["a.txt"]);
    // The count, too, is of what I may see.
    let r = c.e.search(&c.u, None, &q).await.unwrap();
    assert_eq!((r.items.len(), r.total, r.cursor), (1, 1, None));
    assert_eq!(c.find(&other, None, q.clone()).await, ["b.txt"]);
    let e = c.e.search(&c.u, Some(&theirs.id), &q).await.unwrap_err();
    assert_eq!(e.status_code(), 404, "a stranger cannot probe");
    // Shared as viewer: searchable, but not sent to processing.
    let inv =
        c.e.invite(
            &other,
            &theirs.id,
            &json!({"email": c.u.email, "role": "viewer"}),
        )
        .await
        .unwrap();
    assert!(
        c.find(&c.u, None, q.clone()).await == ["a.txt"],
        "only invited: not searchable yet"
    );
    c.e.accept_invitation(&c.u, &inv.id).await.unwrap();
    let mut both = c.find(&c.u, None, q.clone()).await;
    both.sort();
    assert_eq!(both, ["a.txt", "b.txt"]);
    // Seeing every datasource in the index, the search runs unrestricted; the same answers.
    let r =
        c.e.search(&c.u, None, &json!({"query": "sharedword OR nosuchword"}))
            .await
            .unwrap();
    assert_eq!(r.total, 2);
    let r =
        c.e.search(&c.u, None, &json!({"query": "sharedword -theirs"}))
            .await
            .unwrap();
    assert_eq!((r.items.len(), r.total), (1, 1));
    // ... while the owner of one still sees only theirs.
    let r = c.e.search(&other, None, &q).await.unwrap();
    assert_eq!((r.items.len(), r.total), (1, 1));
    let e =
        c.e.send_to_compute(&c.u, &theirs.id, None)
            .await
            .unwrap_err();
    assert_eq!(e.status_code(), 403);

    // Paging with the cursor, tied to its query.
    for i in 0..25 {
        fs::write(c.folder("mine").join(format!("p{i:02}.txt")), "pagedword").unwrap();
    }
    c.e.send_to_spyder(&c.u, &mine, true).await.unwrap();
    c.m.run_due_now().await.unwrap();
    c.p.drain().await.unwrap();
    let first =
        c.e.search(
            &c.u,
            Some(&mine),
            &json!({"query": "pagedword", "size": 10}),
        )
        .await
        .unwrap();
    assert_eq!((first.items.len(), first.total), (10, 25));
    let mut seen: Vec<String> = first.items.iter().map(|h| h.resource.id.clone()).collect();
    let mut cursor = first.cursor.clone();
    while let Some(cur) = cursor {
        let page =
            c.e.search(
                &c.u,
                Some(&mine),
                &json!({"query": "pagedword", "size": 10, "scroll": cur}),
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|h| h.resource.id.clone()));
        cursor = page.cursor;
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25, "every hit once");
    // The same over everything I see (every datasource in the index: ranked by pruning).
    let mut everywhere = Vec::new();
    let mut scroll = Value::Null;
    loop {
        let page =
            c.e.search(
                &c.u,
                None,
                &json!({"query": "pagedword", "size": 7, "scroll": scroll}),
            )
            .await
            .unwrap();
        assert_eq!(page.total, 25);
        everywhere.extend(page.items.iter().map(|h| h.resource.id.clone()));
        match page.cursor {
            Some(c) => scroll = Value::String(c),
            None => break,
        }
    }
    everywhere.sort();
    assert_eq!(everywhere, seen, "every hit once, the same hits");
    let e =
        c.e.search(
            &c.u,
            Some(&mine),
            &json!({"query": "other", "scroll": first.cursor.unwrap()}),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status_code(), 400, "a cursor belongs to its query");

    // Bad requests say what is wrong.
    for (body, field) in [
        (json!({}), "query"),
        (json!({"query": "\"open"}), "query"),
        (json!({"query": 3}), "query"),
        (json!({"query": "x", "advanced": {}}), "advanced"),
        (json!({"query": "x", "size": 0}), "size"),
        (json!({"query": "x", "size": 101}), "size"),
        (json!({"query": "x", "sort": "y"}), "sort"),
        (
            json!({"query": "x", "filters": {"colour": "red"}}),
            "filters.colour",
        ),
        (
            json!({"query": "x", "filters": {"modified_after": "yesterday"}}),
            "filters.modified_after",
        ),
        (
            json!({"advanced": {"and": [{"text_contains": [{"var": "x"}, "y"]}]}}),
            "advanced.and[0].text_contains",
        ),
    ] {
        let e = c.e.search(&c.u, Some(&mine), &body).await.unwrap_err();
        assert_eq!(e.status_code(), 422, "{body}");
        assert!(e.to_string().contains(field), "{body}: {e}");
    }
    c.db
}

/// Outcomes are committed a chunk at a time; one for a resource whose content changed while it
/// was being extracted writes nothing (no text, no outbox entry, no status): the resource is
/// pending again and its new content is what ends up searchable.
async fn an_outcome_for_content_that_changed_meanwhile_is_left_out(c: Ctx) -> TestDb {
    let root = c.folder("meanwhile");
    for (name, text) in [
        ("a.txt", "oldword one"),
        ("b.txt", "oldword two"),
        ("c.txt", "oldword three"),
    ] {
        fs::write(root.join(name), text).unwrap();
    }
    let ds =
        c.e.create_datasource(
            &c.u,
            &json!({"@type": "FolderDatasource", "title": "m", "path": root.display().to_string()}),
        )
        .await
        .unwrap();
    c.m.run_due_now().await.unwrap();
    let store = c.e.store().clone();
    let claimed = claim(store.as_ref(), 10).await;
    assert_eq!(claimed.len(), 3);
    let head = store.outbox_head().await.unwrap();

    // b.txt changes while the batch is being extracted; the next sync collects it.
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(root.join("b.txt"), "newword two, changed").unwrap();
    c.e.send_to_spyder(&c.u, &ds.id, true).await.unwrap();
    c.m.run_due_now().await.unwrap();

    let done: Vec<engine::model::Processed> = claimed
        .iter()
        .map(|r| processed_text(r, format!("oldword of {}", r.name)))
        .collect();
    store
        .finish_processing(&done, engine::service::now())
        .await
        .unwrap();
    let by_name = |n: &str| claimed.iter().find(|r| r.name == n).unwrap().id.clone();
    let (a, b) = (by_name("a.txt"), by_name("b.txt"));
    let status = |id: String| {
        let store = store.clone();
        async move {
            store
                .resource(&id)
                .await
                .unwrap()
                .unwrap()
                .processing_status
        }
    };
    assert_eq!(status(a.clone()).await, "processed");
    assert_eq!(
        status(b.clone()).await,
        "pending",
        "changed: to be processed anew"
    );
    assert_eq!(
        store.extract_body(&a).await.unwrap().as_deref(),
        Some("oldword of a.txt")
    );
    assert_eq!(store.extract_body(&b).await.unwrap(), None);
    let mut queued: Vec<String> = store
        .outbox_after(head, 100)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|o| o.resource_id)
        .collect();
    queued.sort();
    let mut expected = vec![a, by_name("c.txt")];
    expected.sort();
    assert_eq!(
        queued, expected,
        "outbox entries for the two that applied only"
    );

    // The pipeline then processes b.txt's new content; the index has what the database has.
    c.p.drain().await.unwrap();
    assert_eq!(status(b).await, "processed");
    let q = |w: &str| json!({"query": w});
    assert_eq!(c.find(&c.u, None, q("newword")).await, vec!["b.txt"]);
    let mut old = c.find(&c.u, None, q("oldword")).await;
    old.sort();
    assert_eq!(old, vec!["a.txt", "c.txt"]);
    c.db
}

/// Processes each of `ids` again on its own and applies it to the index: one commit each.
async fn reindex_one_by_one(c: &Ctx, datasource: &str, ids: &[String]) {
    let index = c.e.search_index().unwrap().clone();
    let store = c.e.store().clone();
    for (i, rid) in ids.iter().enumerate() {
        assert_eq!(
            store
                .requeue_processing(datasource, Some(rid))
                .await
                .unwrap(),
            1
        );
        let now = chrono::Utc::now();
        let claimed = claim(store.as_ref(), 10).await;
        assert_eq!(claimed.len(), 1);
        let done = Processed {
            resource_id: rid.clone(),
            content_hash: claimed[0].content_hash.clone(),
            status: engine::domain::ProcessingStatus::Processed,
            error: None,
            media_type: Some("text/plain".into()),
            body: Some(format!("mergeword round{i}")),
        };
        store.finish_processing(&[done], now).await.unwrap();
        assert_eq!(index.catch_up(store.as_ref()).await.unwrap(), 1);
    }
}

async fn resource_ids(c: &Ctx, datasource: &str) -> Vec<String> {
    c.e.store()
        .known_after(datasource, "", 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect()
}

/// Even while deferred, merging resumes once a backlog has piled up enough segments.
async fn a_long_backlog_still_merges_its_segments(c: Ctx) -> TestDb {
    let n = engine::search::BACKLOG_MERGE_SEGMENTS + 8;
    let files: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| (format!("f{i}.txt"), format!("file {i}").into_bytes()))
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
    let (id, _) = c.datasource("long", &refs).await;
    let ids = resource_ids(&c, &id).await;
    assert_eq!(ids.len(), n);
    let index = c.e.search_index().unwrap().clone();
    index.defer_merges(true);
    reindex_one_by_one(&c, &id, &ids).await;
    let mut waited = 0;
    while index.segments().unwrap() >= engine::search::BACKLOG_MERGE_SEGMENTS {
        assert!(waited < 200, "a long backlog's segments were never merged");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    let all = json!({"query": "mergeword", "size": 100});
    assert_eq!(
        c.e.search(&c.u, Some(&id), &all).await.unwrap().total,
        n as i64
    );
    c.db
}

/// While a backlog is indexed, each catch-up adds segments and none are merged; when it is
/// done, the next catch-up (even with nothing new) lets them merge in the background.
async fn segment_merges_wait_for_the_end_of_a_backlog(c: Ctx) -> TestDb {
    let (id, _) = c.datasource("merges", &files()).await;
    let index = c.e.search_index().unwrap().clone();
    let store = c.e.store().clone();
    let ids = resource_ids(&c, &id).await;
    assert_eq!(ids.len(), 10);
    let q = |w: &str| json!({"query": w, "size": 50});
    index.defer_merges(true);
    // Each resource processed again and indexed on its own: one new segment per catch-up.
    reindex_one_by_one(&c, &id, &ids).await;
    // The first segments lost all their documents and are gone; one segment per round is left.
    assert_eq!(index.segments().unwrap(), 10, "no merge while deferred");
    const _: () = assert!(10 < engine::search::BACKLOG_MERGE_SEGMENTS);
    assert_eq!(c.find(&c.u, Some(&id), q("mergeword")).await.len(), 10);

    index.defer_merges(false);
    assert_eq!(index.catch_up(store.as_ref()).await.unwrap(), 0);
    let mut waited = 0;
    while index.segments().unwrap() >= 10 {
        assert!(waited < 200, "the segments were never merged");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    assert_eq!(c.find(&c.u, Some(&id), q("mergeword")).await.len(), 10);
    assert_eq!(c.find(&c.u, Some(&id), q("round7")).await.len(), 1);
    c.db
}

/// A catch-up applies everything the outbox holds (here more than one page of it) and commits
/// once: every commit ends the indexing threads' segments, and more, smaller segments made the
/// indexing of a backlog slower.
async fn a_catch_up_commits_once(c: Ctx) -> TestDb {
    let n = 2600;
    let files: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| {
            (
                format!("f{i:04}.txt"),
                format!("file number{i}").into_bytes(),
            )
        })
        .collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
    let (id, _) = c.datasource("many", &refs).await;
    let index = c.e.search_index().unwrap().clone();
    let store = c.e.store().clone();
    index.defer_merges(true);
    assert_eq!(store.requeue_processing(&id, None).await.unwrap(), n as i64);
    let now = chrono::Utc::now();
    let claimed = claim(store.as_ref(), n as u32).await;
    assert_eq!(claimed.len(), n);
    let done: Vec<Processed> = claimed
        .iter()
        .map(|r| processed_text(r, format!("again {}", r.name)))
        .collect();
    store.finish_processing(&done, now).await.unwrap();
    assert_eq!(index.catch_up(store.as_ref()).await.unwrap(), n);
    // The documents indexed before were all replaced, so their segments are gone; what is left
    // is what the one commit wrote: a segment per indexing thread at most.
    let segments = index.segments().unwrap();
    assert!(segments <= 2, "{segments} segments after one catch-up");
    // Applied, committed and pruned.
    assert_eq!(index.applied(), 2 * n as i64);
    assert!(store.outbox_after(0, 10).await.unwrap().is_empty());
    let again = json!({"query": "again", "size": 1});
    assert_eq!(
        c.e.search(&c.u, Some(&id), &again).await.unwrap().total,
        n as i64
    );
    c.db
}

/// What `feed` gives the writer is neither searchable nor recorded before a catch-up commits
/// it; an index that stops before (here: is dropped and opened again) applies it again.
async fn fed_documents_are_searchable_after_the_next_commit(c: Ctx) -> TestDb {
    let (id, _) = c.datasource("fed", &files()).await;
    let store = c.e.store().clone();
    let dir = tempfile::tempdir().unwrap();
    let disk = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(disk.rebuild(store.as_ref()).await.unwrap(), 10);
    let committed = disk.applied();
    let hits = |index: &SearchIndex| {
        let q =
            engine::search::query::parse_simple("fedword", index.text_fields(), "query").unwrap();
        index
            .search(&q, std::slice::from_ref(&id), &Default::default(), 0, 10)
            .unwrap()
            .1
    };

    // One resource processed again, with a new word.
    let rid = resource_ids(&c, &id).await[0].clone();
    assert_eq!(store.requeue_processing(&id, Some(&rid)).await.unwrap(), 1);
    let now = chrono::Utc::now();
    let claimed = claim(store.as_ref(), 10).await;
    assert_eq!(claimed.len(), 1);
    let done = processed_text(&claimed[0], "the fedword".into());
    store.finish_processing(&[done], now).await.unwrap();

    assert_eq!(disk.feed(store.as_ref()).await.unwrap(), 1);
    assert_eq!(disk.feed(store.as_ref()).await.unwrap(), 0, "given once");
    assert_eq!(hits(&disk), 0, "not searchable before a commit");
    assert_eq!(disk.applied(), committed);
    let waiting = store.outbox_after(committed, 10).await.unwrap();
    assert_eq!(waiting.len(), 1, "not pruned");

    // Stopped before committing: opened again, it applies the entry again.
    drop(disk);
    let disk = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(disk.applied(), committed);
    assert_eq!(disk.feed(store.as_ref()).await.unwrap(), 1);
    assert_eq!(hits(&disk), 0);
    // The catch-up commits what was fed (nothing new to apply), and prunes it.
    assert_eq!(disk.catch_up(store.as_ref()).await.unwrap(), 0);
    assert_eq!(hits(&disk), 1);
    assert_eq!(disk.applied(), waiting[0].seq);
    assert!(store.outbox_after(0, 10).await.unwrap().is_empty());
    assert_eq!(disk.len(), 10, "replaced, not added");
    c.db
}

/// Claims up to `limit` resources waiting for processing, with a lease of five minutes.
async fn claim(store: &dyn engine::store::Store, limit: u32) -> Vec<engine::model::Resource> {
    let now = chrono::Utc::now();
    store
        .claim_processing(limit, now, now + chrono::Duration::minutes(5))
        .await
        .unwrap()
}

/// A successful plain-text outcome for the claimed resource `r`.
fn processed_text(r: &engine::model::Resource, body: String) -> Processed {
    Processed {
        resource_id: r.id.clone(),
        content_hash: r.content_hash.clone(),
        status: engine::domain::ProcessingStatus::Processed,
        error: None,
        media_type: Some("text/plain".into()),
        body: Some(body),
    }
}

/// Runs one statement on the test database (to break the store for a moment).
async fn execute(db: &TestDb, sql: &str) {
    use sqlx::Connection;
    if db.url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
}

/// The end of a backlog asks the next catch-up to commit so that the segments merge; a
/// catch-up that fails (here: the outbox cannot be read) leaves that to the one after it.
async fn a_failed_catch_up_still_lets_the_segments_merge(c: Ctx) -> TestDb {
    let (id, _) = c.datasource("failed", &files()).await;
    let index = c.e.search_index().unwrap().clone();
    let store = c.e.store().clone();
    let ids = resource_ids(&c, &id).await;
    index.defer_merges(true);
    reindex_one_by_one(&c, &id, &ids).await;
    assert_eq!(index.segments().unwrap(), 10, "no merge while deferred");

    index.defer_merges(false);
    execute(
        &c.db,
        "alter table index_outbox rename to index_outbox_away",
    )
    .await;
    assert!(index.catch_up(store.as_ref()).await.is_err());
    execute(
        &c.db,
        "alter table index_outbox_away rename to index_outbox",
    )
    .await;
    assert_eq!(index.catch_up(store.as_ref()).await.unwrap(), 0);
    let mut waited = 0;
    while index.segments().unwrap() >= 10 {
        assert!(
            waited < 200,
            "the segments were never merged after a failed catch-up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    let q = json!({"query": "mergeword", "size": 50});
    assert_eq!(c.find(&c.u, Some(&id), q).await.len(), 10);
    c.db
}
