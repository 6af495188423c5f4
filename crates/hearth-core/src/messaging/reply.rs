//! What a patient's reply means: a carrier keyword (STOP, START, HELP), an answer to an appointment
//! prompt (confirm, cancel), or free text for a person. Pure: the caller says whether the number is
//! opted out (that decides what a bare YES means) and does the rest (see `shared/specs/messaging.md`,
//! "Inbound replies", and `docs/replies.md`).
//!
//! Matching works on a normalized form: trimmed, case-folded, Latin accents removed (`SÍ` = `si`),
//! Arabic letter variants folded (`أ إ آ` = `ا`, `ى` = `ي`, no diacritics or tatweel), Arabic-Indic
//! digits read as ASCII, punctuation and emoji around the text removed, inner spaces collapsed. A reply
//! matches a keyword only when its whole normalized text is that keyword: "stop" is an opt-out,
//! "please stop texting me" is free text flagged [`Reply::reads_as_opt_out`] for a human.

use serde::{Deserialize, Serialize};

/// What a reply asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyKind {
    /// A carrier opt-out keyword (STOP, …): no more messages to this number on this channel.
    OptOut,
    /// A carrier opt-in keyword (START, UNSTOP, or YES from an opted-out number).
    OptIn,
    /// HELP or INFO: who we are, how to reach us, how to opt out.
    Help,
    /// Confirms the appointment the last prompt was about.
    Confirm,
    /// Asks to cancel the appointment the last prompt was about.
    Cancel,
    /// Anything else: the staff inbox.
    Other,
}

impl ReplyKind {
    pub const ALL: [ReplyKind; 6] = [
        ReplyKind::OptOut,
        ReplyKind::OptIn,
        ReplyKind::Help,
        ReplyKind::Confirm,
        ReplyKind::Cancel,
        ReplyKind::Other,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            ReplyKind::OptOut => "opt_out",
            ReplyKind::OptIn => "opt_in",
            ReplyKind::Help => "help",
            ReplyKind::Confirm => "confirm",
            ReplyKind::Cancel => "cancel",
            ReplyKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<ReplyKind> {
        ReplyKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the reply answers an appointment prompt (and so needs one to be matched to).
    pub const fn is_intent(self) -> bool {
        matches!(self, ReplyKind::Confirm | ReplyKind::Cancel)
    }
}

/// A classified reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub kind: ReplyKind,
    /// The normalized text the decision was made on.
    pub normalized: String,
    /// Free text that reads like a request to stop messages ("please stop texting me"): it goes to
    /// the inbox flagged for a person, who records the opt-out if that is what the patient meant.
    /// Always false for a keyword (a keyword is acted on).
    pub reads_as_opt_out: bool,
    /// The language the text is written in, when it tells (`es` for AYUDA, `ar` for Arabic script):
    /// answers to keywords use it.
    pub language: Option<&'static str>,
}

/// Carrier opt-out keywords (CTIA/Twilio) and their Spanish and Arabic counterparts.
const OPT_OUT: &[&str] = &[
    "stop",
    "stopall",
    "stop all",
    "unsubscribe",
    "end",
    "quit",
    "cancel",
    "revoke",
    "optout",
    "opt out",
    "opt-out",
    // Spanish
    "parar",
    "para",
    "alto",
    "baja",
    "darme de baja",
    "detener",
    "cancelar suscripcion",
    // Arabic: stop, stopping, unsubscribe (cancel the subscription)
    "توقف",
    "قف",
    "ايقاف",
    "الغاء الاشتراك",
];

/// Opt-in keywords. YES (and its translations) is in [`YES`]: an opt-in only from an opted-out number.
const OPT_IN: &[&str] = &["start", "unstop", "subscribe", "alta", "reanudar", "ابدا", "اشتراك"];

const HELP: &[&str] = &["help", "info", "ayuda", "informacion", "مساعدة", "مساعده", "معلومات"];

/// Yes: a confirmation, except from an opted-out number, where it is an opt-in.
const YES: &[&str] = &["yes", "si", "نعم"];

const CONFIRM: &[&str] = &[
    "c",
    "y",
    "1",
    "confirm",
    "confirmed",
    "confirm appt",
    "confirm appointment",
    "yes confirm",
    // Spanish
    "confirmar",
    "confirmo",
    "confirmado",
    "confirmar cita",
    "si confirmo",
    // Arabic: I confirm, confirmation, confirmed, yes I confirm
    "اؤكد",
    "تاكيد",
    "مؤكد",
    "نعم اؤكد",
    "تاكيد الموعد",
];

/// Cancel requests. A bare CANCEL is a carrier opt-out keyword and stays one.
const CANCEL: &[&str] = &[
    "2",
    "cancel appt",
    "cancel appointment",
    "cancel my appointment",
    "cancel my appt",
    // Spanish
    "cancelar",
    "cancelar cita",
    "cancelar la cita",
    "cancelar mi cita",
    "anular cita",
    // Arabic: cancel, cancel the appointment, cancel my appointment
    "الغاء",
    "الغاء الموعد",
    "الغاء موعدي",
    "الغي الموعد",
];

/// Phrases inside free text that read as a request to stop messages (matched on the normalized text,
/// as whole words).
const OPT_OUT_PHRASES: &[&str] = &[
    "stop",
    "unsubscribe",
    "opt out",
    "optout",
    "remove me",
    "take me off",
    "leave me alone",
    "dont text",
    "don't text",
    "do not text",
    "dont message",
    "don't message",
    "do not message",
    "do not contact",
    "don't contact",
    "dont contact",
    "no more texts",
    "no more messages",
    "no more text",
    // Spanish
    "no me envien",
    "no me manden",
    "no me escriban",
    "no me contacten",
    "dejen de",
    "no mas mensajes",
    "darme de baja",
    "de baja",
    "borrarme",
    "parar",
    // Arabic: stop, don't send, don't text me, stop the messages, unsubscribe
    "توقف",
    "توقفوا",
    "لا ترسل",
    "لا ترسلوا",
    "لا تراسلني",
    "ايقاف",
    "الغاء الاشتراك",
];

/// Words an organization's messages ask patients to reply besides the built-in ones (e.g. a
/// configured confirm word `OK`), in any notation: they are normalized before matching. Carrier
/// keywords still win: a configured cancel word `CANCEL` stays an opt-out.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtraWords<'a> {
    pub confirm: &'a [&'a str],
    pub cancel: &'a [&'a str],
}

