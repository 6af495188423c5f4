//! The sandbox user templates run in: a minijinja `Environment` of its own with no loader (no
//! `include`, `import` or `extends`), no globals or functions, a fuel budget and a recursion limit,
//! strict undefined variables, no auto-escaping (messages are plain text) and a short list of filters:
//! `upper`, `lower`, `title`, `capitalize`, `trim`, and `date`, `longdate`, `time` that print an
//! RFC 3339 time in the location's zone and the message's language.

use std::collections::{BTreeMap, BTreeSet};

use hearth_core::messaging::{Language, Purpose};
use jiff::tz::TimeZone;
use minijinja::{Environment, ErrorKind, UndefinedBehavior};

/// Instructions a render may run (minijinja's fuel, about 64 bytes each).
const FUEL: u64 = 20_000;
/// How deeply blocks may nest.
const RECURSION_LIMIT: usize = 16;

/// Why a template could not be used; `field` is `body` or `subject`, or `variables.<name>` for a
/// value the caller did not supply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub field: String,
    pub message: String,
}

impl TemplateError {
    fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_owned(), message: message.into() }
    }
}

/// The sandboxed environment for one language and time zone (the date filters need both).
pub fn environment(language: &Language, zone: &TimeZone) -> Environment<'static> {
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_filter("upper", minijinja::filters::upper);
    env.add_filter("lower", minijinja::filters::lower);
    env.add_filter("title", minijinja::filters::title);
    env.add_filter("capitalize", minijinja::filters::capitalize);
    env.add_filter("trim", minijinja::filters::trim);
    for style in [Style::Date, Style::LongDate, Style::Time] {
        let (lang, zone) = (language.primary().to_owned(), zone.clone());
        env.add_filter(style.name(), move |v: String| format_time(&v, style, &lang, &zone));
    }
    env
}

/// The filters a template may use, for documentation and error messages.
pub const FILTERS: &[&str] = &["upper", "lower", "title", "capitalize", "trim", "date", "longdate", "time"];

/// Checks `source` (the `field` of a template for `purpose`): it parses, and every variable it uses
/// is one the purpose documents.
pub fn check(
    env: &Environment<'_>,
    purpose: Purpose,
    field: &str,
    source: &str,
) -> Result<(), TemplateError> {
    let tmpl = env.template_from_str(source).map_err(|e| describe(field, &e))?;
    let mut unknown: Vec<String> =
        tmpl.undeclared_variables(false).into_iter().filter(|v| purpose.variable(v).is_none()).collect();
    if !unknown.is_empty() {
        unknown.sort();
        let known: Vec<&str> = purpose.variables().iter().map(|v| v.name).collect();
        let named = unknown.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ");
        return Err(TemplateError::new(
            field,
            format!(
                "unknown variable {named}: a {} message may use {}",
                purpose.as_str(),
                known.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    Ok(())
}

/// Renders `source` with `vars`. A variable the template uses but `vars` lacks is an error naming
/// it (strict mode), as is a template that runs out of fuel.
pub fn render(
    env: &Environment<'_>,
    field: &str,
    source: &str,
    vars: &BTreeMap<String, String>,
    plain_text: bool,
) -> Result<String, TemplateError> {
    let tmpl = env.template_from_str(source).map_err(|e| describe(field, &e))?;
    let used: BTreeSet<String> = tmpl.undeclared_variables(false).into_iter().collect();
    let missing: Vec<String> = used.iter().filter(|v| !vars.contains_key(*v)).cloned().collect();
    if let Some(first) = missing.first() {
        let names = missing.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", ");
        return Err(TemplateError::new(
            &format!("variables.{first}"),
            format!("the template uses {names}, which was not supplied"),
        ));
    }
    let out = tmpl.render(minijinja::Value::from(vars.clone())).map_err(|e| describe(field, &e))?;
    Ok(tidy(&out, plain_text))
}

/// Trims the text; for SMS, WhatsApp and voice also collapses runs of spaces a left-out detail can
/// leave and trailing spaces on each line.
fn tidy(text: &str, plain_text: bool) -> String {
    if !plain_text {
        return text.trim().to_owned();
    }
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.trim().lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut prev_space = false;
        for c in line.trim_end().chars() {
            if c == ' ' && prev_space {
                continue;
            }
            prev_space = c == ' ';
            out.push(c);
        }
    }
    out
}

/// A minijinja error in words: what went wrong and on which line.
fn describe(field: &str, e: &minijinja::Error) -> TemplateError {
    let detail = e.detail().map_or_else(|| e.kind().to_string(), str::to_owned);
    let line = e.line().map(|l| format!(" on line {l}")).unwrap_or_default();
    let message = match e.kind() {
        ErrorKind::SyntaxError => format!("syntax error{line}: {detail}"),
        ErrorKind::UnknownFilter => {
            format!("{detail}{line}; the filters are {}", FILTERS.join(", "))
        }
        ErrorKind::OutOfFuel => {
            "the template does too much work (a loop that runs too long?); keep it simple".to_owned()
        }
        ErrorKind::UndefinedError => format!("a variable or attribute is not defined{line}: {detail}"),
        _ => format!("{}{line}: {detail}", e.kind()),
    };
    TemplateError::new(field, message)
}

#[derive(Debug, Clone, Copy)]
enum Style {
    Date,
    LongDate,
    Time,
}

impl Style {
    fn name(self) -> &'static str {
        match self {
            Style::Date => "date",
            Style::LongDate => "longdate",
            Style::Time => "time",
        }
    }
}

const EN_DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const ES_DAYS: [&str; 7] = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"];
const ES_MONTHS: [&str; 12] = [
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
];
const AR_DAYS: [&str; 7] = ["الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"];
const AR_MONTHS: [&str; 12] = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
];

