//! The Folder spyder: walks a local directory in byte order of relative paths (so a walk can
//! resume after any path, and be merged with the database's sorted view), and copies changed
//! files into the blob store.
//!
//! It cannot leave its root. The root is opened once per run (refusing a symlink, and checked
//! to be the directory that was validated), and everything below it is reached through
//! directory handles: each subdirectory is opened from its parent's handle without following a
//! symlink, and each file is opened beneath the root's handle (`openat2` with
//! `RESOLVE_BENEATH` on Linux, through the cap-std crate), its last component never a
//! symlink. Swapping a subfolder for a symlink during a sync therefore reads nothing outside
//! the root. A file is opened non-blocking and its type checked on the open handle, so a FIFO
//! or a device is skipped instead of hanging the walk or reading a device; at most
//! `max_file_bytes` are read of any file (larger ones are left out and named in the run's
//! note).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cap_fs_ext::{DirExt, FollowSymlinks, OpenOptionsFollowExt};
use cap_std::fs::{Dir, OpenOptions, OpenOptionsExt};
use chrono::{DateTime, Utc};

use super::{Check, Connector, Credentials, Entry, Env, Opening, Setting, Source, Spec, SyncError};
use crate::blobs::{Blob, BlobStore};
use crate::domain::{DatasourceKind, SyncType};
use crate::error::{EngineError, Result as EngineResult};

/// The Folder connector: a directory on the server's own disks.
pub struct Folder;

pub const KIND: DatasourceKind = DatasourceKind::named("FolderDatasource");

static SPEC: Spec = Spec {
    kind: KIND,
    label: "Folder",
    description: "Files of a folder on the server's disks, under the roots the operator allows.",
    // The seed's rule: folders sync once.
    sync_types: &[SyncType::One],
    settings: &[Setting {
        name: "path",
        label: "Folder path",
        help: "An absolute path under one of the server's allowed folder roots. Only account \
               admins may collect the server's folders (they can share one with you).",
        required: true,
        check: Check::Custom(check_setting),
        binds_credentials: false,
    }],
    credentials: Credentials::NONE,
    service: None,
    // A member could otherwise collect a folder that another owner shares only with chosen
    // people.
    admin_only: Some(
        "only account admins may collect folders on the server's disks; ask one to create the \
         Folder datasource and share it with you",
    ),
};

impl Connector for Folder {
    fn spec(&self) -> &'static Spec {
        &SPEC
    }

    fn open(&self, o: Opening<'_>) -> Result<Box<dyn Source>, SyncError> {
        // Checked again at every run: the folder may be gone, or replaced by a link leading
        // outside the allowed roots. The reason is precise here: the path was approved when it
        // was set, so it tells the people of this datasource nothing they could not know.
        let path = o.setting("path").unwrap_or_default();
        let root = check_path(o.env.folder_roots, &path).map_err(|_| {
            let p = Path::new(&path);
            SyncError::Permanent(if !p.exists() {
                format!("the folder '{path}' does not exist or cannot be read")
            } else if !p.is_dir() {
                format!("'{path}' is not a directory")
            } else {
                format!("'{path}' is outside the allowed folder roots")
            })
        })?;
        Ok(Box::new(FolderSource::new(
            root,
            o.after,
            o.env.max_file_bytes,
        )))
    }
}

fn check_setting(env: &Env<'_>, raw: &str) -> EngineResult<String> {
    Ok(check_path(env.folder_roots, raw)?.display().to_string())
}

/// Resolves a folder path (`..` and symlinks included) and checks it is an existing directory
/// under one of `roots`. Returns the canonical path.
pub fn check_path(roots: &[PathBuf], raw: &str) -> EngineResult<PathBuf> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(EngineError::invalid("path", "is required"));
    }
    let p = Path::new(raw);
    if !p.is_absolute() {
        return Err(EngineError::invalid("path", "must be an absolute path"));
    }
    // One answer for "missing", "not a directory" and "outside the roots", so that paths on
    // the server cannot be probed through it.
    let refused = || {
        let roots: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        EngineError::invalid(
            "path",
            format!(
                "'{raw}' is missing, not a directory, or outside the allowed folder roots ({})",
                roots.join(", ")
            ),
        )
    };
    let canonical = std::fs::canonicalize(p).map_err(|_| refused())?;
    if !canonical.is_dir() || !roots.iter().any(|root| canonical.starts_with(root)) {
        return Err(refused());
    }
    Ok(canonical)
}

