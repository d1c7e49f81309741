//! Fresh databases for tests, on both backends. Shared by the engine's, the app's and the
//! server's tests so each opens a database the same way.

use std::path::PathBuf;

use sqlx::Connection;

use crate::error::{EngineError, Result};
use crate::{Engine, EngineConfig};

/// The PostgreSQL server tests use: `$TEST_POSTGRES_URL`, or the local one.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database created for one test and removed by [`TestDb::cleanup`].
pub struct TestDb {
    pub url: String,
    pub dir: tempfile_dir::Dir,
    pg_name: Option<String>,
}

/// A tiny temporary directory (removed on drop) so the engine need not depend on `tempfile`.
pub mod tempfile_dir {
    use std::path::{Path, PathBuf};

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new() -> std::io::Result<Self> {
            let p = std::env::temp_dir().join(format!("tributary-test-{}", crate::clock::new_id()));
            std::fs::create_dir_all(&p)?;
            Ok(Self(p))
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestDb {
    /// A SQLite file in a fresh temporary directory.
    pub async fn sqlite() -> Result<Self> {
        let dir = tempfile_dir::Dir::new().map_err(|e| EngineError::Internal(e.to_string()))?;
        let url = format!("sqlite://{}/test.db", dir.path().display());
        Ok(Self {
            url,
            dir,
            pg_name: None,
        })
    }

    /// A new database on the test PostgreSQL server.
    pub async fn postgres() -> Result<Self> {
        let admin = postgres_admin_url();
        let name = format!("tributary_test_{}", crate::clock::new_id());
        let mut conn = sqlx::PgConnection::connect(&admin).await.map_err(|e| {
            EngineError::Internal(format!("cannot reach test PostgreSQL at {admin}: {e}"))
        })?;
        sqlx::query(&format!("create database {name}"))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_owned())
            .unwrap_or(admin);
        let dir = tempfile_dir::Dir::new().map_err(|e| EngineError::Internal(e.to_string()))?;
        Ok(Self {
            url: format!("{base}/{name}"),
            dir,
            pg_name: Some(name),
        })
    }

    pub async fn new(backend: &str) -> Result<Self> {
        match backend {
            "sqlite" => Self::sqlite().await,
            _ => Self::postgres().await,
        }
    }

    /// An engine over this database whose folder root is `<dir>/folders`.
    pub async fn engine(&self) -> Result<Engine> {
        let root = self.folder_root();
        std::fs::create_dir_all(&root).map_err(|e| EngineError::Internal(e.to_string()))?;
        let root = std::fs::canonicalize(root).map_err(|e| EngineError::Internal(e.to_string()))?;
        Engine::open(
            &self.url,
            EngineConfig {
                folder_roots: vec![root],
                wallet: crate::wallet::Wallet::load_or_create(&self.dir.path().join("wallet.key"))?,
                db_pool: None,
                // The tests' fakes of Dropbox, Slack and S3 listen on loopback.
                egress: crate::egress::Egress::parse("http://127.0.0.1:*")
                    .map_err(crate::EngineError::Internal)?,
            },
        )
        .await
    }

    pub fn folder_root(&self) -> PathBuf {
        self.dir.path().join("folders")
    }

    /// Drops the PostgreSQL database (closing whoever still holds it).
    pub async fn cleanup(mut self) -> Result<()> {
        match self.pg_name.take() {
            Some(name) => drop_pg_database(&name).await,
            None => Ok(()),
        }
    }
}

async fn drop_pg_database(name: &str) -> Result<()> {
    let mut conn = sqlx::PgConnection::connect(&postgres_admin_url()).await?;
    sqlx::query(&format!("drop database if exists {name} with (force)"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// A test that panicked never reached `cleanup`: drop its database here, on a thread of its own
/// (a destructor cannot await), so failed runs do not leave databases behind.
impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    let _ = rt.block_on(drop_pg_database(&name));
                }
            })
            .join();
        }
    }
}

/// A small, valid PDF whose one page shows `text` (ASCII) in Helvetica: for tests of the
/// extraction pipeline.
pub fn sample_pdf(text: &str) -> Vec<u8> {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('(', "\\(")
        .replace(')', "\\)");
    let stream = format!("BT /F1 18 Tf 72 720 Td ({escaped}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// A minimal Word document (docx) with one paragraph of `text`.
pub fn sample_docx(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let o: zip::write::SimpleFileOptions = Default::default();
        let parts = [
            (
                "[Content_Types].xml",
                r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#.to_owned(),
            ),
            (
                "word/document.xml",
                format!(
                    r#"<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:body></w:document>"#,
                    text.replace('&', "&amp;").replace('<', "&lt;")
                ),
            ),
        ];
        for (name, body) in parts {
            if z.start_file(name, o).is_err() || z.write_all(body.as_bytes()).is_err() {
                return Vec::new();
            }
        }
        if z.finish().is_err() {
            return Vec::new();
        }
    }
    buf.into_inner()
}

/// What a datasource has collected: each known item's source id and its stored content (as
/// text), read back from the blob store. For the spyders' tests.
pub async fn collected(
    engine: &Engine,
    blobs: &crate::blobs::BlobStore,
    datasource_id: &str,
) -> Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    let mut after = String::new();
    loop {
        let page = engine
            .store()
            .known_after(datasource_id, &after, 100)
            .await?;
        let Some(last) = page.last() else {
            return Ok(out);
        };
        after = last.source_id.clone();
        for k in &page {
            let hash = k.content_hash.as_deref().unwrap_or_default();
            let text = blobs
                .read(hash)
                .map_err(|e| e.to_string())
                .and_then(|b| String::from_utf8(b).map_err(|e| e.to_string()))
                .map_err(|e| EngineError::Internal(format!("{}: {e}", k.source_id)))?;
            out.insert(k.source_id.clone(), text);
        }
    }
}
