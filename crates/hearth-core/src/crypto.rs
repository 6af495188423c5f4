//! Encryption of sensitive values at rest: AES-256-GCM with a random 96-bit nonce per value, under
//! named keys so they can be rotated. A sealed value is text:
//! `enc:v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`. The associated data names where the value
//! belongs (e.g. `patient:<org>:<id>:identifier:<system>`), so a ciphertext copied to another row or
//! field does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

const PREFIX: &str = "enc:v1:";

/// The keys Hearth encrypts with: the last one seals, every one opens.
pub struct Keyring {
    keys: Vec<(String, Zeroizing<[u8; 32]>)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key ids only, never key material.
        f.debug_struct("Keyring").field("key_ids", &self.key_ids()).finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyringError {
    #[error("line {line}: expected `<key id> <base64 of 32 bytes>`")]
    Malformed { line: usize },
    #[error("line {line}: key id `{id}` must be 1 to 32 letters, digits, '-' or '_'")]
    BadId { line: usize, id: String },
    #[error("line {line}: the key of `{id}` is not base64 of exactly 32 bytes")]
    BadKey { line: usize, id: String },
    #[error("key id `{0}` appears twice")]
    Duplicate(String),
    #[error("no keys: a keyring needs at least one key")]
    Empty,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("not a sealed value")]
    NotSealed,
    #[error("sealed with key `{0}`, which is not in the keyring")]
    UnknownKey(String),
    #[error("the value does not open with its key and context (corrupted, or moved from elsewhere)")]
    Corrupt,
}

fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Keyring {
    /// Reads a keyring: one `<id> <base64 key>` per line (or `<id>:<base64>` separated by commas,
    /// as in an environment variable); `#` starts a comment. The last key is the active one.
    pub fn parse(text: &str) -> Result<Self, KeyringError> {
        let mut keys: Vec<(String, Zeroizing<[u8; 32]>)> = Vec::new();
        let entries = text
            .lines()
            .enumerate()
            .map(|(n, l)| (n + 1, l.split('#').next().unwrap_or_default()))
            .flat_map(|(n, l)| l.split(',').map(move |e| (n, e.trim())))
            .filter(|(_, e)| !e.is_empty());
        for (line, entry) in entries {
            let (id, key) = entry
                .split_once(|c: char| c == ':' || c.is_whitespace())
                .ok_or(KeyringError::Malformed { line })?;
            let (id, key) = (id.trim(), key.trim());
            if !valid_id(id) {
                return Err(KeyringError::BadId { line, id: id.to_owned() });
            }
            let bytes = Zeroizing::new(
                B64.decode(key).map_err(|_| KeyringError::BadKey { line, id: id.to_owned() })?,
            );
            let key: [u8; 32] =
                bytes.as_slice().try_into().map_err(|_| KeyringError::BadKey { line, id: id.to_owned() })?;
            if keys.iter().any(|(k, _)| k == id) {
                return Err(KeyringError::Duplicate(id.to_owned()));
            }
            keys.push((id.to_owned(), Zeroizing::new(key)));
        }
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        Ok(Self { keys })
    }

    /// A new random key as a keyring line: `<id> <base64>`.
    pub fn new_key_line(id: &str) -> String {
        let key: Zeroizing<[u8; 32]> = Zeroizing::new(rand::random());
        format!("{id} {}", B64.encode(key.as_slice()))
    }

    /// An id for the next key: `k<n+1>` after the highest `k<n>`.
    pub fn next_key_id(&self) -> String {
        let n = self
            .keys
            .iter()
            .filter_map(|(id, _)| id.strip_prefix('k')?.parse::<u32>().ok())
            .max()
            .unwrap_or(0);
        format!("k{}", n + 1)
    }

    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// The key that seals.
    pub fn active_id(&self) -> &str {
        self.keys.last().map_or("", |(id, _)| id.as_str())
    }

    fn cipher(&self, id: &str) -> Option<Aes256Gcm> {
        self.keys
            .iter()
            .find(|(k, _)| k == id)
            .and_then(|(_, key)| Aes256Gcm::new_from_slice(key.as_slice()).ok())
    }

    /// Encrypts `plaintext` under the active key, bound to `context`.
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let id = self.active_id();
        let Some(cipher) = self.cipher(id) else { return String::new() };
        let nonce: [u8; 12] = rand::random();
        let sealed = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext.as_bytes(), aad: context.as_bytes() })
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{id}:{}", B64.encode(bytes))
    }

    /// Decrypts a sealed value with its key and `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String, OpenError> {
        let id = key_id(sealed).ok_or(OpenError::NotSealed)?;
        let cipher = self.cipher(id).ok_or_else(|| OpenError::UnknownKey(id.to_owned()))?;
        let body = &sealed[PREFIX.len() + id.len() + 1..];
        let bytes = B64.decode(body).map_err(|_| OpenError::Corrupt)?;
        if bytes.len() < 12 + 16 {
            return Err(OpenError::Corrupt);
        }
        let (nonce, ct) = bytes.split_at(12);
        let nonce = Nonce::try_from(nonce).map_err(|_| OpenError::Corrupt)?;
        let plain = cipher
            .decrypt(&nonce, Payload { msg: ct, aad: context.as_bytes() })
            .map_err(|_| OpenError::Corrupt)?;
        String::from_utf8(plain).map_err(|_| OpenError::Corrupt)
    }

    /// Re-encrypts under the active key (for rotation); `None` when it already is.
    pub fn reseal(&self, sealed: &str, context: &str) -> Result<Option<String>, OpenError> {
        if key_id(sealed) == Some(self.active_id()) {
            return Ok(None);
        }
        Ok(Some(self.seal(&self.open(sealed, context)?, context)))
    }
}