/// Opens the validated root: a directory, not through a symlink, and still the directory that
/// was validated (a rename or a link swapped in since the check is refused).
fn open_root(root: &Path) -> std::io::Result<Dir> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
        .open(root)?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let opened = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
        if opened != root {
            return Err(std::io::Error::other(format!(
                "the folder was moved while it was being opened (it is now {})",
                opened.display()
            )));
        }
    }
    Ok(Dir::from_std_file(file))
}

/// An open directory of the walk: its relative prefix (`""` or `"dir/"`), its handle, and its
/// remaining `(name, is_dir)` entries.
type OpenDir = (String, Dir, std::vec::IntoIter<(String, bool)>);

/// A depth-first walk whose order is the byte order of the relative paths: directory names
/// sort as if they ended in `/`, so `a.txt` comes before `a/b`.
struct Walker {
    root: PathBuf,
    /// The open directories, innermost last.
    stack: Vec<OpenDir>,
    after: String,
    started: bool,
    max_file_bytes: u64,
    /// Parts of the tree that could not be read: the listing is incomplete.
    problems: Vec<String>,
    /// Files left out for their size.
    skipped: Vec<String>,
}

impl Walker {
    fn new(root: PathBuf, after: String, max_file_bytes: u64) -> Self {
        Self {
            root,
            stack: Vec::new(),
            after,
            started: false,
            max_file_bytes,
            problems: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// Sorted `(name, is_dir)` of a directory; symlinks and other non-regular entries left out.
    fn read_sorted(dir: &Dir) -> std::io::Result<Vec<(String, bool)>> {
        let mut out = Vec::new();
        for e in dir.entries()? {
            let e = e?;
            let ft = e.file_type()?; // does not follow symlinks
            let Ok(name) = e.file_name().into_string() else {
                continue;
            };
            if ft.is_dir() {
                out.push((name, true));
            } else if ft.is_file() {
                out.push((name, false));
            }
        }
        out.sort_by_key(sort_key);
        Ok(out)
    }

    fn next_page(&mut self, limit: usize) -> Result<Vec<Entry>, SyncError> {
        if !self.started {
            self.started = true;
            let unreadable = |e: std::io::Error| {
                SyncError::Permanent(format!(
                    "cannot read the folder {}: {e}",
                    self.root.display()
                ))
            };
            let dir = open_root(&self.root).map_err(unreadable)?;
            let top = Self::read_sorted(&dir).map_err(unreadable)?;
            self.stack.push((String::new(), dir, top.into_iter()));
        }
        let mut page = Vec::new();
        while page.len() < limit {
            let Some((prefix, dir, iter)) = self.stack.last_mut() else {
                break;
            };
            let Some((name, is_dir)) = iter.next() else {
                self.stack.pop();
                continue;
            };
            let rel = format!("{prefix}{name}");
            if is_dir {
                let dir_key = format!("{rel}/");
                // Every path under the directory starts with `dir_key`; if the checkpoint is
                // past that whole range, skip it unread.
                if dir_key.as_str() <= self.after.as_str() && !self.after.starts_with(&dir_key) {
                    continue;
                }
                // From the parent's handle, never through a symlink (one swapped in since the
                // listing is refused).
                match dir
                    .open_dir_nofollow(&name)
                    .and_then(|d| Ok((Self::read_sorted(&d)?, d)))
                {
                    Ok((children, d)) => self.stack.push((dir_key, d, children.into_iter())),
                    Err(e) => self.problems.push(format!("{rel}: {e}")),
                }
                continue;
            }
            if rel.as_str() <= self.after.as_str() {
                continue;
            }
            match dir.symlink_metadata(&name) {
                Ok(m) if m.is_file() && m.len() > self.max_file_bytes => {
                    self.skipped.push(rel);
                }
                Ok(m) if m.is_file() => page.push(Entry {
                    modified: m
                        .modified()
                        .ok()
                        .map(|t| DateTime::<Utc>::from(t.into_std()))
                        .map(crate::clock::truncate_micros),
                    size: m.len() as i64,
                    source_id: rel,
                }),
                Ok(_) => {}
                Err(e) => self.problems.push(format!("{rel}: {e}")),
            }
        }
        Ok(page)
    }
}

fn sort_key((name, is_dir): &(String, bool)) -> String {
    if *is_dir {
        format!("{name}/")
    } else {
        name.clone()
    }
}

pub struct FolderSource {
    root: PathBuf,
    walker: Option<Walker>,
    /// The root's handle for reading files, opened with the first read.
    dir: Mutex<Option<Arc<Dir>>>,
    max_file_bytes: u64,
    /// Files that grew past the limit after they were listed.
    skipped: Arc<Mutex<Vec<String>>>,
}

impl FolderSource {
    /// `root` must already be checked against the allowed roots (and canonical); the walk
    /// starts after `after`; files larger than `max_file_bytes` are not collected.
    pub fn new(root: PathBuf, after: &str, max_file_bytes: u64) -> Self {
        Self {
            walker: Some(Walker::new(root.clone(), after.to_owned(), max_file_bytes)),
            root,
            dir: Mutex::new(None),
            max_file_bytes,
            skipped: Arc::default(),
        }
    }

    fn root_dir(&self) -> Result<Arc<Dir>, SyncError> {
        let mut dir = self.dir.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = dir.as_ref() {
            return Ok(d.clone());
        }
        let d = Arc::new(open_root(&self.root).map_err(|e| {
            SyncError::Permanent(format!(
                "cannot read the folder {}: {e}",
                self.root.display()
            ))
        })?);
        *dir = Some(d.clone());
        Ok(d)
    }
}

fn is_transient(e: &std::io::Error) -> bool {
    !matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
    )
}

#[async_trait]
impl Source for FolderSource {
    async fn next_page(&mut self, limit: usize) -> Result<Vec<Entry>, SyncError> {
        let mut walker = self
            .walker
            .take()
            .ok_or_else(|| SyncError::Transient("the folder walk was interrupted".into()))?;
        let (walker, page) = tokio::task::spawn_blocking(move || {
            let page = walker.next_page(limit);
            (walker, page)
        })
        .await
        .map_err(|e| SyncError::Transient(format!("the folder walk stopped: {e}")))?;
        self.walker = Some(walker);
        page
    }

