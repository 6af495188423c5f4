//! The audit trail's hash chain. Each event's hash covers every stored field and the previous event's
//! hash, so changing, removing or reordering any row breaks every hash after it. The writer and
//! `hearth audit verify` both use [`event_hash`].

use sha2::{Digest, Sha256};

/// The hash that starts every organization's chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The stored fields of one event, as text, in a fixed order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainFields<'a> {
    pub org_id: &'a str,
    pub seq: i64,
    pub id: &'a str,
    pub at: &'a str,
    pub actor_type: &'a str,
    pub actor_id: Option<&'a str>,
    pub actor_label: Option<&'a str>,
    pub action: &'a str,
    pub subject_type: Option<&'a str>,
    pub subject_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub before_json: Option<&'a str>,
    pub after_json: Option<&'a str>,
}

/// SHA-256 (hex) over the previous hash and every field, each length-prefixed so no two different
/// events can serialize alike; `None` and `Some("")` differ.
pub fn event_hash(prev_hash: &str, f: &ChainFields<'_>) -> String {
    let mut h = Sha256::new();
    let mut put = |v: Option<&str>| match v {
        None => h.update(b"-"),
        Some(s) => {
            h.update(s.len().to_string().as_bytes());
            h.update(b":");
            h.update(s.as_bytes());
        }
    };
    put(Some(prev_hash));
    put(Some(f.org_id));
    put(Some(&f.seq.to_string()));
    put(Some(f.id));
    put(Some(f.at));
    put(Some(f.actor_type));
    put(f.actor_id);
    put(f.actor_label);
    put(Some(f.action));
    put(f.subject_type);
    put(f.subject_id);
    put(f.ip);
    put(f.user_agent);
    put(f.request_id);
    put(f.before_json);
    put(f.after_json);
    to_hex(&h.finalize())
}

/// Lowercase hex of `bytes` (hashes, random tokens).
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_and_the_previous_hash_matter() {
        let base = ChainFields {
            org_id: "o",
            seq: 1,
            id: "i",
            at: "t",
            actor_type: "user",
            action: "a",
            ..Default::default()
        };
        let h = event_hash(GENESIS_HASH, &base);
        assert_eq!(h.len(), 64);
        assert_eq!(h, event_hash(GENESIS_HASH, &base.clone()), "deterministic");
        assert_ne!(h, event_hash("1", &base));
        assert_ne!(h, event_hash(GENESIS_HASH, &ChainFields { seq: 2, ..base.clone() }));
        assert_ne!(h, event_hash(GENESIS_HASH, &ChainFields { after_json: Some(""), ..base.clone() }));
        // Length prefixes: moving a character between adjacent fields changes the hash.
        let a = ChainFields { actor_id: Some("ab"), actor_label: Some("c"), ..base.clone() };
        let b = ChainFields { actor_id: Some("a"), actor_label: Some("bc"), ..base };
        assert_ne!(event_hash(GENESIS_HASH, &a), event_hash(GENESIS_HASH, &b));
    }
}
