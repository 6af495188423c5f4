//! The schedule upload page (`/appointments/import`) as staff use it: a preview that writes nothing,
//! an import, the same file again all unchanged; a bad mapping named by its key, a bad line by its
//! number with the other rows still reported; only for those who may send EHR events, and only with
//! the session's CSRF token in the (multipart) form.

use std::path::Path;

use hearth_core::{OrgId, Role};
use hearth_store::appointments::AppointmentFilter;
use reqwest::Method;

use crate::helpers::{PASSWORD, Staff, TestApp, both, hidden_field, seed_org, seed_user};

both!(
    upload_previews_imports_and_reimports_unchanged,
    a_bad_mapping_names_the_key_and_a_bad_line_its_number,
    upload_needs_ingest_write_and_the_csrf_token,
);

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schedules").join(name)).unwrap()
}

fn example_mapping() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/schedule-mapping.example.toml"),
    )
    .unwrap()
}

/// One part of a multipart form: name, file name (for a file input), content.
pub type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// A `multipart/form-data` body as a browser sends it: (content type, body).
pub fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "----hearth-test-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, file, content) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: text/csv\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A browser's request: the session cookie only (the CSRF token goes in the form, not a header).
pub fn as_browser(app: &TestApp, staff: &Staff, method: Method, path: &str) -> reqwest::RequestBuilder {
    app.client.request(method, app.url(path)).header("cookie", format!("hearth_session={}", staff.cookie))
}

async fn sign_in(app: &TestApp, org: OrgId, role: Role) -> Staff {
    let (_, email) = seed_user(app, org, role, None).await;
    app.login(&email, PASSWORD).await
}

