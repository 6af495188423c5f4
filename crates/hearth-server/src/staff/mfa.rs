//! Enrolling in and leaving TOTP two-step sign-in.

use hearth_core::ErrorCode;

use crate::audit;
use crate::auth::{Actor, ActorKind, totp};
use crate::error::AppError;
use crate::state::AppState;

/// What the enrolment page shows: the secret (for manual entry), its otpauth URL and QR code.
pub struct Enrolment {
    pub secret: String,
    pub url: String,
    pub qr_svg: String,
}

fn user_of(actor: &Actor) -> Result<(hearth_core::UserId, String), AppError> {
    match &actor.kind {
        ActorKind::User { id, email, .. } => Ok((*id, email.clone())),
        _ => Err(AppError::code(ErrorCode::Forbidden)),
    }
}

/// Stores a new secret (not yet enabled) and returns what to show.
pub async fn start_enrolment(app: &AppState, actor: &Actor) -> Result<Enrolment, AppError> {
    let (id, email) = user_of(actor)?;
    let user = app.store.user(actor.org, id).await?;
    if user.totp_enabled {
        return Err(AppError::with_message(ErrorCode::Conflict, "two-step sign-in is already on"));
    }
    let secret = totp::new_secret();
    let url = totp::otpauth_url(&secret, &email).ok_or_else(|| anyhow::anyhow!("totp url"))?;
    let qr_svg = totp::qr_svg(&url).ok_or_else(|| anyhow::anyhow!("qr code"))?;
    let now = app.wall_clock.now();
    let mut tx = app.store.begin().await?;
    let sealed = app.keys.seal(&secret, &totp::secret_context(actor.org, id));
    tx.set_totp(actor.org, id, Some(&sealed), false, now).await?;
    tx.commit().await?;
    Ok(Enrolment { secret, url, qr_svg })
}

/// Turns TOTP on once the user proves their app shows the right code; returns the recovery codes
/// (shown once).
pub async fn confirm_enrolment(app: &AppState, actor: &Actor, code: &str) -> Result<Vec<String>, AppError> {
    let (id, email) = user_of(actor)?;
    let user = app.store.user(actor.org, id).await?;
    let Some(secret) = totp::stored_secret(app, &user).filter(|_| !user.totp_enabled) else {
        return Err(AppError::with_message(ErrorCode::Conflict, "start the set-up again"));
    };
    let now = app.wall_clock.now();
    let step = totp::matching_step(&secret, &email, code, u64::try_from(now.unix_seconds()).unwrap_or(0));
    let Some(step) = step else {
        return Err(AppError::field(
            "code",
            "that code is not the one your app shows now; check the time on your phone",
        ));
    };
    if !app.store.advance_totp_step(id, step).await? {
        return Err(AppError::field("code", "that code was already used; wait for the next one"));
    }
    let (codes, hashes) = totp::new_recovery_codes();
    let mut tx = app.store.begin().await?;
    tx.set_totp(actor.org, id, Some(&secret), true, now).await?;
    tx.replace_recovery_codes(actor.org, id, &hashes).await?;
    audit::record(&mut tx, now, actor, "user.mfa_enabled", Some(("user", id.to_string())), None, None)
        .await?;
    tx.commit().await?;
    Ok(codes)
}

pub async fn disable_mfa(app: &AppState, actor: &Actor) -> Result<(), AppError> {
    let (id, _) = user_of(actor)?;
    let now = app.wall_clock.now();
    let mut tx = app.store.begin().await?;
    tx.set_totp(actor.org, id, None, false, now).await?;
    tx.replace_recovery_codes(actor.org, id, &[]).await?;
    audit::record(&mut tx, now, actor, "user.mfa_disabled", Some(("user", id.to_string())), None, None)
        .await?;
    tx.commit().await?;
    Ok(())
}
