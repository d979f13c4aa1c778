//! `MemorySource`: an in-memory [`LogSource`] for tests. It keeps every
//! pushed line per stream, sorted by timestamp (equal timestamps in arrival
//! order), and answers selections exactly as the trait describes: streams
//! matching every matcher, lines in `[start, end)` that pass the push-down
//! filter, one call per stream with at least one selected line.

use std::borrow::Borrow;
use std::ops::ControlFlow;
use std::sync::RwLock;

use super::source::{ChunkStats, EntryRef, LogSource, SelectRequest, SourceError};
use crate::model::{Label, Labels, Matcher};

struct StoredLine {
    ts_ns: i64,
    line: String,
    metadata: Vec<Label>,
}

struct MemStream {
    labels: Labels,
    lines: Vec<StoredLine>,
}

/// Log lines held in memory, grouped into streams by their label set.
#[derive(Default)]
pub struct MemorySource {
    streams: RwLock<Vec<MemStream>>,
}

fn matches_all(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

impl MemorySource {
    pub fn new() -> Self {
        MemorySource::default()
    }

    /// Adds one line to the stream `labels` (created on first use).
    /// Metadata is kept sorted by name. Out-of-order lines are accepted and
    /// placed by timestamp, after lines with the same timestamp.
    pub fn push(
        &self,
        labels: impl Borrow<Labels>,
        ts_ns: i64,
        line: impl Into<String>,
        metadata: impl Into<Vec<Label>>,
    ) {
        let labels = labels.borrow();
        let mut metadata = metadata.into();
        metadata.sort_by(|a, b| a.name.cmp(&b.name));
        let entry = StoredLine {
            ts_ns,
            line: line.into(),
            metadata,
        };
        let mut streams = match self.streams.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let idx = match streams.iter().position(|s| &s.labels == labels) {
            Some(i) => i,
            None => {
                streams.push(MemStream {
                    labels: labels.clone(),
                    lines: Vec::new(),
                });
                streams.len() - 1
            }
        };
        let lines = &mut streams[idx].lines;
        let at = lines.partition_point(|l| l.ts_ns <= ts_ns);
        lines.insert(at, entry);
    }

    /// Number of lines held, over all streams.
    pub fn len(&self) -> usize {
        self.read().iter().map(|s| s.lines.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<MemStream>> {
        match self.streams.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// The lines of one stream with `start <= ts < end`.
fn in_range(lines: &[StoredLine], start_ns: i64, end_ns: i64) -> &[StoredLine] {
    let lo = lines.partition_point(|l| l.ts_ns < start_ns);
    let hi = lines.partition_point(|l| l.ts_ns < end_ns).max(lo);
    &lines[lo..hi]
}

impl LogSource for MemorySource {
    fn select(
        &self,
        req: &SelectRequest<'_>,
        sink: &mut dyn FnMut(&Labels, &[EntryRef<'_>]) -> ControlFlow<()>,
    ) -> Result<(), SourceError> {
        let streams = self.read();
        let mut batch: Vec<EntryRef<'_>> = Vec::new();
        for s in streams.iter() {
            if !matches_all(req.matchers, &s.labels) {
                continue;
            }
            batch.clear();
            for l in in_range(&s.lines, req.start_ns, req.end_ns) {
                if req.filter.is_some_and(|f| !f.matches(&l.line)) {
                    continue;
                }
                batch.push(EntryRef {
                    ts_ns: l.ts_ns,
                    line: &l.line,
                    metadata: &l.metadata,
                });
            }
            if batch.is_empty() {
                continue;
            }
            if sink(&s.labels, &batch).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn series(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
    ) -> Result<Vec<Labels>, SourceError> {
        let streams = self.read();
        Ok(streams
            .iter()
            .filter(|s| matches_all(matchers, &s.labels))
            .filter(|s| !in_range(&s.lines, start_ns, end_ns).is_empty())
            .map(|s| s.labels.clone())
            .collect())
    }

    /// Each stream counts as one chunk holding its lines in `[start, end)`.
    fn chunk_stats(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
        sink: &mut dyn FnMut(&Labels, ChunkStats),
    ) -> Result<(), SourceError> {
        let streams = self.read();
        for s in streams.iter() {
            if !matches_all(matchers, &s.labels) {
                continue;
            }
            let lines = in_range(&s.lines, start_ns, end_ns);
            let (Some(first), Some(last)) = (lines.first(), lines.last()) else {
                continue;
            };
            sink(
                &s.labels,
                ChunkStats {
                    min_ts_ns: first.ts_ns,
                    max_ts_ns: last.ts_ns,
                    entries: lines.len() as u64,
                    bytes: lines.iter().map(|l| l.line.len() as u64).sum(),
                },
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LineFilterPushdown;
    use crate::model::MatchOp;

    struct Contains(&'static str);
    impl LineFilterPushdown for Contains {
        fn matches(&self, line: &str) -> bool {
            line.contains(self.0)
        }
        fn required_substrings(&self) -> Vec<Vec<u8>> {
            vec![self.0.as_bytes().to_vec()]
        }
    }

    fn lbs(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    fn collect(src: &MemorySource, req: &SelectRequest<'_>) -> Vec<(String, Vec<(i64, String)>)> {
        let mut out = Vec::new();
        src.select(req, &mut |l, entries| {
            out.push((
                l.to_string(),
                entries
                    .iter()
                    .map(|e| (e.ts_ns, e.line.to_string()))
                    .collect(),
            ));
            ControlFlow::Continue(())
        })
        .unwrap();
        out.sort();
        out
    }

    #[test]
    fn select_applies_matchers_range_and_filter() {
        let src = MemorySource::new();
        let a = lbs(&[("app", "a")]);
        let b = lbs(&[("app", "b")]);
        src.push(&a, 30, "a3 err", vec![]);
        src.push(&a, 10, "a1 err", vec![]);
        src.push(&a, 20, "a2 ok", vec![]);
        src.push(&a, 20, "a2b err", vec![]);
        src.push(b.clone(), 15, "b1 err", vec![]);
        assert_eq!(src.len(), 5);

        let all = [Matcher::new(MatchOp::Regex, "app", ".+").unwrap()];
        let req = SelectRequest {
            matchers: &all,
            start_ns: 10,
            end_ns: 30,
            filter: None,
        };
        assert_eq!(
            collect(&src, &req),
            vec![
                (
                    "{app=\"a\"}".to_string(),
                    vec![
                        (10, "a1 err".to_string()),
                        (20, "a2 ok".to_string()),
                        (20, "a2b err".to_string())
                    ]
                ),
                ("{app=\"b\"}".to_string(), vec![(15, "b1 err".to_string())]),
            ]
        );

        let only_a = [Matcher::equal("app", "a")];
        let f = Contains("err");
        let req = SelectRequest {
            matchers: &only_a,
            start_ns: 0,
            end_ns: 100,
            filter: Some(&f),
        };
        assert_eq!(
            collect(&src, &req),
            vec![(
                "{app=\"a\"}".to_string(),
                vec![
                    (10, "a1 err".to_string()),
                    (20, "a2b err".to_string()),
                    (30, "a3 err".to_string())
                ]
            )]
        );

        // A stream with no selected line is not reported.
        let req = SelectRequest {
            matchers: &all,
            start_ns: 31,
            end_ns: 100,
            filter: None,
        };
        assert!(collect(&src, &req).is_empty());
    }

    #[test]
    fn metadata_sorted_and_series_stats() {
        let src = MemorySource::new();
        let a = lbs(&[("app", "a")]);
        src.push(
            &a,
            5,
            "xy",
            vec![Label::new("z", "1"), Label::new("b", "2")],
        );
        src.push(&a, 7, "abc", vec![]);
        let mut seen = Vec::new();
        src.select(
            &SelectRequest {
                matchers: &[],
                start_ns: 0,
                end_ns: 6,
                filter: None,
            },
            &mut |_, e| {
                seen = e[0].metadata.to_vec();
                ControlFlow::Break(())
            },
        )
        .unwrap();
        assert_eq!(seen, vec![Label::new("b", "2"), Label::new("z", "1")]);

        assert_eq!(src.series(&[], 6, 8).unwrap(), vec![a.clone()]);
        assert!(src.series(&[], 8, 9).unwrap().is_empty());
        let mut stats = Vec::new();
        src.chunk_stats(&[], 0, 100, &mut |l, s| stats.push((l.clone(), s)))
            .unwrap();
        assert_eq!(
            stats,
            vec![(
                a,
                ChunkStats {
                    min_ts_ns: 5,
                    max_ts_ns: 7,
                    entries: 2,
                    bytes: 5
                }
            )]
        );
    }
}
