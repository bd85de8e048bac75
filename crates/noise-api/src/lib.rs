//! NOISE's HTTP API: the seed's API Worker on axum, over the store.
//!
//! `/healthz` is open and says only that the process is alive. Everything
//! under `/api` needs `Authorization: Bearer <token>`, compared in constant
//! time; a missing or wrong token is a 401 with a JSON body and an
//! `auth_failed` audit event (which never contains the token). Errors are
//! JSON `{"error": {"code", "message", "field"?}}` with the seed's status
//! codes: 400 naming the bad field, 401, 404, 500 without internals.
//!
//! This is the first part of the API (issue 7): status, positions, closed
//! trades, signals, the risk state, daily metrics, equity snapshots, the
//! audit log and the stored backtests, all read-only. Lists page with a cursor (`before`, the last id
//! seen) and a `limit` capped at [`MAX_LIMIT`].

mod auth;
mod error;
mod limit;
mod routes;

use std::sync::Arc;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};
use noise_store::Store;

pub use error::ApiError;
pub use limit::Limiter;

/// The most rows a list returns.
pub const MAX_LIMIT: u32 = 1000;

/// One engine event for the event stream: its kind and its JSON.
#[derive(Debug, Clone)]
pub struct StreamEvent {
    pub kind: &'static str,
    pub json: String,
}

/// What the handlers share.
pub struct ApiState {
    pub store: Store,
    /// The bearer token every `/api` request must carry.
    pub token: String,
    /// `paper` or `live`, as the engine runs.
    pub mode: &'static str,
    /// The broker the engine trades through (account figures, its status).
    pub broker: Option<Arc<dyn noise_broker::BrokerAdapter>>,
    /// The engine's events as they happen, for `/api/events`.
    pub events: Option<tokio::sync::broadcast::Sender<StreamEvent>>,
    /// Where controls go to the running engine (applied between minutes).
    pub controls: Option<tokio::sync::mpsc::Sender<noise_engine::ControlRequest>>,
    /// Browser origins CORS allows (none: browsers on other origins are refused).
    pub cors_origins: Vec<String>,
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: usize,
    /// Requests per client address and second (429 beyond, with Retry-After).
    pub limiter: limit::Limiter,
}

/// The whole API as an axum router.
pub fn router(state: Arc<ApiState>) -> Router {
    let api = Router::new()
        .route("/status", get(routes::status))
        .route("/account", get(routes::account))
        .route("/events", get(routes::events))
        .route("/positions", get(routes::positions))
        .route("/trades", get(routes::trades))
        .route("/signals", get(routes::signals))
        .route("/risk/state", get(routes::risk_state))
        .route("/risk/reset-circuit-breaker", post(routes::reset_circuit_breaker))
        .route("/trading/pause", post(routes::pause))
        .route("/trading/resume", post(routes::resume))
        .route("/trading/flatten", post(routes::flatten))
        .route("/positions/sync", post(routes::sync_positions))
        .route("/metrics/daily", get(routes::daily))
        .route("/metrics/equity", get(routes::equity))
        .route("/audit", get(routes::audit))
        .route("/metrics/backtests", get(routes::backtests))
        .route("/metrics/backtests/{id}", get(routes::backtest))
        .route("/metrics/backtests/{id}/trades", get(routes::backtest_trades))
        .fallback(routes::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), auth::require_token));
    let cors = cors(&state.cors_origins);
    let limit = tower_http::limit::RequestBodyLimitLayer::new(state.max_body_bytes);
    Router::new()
        .route("/healthz", get(routes::healthz))
        .nest("/api", api)
        .layer(middleware::from_fn_with_state(state.clone(), limit::per_client))
        .layer(cors)
        .layer(limit)
        .with_state(state)
}

/// CORS for the configured origins only; with none, no cross-origin browser
/// request is allowed. (Origins that do not parse were refused by config
/// validation; any left are skipped.)
fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use axum::http::{HeaderValue, Method, header};
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    tower_http::cors::CorsLayer::new()
        .allow_origin(allowed)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
}
