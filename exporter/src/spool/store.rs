//! One signal's spool directory: segment files, the acknowledgement cursor, and the lock.
//!
//! ```text
//! <dir>/<signal>/LOCK                    held while the spool is open
//! <dir>/<signal>/ACK                     segment id + offset of the oldest unacknowledged record
//! <dir>/<signal>/00000000000000000007.seg  records, appended; never rewritten
//! ```
//! Records are appended to the newest segment; a new segment starts every
//! `segment_bytes`, and at every start (a segment written by an earlier process is only read).
//! A segment file is deleted once every record in it is acknowledged or evicted. The cursor
//! is rewritten in place (20 bytes, CRC-checked) after each acknowledgement; a missing or
//! damaged cursor means "start from the oldest segment left", which can only resend, never
//! lose.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use super::lock::DirLock;
use super::segment::{self, Scanned, SEGMENT_MAGIC};
use super::SpoolError;

/// Where a record lives and what it holds.
#[derive(Debug, Clone, Copy)]
struct Meta {
    segment: u64,
    offset: u64,
    /// Header plus payload.
    len: u64,
    items: u64,
}

/// What the spool found on disk when it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Recovered {
    /// Whole records left by an earlier process, to be delivered.
    pub(crate) records: u64,
    /// Items in them.
    pub(crate) items: u64,
    /// Stretches of damage skipped (a torn write, an overwritten block).
    pub(crate) corrupt: u64,
    /// Bytes in them.
    pub(crate) corrupt_bytes: u64,
}

/// The oldest record, read back.
#[derive(Debug)]
pub(crate) enum Oldest {
    /// Nothing is spooled.
    Empty,
    /// A whole record: its payload and item count. Stays spooled until [`Store::ack`].
    Record {
        /// The encoded export request.
        payload: Vec<u8>,
        /// Items in it.
        items: u64,
    },
    /// The record no longer reads back whole (the file changed under the spool); it has been
    /// removed, and its items are lost.
    Corrupt {
        /// Items it held.
        items: u64,
    },
}

struct Writer {
    id: u64,
    file: File,
    len: u64,
}

/// One signal's spool.
pub(crate) struct Store {
    dir: PathBuf,
    _lock: DirLock,
    max_bytes: u64,
    segment_bytes: u64,
    records: VecDeque<Meta>,
    /// Segment files on disk, oldest first.
    segments: VecDeque<u64>,
    bytes: u64,
    items: u64,
    writer: Option<Writer>,
    reader: Option<(u64, File)>,
    next_id: u64,
    cursor: File,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("records", &self.records.len())
            .field("items", &self.items)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

fn io(dir: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        dir: dir.to_path_buf(),
        source,
    }
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id:020}.seg"))
}

fn encode_cursor(segment: u64, offset: u64) -> [u8; 20] {
    let mut out = [0; 20];
    out[..8].copy_from_slice(&segment.to_le_bytes());
    out[8..16].copy_from_slice(&offset.to_le_bytes());
    let crc = crc32fast::hash(&out[..16]);
    out[16..].copy_from_slice(&crc.to_le_bytes());
    out
}

fn decode_cursor(bytes: &[u8]) -> Option<(u64, u64)> {
    let b: &[u8; 20] = bytes.get(..20)?.try_into().ok()?;
    let crc = u32::from_le_bytes([b[16], b[17], b[18], b[19]]);
    if crc32fast::hash(&b[..16]) != crc {
        return None;
    }
    let segment = u64::from_le_bytes(b[..8].try_into().ok()?);
    let offset = u64::from_le_bytes(b[8..16].try_into().ok()?);
    Some((segment, offset))
}

impl Store {
    /// Opens (creating if needed) the spool in `dir`, locks it, and reads what an earlier
    /// process left.
    pub(crate) fn open(
        dir: &Path,
        max_bytes: u64,
        segment_bytes: u64,
    ) -> Result<(Self, Recovered), SpoolError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let lock = DirLock::acquire(dir)?;
        let mut cursor = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(dir.join("ACK"))
            .map_err(io(dir))?;
        let mut raw = Vec::new();
        cursor.read_to_end(&mut raw).map_err(io(dir))?;
        let (ack_segment, ack_offset) = decode_cursor(&raw).unwrap_or((0, 0));

