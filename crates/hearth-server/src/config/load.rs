//! Building a [`Config`] from its layers, and explaining where each value came from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::Serialize;

use super::Config;

/// Values given on the command line; they win over every other layer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip)]
    pub config_path: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
}

/// Everything that went into a configuration, kept so `hearth config check` can say where each value
/// came from.
pub struct Sources {
    figment: Figment,
    pub config_file: PathBuf,
    pub config_file_found: bool,
}

/// Refused configuration: one line per problem, each naming the key.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct ConfigError(pub Vec<String>);

const ENV_PREFIX: &str = "HEARTH_";
const DEFAULT_FILE: &str = "hearth.toml";

/// Layers defaults < TOML file < `HEARTH_*` environment and `HEARTH_*_FILE` secrets < flags.
///
/// `env` is the process environment (passed in so tests need not mutate the real one). Variables that
/// are not configuration keys are ignored: `HEARTH_CONFIG` (the file's path) and `HEARTH_TEST_*`.
pub fn load(overrides: &Overrides, env: &[(String, String)]) -> Result<(Config, Sources), ConfigError> {
    let env_path = env.iter().find(|(k, _)| k == "HEARTH_CONFIG").map(|(_, v)| PathBuf::from(v));
    let explicit = overrides.config_path.clone().or(env_path);
    let config_file = explicit.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
    let config_file_found = config_file.is_file();
    if explicit.is_some() && !config_file_found {
        return Err(ConfigError(vec![format!("config file {} does not exist", config_file.display())]));
    }

    let mut figment = Figment::new().merge(Named {
        name: "default",
        interpolate: Interpolate::Key,
        inner: Serialized::defaults(Config::default()),
    });
    if config_file_found {
        figment = figment.merge(Toml::file_exact(&config_file));
    }
    let figment = figment.merge(EnvLayer::variables(env)).merge(EnvLayer::secret_files(env)?).merge(Named {
        name: "flag",
        interpolate: Interpolate::Flag,
        inner: Serialized::defaults(overrides),
    });

    let config: Config = figment.extract().map_err(|e| ConfigError(describe_errors(&figment, e)))?;
    let problems = config.validate();
    if !problems.is_empty() {
        return Err(ConfigError(problems));
    }
    Ok((config, Sources { figment, config_file, config_file_found }))
}

impl Sources {
    /// Where the value at `key` (dotted path) came from: `default`, a file, a variable or a flag.
    pub fn origin(&self, key: &str) -> String {
        let keys: Vec<&str> = key.split('.').collect();
        match self.figment.find_metadata(key) {
            Some(md) => describe_source(md, &keys),
            None => "not set".into(),
        }
    }
}

fn describe_source(md: &Metadata, keys: &[&str]) -> String {
    match &md.source {
        Some(figment::Source::File(path)) => format!("file {}", path.display()),
        _ => md.interpolate(&Profile::Default, keys),
    }
}

fn describe_errors(figment: &Figment, errors: figment::Error) -> Vec<String> {
    errors
        .into_iter()
        .map(|e| {
            let mut keys: Vec<String> = e.path.clone();
            let text = match &e.kind {
                figment::error::Kind::UnknownField(field, expected) => {
                    // figment's path usually ends with the field already.
                    if keys.last() != Some(field) {
                        keys.push(field.clone());
                    }
                    let suggestion = closest(field, expected).map_or_else(
                        || format!("; valid keys here: {}", expected.join(", ")),
                        |s| format!("; did you mean `{}`?", join_key(&keys[..keys.len() - 1], s)),
                    );
                    format!("unknown configuration key `{}`{suggestion}", keys.join("."))
                }
                other => format!(
                    "{}: {other}",
                    if keys.is_empty() { "configuration".into() } else { keys.join(".") }
                ),
            };
            let md = e.metadata.as_ref().or_else(|| figment.find_metadata(&keys.join(".")));
            match md {
                Some(md) => {
                    let k: Vec<&str> = keys.iter().map(String::as_str).collect();
                    format!("{text} (from {})", describe_source(md, &k))
                }
                None => text,
            }
        })
        .collect()
}

fn join_key(parents: &[String], leaf: &str) -> String {
    parents.iter().map(String::as_str).chain([leaf]).collect::<Vec<_>>().join(".")
}

