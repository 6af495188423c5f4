//! Random tokens, their hashes, and passwords.
//!
//! Session tokens, API keys and recovery codes are random and stored only as SHA-256 (they have full
//! entropy, so a fast hash suffices). Passwords are chosen by people, so they get Argon2id, computed
//! on the blocking pool so a sign-in never stalls other requests.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use hearth_core::audit::to_hex;
use sha2::{Digest, Sha256};

use crate::error::{AppError, FieldError};

/// Characters for codes people type: no 0/o, 1/l/i.
const READABLE: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// `bytes` random bytes as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let raw: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    to_hex(&raw)
}

/// A random code from the readable alphabet, e.g. for recovery codes and temporary passwords.
pub fn random_readable(len: usize) -> String {
    (0..len).map(|_| READABLE[rand::random_range(0..READABLE.len())] as char).collect()
}

pub fn sha256_hex(s: &str) -> String {
    to_hex(&Sha256::digest(s.as_bytes()))
}

pub const MIN_PASSWORD_LEN: usize = 12;
const MAX_PASSWORD_LEN: usize = 256;

/// Staff password rules (NIST SP 800-63B style: length over composition).
pub fn check_password_policy(field: &str, password: &str, email: &str) -> Result<(), AppError> {
    let len = password.chars().count();
    let problem = if len < MIN_PASSWORD_LEN {
        Some(format!("must be at least {MIN_PASSWORD_LEN} characters"))
    } else if len > MAX_PASSWORD_LEN {
        Some(format!("must be at most {MAX_PASSWORD_LEN} characters"))
    } else if password.trim().eq_ignore_ascii_case(email.trim()) {
        Some("must not be your e-mail address".into())
    } else if password.chars().collect::<std::collections::HashSet<_>>().len() < 4 {
        Some("is too repetitive".into())
    } else {
        None
    };
    match problem {
        Some(p) => Err(AppError::Fields(vec![FieldError::new(field, format!("the password {p}"))])),
        None => Ok(()),
    }
}

pub async fn hash_password(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await
    .map_err(anyhow::Error::from)?
    .map_err(AppError::Internal)
}

/// Checks a password against a stored PHC string. With no stored hash it still does the work, so an
/// unknown address takes as long as a wrong password.
pub async fn verify_password(password: String, phc: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let phc = phc.unwrap_or_else(|| DUMMY_HASH.to_owned());
        PasswordHash::new(&phc)
            .is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            && phc != DUMMY_HASH
    })
    .await
    .unwrap_or(false)
}

/// The Argon2id hash of a random string nobody knows (default parameters).
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$kyBzvZXwaZuVAvYjiD9nUeSnbxhNWM4WLs0pd+xHd4M";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong horse battery".into(), Some(h)).await);
        assert!(!verify_password("anything".into(), None).await);
        assert!(!verify_password("x".into(), Some("not a phc string".into())).await);
    }

    #[test]
    fn password_policy_names_the_field_and_the_rule() {
        assert!(check_password_policy("password", "short", "a@b.c").is_err());
        assert!(check_password_policy("password", "aaaaaaaaaaaaaaa", "a@b.c").is_err());
        assert!(check_password_policy("password", "dana@clinic.org", "dana@clinic.org").is_err());
        assert!(check_password_policy("password", "plum tree at dawn", "dana@clinic.org").is_ok());
        match check_password_policy("new_password", "short", "a@b.c") {
            Err(AppError::Fields(f)) => assert_eq!(f[0].field, "new_password"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn random_values_have_the_requested_shape() {
        assert_eq!(random_hex(16).len(), 32);
        let code = random_readable(10);
        assert_eq!(code.len(), 10);
        assert!(code.bytes().all(|b| READABLE.contains(&b)));
        assert_ne!(random_hex(16), random_hex(16));
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
