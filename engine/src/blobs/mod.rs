//! Content-addressed blob store: each collected file's bytes under the sha256 of its content;
//! equal contents are stored once.
//!
//! Blobs of up to 1 MB (nearly every file of a typical folder or workspace) are appended to
//! pack files (`<root>/packs/`, see [`packs`]); larger ones are files of their own in
//! `<root>/ab/<hash>` (one level of 256 folders, as git keeps its objects), written under a
//! temporary name and renamed into place once complete, so no cut-off file ever carries a
//! final name. Durability is per batch, not per blob: a sync calls [`BlobStore::flush`] before
//! it commits the metadata that refers to the batch's blobs, so a committed reference never
//! points at data still only in memory, without paying an fsync for every file.
//!
//! Older stores are read as they are: blobs of stores written before 2026-11-27 in two
//! levels (`<root>/ab/cd/<hash>`), and small blobs written before 2026-11-28 one file each.

mod packs;

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

/// Files up to this size are read whole and hashed before anything is written (a blob that is
/// already stored then costs no write at all), and go to a pack.
const IN_MEMORY_MAX: u64 = 1024 * 1024;

#[derive(Clone)]
pub struct BlobStore {
    root: PathBuf,
    packs: Arc<packs::Packs>,
    /// A blob was written as a file of its own since the last flush.
    loose_written: Arc<AtomicBool>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore")
            .field("root", &self.root)
            .finish()
    }
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

fn not_stored(hash: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("blob {hash} is not in the store"),
    )
}

impl BlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        Self {
            packs: Arc::new(packs::Packs::new(root.join("packs"))),
            root,
            loose_written: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with `hash` is written when it is a file of its own.
    fn place_of(&self, hash: &str) -> PathBuf {
        self.root.join(&hash[..2.min(hash.len())]).join(hash)
    }

