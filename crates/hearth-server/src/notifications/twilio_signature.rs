//! Twilio's `X-Twilio-Signature`: base64(HMAC-SHA1(auth token, URL + every POST parameter's name and
//! value, sorted by name)). For JSON bodies the URL carries `bodySHA256` (hex SHA-256 of the raw body)
//! and no parameters are appended. The URL is the *public* one Twilio called (configured: a proxy
//! changes scheme, host and port). Like Twilio's own validators, the URL is tried with and without
//! the scheme's default port, because Twilio signs whichever form it was given.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

type HmacSha1 = Hmac<Sha1>;

/// The signature Twilio computes for a form POST to `url` with `params`.
pub fn compute(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    B64.encode(mac(auth_token, url, params).finalize().into_bytes())
}

/// Whether `signature` (the header's value) signs a form POST of `params` to `url`.
pub fn verify_form(auth_token: &str, url: &str, params: &[(String, String)], signature: &str) -> bool {
    let Ok(expected) = B64.decode(signature.trim()) else {
        return false;
    };
    url_variants(url).iter().any(|u| mac(auth_token, u, params).verify_slice(&expected).is_ok())
}

/// Whether `signature` signs a JSON POST of `body` to `url`: the URL's `bodySHA256` must be the hash
/// of the raw body, and the signature must cover the URL (with no parameters).
pub fn verify_json(auth_token: &str, url: &str, body: &[u8], signature: &str) -> bool {
    let Some(claimed) = query_param(url, "bodySHA256") else {
        return false;
    };
    let actual = hex(&Sha256::digest(body));
    // Not secret (it is in the URL), so a plain comparison is fine.
    claimed.eq_ignore_ascii_case(&actual) && verify_form(auth_token, url, &[], signature)
}

fn mac(auth_token: &str, url: &str, params: &[(String, String)]) -> HmacSha1 {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    let mut mac = HmacSha1::new_from_slice(auth_token.as_bytes()).expect("HMAC accepts any key length");
    mac.update(url.as_bytes());
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    // By name, then value (Twilio's libraries sort repeated names by value too).
    sorted.sort();
    sorted.dedup();
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// `url` as given, without its port, and with the scheme's default port.
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return out;
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host_end = if authority.starts_with('[') {
        authority.find(']').map_or(authority.len(), |i| i + 1)
    } else {
        authority.rfind(':').unwrap_or(authority.len())
    };
    let (host, port) = authority.split_at(host_end);
    if port.is_empty() {
        let default = if scheme.eq_ignore_ascii_case("https") { 443 } else { 80 };
        out.push(format!("{scheme}://{host}:{default}{tail}"));
    } else {
        out.push(format!("{scheme}://{host}{tail}"));
    }
    out
}

/// The first value of query parameter `name` in `url` (percent-decoded).
fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed by Twilio's own Python library (`RequestValidator`, twilio 9.13); MIT-licensed
    /// test data (see tests/fixtures/README.md).
    const VECTORS: &str = include_str!("../../tests/fixtures/twilio_signature_vectors.json");

    #[test]
    fn every_vector_of_twilios_library_agrees() {
        let doc: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
        let vectors = doc["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 9);
        let (mut valid, mut invalid) = (0, 0);
        for v in vectors {
            let token = v["auth_token"].as_str().unwrap();
            let url = v["url"].as_str().unwrap();
            let signature = v["signature"].as_str().unwrap();
            let expect = v["valid"].as_bool().unwrap();
            let ok = if let Some(body) = v["json_body"].as_str() {
                let ok = verify_json(token, url, body.as_bytes(), signature);
                if expect {
                    // The same request with a tampered body or hash fails.
                    assert!(!verify_json(token, url, format!("{body} ").as_bytes(), signature));
                    let other = url.replace("bodySHA256=0", "bodySHA256=1");
                    assert!(!verify_json(token, &other, body.as_bytes(), signature));
                    assert!(!verify_json("54321", url, body.as_bytes(), signature));
                }
                ok
            } else {
                let params: Vec<(String, String)> = v["params"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                    .collect();
                if expect {
                    assert_eq!(compute(token, url, &params), signature, "{url}");
                    assert!(!verify_form("wrong", url, &params, signature));
                    assert!(!verify_form(token, &format!("{url}x"), &params, signature));
                }
                verify_form(token, url, &params, signature)
            };
            assert_eq!(ok, expect, "vector for {url} (valid = {expect})");
            if expect { valid += 1 } else { invalid += 1 }
        }
        assert!(valid >= 5 && invalid >= 4, "{valid} valid, {invalid} tampered");
    }

    #[test]
    fn garbage_signatures_are_refused_without_panicking() {
        let p = vec![("A".to_owned(), "1".to_owned())];
        for sig in ["", "not base64!!", "AAAA", "==="] {
            assert!(!verify_form("t", "https://h/x", &p, sig));
        }
        assert!(!verify_json("t", "https://h/x", b"{}", "AAAA"), "no bodySHA256 in the URL");
    }

    #[test]
    fn the_default_port_may_be_present_or_absent() {
        let p = vec![("A".to_owned(), "1".to_owned())];
        let sig = compute("t", "https://h.example:443/hooks/twilio/status?x=1", &p);
        assert!(verify_form("t", "https://h.example/hooks/twilio/status?x=1", &p, &sig));
        let sig = compute("t", "https://h.example/hooks", &p);
        assert!(verify_form("t", "https://h.example:443/hooks", &p, &sig));
        assert_eq!(url_variants("http://[::1]:8080/a"), ["http://[::1]:8080/a", "http://[::1]/a"]);
    }
}
