//! The dashboard: its built files, or a page that says how to build them.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use tower::ServiceExt;

use crate::ApiState;

/// Serves a file of the built dashboard (`/` is its `index.html`). Without
/// a build, every page is the explanation of how to make one; it is looked
/// for on each request, so building while the engine runs is enough.
pub async fn serve(State(state): State<Arc<ApiState>>, request: Request) -> Response {
    let Some(dir) = state.dashboard.as_ref().filter(|d| d.join("index.html").is_file()) else {
        return not_built(state.dashboard.as_deref()).into_response();
    };
    let files = tower_http::services::ServeDir::new(dir);
    match files.oneshot(request).await {
        Ok(response) => response.map(axum::body::Body::new).into_response(),
        Err(never) => match never {},
    }
}

fn not_built(dir: Option<&std::path::Path>) -> (StatusCode, Html<String>) {
    let place = dir.map_or("(no dashboard folder configured)".to_string(), |d| d.display().to_string());
    let page = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>NOISE: dashboard not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{background:#0d1117;color:#c9d1d9;font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}
code,pre{{background:#161b22;padding:.2rem .4rem;border-radius:4px}}pre{{padding:1rem}}</style></head><body>
<h1>The dashboard is not built</h1>
<p>NOISE serves the dashboard from <code>{place}</code>, which has no <code>index.html</code> yet.
Build it from the repository's root (Node.js 20 or newer):</p>
<pre>make dashboard</pre>
<p>or by hand: <code>cd dashboard &amp;&amp; npm ci &amp;&amp; npm run build</code>. Then reload this page; the engine does
not need a restart. <code>make run</code> builds it before starting.</p>
<p>The API itself is up: <code>/api/status</code> with your bearer token, and its description at
<code>/api/openapi.json</code>.</p></body></html>"#,
        place = html_escape(&place)
    );
    (StatusCode::SERVICE_UNAVAILABLE, Html(page))
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
