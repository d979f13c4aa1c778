//! The stream index of one tenant: label set ↔ stream id, and label
//! postings (name → value → stream ids) for selecting streams by matchers.
//! Stream ids live in memory only; sealed partitions and the WAL name
//! streams by their labels, and ids are handed out again on restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::model::{Labels, MatchOp, Matcher};

/// A tenant's streams.
#[derive(Default)]
pub struct StreamIndex {
    by_labels: HashMap<Arc<Labels>, u32>,
    labels: Vec<Arc<Labels>>,
    postings: BTreeMap<String, BTreeMap<String, Vec<u32>>>,
}

impl StreamIndex {
    /// The id of a label set, if known.
    pub fn get(&self, labels: &Labels) -> Option<u32> {
        self.by_labels.get(labels).copied()
    }

    /// The id of a label set, creating it if new.
    pub fn get_or_create(&mut self, labels: &Labels) -> u32 {
        if let Some(id) = self.by_labels.get(labels) {
            return *id;
        }
        let id = self.labels.len() as u32;
        let l = Arc::new(labels.clone());
        for p in l.iter() {
            self.postings
                .entry(p.name.clone())
                .or_default()
                .entry(p.value.clone())
                .or_default()
                .push(id);
        }
        self.labels.push(l.clone());
        self.by_labels.insert(l, id);
        id
    }

    pub fn labels(&self, id: u32) -> Option<&Arc<Labels>> {
        self.labels.get(id as usize)
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Ids of the streams matching every matcher (all streams for none), ascending.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<u32> {
        // Start from the smallest posting list an equality or regex matcher
        // that cannot match the empty string gives; check the rest per stream.
        let mut best: Option<Vec<u32>> = None;
        for m in matchers {
            if m.matches_empty() {
                continue;
            }
            let ids = self.ids_for(m);
            if best.as_ref().is_none_or(|b| ids.len() < b.len()) {
                best = Some(ids);
            }
            if best.as_ref().is_some_and(|b| b.is_empty()) {
                return Vec::new();
            }
        }
        let candidates = best.unwrap_or_else(|| (0..self.labels.len() as u32).collect());
        candidates
            .into_iter()
            .filter(|&id| {
                let l = &self.labels[id as usize];
                matchers
                    .iter()
                    .all(|m| m.matches(l.get(&m.name).unwrap_or("")))
            })
            .collect()
    }

    /// Streams having a value of `m.name` that `m` matches.
    fn ids_for(&self, m: &Matcher) -> Vec<u32> {
        let Some(values) = self.postings.get(&m.name) else {
            return Vec::new();
        };
        let mut out = match m.op {
            MatchOp::Equal => return values.get(&m.value).cloned().unwrap_or_default(),
            _ => Vec::new(),
        };
        for (v, ids) in values {
            if m.matches(v) {
                out.extend_from_slice(ids);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Label names in use, sorted.
    pub fn label_names(&self) -> Vec<String> {
        self.postings.keys().cloned().collect()
    }

    /// Values of a label, sorted.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        self.postings
            .get(name)
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_by_matchers() {
        let mut ix = StreamIndex::default();
        let a = ix.get_or_create(&Labels::from_pairs([
            ("ns", "wordpress-staging"),
            ("pod", "a"),
        ]));
        let b = ix.get_or_create(&Labels::from_pairs([
            ("ns", "wordpress-production"),
            ("pod", "b"),
        ]));
        let c = ix.get_or_create(&Labels::from_pairs([("ns", "kube-system"), ("pod", "c")]));
        assert_eq!(
            ix.get_or_create(&Labels::from_pairs([
                ("pod", "a"),
                ("ns", "wordpress-staging")
            ])),
            a
        );
        let m = |op, n: &str, v: &str| Matcher::new(op, n, v).unwrap();
        assert_eq!(
            ix.select(&[m(MatchOp::Equal, "ns", "wordpress-staging")]),
            vec![a]
        );
        assert_eq!(
            ix.select(&[m(MatchOp::Regex, "ns", "wordpress-.*")]),
            vec![a, b]
        );
        assert_eq!(
            ix.select(&[
                m(MatchOp::Regex, "ns", ".+"),
                m(MatchOp::NotEqual, "pod", "b")
            ]),
            vec![a, c]
        );
        assert_eq!(
            ix.select(&[m(MatchOp::Equal, "ns", "nope")]),
            Vec::<u32>::new()
        );
        assert_eq!(
            ix.select(&[m(MatchOp::NotRegex, "ns", "kube.*")]),
            vec![a, b]
        );
        assert_eq!(ix.label_names(), vec!["ns", "pod"]);
        assert_eq!(ix.label_values("pod"), vec!["a", "b", "c"]);
    }
}
