//! Pack files: small blobs appended to a few large files instead of one file each.
//!
//! A file per blob costs the file system an inode, a directory entry and their write-back for
//! every collected file, which on ext4 was about half the CPU time of a sync of many small
//! files. Here blobs are appended to `<root>/packs/<name>.pack`, and each pack has an index,
//! `<name>.idx`: a header, then one fixed-size record per blob (its hash, offset and length,
//! and a checksum of the record).
//!
//! Durability is per flush, as for the loose blobs: [`Packs::flush`] makes the appended data
//! durable first (`fdatasync` of the pack) and only then writes the index records of that data
//! and syncs the index. So an index record that survives a crash always points at durable
//! bytes, and a blob whose flush did not finish is not in any index after a restart (it is
//! written again when it is next collected; its bytes in the pack are left unused). A torn
//! record at the end of an index fails its checksum and ends the reading of that index.
//!
//! Each process appends only to packs it created itself, so two processes sharing a store
//! never write to the same file; a blob another process stored since this one read the
//! indexes is found by reading them again ([`Packs::get`] with `reload`).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub type Hash = [u8; 32];

/// The first bytes of every index file (and its format's version).
const MAGIC: &[u8; 8] = b"TRBIDX01";
/// hash (32), offset (8), length (4), reserved (4), checksum of the first 48 bytes (8).
const RECORD: usize = 56;
/// A pack takes no more blobs once it is this large; the next one starts a new pack.
const PACK_MAX: u64 = 1 << 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Loc {
    pack: u32,
    offset: u64,
    len: u32,
}

struct Pack {
    data: Arc<File>,
    /// How much of its index has been read (or, for this process's own packs, written).
    idx_read: u64,
}

/// The pack this process is appending to.
struct Writer {
    pack: u32,
    len: u64,
}

#[derive(Default)]
struct State {
    loaded: bool,
    index: HashMap<Hash, Loc>,
    packs: Vec<Pack>,
    by_name: HashMap<String, u32>,
    /// The index file of each pack this process created (appended to at flushes).
    own_idx: HashMap<u32, Arc<File>>,
    writer: Option<Writer>,
    /// Blobs appended since the last flush: in `index` already, not yet in an index file.
    pending: Vec<(Hash, Loc)>,
}

/// What a flush writes for one pack: its data to sync, and the records to add to its index
/// (at `at`).
struct FlushTarget {
    data: Arc<File>,
    idx: Option<Arc<File>>,
    at: u64,
    records: Vec<u8>,
}

pub struct Packs {
    dir: PathBuf,
    /// A pack takes no more blobs once it is this large.
    pack_max: u64,
    state: Mutex<State>,
    /// Held for the whole of a flush: a writer that found its blob pending in another's flush
    /// must not return from its own flush before that one has written the record.
    flushing: Mutex<()>,
}

