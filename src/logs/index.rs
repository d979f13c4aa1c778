//! The n-gram index of a sealed log partition, in tantivy: one document per
//! chunk (document id = chunk ordinal, kept by building a single segment in
//! chunk order), whose only field holds every distinct byte trigram of the
//! chunk's lines as a u64 term, without positions or frequencies. A line
//! filter `|= "needle"` needs every trigram of the needle in a chunk, so the
//! chunks lacking one are skipped; candidates are always verified against
//! the lines. Built in the background after the seal, never on the write
//! path; until it exists the partition is scanned.

use std::collections::HashSet;
use std::io;
use std::path::Path;

use tantivy::collector::DocSetCollector;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, INDEXED};
use tantivy::{Index, IndexReader, ReloadPolicy, TantivyDocument, Term};

/// Memory the single-segment writer may use before it flushes.
const WRITER_BUDGET: usize = 64 << 20;

/// An open n-gram index.
pub struct NgramIndex {
    reader: IndexReader,
    gram: Field,
    docs: u32,
}

fn schema() -> (Schema, Field) {
    let mut b = Schema::builder();
    let gram = b.add_u64_field("gram", INDEXED);
    (b.build(), gram)
}

fn tantivy_err(e: tantivy::TantivyError) -> io::Error {
    io::Error::other(format!("tantivy: {e}"))
}

/// Distinct trigrams of `text`, reusing `seen` (a 2^24-bit set, all clear
/// on entry and on return).
pub fn trigrams(text: &[u8], seen: &mut Vec<u64>, out: &mut Vec<u32>) {
    if seen.len() != (1 << 24) / 64 {
        *seen = vec![0u64; (1 << 24) / 64];
    }
    out.clear();
    for w in text.windows(3) {
        let v = (u32::from(w[0]) << 16) | (u32::from(w[1]) << 8) | u32::from(w[2]);
        let (word, bit) = ((v >> 6) as usize, 1u64 << (v & 63));
        if seen[word] & bit == 0 {
            seen[word] |= bit;
            out.push(v);
        }
    }
    for &v in out.iter() {
        seen[(v >> 6) as usize] = 0;
    }
}

impl NgramIndex {
    /// Builds the index of a partition's chunks into `dir` (which must not
    /// exist): `chunks` yields each chunk's lines' bytes in ordinal order.
    pub fn build(
        dir: &Path,
        mut chunks: impl FnMut(&mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()>,
    ) -> io::Result<NgramIndex> {
        let tmp = dir.with_extension("tmp");
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        let (schema, gram) = schema();
        let mmap = MmapDirectory::open(&tmp).map_err(|e| io::Error::other(e.to_string()))?;
        let mut writer = Index::builder()
            .schema(schema)
            .single_segment_index_writer::<TantivyDocument>(mmap, WRITER_BUDGET)
            .map_err(tantivy_err)?;
        let mut seen = Vec::new();
        let mut grams = Vec::new();
        chunks(&mut |text: &[u8]| {
            trigrams(text, &mut seen, &mut grams);
            let mut doc = TantivyDocument::default();
            for &g in &grams {
                doc.add_u64(gram, u64::from(g));
            }
            writer.add_document(doc).map_err(tantivy_err)
        })?;
        writer.finalize().map_err(tantivy_err)?;
        crate::storage::fsutil::fsync_dir(&tmp)?;
        crate::storage::fsutil::publish_dir(&tmp, dir)?;
        Self::open(dir)
    }

    /// Opens a built index; `None` if it is missing or unreadable.
    pub fn open_if_complete(dir: &Path) -> Option<NgramIndex> {
        if !dir.is_dir() {
            return None;
        }
        match Self::open(dir) {
            Ok(ix) => Some(ix),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "log index unreadable; it will be rebuilt");
                let _ = std::fs::remove_dir_all(dir);
                None
            }
        }
    }

    fn open(dir: &Path) -> io::Result<NgramIndex> {
        let index = Index::open_in_dir(dir).map_err(tantivy_err)?;
        let gram = index
            .schema()
            .get_field("gram")
            .map_err(|e| io::Error::other(e.to_string()))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(tantivy_err)?;
        let searcher = reader.searcher();
        if searcher.segment_readers().len() > 1 {
            return Err(io::Error::other("log index has more than one segment"));
        }
        let docs = searcher.num_docs() as u32;
        Ok(NgramIndex { reader, gram, docs })
    }

    /// Number of chunks indexed.
    pub fn docs(&self) -> u32 {
        self.docs
    }

    /// Ordinals of the chunks that may contain every one of `needles`;
    /// `None` when the needles give nothing to prune by (all shorter than 3).
    pub fn candidates(&self, needles: &[Vec<u8>]) -> io::Result<Option<HashSet<u32>>> {
        let mut terms: Vec<u32> = Vec::new();
        let mut seen = Vec::new();
        let mut grams = Vec::new();
        for n in needles {
            trigrams(n, &mut seen, &mut grams);
            terms.extend_from_slice(&grams);
        }
        terms.sort_unstable();
        terms.dedup();
        if terms.is_empty() {
            return Ok(None);
        }
        let queries: Vec<Box<dyn Query>> = terms
            .iter()
            .map(|&g| {
                Box::new(TermQuery::new(
                    Term::from_field_u64(self.gram, u64::from(g)),
                    IndexRecordOption::Basic,
                )) as Box<dyn Query>
            })
            .collect();
        let query = BooleanQuery::intersection(queries);
        let searcher = self.reader.searcher();
        let hits = searcher
            .search(&query, &DocSetCollector)
            .map_err(tantivy_err)?;
        Ok(Some(hits.into_iter().map(|d| d.doc_id).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigrams_are_distinct_and_the_set_is_left_clear() {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        trigrams(b"abcabcab", &mut seen, &mut out);
        out.sort_unstable();
        let expect: Vec<u32> = [b"abc", b"bca", b"cab"]
            .iter()
            .map(|w| (u32::from(w[0]) << 16) | (u32::from(w[1]) << 8) | u32::from(w[2]))
            .collect();
        assert_eq!(out, expect);
        assert!(seen.iter().all(|&w| w == 0));
    }

    #[test]
    fn finds_exactly_the_chunks_holding_all_needle_trigrams() {
        let dir = tempfile::tempdir().unwrap();
        let chunks: Vec<&[u8]> = vec![
            b"level=info msg=started pod=wp-1",
            b"level=error msg=needle in a haystack",
            b"nothing here but hay",
            b"another needle, error free",
        ];
        let ix = NgramIndex::build(&dir.path().join("index"), |add| {
            for c in &chunks {
                add(c)?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(ix.docs(), 4);
        let hits = |n: &[&str]| {
            let needles: Vec<Vec<u8>> = n.iter().map(|s| s.as_bytes().to_vec()).collect();
            let mut v: Vec<u32> = ix
                .candidates(&needles)
                .unwrap()
                .unwrap()
                .into_iter()
                .collect();
            v.sort_unstable();
            v
        };
        assert_eq!(hits(&["needle"]), vec![1, 3]);
        assert_eq!(hits(&["needle", "error"]), vec![1, 3]);
        assert_eq!(hits(&["haystack"]), vec![1]);
        assert_eq!(hits(&["zebra"]), Vec::<u32>::new());
        assert!(ix.candidates(&[b"ab".to_vec()]).unwrap().is_none());
        // Reopens from disk.
        let again = NgramIndex::open_if_complete(&dir.path().join("index")).unwrap();
        assert_eq!(again.docs(), 4);
    }
}
