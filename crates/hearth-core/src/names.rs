//! Name search: tokens, phonetic keys and a similarity score, so that "Jon Smyth" finds "John Smith"
//! and "Jhon Smiht" still ranks it first.
//!
//! A record stores keys for each token of its names: `t:<token>` (exact), `f:<first three letters>`
//! and `p:<code>` for its Double Metaphone codes (primary and alternate). Sounds catch misspellings
//! early in a name (Jhon/John), prefixes catch the rest (Smithers/Smith). It also stores keys for each
//! pair of its tokens, `x:<key>+<key>`: both exact words, and every combination of their sounds and
//! prefixes. A query's keys select candidates in SQL; the candidates are then ranked by [`score`], in
//! which every query token must resemble some name token.
//!
//! A query of several words selects by pairs: "Jon Smyth" asks for the records with a J-N-sounding and
//! a Smith-sounding word, a few hundred in a million patients, where the single words would select every
//! John and every Smith (tens of thousands).

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

/// Words paired in a record's keys (a long name does not make hundreds of keys).
const MAX_PAIRED_WORDS: usize = 8;

/// The keys stored for a record's names: each word's, and each pair's.
pub fn record_keys<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let words = distinct_words(names);
    let mut keys: Vec<String> = words.iter().flat_map(|w| word_keys_of(w)).collect();
    keys.extend(pair_keys(&words));
    keys.sort();
    keys.dedup();
    keys
}

/// The keys that select candidates for a query: for one word its keys, for several words the keys of
/// their pairs (records resembling two of the words at once).
pub fn query_keys(query: &str) -> Vec<String> {
    let words = distinct_words([query]);
    if words.len() < 2 {
        return word_keys(query);
    }
    let mut keys = pair_keys(&words);
    keys.sort();
    keys.dedup();
    keys
}

/// The keys of each word of a query on its own: the wider net when no record resembles two of its
/// words at once (a record stored before pair keys existed, or every word misspelled).
pub fn word_keys(query: &str) -> Vec<String> {
    let mut keys: Vec<String> = distinct_words([query]).iter().flat_map(|w| word_keys_of(w)).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// How much holding `key` says about a candidate: an exact word 4, a sound 2, a prefix 1; a pair the
/// sum of its two parts.
pub fn key_weight(key: &str) -> u32 {
    match key.strip_prefix("x:") {
        Some(pair) => pair.split('+').map(key_weight).sum(),
        None => match key.as_bytes().first() {
            Some(b't') => 4,
            Some(b'p') => 2,
            _ => 1,
        },
    }
}

fn distinct_words<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for t in names.into_iter().flat_map(tokens) {
        if !words.contains(&t) {
            words.push(t);
        }
    }
    words
}

/// `t:<word>`, `f:<first three letters>`, `p:<sound>`.
fn word_keys_of(word: &str) -> Vec<String> {
    let prefix =
        (word.chars().count() >= 3).then(|| format!("f:{}", word.chars().take(3).collect::<String>()));
    std::iter::once(format!("t:{word}"))
        .chain(prefix)
        .chain(phonetic(word).into_iter().map(|c| format!("p:{c}")))
        .collect()
}

/// Keys for two words together: their exact spellings, and each combination of a sound or prefix of
/// one with a sound or prefix of the other (a short word stands for its own prefix).
fn pair_keys(words: &[String]) -> Vec<String> {
    let words = &words[..words.len().min(MAX_PAIRED_WORDS)];
    let coarse: Vec<Vec<String>> = words
        .iter()
        .map(|w| {
            let start = if w.chars().count() >= 3 {
                format!("f:{}", w.chars().take(3).collect::<String>())
            } else {
                format!("t:{w}")
            };
            std::iter::once(start).chain(phonetic(w).into_iter().map(|c| format!("p:{c}"))).collect()
        })
        .collect();
    let pair = |a: &str, b: &str| if a <= b { format!("x:{a}+{b}") } else { format!("x:{b}+{a}") };
    let mut keys = Vec::new();
    for i in 0..words.len() {
        for j in i + 1..words.len() {
            keys.push(pair(&format!("t:{}", words[i]), &format!("t:{}", words[j])));
            for a in &coarse[i] {
                keys.extend(coarse[j].iter().map(|b| pair(a, b)));
            }
        }
    }
    keys
}

/// How well `query` matches a record's names, from 0 to 1; `None` when some query token resembles
/// no name token (neither sounds alike nor is spelled within a typo or two).
pub fn score(query: &str, names: &[&str]) -> Option<f64> {
    NameQuery::new(query).score(names)
}

/// A query's tokens and their sounds, worked out once for scoring many records.
#[derive(Debug, Clone)]
pub struct NameQuery {
    tokens: Vec<(String, Vec<String>)>,
}

impl NameQuery {
    pub fn new(query: &str) -> Self {
        Self { tokens: with_sounds(tokens(query)) }
    }

    /// See [`score`].
    pub fn score(&self, names: &[&str]) -> Option<f64> {
        let n = with_sounds(names.iter().flat_map(|s| tokens(s)).collect());
        if self.tokens.is_empty() || n.is_empty() {
            return None;
        }
        let mut total = 0.0;
        for (qt, qp) in &self.tokens {
            let best = n
                .iter()
                .map(|(nt, np)| {
                    let jw = strsim::jaro_winkler(qt, nt);
                    let sounds = np.iter().any(|c| qp.contains(c));
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
        Some(total / self.tokens.len() as f64)
    }
}

fn with_sounds(tokens: Vec<String>) -> Vec<(String, Vec<String>)> {
    tokens
        .into_iter()
        .map(|t| {
            let p = phonetic(&t);
            (t, p)
        })
        .collect()
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
        let query = word_keys("Jon Smyth");
        for q in query.iter().filter(|k| k.starts_with("p:")) {
            assert!(record.contains(q), "{q} not in {record:?}");
        }
    }

    #[test]
    fn several_words_select_by_pairs_that_misspellings_keep() {
        let record = record_keys(["Smith", "John", "Quincy"]);
        assert!(record.contains(&"x:t:john+t:smith".to_owned()), "{record:?}");
        assert!(record.contains(&"x:p:JN+p:SM0".to_owned()), "{record:?}");
        for query in ["Jon Smyth", "Jhon Smiht", "smith john", "Johnny Smithers", "John Q Smith"] {
            let keys = query_keys(query);
            assert!(keys.iter().all(|k| k.starts_with("x:")), "{query}: {keys:?}");
            assert!(keys.iter().any(|k| record.contains(k)), "{query}: {keys:?}");
        }
        assert!(!query_keys("Maria Smith").iter().any(|k| record.contains(k)), "Smith alone is not a pair");
        assert_eq!(query_keys("Smith"), word_keys("Smith"), "one word selects by its own keys");
        assert_eq!(query_keys("smith SMITH"), word_keys("smith"));
    }

    #[test]
    fn exact_words_weigh_most() {
        assert_eq!(
            ["t:john", "p:JN", "f:joh", "x:t:john+t:smith", "x:f:joh+p:SM0"].map(key_weight),
            [4, 2, 1, 8, 3]
        );
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
