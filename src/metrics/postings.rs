//! Postings: sorted lists of series ids and the operations on them
//! ([`intersect`], [`union`], [`subtract`]), plus [`PostingsIndex`], the
//! inverted index from label name and value to postings that resolves a
//! selector's matchers to series ids with Prometheus' `PostingsForMatchers`
//! semantics.
//!
//! Every postings list is a strictly increasing `u32` slice; the functions
//! here assume it (checked in debug builds) and keep it.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::model::{Labels, MatchOp, Matcher};

/// When one list is this many times longer than the other, walk the long
/// one by galloping (exponential then binary search) instead of linearly.
const GALLOP_RATIO: usize = 16;

fn is_strictly_increasing(l: &[u32]) -> bool {
    l.windows(2).all(|w| w[0] < w[1])
}

/// First index `i` with `s[i] >= x` (`s.len()` if none), searching from the
/// front with exponentially growing steps: O(log i).
#[inline]
fn gallop(s: &[u32], x: u32) -> usize {
    let mut hi = 1;
    while hi < s.len() && s[hi] < x {
        hi *= 2;
    }
    let lo = hi / 2;
    let hi = hi.min(s.len());
    lo + s[lo..hi].partition_point(|&y| y < x)
}

/// Ids present in every list. No lists gives an empty result.
///
/// Works smallest list first, so the running result only shrinks; each
/// further list is merged linearly, or galloped through when it is much
/// longer than the running result.
pub fn intersect(lists: &[&[u32]]) -> Vec<u32> {
    debug_assert!(lists.iter().all(|l| is_strictly_increasing(l)));
    let mut sorted: Vec<&[u32]> = lists.to_vec();
    sorted.sort_unstable_by_key(|l| l.len());
    let Some((first, rest)) = sorted.split_first() else {
        return Vec::new();
    };
    let mut out = first.to_vec();
    for other in rest {
        if out.is_empty() {
            break;
        }
        intersect_in_place(&mut out, other);
    }
    out
}

/// Keeps the ids of `acc` that are in `other`.
fn intersect_in_place(acc: &mut Vec<u32>, other: &[u32]) {
    let mut w = 0;
    if other.len() / GALLOP_RATIO > acc.len() {
        let mut rest = other;
        for i in 0..acc.len() {
            let x = acc[i];
            rest = &rest[gallop(rest, x)..];
            match rest.first() {
                None => break,
                Some(&y) if y == x => {
                    acc[w] = x;
                    w += 1;
                    rest = &rest[1..];
                }
                Some(_) => {}
            }
        }
    } else {
        let mut j = 0;
        for i in 0..acc.len() {
            let x = acc[i];
            while j < other.len() && other[j] < x {
                j += 1;
            }
            if j == other.len() {
                break;
            }
            if other[j] == x {
                acc[w] = x;
                w += 1;
                j += 1;
            }
        }
    }
    acc.truncate(w);
}

/// Ids present in any list, sorted and deduplicated.
///
/// Dense inputs (many ids within a small id range) are combined through a
/// bitmap; otherwise lists are merged pairwise in a balanced tree, which is
/// O(n log k) for k lists holding n ids.
pub fn union(lists: &[&[u32]]) -> Vec<u32> {
    debug_assert!(lists.iter().all(|l| is_strictly_increasing(l)));
    let lists: Vec<&[u32]> = lists.iter().copied().filter(|l| !l.is_empty()).collect();
    match lists.len() {
        0 => return Vec::new(),
        1 => return lists[0].to_vec(),
        2 => return merge2(lists[0], lists[1]),
        _ => {}
    }
    let total: usize = lists.iter().map(|l| l.len()).sum();
    let max = lists
        .iter()
        .filter_map(|l| l.last())
        .max()
        .copied()
        .unwrap_or(0);
    // A bitmap of max/8 bytes is no bigger than the input lists themselves.
    if (max as usize) / 32 <= total {
        return union_bitmap(&lists, max);
    }
    let mut round: Vec<Vec<u32>> = lists
        .chunks(2)
        .map(|p| match p {
            [a, b] => merge2(a, b),
            [a] => a.to_vec(),
            _ => Vec::new(),
        })
        .collect();
    while round.len() > 1 {
        let mut next = Vec::with_capacity(round.len().div_ceil(2));
        let mut it = round.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => merge2(&a, &b),
                None => a,
            });
        }
        round = next;
    }
    round.pop().unwrap_or_default()
}

