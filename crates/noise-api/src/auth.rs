//! Bearer-token authentication for `/api`.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::{ApiError, ApiState};

/// Passes requests that carry the token; refuses the rest with a 401 and
/// an `auth_failed` audit event (the path and why, never the token).
pub async fn require_token(State(state): State<Arc<ApiState>>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let why = match presented {
        None => "missing bearer token",
        Some(token) if matches(token, &state.token) => return next.run(request).await,
        Some(_) => "wrong bearer token",
    };
    let details = json!({"path": request.uri().path(), "method": request.method().as_str(), "reason": why});
    if let Ok(mut conn) = state.store.acquire().await
        && let Err(error) =
            noise_store::audit::append(&mut conn, chrono::Utc::now(), "auth_failed", "api", &details).await
    {
        eprintln!("api: cannot audit a refused request: {error}");
    }
    ApiError::Unauthorized { message: why }.into_response()
}

/// Constant time in the token's content (a length mismatch is refused at once:
/// the length of a generated token is no secret).
fn matches(presented: &str, expected: &str) -> bool {
    !expected.is_empty() && presented.as_bytes().ct_eq(expected.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_exact_token_matches() {
        assert!(super::matches("s3cret", "s3cret"));
        for wrong in ["s3cre", "s3cret!", "S3cret", ""] {
            assert!(!super::matches(wrong, "s3cret"), "{wrong}");
        }
        assert!(!super::matches("", ""), "an empty token never authenticates");
    }
}
