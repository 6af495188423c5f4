//! How a text is carried as SMS: its encoding, its length in the encoding's units and how many
//! segments it takes (`shared/specs/messaging.md`, "SMS encoding").
//!
//! - GSM-7 (3GPP TS 23.038): the default alphabet counts 1 septet a character; the extension table
//!   (`^ { } \ [ ~ ] | €` and form feed) counts 2 (an escape and the character). 160 septets fit in
//!   one message; a concatenated message carries 153 per part, and an escape pair is never split
//!   between parts.
//! - UCS-2: one character outside GSM-7 makes the whole message UCS-2, counted in UTF-16 code units
//!   (a character outside the Basic Multilingual Plane, such as most emoji, is a surrogate pair and
//!   counts 2). 70 units in one message, 67 per part, and a surrogate pair is never split.
//!
//! Pure: no I/O. The template preview shows the [`Analysis`] and its warnings.

use serde::Serialize;

/// The character set a message is sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Encoding {
    #[serde(rename = "GSM-7")]
    Gsm7,
    #[serde(rename = "UCS-2")]
    Ucs2,
}

impl Encoding {
    pub const fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        }
    }

    /// Units that fit in a message of one segment.
    pub const fn single_limit(self) -> usize {
        match self {
            Encoding::Gsm7 => 160,
            Encoding::Ucs2 => 70,
        }
    }

    /// Units that fit in each part of a concatenated (multi-part) message.
    pub const fn part_limit(self) -> usize {
        match self {
            Encoding::Gsm7 => 153,
            Encoding::Ucs2 => 67,
        }
    }
}

impl std::fmt::Display for Encoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text costs more than it seems to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// More than one segment: the message is sent (and billed) as several.
    MultiPart,
    /// An emoji forces UCS-2.
    Emoji,
    /// A curly quote, long dash, ellipsis or similar forces UCS-2 where a plain character would do.
    Typographic,
    /// Another character outside GSM-7 (e.g. Arabic script, or á) forces UCS-2.
    Unicode,
}

impl WarningKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            WarningKind::MultiPart => "multi_part",
            WarningKind::Emoji => "emoji",
            WarningKind::Typographic => "typographic",
            WarningKind::Unicode => "unicode",
        }
    }
}

/// One warning, in words a template author can act on; `characters` are the offending ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub kind: WarningKind,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub characters: Vec<String>,
}

/// The result of [`analyze`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    pub encoding: Encoding,
    /// Length in the encoding's units: septets for GSM-7 (extension characters count 2), UTF-16 code
    /// units for UCS-2 (surrogate pairs count 2).
    pub characters: usize,
    /// Messages the text is sent as; 0 only for an empty text.
    pub segments: usize,
    pub warnings: Vec<Warning>,
}

/// The GSM 03.38 default alphabet, in table order (0x1B, the escape, is not a character).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: each is sent as an escape and the character, so it counts 2.
const GSM7_EXTENSION: &str = "\u{c}^{}\\[~]|€";

/// Septets a character takes in GSM-7, or `None` if it is not in the alphabet.
pub fn gsm7_width(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Whether every character of `text` can be sent in GSM-7.
pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| gsm7_width(c).is_some())
}

/// Encoding, length, segments and warnings for `text` sent as one SMS.
pub fn analyze(text: &str) -> Analysis {
    let encoding = if is_gsm7(text) { Encoding::Gsm7 } else { Encoding::Ucs2 };
    let width = |c: char| match encoding {
        Encoding::Gsm7 => gsm7_width(c).unwrap_or(1),
        Encoding::Ucs2 => c.len_utf16(),
    };
    let characters: usize = text.chars().map(width).sum();
    let segments = if characters == 0 {
        0
    } else if characters <= encoding.single_limit() {
        1
    } else {
        // Fill parts greedily; a character's units (an escape pair, a surrogate pair) stay together.
        let limit = encoding.part_limit();
        let (mut parts, mut used) = (1, 0);
        for w in text.chars().map(width) {
            if used + w > limit {
                parts += 1;
                used = 0;
            }
            used += w;
        }
        parts
    };
    let mut warnings = Vec::new();
    if encoding == Encoding::Ucs2 {
        ucs2_warnings(text, &mut warnings);
    }
    if segments > 1 {
        let message = match encoding {
            Encoding::Gsm7 => format!(
                "{characters} GSM-7 characters is over 160: the text is sent as {segments} messages \
                 of up to 153 characters each"
            ),
            Encoding::Ucs2 => format!(
                "{characters} UCS-2 characters is over 70: the text is sent as {segments} messages \
                 of up to 67 characters each"
            ),
        };
        warnings.push(Warning { kind: WarningKind::MultiPart, message, characters: Vec::new() });
    }
    Analysis { encoding, characters, segments, warnings }
}