fn union_bitmap(lists: &[&[u32]], max: u32) -> Vec<u32> {
    let mut words = vec![0u64; max as usize / 64 + 1];
    for l in lists {
        for &x in *l {
            words[x as usize / 64] |= 1 << (x % 64);
        }
    }
    let count: u32 = words.iter().map(|w| w.count_ones()).sum();
    let mut out = Vec::with_capacity(count as usize);
    for (i, &w) in words.iter().enumerate() {
        let mut w = w;
        while w != 0 {
            out.push(i as u32 * 64 + w.trailing_zeros());
            w &= w - 1;
        }
    }
    out
}

/// Sorted union of two sorted lists.
fn merge2(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        if x <= y {
            out.push(x);
            i += 1;
            j += (x == y) as usize;
        } else {
            out.push(y);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Ids of `a` that are not in `b`.
pub fn subtract(a: &[u32], b: &[u32]) -> Vec<u32> {
    debug_assert!(is_strictly_increasing(a) && is_strictly_increasing(b));
    if b.is_empty() {
        return a.to_vec();
    }
    let mut out = Vec::with_capacity(a.len());
    if b.len() / GALLOP_RATIO > a.len() {
        let mut rest = b;
        for &x in a {
            rest = &rest[gallop(rest, x)..];
            match rest.first() {
                Some(&y) if y == x => rest = &rest[1..],
                _ => out.push(x),
            }
        }
    } else {
        let mut j = 0;
        for (i, &x) in a.iter().enumerate() {
            while j < b.len() && b[j] < x {
                j += 1;
            }
            if j == b.len() {
                out.extend_from_slice(&a[i..]);
                break;
            }
            if b[j] != x {
                out.push(x);
            }
        }
    }
    out
}

/// Adds `id` to a sorted list: a push when ids arrive in increasing order,
/// else a sorted insert (no-op if present).
#[inline]
fn insert_sorted(list: &mut Vec<u32>, id: u32) {
    match list.last() {
        None => list.push(id),
        Some(&last) if last < id => list.push(id),
        Some(_) => {
            if let Err(i) = list.binary_search(&id) {
                list.insert(i, id);
            }
        }
    }
}

/// Label name → label value → postings, plus the postings of all series.
#[derive(Clone, Debug, Default)]
pub struct PostingsIndex {
    map: HashMap<String, BTreeMap<String, Vec<u32>>>,
    all: Vec<u32>,
}

impl PostingsIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Indexes series `id` under each of its labels. Ids are expected in
    /// increasing order (that is the fast path); an id added out of order is
    /// inserted in place, and adding an id twice changes nothing.
    pub fn add(&mut self, id: u32, labels: &Labels) {
        insert_sorted(&mut self.all, id);
        for l in labels {
            if l.value.is_empty() {
                continue; // an empty value means "no such label"
            }
            match self.map.get_mut(l.name.as_str()) {
                Some(values) => match values.get_mut(l.value.as_str()) {
                    Some(list) => insert_sorted(list, id),
                    None => {
                        values.insert(l.value.clone(), vec![id]);
                    }
                },
                None => {
                    let values = BTreeMap::from([(l.value.clone(), vec![id])]);
                    self.map.insert(l.name.clone(), values);
                }
            }
        }
    }

    /// Drops the given series ids everywhere, and the label values and names
    /// left without series.
    pub fn remove_ids(&mut self, ids: &HashSet<u32>) {
        if !ids.is_empty() {
            self.retain(|id| !ids.contains(&id));
        }
    }

    /// Keeps only the series ids for which `keep` is true (a bulk rebuild
    /// in place; `keep` is asked once per posting, so several times per id).
    pub fn retain(&mut self, mut keep: impl FnMut(u32) -> bool) {
        self.all.retain(|&id| keep(id));
        for values in self.map.values_mut() {
            for list in values.values_mut() {
                list.retain(|&id| keep(id));
            }
            values.retain(|_, list| !list.is_empty());
        }
        self.map.retain(|_, values| !values.is_empty());
        self.shrink();
    }

    fn shrink(&mut self) {
        for values in self.map.values_mut() {
            for list in values.values_mut() {
                if list.capacity() > list.len() * 2 + 4 {
                    list.shrink_to_fit();
                }
            }
        }
        if self.all.capacity() > self.all.len() * 2 + 4 {
            self.all.shrink_to_fit();
        }
    }

    /// Postings of the series with label `name` set to `value` (empty if none).
    pub fn get(&self, name: &str, value: &str) -> &[u32] {
        self.map
            .get(name)
            .and_then(|values| values.get(value))
            .map_or(&[], |l| l.as_slice())
    }

    /// The values of label `name`, in sorted order.
    pub fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.map
            .get(name)
            .into_iter()
            .flat_map(|values| values.keys().map(String::as_str))
    }

    /// Number of distinct values of label `name`.
    pub fn num_values(&self, name: &str) -> usize {
        self.map.get(name).map_or(0, |v| v.len())
    }

    /// All label names, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.map.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }

    /// Every indexed series id, sorted.
    pub fn all_ids(&self) -> &[u32] {
        &self.all
    }

    /// Number of indexed series.
    pub fn num_series(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// Postings of the series that have label `name` (any value).
    pub fn with_label(&self, name: &str) -> Vec<u32> {
        self.union_where(name, |_| true).into_owned()
    }

    /// The series selected by all `matchers` together, as Prometheus'
    /// `PostingsForMatchers` does: a series lacking a label is matched as if
    /// the label were `""`, so a matcher that matches `""` also selects
    /// series without the label; matchers that match `""` are applied by
    /// subtracting the series whose value they reject; a selector with no
    /// matcher that requires a label starts from all series. Regex matchers
    /// are expanded over the label's values (literal alternations such as
    /// `a|b|c` are looked up directly, and a literal prefix narrows the
    /// scan). An empty matcher list selects nothing.
    pub fn select(&self, matchers: &[Matcher]) -> Vec<u32> {
        if matchers.is_empty() {
            return Vec::new();
        }
        // Cheapest lookups first so an empty intersection is found early.
        let mut ordered: Vec<&Matcher> = matchers.iter().collect();
        ordered.sort_by_key(|m| match m.op {
            MatchOp::Equal => 0,
            MatchOp::NotEqual => 1,
            MatchOp::Regex => 2,
            MatchOp::NotRegex => 3,
        });
        let mut its: Vec<Cow<'_, [u32]>> = Vec::new();
        let mut nots: Vec<Cow<'_, [u32]>> = Vec::new();
        for m in ordered {
            if m.matches_empty() {
                let rejected = self.postings_where(m, false);
                if !rejected.is_empty() {
                    nots.push(rejected);
                }
            } else {
                let accepted = self.postings_where(m, true);
                if accepted.is_empty() {
                    return Vec::new();
                }
                its.push(accepted);
            }
        }
        let mut out = if its.is_empty() {
            self.all.clone()
        } else {
            let refs: Vec<&[u32]> = its.iter().map(|c| c.as_ref()).collect();
            intersect(&refs)
        };
        for n in &nots {
            if out.is_empty() {
                break;
            }
            out = subtract(&out, n);
        }
        out
    }

    /// Series that have label `m.name` set to a value `v` with
    /// `m.matches(v) == want`.
    fn postings_where(&self, m: &Matcher, want: bool) -> Cow<'_, [u32]> {
        let name = m.name.as_str();
        let Some(values) = self.map.get(name) else {
            return Cow::Borrowed(&[]);
        };
        match (m.op, want) {
            (MatchOp::Equal, true) | (MatchOp::NotEqual, false) => {
                Cow::Borrowed(self.get(name, &m.value))
            }
            (MatchOp::Equal, false) | (MatchOp::NotEqual, true) => {
                self.union_where(name, |v| v != m.value)
            }
            (MatchOp::Regex, true) | (MatchOp::NotRegex, false) => {
                if let Some(alts) = literal_alternatives(&m.value) {
                    let mut lists: Vec<&[u32]> = alts
                        .iter()
                        .filter_map(|a| values.get(*a).map(|l| l.as_slice()))
                        .collect();
                    return match lists.len() {
                        0 => Cow::Borrowed(&[]),
                        1 => Cow::Borrowed(lists.swap_remove(0)),
                        _ => Cow::Owned(union(&lists)),
                    };
                }
                let prefix = literal_prefix(&m.value);
                let lists: Vec<&[u32]> = values
                    .range::<str, _>((
                        std::ops::Bound::Included(prefix),
                        std::ops::Bound::Unbounded,
                    ))
                    .take_while(|(v, _)| v.starts_with(prefix))
                    .filter(|(v, _)| m.matches(v) == want)
                    .map(|(_, l)| l.as_slice())
                    .collect();
                Cow::Owned(union(&lists))
            }
            _ => self.union_where(name, |v| m.matches(v) == want),
        }
    }

    /// Union of the postings of the values of `name` accepted by `pred`.
    fn union_where(&self, name: &str, pred: impl Fn(&str) -> bool) -> Cow<'_, [u32]> {
        let Some(values) = self.map.get(name) else {
            return Cow::Borrowed(&[]);
        };
        let mut lists: Vec<&[u32]> = values
            .iter()
            .filter(|(v, _)| pred(v))
            .map(|(_, l)| l.as_slice())
            .collect();
        match lists.len() {
            0 => Cow::Borrowed(&[]),
            1 => Cow::Borrowed(lists.swap_remove(0)),
            _ => Cow::Owned(union(&lists)),
        }
    }
}