/// Classifies `text`. `opted_out` says whether the number is opted out on this channel (a bare YES
/// then re-subscribes instead of confirming). Never panics, whatever the input.
pub fn classify(text: &str, opted_out: bool) -> Reply {
    classify_with(text, opted_out, ExtraWords::default())
}

/// [`classify`], also recognising the organization's own confirm and cancel words.
pub fn classify_with(text: &str, opted_out: bool, extra: ExtraWords<'_>) -> Reply {
    let normalized = normalize(text);
    let n = normalized.as_str();
    let is = |list: &[&str]| list.contains(&n);
    let is_extra = |list: &[&str]| !n.is_empty() && list.iter().any(|w| normalize(w) == n);
    let kind = if is(OPT_OUT) {
        ReplyKind::OptOut
    } else if is(OPT_IN) || (opted_out && is(YES)) {
        ReplyKind::OptIn
    } else if is(HELP) {
        ReplyKind::Help
    } else if is(CONFIRM) || is(YES) || is_extra(extra.confirm) {
        ReplyKind::Confirm
    } else if is(CANCEL) || is_extra(extra.cancel) {
        ReplyKind::Cancel
    } else {
        ReplyKind::Other
    };
    let reads_as_opt_out = kind == ReplyKind::Other && OPT_OUT_PHRASES.iter().any(|p| contains_words(n, p));
    let language = if n.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)) {
        Some("ar")
    } else if SPANISH.contains(&n) {
        Some("es")
    } else {
        None
    };
    Reply { kind, normalized, reads_as_opt_out, language }
}

/// The keywords above that are Spanish (English and Spanish share the Latin script; Arabic is told by
/// its script).
const SPANISH: &[&str] = &[
    "parar",
    "para",
    "alto",
    "baja",
    "darme de baja",
    "detener",
    "cancelar suscripcion",
    "alta",
    "reanudar",
    "ayuda",
    "informacion",
    "si",
    "confirmar",
    "confirmo",
    "confirmado",
    "confirmar cita",
    "si confirmo",
    "cancelar",
    "cancelar cita",
    "cancelar la cita",
    "cancelar mi cita",
    "anular cita",
];

