//! Name search: tokens, phonetic keys and a similarity score, so that "Jon Smyth" finds "John Smith"
//! and "Jhon Smiht" still ranks it first.
//!
//! A record stores keys for each token of its names: `t:<token>` (exact), `f:<first three letters>`
//! and `p:<code>` for its Double Metaphone codes (primary and alternate). Sounds catch misspellings
//! early in a name (Jhon/John), prefixes catch the rest (Smithers/Smith). A query's keys select candidates in SQL; the
//! candidates are then ranked by [`score`], in which every query token must resemble some name token.

use rphonetic::DoubleMetaphone;

/// Lower-case ASCII tokens: accents folded, punctuation split off ("O'Brien-Núñez" → obrien, nunez).
pub fn tokens(s: &str) -> Vec<String> {
    let folded: String =
        s.chars().filter(|c| *c != '\'' && *c != '’').map(fold).collect::<String>().to_lowercase();
    folded.split(|c: char| !c.is_ascii_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'ç' | 'Ç' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ñ' | 'Ñ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ý' | 'ÿ' | 'Ý' => 'y',
        'ß' => 's',
        c => c,
    }
}

fn phonetic(token: &str) -> Vec<String> {
    if !token.chars().any(|c| c.is_ascii_alphabetic()) {
        return Vec::new();
    }
    let r = DoubleMetaphone::default().double_metaphone(token);
    let mut codes = vec![r.primary(), r.alternate()];
    codes.retain(|c| !c.is_empty());
    codes.dedup();
    codes
}

/// The keys stored for a record's names.
pub fn record_keys<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut keys: Vec<String> = names
        .into_iter()
        .flat_map(tokens)
        .flat_map(|t| {
            let p = phonetic(&t).into_iter().map(|c| format!("p:{c}"));
            let prefix =
                (t.chars().count() >= 3).then(|| format!("f:{}", t.chars().take(3).collect::<String>()));
            std::iter::once(format!("t:{t}")).chain(prefix).chain(p).collect::<Vec<_>>()
        })
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The keys that select candidates for a query (its tokens and their sounds).
pub fn query_keys(query: &str) -> Vec<String> {
    record_keys([query])
}

/// How well `query` matches a record's names, from 0 to 1; `None` when some query token resembles
/// no name token (neither sounds alike nor is spelled within a typo or two).
pub fn score(query: &str, names: &[&str]) -> Option<f64> {
    let q = tokens(query);
    let n: Vec<String> = names.iter().flat_map(|s| tokens(s)).collect();
    if q.is_empty() || n.is_empty() {
        return None;
    }
    let mut total = 0.0;
    for qt in &q {
        let qp = phonetic(qt);
        let best = n
            .iter()
            .map(|nt| {
                let jw = strsim::jaro_winkler(qt, nt);
                let sounds = phonetic(nt).iter().any(|c| qp.contains(c));
                // A sound-alike counts as a strong match even when spelled quite differently.
                if sounds { jw.max(0.9) } else { jw }
            })
            .fold(0.0_f64, f64::max);
        if best < 0.85 {
            return None;
        }
        total += best;
    }
    #[allow(clippy::cast_precision_loss)] // a handful of tokens
    Some(total / q.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_fold_accents_and_punctuation() {
        assert_eq!(tokens("O'Brien-Núñez  Zoë"), ["obrien", "nunez", "zoe"]);
        assert!(tokens(" -- ").is_empty());
    }

    #[test]
    fn sound_alikes_share_keys() {
        let record = record_keys(["Smith", "John"]);
        let query = query_keys("Jon Smyth");
        for q in query.iter().filter(|k| k.starts_with("p:")) {
            assert!(record.contains(q), "{q} not in {record:?}");
        }
    }

    #[test]
    fn scores_rank_closer_names_higher_and_reject_strangers() {
        let john = score("Jon Smyth", &["Smith", "John"]).unwrap();
        let typo = score("Jhon Smiht", &["Smith", "John"]).unwrap();
        let exact = score("John Smith", &["Smith", "John"]).unwrap();
        assert!(exact > john && john > 0.85 && typo > 0.85, "{exact} {john} {typo}");
        assert_eq!(score("Maria Garcia", &["Smith", "John"]), None);
        assert_eq!(score("John Garcia", &["Smith", "John"]), None, "every query token must match");
        assert!(score("smith", &["Smith", "John", "Q"]).is_some(), "one token is enough");
    }
}