/// Characters with a meaning in regex syntax.
fn is_regex_meta(c: char) -> bool {
    matches!(
        c,
        '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$'
    )
}

/// If an (anchored) regex is just literal strings joined by `|`, those
/// strings.
fn literal_alternatives(re: &str) -> Option<Vec<&str>> {
    if re.chars().any(|c| c != '|' && is_regex_meta(c)) {
        return None;
    }
    Some(re.split('|').collect())
}

/// A literal prefix every string matched by the (anchored) regex starts
/// with; `""` when there is none to be sure of.
fn literal_prefix(re: &str) -> &str {
    if re.contains('|') {
        return "";
    }
    let end = re.find(is_regex_meta).unwrap_or(re.len());
    let prefix = &re[..end];
    // A quantifier applies to the character before it, which then is optional.
    if matches!(re[end..].chars().next(), Some('*' | '?' | '{')) {
        let mut chars = prefix.chars();
        chars.next_back();
        return chars.as_str();
    }
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn set(l: &[u32]) -> BTreeSet<u32> {
        l.iter().copied().collect()
    }

    fn sorted_list() -> impl Strategy<Value = Vec<u32>> {
        prop_oneof![
            prop::collection::btree_set(0u32..200, 0..60),
            prop::collection::btree_set(0u32..5000, 0..2000),
            prop::collection::btree_set(any::<u32>(), 0..50),
        ]
        .prop_map(|s| s.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 400,
            // A fixed seed: the same cases every run, so CI cannot flake.
            rng_seed: proptest::test_runner::RngSeed::Fixed(24701),
            ..ProptestConfig::default()
        })]

        #[test]
        fn set_ops_match_model(lists in prop::collection::vec(sorted_list(), 0..7)) {
            let refs: Vec<&[u32]> = lists.iter().map(|l| l.as_slice()).collect();
            let sets: Vec<BTreeSet<u32>> = lists.iter().map(|l| set(l)).collect();

            let want_i: Vec<u32> = match sets.split_first() {
                None => vec![],
                Some((f, rest)) => f.iter().copied().filter(|x| rest.iter().all(|s| s.contains(x))).collect(),
            };
            prop_assert_eq!(intersect(&refs), want_i);

            let want_u: Vec<u32> = sets.iter().flatten().copied().collect::<BTreeSet<_>>().into_iter().collect();
            prop_assert_eq!(union(&refs), want_u);

            for a in &lists {
                for b in &lists {
                    let sb = set(b);
                    let want: Vec<u32> = a.iter().copied().filter(|x| !sb.contains(x)).collect();
                    prop_assert_eq!(subtract(a, b), want);
                }
            }
        }

        #[test]
        fn gallop_paths(small in prop::collection::btree_set(0u32..100_000, 0..40), step in 1u32..5) {
            let big: Vec<u32> = (0..100_000).step_by(step as usize).collect();
            let small: Vec<u32> = small.into_iter().collect();
            let sb = set(&big);
            let want: Vec<u32> = small.iter().copied().filter(|x| sb.contains(x)).collect();
            prop_assert_eq!(intersect(&[&big, &small]), want.clone());
            prop_assert_eq!(intersect(&[&small, &big, &big]), want);
            let want: Vec<u32> = small.iter().copied().filter(|x| !sb.contains(x)).collect();
            prop_assert_eq!(subtract(&small, &big), want);
        }
    }

    fn m(op: MatchOp, name: &str, value: &str) -> Matcher {
        Matcher::new(op, name, value).unwrap()
    }

    /// Series 0..: the test fixture, with ids in insertion order.
    fn fixture() -> (PostingsIndex, Vec<Labels>) {
        let series = vec![
            Labels::from_pairs([("__name__", "up"), ("job", "api"), ("instance", "a:1")]),
            Labels::from_pairs([("__name__", "up"), ("job", "web"), ("instance", "b:1")]),
            Labels::from_pairs([("__name__", "up"), ("job", "db")]),
            Labels::from_pairs([
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("code", "200"),
            ]),
            Labels::from_pairs([
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("code", "500"),
            ]),
            Labels::from_pairs([("__name__", "http_request_duration"), ("job", "web")]),
            Labels::from_pairs([("__name__", "node_cpu"), ("instance", "a:1")]),
            Labels::from_pairs([("__name__", "node_mem"), ("instance", "b:1"), ("env", "")]),
        ];
        let mut ix = PostingsIndex::new();
        for (i, l) in series.iter().enumerate() {
            ix.add(i as u32, l);
        }
        (ix, series)
    }

    fn naive(series: &[Labels], ms: &[Matcher]) -> Vec<u32> {
        if ms.is_empty() {
            return vec![];
        }
        (0..series.len() as u32)
            .filter(|&i| {
                ms.iter()
                    .all(|m| m.matches(series[i as usize].get(&m.name).unwrap_or("")))
            })
            .collect()
    }

    #[test]
    fn index_basics() {
        let (ix, _) = fixture();
        assert_eq!(ix.get("job", "api"), &[0, 3, 4]);
        assert_eq!(ix.get("job", "nope"), &[] as &[u32]);
        assert_eq!(ix.get("nope", "api"), &[] as &[u32]);
        assert_eq!(ix.values("job").collect::<Vec<_>>(), ["api", "db", "web"]);
        assert_eq!(ix.values("nope").count(), 0);
        assert_eq!(ix.names(), ["__name__", "code", "instance", "job"]);
        assert_eq!(ix.all_ids(), &[0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(ix.with_label("code"), vec![3, 4]);
        assert_eq!(ix.num_values("instance"), 2);
    }

    #[test]
    fn select_each_op() {
        let (ix, _) = fixture();
        use MatchOp::*;
        assert_eq!(ix.select(&[m(Equal, "job", "api")]), vec![0, 3, 4]);
        assert_eq!(
            ix.select(&[m(Equal, "__name__", "up"), m(Equal, "job", "api")]),
            vec![0]
        );
        assert_eq!(
            ix.select(&[m(Equal, "__name__", "up"), m(NotEqual, "job", "api")]),
            vec![1, 2]
        );
        // != selects series lacking the label too.
        assert_eq!(ix.select(&[m(NotEqual, "job", "api")]), vec![1, 2, 5, 6, 7]);
        assert_eq!(ix.select(&[m(Regex, "job", "api|db")]), vec![0, 2, 3, 4]);
        assert_eq!(ix.select(&[m(NotRegex, "job", "api|db")]), vec![1, 5, 6, 7]);
        assert_eq!(
            ix.select(&[m(Equal, "__name__", "up"), m(NotRegex, "job", "a.*")]),
            vec![1, 2]
        );
        assert_eq!(ix.select(&[m(Equal, "job", "nope")]), Vec::<u32>::new());
        assert_eq!(ix.select(&[m(Equal, "nope", "x")]), Vec::<u32>::new());
        assert_eq!(ix.select(&[]), Vec::<u32>::new());
    }

    #[test]
    fn select_empty_matching() {
        let (ix, _) = fixture();
        use MatchOp::*;
        // ="" selects the series without the label.
        assert_eq!(ix.select(&[m(Equal, "instance", "")]), vec![2, 3, 4, 5]);
        assert_eq!(
            ix.select(&[m(Equal, "__name__", "up"), m(Equal, "instance", "")]),
            vec![2]
        );
        assert_eq!(ix.select(&[m(Regex, "instance", "")]), vec![2, 3, 4, 5]);
        // A regex matching "" and a value: lacking the label or that value.
        assert_eq!(
            ix.select(&[m(Regex, "instance", "|a:1")]),
            vec![0, 2, 3, 4, 5, 6]
        );
        assert_eq!(
            ix.select(&[m(Regex, "instance", "a.*|")]),
            vec![0, 2, 3, 4, 5, 6]
        );
        // != "" and =~ ".+" require the label.
        assert_eq!(ix.select(&[m(NotEqual, "instance", "")]), vec![0, 1, 6, 7]);
        assert_eq!(ix.select(&[m(Regex, "instance", ".+")]), vec![0, 1, 6, 7]);
        assert_eq!(ix.select(&[m(NotRegex, "instance", "")]), vec![0, 1, 6, 7]);
        // Only negative/empty-matching matchers start from all series.
        assert_eq!(
            ix.select(&[m(Regex, "env", ".*")]),
            vec![0, 1, 2, 3, 4, 5, 6, 7]
        );
        assert_eq!(
            ix.select(&[
                m(NotEqual, "job", "api"),
                m(NotRegex, "__name__", "node_.*")
            ]),
            vec![1, 2, 5]
        );
        assert_eq!(
            ix.select(&[m(Equal, "nope", "")]),
            vec![0, 1, 2, 3, 4, 5, 6, 7]
        );
        // A label both required and restricted.
        assert_eq!(
            ix.select(&[m(Regex, "job", ".+"), m(NotEqual, "job", "api")]),
            vec![1, 2, 5]
        );
    }

    #[test]
    fn select_regex_expansion() {
        let (ix, _) = fixture();
        use MatchOp::*;
        assert_eq!(ix.select(&[m(Regex, "__name__", "http_.*")]), vec![3, 4, 5]);
        assert_eq!(
            ix.select(&[m(Regex, "__name__", "http_requests?_.*")]),
            vec![3, 4, 5]
        );
        assert_eq!(
            ix.select(&[m(Regex, "__name__", "node_(cpu|mem)")]),
            vec![6, 7]
        );
        assert_eq!(ix.select(&[m(Regex, "__name__", "(?i)UP")]), vec![0, 1, 2]);
        assert_eq!(
            ix.select(&[m(Regex, "__name__", "node")]),
            Vec::<u32>::new()
        );
        assert_eq!(ix.select(&[m(Regex, "code", "5..")]), vec![4]);
        assert_eq!(ix.select(&[m(Regex, "code", "200|500|404")]), vec![3, 4]);
        assert_eq!(ix.select(&[m(Regex, "instance", "a:1")]), vec![0, 6]);
        assert_eq!(
            ix.select(&[m(Regex, "__name__", ".*"), m(Regex, "job", "w.b")]),
            vec![1, 5]
        );
        assert_eq!(literal_prefix("http_.*"), "http_");
        assert_eq!(literal_prefix("http_requests?_.*"), "http_request");
        assert_eq!(literal_prefix("ab{2}"), "a");
        assert_eq!(literal_prefix("a|b"), "");
        assert_eq!(literal_prefix("(?i)a"), "");
        assert_eq!(literal_alternatives("a|b|"), Some(vec!["a", "b", ""]));
        assert_eq!(literal_alternatives("a.b"), None);
    }

    #[test]
    fn remove_and_out_of_order() {
        let (mut ix, series) = fixture();
        ix.remove_ids(&HashSet::from([0, 3, 4]));
        assert_eq!(ix.get("job", "api"), &[] as &[u32]);
        assert_eq!(ix.values("job").collect::<Vec<_>>(), ["db", "web"]);
        assert!(!ix.names().contains(&"code"));
        assert_eq!(ix.all_ids(), &[1, 2, 5, 6, 7]);
        assert_eq!(ix.select(&[m(MatchOp::Regex, "instance", "a:1")]), vec![6]);
        // Re-adding out of order and twice keeps lists sorted and unique.
        ix.add(3, &series[3]);
        ix.add(0, &series[0]);
        ix.add(0, &series[0]);
        assert_eq!(ix.get("job", "api"), &[0, 3]);
        assert_eq!(ix.all_ids(), &[0, 1, 2, 3, 5, 6, 7]);
    }

    fn matcher_strategy() -> impl Strategy<Value = Matcher> {
        let op = prop_oneof![
            Just(MatchOp::Equal),
            Just(MatchOp::NotEqual),
            Just(MatchOp::Regex),
            Just(MatchOp::NotRegex),
        ];
        let name = prop::sample::select(vec!["a", "b", "c", "d"]);
        let value = prop::sample::select(vec![
            "", "x", "y", "z", "xy", "x|y", "x.*", ".*", ".+", "|x", "x?", "[xz]", "(x|yz)", "xy?",
        ]);
        (op, name, value).prop_map(|(op, n, v)| Matcher::new(op, n, v).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 300,
            // A fixed seed: the same cases every run, so CI cannot flake.
            rng_seed: proptest::test_runner::RngSeed::Fixed(24601),
            ..ProptestConfig::default()
        })]

        #[test]
        fn select_matches_naive(
            series in prop::collection::vec(
                prop::collection::vec(
                    (prop::sample::select(vec!["a", "b", "c"]),
                     prop::sample::select(vec!["", "x", "y", "z", "xy", "yz"])),
                    0..4),
                0..40),
            removed in prop::collection::hash_set(0u32..40, 0..5),
            selectors in prop::collection::vec(prop::collection::vec(matcher_strategy(), 0..4), 1..8),
        ) {
            let series: Vec<Labels> = series.into_iter().map(Labels::from_pairs).collect();
            let mut ix = PostingsIndex::new();
            for (i, l) in series.iter().enumerate() {
                ix.add(i as u32, l);
            }
            ix.remove_ids(&removed);
            for ms in &selectors {
                let want: Vec<u32> = naive(&series, ms).into_iter().filter(|i| !removed.contains(i)).collect();
                prop_assert_eq!(ix.select(ms), want, "matchers {:?}", ms.iter().map(|m| m.to_string()).collect::<Vec<_>>());
            }
        }
    }
}