/// The normalized form matching works on (see the module documentation).
pub fn normalize(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if let Some(f) = fold(c) {
            folded.push(f);
        }
    }
    let trimmed = folded.trim_matches(|c: char| !c.is_alphanumeric());
    trimmed.split(|c: char| c.is_whitespace()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// One character, folded: accents off Latin letters, Arabic letter variants unified, Arabic-Indic
/// digits as ASCII; `None` for marks that carry no letter (Arabic diacritics, tatweel, zero-width
/// characters, variation selectors).
fn fold(c: char) -> Option<char> {
    Some(match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        '’' | '‘' | 'ʼ' => '\'',
        'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
        'ى' => 'ي',
        '\u{0660}'..='\u{0669}' => char::from_digit(u32::from(c) - 0x0660, 10)?,
        '\u{06F0}'..='\u{06F9}' => char::from_digit(u32::from(c) - 0x06F0, 10)?,
        // Arabic diacritics and tatweel; zero-width characters, variation selectors, the BOM and the
        // Arabic letter mark.
        '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | 'ـ'
        | '\u{200B}'..='\u{200F}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{061C}' => return None,
        '\u{00A0}' => ' ',
        c => c,
    })
}

/// Whether `phrase` occurs in `text` on word boundaries.
fn contains_words(text: &str, phrase: &str) -> bool {
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    let mut from = 0;
    while let Some(i) = text.get(from..).and_then(|rest| rest.find(phrase)) {
        let start = from + i;
        let end = start + phrase.len();
        if boundary(text[..start].chars().next_back()) && boundary(text[end..].chars().next()) {
            return true;
        }
        from = start + phrase.chars().next().map_or(1, char::len_utf8);
    }
    false
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn kind(text: &str) -> ReplyKind {
        classify(text, false).kind
    }

    #[test]
    fn carrier_keywords_and_their_translations() {
        for (text, want) in [
            ("STOP", ReplyKind::OptOut),
            ("  stop!! ", ReplyKind::OptOut),
            ("Stop.", ReplyKind::OptOut),
            ("STOPALL", ReplyKind::OptOut),
            ("unsubscribe", ReplyKind::OptOut),
            ("End", ReplyKind::OptOut),
            ("QUIT", ReplyKind::OptOut),
            ("CANCEL", ReplyKind::OptOut),
            ("cancel 🙏", ReplyKind::OptOut),
            ("REVOKE", ReplyKind::OptOut),
            ("OPTOUT", ReplyKind::OptOut),
            ("PARAR", ReplyKind::OptOut),
            ("Alto", ReplyKind::OptOut),
            ("BAJA", ReplyKind::OptOut),
            ("توقف", ReplyKind::OptOut),
            ("إيقاف", ReplyKind::OptOut),
            ("ايقاف", ReplyKind::OptOut),
            ("إلغاء الاشتراك", ReplyKind::OptOut),
            ("START", ReplyKind::OptIn),
            ("unstop", ReplyKind::OptIn),
            ("HELP", ReplyKind::Help),
            ("info?", ReplyKind::Help),
            ("AYUDA", ReplyKind::Help),
            ("مساعدة", ReplyKind::Help),
        ] {
            assert_eq!(kind(text), want, "{text:?}");
        }
    }

    #[test]
    fn appointment_intents_in_three_languages() {
        for (text, want) in [
            ("C", ReplyKind::Confirm),
            ("c", ReplyKind::Confirm),
            ("CONFIRM", ReplyKind::Confirm),
            ("Confirm appt", ReplyKind::Confirm),
            ("confirm   APPT.", ReplyKind::Confirm),
            ("Y", ReplyKind::Confirm),
            ("YES", ReplyKind::Confirm),
            ("Yes!", ReplyKind::Confirm),
            ("1", ReplyKind::Confirm),
            ("١", ReplyKind::Confirm),
            ("CONFIRMAR", ReplyKind::Confirm),
            ("Sí", ReplyKind::Confirm),
            ("SI", ReplyKind::Confirm),
            ("نعم", ReplyKind::Confirm),
            ("أؤكد", ReplyKind::Confirm),
            ("تأكيد", ReplyKind::Confirm),
            ("👍 C 👍", ReplyKind::Confirm),
            ("CANCEL APPT", ReplyKind::Cancel),
            ("cancel appointment", ReplyKind::Cancel),
            ("2", ReplyKind::Cancel),
            ("٢", ReplyKind::Cancel),
            ("CANCELAR CITA", ReplyKind::Cancel),
            ("cancelar", ReplyKind::Cancel),
            ("إلغاء", ReplyKind::Cancel),
            ("الغاء الموعد", ReplyKind::Cancel),
            ("إلغاء الموعد", ReplyKind::Cancel),
        ] {
            assert_eq!(kind(text), want, "{text:?}");
        }
    }

    #[test]
    fn yes_reopts_in_only_when_opted_out() {
        assert_eq!(classify("YES", true).kind, ReplyKind::OptIn);
        assert_eq!(classify("sí", true).kind, ReplyKind::OptIn);
        assert_eq!(classify("YES", false).kind, ReplyKind::Confirm);
        // Other confirmations stay confirmations; STOP stays STOP.
        assert_eq!(classify("C", true).kind, ReplyKind::Confirm);
        assert_eq!(classify("STOP", true).kind, ReplyKind::OptOut);
    }

    #[test]
    fn a_bare_cancel_is_an_opt_out_never_an_appointment_cancel() {
        assert_eq!(kind("CANCEL"), ReplyKind::OptOut);
        assert_eq!(kind("Cancel."), ReplyKind::OptOut);
        assert_eq!(kind("CANCEL APPT"), ReplyKind::Cancel);
    }

    #[test]
    fn free_text_goes_to_a_person_flagged_when_it_reads_as_an_opt_out() {
        for text in [
            "please stop texting me",
            "Stop sending me these!!",
            "remove me from your list",
            "don’t text me again",
            "No me envíen más mensajes",
            "por favor dejen de escribirme",
            "لا ترسلوا لي رسائل",
            "توقفوا عن المراسلة",
        ] {
            let r = classify(text, false);
            assert_eq!(r.kind, ReplyKind::Other, "{text:?}");
            assert!(r.reads_as_opt_out, "{text:?} reads as an opt-out");
        }
        for text in [
            "Can I come at 3 instead?",
            "running 10 min late",
            "¿Dónde está la clínica?",
            "شكرا",
            "stopwatch broke lol",
            "C is for cookie",
            "",
            "👍",
            "🙏🙏🙏",
        ] {
            let r = classify(text, false);
            assert_eq!(r.kind, ReplyKind::Other, "{text:?}");
            assert!(!r.reads_as_opt_out, "{text:?} does not read as an opt-out");
        }
    }

    #[test]
    fn normalization_trims_folds_and_collapses() {
        assert_eq!(normalize("  ¡¡Confirmar   CITA!!  "), "confirmar cita");
        assert_eq!(normalize("🙂 yes 🙂"), "yes");
        assert_eq!(normalize("\u{200B}STOP\u{FE0F}"), "stop");
        assert_eq!(normalize("إِلْغَاء"), "الغاء");
        assert_eq!(normalize("تأكيـــد"), "تاكيد");
        assert_eq!(normalize("C\n\nA\tB"), "c a b");
        assert_eq!(normalize("…"), "");
        let long = "x ".repeat(1000);
        assert_eq!(normalize(&long).len(), 1999);
    }

    #[test]
    fn an_organizations_own_words_are_recognised_but_never_over_carrier_keywords() {
        let extra = ExtraWords { confirm: &["OK!", "vale"], cancel: &["Anular", "CANCEL"] };
        assert_eq!(classify_with("ok", false, extra).kind, ReplyKind::Confirm);
        assert_eq!(classify_with("Vale.", false, extra).kind, ReplyKind::Confirm);
        assert_eq!(classify_with("ANULAR", false, extra).kind, ReplyKind::Cancel);
        assert_eq!(classify_with("cancel", false, extra).kind, ReplyKind::OptOut);
        assert_eq!(
            classify_with("", false, ExtraWords { confirm: &[""], cancel: &[] }).kind,
            ReplyKind::Other
        );
        assert_eq!(classify("ok", false).kind, ReplyKind::Other);
    }

    #[test]
    fn the_language_of_a_keyword_is_told() {
        assert_eq!(classify("AYUDA", false).language, Some("es"));
        assert_eq!(classify("مساعدة", false).language, Some("ar"));
        assert_eq!(classify("HELP", false).language, None);
        assert_eq!(classify("Parar", false).language, Some("es"));
    }

    #[test]
    fn kinds_round_trip() {
        for k in ReplyKind::ALL {
            assert_eq!(ReplyKind::parse(k.as_str()), Some(k));
        }
        assert!(ReplyKind::Confirm.is_intent() && !ReplyKind::OptOut.is_intent());
    }

    proptest! {
        #[test]
        fn never_panics_and_keywords_survive_decoration(
            text in any::<String>(),
            opted_out in any::<bool>(),
            pad in "[ \\t!?.,😀👍🙏]{0,4}",
        ) {
            let r = classify(&text, opted_out);
            prop_assert!(!r.normalized.starts_with(' ') && !r.normalized.contains("  "));
            prop_assert!(!(r.reads_as_opt_out && r.kind != ReplyKind::Other));
            let decorated = format!("{pad}StOp{pad}");
            prop_assert_eq!(classify(&decorated, opted_out).kind, ReplyKind::OptOut);
        }
    }
}