    /// The file of the blob with `hash`, if it is a file of its own: its one-level place, or
    /// the two-level place of an older store.
    fn find_loose(&self, hash: &str) -> Option<PathBuf> {
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

    pub fn contains(&self, hash: &str) -> io::Result<bool> {
        match packs::parse_hash(hash) {
            Some(h) if self.packs.contains(&h)? => Ok(true),
            _ => Ok(self.find_loose(hash).is_some()),
        }
    }

    /// The size of the stored blob with `hash` (`NotFound` when it is not stored).
    pub fn size(&self, hash: &str) -> io::Result<u64> {
        self.lookup(
            hash,
            |h, reload| self.packs.size(h, reload),
            |path| Ok(fs::metadata(path)?.len()),
        )
    }

    /// The bytes of the stored blob with `hash` (`NotFound` when it is not stored). Blocking.
    pub fn read(&self, hash: &str) -> io::Result<Vec<u8>> {
        self.lookup(hash, |h, reload| self.packs.get(h, reload), |p| fs::read(p))
    }

    /// Looks for the blob in the packs as this process knows them, then as a file of its own,
    /// then in the packs again after re-reading their indexes (another process may have stored
    /// it since).
    fn lookup<T>(
        &self,
        hash: &str,
        packed: impl Fn(&packs::Hash, bool) -> io::Result<Option<T>>,
        loose: impl Fn(&Path) -> io::Result<T>,
    ) -> io::Result<T> {
        let h = packs::parse_hash(hash);
        if let Some(found) = h.map(|h| packed(&h, false)).transpose()?.flatten() {
            return Ok(found);
        }
        if let Some(path) = self.find_loose(hash) {
            return loose(&path);
        }
        h.map(|h| packed(&h, true))
            .transpose()?
            .flatten()
            .ok_or_else(|| not_stored(hash))
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
            if self.contains(&hash)? {
                // Same content already stored: nothing to keep.
                fs::remove_file(&tmp)?;
            } else {
                self.settle(&tmp, &hash)?;
                self.loose_written.store(true, Ordering::SeqCst);
            }
            Ok(Blob { hash, size })
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Stores `bytes`: hashed first, written only when not stored yet; up to 1 MB to a pack.
    pub fn put_bytes(&self, bytes: &[u8]) -> io::Result<Blob> {
        if bytes.len() as u64 > IN_MEMORY_MAX {
            return self.put_reader(bytes);
        }
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let blob = Blob {
            size: bytes.len() as u64,
            hash: hex(&digest),
        };
        // A blob stored as a file of its own by an older store is not stored again.
        if !self.packs.contains(&digest)? && self.find_loose(&blob.hash).is_none() {
            self.packs.put(digest, bytes)?;
        }
        Ok(blob)
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

    /// Makes every blob written so far durable: the packs' new data and index records, and
    /// (one `syncfs` of the store's file system) any blob written as a file of its own.
    /// Blocking.
    pub fn flush(&self) -> io::Result<()> {
        self.packs.flush()?;
        if !self.loose_written.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        let synced = self.sync_loose();
        if synced.is_err() {
            self.loose_written.store(true, Ordering::SeqCst);
        }
        synced
    }

    fn sync_loose(&self) -> io::Result<()> {
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
        self.put_open(File::open(path)?, u64::MAX)
    }

    /// Stores an open file, reading at most `limit` bytes: a file that has more (it may have
    /// grown since its size was taken) is refused with [`io::ErrorKind::FileTooLarge`] and
    /// nothing of it is kept. A small one is read whole first (see [`Self::put_bytes`]).
    pub fn put_open(&self, file: File, limit: u64) -> io::Result<Blob> {
        let len = file.metadata()?.len();
        let too_large = || {
            io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("larger than the limit of {limit} bytes"),
            )
        };
        if len > limit {
            return Err(too_large());
        }
        let mut reader = file.take(limit.saturating_add(1));
        let stored = if len > IN_MEMORY_MAX {
            let blob = self.put_reader(&mut reader)?;
            if blob.size > limit {
                // Stored while it grew past the limit: an unreferenced blob, like any other
                // the store keeps (it never deletes); refused all the same.
                return Err(too_large());
            }
            Ok(blob)
        } else {
            let mut bytes = Vec::with_capacity(len as usize + 1);
            // Read to the end (within the limit): the file may have grown since its size was
            // taken.
            reader.read_to_end(&mut bytes)?;
            if bytes.len() as u64 > limit {
                return Err(too_large());
            }
            // The file has been read: from here on, a missing file or folder is the store's,
            // and must not pass for the source file having gone.
            if bytes.len() as u64 > IN_MEMORY_MAX {
                self.put_reader(io::Cursor::new(bytes))
            } else {
                self.put_bytes(&bytes)
            }
        };
        stored.map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => io::Error::other(format!("blob store: {e}")),
            _ => e,
        })
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
        assert_eq!(store.read(&a.hash).unwrap(), b"hello");
        let again = store.put_reader(&b"hello"[..]).unwrap();
        assert_eq!(again, a);
        assert_eq!(store.put_bytes(b"hello").unwrap(), a);
        assert_eq!(
            fs::read_dir(store.root().join("tmp")).unwrap().count(),
            0,
            "no temporaries left"
        );
        assert!(
            !store.root().join("packs").exists(),
            "stored once, as the file it already was"
        );
    }

