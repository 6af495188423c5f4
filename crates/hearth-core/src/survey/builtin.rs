//! The instruments Hearth ships, as Questionnaire JSON written for Hearth (in `builtin/`, English,
//! Spanish and Arabic): a visit-experience survey with NPS, a before/after hope grid, and the
//! structure of a 12-item hope scale whose item texts each clinic supplies under its own license.

/// (slug, Questionnaire JSON).
pub const BUILTINS: &[(&str, &str)] = &[
    ("visit-experience", include_str!("builtin/visit-experience.json")),
    ("hope-grid", include_str!("builtin/hope-grid.json")),
    ("hope-scale-template", include_str!("builtin/hope-scale-template.json")),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::{ScoreStatus, import, parse_form, score, triggered_actions};

    fn load(slug: &str) -> crate::survey::Instrument {
        let raw = BUILTINS.iter().find(|(s, _)| *s == slug).unwrap().1;
        import(&serde_json::from_str(raw).unwrap()).unwrap_or_else(|e| panic!("{slug}: {e:#?}"))
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(a, b)| (format!("q.{a}"), (*b).to_owned())).collect()
    }

    #[test]
    fn every_builtin_imports_in_three_languages() {
        for (slug, _) in BUILTINS {
            let ins = load(slug);
            assert_eq!(ins.languages, ["en", "ar", "es"], "{slug}");
            for item in ins.all_items() {
                for lang in ["es", "ar"] {
                    assert_ne!(
                        item.text.get(lang),
                        item.text.default,
                        "{slug} {} lacks {lang}",
                        item.link_id
                    );
                }
            }
        }
    }

    #[test]
    fn visit_experience_scores_nps_and_opens_actions() {
        let ins = load("visit-experience");
        let (mut a, e, _) =
            parse_form(&ins, &form(&[("satisfaction", "2"), ("recommend", "3"), ("contact-me", "true")]));
        assert!(e.is_empty() && crate::survey::check(&ins, &mut a).is_empty());
        let s = score(&ins, &a);
        let nps = s.iter().find(|s| s.name == "nps").unwrap();
        assert_eq!((nps.value, nps.band.as_deref()), (Some(3.0), Some("detractor")));
        let exp = s.iter().find(|s| s.name == "experience").unwrap();
        assert_eq!((exp.value, exp.status), (None, ScoreStatus::Incomplete), "one of three answered");
        let names: Vec<&str> = triggered_actions(&ins, &a, &s).iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["nps-detractor", "contact-requested"]);
    }

    #[test]
    fn hope_grid_scores_before_after_and_change() {
        let ins = load("hope-grid");
        let mut pairs = Vec::new();
        for s in ["coping", "goals", "daily", "support", "future"] {
            pairs.push((format!("{s}.before"), "little"));
            pairs.push((format!("{s}.now"), "strong"));
        }
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(a, b)| (a.as_str(), *b)).collect();
        let (mut a, _, _) = parse_form(&ins, &form(&pairs));
        assert!(crate::survey::check(&ins, &mut a).is_empty());
        let s = score(&ins, &a);
        let v = |n: &str| s.iter().find(|s| s.name == n).unwrap().clone();
        assert_eq!(v("before-sum").value, Some(10.0));
        assert_eq!(v("after-sum").value, Some(20.0));
        assert_eq!((v("change").value, v("change").band.as_deref()), (Some(10.0), Some("better")));
    }

    #[test]
    fn hope_scale_template_has_agency_pathways_and_fillers() {
        let ins = load("hope-scale-template");
        let all: Vec<(String, &str)> = (1..=12).map(|i| (format!("item{i}"), "8")).collect();
        let pairs: Vec<(&str, &str)> = all.iter().map(|(a, b)| (a.as_str(), *b)).collect();
        let (a, _, _) = parse_form(&ins, &form(&pairs));
        let s = score(&ins, &a);
        let v = |n: &str| s.iter().find(|s| s.name == n).unwrap().value;
        assert_eq!((v("agency"), v("pathways"), v("total")), (Some(32.0), Some(32.0), Some(64.0)));
        let ones: Vec<(String, &str)> = (1..=12).map(|i| (format!("item{i}"), "1")).collect();
        let pairs: Vec<(&str, &str)> = ones.iter().map(|(a, b)| (a.as_str(), *b)).collect();
        let s = score(&ins, &parse_form(&ins, &form(&pairs)).0);
        assert_eq!(s.iter().find(|s| s.name == "total").unwrap().value, Some(8.0));
    }
}