    fn problems(&self) -> Vec<String> {
        self.walker
            .as_ref()
            .map(|w| w.problems.clone())
            .unwrap_or_default()
    }

    fn skipped(&self) -> Vec<String> {
        let mut all = self
            .walker
            .as_ref()
            .map(|w| w.skipped.clone())
            .unwrap_or_default();
        all.extend(
            self.skipped
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned(),
        );
        all
    }

    async fn fetch(&self, entry: &Entry, blobs: &BlobStore) -> Result<Option<Blob>, SyncError> {
        let mut fetched = self.fetch_many(&[entry], blobs).await;
        fetched.pop().unwrap_or(Ok(None))
    }

    /// Reads the files in a few groups, each on one blocking thread: a thread per file cost
    /// two wake-ups and context switches a file, a good part of syncing many small files.
    async fn fetch_many(
        &self,
        entries: &[&Entry],
        blobs: &BlobStore,
    ) -> Vec<Result<Option<Blob>, SyncError>> {
        let dir = match self.root_dir() {
            Ok(d) => d,
            Err(e) => return entries.iter().map(|_| Err(e.clone())).collect(),
        };
        let per_group = entries.len().div_ceil(super::FETCH_CONCURRENCY).max(1);
        let groups = entries.chunks(per_group).map(|group| {
            let rels: Vec<String> = group.iter().map(|e| e.source_id.clone()).collect();
            let (blobs, dir, limit, skipped) = (
                blobs.clone(),
                dir.clone(),
                self.max_file_bytes,
                self.skipped.clone(),
            );
            async move {
                let n = rels.len();
                tokio::task::spawn_blocking(move || {
                    rels.iter()
                        .map(|rel| read_file(&dir, rel, &blobs, limit, &skipped))
                        .collect::<Vec<_>>()
                })
                .await
                .unwrap_or_else(|e| {
                    let failed = || SyncError::Transient(format!("reading a file stopped: {e}"));
                    (0..n).map(|_| Err(failed())).collect()
                })
            }
        });
        futures_util::future::join_all(groups)
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}

/// Copies one file into the blob store; `None` if it is gone, no longer a regular file (a
/// symlink, a FIFO, a device swapped in since the listing), or grew past the limit.
fn read_file(
    dir: &Dir,
    rel: &str,
    blobs: &BlobStore,
    limit: u64,
    skipped: &Mutex<Vec<String>>,
) -> Result<Option<Blob>, SyncError> {
    let mut options = OpenOptions::new();
    options.read(true);
    options.follow(FollowSymlinks::No);
    // A FIFO would block the open until a writer came; a terminal would become ours.
    options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    let file = match dir.open_with(rel, &options) {
        Ok(f) => f.into_std(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        // A symlink in its place (ELOOP, or ENOTDIR for a link in place of a folder on the
        // way), or a path that would leave the root (cap-std refuses it as an escape): not a
        // file beneath the root any more.
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ELOOP | libc::ENOTDIR | libc::EXDEV)
            ) || e.to_string().contains("outside of the filesystem") =>
        {
            return Ok(None);
        }
        Err(e) => return Err(io_error(rel, e)),
    };
    match file.metadata() {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Ok(None),
        Err(e) => return Err(io_error(rel, e)),
    }
    match blobs.put_open(file, limit) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => {
            skipped
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(rel.to_owned());
            Ok(None)
        }
        Err(e) => Err(io_error(rel, e)),
    }
}