/// FNV-1a, 64 bits: a torn or stale record fails it.
fn checksum(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn encode(hash: &Hash, loc: Loc) -> [u8; RECORD] {
    let mut r = [0u8; RECORD];
    r[..32].copy_from_slice(hash);
    r[32..40].copy_from_slice(&loc.offset.to_le_bytes());
    r[40..44].copy_from_slice(&loc.len.to_le_bytes());
    let sum = checksum(&r[..48]);
    r[48..].copy_from_slice(&sum.to_le_bytes());
    r
}

/// A record's hash, offset and length; `None` when its checksum does not match.
fn decode(r: &[u8]) -> Option<(Hash, u64, u32)> {
    let sum = u64::from_le_bytes(r[48..56].try_into().ok()?);
    if checksum(&r[..48]) != sum {
        return None;
    }
    let hash: Hash = r[..32].try_into().ok()?;
    let offset = u64::from_le_bytes(r[32..40].try_into().ok()?);
    let len = u32::from_le_bytes(r[40..44].try_into().ok()?);
    Some((hash, offset, len))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent data (every change is one insert or
    // push), so a poisoned lock is used as it is.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Makes the entries of `dir` (new files, a new folder) durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Packs {
    pub fn new(dir: PathBuf) -> Self {
        Self::with_pack_max(dir, PACK_MAX)
    }

    fn with_pack_max(dir: PathBuf, pack_max: u64) -> Self {
        Self {
            dir,
            pack_max,
            state: Mutex::new(State::default()),
            flushing: Mutex::new(()),
        }
    }

    /// Reads every index (on first use) or what was appended to them since (`reload`).
    fn load(&self, st: &mut State) -> io::Result<()> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                st.loaded = true;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        for entry in entries {
            let path = entry?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("idx") {
                continue;
            }
            let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
                continue;
            };
            let id = match st.by_name.get(&name) {
                Some(&id) if st.own_idx.contains_key(&id) => continue,
                Some(&id) => id,
                None => {
                    let data = match File::open(self.dir.join(format!("{name}.pack"))) {
                        Ok(f) => f,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(e),
                    };
                    let id = st.packs.len() as u32;
                    st.packs.push(Pack {
                        data: Arc::new(data),
                        idx_read: 0,
                    });
                    st.by_name.insert(name, id);
                    id
                }
            };
            read_index(st, id, &path)?;
        }
        st.loaded = true;
        Ok(())
    }

    fn loaded(&self) -> io::Result<MutexGuard<'_, State>> {
        let mut st = lock(&self.state);
        if !st.loaded {
            self.load(&mut st)?;
        }
        Ok(st)
    }

    pub fn contains(&self, hash: &Hash) -> io::Result<bool> {
        Ok(self.loaded()?.index.contains_key(hash))
    }

    /// Where the blob is: its pack, offset and length. With `reload`, a blob not known yet is
    /// looked for again in the indexes as they are now (another process may have stored it).
    fn locate(&self, hash: &Hash, reload: bool) -> io::Result<Option<(Arc<File>, u64, u32)>> {
        let mut st = self.loaded()?;
        if reload && !st.index.contains_key(hash) {
            self.load(&mut st)?;
        }
        Ok(st
            .index
            .get(hash)
            .map(|l| (st.packs[l.pack as usize].data.clone(), l.offset, l.len)))
    }

    /// The blob's length, if it is in a pack.
    pub fn size(&self, hash: &Hash, reload: bool) -> io::Result<Option<u64>> {
        Ok(self.locate(hash, reload)?.map(|(_, _, len)| u64::from(len)))
    }

    /// The blob's bytes, if it is in a pack.
    pub fn get(&self, hash: &Hash, reload: bool) -> io::Result<Option<Vec<u8>>> {
        let Some((file, offset, len)) = self.locate(hash, reload)? else {
            return Ok(None);
        };
        let mut bytes = vec![0u8; len as usize];
        file.read_exact_at(&mut bytes, offset)?;
        Ok(Some(bytes))
    }

    /// Appends `bytes` (whose sha256 is `hash`) unless the blob is stored already. Durable
    /// only after the next [`Self::flush`]. At most 4 GiB.
    pub fn put(&self, hash: Hash, bytes: &[u8]) -> io::Result<()> {
        let len = u32::try_from(bytes.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too large for a pack"))?;
        let mut st = self.loaded()?;
        if st.index.contains_key(&hash) {
            return Ok(());
        }
        let writer = match st.writer.take() {
            Some(w) if w.len < self.pack_max => w,
            _ => self.create_pack(&mut st)?,
        };
        let file = st.packs[writer.pack as usize].data.clone();
        if let Err(e) = file.write_all_at(bytes, writer.len) {
            // The space is left unused; the next blob goes after it.
            st.writer = Some(Writer {
                len: writer.len + u64::from(len),
                ..writer
            });
            return Err(e);
        }
        let loc = Loc {
            pack: writer.pack,
            offset: writer.len,
            len,
        };
        st.index.insert(hash, loc);
        st.pending.push((hash, loc));
        st.writer = Some(Writer {
            len: writer.len + u64::from(len),
            ..writer
        });
        Ok(())
    }

    /// Starts a new pack of this process's own (and its index, with the header).
    fn create_pack(&self, st: &mut State) -> io::Result<Writer> {
        let fresh = !self.dir.is_dir();
        fs::create_dir_all(&self.dir)?;
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let id8 = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{millis}-{}", &id8[..8]);
        let new = |ext: &str| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(self.dir.join(format!("{name}.{ext}")))
        };
        let data = new("pack")?;
        let mut idx = new("idx")?;
        idx.write_all(MAGIC)?;
        idx.sync_data()?;
        sync_dir(&self.dir)?;
        if let Some(parent) = self.dir.parent().filter(|_| fresh) {
            sync_dir(parent)?;
        }
        let id = st.packs.len() as u32;
        st.packs.push(Pack {
            data: Arc::new(data),
            idx_read: MAGIC.len() as u64,
        });
        st.by_name.insert(name, id);
        st.own_idx.insert(id, Arc::new(idx));
        Ok(Writer { pack: id, len: 0 })
    }

    /// Makes every blob appended so far durable and findable after a restart: the packs' data
    /// first, then their index records. Blocking.
    pub fn flush(&self) -> io::Result<()> {
        let _flushing = lock(&self.flushing);
        let (pending, targets) = {
            let mut st = lock(&self.state);
            if st.pending.is_empty() {
                return Ok(());
            }
            let pending = std::mem::take(&mut st.pending);
            let mut targets: HashMap<u32, FlushTarget> = HashMap::new();
            for (hash, loc) in &pending {
                let t = targets.entry(loc.pack).or_insert_with(|| {
                    let pack = &st.packs[loc.pack as usize];
                    FlushTarget {
                        data: pack.data.clone(),
                        idx: st.own_idx.get(&loc.pack).cloned(),
                        at: pack.idx_read,
                        records: Vec::new(),
                    }
                });
                t.records.extend_from_slice(&encode(hash, *loc));
            }
            (pending, targets)
        };
        let written = (|| -> io::Result<Vec<(u32, u64)>> {
            for t in targets.values() {
                t.data.sync_data()?;
            }
            let mut ends = Vec::new();
            for (&pack, t) in &targets {
                let Some(idx) = &t.idx else { continue };
                if let Err(e) = idx
                    .write_all_at(&t.records, t.at)
                    .and_then(|()| idx.sync_data())
                {
                    // Leave no half record behind: the records are written again next time.
                    let _ = idx.set_len(t.at);
                    return Err(e);
                }
                ends.push((pack, t.at + t.records.len() as u64));
            }
            Ok(ends)
        })();
        let mut st = lock(&self.state);
        match written {
            Ok(ends) => {
                for (pack, end) in ends {
                    st.packs[pack as usize].idx_read = end;
                }
                Ok(())
            }
            Err(e) => {
                // Still pending: the next flush tries again (records already written are
                // written once more, which reading tolerates).
                st.pending.splice(0..0, pending);
                Err(e)
            }
        }
    }
}

