//! Encryption keys: loading the keyring (from `encryption.keys`, else the keyring file, created with
//! one random key on first start), opening sealed values, and rotation (`hearth keys rotate`).

mod rotate;

use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use hearth_core::crypto::{self, Keyring, OpenError};

pub use rotate::{RotationReport, rotate};

use crate::config::Config;

/// Reads the keyring the configuration names, creating the keyring file if there is none.
pub fn load(config: &Config) -> anyhow::Result<Keyring> {
    if let Some(keys) = &config.encryption.keys {
        return Keyring::parse(keys.expose()).context("encryption.keys");
    }
    let path = config.keyring_file();
    if !path.exists() {
        create_file(&path, &Keyring::new_key_line("k1"))?;
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Keyring::parse(&text).with_context(|| format!("encryption.keyring_file {}", path.display()))
}

/// Appends a new key to the keyring file and returns its id; with `encryption.keys` set, the new key
/// must be added there by the operator instead.
pub fn add_key(config: &Config) -> anyhow::Result<Option<String>> {
    if config.encryption.keys.is_some() {
        return Ok(None);
    }
    let ring = load(config)?;
    let id = ring.next_key_id();
    let path = config.keyring_file();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .with_context(|| format!("{}", path.display()))?;
    writeln!(f, "{}", Keyring::new_key_line(&id))?;
    f.sync_all()?;
    Ok(Some(id))
}

fn create_file(path: &Path, first_line: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(
        f,
        "# Hearth's encryption keys: `<id> <base64>`, the last one encrypts. Back this file up with the\n\
         # database; without it encrypted fields cannot be read. Rotate with `hearth keys rotate`.\n{first_line}"
    )?;
    f.sync_all()?;
    tracing::info!(path = %path.display(), "created a new encryption keyring");
    Ok(())
}

/// The keyring of a running process. A value sealed with a key this process has not seen (another
/// process rotated) makes it read the keyring again once.
pub struct Keys {
    config: Config,
    ring: RwLock<Arc<Keyring>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("ring", &self.current()).finish()
    }
}

impl Keys {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        Ok(Self { config: config.clone(), ring: RwLock::new(Arc::new(load(config)?)) })
    }

    pub fn current(&self) -> Arc<Keyring> {
        self.ring.read().map_or_else(|p| p.into_inner().clone(), |r| r.clone())
    }

    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        self.current().seal(plaintext, context)
    }

    /// Opens a sealed value; a value that is not sealed (written before encryption) is returned as is.
    pub fn open(&self, value: &str, context: &str) -> Result<String, OpenError> {
        if !crypto::is_sealed(value) {
            return Ok(value.to_owned());
        }
        match self.current().open(value, context) {
            Err(OpenError::UnknownKey(_)) => {
                if let Ok(fresh) = load(&self.config) {
                    let fresh = Arc::new(fresh);
                    if let Ok(mut w) = self.ring.write() {
                        *w = fresh.clone();
                    }
                    return fresh.open(value, context);
                }
                self.current().open(value, context)
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_config(dir: &Path) -> Config {
        Config { data_dir: dir.to_path_buf(), ..Config::default() }
    }

    #[test]
    fn the_keyring_file_is_created_private_and_a_rotated_key_is_picked_up() {
        let dir = tempfile::tempdir().unwrap();
        let config = file_config(dir.path());
        let keys = Keys::new(&config).unwrap();
        let path = dir.path().join("keyring");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let old = keys.seal("JBSWY3DPEHPK3PXP", "user:x:totp");
        // Another process rotates: a new key in the file, a value sealed with it.
        assert_eq!(add_key(&config).unwrap().as_deref(), Some("k2"));
        let fresh = load(&config).unwrap().seal("123-45-6789", "ctx");
        assert_eq!(crypto::key_id(&fresh), Some("k2"));
        assert_eq!(keys.open(&fresh, "ctx").unwrap(), "123-45-6789", "re-read the keyring once");
        assert_eq!(keys.open(&old, "user:x:totp").unwrap(), "JBSWY3DPEHPK3PXP");
        assert_eq!(keys.open("plain", "ctx").unwrap(), "plain", "values from before encryption");
        assert_eq!(keys.current().active_id(), "k2");
    }

    #[test]
    fn configured_keys_are_not_written_anywhere() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = file_config(dir.path());
        config.encryption.keys =
            Some(hearth_core::Secret::new(Keyring::new_key_line("main").replacen(' ', ":", 1)));
        assert_eq!(load(&config).unwrap().active_id(), "main");
        assert_eq!(add_key(&config).unwrap(), None);
        assert!(!dir.path().join("keyring").exists());
        config.encryption.keys = Some(hearth_core::Secret::new("main:not-base64"));
        let err = format!("{:#}", load(&config).unwrap_err());
        assert!(err.contains("encryption.keys") && !err.contains("not-base64"), "{err}");
    }
}
