//! `hearth admin create --org NAME --email E`: the first PX admin of an organization (created if it
//! does not exist). The password comes from stdin, or is generated and printed once.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use hearth_core::{OrgId, Role, TimeZoneName};
use hearth_store::organizations::NewOrganization;

use crate::app::{App, Deps, Roles};
use crate::auth::Actor;
use crate::config::Overrides;
use crate::staff::{self, CreateUserInput};

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The organization's name; created when no organization has it.
    #[arg(long)]
    pub org: String,
    /// The administrator's e-mail address (their sign-in name).
    #[arg(long)]
    pub email: String,
    /// Their display name [default: the part of the e-mail before @].
    #[arg(long)]
    pub name: Option<String>,
    /// The organization's IANA time zone, when it is created.
    #[arg(long, default_value = "UTC")]
    pub time_zone: String,
    /// Read the password from stdin (one line) instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

pub async fn create(overrides: &Overrides, args: CreateArgs) -> anyhow::Result<ExitCode> {
    let (config, _) = match super::load_config(overrides) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    crate::telemetry::init(&config.log)?;
    let zone = TimeZoneName::parse(&args.time_zone).map_err(|e| anyhow::anyhow!("--time-zone: {e}"))?;
    let password = if args.password_stdin {
        if std::io::stdin().is_terminal() {
            write!(std::io::stderr(), "Password (at least 12 characters): ")?;
        }
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Some(line.trim_end_matches(['\n', '\r']).to_owned())
    } else {
        None
    };
    let app = App::build(config, Deps::production(), Roles { web: false, workers: false }).await?;
    let state = app.state().clone();
    let now = state.clock.now();
    let name = args.org.trim();
    anyhow::ensure!(!name.is_empty(), "--org: expected the organization's name");
    let existing = state.store.list_organizations().await?.into_iter().find(|o| o.name == name);
    let org = if let Some(o) = existing {
        o.id
    } else {
        let id = OrgId::new();
        state.store.create_organization(&NewOrganization { id, name, time_zone: zone.as_str(), now }).await?;
        id
    };
    let display_name =
        args.name.unwrap_or_else(|| args.email.split('@').next().unwrap_or("admin").to_owned());
    let input = CreateUserInput {
        email: args.email,
        display_name,
        role: Role::PxAdmin,
        department_id: None,
        password,
    };
    let created = match staff::create(&state, &Actor::system(org, "cli: hearth admin create"), input).await {
        Ok(c) => c,
        Err(crate::error::AppError::Fields(f)) => {
            let mut err = std::io::stderr().lock();
            for e in f {
                writeln!(err, "hearth: {}: {}", e.field, e.message)?;
            }
            return Ok(ExitCode::from(2));
        }
        Err(e) => anyhow::bail!("{e}"),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "Created PX admin {} in organization {name} ({org}).", created.user.email)?;
    if let Some(p) = created.temporary_password {
        writeln!(out, "Temporary password (shown once; they must change it at first sign-in): {p}")?;
    }
    state.store.close().await;
    Ok(ExitCode::SUCCESS)
}