    #[test]
    fn small_blobs_go_to_packs_and_large_ones_to_files_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path().join("blobs"));
        let small = dir.path().join("small");
        fs::write(&small, b"hello").unwrap();
        let a = store.put_file(&small).unwrap();
        assert_eq!(store.read(&a.hash).unwrap(), b"hello");
        assert_eq!(store.size(&a.hash).unwrap(), 5);
        assert!(store.contains(&a.hash).unwrap());
        assert!(
            !store.root().join(&a.hash[..2]).exists(),
            "no file of its own"
        );
        // A file over the in-memory limit is streamed to a file one folder deep; the same
        // bytes given whole make the same blob, stored once.
        let big_bytes: Vec<u8> = (0..IN_MEMORY_MAX + 10).map(|i| (i % 251) as u8).collect();
        let big = dir.path().join("big");
        fs::write(&big, &big_bytes).unwrap();
        let streamed = store.put_file(&big).unwrap();
        assert_eq!(streamed, store.put_bytes(&big_bytes).unwrap());
        assert_eq!(streamed.hash, hex(&Sha256::digest(&big_bytes)));
        assert_eq!(streamed.size, IN_MEMORY_MAX + 10);
        let place = store.root().join(&streamed.hash[..2]).join(&streamed.hash);
        assert_eq!(fs::read(&place).unwrap(), big_bytes);
        assert_eq!(store.read(&streamed.hash).unwrap(), big_bytes);
        assert_eq!(store.size(&streamed.hash).unwrap(), IN_MEMORY_MAX + 10);
        assert_eq!(fs::read_dir(store.root().join("tmp")).unwrap().count(), 0);

        // After a flush, a store opened anew (a restart) finds both.
        store.flush().unwrap();
        let reopened = BlobStore::new(dir.path().join("blobs"));
        assert_eq!(reopened.read(&a.hash).unwrap(), b"hello");
        assert_eq!(reopened.read(&streamed.hash).unwrap(), big_bytes);
        let missing = hex(&Sha256::digest(b"never stored"));
        assert!(!reopened.contains(&missing).unwrap());
        assert_eq!(
            reopened.read(&missing).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        assert_eq!(
            reopened.size("not a hash").unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn many_files_make_few_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path().join("blobs"));
        let blobs: Vec<Blob> = (0..500)
            .map(|i| {
                store
                    .put_bytes(format!("file number {i}").as_bytes())
                    .unwrap()
            })
            .collect();
        store.flush().unwrap();
        let mut names: Vec<String> = fs::read_dir(store.root().join("packs"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2, "one pack and its index: {names:?}");
        assert_eq!(
            fs::read_dir(store.root()).unwrap().count(),
            1,
            "nothing but the packs folder"
        );
        let reopened = BlobStore::new(dir.path().join("blobs"));
        for (i, b) in blobs.iter().enumerate() {
            assert_eq!(
                reopened.read(&b.hash).unwrap(),
                format!("file number {i}").as_bytes()
            );
        }
    }

    #[test]
    fn blobs_of_older_stores_are_still_found_and_not_stored_twice() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        // Two levels of folders (before 2026-11-27), and one level (small blobs before packs).
        let two = hex(&Sha256::digest(b"kept from before"));
        let legacy = dir.path().join(&two[..2]).join(&two[2..4]).join(&two);
        fs::create_dir_all(legacy.parent().unwrap()).unwrap();
        fs::write(&legacy, b"kept from before").unwrap();
        let one = hex(&Sha256::digest(b"a small file of its own"));
        fs::create_dir_all(dir.path().join(&one[..2])).unwrap();
        fs::write(
            dir.path().join(&one[..2]).join(&one),
            b"a small file of its own",
        )
        .unwrap();
        for (hash, bytes) in [
            (&two, &b"kept from before"[..]),
            (&one, b"a small file of its own"),
        ] {
            assert!(store.contains(hash).unwrap());
            assert_eq!(store.read(hash).unwrap(), bytes);
            assert_eq!(store.size(hash).unwrap(), bytes.len() as u64);
            assert_eq!(&store.put_bytes(bytes).unwrap().hash, hash);
        }
        assert!(
            !dir.path().join("packs").exists(),
            "not written again in a pack"
        );
        assert!(
            !dir.path().join(&two[..2]).join(&two).exists(),
            "not written again in the one-level place"
        );
        let file = dir.path().join("same");
        fs::write(&file, b"kept from before").unwrap();
        assert_eq!(
            store.put_reader(File::open(&file).unwrap()).unwrap().hash,
            two
        );
        assert!(!dir.path().join(&two[..2]).join(&two).exists());
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
