//! Charts drawn on the server as inline SVG: no script, no request, a few hundred bytes each. Every
//! chart is an `img` whose accessible name states all of its data in words; the page shows the
//! same numbers in a table beside it. Colours come from the page's stylesheet (`.chart` rules), so
//! the dark theme and forced colours apply.

use std::fmt::Write as _;

/// One bar: its label, its length and the text written after it.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub text: String,
}

/// Escapes text for SVG (XML) content and attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Shortens a label to `n` characters with an ellipsis (the table has it in full).
fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

const WIDTH: f64 = 320.0;
const LABEL_W: f64 = 112.0;
const ROW_H: f64 = 26.0;

/// Horizontal bars scaled to `max` (or to the largest value), labelled on the left.
pub fn bars(name: &str, rows: &[Bar], max: Option<f64>) -> String {
    let top = max.unwrap_or_else(|| rows.iter().map(|r| r.value).fold(0.0, f64::max)).max(f64::MIN_POSITIVE);
    let words: Vec<String> = rows.iter().map(|r| format!("{} {}", r.label, r.text)).collect();
    let alt = format!("{name}: {}", if words.is_empty() { "no data".to_owned() } else { words.join("; ") });
    #[allow(clippy::cast_precision_loss)] // a handful of rows
    let height = (rows.len().max(1) as f64) * ROW_H + 4.0;
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{}" focusable="false">"#,
        esc(&alt)
    );
    let room = WIDTH - LABEL_W - 84.0;
    for (i, r) in rows.iter().enumerate() {
        #[allow(clippy::cast_precision_loss)]
        let y = i as f64 * ROW_H + 2.0;
        let w = (r.value.max(0.0) / top * room).max(if r.value > 0.0 { 2.0 } else { 0.0 });
        let _ = write!(
            svg,
            r#"<text x="0" y="{:.1}" class="lbl">{}</text><rect x="{LABEL_W}" y="{:.1}" width="{w:.1}" height="18" rx="2" class="bar"/><text x="{:.1}" y="{:.1}" class="val">{}</text>"#,
            y + 15.0,
            esc(&short(&r.label, 15)),
            y + 2.0,
            LABEL_W + w + 4.0,
            y + 15.0,
            esc(&r.text),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A line through one point per period (e.g. ISO weeks) between `lo` and `hi`, with both bounds and
/// the first and last period written on the axes.
pub fn trend(name: &str, points: &[(String, f64)], lo: f64, hi: f64) -> String {
    let words: Vec<String> = points.iter().map(|(k, v)| format!("{k} {}", fmt_num(*v))).collect();
    let alt = format!("{name}: {}", if words.is_empty() { "no data".to_owned() } else { words.join("; ") });
    let (h, left, bottom) = (150.0, 34.0, 124.0);
    let span = (hi - lo).abs().max(f64::MIN_POSITIVE);
    let y = |v: f64| bottom - (v - lo) / span * (bottom - 12.0);
    #[allow(clippy::cast_precision_loss)]
    let x = |i: usize| {
        if points.len() <= 1 {
            f64::midpoint(left, WIDTH)
        } else {
            left + 8.0 + i as f64 * (WIDTH - left - 24.0) / (points.len() - 1) as f64
        }
    };
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {h}" width="100%" role="img" aria-label="{}" focusable="false"><line x1="{left}" y1="12" x2="{left}" y2="{bottom}" class="axis"/><line x1="{left}" y1="{bottom}" x2="{WIDTH}" y2="{bottom}" class="axis"/><text x="{:.1}" y="16" class="val" text-anchor="end">{}</text><text x="{:.1}" y="{bottom}" class="val" text-anchor="end">{}</text>"#,
        esc(&alt),
        left - 4.0,
        fmt_num(hi),
        left - 4.0,
        fmt_num(lo),
    );
    let path: Vec<String> =
        points.iter().enumerate().map(|(i, (_, v))| format!("{:.1},{:.1}", x(i), y(*v))).collect();
    if points.len() > 1 {
        let _ = write!(svg, r#"<polyline points="{}" class="line"/>"#, path.join(" "));
    }
    for (i, (_, v)) in points.iter().enumerate() {
        let _ = write!(svg, r#"<circle cx="{:.1}" cy="{:.1}" r="4" class="dot"/>"#, x(i), y(*v));
    }
    if let (Some(first), Some(last)) = (points.first(), points.last()) {
        let _ = write!(svg, r#"<text x="{left}" y="{}" class="lbl">{}</text>"#, h - 6.0, esc(&first.0));
        if points.len() > 1 {
            let _ = write!(
                svg,
                r#"<text x="{WIDTH}" y="{}" class="lbl" text-anchor="end">{}</text>"#,
                h - 6.0,
                esc(&last.0)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// 7, 7.5, 7.33: at most two decimals, none when whole.
pub fn fmt_num(v: f64) -> String {
    let r = (v * 100.0).round() / 100.0;
    if (r - r.trunc()).abs() < f64::EPSILON { format!("{r:.0}") } else { format!("{r}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_state_their_data_in_words_and_escape_labels() {
        let rows = vec![
            Bar { label: "Dr <Okafor> & co".into(), value: 2.0, text: "2 (67%)".into() },
            Bar { label: "none".into(), value: 0.0, text: "0".into() },
        ];
        let svg = bars("Funnel", &rows, None);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"aria-label="Funnel: Dr &lt;Okafor&gt; &amp; co 2 (67%); none 0""#), "{svg}");
        assert!(svg.contains(r#"width="124.0""#), "the largest bar fills the room: {svg}");
        assert!(svg.contains(r#"width="0.0""#), "an empty bar is empty");
        assert!(!svg.contains("<script") && !svg.contains("http"));
    }

    #[test]
    fn a_trend_draws_one_point_per_period_within_its_bounds() {
        let pts =
            vec![("2026-W01".to_owned(), 5.0), ("2026-W02".to_owned(), 7.5), ("2026-W03".to_owned(), 10.0)];
        let svg = trend("NPS by week", &pts, 0.0, 10.0);
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("NPS by week: 2026-W01 5; 2026-W02 7.5; 2026-W03 10"));
        assert!(svg.contains(r#"cy="12.0""#), "the top value at the top: {svg}");
        assert!(trend("x", &[], 0.0, 1.0).contains("x: no data"));
        assert_eq!(fmt_num(7.333), "7.33");
    }
}
