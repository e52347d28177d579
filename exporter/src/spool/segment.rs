//! The on-disk format: segment files of length-prefixed, CRC32-checked records.
//!
//! A segment starts with the 8-byte [`SEGMENT_MAGIC`]; then records, each
//!
//! | bytes | field |
//! |---|---|
//! | 4 | [`RECORD_MAGIC`], so that a reader can find the next record after damage |
//! | 4 | payload length, little endian |
//! | 4 | item count (spans or log records in the payload), little endian |
//! | 4 | CRC32 (IEEE) over the length, the item count and the payload, little endian |
//! | n | payload: one encoded OTLP export request |
//!
//! Reading never trusts a length it has not checked: a record is accepted only when it fits in
//! what is left of the file and its CRC matches. Anything else — a torn tail after a crash, a
//! block overwritten in the middle — is skipped up to the next offset where a whole valid record
//! starts, and reported as [`Scanned::Corrupt`] with the bytes skipped.

/// The first bytes of every segment file (format version 1).
pub(crate) const SEGMENT_MAGIC: &[u8; 8] = b"BSPOOL01";
/// The first bytes of every record.
pub(crate) const RECORD_MAGIC: [u8; 4] = [0xB5, 0x9C, 0x53, 0x52];
/// Bytes before a record's payload.
pub(crate) const HEADER: usize = 16;
/// The largest payload accepted, well above any export request (OTLP receivers take 4 MiB by
/// default); a length past this is damage, not data.
pub(crate) const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

/// Encodes one record: header then payload, in one buffer so that it is written with one call.
pub(crate) fn encode(items: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(&RECORD_MAGIC);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&items.to_le_bytes());
    out.extend_from_slice(&checksum(len, items, payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

fn checksum(len: u32, items: u32, payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&len.to_le_bytes());
    h.update(&items.to_le_bytes());
    h.update(payload);
    h.finalize()
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// A valid record found in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    /// Where the record starts.
    pub(crate) offset: usize,
    /// Header plus payload.
    pub(crate) len: usize,
    /// Items in the payload.
    pub(crate) items: u32,
}

#[cfg(test)]
impl Found {
    /// The payload's range in the buffer it was found in.
    pub(crate) fn payload(&self) -> std::ops::Range<usize> {
        self.offset + HEADER..self.offset + self.len
    }
}

/// What [`parse_at`] found at an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scanned {
    /// A whole record with a matching checksum.
    Record(Found),
    /// Damage from `offset`, `skipped` bytes long, up to the next valid record or the end.
    Corrupt {
        /// Where the damage starts.
        offset: usize,
        /// Bytes skipped.
        skipped: usize,
    },
}

/// Checks the record that should start at `offset` of `buf`.
pub(crate) fn check(buf: &[u8], offset: usize) -> Option<Found> {
    if buf.get(offset..offset + 4)? != RECORD_MAGIC {
        return None;
    }
    let len = le32(buf, offset + 4)?;
    let items = le32(buf, offset + 8)?;
    let crc = le32(buf, offset + 12)?;
    let n = len as usize;
    if n > MAX_PAYLOAD {
        return None;
    }
    let payload = buf.get(offset + HEADER..offset + HEADER + n)?;
    (checksum(len, items, payload) == crc).then_some(Found {
        offset,
        len: HEADER + n,
        items,
    })
}

/// Reads the record at `offset`, or the damage from there up to the next valid record.
/// `None` at the end of the buffer.
pub(crate) fn parse_at(buf: &[u8], offset: usize) -> Option<Scanned> {
    if offset >= buf.len() {
        return None;
    }
    if let Some(found) = check(buf, offset) {
        return Some(Scanned::Record(found));
    }
    let mut next = offset + 1;
    while next < buf.len() {
        // Only offsets that start with the magic can start a record.
        match buf[next..]
            .windows(RECORD_MAGIC.len())
            .position(|w| w == RECORD_MAGIC)
        {
            Some(at) => {
                next += at;
                if check(buf, next).is_some() {
                    break;
                }
                next += 1;
            }
            None => {
                next = buf.len();
                break;
            }
        }
    }
    let next = next.min(buf.len());
    Some(Scanned::Corrupt {
        offset,
        skipped: next - offset,
    })
}