/// Reads the records of pack `id`'s index from where the last read stopped, up to the first
/// one that is torn or points past the end of the pack.
fn read_index(st: &mut State, id: u32, path: &Path) -> io::Result<()> {
    let mut file = File::open(path)?;
    let pack = &st.packs[id as usize];
    let start = pack.idx_read;
    // Only what was appended since the last read.
    file.seek(io::SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let mut at = 0;
    if start == 0 {
        if bytes.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            // Not an index of this format (or its header never reached the disk).
            return Ok(());
        }
        at = MAGIC.len();
    }
    let pack_len = pack.data.metadata()?.len();
    let mut found = Vec::new();
    while let Some(r) = bytes.get(at..at + RECORD) {
        let Some((hash, offset, len)) = decode(r) else {
            break;
        };
        if offset + u64::from(len) > pack_len {
            break;
        }
        found.push((
            hash,
            Loc {
                pack: id,
                offset,
                len,
            },
        ));
        at += RECORD;
    }
    st.packs[id as usize].idx_read = start + at as u64;
    for (hash, loc) in found {
        st.index.entry(hash).or_insert(loc);
    }
    Ok(())
}

/// The 32 bytes of a hex sha256; `None` for anything else.
pub fn parse_hash(hex: &str) -> Option<Hash> {
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn put(p: &Packs, bytes: &[u8]) -> Hash {
        let hash: Hash = Sha256::digest(bytes).into();
        p.put(hash, bytes).unwrap();
        hash
    }

    fn pack_files(dir: &Path, ext: &str) -> Vec<PathBuf> {
        let mut v: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some(ext))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn blobs_are_found_again_after_a_flush_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let packs = Packs::new(dir.path().join("packs"));
        let a = put(&packs, b"first");
        let b = put(&packs, b"second");
        let empty = put(&packs, b"");
        assert_eq!(packs.get(&a, false).unwrap().unwrap(), b"first");
        assert_eq!(packs.size(&b, false).unwrap(), Some(6));

        // Before the flush, another process (a new `Packs` on the same folder) finds nothing:
        // a crash now would leave no index record pointing at bytes that may not be on disk.
        let other = Packs::new(dir.path().join("packs"));
        assert!(!other.contains(&a).unwrap());
        packs.flush().unwrap();
        assert!(!other.contains(&a).unwrap(), "no re-reading without a miss");
        assert_eq!(other.get(&a, true).unwrap().unwrap(), b"first");
        assert_eq!(other.get(&b, false).unwrap().unwrap(), b"second");
        assert_eq!(other.get(&empty, false).unwrap().unwrap(), b"");
        // Appended later to the same index: read from where the last reading stopped.
        let c = put(&packs, b"third");
        packs.flush().unwrap();
        assert_eq!(other.get(&c, true).unwrap().unwrap(), b"third");
        assert_eq!(other.get(&a, false).unwrap().unwrap(), b"first");

        let reopened = Packs::new(dir.path().join("packs"));
        for (h, bytes) in [(a, &b"first"[..]), (b, b"second"), (empty, b"")] {
            assert_eq!(reopened.get(&h, false).unwrap().unwrap(), bytes);
        }
        assert_eq!(pack_files(&dir.path().join("packs"), "pack").len(), 1);
    }

    #[test]
    fn equal_contents_are_appended_once_and_a_new_process_writes_its_own_pack() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("packs");
        let packs = Packs::new(root.clone());
        put(&packs, b"same");
        put(&packs, b"same");
        packs.flush().unwrap();
        let first = pack_files(&root, "pack");
        assert_eq!(fs::metadata(&first[0]).unwrap().len(), 4);
        assert_eq!(
            fs::metadata(&pack_files(&root, "idx")[0]).unwrap().len(),
            (MAGIC.len() + RECORD) as u64
        );

        let next = Packs::new(root.clone());
        put(&next, b"same");
        assert_eq!(pack_files(&root, "pack").len(), 1, "known: nothing written");
        put(&next, b"new");
        next.flush().unwrap();
        assert_eq!(
            pack_files(&root, "pack").len(),
            2,
            "never appends to another's pack"
        );
        assert_eq!(fs::metadata(&first[0]).unwrap().len(), 4);
    }

    #[test]
    fn a_torn_or_corrupt_record_ends_the_index_and_loses_nothing_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("packs");
        let packs = Packs::new(root.clone());
        let kept: Vec<Hash> = (0..3)
            .map(|i| put(&packs, format!("kept {i}").as_bytes()))
            .collect();
        packs.flush().unwrap();
        let lost = put(&packs, b"lost");
        packs.flush().unwrap();
        let idx = pack_files(&root, "idx").remove(0);

        // Half a record at the end, as a crash during the index write leaves it.
        let mut bytes = fs::read(&idx).unwrap();
        let whole = bytes.clone();
        bytes.truncate(bytes.len() - RECORD / 2);
        fs::write(&idx, &bytes).unwrap();
        let after = Packs::new(root.clone());
        for h in &kept {
            assert!(after.contains(h).unwrap());
        }
        assert!(!after.contains(&lost).unwrap());

        // A whole record with a wrong byte (zeros a crash may leave instead of data).
        let mut bytes = whole.clone();
        let last = bytes.len() - RECORD;
        bytes[last + 33] ^= 0xff;
        fs::write(&idx, &bytes).unwrap();
        let after = Packs::new(root.clone());
        assert!(kept.iter().all(|h| after.contains(h).unwrap()));
        assert!(!after.contains(&lost).unwrap());

        // A record pointing past the pack's end (its data never reached the disk).
        fs::write(&idx, &whole).unwrap();
        let pack = pack_files(&root, "pack").remove(0);
        let len = fs::metadata(&pack).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&pack)
            .unwrap()
            .set_len(len - 1)
            .unwrap();
        let after = Packs::new(root.clone());
        assert!(kept.iter().all(|h| after.contains(h).unwrap()));
        assert!(!after.contains(&lost).unwrap());

        // Something that is not an index of ours is passed over.
        fs::write(root.join("stray.idx"), b"not an index").unwrap();
        fs::write(root.join("stray.pack"), b"").unwrap();
        assert!(Packs::new(root).contains(&kept[0]).unwrap());
    }

    #[test]
    fn many_writers_at_once_store_every_blob_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("packs");
        let packs = Arc::new(Packs::new(root.clone()));
        std::thread::scope(|s| {
            for t in 0..4 {
                let packs = packs.clone();
                s.spawn(move || {
                    for i in 0..200 {
                        // Half the contents are shared by all writers.
                        let text = if i % 2 == 0 {
                            format!("shared {i}")
                        } else {
                            format!("own {t} {i}")
                        };
                        put(&packs, text.as_bytes());
                        if i % 25 == 0 {
                            packs.flush().unwrap();
                        }
                    }
                    packs.flush().unwrap();
                });
            }
        });
        let reopened = Packs::new(root.clone());
        for i in 0..200 {
            for t in 0..4 {
                let text = if i % 2 == 0 {
                    format!("shared {i}")
                } else {
                    format!("own {t} {i}")
                };
                let hash: Hash = Sha256::digest(text.as_bytes()).into();
                assert_eq!(
                    reopened.get(&hash, false).unwrap().unwrap(),
                    text.as_bytes()
                );
            }
        }
        let st = reopened.loaded().unwrap();
        assert_eq!(st.index.len(), 100 + 4 * 100);
        let idx = fs::metadata(&pack_files(&root, "idx")[0]).unwrap().len();
        assert_eq!(idx, (MAGIC.len() + RECORD * (100 + 4 * 100)) as u64);
    }

    #[test]
    fn a_full_pack_is_followed_by_a_new_one_and_a_flush_covers_both() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("packs");
        let packs = Packs::with_pack_max(root.clone(), 250);
        let texts: Vec<String> = (0..10)
            .map(|i| format!("{i:03}{}", "x".repeat(97)))
            .collect();
        let hashes: Vec<Hash> = texts.iter().map(|t| put(&packs, t.as_bytes())).collect();
        packs.flush().unwrap();
        // 100 bytes each: a pack takes three (it is not full until it reaches 250 bytes).
        assert_eq!(pack_files(&root, "pack").len(), 4);
        let reopened = Packs::new(root.clone());
        for (h, t) in hashes.iter().zip(&texts) {
            assert_eq!(reopened.get(h, false).unwrap().unwrap(), t.as_bytes());
        }
        let records: u64 = pack_files(&root, "idx")
            .iter()
            .map(|p| (fs::metadata(p).unwrap().len() - MAGIC.len() as u64) / RECORD as u64)
            .sum();
        assert_eq!(records, 10);
    }

    #[test]
    fn hashes_parse_from_hex_only() {
        let hex = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
        let h = parse_hash(hex).unwrap();
        assert_eq!(h[0], 0x2c);
        assert_eq!(h[31], 0x24);
        assert!(parse_hash(&hex[1..]).is_none());
        assert!(parse_hash(&hex.replace('2', "g")).is_none());
    }
}
