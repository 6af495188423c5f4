//! The built-in templates: one TOML file per language in `defaults/`, compiled into the binary. They
//! are what an organization gets until it writes its own, and the minimal variant that sensitive
//! locations always get.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use hearth_core::messaging::{Channel, Purpose};
use serde::Deserialize;

/// Languages with built-in templates; `en` is the last fallback.
pub const LANGUAGES: &[&str] = &["en", "es", "ar"];

const SOURCES: &[(&str, &str)] = &[
    ("en", include_str!("defaults/en.toml")),
    ("es", include_str!("defaults/es.toml")),
    ("ar", include_str!("defaults/ar.toml")),
];

/// One purpose's texts in one language.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    sms: String,
    whatsapp: Option<String>,
    voice: String,
    email_subject: String,
    email: String,
    sms_minimal: Option<String>,
    whatsapp_minimal: Option<String>,
    voice_minimal: Option<String>,
    email_minimal: Option<String>,
}

/// A built-in template: the source of its subject (email only) and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltIn {
    pub subject: Option<&'static str>,
    pub body: &'static str,
}

type Table = BTreeMap<&'static str, BTreeMap<Purpose, Entry>>;

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(lang, src)| {
            // A broken built-in file is a build mistake the `every_default_*` tests catch.
            let entries: BTreeMap<Purpose, Entry> = toml::from_str(src)
                .unwrap_or_else(|e| panic!("built-in templates defaults/{lang}.toml: {e}"));
            (*lang, entries)
        })
        .collect()
});

/// The built-in template for a channel, purpose and language (a primary tag: `es`, not `es-MX`).
/// `minimal` asks for the variant with no details; without a `<channel>_minimal` text it is the
/// same text, whose details are all inside `{% if … %}` and rendered withheld.
pub fn built_in(channel: Channel, purpose: Purpose, language: &str, minimal: bool) -> Option<BuiltIn> {
    let e = TABLE.get(language)?.get(&purpose)?;
    let pick = |normal: &'static String, min: &'static Option<String>| -> &'static str {
        match (minimal, min) {
            (true, Some(m)) => m.as_str(),
            _ => normal.as_str(),
        }
    };
    let e: &'static Entry = e;
    Some(match channel {
        Channel::Sms => BuiltIn { subject: None, body: pick(&e.sms, &e.sms_minimal) },
        Channel::Whatsapp => {
            // WhatsApp says what SMS says unless the file words it separately.
            let normal = e.whatsapp.as_ref().unwrap_or(&e.sms);
            let min = if e.whatsapp.is_some() || e.whatsapp_minimal.is_some() {
                &e.whatsapp_minimal
            } else {
                &e.sms_minimal
            };
            BuiltIn { subject: None, body: pick(normal, min) }
        }
        Channel::Voice => BuiltIn { subject: None, body: pick(&e.voice, &e.voice_minimal) },
        Channel::Email => {
            BuiltIn { subject: Some(e.email_subject.as_str()), body: pick(&e.email, &e.email_minimal) }
        }
    })
}

#[cfg(test)]
mod tests {
    use hearth_core::messaging::Language;
    use hearth_core::messaging::sms::{Encoding, analyze};

    use super::*;
    use crate::notifications::templates::engine;

    fn samples(purpose: Purpose, withheld: bool) -> BTreeMap<String, String> {
        purpose
            .variables()
            .iter()
            .map(|v| {
                let value = if withheld && v.detail.is_some() { "" } else { v.sample };
                (v.name.to_owned(), value.to_owned())
            })
            .collect()
    }

    /// Every built-in text exists, passes the save-time checks, and renders in strict mode with its
    /// purpose's samples, with details shown and withheld; English and Spanish SMS stay in GSM-7.
    #[test]
    fn every_default_renders_in_every_language_and_channel_in_strict_mode() {
        let zone = jiff::tz::TimeZone::get("America/Chicago").unwrap();
        let mut rendered = 0;
        for lang in LANGUAGES {
            let env = engine::environment(&Language::parse(lang).unwrap(), &zone);
            for purpose in Purpose::ALL {
                for channel in Channel::ALL {
                    for minimal in [false, true] {
                        let b = built_in(channel, purpose, lang, minimal)
                            .unwrap_or_else(|| panic!("no {lang} {channel} {purpose}"));
                        assert_eq!(b.subject.is_some(), channel == Channel::Email);
                        for (field, src) in [("subject", b.subject), ("body", Some(b.body))] {
                            let Some(src) = src else { continue };
                            engine::check(&env, purpose, field, src)
                                .unwrap_or_else(|e| panic!("{lang} {channel} {purpose} {field}: {e:?}"));
                            let out = engine::render(&env, field, src, &samples(purpose, minimal), true)
                                .unwrap_or_else(|e| panic!("{lang} {channel} {purpose} {field}: {e:?}"));
                            assert!(
                                !out.contains("{{") && !out.contains("  "),
                                "{lang} {channel} {purpose}: {out}"
                            );
                            if minimal {
                                for v in purpose.variables().iter().filter(|v| v.detail.is_some()) {
                                    assert!(
                                        !out.contains(v.sample),
                                        "{lang} {channel} {purpose} shows {}",
                                        v.name
                                    );
                                }
                            }
                            let a = analyze(&out);
                            if channel == Channel::Sms && *lang != "ar" {
                                assert_eq!(
                                    a.encoding,
                                    Encoding::Gsm7,
                                    "{lang} {purpose}: {out} {:?}",
                                    a.warnings
                                );
                            }
                            if channel == Channel::Sms {
                                assert!(
                                    a.segments <= 3,
                                    "{lang} {purpose} takes {} segments: {out}",
                                    a.segments
                                );
                            }
                            rendered += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(rendered, LANGUAGES.len() * Purpose::ALL.len() * 2 * 5);
    }

    #[test]
    fn whatsapp_says_what_sms_says() {
        let sms = built_in(Channel::Sms, Purpose::Help, "es", false).unwrap();
        assert_eq!(built_in(Channel::Whatsapp, Purpose::Help, "es", false), Some(sms));
        assert_eq!(built_in(Channel::Sms, Purpose::Help, "fr", false), None);
    }
}
