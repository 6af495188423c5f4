//! Medical record numbers from a pattern such as `MRN-{year}{seq:6}`: `{year}` is the four-digit year
//! of creation, `{seq:N}` the organization's counter for that year, zero-padded to N digits
//! (`{seq}` unpadded).

/// Checks a pattern when the configuration loads.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if !pattern.contains("{seq") {
        return Err(format!("`{pattern}` has no {{seq}} or {{seq:N}}: numbers would repeat"));
    }
    render(pattern, 2026, 1).map(|_| ())
}

pub fn render(pattern: &str, year: i16, seq: i64) -> Result<String, String> {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or_else(|| format!("unclosed {{ in `{pattern}`"))? + start;
        let token = &rest[start + 1..end];
        match token.split_once(':') {
            None if token == "year" => out.push_str(&year.to_string()),
            None if token == "seq" => out.push_str(&seq.to_string()),
            Some(("seq", width)) => {
                let w: usize =
                    width.parse().map_err(|_| format!("`{{{token}}}`: the width must be a number"))?;
                let _ = write!(out, "{seq:0w$}");
            }
            _ => {
                return Err(format!(
                    "unknown placeholder `{{{token}}}`; expected {{year}}, {{seq}} or {{seq:N}}"
                ));
            }
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_render_and_bad_ones_are_refused() {
        assert_eq!(render("MRN-{year}{seq:6}", 2026, 42).unwrap(), "MRN-2026000042");
        assert_eq!(render("R{seq}", 2026, 7).unwrap(), "R7");
        assert!(check_pattern("MRN-{year}").is_err());
        assert!(check_pattern("MRN-{seq:x}").is_err());
        assert!(check_pattern("MRN-{month}{seq}").is_err());
        assert!(check_pattern("MRN-{seq").is_err());
    }
}
