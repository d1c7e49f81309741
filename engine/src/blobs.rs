//! Content-addressed blob store: each collected file's bytes under the sha256 of its content,
//! in `<root>/ab/<hash>` (one level of 256 folders, as git keeps its objects). A blob is
//! written under a temporary name and renamed into place once complete, so no cut-off file ever
//! carries a final name; equal contents are stored once. Durability is per batch, not per file:
//! a sync calls [`BlobStore::flush`] (one `syncfs`) before it commits the metadata that refers
//! to the batch's blobs, so a committed reference never points at data still only in memory,
//! without paying an fsync for every file.
//!
//! Stores written before 2026-11-27 used two levels (`<root>/ab/cd/<hash>`): creating a folder
//! for nearly every blob cost more than writing the blob. Those blobs are still found where
//! they are; new ones go to the one-level place.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Files up to this size are read whole and hashed before anything is written: a blob that is
/// already stored then costs no write at all.
const IN_MEMORY_MAX: u64 = 1024 * 1024;

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

    /// Where the blob with `hash` is written.
    fn place_of(&self, hash: &str) -> PathBuf {
        self.root.join(&hash[..2.min(hash.len())]).join(hash)
    }

    /// Where the stored blob with `hash` is: its one-level place, or the two-level place of an
    /// older store. `None` when it is not stored.
    fn find(&self, hash: &str) -> Option<PathBuf> {
        let place = self.place_of(hash);
        if place.is_file() {
            return Some(place);
        }
        let legacy = self
            .root
            .join(hash.get(..2)?)
            .join(hash.get(2..4)?)
            .join(hash);
        legacy.is_file().then_some(legacy)
    }

    /// Where the blob with `hash` lives (where it would be written, when it is not stored).
    pub fn path_of(&self, hash: &str) -> PathBuf {
        self.find(hash).unwrap_or_else(|| self.place_of(hash))
    }

    pub fn contains(&self, hash: &str) -> bool {
        self.find(hash).is_some()
    }

    /// Copies everything `reader` yields into the store. Blocking: call from a blocking thread.
    pub fn put_reader(&self, mut reader: impl Read) -> io::Result<Blob> {
        let tmp = self.temporary()?;
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
            if self.contains(&hash) {
                // Same content already stored: nothing to keep.
                fs::remove_file(&tmp)?;
            } else {
                self.settle(&tmp, &hash)?;
            }
            Ok(Blob { hash, size })
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Stores `bytes`: hashed first, written only when not stored yet.
    pub fn put_bytes(&self, bytes: &[u8]) -> io::Result<Blob> {
        let hash = hex(&Sha256::digest(bytes));
        let blob = Blob {
            size: bytes.len() as u64,
            hash,
        };
        if self.contains(&blob.hash) {
            return Ok(blob);
        }
        #[cfg(target_os = "linux")]
        if let Some(done) = self.put_unnamed(bytes, &blob.hash) {
            return done.map(|()| blob);
        }
        let tmp = self.temporary()?;
        let result = File::create(&tmp)
            .and_then(|mut out| out.write_all(bytes))
            .and_then(|()| self.settle(&tmp, &blob.hash));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map(|()| blob)
    }

    /// Writes `bytes` as an unnamed file in the blob's own folder (`O_TMPFILE`) and links it to
    /// its name once complete: no temporary name that a crash could leave behind, and no
    /// rename between folders (those take a lock for the whole file system, and many spyders
    /// writing at once spent their time waiting on it). `None` when the file system cannot
    /// do this; the caller then writes through a named temporary.
    #[cfg(target_os = "linux")]
    fn put_unnamed(&self, bytes: &[u8], hash: &str) -> Option<io::Result<()>> {
        use std::ffi::CString;
        use std::os::fd::AsRawFd;
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::OpenOptionsExt;
        let dest = self.place_of(hash);
        let dir = dest.parent()?;
        let open = || {
            fs::OpenOptions::new()
                .write(true)
                .mode(0o644)
                .custom_flags(libc::O_TMPFILE)
                .open(dir)
        };
        let mut file = match open() {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if let Err(e) = fs::create_dir_all(dir) {
                    return Some(Err(e));
                }
                open().ok()?
            }
            // Not supported here (an older kernel, another file system): the named way.
            Err(_) => return None,
        };
        if let Err(e) = file.write_all(bytes) {
            return Some(Err(e));
        }
        let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()?;
        let to = CString::new(dest.as_os_str().as_bytes()).ok()?;
        // SAFETY: both are valid NUL-terminated paths, and `file` stays open during the call.
        let linked = unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        };
        if linked == 0 {
            return Some(Ok(()));
        }
        match io::Error::last_os_error() {
            // Another writer stored the same content first.
            e if e.kind() == io::ErrorKind::AlreadyExists => Some(Ok(())),
            // No /proc to link through: the named way.
            e if e.kind() == io::ErrorKind::NotFound => None,
            e => Some(Err(e)),
        }
    }

    /// A fresh temporary name in `<root>/tmp`.
    fn temporary(&self) -> io::Result<PathBuf> {
        let tmp_dir = self.root.join("tmp");
        if !tmp_dir.is_dir() {
            fs::create_dir_all(&tmp_dir)?;
        }
        Ok(tmp_dir.join(format!("{}.part", uuid::Uuid::new_v4().simple())))
    }

    /// Moves the complete temporary `tmp` to the place of `hash` (two writers of the same
    /// content both succeed: the second replaces the first with equal bytes). Its folder is
    /// created on first use only.
    fn settle(&self, tmp: &Path, hash: &str) -> io::Result<()> {
        let dest = self.place_of(hash);
        match fs::rename(tmp, &dest) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && tmp.exists() => {
                if let Some(dir) = dest.parent() {
                    fs::create_dir_all(dir)?;
                }
                fs::rename(tmp, &dest)
            }
            other => other,
        }
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

    /// Stores the file at `path`; a small one is read whole first (see [`Self::put_bytes`]).
    pub fn put_file(&self, path: &Path) -> io::Result<Blob> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        if len > IN_MEMORY_MAX {
            return self.put_reader(file);
        }
        let mut bytes = Vec::with_capacity(len as usize + 1);
        // Read to the end: the file may have grown since its size was taken.
        file.read_to_end(&mut bytes)?;
        if bytes.len() as u64 > IN_MEMORY_MAX {
            return self.put_reader(io::Cursor::new(bytes));
        }
        self.put_bytes(&bytes)
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
    fn blobs_live_one_folder_deep_and_files_of_any_size_hash_alike() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path().join("blobs"));
        let small = dir.path().join("small");
        fs::write(&small, b"hello").unwrap();
        let a = store.put_file(&small).unwrap();
        let place = store.root().join(&a.hash[..2]).join(&a.hash);
        assert_eq!(store.path_of(&a.hash), place);
        assert_eq!(fs::read(&place).unwrap(), b"hello");
        assert_eq!(
            fs::read_dir(store.root().join(&a.hash[..2]))
                .unwrap()
                .count(),
            1,
            "no second level of folders"
        );
        // A file over the in-memory limit is streamed; the same bytes give the same blob.
        let big_bytes: Vec<u8> = (0..IN_MEMORY_MAX + 10).map(|i| (i % 251) as u8).collect();
        let big = dir.path().join("big");
        fs::write(&big, &big_bytes).unwrap();
        let streamed = store.put_file(&big).unwrap();
        assert_eq!(streamed, store.put_bytes(&big_bytes).unwrap());
        assert_eq!(streamed.hash, hex(&Sha256::digest(&big_bytes)));
        assert_eq!(streamed.size, IN_MEMORY_MAX + 10);
        assert_eq!(fs::read(store.path_of(&streamed.hash)).unwrap(), big_bytes);
        assert_eq!(fs::read_dir(store.root().join("tmp")).unwrap().count(), 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn small_blobs_are_linked_into_place_without_a_temporary_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path().join("blobs"));
        let a = store.put_bytes(b"written unnamed").unwrap();
        assert_eq!(
            fs::read(store.path_of(&a.hash)).unwrap(),
            b"written unnamed"
        );
        assert!(
            !store.root().join("tmp").exists(),
            "no named temporary was needed"
        );
        // Two writers of the same content at once: the second finds the name taken and is done.
        assert!(matches!(
            store.put_unnamed(b"written unnamed", &a.hash),
            Some(Ok(()))
        ));
        assert_eq!(
            fs::read(store.path_of(&a.hash)).unwrap(),
            b"written unnamed"
        );
        assert_eq!(
            fs::read_dir(store.root().join(&a.hash[..2]))
                .unwrap()
                .count(),
            1
        );
    }

    #[test]
    fn blobs_of_an_older_two_level_store_are_still_found_and_not_stored_twice() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let hash = hex(&Sha256::digest(b"kept from before"));
        let legacy = dir.path().join(&hash[..2]).join(&hash[2..4]).join(&hash);
        fs::create_dir_all(legacy.parent().unwrap()).unwrap();
        fs::write(&legacy, b"kept from before").unwrap();
        assert!(store.contains(&hash));
        assert_eq!(store.path_of(&hash), legacy);
        let again = store.put_bytes(b"kept from before").unwrap();
        assert_eq!(again.hash, hash);
        assert!(
            !dir.path().join(&hash[..2]).join(&hash).exists(),
            "not written again in the new place"
        );
        let file = dir.path().join("same");
        fs::write(&file, b"kept from before").unwrap();
        assert_eq!(
            store.put_reader(File::open(&file).unwrap()).unwrap().hash,
            hash
        );
        assert!(!dir.path().join(&hash[..2]).join(&hash).exists());
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