/// The key id of a sealed value, or None if it is not one.
pub fn key_id(value: &str) -> Option<&str> {
    value.strip_prefix(PREFIX)?.split_once(':').map(|(id, _)| id).filter(|id| valid_id(id))
}

/// Whether a stored value is sealed (older rows may still hold plaintext until rotation).
pub fn is_sealed(value: &str) -> bool {
    key_id(value).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(ids: &[&str]) -> Keyring {
        Keyring::parse(&ids.iter().map(|id| Keyring::new_key_line(id)).collect::<Vec<_>>().join("\n"))
            .unwrap()
    }

    #[test]
    fn seals_and_opens_only_in_its_context() {
        let k = ring(&["k1"]);
        let sealed = k.seal("444-22-2222", "patient:a:ssn");
        assert!(sealed.starts_with("enc:v1:k1:"));
        assert!(!sealed.contains("444"));
        assert_ne!(sealed, k.seal("444-22-2222", "patient:a:ssn"), "a fresh nonce each time");
        assert_eq!(k.open(&sealed, "patient:a:ssn").unwrap(), "444-22-2222");
        assert_eq!(k.open(&sealed, "patient:b:ssn"), Err(OpenError::Corrupt), "moved to another row");
        let mut tampered = sealed.clone();
        tampered.replace_range(tampered.len() - 3.., "AAA");
        assert_eq!(k.open(&tampered, "patient:a:ssn"), Err(OpenError::Corrupt));
        assert_eq!(k.open("444-22-2222", "patient:a:ssn"), Err(OpenError::NotSealed));
    }

    #[test]
    fn rotation_keeps_old_keys_for_opening_and_seals_with_the_last() {
        let old = ring(&["k1"]);
        let sealed = old.seal("secret", "ctx");
        let text = format!("{}\n{}", Keyring::new_key_line("k1"), Keyring::new_key_line("k2"));
        assert!(Keyring::parse(&text).unwrap().open(&sealed, "ctx").is_err(), "a different k1");
        let both = Keyring {
            keys: vec![(old.keys[0].0.clone(), old.keys[0].1.clone()), ring(&["k2"]).keys.remove(0)],
        };
        assert_eq!(both.active_id(), "k2");
        assert_eq!(both.next_key_id(), "k3");
        let resealed = both.reseal(&sealed, "ctx").unwrap().unwrap();
        assert_eq!(key_id(&resealed), Some("k2"));
        assert_eq!(both.open(&resealed, "ctx").unwrap(), "secret");
        assert_eq!(both.reseal(&resealed, "ctx").unwrap(), None, "already under the active key");
        let without_k2 = ring(&["k1"]);
        assert_eq!(without_k2.open(&resealed, "ctx"), Err(OpenError::UnknownKey("k2".into())));
    }

    #[test]
    fn keyring_text_errors_name_the_line() {
        assert_eq!(Keyring::parse("# nothing, really\n").unwrap_err(), KeyringError::Empty);
        assert_eq!(Keyring::parse("k1\n").unwrap_err(), KeyringError::Malformed { line: 1 });
        assert_eq!(
            Keyring::parse("# c\nk1 c2hvcnQ=").unwrap_err(),
            KeyringError::BadKey { line: 2, id: "k1".into() }
        );
        assert_eq!(
            Keyring::parse("bad!id AAAA").unwrap_err(),
            KeyringError::BadId { line: 1, id: "bad!id".into() }
        );
        let line = Keyring::new_key_line("k1");
        assert_eq!(
            Keyring::parse(&format!("{line}\n{line}")).unwrap_err(),
            KeyringError::Duplicate("k1".into())
        );
        let env_form =
            format!("{},{}", line.replacen(' ', ":", 1), Keyring::new_key_line("k2").replacen(' ', ":", 1));
        assert_eq!(Keyring::parse(&env_form).unwrap().key_ids(), ["k1", "k2"]);
        assert!(!format!("{:?}", Keyring::parse(&line).unwrap()).contains(line.split(' ').nth(1).unwrap()));
    }
}