fn io_error(rel: &str, e: std::io::Error) -> SyncError {
    if is_transient(&e) {
        SyncError::Transient(format!("reading {rel}: {e}"))
    } else {
        SyncError::Permanent(format!("reading {rel}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn mkfifo(p: &Path) {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
    }

    fn mknod_zero(p: &Path) -> bool {
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; the device is /dev/zero's (1, 5).
        unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o644, libc::makedev(1, 5)) == 0 }
    }

    /// Lists every page, fetching each, with a bound on the whole (a hang fails, not waits).
    async fn collect(src: &mut FolderSource, blobs: &BlobStore) -> Vec<(String, Option<Vec<u8>>)> {
        let mut out = Vec::new();
        loop {
            let page = src.next_page(1).await.unwrap();
            if page.is_empty() {
                return out;
            }
            for e in page {
                let b = src.fetch(&e, blobs).await.unwrap();
                out.push((e.source_id, b.map(|b| blobs.read(&b.hash).unwrap())));
            }
        }
    }

    /// A subfolder swapped for a symlink out of the root between listing and reading, or
    /// before it is entered, a FIFO and a device in place of listed files, and a file over
    /// the size limit: nothing outside the root is read, nothing hangs, and the run says what
    /// it left out. Before handles, the swapped path was read through the link.
    #[tokio::test]
    async fn the_walk_cannot_leave_its_root_or_hang() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        for d in ["a", "b", "c", "d"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("x.txt"), "OUTSIDE-SECRET").unwrap();
        fs::write(outside.join("y.txt"), "OUTSIDE-SECRET").unwrap();
        fs::write(root.join("a/x.txt"), "inside a").unwrap();
        fs::write(root.join("b/x.txt"), "inside b").unwrap();
        fs::write(root.join("c/fifo"), "a file for now").unwrap();
        fs::write(root.join("c/zero"), "a file for now").unwrap();
        fs::write(root.join("d/y.txt"), "inside d").unwrap();
        fs::write(root.join("e-big.txt"), "x".repeat(2000)).unwrap();
        let root = fs::canonicalize(root).unwrap();
        let blobs = BlobStore::new(dir.path().join("blobs"));
        let mut src = FolderSource::new(root.clone(), "", 1000);
        // `a/x.txt` is listed; then `b` becomes a link out of the root after `b/x.txt` is
        // listed, `c/*` become a FIFO and a device, and `d` becomes a link before it is entered.
        let first = src.next_page(1).await.unwrap();
        assert_eq!(first[0].source_id, "a/x.txt");
        let listed_b = src.next_page(1).await.unwrap();
        assert_eq!(listed_b[0].source_id, "b/x.txt");
        fs::rename(root.join("b"), root.join("b.old")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("b")).unwrap();
        let listed_c = src.next_page(2).await.unwrap();
        assert_eq!(listed_c.len(), 2);
        fs::remove_file(root.join("c/fifo")).unwrap();
        mkfifo(&root.join("c/fifo"));
        fs::remove_file(root.join("c/zero")).unwrap();
        let device = mknod_zero(&root.join("c/zero"));
        fs::rename(root.join("d"), root.join("d.old")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("d")).unwrap();

        let read = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            let mut got = Vec::new();
            for e in first.iter().chain(&listed_b).chain(&listed_c) {
                let b = src.fetch(e, &blobs).await.unwrap();
                got.push((e.source_id.clone(), b.map(|b| blobs.read(&b.hash).unwrap())));
            }
            got.extend(collect(&mut src, &blobs).await);
            got
        })
        .await
        .expect("nothing hangs");
        let text: Vec<(String, Option<String>)> = read
            .into_iter()
            .map(|(k, v)| (k, v.map(|v| String::from_utf8_lossy(&v).into_owned())))
            .collect();
        assert!(
            !format!("{text:?}").contains("OUTSIDE-SECRET"),
            "read outside the root: {text:?}"
        );
        assert_eq!(text[0], ("a/x.txt".into(), Some("inside a".into())));
        // The swapped file, the FIFO and the device are not collected.
        for gone in ["b/x.txt", "c/fifo"] {
            assert!(
                text.iter().any(|(k, v)| k == gone && v.is_none()),
                "{gone}: {text:?}"
            );
        }
        if device {
            assert!(text.iter().any(|(k, v)| k == "c/zero" && v.is_none()));
        }
        // `d` was a link when the walk came to it: not entered, and named as a problem.
        assert!(!text.iter().any(|(k, _)| k.starts_with("d/")), "{text:?}");
        assert!(
            src.problems().iter().any(|p| p.starts_with('d')),
            "{:?}",
            src.problems()
        );
        // Over the limit: left out, and said.
        assert!(!text.iter().any(|(k, _)| k == "e-big.txt"));
        assert_eq!(src.skipped(), vec!["e-big.txt".to_owned()]);
    }

    fn walk_all(root: &Path, after: &str) -> Vec<String> {
        let mut w = Walker::new(root.to_path_buf(), after.to_owned(), u64::MAX);
        let mut all = Vec::new();
        loop {
            let page = w.next_page(2).unwrap();
            if page.is_empty() {
                break;
            }
            all.extend(page.into_iter().map(|e| e.source_id));
        }
        all
    }

    #[test]
    fn walks_in_byte_order_and_resumes_after_any_path() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        for p in ["a.txt", "a/b", "a/c/d", "a-b", "b", "a/c.e", "z/y/x"] {
            let full = r.join(p);
            fs::create_dir_all(full.parent().unwrap()).unwrap();
            fs::write(full, p).unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc", r.join("link")).unwrap();
        let all = walk_all(r, "");
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(all, sorted, "byte order");
        assert_eq!(all.len(), 7, "the symlink is not followed: {all:?}");
        for (i, k) in all.iter().enumerate() {
            assert_eq!(walk_all(r, k), all[i + 1..].to_vec(), "after {k}");
        }
    }
}