/// Emoji (and the joiners and selectors that build them).
fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x2300..=0x23FF | 0xFE0F | 0x200D
        | 0x20E3 | 0xE0020..=0xE007F | 0x3030 | 0x303D | 0x3297 | 0x3299)
}

/// Typographic characters that have a plain GSM-7 stand-in, and that stand-in.
fn typographic_stand_in(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{00B4}' | '`' => "'",
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}' | '\u{00BB}' => "\"",
        '\u{2013}' | '\u{2014}' | '\u{2012}' | '\u{2015}' | '\u{2010}' | '\u{2011}' | '\u{2212}'
        | '\u{2022}' | '\u{00B7}' => "-",
        '\u{2026}' => "...",
        '\u{00A0}' | '\u{2002}' | '\u{2003}' | '\u{2009}' | '\u{202F}' | '\u{200B}' => "a plain space",
        _ => return None,
    })
}

/// Shows a character so a person can find it (invisible ones by code point).
fn display(c: char) -> String {
    if c.is_whitespace() || c.is_control() || matches!(c as u32, 0x200B | 0x200D | 0xFE0F) {
        format!("U+{:04X}", c as u32)
    } else {
        c.to_string()
    }
}

fn ucs2_warnings(text: &str, out: &mut Vec<Warning>) {
    let mut emoji: Vec<String> = Vec::new();
    let mut typo: Vec<(String, &'static str)> = Vec::new();
    let mut other: Vec<String> = Vec::new();
    for c in text.chars().filter(|c| gsm7_width(*c).is_none()) {
        let shown = display(c);
        if is_emoji(c) {
            if !emoji.contains(&shown) {
                emoji.push(shown);
            }
        } else if let Some(plain) = typographic_stand_in(c) {
            if !typo.iter().any(|(s, _)| *s == shown) {
                typo.push((shown, plain));
            }
        } else if !other.contains(&shown) {
            other.push(shown);
        }
    }
    let ucs2 = "forces the whole message into UCS-2 (70 characters per message instead of 160)";
    if !emoji.is_empty() {
        let message = format!("the emoji {} {ucs2}", emoji.join(" "));
        out.push(Warning { kind: WarningKind::Emoji, message, characters: emoji });
    }
    if !typo.is_empty() {
        let names: Vec<String> = typo.iter().map(|(c, plain)| format!("{c} (use {plain})")).collect();
        let message = format!("the typographic character(s) {} {ucs2}", names.join(", "));
        let characters = typo.into_iter().map(|(c, _)| c).collect();
        out.push(Warning { kind: WarningKind::Typographic, message, characters });
    }
    if !other.is_empty() {
        const SHOWN: usize = 8;
        let mut list = other.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(" ");
        if other.len() > SHOWN {
            list = format!("{list} and {} more", other.len() - SHOWN);
        }
        let message = format!("the character(s) {list} are not in GSM-7; this {ucs2}");
        other.truncate(32);
        out.push(Warning { kind: WarningKind::Unicode, message, characters: other });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(a: &Analysis) -> Vec<WarningKind> {
        a.warnings.iter().map(|w| w.kind).collect()
    }

    #[test]
    fn the_alphabet_has_128_characters_and_the_extension_ten() {
        assert_eq!(GSM7_BASIC.chars().count(), 127, "128 code points less the escape");
        assert_eq!(GSM7_EXTENSION.chars().count(), 10);
    }

    #[test]
    fn table() {
        use Encoding::{Gsm7, Ucs2};
        let cases: Vec<(String, Encoding, usize, usize)> = vec![
            (String::new(), Gsm7, 0, 0),
            ("Hello".into(), Gsm7, 5, 1),
            ("x".repeat(160), Gsm7, 160, 1),
            ("x".repeat(161), Gsm7, 161, 2),
            ("x".repeat(153 * 2), Gsm7, 306, 2),
            ("x".repeat(153 * 2 + 1), Gsm7, 307, 3),
            // € counts 2: 159 + 2 = 161 is two parts.
            (format!("{}€", "x".repeat(158)), Gsm7, 160, 1),
            (format!("{}€", "x".repeat(159)), Gsm7, 161, 2),
            // An escape pair at the 153 boundary moves whole to the next part.
            (format!("{}€{}", "x".repeat(152), "x".repeat(152)), Gsm7, 306, 3),
            (format!("{}€{}", "x".repeat(151), "x".repeat(153)), Gsm7, 306, 2),
            ("{}[]~|^\\".into(), Gsm7, 16, 1),
            ("\u{c}".into(), Gsm7, 2, 1),
            ("Señor Müller, ¿qué tal? à bientôt".replace('ô', "o"), Gsm7, 33, 1),
            ("á".into(), Ucs2, 1, 1),
            ("x".repeat(70), Gsm7, 70, 1),
            (format!("{}😀", "x".repeat(68)), Ucs2, 70, 1),
            (format!("{}😀", "x".repeat(69)), Ucs2, 71, 2),
            // A surrogate pair is never split: 66 + pair does not fit in 67.
            (format!("{}😀{}", "x".repeat(66), "x".repeat(66)), Ucs2, 134, 3),
            (format!("{}😀{}", "x".repeat(65), "x".repeat(67)), Ucs2, 134, 2),
            ("موعدك غداً".into(), Ucs2, 10, 1),
            ("م".repeat(71), Ucs2, 71, 2),
            ("م".repeat(134), Ucs2, 134, 2),
            ("م".repeat(135), Ucs2, 135, 3),
        ];
        for (text, enc, chars, segs) in cases {
            let got = analyze(&text);
            assert_eq!(
                (got.encoding, got.characters, got.segments),
                (enc, chars, segs),
                "{text:?} ({} chars)",
                text.chars().count()
            );
        }
    }

    #[test]
    fn warnings_name_the_offending_characters() {
        let a = analyze("See you soon 😀");
        assert_eq!(kinds(&a), vec![WarningKind::Emoji]);
        assert!(a.warnings[0].message.contains('😀'), "{}", a.warnings[0].message);

        let a = analyze("Don\u{2019}t forget \u{201C}Dr. Okafor\u{201D}\u{2026}");
        assert_eq!(kinds(&a), vec![WarningKind::Typographic]);
        assert_eq!(a.warnings[0].characters, vec!["\u{2019}", "\u{201C}", "\u{201D}", "\u{2026}"]);
        assert!(a.warnings[0].message.contains("\u{2019} (use ')"), "{}", a.warnings[0].message);

        let a = analyze("Cita mañana en la clínica");
        assert_eq!(kinds(&a), vec![WarningKind::Unicode]);
        assert_eq!(a.warnings[0].characters, vec!["í"]);

        let a = analyze(&"x".repeat(161));
        assert_eq!(kinds(&a), vec![WarningKind::MultiPart]);
        assert!(a.warnings[0].message.contains("161 GSM-7 characters is over 160"));

        let a = analyze("plain text, no surprises");
        assert!(a.warnings.is_empty());
    }

    #[test]
    fn invisible_characters_are_named_by_code_point() {
        let a = analyze("a\u{a0}b");
        assert_eq!(a.warnings[0].characters, vec!["U+00A0"]);
    }

    proptest::proptest! {
        #[test]
        fn segments_are_never_zero_for_text_and_gsm7_means_every_char_is_in_the_alphabet(
            text in proptest::string::string_regex("(.|[@£€{}\\[\\]~|^\\\\ÄÖÑÜäöñüà]|😀){0,400}").unwrap()
        ) {
            let a = analyze(&text);
            proptest::prop_assert_eq!(a.segments == 0, text.is_empty());
            let all_gsm = text.chars().all(|c| GSM7_BASIC.contains(c) || GSM7_EXTENSION.contains(c));
            proptest::prop_assert_eq!(a.encoding == Encoding::Gsm7, all_gsm);
            proptest::prop_assert!(a.characters >= text.chars().count());
            if a.segments > 1 {
                proptest::prop_assert!(a.segments >= a.characters.div_ceil(a.encoding.part_limit()));
                proptest::prop_assert!(a.characters > a.encoding.single_limit());
            }
        }
    }
}
