//! Probabilistic record linkage (Fellegi–Sunter) for duplicate patients: candidate pairs by
//! blocking, then a score per pair — the sum over fields of log2(m/u) for the level at which the
//! field agrees — with a per-field explanation.
//!
//! The m-probabilities (how often a field agrees at a level for the *same* person) and
//! u-probabilities (how often it agrees by chance for *different* people) in `weights.rs` come from
//! general properties of the fields (how many distinct values they take, how often data entry
//! corrupts them), not from any one data set.

mod blocking;
mod compare;
pub mod febrl;
mod weights;

pub use compare::{FieldScore, Level, MatchScore, compare};

/// The comparable fields of one record, normalized (lower case, accents folded, spacing collapsed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkRecord {
    pub given: Option<String>,
    pub family: Option<String>,
    pub birth_date: Option<jiff::civil::Date>,
    pub gender: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub street_number: Option<String>,
    pub street: Option<String>,
    pub address_extra: Option<String>,
    pub city: Option<String>,
    pub postcode: Option<String>,
    pub state: Option<String>,
    /// (system, value)
    pub identifiers: Vec<(String, String)>,
}

/// Normalizes free text for comparison; empty becomes `None`.
pub fn clean(s: &str) -> Option<String> {
    let t = crate::names::tokens(s).join(" ");
    (!t.is_empty()).then_some(t)
}

/// At or above this score a pair is very likely the same person (posterior odds about 1000:1 when
/// one candidate pair in a thousand is a match).
pub const LIKELY: f64 = 10.0;
/// At or above this score a pair deserves a look.
pub const POSSIBLE: f64 = 5.0;

/// Pairs of records (by index, `i < j`) scoring at least `threshold`, best first.
pub fn find_pairs(records: &[LinkRecord], threshold: f64) -> Vec<(usize, usize, MatchScore)> {
    let mut out: Vec<(usize, usize, MatchScore)> = blocking::candidate_pairs(records)
        .into_iter()
        .filter_map(|(i, j)| {
            let s = compare(&records[i], &records[j]);
            (s.total >= threshold).then_some((i, j, s))
        })
        .collect();
    out.sort_by(|a, b| b.2.total.total_cmp(&a.2.total));
    out
}

/// Pairs between one record and a set of others (for checking a new or changed record).
pub fn candidates_for(
    record: &LinkRecord,
    others: &[LinkRecord],
    threshold: f64,
) -> Vec<(usize, MatchScore)> {
    let mine = blocking::keys(record);
    let mut out: Vec<(usize, MatchScore)> = others
        .iter()
        .enumerate()
        .filter(|(_, o)| blocking::keys(o).iter().any(|k| mine.contains(k)))
        .map(|(i, o)| (i, compare(record, o)))
        .filter(|(_, s)| s.total >= threshold)
        .collect();
    out.sort_by(|a, b| b.1.total.total_cmp(&a.1.total));
    out
}