        let mut ids: Vec<u64> = fs::read_dir(dir)
            .map_err(io(dir))?
            .filter_map(|e| {
                let name = e.ok()?.file_name();
                name.to_str()?.strip_suffix(".seg")?.parse().ok()
            })
            .collect();
        ids.sort_unstable();

        let mut store = Self {
            dir: dir.to_path_buf(),
            _lock: lock,
            max_bytes,
            segment_bytes: segment_bytes.max(4096),
            records: VecDeque::new(),
            segments: VecDeque::new(),
            bytes: 0,
            items: 0,
            writer: None,
            reader: None,
            next_id: ids.last().map_or(0, |last| last + 1),
            cursor,
        };
        let mut recovered = Recovered::default();
        for id in ids {
            let path = segment_path(dir, id);
            if id < ack_segment {
                let _ = fs::remove_file(&path);
                continue;
            }
            // An unreadable segment is skipped like a damaged one; the rest is still delivered.
            let Ok(buf) = fs::read(&path) else {
                recovered.corrupt += 1;
                continue;
            };
            let mut live = false;
            for s in segment::scan(&buf) {
                match s {
                    Scanned::Record(f) => {
                        if id == ack_segment && (f.offset as u64) < ack_offset {
                            continue;
                        }
                        live = true;
                        recovered.records += 1;
                        recovered.items += u64::from(f.items);
                        store.records.push_back(Meta {
                            segment: id,
                            offset: f.offset as u64,
                            len: f.len as u64,
                            items: u64::from(f.items),
                        });
                        store.bytes += f.len as u64;
                        store.items += u64::from(f.items);
                    }
                    Scanned::Corrupt { offset, skipped } => {
                        if id == ack_segment && (offset + skipped) as u64 <= ack_offset {
                            continue;
                        }
                        recovered.corrupt += 1;
                        recovered.corrupt_bytes += skipped as u64;
                    }
                }
            }
            if live {
                store.segments.push_back(id);
            } else {
                let _ = fs::remove_file(&path);
            }
        }
        Ok((store, recovered))
    }

    /// Items spooled.
    pub(crate) fn items(&self) -> u64 {
        self.items
    }

    /// Bytes of the records spooled (headers included).
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Records spooled.
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Appends one record. Past the byte cap, the oldest records are evicted; returns the
    /// items evicted.
    pub(crate) fn push(&mut self, items: u64, payload: &[u8]) -> Result<u64, SpoolError> {
        let record = segment::encode(u32::try_from(items).unwrap_or(u32::MAX), payload);
        let len = record.len() as u64;
        let roll = self
            .writer
            .as_ref()
            .is_none_or(|w| w.len + len > self.segment_bytes && w.len > SEGMENT_MAGIC.len() as u64);
        if roll {
            self.roll()?;
        }
        let dir = self.dir.clone();
        let Some(w) = self.writer.as_mut() else {
            return Ok(0);
        };
        let offset = w.len;
        if let Err(e) = w.file.write_all(&record) {
            // A part may have reached the file: start the next record in a fresh segment so
            // that no record follows a torn one in the same file.
            self.writer = None;
            return Err(io(&dir)(e));
        }
        w.len += len;
        self.records.push_back(Meta {
            segment: w.id,
            offset,
            len,
            items,
        });
        self.bytes += len;
        self.items += items;
        let mut evicted = 0;
        while self.bytes > self.max_bytes {
            match self.records.pop_front() {
                Some(old) => {
                    self.bytes -= old.len;
                    self.items -= old.items;
                    evicted += old.items;
                }
                None => break,
            }
        }
        if evicted > 0 {
            self.advance()?;
        }
        Ok(evicted)
    }

    fn roll(&mut self) -> Result<(), SpoolError> {
        let id = self.next_id;
        self.next_id += 1;
        let path = segment_path(&self.dir, id);
        let mut file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(io(&self.dir))?;
        file.write_all(SEGMENT_MAGIC).map_err(io(&self.dir))?;
        self.segments.push_back(id);
        self.writer = Some(Writer {
            id,
            file,
            len: SEGMENT_MAGIC.len() as u64,
        });
        Ok(())
    }

    /// Reads the oldest record back.
    pub(crate) fn oldest(&mut self) -> Oldest {
        let Some(meta) = self.records.front().copied() else {
            return Oldest::Empty;
        };
        match self.read(meta) {
            Some(payload) => Oldest::Record {
                payload,
                items: meta.items,
            },
            None => {
                // Removing it is what acknowledging it does; a failure to persist that only
                // means it is met again (and skipped again) after a restart.
                let _ = self.ack();
                Oldest::Corrupt { items: meta.items }
            }
        }
    }

    fn read(&mut self, meta: Meta) -> Option<Vec<u8>> {
        if self
            .reader
            .as_ref()
            .is_none_or(|(id, _)| *id != meta.segment)
        {
            let file = File::open(segment_path(&self.dir, meta.segment)).ok()?;
            self.reader = Some((meta.segment, file));
        }
        let (_, file) = self.reader.as_mut()?;
        file.seek(SeekFrom::Start(meta.offset)).ok()?;
        let mut buf = vec![0; usize::try_from(meta.len).ok()?];
        file.read_exact(&mut buf).ok()?;
        let found = segment::check(&buf, 0)?;
        (u64::from(found.items) == meta.items && found.len as u64 == meta.len).then(|| {
            buf.drain(..segment::HEADER);
            buf
        })
    }

    /// The oldest record was delivered (or given up): forget it, and delete segments that
    /// hold nothing any more.
    pub(crate) fn ack(&mut self) -> Result<(), SpoolError> {
        if let Some(old) = self.records.pop_front() {
            self.bytes -= old.len;
            self.items -= old.items;
        }
        self.advance()
    }

    /// Persists the cursor at the oldest record left and deletes the segments before it.
    fn advance(&mut self) -> Result<(), SpoolError> {
        let (segment, offset) = match (self.records.front(), &self.writer) {
            (Some(m), _) => (m.segment, m.offset),
            (None, Some(w)) => (w.id, w.len),
            (None, None) => (self.next_id, 0),
        };
        while let Some(&id) = self.segments.front() {
            if id >= segment {
                break;
            }
            self.segments.pop_front();
            if self.reader.as_ref().is_some_and(|(r, _)| *r == id) {
                self.reader = None;
            }
            let _ = fs::remove_file(segment_path(&self.dir, id));
        }
        self.cursor
            .seek(SeekFrom::Start(0))
            .and_then(|_| self.cursor.write_all(&encode_cursor(segment, offset)))
            .map_err(io(&self.dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        super::super::tests::temp_dir(name)
    }

    fn drain(store: &mut Store) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        loop {
            match store.oldest() {
                Oldest::Empty => return out,
                Oldest::Record { payload, .. } => {
                    out.push(payload);
                    store.ack().expect("ack");
                }
                Oldest::Corrupt { .. } => {}
            }
        }
    }

    #[test]
    fn records_come_back_oldest_first_across_segments_and_reopening() {
        let dir = temp("order");
        {
            let (mut store, rec) = Store::open(&dir, 1 << 20, 4096).expect("open");
            assert_eq!(rec, Recovered::default());
            for i in 0..50u8 {
                assert_eq!(store.push(1, &[i; 300]).expect("push"), 0);
            }
            assert!(store.segments.len() > 3, "{:?}", store.segments);
            // Deliver the first ten, then "crash".
            for _ in 0..10 {
                assert!(matches!(store.oldest(), Oldest::Record { .. }));
                store.ack().expect("ack");
            }
        }
        let (mut store, rec) = Store::open(&dir, 1 << 20, 4096).expect("reopen");
        assert_eq!((rec.records, rec.items, rec.corrupt), (40, 40, 0));
        let back = drain(&mut store);
        assert_eq!(back.len(), 40);
        for (i, p) in back.iter().enumerate() {
            assert_eq!(p, &vec![i as u8 + 10; 300]);
        }
        assert_eq!((store.items(), store.bytes()), (0, 0));
        drop(store);
        let files = fs::read_dir(&dir).expect("dir").count();
        assert_eq!(files, 2, "only LOCK and ACK left");
    }

    #[test]
    fn past_the_cap_the_oldest_are_evicted_and_counted_exactly() {
        let dir = temp("cap");
        let record = (segment::HEADER + 1000) as u64;
        let (mut store, _) = Store::open(&dir, record * 10, 8 * 1024).expect("open");
        let mut evicted = 0;
        for i in 0..25u8 {
            evicted += store.push(3, &[i; 1000]).expect("push");
        }
        assert_eq!(evicted, 15 * 3);
        assert_eq!((store.len(), store.items()), (10, 30));
        assert!(store.bytes() <= record * 10);
        let disk: u64 = fs::read_dir(&dir)
            .expect("dir")
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum();
        assert!(disk <= record * 10 + 8 * 1024 + 64, "disk {disk}");
        drop(store);
        let (mut store, rec) = Store::open(&dir, record * 10, 8 * 1024).expect("reopen");
        assert_eq!(
            rec.items, 30,
            "evicted records stay evicted after a restart"
        );
        let back = drain(&mut store);
        assert_eq!(back.first(), Some(&vec![15; 1000]));
        assert_eq!(back.last(), Some(&vec![24; 1000]));
    }

    #[test]
    fn a_torn_tail_and_an_overwritten_middle_are_skipped_and_counted() {
        let dir = temp("damage");
        {
            let (mut store, _) = Store::open(&dir, 1 << 20, 1 << 20).expect("open");
            for i in 0..10u8 {
                store.push(2, &[i; 100]).expect("push");
            }
        }
        let seg = segment_path(&dir, 0);
        let mut bytes = fs::read(&seg).expect("segment");
        let rec = segment::HEADER + 100;
        let third = SEGMENT_MAGIC.len() + 3 * rec;
        bytes[third + 20..third + 60].fill(0);
        bytes.truncate(bytes.len() - 30);
        fs::write(&seg, &bytes).expect("damage");
        let (mut store, rec) = Store::open(&dir, 1 << 20, 1 << 20).expect("reopen");
        assert_eq!((rec.records, rec.items, rec.corrupt), (8, 16, 2));
        let back = drain(&mut store);
        let firsts: Vec<u8> = back.iter().map(|p| p[0]).collect();
        assert_eq!(firsts, vec![0, 1, 2, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn a_record_damaged_after_it_was_written_is_reported_once_and_removed() {
        let dir = temp("late");
        let (mut store, _) = Store::open(&dir, 1 << 20, 1 << 20).expect("open");
        store.push(5, &[1; 100]).expect("push");
        store.push(6, &[2; 100]).expect("push");
        let seg = segment_path(&dir, 0);
        let mut bytes = fs::read(&seg).expect("segment");
        bytes[SEGMENT_MAGIC.len() + 50] ^= 1;
        fs::write(&seg, &bytes).expect("damage");
        assert!(matches!(store.oldest(), Oldest::Corrupt { items: 5 }));
        assert!(matches!(store.oldest(), Oldest::Record { items: 6, .. }));
    }

    #[test]
    fn a_damaged_cursor_resends_rather_than_loses() {
        let dir = temp("cursor");
        {
            let (mut store, _) = Store::open(&dir, 1 << 20, 1 << 20).expect("open");
            store.push(1, b"a").expect("push");
            store.push(1, b"b").expect("push");
            assert!(matches!(store.oldest(), Oldest::Record { .. }));
            store.ack().expect("ack");
        }
        fs::write(dir.join("ACK"), b"garbage").expect("damage");
        let (_, rec) = Store::open(&dir, 1 << 20, 1 << 20).expect("reopen");
        assert_eq!(rec.records, 2);
        assert_eq!(decode_cursor(&encode_cursor(7, 99)), Some((7, 99)));
    }
}