/// Posts the upload form; returns the status and the page.
async fn upload(app: &TestApp, staff: &Staff, parts: &[Part<'_>]) -> (u16, String) {
    let (content_type, body) = multipart(parts);
    let res = as_browser(app, staff, Method::POST, "/appointments/import")
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The number shown in `<dd id="n-NAME">`.
pub fn count(html: &str, name: &str) -> u64 {
    let marker = format!("<dd id=\"n-{name}\">");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no count {name} in {html}")) + marker.len();
    html[start..].split('<').next().unwrap().trim().parse().unwrap()
}

fn counts(html: &str) -> [u64; 7] {
    ["rows", "creates", "updates", "unchanged", "ignored", "skipped", "errors"].map(|k| count(html, k))
}

async fn appointments(app: &TestApp, org: OrgId) -> Vec<hearth_store::appointments::AppointmentRow> {
    let filter = AppointmentFilter { limit: 1000, ..AppointmentFilter::default() };
    app.state.store.list_appointments(org, &filter).await.unwrap()
}

/// `&lt;` and friends back to text, for comparing with messages.
fn unescape(html: &str) -> String {
    html.replace("&#x60;", "`")
        .replace("&#96;", "`")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

async fn upload_previews_imports_and_reimports_unchanged(app: TestApp) {
    let org = seed_org(&app, "North Clinic").await;
    let other = seed_org(&app, "South Clinic").await;
    let admin = sign_in(&app, org, Role::HospitalAdmin).await;
    let (day1, mapping) = (fixture("day1.csv"), example_mapping());

    let day =
        as_browser(&app, &admin, Method::GET, "/appointments").send().await.unwrap().text().await.unwrap();
    assert!(day.contains("href=\"/appointments/import\""), "the day page links to the upload");
    let form = as_browser(&app, &admin, Method::GET, "/appointments/import").send().await.unwrap();
    assert_eq!(form.status(), 200);
    let form = form.text().await.unwrap();
    assert!(form.contains("enctype=\"multipart/form-data\""), "{form}");
    for field in
        ["name=\"csv_file\" type=\"file\"", "name=\"mapping_file\" type=\"file\"", "name=\"mapping_text\""]
    {
        assert!(form.contains(field), "{field} in {form}");
    }
    assert!(form.contains("<label for=\"i-csv\">") && form.contains("<label for=\"i-mapping-text\">"));
    let csrf = hidden_field(&form, "csrf").unwrap();
    assert_eq!(csrf, admin.csrf);

    // Preview: the counts and every line, nothing written.
    let files: [Part; 4] = [
        ("csrf", None, csrf.as_bytes()),
        ("csv_file", Some("day1.csv"), &day1),
        ("mapping_file", Some("clinic.toml"), mapping.as_bytes()),
        ("action", None, b"preview"),
    ];
    let (status, html) = upload(&app, &admin, &files).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(counts(&html), [6, 5, 0, 0, 0, 1, 0], "{html}");
    assert!(html.contains("Preview of day1.csv: nothing written yet"), "{html}");
    assert!(html.contains("would be created") && html.contains("A-1004"), "{html}");
    assert!(appointments(&app, org).await.is_empty(), "a preview writes nothing");
    // What was sent comes back in the text boxes, so Import needs no second choice of files.
    let csv_text = unescape(textarea(&html, "csv_text"));
    let mapping_text = unescape(textarea(&html, "mapping_text"));
    assert_eq!(csv_text.as_bytes(), day1.as_slice());
    assert_eq!(mapping_text, mapping);
    assert_eq!(hidden_field(&html, "csv_name").as_deref(), Some("day1.csv"));

    // Import, from the text boxes of the preview (as the Import button sends them).
    let texts: [Part; 5] = [
        ("csrf", None, csrf.as_bytes()),
        ("csv_name", None, b"day1.csv"),
        ("csv_text", None, csv_text.as_bytes()),
        ("mapping_text", None, mapping_text.as_bytes()),
        ("action", None, b"import"),
    ];
    let (status, html) = upload(&app, &admin, &texts).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(counts(&html), [6, 5, 0, 0, 0, 1, 0], "{html}");
    assert!(html.contains("Imported day1.csv"), "{html}");
    let rows = appointments(&app, org).await;
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r.source == "clinic-csv"));
    assert!(appointments(&app, other).await.is_empty(), "the actor's organization only");
    // Each line links to its appointment's timeline.
    let a1001 = rows.iter().find(|r| r.external_id == "A-1001").unwrap();
    assert!(html.contains(&format!("<a href=\"/appointments/{}\">A-1001</a>", a1001.id)), "{html}");
    let timeline =
        as_browser(&app, &admin, Method::GET, &format!("/appointments/{}", a1001.id)).send().await.unwrap();
    assert_eq!(timeline.status(), 200);

    // The same file again: every row unchanged, and the preview says so too.
    let again = [files[0], files[1], files[2], ("action", None, b"import".as_slice())];
    let (status, html) = upload(&app, &admin, &again).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(counts(&html), [6, 0, 0, 5, 0, 1, 0], "re-importing changes nothing: {html}");
    assert!(html.contains("already imported"), "{html}");
    let (_, html) = upload(&app, &admin, &files).await;
    assert_eq!(counts(&html), [6, 0, 0, 5, 0, 1, 0], "{html}");
    assert_eq!(appointments(&app, org).await.len(), 5);

    // The next day's export previews its changes against what is on file.
    let (_, html) = upload(
        &app,
        &admin,
        &[files[0], ("csv_file", Some("day2.csv"), &fixture("day2.csv")), files[2], files[3]],
    )
    .await;
    assert_eq!(counts(&html), [6, 1, 2, 3, 0, 0, 0], "{html}");
    assert!(html.contains("would be updated"), "{html}");
}

/// The content of `<textarea … name="NAME" …>…</textarea>`.
fn textarea<'a>(html: &'a str, name: &str) -> &'a str {
    let at = html.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("no textarea {name}"));
    let start = at + html[at..].find('>').unwrap() + 1;
    let end = start + html[start..].find("</textarea>").unwrap();
    &html[start..end]
}

