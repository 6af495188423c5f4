//! Survey results for staff: the results page (funnel, bands, means by practitioner, location and
//! week as inline SVG with tables), its filters, and the CSV export with the same filters; numbers
//! checked against four invitations of two practitioners in two weeks.

use hearth_core::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, both, hidden_field, json, seed_user};
use crate::surveys::{open, post, setup, visit_and_token_with};

both!(results_page_and_csv_count_the_funnel_and_scores_with_filters);

fn okafor() -> Value {
    json!({})
}

fn lindqvist() -> Value {
    json!({"provider_id": "P-2", "provider_last_name": "Lindqvist", "provider_first_name": "Karin",
        "appointment_location": "Riverside Annex", "appointment_datetime": "2026-01-13T09:30:00"})
}

/// Opens the link and answers (satisfaction, recommend, do-better); `None` only opens it.
async fn answer(app: &TestApp, token: &str, answers: Option<(&str, &str, &str)>) {
    let (status, html, cookie, _) = open(app, &format!("/s/{token}")).await;
    assert_eq!(status, 200);
    let Some((sat, rec, text)) = answers else { return };
    let csrf = hidden_field(&html, "csrf").unwrap();
    let fields =
        [("csrf", csrf.as_str()), ("q.satisfaction", sat), ("q.recommend", rec), ("q.do-better", text)];
    let (status, body) = post(app, token, &cookie.unwrap(), &fields).await;
    assert_eq!(status, 200, "{body}");
}

