//! Phone numbers and e-mail addresses, parsed once at the edge. Holders of a [`Phone`] or [`Email`]
//! never re-validate.

use std::fmt;

use serde::Serialize;

/// A valid phone number in E.164 (`+15551230000`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("expected a phone number such as +1 555 123 0000 or (555) 123-0000; letters are not allowed")]
    PhoneLetters,
    #[error("expected a phone number that exists in its country's numbering plan, such as +1 202 555 0143")]
    PhoneInvalid,
    #[error("expected an e-mail address such as dana@clinic.org")]
    Email,
}

impl Phone {
    /// Parses any common notation; numbers without a country code are read in `default_region`
    /// (ISO 3166 alpha-2, e.g. `US`).
    pub fn parse(raw: &str, default_region: &str) -> Result<Self, ContactError> {
        let raw = raw.trim();
        // Vanity letters (1-800-FLOWERS) and typos are refused rather than guessed.
        let body = raw.trim_start_matches("tel:");
        if body.chars().any(|c| c.is_alphabetic() && !matches!(c, 'x' | 'X')) {
            return Err(ContactError::PhoneLetters);
        }
        let region = default_region.parse::<phonenumber::country::Id>().ok();
        // The parser has panicked on fuzzed input in the past; a panic here must not take down a request.
        let parsed = std::panic::catch_unwind(|| phonenumber::parse(region, body))
            .map_err(|_| ContactError::PhoneInvalid)?;
        match parsed {
            Ok(n) if phonenumber::is_valid(&n) => {
                Ok(Self(n.format().mode(phonenumber::Mode::E164).to_string()))
            }
            _ => Err(ContactError::PhoneInvalid),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A syntactically valid e-mail address with a top-level domain, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ContactError> {
        let email = raw.trim().to_lowercase();
        let opts = email_address::Options::default().without_display_text().with_required_tld();
        if email.len() > 254 || email_address::EmailAddress::parse_with_options(&email, opts).is_err() {
            return Err(ContactError::Email);
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_in_any_notation_become_e164() {
        for raw in ["(202) 555-0143", "202.555.0143", "+1 202 555 0143", "1-202-555-0143", "tel:+12025550143"]
        {
            assert_eq!(Phone::parse(raw, "US").unwrap().as_str(), "+12025550143", "{raw}");
        }
        assert_eq!(Phone::parse("020 7946 0018", "GB").unwrap().as_str(), "+442079460018");
        assert_eq!(
            Phone::parse("+44 20 7946 0018", "US").unwrap().as_str(),
            "+442079460018",
            "an explicit code wins"
        );
    }

    #[test]
    fn bad_phones_say_why() {
        assert_eq!(Phone::parse("555-CALL-NOW", "US"), Err(ContactError::PhoneLetters));
        assert_eq!(Phone::parse("dana@clinic.org", "US"), Err(ContactError::PhoneLetters));
        assert_eq!(Phone::parse("12", "US"), Err(ContactError::PhoneInvalid));
        assert_eq!(Phone::parse("", "US"), Err(ContactError::PhoneInvalid));
        assert_eq!(Phone::parse("+999 1234 5678", "US"), Err(ContactError::PhoneInvalid));
    }

    #[test]
    fn emails_are_checked_and_lower_cased() {
        assert_eq!(Email::parse(" Dana@Clinic.ORG ").unwrap().as_str(), "dana@clinic.org");
        for bad in ["dana", "dana@", "dana@clinic", "Dana <dana@clinic.org>", "a b@c.org"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
