//! The hash chain: the canonical encoding of an entry, and how `verify` finds and names a break.
//!
//! # Canonical encoding (version 1)
//! An entry's hash is `SHA-256(encoding)`, where `encoding` is, byte after byte:
//!
//! | part | bytes |
//! |---|---|
//! | domain tag | the 16 ASCII bytes `beacon-audit/v1\n` |
//! | `sequence` | 8, unsigned big-endian |
//! | `inserted_at` | 8, signed big-endian microseconds since 1970-01-01T00:00:00Z |
//! | `event_type`, `actor_type`, `actor_id`, `resource_type`, `resource_id`, `action`, `details` | each a *string*: 4-byte big-endian length, then its UTF-8 bytes |
//! | `correlation_id`, `client_ip`, `user_agent` | each an *optional string*: `0x00` when absent, or `0x01` then a string |
//! | `prev_hash` | 32, the previous entry's hash (32 zero bytes for entry 1) |
//!
//! `details` is hashed as the JSON text the log stored, byte for byte (the log writes it once,
//! with `serde_json`, and never re-encodes it). Lengths make the encoding unambiguous: no two
//! different entries encode to the same bytes.
//!
//! # Example
//! ```
//! use beacon_audit::{Hash, TamperKind};
//! assert_eq!(Hash::GENESIS.to_hex(), "0".repeat(64));
//! assert_eq!(TamperKind::Reordered.to_string(), "reordered");
//! ```

use std::collections::HashMap;
use std::fmt;

use sha2::{Digest, Sha256};

use crate::Hash;

const DOMAIN: &[u8; 16] = b"beacon-audit/v1\n";

/// An entry's hashed fields, borrowed (from an [`crate::Entry`] or straight from a row).
pub(crate) struct Fields<'a> {
    pub(crate) sequence: u64,
    pub(crate) inserted_at_us: i64,
    pub(crate) event_type: &'a str,
    pub(crate) actor_type: &'a str,
    pub(crate) actor_id: &'a str,
    pub(crate) resource_type: &'a str,
    pub(crate) resource_id: &'a str,
    pub(crate) action: &'a str,
    pub(crate) details: &'a str,
    pub(crate) correlation_id: Option<&'a str>,
    pub(crate) client_ip: Option<&'a str>,
    pub(crate) user_agent: Option<&'a str>,
    pub(crate) prev_hash: &'a Hash,
}

impl Fields<'_> {
    /// SHA-256 of the canonical encoding.
    pub(crate) fn hash(&self) -> Hash {
        fn string(h: &mut Sha256, s: &str) {
            // Lengths past 4 GiB cannot occur: details are size-limited, other fields are ids.
            let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
            h.update(len.to_be_bytes());
            h.update(s.as_bytes());
        }
        fn optional(h: &mut Sha256, s: Option<&str>) {
            match s {
                None => h.update([0u8]),
                Some(s) => {
                    h.update([1u8]);
                    string(h, s);
                }
            }
        }
        let mut h = Sha256::new();
        h.update(DOMAIN);
        h.update(self.sequence.to_be_bytes());
        h.update(self.inserted_at_us.to_be_bytes());
        for s in [
            self.event_type,
            self.actor_type,
            self.actor_id,
            self.resource_type,
            self.resource_id,
            self.action,
            self.details,
        ] {
            string(&mut h, s);
        }
        for s in [self.correlation_id, self.client_ip, self.user_agent] {
            optional(&mut h, s);
        }
        h.update(self.prev_hash.0);
        Hash(h.finalize().into())
    }
}

/// One stored row as `verify` sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Link {
    pub(crate) sequence: u64,
    pub(crate) prev_hash: Hash,
    pub(crate) hash: Hash,
    /// Whether `hash` is the hash of the row's content (with its stored sequence and prev hash).
    pub(crate) content_ok: bool,
}

/// How the log was tampered with, as far as the chain shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TamperKind {
    /// The entry's content, hash or previous hash was changed.
    Modified,
    /// One or more entries were added between existing ones, starting here.
    Inserted,
    /// The entry with this sequence number (and maybe more) is missing.
    Deleted,
    /// Entries were moved: the one stored here belongs elsewhere in the chain.
    Reordered,
    /// The log ends before a checkpoint's head: entries from here on were cut off.
    Truncated,
    /// The chain is consistent but differs from a checkpoint at this sequence: the history up to
    /// the checkpoint was rewritten (and re-hashed).
    Rewritten,
}

