//! `hearth config check` (every effective value and its origin, secrets masked) and
//! `hearth config example` (the commented example file, kept in `config/hearth.example.toml`).

use super::{Config, Sources};

/// The commented example configuration, every key with its default.
pub const EXAMPLE_TOML: &str = include_str!("../../../../config/hearth.example.toml");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub key: String,
    pub value: String,
    pub origin: String,
}

impl Config {
    /// Every key of the configuration with its effective value and where it came from.
    pub fn report(&self, sources: &Sources) -> Vec<ReportRow> {
        let json = serde_json::to_value(self).unwrap_or_default();
        let mut rows = Vec::new();
        flatten("", &json, &mut rows);
        for row in &mut rows {
            row.origin = sources.origin(&row.key);
            match row.key.as_str() {
                "database_url" => {
                    row.value = self.database_url_redacted();
                    if self.database_url.is_none() {
                        row.origin = "derived from data_dir".into();
                    }
                }
                "public_url" if self.public_url.is_none() => {
                    row.value = self.public_url();
                    row.origin = "derived from listen".into();
                }
                _ => {}
            }
        }
        rows
    }

    /// Dotted names of every configuration key.
    pub fn keys() -> Vec<String> {
        let mut rows = Vec::new();
        flatten("", &serde_json::to_value(Config::default()).unwrap_or_default(), &mut rows);
        rows.into_iter().map(|r| r.key).collect()
    }
}

fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<ReportRow>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        other => out.push(ReportRow {
            key: prefix.to_owned(),
            value: match other {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "(not set)".into(),
                v => v.to_string(),
            },
            origin: String::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_to_the_defaults_and_mentions_every_key() {
        let from_example: Config = toml::from_str(EXAMPLE_TOML).expect("config/hearth.example.toml parses");
        assert_eq!(
            serde_json::to_value(&from_example).unwrap(),
            serde_json::to_value(Config::default()).unwrap(),
            "the example's uncommented values must be the defaults"
        );
        for key in Config::keys() {
            let leaf = key.rsplit('.').next().unwrap();
            let section = key.rsplit_once('.').map(|(s, _)| format!("[{s}]"));
            let mentioned = EXAMPLE_TOML.lines().any(|l| {
                let l = l.trim_start_matches(['#', ' ']);
                l.starts_with(&format!("{leaf} =")) || l.starts_with(&format!("{leaf}="))
            });
            assert!(mentioned, "config/hearth.example.toml does not document `{key}`");
            if let Some(section) = section {
                assert!(
                    EXAMPLE_TOML.contains(&section),
                    "config/hearth.example.toml lacks the {section} section"
                );
            }
        }
    }

    #[test]
    fn docs_configuration_md_documents_every_key() {
        let doc = include_str!("../../../../docs/configuration.md");
        for key in Config::keys() {
            assert!(doc.contains(&format!("| `{key}` |")), "docs/configuration.md lacks a row for `{key}`");
        }
    }

    #[test]
    fn the_report_masks_secrets_and_covers_every_key() {
        let (mut config, sources) = super::super::load(&super::super::Overrides::default(), &[]).unwrap();
        config.database_url = Some(hearth_core::Secret::new("postgres://u:hunter2@db/h"));
        let rows = config.report(&sources);
        let keys: Vec<_> = rows.iter().map(|r| r.key.clone()).collect();
        assert_eq!(keys, Config::keys());
        let all = format!("{rows:?}");
        assert!(!all.contains("hunter2"), "{all}");
        assert!(rows.iter().all(|r| !r.origin.is_empty()));
    }
}
