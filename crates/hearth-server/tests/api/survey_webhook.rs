//! The survey completion webhook: one signed POST per response, retried until accepted, never twice.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hearth_store::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{TestApp, hidden_field};
use crate::surveys::{open, post as post_form, setup, visit_and_token};

type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A receiver that refuses the first delivery (503) and accepts the rest.
async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let router = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let s = s.clone();
            async move {
                let mut v = s.lock().unwrap();
                v.push((headers, body));
                if v.len() == 1 { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::NO_CONTENT }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, seen)
}

async fn a_completed_response_is_posted_once_signed_with_retries(db: TestDb) {
    let (url, seen) = receiver().await;
    let app = TestApp::spawn_with(db, |c| {
        c.surveys.webhook_url = Some(url);
        c.surveys.webhook_secret = Some(hearth_core::Secret::new("whsec"));
    })
    .await;
    let s = setup(&app, "visit-experience", json!({})).await;
    let token = visit_and_token(&app, &s, "W-1", "en").await.unwrap();
    let (_, html, cookie, _) = open(&app, &format!("/s/{token}")).await;
    let csrf = hidden_field(&html, "csrf").unwrap();
    let (status, _) = post_form(
        &app,
        &token,
        &cookie.unwrap(),
        &[("csrf", &csrf), ("q.satisfaction", "5"), ("q.recommend", "10")],
    )
    .await;
    assert_eq!(status, 200);
    // The delivery right after the commit is refused (503); the retry waits for its backoff.
    // Wait until that first delivery was refused and its failure settled (its retry scheduled): the
    // request reaching the receiver comes before the outcome is written.
    for _ in 0..100 {
        let now = hearth_core::Clock::now(&*app.clock);
        let pending = app.state.store.due_survey_webhooks(now, 50).await.unwrap();
        if !seen.lock().unwrap().is_empty() && pending.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(hearth_server::surveys::webhook::deliver_due(&app.state).await, 0, "not due yet");
    app.clock.advance(jiff::SignedDuration::from_mins(2));
    assert_eq!(hearth_server::surveys::webhook::deliver_due(&app.state).await, 1);
    app.clock.advance(jiff::SignedDuration::from_hours(2));
    assert_eq!(hearth_server::surveys::webhook::deliver_due(&app.state).await, 0, "delivered once");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let (headers, body) = &seen[1];
    let ts = headers["x-hearth-timestamp"].to_str().unwrap();
    let expected = hearth_server::notifications::providers::webhook::signature("whsec", ts, body.as_bytes());
    assert_eq!(headers["x-hearth-signature"].to_str().unwrap(), expected);
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["event"], "survey.completed");
    assert_eq!(v["questionnaire_response"]["resourceType"], "QuestionnaireResponse");
    let nps = v["scores"].as_array().unwrap().iter().find(|s| s["name"] == "nps").unwrap();
    assert_eq!(nps["band"], "promoter");
    assert_eq!(seen[0].1, *body, "the retry sends the same body");
}

mod a_completed_response_is_posted_once_signed_with_retries {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::a_completed_response_is_posted_once_signed_with_retries(
            hearth_store::testing::TestDb::sqlite(),
        )
        .await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(db) = hearth_store::testing::TestDb::postgres().await else {
            eprintln!("skipped: {} is not set", hearth_store::testing::POSTGRES_URL_VAR);
            return;
        };
        super::a_completed_response_is_posted_once_signed_with_retries(db).await;
    }
}