impl fmt::Display for TamperKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TamperKind::Modified => "modified",
            TamperKind::Inserted => "inserted",
            TamperKind::Deleted => "deleted",
            TamperKind::Reordered => "reordered",
            TamperKind::Truncated => "truncated",
            TamperKind::Rewritten => "rewritten",
        })
    }
}

/// The first place where the log is not what was appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tampering {
    /// The first bad sequence number.
    pub sequence: u64,
    /// What happened there.
    pub kind: TamperKind,
}

impl fmt::Display for Tampering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry {} {}", self.sequence, self.kind)
    }
}

/// The head of the chain: the last entry's sequence number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Head {
    /// The last sequence number.
    pub sequence: u64,
    /// The last entry's hash.
    #[serde(serialize_with = "hex")]
    pub hash: Hash,
}

fn hex<S: serde::Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&h.to_hex())
}

/// What [`verify`](crate::AuditLog::verify) found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Entries read.
    pub entries: u64,
    /// The last intact head (the whole log's head when intact).
    pub head: Option<Head>,
    /// The first tampering, or `None` when the log is intact.
    pub tampering: Option<Tampering>,
}

impl Verification {
    /// Whether no tampering was found.
    pub fn is_intact(&self) -> bool {
        self.tampering.is_none()
    }
}

/// Walks the links once; returns how many, the intact head, and the position of the first
/// broken link, if any. `at` is asked for the hash stored at a checkpoint's sequence.
pub(crate) struct Walk {
    pub(crate) entries: u64,
    pub(crate) head: Option<Head>,
    pub(crate) broken_at: Option<usize>,
    pub(crate) hash_at_checkpoint: Option<Hash>,
}

/// The streaming check: entry `i` (from 0) must have sequence `i + 1`, link to entry `i - 1`'s
/// hash, and hash to its stored hash.
pub(crate) struct Walker {
    walk: Walk,
    checkpoint_sequence: Option<u64>,
}

impl Walker {
    pub(crate) fn new(checkpoint_sequence: Option<u64>) -> Self {
        Self {
            walk: Walk {
                entries: 0,
                head: None,
                broken_at: None,
                hash_at_checkpoint: None,
            },
            checkpoint_sequence,
        }
    }

    /// Feeds the next link; `false` once the chain is broken (stop reading).
    pub(crate) fn feed(&mut self, link: &Link) -> bool {
        let w = &mut self.walk;
        let position = w.entries;
        w.entries += 1;
        let last = w.head.map_or(Hash::GENESIS, |h| h.hash);
        if link.sequence != position + 1 || link.prev_hash != last || !link.content_ok {
            w.broken_at = usize::try_from(position).ok();
            return false;
        }
        if Some(link.sequence) == self.checkpoint_sequence {
            w.hash_at_checkpoint = Some(link.hash);
        }
        w.head = Some(Head {
            sequence: link.sequence,
            hash: link.hash,
        });
        true
    }

    pub(crate) fn finish(self) -> Walk {
        self.walk
    }
}