async fn results_page_and_csv_count_the_funnel_and_scores_with_filters(app: TestApp) {
    let s = setup(&app, "visit-experience", json!({})).await;
    // V-1 and V-3 with Dr Okafor at Main St in 2026-W02; V-2 and V-4 with Dr Lindqvist at the annex
    // in 2026-W03. V-1 and V-2 answer, V-3 only opens its link, V-4 never does.
    let t1 = visit_and_token_with(&app, &s, "V-1", "en", &okafor()).await.unwrap();
    let t2 = visit_and_token_with(&app, &s, "V-2", "en", &lindqvist()).await.unwrap();
    let t3 = visit_and_token_with(&app, &s, "V-3", "en", &okafor()).await.unwrap();
    visit_and_token_with(&app, &s, "V-4", "en", &lindqvist()).await.unwrap();
    answer(&app, &t1, Some(("5", "10", "Nothing"))).await;
    answer(&app, &t2, Some(("2", "3", "=HYPERLINK(\"http://x\")"))).await;
    answer(&app, &t3, None).await;

    let results = |q: &str| {
        app.as_key(&s.key, Method::GET, &format!("/api/v1/questionnaires/{}/results{q}", s.questionnaire))
            .send()
    };
    let all = json(results("").await.unwrap(), 200).await;
    assert_eq!(all["funnel"], json!({"sent": 4, "opened": 3, "started": 2, "completed": 2}), "{all}");
    let nps = all["scores"].as_array().unwrap().iter().find(|x| x["name"] == "nps").unwrap();
    assert_eq!(nps["bands"], json!({"detractor": 1, "promoter": 1}));
    assert_eq!(nps["mean"], 6.5);
    let weeks: Vec<(&str, f64)> = nps["by_week"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap(), g["mean"].as_f64().unwrap()))
        .collect();
    assert_eq!(weeks, [("2026-W02", 10.0), ("2026-W03", 3.0)]);
    let practitioners = app.state.store.list_practitioners(s.org).await.unwrap();
    let p2 = practitioners.iter().find(|p| p.family_name == "Lindqvist").unwrap().id;

    let only_p2 = json(results(&format!("?practitioner={p2}")).await.unwrap(), 200).await;
    assert_eq!(only_p2["funnel"], json!({"sent": 2, "opened": 1, "started": 1, "completed": 1}));
    assert_eq!(only_p2["responses"], 1);
    let w3 = json(results("?from=2026-W03&to=2026-W03").await.unwrap(), 200).await;
    assert_eq!(w3["funnel"], only_p2["funnel"], "the same visits by week");
    let bad = json(results("?from=2026-13&location=nope").await.unwrap(), 422).await;
    let fields: Vec<&str> =
        bad["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["location", "from"], "{bad}");

    // The CSV: a header, then one line per response, with the same filters.
    let csv = |q: String| {
        app.as_key(&s.key, Method::GET, &format!("/api/v1/questionnaires/{}/results.csv{q}", s.questionnaire))
            .send()
    };
    let res = csv(String::new()).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let body = res.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(&header[..3], ["response_id", "authored_at", "visit_week"]);
    for c in [
        "practitioner",
        "location",
        "score.nps",
        "band.nps",
        "score.satisfaction",
        "q.recommend",
        "q.do-better",
    ] {
        assert!(header.iter().any(|h| h == c), "{c} in {header:?}");
    }
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2, "{body}");
    let col =
        |r: &csv::StringRecord, name: &str| r[header.iter().position(|h| h == name).unwrap()].to_owned();
    let first = &rows[0];
    assert_eq!(
        (
            col(first, "visit_week"),
            col(first, "practitioner"),
            col(first, "score.nps"),
            col(first, "band.nps")
        ),
        ("2026-W02".into(), "Okafor".into(), "10".into(), "promoter".into())
    );
    assert_eq!(col(first, "q.recommend"), "10");
    assert_eq!((col(first, "location"), col(first, "language")), ("Main St".into(), "en".into()));
    assert!(!col(first, "patient_id").is_empty(), "not anonymous: the patient is named");
    let second = &rows[1];
    assert_eq!(
        (col(second, "practitioner"), col(second, "band.nps")),
        ("Karin Lindqvist".into(), "detractor".into())
    );
    assert_eq!(col(second, "q.do-better"), "'=HYPERLINK(\"http://x\")", "a formula is written as text");
    let filtered = csv(format!("?practitioner={p2}")).await.unwrap().text().await.unwrap();
    assert_eq!(filtered.lines().count(), 2, "{filtered}");
    assert_eq!(csv("?to=W3".into()).await.unwrap().status(), 422);

    // The page, for a PX coordinator (survey:read): numbers in the charts and their tables.
    let (_, email) = seed_user(&app, s.org, Role::PxCoordinator, None).await;
    let staff = app.login(&email, crate::helpers::PASSWORD).await;
    let (app_ref, staff_ref) = (&app, &staff);
    let page = |path: String| async move {
        let res = app_ref.as_staff(staff_ref, Method::GET, &path).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    };
    let (status, list) = page("/surveys".into()).await;
    assert_eq!(status, 200);
    assert!(list.contains(&format!("href=\"/surveys/{}\"", s.questionnaire)), "{list}");
    assert!(list.contains("href=\"/surveys\" aria-current=\"page\""), "in the navigation");
    let (status, html) = page(format!("/surveys/{}", s.questionnaire)).await;
    assert_eq!(status, 200);
    assert!(html.contains("<strong>2</strong> responses"), "{html}");
    assert!(
        html.contains("Sent 4 (100%); Opened 3 (75%); Started 2 (50%); Completed 2 (50%)"),
        "the funnel's text alternative"
    );
    assert!(html.contains("nps: responses per band: detractor 1 (50%); promoter 1 (50%)"));
    assert!(html.contains("nps: mean by practitioner: Okafor 10 (n=1); Karin Lindqvist 3 (n=1)"), "{html}");
    assert!(html.contains("nps: mean by week: 2026-W02 10; 2026-W03 3"));
    assert!(html.contains("<th scope=\"row\">Completed</th><td>2</td><td>50%</td>"), "the funnel's table");
    assert!(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"));
    assert!(html.len() < 60_000, "{} bytes", html.len());
    let (_, filtered) =
        page(format!("/surveys/{}?practitioner={p2}&location=&from=&to=", s.questionnaire)).await;
    assert!(filtered.contains("<strong>1</strong> response."), "{filtered}");
    assert!(filtered.contains(&format!("results.csv?practitioner={p2}\"")), "the export keeps the filters");
    assert!(filtered.contains(&format!("<option value=\"{p2}\" selected>")));
    let (status, refused) = page(format!("/surveys/{}?from=soon", s.questionnaire)).await;
    assert_eq!(status, 200);
    assert!(refused.contains("role=\"alert\"") && refused.contains("expected an ISO week"));

    // Reads of results and exports are audited.
    let audit = app
        .state
        .store
        .list_audit(s.org, &hearth_store::audit::AuditFilter { limit: 1000, ..Default::default() })
        .await
        .unwrap();
    let count = |a: &str| audit.iter().filter(|e| e.action == a).count();
    assert!(count("survey_results.read") >= 5, "{}", count("survey_results.read"));
    assert_eq!(count("survey_response.export"), 2);
}