/// Every record and every stretch of damage in a segment's bytes after its magic, in order.
/// A buffer that does not start with [`SEGMENT_MAGIC`] is damage as a whole.
pub(crate) fn scan(buf: &[u8]) -> Vec<Scanned> {
    let mut out = Vec::new();
    let mut offset = SEGMENT_MAGIC.len();
    if buf.get(..SEGMENT_MAGIC.len()) != Some(SEGMENT_MAGIC.as_slice()) {
        // A damaged file header: the records after it may still be whole.
        match parse_at(buf, 0) {
            Some(Scanned::Corrupt { skipped, .. }) => {
                out.push(Scanned::Corrupt { offset: 0, skipped });
                offset = skipped;
            }
            Some(Scanned::Record(_)) => offset = 0,
            None => return out,
        }
    }
    while let Some(s) = parse_at(buf, offset) {
        offset = match s {
            Scanned::Record(f) => f.offset + f.len,
            Scanned::Corrupt { offset, skipped } => offset + skipped,
        };
        out.push(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(records: &[(u32, &[u8])]) -> Vec<u8> {
        let mut buf = SEGMENT_MAGIC.to_vec();
        for (items, payload) in records {
            buf.extend(encode(*items, payload));
        }
        buf
    }

    fn records(scanned: &[Scanned]) -> Vec<u32> {
        scanned
            .iter()
            .filter_map(|s| match s {
                Scanned::Record(f) => Some(f.items),
                Scanned::Corrupt { .. } => None,
            })
            .collect()
    }

    #[test]
    fn records_round_trip_with_their_item_counts() {
        let buf = segment(&[(3, b"abc"), (0, b""), (512, &[7; 1000])]);
        let scanned = scan(&buf);
        assert_eq!(records(&scanned), vec![3, 0, 512]);
        let Scanned::Record(last) = scanned[2] else {
            panic!("{scanned:?}")
        };
        assert_eq!(&buf[last.payload()], &[7; 1000][..]);
    }

    #[test]
    fn a_flipped_bit_anywhere_in_a_record_fails_its_checksum() {
        let clean = segment(&[(1, b"hello world")]);
        for at in SEGMENT_MAGIC.len()..clean.len() {
            let mut buf = clean.clone();
            buf[at] ^= 0x10;
            let scanned = scan(&buf);
            assert!(records(&scanned).is_empty(), "byte {at}: {scanned:?}");
            assert!(
                matches!(scanned[..], [Scanned::Corrupt { .. }]),
                "byte {at}"
            );
        }
    }

    #[test]
    fn a_torn_tail_is_reported_and_what_came_before_is_kept() {
        let whole = segment(&[(1, b"first"), (2, b"second record")]);
        for cut in 1..(HEADER + 13) {
            let buf = &whole[..whole.len() - cut];
            let scanned = scan(buf);
            assert_eq!(records(&scanned), vec![1], "cut {cut}");
            let Some(Scanned::Corrupt { skipped, .. }) = scanned.last() else {
                panic!("cut {cut}: {scanned:?}")
            };
            assert_eq!(*skipped, HEADER + 13 - cut, "cut {cut}");
        }
    }

    #[test]
    fn damage_in_the_middle_skips_to_the_next_whole_record() {
        let mut buf = segment(&[(1, &[1; 100]), (2, &[2; 100]), (3, &[3; 100])]);
        let second = SEGMENT_MAGIC.len() + HEADER + 100;
        // Overwrite the second record's header and part of its payload.
        for b in &mut buf[second..second + 40] {
            *b = 0xFF;
        }
        let scanned = scan(&buf);
        assert_eq!(records(&scanned), vec![1, 3]);
        assert!(scanned.contains(&Scanned::Corrupt {
            offset: second,
            skipped: HEADER + 100
        }));
    }

    #[test]
    fn a_huge_or_lying_length_is_damage_not_an_allocation() {
        let mut buf = segment(&[(1, b"x"), (2, b"y")]);
        let len_at = SEGMENT_MAGIC.len() + 4;
        buf[len_at..len_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(records(&scan(&buf)), vec![2]);
    }

    #[test]
    fn a_damaged_file_header_keeps_the_records_after_it() {
        let mut buf = segment(&[(4, b"kept")]);
        buf[0] = b'X';
        assert_eq!(records(&scan(&buf)), vec![4]);
        assert!(scan(b"").is_empty());
        assert!(records(&scan(b"garbage that is not a segment")).is_empty());
    }

    #[test]
    fn random_bytes_never_panic() {
        // A fixed xorshift sequence: arbitrary bytes, some with magics planted in them.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for round in 0..200 {
            let mut buf = segment(&[(1, b"seed")]);
            for _ in 0..(round * 7) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf.push(x as u8);
                if x.is_multiple_of(31) {
                    buf.extend_from_slice(&RECORD_MAGIC);
                }
            }
            let scanned = scan(&buf);
            assert_eq!(records(&scanned).first(), Some(&1));
        }
    }
}
