//! m- and u-probabilities per field and agreement level, and the weights log2(m/u) they give.
//!
//! Reasoning, field by field (u ≈ chance agreement between two different people; m ≈ agreement for
//! the same person, after typos, abbreviations and out-of-date data):
//! - family and given names: thousands of distinct values, so exact chance agreement u ≈ 0.5–1 %;
//!   names are mistyped in a few percent of records and change (marriage) in a few more.
//! - birth date: ~36,500 possible days over a century, u ≈ 1/3,000 allowing clustering; keying
//!   errors swap day and month or miss one component in a few percent.
//! - postcode: thousands of values, u ≈ 0.5 %; street: tens of thousands, u ≈ 0.2 %; street number
//!   and state have few values, so their agreement says little (high u).
//! - phone, e-mail, identifiers: near-unique; agreement is strong evidence, but disagreement is weak
//!   (people change numbers; duplicates are exactly the records created with a new MRN).

/// log2(m/u).
fn w(m: f64, u: f64) -> f64 {
    (m / u).log2()
}

/// (exact, close, disagree) weights.
pub struct Weights {
    pub exact: f64,
    pub close: f64,
    pub disagree: f64,
}

pub fn name() -> Weights {
    Weights { exact: w(0.88, 0.008), close: w(0.07, 0.02), disagree: w(0.05, 0.972) }
}

pub fn birth_date() -> Weights {
    Weights { exact: w(0.9, 0.0003), close: w(0.06, 0.003), disagree: w(0.04, 0.9967) }
}

pub fn street() -> Weights {
    Weights { exact: w(0.85, 0.002), close: w(0.1, 0.01), disagree: w(0.05, 0.988) }
}

pub fn address_extra() -> Weights {
    Weights { exact: w(0.8, 0.005), close: w(0.1, 0.02), disagree: w(0.1, 0.975) }
}

pub fn city() -> Weights {
    Weights { exact: w(0.85, 0.01), close: w(0.1, 0.02), disagree: w(0.05, 0.97) }
}

pub fn postcode() -> Weights {
    Weights { exact: w(0.85, 0.005), close: w(0.1, 0.05), disagree: w(0.05, 0.945) }
}

pub fn street_number() -> Weights {
    Weights { exact: w(0.9, 0.02), close: w(0.05, 0.05), disagree: w(0.05, 0.93) }
}

pub fn state() -> Weights {
    Weights { exact: w(0.95, 0.2), close: w(0.02, 0.02), disagree: w(0.03, 0.78) }
}

pub fn gender() -> Weights {
    Weights { exact: w(0.97, 0.5), close: 0.0, disagree: w(0.03, 0.5) }
}

/// Phone, e-mail and identifiers of the same system.
pub fn unique() -> Weights {
    Weights { exact: w(0.9, 0.0001), close: 0.0, disagree: w(0.4, 0.9999) }
}
