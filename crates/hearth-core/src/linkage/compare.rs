//! Comparing two records field by field.

use super::LinkRecord;
use super::weights::{self, Weights};

/// How a field agrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Exact,
    /// A typo apart, sounding alike, or (dates) day and month swapped / one part different.
    Close,
    Disagree,
    /// Absent on one side: no evidence either way.
    Missing,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Exact => "exact",
            Level::Close => "close",
            Level::Disagree => "disagree",
            Level::Missing => "missing",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldScore {
    pub field: &'static str,
    pub level: Level,
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MatchScore {
    pub total: f64,
    pub fields: Vec<FieldScore>,
}

fn weight(w: &Weights, level: Level) -> f64 {
    match level {
        Level::Exact => w.exact,
        Level::Close => w.close,
        Level::Disagree => w.disagree,
        Level::Missing => 0.0,
    }
}

fn text_level(a: Option<&str>, b: Option<&str>, close_at: f64) -> Level {
    match (a, b) {
        (Some(a), Some(b)) if a == b => Level::Exact,
        // Spacing typos ("rowvil le"): equal once spaces are gone.
        (Some(a), Some(b)) if a.replace(' ', "") == b.replace(' ', "") => Level::Exact,
        (Some(a), Some(b)) if strsim::jaro_winkler(a, b) >= close_at => Level::Close,
        (Some(_), Some(_)) => Level::Disagree,
        _ => Level::Missing,
    }
}

fn name_level(a: Option<&str>, b: Option<&str>) -> Level {
    match text_level(a, b, 0.9) {
        Level::Disagree => {
            let (a, b) = (a.unwrap_or_default(), b.unwrap_or_default());
            if crate::names::score(a, &[b]).is_some() { Level::Close } else { Level::Disagree }
        }
        l => l,
    }
}

fn date_level(a: Option<jiff::civil::Date>, b: Option<jiff::civil::Date>) -> Level {
    let (Some(a), Some(b)) = (a, b) else { return Level::Missing };
    if a == b {
        return Level::Exact;
    }
    let swapped = a.day() == b.month() && a.month() == b.day() && a.year() == b.year();
    let same =
        [a.year() == b.year(), a.month() == b.month(), a.day() == b.day()].iter().filter(|x| **x).count();
    if swapped || same == 2 { Level::Close } else { Level::Disagree }
}

/// Postcodes a digit apart or with two digits swapped are close.
fn code_level(a: Option<&str>, b: Option<&str>) -> Level {
    let (Some(a), Some(b)) = (a, b) else { return Level::Missing };
    if a == b {
        return Level::Exact;
    }
    let (x, y): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if x.len() == y.len() {
        let diff: Vec<usize> = (0..x.len()).filter(|i| x[*i] != y[*i]).collect();
        let one = diff.len() == 1;
        let swap =
            diff.len() == 2 && diff[1] == diff[0] + 1 && x[diff[0]] == y[diff[1]] && x[diff[1]] == y[diff[0]];
        if one || swap {
            return Level::Close;
        }
    }
    Level::Disagree
}

/// For a field whose evidence another field already carries: shown, not counted.
const COUNTED_ELSEWHERE: Weights = Weights { exact: 0.0, close: 0.0, disagree: 0.0 };

/// Compares two records; a positive total is evidence for the same person.
pub fn compare(a: &LinkRecord, b: &LinkRecord) -> MatchScore {
    let mut fields = Vec::with_capacity(14);
    let mut add = |field: &'static str, w: &Weights, level: Level| {
        fields.push(FieldScore { field, level, weight: weight(w, level) });
    };
    let names = weights::name();
    let (mut given, mut family) = (
        name_level(a.given.as_deref(), b.given.as_deref()),
        name_level(a.family.as_deref(), b.family.as_deref()),
    );
    // Given and family names entered the wrong way round.
    if given == Level::Disagree && family == Level::Disagree {
        let g2 = name_level(a.given.as_deref(), b.family.as_deref());
        let f2 = name_level(a.family.as_deref(), b.given.as_deref());
        if g2 != Level::Disagree && f2 != Level::Disagree {
            (given, family) = (g2, f2);
        }
    }
    add("given_name", &names, given);
    add("family_name", &names, family);
    add("birth_date", &weights::birth_date(), date_level(a.birth_date, b.birth_date));
    add("gender", &weights::gender(), text_level(a.gender.as_deref(), b.gender.as_deref(), 1.0));
    add(
        "street_number",
        &weights::street_number(),
        text_level(a.street_number.as_deref(), b.street_number.as_deref(), 1.0),
    );
    add("street", &weights::street(), text_level(a.street.as_deref(), b.street.as_deref(), 0.9));
    add(
        "address_extra",
        &weights::address_extra(),
        text_level(a.address_extra.as_deref(), b.address_extra.as_deref(), 0.9),
    );
    // City and postcode say mostly the same thing; counting both would double the evidence of a
    // shared neighbourhood (Fellegi–Sunter assumes independent fields). The stronger one counts.
    let city = text_level(a.city.as_deref(), b.city.as_deref(), 0.9);
    let postcode = code_level(a.postcode.as_deref(), b.postcode.as_deref());
    let (cw, pw) = (weight(&weights::city(), city), weight(&weights::postcode(), postcode));
    if pw >= cw {
        add("postcode", &weights::postcode(), postcode);
        add("city", &COUNTED_ELSEWHERE, city);
    } else {
        add("city", &weights::city(), city);
        add("postcode", &COUNTED_ELSEWHERE, postcode);
    }
    add("state", &weights::state(), text_level(a.state.as_deref(), b.state.as_deref(), 1.0));
    let unique = weights::unique();
    add("phone", &unique, text_level(a.phone.as_deref(), b.phone.as_deref(), 1.0));
    add("email", &unique, text_level(a.email.as_deref(), b.email.as_deref(), 1.0));
    let shared: Vec<&(String, String)> =
        a.identifiers.iter().filter(|(s, _)| b.identifiers.iter().any(|(t, _)| t == s)).collect();
    let id_level = if shared.is_empty() {
        Level::Missing
    } else if shared.iter().any(|x| b.identifiers.contains(x)) {
        Level::Exact
    } else {
        Level::Disagree
    };
    add("identifier", &unique, id_level);
    let total = fields.iter().map(|f| f.weight).sum();
    MatchScore { total, fields }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(given: &str, family: &str, dob: &str, postcode: &str) -> LinkRecord {
        LinkRecord {
            given: super::super::clean(given),
            family: super::super::clean(family),
            birth_date: dob.parse().ok(),
            postcode: Some(postcode.into()),
            ..LinkRecord::default()
        }
    }

    #[test]
    fn the_same_person_with_typos_scores_high_and_strangers_low() {
        let a = rec("John", "Smith", "1984-02-03", "2000");
        let typo = rec("Jon", "Smyth", "1984-03-02", "2000");
        let stranger = rec("Maria", "Garcia", "1990-07-14", "3000");
        let same = compare(&a, &typo);
        assert!(same.total > super::super::POSSIBLE, "{same:?}");
        assert_eq!(
            same.fields.iter().find(|f| f.field == "birth_date").unwrap().level,
            Level::Close,
            "day and month swapped"
        );
        assert!(compare(&a, &stranger).total < 0.0);
        assert!(compare(&a, &a).total > compare(&a, &typo).total);
    }

    #[test]
    fn swapped_names_and_missing_fields() {
        let a = rec("Smith", "John", "1984-02-03", "2000");
        let b = rec("John", "Smith", "1984-02-03", "2000");
        let s = compare(&a, &b);
        assert!(s.fields.iter().take(2).all(|f| f.level == Level::Exact), "{s:?}");
        let empty = LinkRecord::default();
        assert!(compare(&a, &empty).total.abs() < f64::EPSILON, "missing fields are no evidence");
    }

    #[test]
    fn postcode_levels() {
        assert_eq!(code_level(Some("6146"), Some("6164")), Level::Close);
        assert_eq!(code_level(Some("4012"), Some("4011")), Level::Close);
        assert_eq!(code_level(Some("4012"), Some("3999")), Level::Disagree);
    }
}
