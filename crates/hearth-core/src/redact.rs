//! Wrappers that keep patient data and secrets out of logs, panics and `config check` output.
//! Their `Debug` and `Display` never show the value; code that needs it must ask explicitly.

use std::fmt;

/// Protected health information. Wrap names, phone numbers, birth dates and message bodies in this
/// before they can reach a formatter; it prints `<phi>`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Phi<T>(pub T);

impl<T> fmt::Debug for Phi<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<phi>")
    }
}
impl<T> fmt::Display for Phi<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<phi>")
    }
}

/// A secret (password, token, database URL with credentials). Prints `***`; serializes as `***`
/// so it cannot leak through a JSON dump either. Read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_leaks_through_formatting_or_serialization() {
        let phone = Phi("+15551230000".to_owned());
        let token = Secret::new("hunter2");
        let shown = format!("{phone} {phone:?} {token} {token:?} {}", serde_json::to_string(&token).unwrap());
        assert!(!shown.contains("5551230000") && !shown.contains("hunter2"), "{shown}");
        assert_eq!(token.expose(), "hunter2");
    }
}