/// The valid key most like `field`, if any is close enough to be a plausible typo.
fn closest<'a>(field: &str, expected: &[&'a str]) -> Option<&'a str> {
    expected
        .iter()
        .map(|cand| (strsim::jaro_winkler(field, cand), *cand))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, cand)| cand)
}

/// How a layer names a key when explaining provenance.
#[derive(Clone, Copy)]
enum Interpolate {
    Key,
    Flag,
}

/// A provider with a fixed, human name ("default", "flag").
struct Named<P> {
    name: &'static str,
    interpolate: Interpolate,
    inner: P,
}

impl<P: Provider> Provider for Named<P> {
    fn metadata(&self) -> Metadata {
        let md = Metadata::named(self.name);
        match self.interpolate {
            Interpolate::Key => md.interpolater(|_: &Profile, _: &[&str]| "default".to_owned()),
            Interpolate::Flag => md.interpolater(|_: &Profile, keys: &[&str]| {
                format!("flag --{}", keys.join("-").replace('_', "-"))
            }),
        }
    }
    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        self.inner.data()
    }
}

/// `HEARTH_*` variables (`__` separates sections: `HEARTH_LOG__LEVEL` is `log.level`), or the
/// contents of files named by `HEARTH_*_FILE` (for secrets mounted by an orchestrator).
struct EnvLayer {
    entries: Vec<(String, Value)>,
    secret_files: bool,
}

impl EnvLayer {
    fn config_keys(env: &[(String, String)]) -> impl Iterator<Item = (String, &str)> {
        env.iter().filter_map(|(k, v)| {
            let rest = k.strip_prefix(ENV_PREFIX)?;
            let key = rest.to_ascii_lowercase();
            (key != "config" && !key.starts_with("test_") && !key.is_empty()).then_some((key, v.as_str()))
        })
    }

    fn variables(env: &[(String, String)]) -> Self {
        let entries = Self::config_keys(env)
            .filter(|(k, _)| !k.ends_with("_file"))
            .map(|(k, v)| (k.replace("__", "."), v.parse::<Value>().unwrap_or_else(|e| match e {})))
            .collect();
        Self { entries, secret_files: false }
    }

    fn secret_files(env: &[(String, String)]) -> Result<Self, ConfigError> {
        let mut entries = Vec::new();
        let mut errors = Vec::new();
        for (k, path) in Self::config_keys(env) {
            let Some(key) = k.strip_suffix("_file") else {
                continue;
            };
            match std::fs::read_to_string(Path::new(path)) {
                // A trailing newline is an artefact of how the file was written, not part of the secret.
                Ok(s) => entries
                    .push((key.replace("__", "."), Value::from(s.trim_end_matches(['\n', '\r']).to_owned()))),
                Err(e) => errors.push(format!("HEARTH_{}: cannot read {path}: {e}", k.to_ascii_uppercase())),
            }
        }
        if errors.is_empty() { Ok(Self { entries, secret_files: true }) } else { Err(ConfigError(errors)) }
    }
}

impl Provider for EnvLayer {
    fn metadata(&self) -> Metadata {
        let suffix = if self.secret_files { "_FILE" } else { "" };
        let name = if self.secret_files { "secret file" } else { "environment" };
        Metadata::named(name).interpolater(move |_: &Profile, keys: &[&str]| {
            format!("{ENV_PREFIX}{}{suffix}", keys.join("__").to_ascii_uppercase())
        })
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut dict = Dict::new();
        for (key, value) in &self.entries {
            let nested = figment::util::nest(key, value.clone()).into_dict().unwrap_or_default();
            dict = merge_dicts(dict, nested);
        }
        Ok(Profile::Default.collect(dict))
    }
}

