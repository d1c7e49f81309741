//! Content-addressed blob store: each collected file's bytes under the sha256 of its content,
//! in `<root>/ab/cd/<hash>`. A blob is written to a temporary name and renamed into place once
//! complete, so no cut-off file ever carries a final name; equal contents are stored once.
//! Durability is per batch, not per file: a sync calls [`BlobStore::flush`] (one `syncfs`)
//! before it commits the metadata that refers to the batch's blobs, so a committed reference
//! never points at data still only in memory, without paying an fsync for every file.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

/// A stored blob: its hash (hex) and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub hash: String,
    pub size: u64,
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

impl BlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with `hash` lives.
    pub fn path_of(&self, hash: &str) -> PathBuf {
        let (a, b) = (
            &hash[..2.min(hash.len())],
            &hash[2.min(hash.len())..4.min(hash.len())],
        );
        self.root.join(a).join(b).join(hash)
    }

    pub fn contains(&self, hash: &str) -> bool {
        self.path_of(hash).is_file()
    }

    /// Copies everything `reader` yields into the store. Blocking: call from a blocking thread.
    pub fn put_reader(&self, mut reader: impl Read) -> io::Result<Blob> {
        let tmp_dir = self.root.join("tmp");
        fs::create_dir_all(&tmp_dir)?;
        let tmp = tmp_dir.join(format!("{}.part", uuid::Uuid::new_v4().simple()));
        let result = (|| {
            let mut out = File::create(&tmp)?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 64 * 1024];
            let mut size = 0u64;
            loop {
                let n = reader.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                out.write_all(&buf[..n])?;
                size += n as u64;
            }
            let hash = hex(&hasher.finalize());
            let dest = self.path_of(&hash);
            if dest.is_file() {
                // Same content already stored: nothing to keep.
                fs::remove_file(&tmp)?;
            } else {
                if let Some(dir) = dest.parent() {
                    fs::create_dir_all(dir)?;
                }
                fs::rename(&tmp, &dest)?;
            }
            Ok(Blob { hash, size })
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Makes every blob written so far durable (one `syncfs` of the store's file system).
    /// Blocking.
    pub fn flush(&self) -> io::Result<()> {
        fs::create_dir_all(&self.root)?;
        let dir = File::open(&self.root)?;
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: `dir` is an open file descriptor for the duration of the call.
            if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        #[cfg(not(target_os = "linux"))]
        dir.sync_all()?;
        Ok(())
    }

    /// Stores the file at `path`.
    pub fn put_file(&self, path: &Path) -> io::Result<Blob> {
        self.put_reader(File::open(path)?)
    }

    /// Removes temporary files a crash left behind (their content was never referenced).
    pub fn clean_temporaries(&self) -> io::Result<usize> {
        let dir = self.root.join("tmp");
        let Ok(entries) = fs::read_dir(&dir) else {
            return Ok(0);
        };
        let mut n = 0;
        for e in entries.flatten() {
            if fs::remove_file(e.path()).is_ok() {
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_by_content_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path().join("blobs"));
        let a = store.put_reader(&b"hello"[..]).unwrap();
        assert_eq!(
            a.hash,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(a.size, 5);
        assert_eq!(fs::read(store.path_of(&a.hash)).unwrap(), b"hello");
        let again = store.put_reader(&b"hello"[..]).unwrap();
        assert_eq!(again, a);
        assert_eq!(
            fs::read_dir(store.root().join("tmp")).unwrap().count(),
            0,
            "no temporaries left"
        );
    }

    #[test]
    fn a_failed_read_leaves_no_blob() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        assert!(store.put_reader(Broken).is_err());
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }
}