/// Formats an RFC 3339 time in `zone` for `lang` (`en`, `es`, `ar`; others get English).
/// `date` is short and, in Spanish, has no weekday so SMS stays in GSM-7 (`sábado` would not).
fn format_time(raw: &str, style: Style, lang: &str, zone: &TimeZone) -> Result<String, minijinja::Error> {
    let ts: jiff::Timestamp = raw.trim().parse().map_err(|_| {
        minijinja::Error::new(
            ErrorKind::InvalidOperation,
            format!("`{}` expects an RFC 3339 time such as 2026-03-10T15:30:00Z, got `{raw}`", style.name()),
        )
    })?;
    let local = ts.to_zoned(zone.clone());
    let day = usize::from(local.weekday().to_monday_zero_offset().unsigned_abs());
    let month = usize::from((local.month() - 1).unsigned_abs());
    let (dd, year) = (local.day(), local.year());
    let (hour, minute) = (local.hour(), local.minute());
    let h12 = match hour % 12 {
        0 => 12,
        n => n,
    };
    Ok(match (lang, style) {
        ("es", Style::Date) => format!("{dd} de {}", ES_MONTHS[month]),
        ("es", Style::LongDate) => format!("{} {dd} de {} de {year}", ES_DAYS[day], ES_MONTHS[month]),
        ("es", Style::Time) => format!("{hour}:{minute:02}"),
        ("ar", Style::Date) => format!("{} {dd} {}", AR_DAYS[day], AR_MONTHS[month]),
        ("ar", Style::LongDate) => format!("{} {dd} {} {year}", AR_DAYS[day], AR_MONTHS[month]),
        ("ar", Style::Time) => format!("{h12}:{minute:02} {}", if hour < 12 { "صباحاً" } else { "مساءً" }),
        (_, Style::Date) => format!("{}, {} {dd}", &EN_DAYS[day][..3], &EN_MONTHS[month][..3]),
        (_, Style::LongDate) => format!("{}, {} {dd}, {year}", EN_DAYS[day], EN_MONTHS[month]),
        (_, Style::Time) => format!("{h12}:{minute:02} {}", if hour < 12 { "AM" } else { "PM" }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(lang: &str) -> Environment<'static> {
        environment(&Language::parse(lang).unwrap(), &TimeZone::get("America/Chicago").unwrap())
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn dates_are_local_and_localized() {
        let v = vars(&[("appointment_start", "2026-03-10T15:30:00Z")]);
        let src =
            "{{ appointment_start|date }} / {{ appointment_start|longdate }} / {{ appointment_start|time }}";
        assert_eq!(
            render(&env("en"), "body", src, &v, true).unwrap(),
            "Tue, Mar 10 / Tuesday, March 10, 2026 / 10:30 AM"
        );
        assert_eq!(
            render(&env("es-MX"), "body", src, &v, true).unwrap(),
            "10 de marzo / martes 10 de marzo de 2026 / 10:30"
        );
        assert_eq!(
            render(&env("ar"), "body", src, &v, true).unwrap(),
            "الثلاثاء 10 مارس / الثلاثاء 10 مارس 2026 / 10:30 صباحاً"
        );
        let err = render(&env("en"), "body", "{{ x|date }}", &vars(&[("x", "tomorrow")]), true).unwrap_err();
        assert!(err.message.contains("RFC 3339") && err.message.contains("tomorrow"), "{err:?}");
    }

    #[test]
    fn unknown_variables_are_named_on_save_and_missing_ones_on_render() {
        let e = env("en");
        let err =
            check(&e, Purpose::Help, "body", "Hi {{ patient_first_name }} from {{ organization_name }}")
                .unwrap_err();
        assert_eq!(err.field, "body");
        assert!(err.message.starts_with("unknown variable `patient_first_name`"), "{}", err.message);
        check(&e, Purpose::Help, "body", "{{ organization_name|upper }}: call {{ support_phone }}").unwrap();

        let err = render(&e, "body", "Call {{ support_phone }}", &vars(&[]), true).unwrap_err();
        assert_eq!(err.field, "variables.support_phone");
    }

    #[test]
    fn syntax_errors_name_the_line_and_the_sandbox_holds() {
        let e = env("en");
        let err = check(&e, Purpose::Help, "body", "line one\n{% if organization_name %}no end").unwrap_err();
        assert!(err.message.starts_with("syntax error on line 2"), "{}", err.message);
        for escape in [
            "{% include 'x' %}",
            "{% import 'x' as y %}",
            "{% extends 'x' %}",
            "{% macro m() %}{% endmacro %}",
        ] {
            assert!(check(&e, Purpose::Help, "body", escape).is_err(), "{escape}");
        }
        assert!(check(&e, Purpose::Help, "body", "{{ range(10) }}").unwrap_err().message.contains("`range`"));
        let err =
            render(&e, "body", "{{ organization_name|tojson }}", &vars(&[("organization_name", "x")]), true)
                .unwrap_err();
        assert!(err.message.contains("upper, lower"), "{}", err.message);
        let bomb = "{% for a in organization_name %}{% for b in organization_name %}{% for c in organization_name %}\
                    {% for d in organization_name %}{% for e in organization_name %}x\
                    {% endfor %}{% endfor %}{% endfor %}{% endfor %}{% endfor %}";
        let err = render(&e, "body", bomb, &vars(&[("organization_name", "abcdefghij")]), true).unwrap_err();
        assert!(err.message.contains("too much work"), "{}", err.message);
    }

    #[test]
    fn plain_text_is_not_escaped_and_is_tidied() {
        let v = vars(&[("organization_name", "Smith & Sons <Clinic>"), ("practitioner_name", "")]);
        let out = render(
            &env("en"),
            "body",
            "  {{ organization_name }}: see you {% if practitioner_name %}with {{ practitioner_name }}{% endif %} soon.  \n",
            &v,
            true,
        )
        .unwrap();
        assert_eq!(out, "Smith & Sons <Clinic>: see you soon.");
    }
}
