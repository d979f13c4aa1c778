//! The log head: lines acknowledged since the last seal, in memory, by
//! stream. Out-of-order lines are accepted and sorted when read or sealed.
//! A head is frozen (made read-only) when it is cut for sealing; queries
//! read the live head, frozen heads and partitions alike.

use std::collections::HashMap;

use super::source::{ChunkStats, LineFilterPushdown};
use super::walrec::StoredEntry;

/// One stream's lines in the head.
#[derive(Default)]
pub struct HeadStream {
    pub entries: Vec<StoredEntry>,
    /// Are `entries` in timestamp order?
    sorted: bool,
    pub min_ts: i64,
    pub max_ts: i64,
    pub bytes: u64,
}

impl HeadStream {
    /// Entries in timestamp order (stable for equal timestamps).
    pub fn sorted_entries(&self) -> Vec<&StoredEntry> {
        let mut v: Vec<&StoredEntry> = self.entries.iter().collect();
        if !self.sorted {
            v.sort_by_key(|e| e.ts_ns);
        }
        v
    }

    pub fn stats(&self) -> ChunkStats {
        ChunkStats {
            min_ts_ns: self.min_ts,
            max_ts_ns: self.max_ts,
            entries: self.entries.len() as u64,
            bytes: self.bytes,
        }
    }
}

/// Lines since the last seal.
#[derive(Default)]
pub struct Head {
    streams: HashMap<u32, HeadStream>,
    pub bytes: u64,
    pub lines: u64,
    /// Clock time (ms) the first line arrived, 0 when empty.
    pub first_append_ms: i64,
    /// Highest push sequence number held.
    pub max_seq: u64,
    pub min_ts: i64,
    pub max_ts: i64,
}

impl Head {
    pub fn append(&mut self, stream: u32, entries: Vec<StoredEntry>, seq: u64, now_ms: i64) {
        if entries.is_empty() {
            return;
        }
        if self.lines == 0 {
            self.first_append_ms = now_ms;
            self.min_ts = i64::MAX;
            self.max_ts = i64::MIN;
        }
        self.max_seq = self.max_seq.max(seq);
        let s = self.streams.entry(stream).or_insert_with(|| HeadStream {
            sorted: true,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
            ..Default::default()
        });
        for e in entries {
            if s.sorted && s.entries.last().is_some_and(|l| l.ts_ns > e.ts_ns) {
                s.sorted = false;
            }
            s.min_ts = s.min_ts.min(e.ts_ns);
            s.max_ts = s.max_ts.max(e.ts_ns);
            self.min_ts = self.min_ts.min(e.ts_ns);
            self.max_ts = self.max_ts.max(e.ts_ns);
            s.bytes += e.line.len() as u64;
            self.bytes += e.line.len() as u64;
            self.lines += 1;
            s.entries.push(e);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }

    pub fn stream(&self, id: u32) -> Option<&HeadStream> {
        self.streams.get(&id)
    }

    pub fn streams(&self) -> impl Iterator<Item = (&u32, &HeadStream)> {
        self.streams.iter()
    }

    /// Copies of a stream's lines in `[start, end)` that pass `filter`, in
    /// timestamp order.
    pub fn copy_selected(
        &self,
        id: u32,
        start_ns: i64,
        end_ns: i64,
        filter: Option<&dyn LineFilterPushdown>,
    ) -> Vec<StoredEntry> {
        let Some(s) = self.streams.get(&id) else {
            return Vec::new();
        };
        if s.max_ts < start_ns || s.min_ts >= end_ns {
            return Vec::new();
        }
        let mut out: Vec<StoredEntry> = s
            .entries
            .iter()
            .filter(|e| e.ts_ns >= start_ns && e.ts_ns < end_ns)
            .filter(|e| filter.is_none_or(|f| f.matches(&e.line)))
            .cloned()
            .collect();
        if !s.sorted {
            out.sort_by_key(|e| e.ts_ns);
        }
        out
    }
}