async fn a_bad_mapping_names_the_key_and_a_bad_line_its_number(app: TestApp) {
    let org = seed_org(&app, "North Clinic").await;
    let admin = sign_in(&app, org, Role::PxAdmin).await;
    let (day1, mapping) = (fixture("day1.csv"), example_mapping());
    let csrf = admin.csrf.clone();
    let send = |csv: Vec<u8>, mapping: String, action: &'static str| {
        let (app, admin, csrf) = (&app, &admin, csrf.clone());
        async move {
            let parts: [Part; 4] = [
                ("csrf", None, csrf.as_bytes()),
                ("csv_file", Some("today.csv"), &csv),
                ("mapping_text", None, mapping.as_bytes()),
                ("action", None, action.as_bytes()),
            ];
            upload(app, admin, &parts).await
        }
    };

    // A bad mapping: refused before any row is read, each problem named by its key.
    let typo = mapping.replace("time_zone = \"America/Chicago\"", "time_zone = \"America/Chicgo\"");
    let (status, html) = send(day1.clone(), typo, "import").await;
    assert_eq!(status, 422, "{html}");
    let text = unescape(&html);
    assert!(text.contains("Nothing was imported"), "{text}");
    assert!(text.contains("mapping key time_zone</a>: `America/Chicgo` is not an IANA time zone"), "{text}");
    assert!(!html.contains("id=\"report\""), "no report without a mapping");
    assert!(text.contains("time_zone = \"America/Chicgo\""), "the mapping is shown again to be fixed");
    let unknown = mapping.replace("[columns]", "colour = \"red\"\n[columns]");
    let (status, html) = send(day1.clone(), unknown, "preview").await;
    assert_eq!(status, 422);
    assert!(html.contains("mapping key colour"), "{html}");
    let (status, html) = send(day1.clone(), String::new(), "preview").await;
    assert_eq!(status, 422);
    assert!(html.contains("choose the mapping file (or paste the mapping)"), "{html}");
    let (status, html) = send(Vec::new(), mapping.clone(), "preview").await;
    assert_eq!(status, 422);
    assert!(html.contains("choose the CSV file (or paste the CSV)"), "{html}");
    // A header without a mapped column stops the whole file, naming line and column.
    let renamed = mapping.replace("status = \"Status\"", "status = \"Appt Status\"");
    let (status, html) = send(day1.clone(), renamed, "import").await;
    assert_eq!(status, 422);
    assert!(
        unescape(&html)
            .contains("line 1, Appt Status</a>: no such column in the header (columns.status names it)"),
        "{html}"
    );
    assert!(appointments(&app, org).await.is_empty());

    // Bad lines: each named by its number, column and what was expected; the good row still reported.
    let (status, html) = send(fixture("bad.csv"), mapping.clone(), "preview").await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(counts(&html), [5, 1, 0, 0, 0, 0, 4], "{html}");
    let text = unescape(&html);
    for (line, column, expected) in [
        (2, "Appt Date/Time", "`02/30/2027 09:00 AM` is not a date and time as `%m/%d/%Y %I:%M %p`"),
        (3, "Status", "`Seen?` is not a status word of the mapping"),
        (4, "Cell Phone", "expected a phone number"),
        (5, "(row)", "15 values, but the header has 14 columns"),
    ] {
        let row = format!("<td data-label=\"Line\">{line}</td>");
        let at = text.find(&row).unwrap_or_else(|| panic!("line {line} missing: {text}"));
        let tr = &text[at..at + text[at..].find("</tr>").unwrap()];
        assert!(tr.contains(&format!("<code>{column}</code>")) && tr.contains(expected), "line {line}: {tr}");
    }
    assert!(text.contains("A-2005") && text.contains("would be created"), "the good row: {text}");
    let (_, html) = send(fixture("bad.csv"), mapping, "import").await;
    assert_eq!(counts(&html), [5, 1, 0, 0, 0, 0, 4], "{html}");
    let rows = appointments(&app, org).await;
    assert_eq!(
        rows.iter().map(|r| r.external_id.as_str()).collect::<Vec<_>>(),
        ["A-2005"],
        "only the good row"
    );
}

async fn upload_needs_ingest_write_and_the_csrf_token(app: TestApp) {
    let org = seed_org(&app, "North Clinic").await;
    let (day1, mapping) = (fixture("day1.csv"), example_mapping());
    for role in [Role::DepartmentManager, Role::Staff] {
        let staff = sign_in(&app, org, role).await;
        let page = as_browser(&app, &staff, Method::GET, "/appointments/import").send().await.unwrap();
        assert_eq!(page.status(), 403, "{role}");
        assert!(page.text().await.unwrap().contains("ingest:write"));
        let day = as_browser(&app, &staff, Method::GET, "/appointments")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!day.contains("/appointments/import"), "no link for {role}");
        let parts: [Part; 3] = [
            ("csrf", None, staff.csrf.as_bytes()),
            ("csv_file", Some("day1.csv"), &day1),
            ("mapping_text", None, mapping.as_bytes()),
        ];
        let (status, _) = upload(&app, &staff, &parts).await;
        assert_eq!(status, 403, "{role}");
    }

    let admin = sign_in(&app, org, Role::PxAdmin).await;
    let no_token: [Part; 3] = [
        ("csv_file", Some("day1.csv"), &day1),
        ("mapping_text", None, mapping.as_bytes()),
        ("action", None, b"import"),
    ];
    let (status, html) = upload(&app, &admin, &no_token).await;
    assert_eq!(status, 403, "{html}");
    assert!(html.contains("csrf_invalid"), "{html}");
    let wrong: [Part; 4] = [("csrf", None, b"0123456789abcdef"), no_token[0], no_token[1], no_token[2]];
    let (status, _) = upload(&app, &admin, &wrong).await;
    assert_eq!(status, 403);
    // The token may come anywhere in the form.
    let last: [Part; 4] = [no_token[0], no_token[1], no_token[2], ("csrf", None, admin.csrf.as_bytes())];
    let (status, html) = upload(&app, &admin, &last).await;
    assert_eq!(status, 200, "{html}");
    assert_eq!(appointments(&app, org).await.len(), 5, "only the form with the token imported");
}
