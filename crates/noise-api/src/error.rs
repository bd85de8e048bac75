//! Errors as the seed's table has them: a status and a JSON body that names
//! what was wrong, never the internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Every error's body: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// bad_request, unauthorized, not_found, conflict, rate_limited,
    /// broker_error, payload_too_large, unavailable or internal.
    pub code: String,
    pub message: String,
    /// The request parameter at fault (400 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub enum ApiError {
    /// 400: a request parameter that cannot be used.
    BadField {
        field: &'static str,
        message: String,
    },
    Unauthorized {
        message: &'static str,
    },
    NotFound {
        message: String,
    },
    /// 502: the broker failed or did not answer.
    Broker {
        message: String,
    },
    /// 409: the state forbids the action (nothing to resume, say).
    Conflict {
        message: String,
    },
    /// 429: over the client's request budget.
    TooMany {
        retry_after_seconds: u64,
    },
    /// 413: a request body over the configured size.
    TooLarge {
        limit_bytes: usize,
    },
    /// 503: no engine is running behind the API to act on.
    Unavailable {
        message: String,
    },
    /// 500: logged by the caller; the body says only that it failed.
    Internal,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::BadField { field, message } => {
                (StatusCode::BAD_REQUEST, json!({"error": {"code": "bad_request", "field": field, "message": message}}))
            }
            ApiError::Unauthorized { message } => {
                (StatusCode::UNAUTHORIZED, json!({"error": {"code": "unauthorized", "message": message}}))
            }
            ApiError::NotFound { message } => {
                (StatusCode::NOT_FOUND, json!({"error": {"code": "not_found", "message": message}}))
            }
            ApiError::Broker { message } => {
                (StatusCode::BAD_GATEWAY, json!({"error": {"code": "broker_error", "message": message}}))
            }
            ApiError::Conflict { message } => {
                (StatusCode::CONFLICT, json!({"error": {"code": "conflict", "message": message}}))
            }
            ApiError::TooMany { retry_after_seconds } => (
                StatusCode::TOO_MANY_REQUESTS,
                json!({"error": {"code": "rate_limited",
                                 "message": format!("too many requests; retry in {retry_after_seconds} s")}}),
            ),
            ApiError::TooLarge { limit_bytes } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"error": {"code": "payload_too_large",
                                 "message": format!("request bodies are limited to {limit_bytes} bytes")}}),
            ),
            ApiError::Unavailable { message } => {
                (StatusCode::SERVICE_UNAVAILABLE, json!({"error": {"code": "unavailable", "message": message}}))
            }
            ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": {"code": "internal", "message": "the request failed; see the server log"}}),
            ),
        };
        (status, Json(body)).into_response()
    }
}

impl From<noise_store::StoreError> for ApiError {
    fn from(error: noise_store::StoreError) -> Self {
        eprintln!("api: store error: {error}");
        ApiError::Internal
    }
}
