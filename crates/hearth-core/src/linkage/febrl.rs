//! Reading FEBRL-style record-linkage files and measuring matching against their true links.
//! Records: a header naming the columns (first `rec_id`; `soc_sec_id` is ignored: Hearth must not
//! depend on a national id); links: a header, then two `rec_id`s per line.

use std::collections::{BTreeSet, HashMap};

use super::{LinkRecord, clean};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}: {message}")]
pub struct FebrlError {
    pub file: &'static str,
    pub line: usize,
    pub message: String,
}

/// Splits one CSV line (double quotes allowed around fields, `""` inside quotes).
fn split(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.trim().is_empty() => {
                cur.clear();
                quoted = true;
            }
            (',', false) => out.push(std::mem::take(&mut cur).trim().to_owned()),
            (c, _) => cur.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    out.push(cur.trim().to_owned());
    Ok(out)
}

/// A FEBRL date of birth (`19560722`); anything else (empty, impossible) is missing.
fn febrl_date(s: &str) -> Option<jiff::civil::Date> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m, d) = (s[..4].parse().ok()?, s[4..6].parse().ok()?, s[6..].parse().ok()?);
    jiff::civil::Date::new(y, m, d).ok()
}

/// Parses a records file into ids and comparable records.
pub fn parse_records(text: &str) -> Result<(Vec<String>, Vec<LinkRecord>), FebrlError> {
    let err = |line, message: String| FebrlError { file: "records", line, message };
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(err(1, "the file is empty; expected a header line".into()));
    };
    let header = split(header).map_err(|m| err(1, m))?;
    if header.first().map(String::as_str) != Some("rec_id") {
        return Err(err(
            1,
            format!(
                "expected the first column to be rec_id, found `{}`",
                header.first().cloned().unwrap_or_default()
            ),
        ));
    }
    let col = |name: &str| header.iter().position(|h| h == name);
    let cols = [
        "given_name",
        "surname",
        "street_number",
        "address_1",
        "address_2",
        "suburb",
        "postcode",
        "state",
        "date_of_birth",
    ]
    .map(col);
    let mut ids = Vec::new();
    let mut records = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        let f = split(line).map_err(|m| err(n, m))?;
        if f.len() != header.len() {
            return Err(err(
                n,
                format!("expected {} fields like the header, found {}", header.len(), f.len()),
            ));
        }
        if f[0].is_empty() {
            return Err(err(n, "rec_id is empty".into()));
        }
        let get = |c: Option<usize>| c.and_then(|c| clean(&f[c]));
        ids.push(f[0].clone());
        records.push(LinkRecord {
            given: get(cols[0]),
            family: get(cols[1]),
            street_number: get(cols[2]),
            street: get(cols[3]),
            address_extra: get(cols[4]),
            city: get(cols[5]),
            postcode: get(cols[6]),
            state: get(cols[7]),
            birth_date: cols[8].and_then(|c| febrl_date(&f[c])),
            ..LinkRecord::default()
        });
    }
    Ok((ids, records))
}

/// Parses a links file into unordered pairs of indexes into `ids`.
pub fn parse_links(text: &str, ids: &[String]) -> Result<BTreeSet<(usize, usize)>, FebrlError> {
    let err = |line, message: String| FebrlError { file: "links", line, message };
    let index: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    let mut pairs = BTreeSet::new();
    for (i, line) in text.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty()) {
        let fields = split(line).map_err(|m| err(i + 1, m))?;
        let [first, second] = fields.as_slice() else {
            return Err(err(i + 1, format!("expected two rec_id columns, found {}", fields.len())));
        };
        let find = |id: &str| {
            index
                .get(id)
                .copied()
                .ok_or_else(|| err(i + 1, format!("rec_id `{id}` is not in the records file")))
        };
        let (x, y) = (find(first)?, find(second)?);
        pairs.insert((x.min(y), x.max(y)));
    }
    Ok(pairs)
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Evaluation {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub pairs_predicted: usize,
    #[serde(skip)]
    pub true_pairs: usize,
}

