//! Blocking: only records that share at least one key are compared. Several independent keys keep
//! recall high when any one field is corrupted: names by sound, birth date, postcode, street and
//! contact details.

use std::collections::{BTreeSet, HashMap};

use super::LinkRecord;

fn sound(s: &str) -> Option<String> {
    crate::names::query_keys(s).into_iter().find(|k| k.starts_with("p:"))
}

/// The blocking keys of a record.
pub(super) fn keys(r: &LinkRecord) -> Vec<String> {
    let mut k = Vec::new();
    let year = r.birth_date.map(|d| d.year().to_string());
    let family = r.family.as_deref().and_then(sound);
    let given = r.given.as_deref().and_then(sound);
    if let (Some(f), Some(y)) = (&family, &year) {
        k.push(format!("fy|{f}|{y}"));
    }
    if let (Some(g), Some(y)) = (&given, &year) {
        k.push(format!("gy|{g}|{y}"));
    }
    if let (Some(f), Some(g)) = (&family, &given) {
        k.push(format!("fg|{f}|{g}"));
    }
    if let Some(d) = r.birth_date {
        k.push(format!("d|{d}"));
    }
    if let (Some(p), Some(g)) = (&r.postcode, &given) {
        k.push(format!("pg|{p}|{g}"));
    }
    if let (Some(p), Some(f)) = (&r.postcode, &family) {
        k.push(format!("pf|{p}|{f}"));
    }
    if let (Some(n), Some(s)) = (&r.street_number, &r.street) {
        k.push(format!("ns|{n}|{}", s.chars().take(4).collect::<String>()));
    }
    if let (Some(c), Some(s)) = (&r.city, &r.street) {
        k.push(format!(
            "cs|{}|{}",
            c.chars().take(4).collect::<String>(),
            s.chars().take(4).collect::<String>()
        ));
    }
    if let Some(p) = &r.phone {
        k.push(format!("ph|{p}"));
    }
    if let Some(e) = &r.email {
        k.push(format!("em|{e}"));
    }
    for (s, v) in &r.identifiers {
        k.push(format!("id|{s}|{v}"));
    }
    k
}

/// Every pair `(i, j)`, `i < j`, sharing a key. Keys shared by very many records (a common name in
/// a common year) are still expanded: correctness first; the block sizes stay small in practice.
pub fn candidate_pairs(records: &[LinkRecord]) -> BTreeSet<(usize, usize)> {
    let mut blocks: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        for key in keys(r) {
            blocks.entry(key).or_default().push(i);
        }
    }
    let mut pairs = BTreeSet::new();
    for members in blocks.values() {
        for (x, i) in members.iter().enumerate() {
            for j in &members[x + 1..] {
                pairs.insert((*i.min(j), *i.max(j)));
            }
        }
    }
    pairs
}