/// Names the break at position `p` of `all` (every link of the log, in sequence order).
pub(crate) fn classify(all: &[Link], p: usize) -> Tampering {
    let r = &all[p];
    let expected = p as u64 + 1;
    let last = if p == 0 {
        Hash::GENESIS
    } else {
        all[p - 1].hash
    };
    if r.sequence > expected {
        return Tampering {
            sequence: expected,
            kind: TamperKind::Deleted,
        };
    }
    if r.prev_hash == last {
        // The link is right, so this row's own content or hash changed.
        return Tampering {
            sequence: expected,
            kind: TamperKind::Modified,
        };
    }
    let position_of: HashMap<Hash, usize> =
        all.iter().enumerate().map(|(i, l)| (l.hash, i)).collect();
    let earlier = match position_of.get(&r.prev_hash) {
        // This row's predecessor is stored after it: rows were moved.
        Some(&q) if q > p => {
            return Tampering {
                sequence: expected,
                kind: TamperKind::Reordered,
            }
        }
        Some(&q) => Some(q),
        None => None,
    };
    if all.get(p + 1).is_some_and(|next| next.prev_hash == last) {
        // The next row links past this one: this one was put in.
        return Tampering {
            sequence: expected,
            kind: TamperKind::Inserted,
        };
    }
    match earlier {
        // The row links to an earlier entry than its predecessor: the ones between were put in
        // (forged with valid links).
        Some(q) if q + 1 < p => Tampering {
            sequence: q as u64 + 2,
            kind: TamperKind::Inserted,
        },
        _ => Tampering {
            sequence: expected,
            kind: TamperKind::Modified,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> Hash {
        Hash([n; 32])
    }

    /// A valid chain of `n` links: link i has hash h(i), prev h(i-1) (h(0) is genesis).
    fn chain(n: u8) -> Vec<Link> {
        (1..=n)
            .map(|i| Link {
                sequence: u64::from(i),
                prev_hash: h(i - 1),
                hash: h(i),
                content_ok: true,
            })
            .collect()
    }

    fn walk(links: &[Link]) -> Option<Tampering> {
        let mut w = Walker::new(None);
        for l in links {
            if !w.feed(l) {
                break;
            }
        }
        w.finish().broken_at.map(|p| classify(links, p))
    }

    #[test]
    fn intact_chain_has_no_break() {
        assert_eq!(walk(&chain(5)), None);
    }

    #[test]
    fn each_kind_of_tampering_is_named_at_the_right_sequence() {
        let mut modified = chain(5);
        modified[2].content_ok = false;
        assert_eq!(
            walk(&modified),
            Some(Tampering {
                sequence: 3,
                kind: TamperKind::Modified
            })
        );

        let mut deleted = chain(5);
        deleted.remove(2);
        assert_eq!(
            walk(&deleted),
            Some(Tampering {
                sequence: 3,
                kind: TamperKind::Deleted
            })
        );

        // Rows 3 and 4 swap places (and sequence numbers).
        let mut swapped = chain(5);
        swapped.swap(2, 3);
        swapped[2].sequence = 3;
        swapped[3].sequence = 4;
        swapped[2].content_ok = false;
        swapped[3].content_ok = false;
        assert_eq!(
            walk(&swapped),
            Some(Tampering {
                sequence: 3,
                kind: TamperKind::Reordered
            })
        );

        // A forged row with a bogus hash between 2 and 3; the rest renumbered.
        let mut inserted = chain(5);
        inserted.insert(
            2,
            Link {
                sequence: 3,
                prev_hash: h(77),
                hash: h(78),
                content_ok: false,
            },
        );
        for (i, l) in inserted.iter_mut().enumerate() {
            l.sequence = i as u64 + 1;
        }
        assert_eq!(
            walk(&inserted),
            Some(Tampering {
                sequence: 3,
                kind: TamperKind::Inserted
            })
        );

        // A copy of row 2 put in as row 3; the rest renumbered.
        let mut copied = chain(5);
        copied.insert(2, copied[1]);
        for (i, l) in copied.iter_mut().enumerate() {
            l.sequence = i as u64 + 1;
        }
        assert_eq!(
            walk(&copied),
            Some(Tampering {
                sequence: 3,
                kind: TamperKind::Inserted
            })
        );

        // A changed prev hash.
        let mut relinked = chain(5);
        relinked[2].prev_hash = h(50);
        assert_eq!(
            walk(&relinked),
            Some(Tampering {
                sequence: 3,
                kind: TamperKind::Modified
            })
        );

        // A well-forged row (right link, right hash) between 2 and 3.
        let mut forged = chain(5);
        forged.insert(
            2,
            Link {
                sequence: 3,
                prev_hash: h(2),
                hash: h(99),
                content_ok: true,
            },
        );
        for (i, l) in forged.iter_mut().enumerate() {
            l.sequence = i as u64 + 1;
        }
        assert_eq!(
            walk(&forged),
            Some(Tampering {
                sequence: 3,
                kind: TamperKind::Inserted
            })
        );
    }
}
