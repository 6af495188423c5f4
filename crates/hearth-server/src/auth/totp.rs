//! TOTP (RFC 6238) second factor: enrolment with an otpauth:// QR code as SVG, verification against
//! the Clock with a ±1 step window and replay protection, and one-time recovery codes.

use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::secrets::{random_readable, sha256_hex};

const ISSUER: &str = "Hearth";
const STEP_SECS: u64 = 30;
pub const RECOVERY_CODES: usize = 10;

/// Where a user's sealed TOTP secret belongs (its encryption context).
pub fn secret_context(org: hearth_core::OrgId, user: hearth_core::UserId) -> String {
    format!("user:{org}:{user}:totp")
}

/// A user's TOTP secret as stored (sealed), opened; None if there is none or it does not open.
pub fn stored_secret(app: &crate::state::AppState, user: &hearth_store::users::UserRow) -> Option<String> {
    let stored = user.totp_secret.as_deref()?;
    match app.keys.open(stored, &secret_context(user.org_id, user.id)) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!(user_id = %user.id, error = %e, "a TOTP secret does not open");
            None
        }
    }
}

/// A fresh base32 secret.
pub fn new_secret() -> String {
    let bytes: [u8; 20] = rand::random();
    Secret::from(bytes).to_base32()
}

fn totp(secret_b32: &str, account: &str) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret_b32).ok()?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(0)
        .with_step_duration(STEP_SECS)
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .ok()
}

/// The otpauth:// URL authenticator apps read.
pub fn otpauth_url(secret_b32: &str, account: &str) -> Option<String> {
    totp(secret_b32, account).and_then(|t| t.to_url().ok())
}

/// The QR code of the otpauth URL as an inline SVG.
pub fn qr_svg(url: &str) -> Option<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).ok()?;
    Some(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(220, 220).quiet_zone(true).build())
}

/// The step at which `code` is valid within one step of `unix_secs`, if any. The caller must then
/// record the step so the same code cannot be used twice.
pub fn matching_step(secret_b32: &str, account: &str, code: &str, unix_secs: u64) -> Option<i64> {
    let code: String = code.chars().filter(char::is_ascii_digit).collect();
    if code.len() != 6 {
        return None;
    }
    let t = totp(secret_b32, account)?;
    let now_step = unix_secs / STEP_SECS;
    [now_step.saturating_sub(1), now_step, now_step + 1]
        .into_iter()
        .find(|step| t.generate(step * STEP_SECS).to_string() == code)
        .and_then(|step| i64::try_from(step).ok())
}

/// The code an authenticator shows at `unix_secs` (for tests and the simulator).
pub fn code_at(secret_b32: &str, account: &str, unix_secs: u64) -> Option<String> {
    totp(secret_b32, account).map(|t| t.generate(unix_secs).to_string())
}

/// New recovery codes (shown once) and the hashes to store.
pub fn new_recovery_codes() -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> =
        (0..RECOVERY_CODES).map(|_| format!("{}-{}", random_readable(5), random_readable(5))).collect();
    let hashes = codes.iter().map(|c| recovery_code_hash(c)).collect();
    (codes, hashes)
}

/// Recovery codes are compared ignoring case, spaces and dashes.
pub fn recovery_code_hash(code: &str) -> String {
    let normal: String =
        code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    sha256_hex(&format!("recovery:{normal}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_within_one_step_only() {
        let secret = new_secret();
        let t0 = 1_767_690_000; // 2026-01-06
        let code = code_at(&secret, "a@b.c", t0).unwrap();
        let step = i64::try_from(t0 / 30).unwrap();
        assert_eq!(matching_step(&secret, "a@b.c", &code, t0), Some(step));
        assert_eq!(matching_step(&secret, "a@b.c", &code, t0 + 30), Some(step), "one step late is accepted");
        assert_eq!(matching_step(&secret, "a@b.c", &code, t0 + 90), None, "three steps late is not");
        assert_eq!(matching_step(&secret, "a@b.c", "12345", t0), None);
        assert_eq!(matching_step(&new_secret(), "a@b.c", &code, t0), None, "another secret");
    }

    #[test]
    fn the_enrolment_qr_code_is_an_svg_of_the_otpauth_url() {
        let url = otpauth_url(&new_secret(), "dana@clinic.org").unwrap();
        assert!(url.starts_with("otpauth://totp/Hearth:dana%40clinic.org?secret="), "{url}");
        let svg = qr_svg(&url).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
    }

    #[test]
    fn recovery_codes_are_unique_and_compared_loosely() {
        let (codes, hashes) = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(hashes.iter().collect::<std::collections::HashSet<_>>().len(), RECOVERY_CODES);
        let loose = codes[0].to_uppercase().replace('-', " ");
        assert_eq!(recovery_code_hash(&loose), hashes[0]);
    }
}