/// Precision, recall and F1 of the pairs scoring at least `threshold`.
#[allow(clippy::cast_precision_loss)] // pair counts
pub fn evaluate(records: &[LinkRecord], truth: &BTreeSet<(usize, usize)>, threshold: f64) -> Evaluation {
    let predicted: BTreeSet<(usize, usize)> =
        super::find_pairs(records, threshold).into_iter().map(|(i, j, _)| (i, j)).collect();
    let hits = predicted.intersection(truth).count() as f64;
    let precision = if predicted.is_empty() { 0.0 } else { hits / predicted.len() as f64 };
    let recall = if truth.is_empty() { 0.0 } else { hits / truth.len() as f64 };
    let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
    Evaluation { precision, recall, f1, pairs_predicted: predicted.len(), true_pairs: truth.len() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORDS: &str = "rec_id, given_name, surname, street_number, address_1, address_2, suburb, postcode, state, date_of_birth, soc_sec_id\n\
        r1, john, smith, 12, elm street, , springfield, 2000, nsw, 19840203, 111\n\
        r2, jon, smyth, 12, elm stret, , springfeld, 2000, nsw, 19840302, 999\n\
        r3, maria, garcia, 7, \"oak, avenue\", flat 2, hurstville, 3000, vic, 19700101, 111\n";

    #[test]
    fn records_and_links_parse_and_evaluate() {
        let (ids, recs) = parse_records(RECORDS).unwrap();
        assert_eq!(ids, ["r1", "r2", "r3"]);
        assert_eq!(recs[2].street.as_deref(), Some("oak avenue"));
        assert_eq!(recs[0].birth_date, Some(jiff::civil::date(1984, 2, 3)));
        let truth = parse_links("rec_id_1,rec_id_2\nr2,r1\n", &ids).unwrap();
        assert_eq!(truth.iter().next(), Some(&(0, 1)));
        let e = evaluate(&recs, &truth, super::super::LIKELY);
        assert_eq!(
            (e.precision, e.recall, e.pairs_predicted),
            (1.0, 1.0, 1),
            "the same soc_sec_id of r1 and r3 is ignored"
        );
    }

    #[test]
    fn bad_files_name_the_line() {
        assert_eq!(parse_records("").unwrap_err().line, 1);
        assert!(parse_records("id,given_name\nx,y\n").unwrap_err().message.contains("rec_id"));
        let e = parse_records("rec_id,given_name\nr1,a,b\n").unwrap_err();
        assert_eq!((e.line, e.message.contains("expected 2 fields")), (2, true));
        assert_eq!(parse_records("rec_id,given_name\nr1,\"open\n").unwrap_err().line, 2);
        let ids = vec!["r1".to_owned()];
        let e = parse_links("a,b\nr1,r9\n", &ids).unwrap_err();
        assert_eq!((e.line, e.message.contains("r9")), (2, true));
        assert!(parse_links("a,b\nr1\n", &ids).unwrap_err().message.contains("two rec_id"));
    }
}

#[cfg(test)]
mod data_tests {
    use super::*;

    fn shared(name: &str) -> Option<String> {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data").join(name),
        )
        .ok()
    }

    /// A tiny deterministic generator (xorshift), so the corruptions are the same on every run.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            usize::try_from(self.0 % n as u64).unwrap_or(0)
        }
    }

    fn typo(s: &str, rng: &mut Rng) -> String {
        let mut c: Vec<char> = s.chars().collect();
        if c.len() > 3 {
            let i = 1 + rng.next(c.len() - 2);
            match rng.next(3) {
                0 => c.swap(i, i + 1),
                1 => {
                    c.remove(i);
                }
                _ => c[i] = 'x',
            }
        }
        c.into_iter().collect()
    }

    /// Independent of the links file: duplicates made here from the records, with two or three
    /// corruptions each (typos, swapped day/month, missing fields, a changed surname).
    #[test]
    fn synthetic_duplicates_are_found_without_false_pairs() {
        let (Some(text), Some(links)) = (shared("febrl1.csv"), shared("febrl1_links.csv")) else { return };
        let (ids, recs) = parse_records(&text).unwrap();
        // FEBRL already holds duplicate pairs; keep one record of each so the truth below is complete.
        let second: BTreeSet<usize> =
            parse_links(&links, &ids).unwrap().into_iter().map(|(_, j)| j).collect();
        let mut rng = Rng(0x5eed_1234_abcd);
        let originals: Vec<LinkRecord> = recs
            .iter()
            .enumerate()
            .filter(|(i, _)| !second.contains(i))
            .map(|(_, r)| r.clone())
            .step_by(2)
            .take(300)
            .collect();
        let mut all = originals.clone();
        for o in &originals {
            let mut d = o.clone();
            for _ in 0..2 + rng.next(2) {
                match rng.next(6) {
                    0 => d.family = d.family.as_deref().map(|s| typo(s, &mut rng)),
                    1 => d.given = d.given.as_deref().map(|s| typo(s, &mut rng)),
                    2 => {
                        // Day and month swapped (days above 12 stay as they are).
                        d.birth_date = d
                            .birth_date
                            .and_then(|b| jiff::civil::Date::new(b.year(), b.day().min(12), b.month()).ok());
                    }
                    3 => d.address_extra = None,
                    4 => d.street = d.street.as_deref().map(|s| typo(s, &mut rng)),
                    _ => d.family = Some("newname".into()),
                }
            }
            all.push(d);
        }
        let n = originals.len();
        let truth: BTreeSet<(usize, usize)> = (0..n).map(|i| (i, i + n)).collect();
        let e = evaluate(&all, &truth, crate::linkage::LIKELY);
        eprintln!("synthetic duplicates: {e:?}");
        assert!(e.recall >= 0.95, "recall {e:?}");
        assert!(e.precision >= 0.98, "precision {e:?}");
    }

    #[test]
    fn febrl1_meets_the_target() {
        let (Some(recs), Some(links)) = (shared("febrl1.csv"), shared("febrl1_links.csv")) else { return };
        let (ids, recs) = parse_records(&recs).unwrap();
        let truth = parse_links(&links, &ids).unwrap();
        let e = evaluate(&recs, &truth, crate::linkage::LIKELY);
        assert!(e.f1 >= 0.99, "{e:?}");
    }
}
