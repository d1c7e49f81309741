//! The Folder spyder: walks a local directory in byte order of relative paths (so a walk can
//! resume after any path, and be merged with the database's sorted view), never following a
//! symlink, and copies changed files into the blob store.

use std::fs;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Entry, Source, SyncError};
use crate::blobs::{Blob, BlobStore};

/// A depth-first walk whose order is the byte order of the relative paths: directory names
/// sort as if they ended in `/`, so `a.txt` comes before `a/b`.
struct Walker {
    root: PathBuf,
    /// Open directories: their relative prefix (`""` or `"dir/"`) and remaining entries.
    stack: Vec<(String, std::vec::IntoIter<(String, bool)>)>,
    after: String,
    started: bool,
    /// Parts of the tree that could not be read: the listing is incomplete.
    problems: Vec<String>,
}

impl Walker {
    fn new(root: PathBuf, after: String) -> Self {
        Self {
            root,
            stack: Vec::new(),
            after,
            started: false,
            problems: Vec::new(),
        }
    }

    /// Sorted `(name, is_dir)` of a directory; symlinks and other non-regular entries left out.
    fn read_sorted(&self, rel: &str) -> std::io::Result<Vec<(String, bool)>> {
        let mut out = Vec::new();
        for e in fs::read_dir(self.root.join(rel))? {
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
            let top = self.read_sorted("").map_err(|e| {
                SyncError::Permanent(format!(
                    "cannot read the folder {}: {e}",
                    self.root.display()
                ))
            })?;
            self.stack.push((String::new(), top.into_iter()));
        }
        let mut page = Vec::new();
        while page.len() < limit {
            let Some((prefix, iter)) = self.stack.last_mut() else {
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
                match self.read_sorted(&rel) {
                    Ok(children) => self.stack.push((dir_key, children.into_iter())),
                    Err(e) => self.problems.push(format!("{rel}: {e}")),
                }
                continue;
            }
            if rel.as_str() <= self.after.as_str() {
                continue;
            }
            match fs::symlink_metadata(self.root.join(&rel)) {
                Ok(m) if m.is_file() => page.push(Entry {
                    modified: m
                        .modified()
                        .ok()
                        .map(DateTime::<Utc>::from)
                        .map(crate::service::truncate_micros),
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
}

impl FolderSource {
    /// `root` must already be checked against the allowed roots; the walk starts after `after`.
    pub fn new(root: PathBuf, after: &str) -> Self {
        Self {
            walker: Some(Walker::new(root.clone(), after.to_owned())),
            root,
        }
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
        let per_group = entries.len().div_ceil(super::FETCH_CONCURRENCY).max(1);
        let groups = entries.chunks(per_group).map(|group| {
            let paths: Vec<PathBuf> = group.iter().map(|e| self.root.join(&e.source_id)).collect();
            let (blobs, root) = (blobs.clone(), self.root.clone());
            async move {
                let n = paths.len();
                tokio::task::spawn_blocking(move || {
                    paths
                        .iter()
                        .map(|path| read_file(&root, path, &blobs))
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

/// Copies one file into the blob store; `None` if it is gone or no longer a regular file.
fn read_file(root: &Path, path: &Path, blobs: &BlobStore) -> Result<Option<Blob>, SyncError> {
    // Never through a symlink: the walk saw a regular file; if it became a link since, it is
    // skipped.
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(root, path, e)),
    }
    match blobs.put_file(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(root, path, e)),
    }
}

fn io_error(root: &Path, path: &Path, e: std::io::Error) -> SyncError {
    let shown = path
        .strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string();
    if is_transient(&e) {
        SyncError::Transient(format!("reading {shown}: {e}"))
    } else {
        SyncError::Permanent(format!("reading {shown}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk_all(root: &Path, after: &str) -> Vec<String> {
        let mut w = Walker::new(root.to_path_buf(), after.to_owned());
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