fn merge_dicts(mut into: Dict, from: Dict) -> Dict {
    for (key, value) in from {
        match (into.remove(&key), value) {
            (Some(Value::Dict(tag, old)), Value::Dict(_, new)) => {
                into.insert(key, Value::Dict(tag, merge_dicts(old, new)));
            }
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
    into
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_apply_with_nothing_configured() {
        let (c, sources) = load(&Overrides::default(), &[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url().expose(), "sqlite://./hearth-data/hearth.db");
        assert_eq!(sources.origin("listen"), "default");
    }

    #[test]
    fn an_unknown_hearth_variable_is_refused_by_name() {
        let msg =
            load(&Overrides::default(), &env(&[("HEARTH_LISTNE", "127.0.0.1:1")])).err().unwrap().to_string();
        assert!(msg.contains("`listne`") && msg.contains("did you mean `listen`"), "{msg}");
    }

    #[test]
    fn layers_apply_in_order_and_report_their_origin() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hearth.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/from/file\"\n[log]\nlevel = \"debug\"\n",
        )
        .unwrap();
        let secret = dir.path().join("db_url");
        std::fs::write(&secret, "postgres://hearth:pw@db/hearth\n").unwrap();
        let o = Overrides {
            config_path: Some(file.clone()),
            listen: Some("127.0.0.1:9100".parse().unwrap()),
            data_dir: None,
        };
        let e = env(&[
            ("HEARTH_DATA_DIR", "/from/env"),
            ("HEARTH_LOG__FORMAT", "pretty"),
            ("HEARTH_DATABASE_URL_FILE", secret.to_str().unwrap()),
            ("HEARTH_TEST_POSTGRES_URL", "ignored"),
            ("PATH", "/usr/bin"),
        ]);
        let (c, s) = load(&o, &e).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(s.origin("listen"), "flag --listen");
        assert_eq!(c.data_dir, PathBuf::from("/from/env"));
        assert_eq!(s.origin("data_dir"), "HEARTH_DATA_DIR");
        assert_eq!(c.log.level, "debug");
        assert_eq!(s.origin("log.level"), format!("file {}", file.display()));
        assert_eq!(c.log.format, super::super::LogFormat::Pretty);
        assert_eq!(s.origin("log.format"), "HEARTH_LOG__FORMAT");
        assert_eq!(c.database_url().expose(), "postgres://hearth:pw@db/hearth");
        assert_eq!(s.origin("database_url"), "HEARTH_DATABASE_URL_FILE");
        assert_eq!(c.database_url_redacted(), "postgres://hearth:***@db/hearth");
    }

    #[test]
    fn a_typo_in_the_environment_names_the_key_and_the_closest_one() {
        let err =
            load(&Overrides::default(), &env(&[("HEARTH_DATABSE_URL", "sqlite://x.db")])).err().unwrap();
        let msg = err.to_string();
        assert!(msg.contains("`databse_url`"), "{msg}");
        assert!(msg.contains("did you mean `database_url`"), "{msg}");
        assert!(msg.contains("HEARTH_DATABSE_URL"), "{msg}");
    }

    #[test]
    fn a_typo_in_a_file_section_names_the_full_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("h.toml");
        std::fs::write(&file, "[log]\nlevle = \"debug\"\n").unwrap();
        let o = Overrides { config_path: Some(file), ..Overrides::default() };
        let msg = load(&o, &[]).err().unwrap().to_string();
        assert!(msg.contains("`log.levle`") && msg.contains("did you mean `log.level`"), "{msg}");
        assert!(msg.contains("h.toml"), "{msg}");
    }

    #[test]
    fn wrong_types_and_invalid_values_name_the_key() {
        let msg = load(&Overrides::default(), &env(&[("HEARTH_LISTEN", "not-an-address")]))
            .err()
            .unwrap()
            .to_string();
        assert!(msg.starts_with("listen:"), "{msg}");
        let msg = load(&Overrides::default(), &env(&[("HEARTH_DATABASE_URL", "mysql://x")]))
            .err()
            .unwrap()
            .to_string();
        assert!(msg.contains("database_url: expected"), "{msg}");
        let msg =
            load(&Overrides::default(), &env(&[("HEARTH_LOG__FORMAT", "xml")])).err().unwrap().to_string();
        assert!(msg.contains("log.format"), "{msg}");
    }

    #[test]
    fn a_missing_explicit_config_file_or_secret_file_is_an_error() {
        let o = Overrides { config_path: Some("/nonexistent/hearth.toml".into()), ..Overrides::default() };
        assert!(load(&o, &[]).err().unwrap().to_string().contains("does not exist"));
        let msg = load(&Overrides::default(), &env(&[("HEARTH_DATABASE_URL_FILE", "/nonexistent/secret")]))
            .err()
            .unwrap()
            .to_string();
        assert!(msg.contains("HEARTH_DATABASE_URL_FILE") && msg.contains("/nonexistent/secret"), "{msg}");
    }

    #[test]
    fn suggestions_only_for_plausible_typos() {
        assert_eq!(closest("databse_url", &["database_url", "listen"]), Some("database_url"));
        assert_eq!(closest("zzz", &["database_url", "listen"]), None);
    }
}
