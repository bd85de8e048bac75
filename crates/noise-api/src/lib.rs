//! NOISE's HTTP API: the seed's API Worker on axum, over the store, the
//! broker and the running engine.
//!
//! `/healthz` is open and says only that the process is alive. Everything
//! under `/api` needs `Authorization: Bearer <token>`, compared in constant
//! time; a missing or wrong token is a 401 with a JSON body and an
//! `auth_failed` audit event (which never contains the token). Errors are
//! JSON `{"error": {"code", "message", "field"?}}` with the seed's status
//! codes: 400 naming the bad field, 401, 404, 409, 429, 502, 503, 500
//! without internals. Lists page with a cursor (`before`, the last id seen)
//! and a `limit` capped at [`MAX_LIMIT`].
//!
//! Every route is registered through `utoipa-axum`, so the OpenAPI document
//! served at `/api/openapi.json` is built from the handlers themselves: a
//! route cannot exist without its entry. Everything else (`/`) is the
//! dashboard, served from its built folder.

mod auth;
mod dashboard;
mod error;
mod limit;
mod page_cache;
mod routes;
mod summary;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::middleware;
use noise_core::instrument::Instrument;
use noise_core::risk::RiskConfig;
use noise_store::Store;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{ApiError, ErrorBody};
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
    /// The engine's clock: the time of its latest minute (a simulation runs
    /// on its own clock); the wall clock when absent.
    pub clock: Option<tokio::sync::watch::Receiver<Option<chrono::DateTime<chrono::Utc>>>>,
    /// The limits the risk figures are reported against.
    pub risk: RiskConfig,
    /// The instruments the engine trades (asset class, group, point value).
    pub instruments: Vec<Instrument>,
    /// The built dashboard (`index.html` and its assets); `None`: not served.
    pub dashboard: Option<PathBuf>,
    /// Browser origins CORS allows (none: browsers on other origins are refused).
    pub cors_origins: Vec<String>,
    /// Larger request bodies are refused with 413.
    pub max_body_bytes: usize,
    /// Requests per client address and second (429 beyond, with Retry-After).
    pub limiter: limit::Limiter,
    /// Totals of closed trades, kept up to date by reading only new rows.
    pub(crate) summary: summary::Cache,
    /// Pages of closed trades, kept while no newer trade exists.
    pub(crate) trade_pages: page_cache::PageCache,
}

impl ApiState {
    /// A state with the defaults: paper mode, no broker, engine or dashboard,
    /// the default risk limits and instruments, no CORS origins, 64 KiB
    /// bodies, 50 requests per second per client.
    pub fn new(store: Store, token: impl Into<String>) -> Self {
        Self {
            store,
            token: token.into(),
            mode: "paper",
            broker: None,
            events: None,
            controls: None,
            clock: None,
            risk: RiskConfig::default(),
            instruments: Instrument::defaults(),
            dashboard: None,
            cors_origins: Vec::new(),
            max_body_bytes: 64 * 1024,
            limiter: Limiter::per_second(50),
            summary: summary::Cache::default(),
            trade_pages: page_cache::PageCache::default(),
        }
    }

    /// Reads what the first requests would otherwise wait for (the totals of
    /// every closed trade: seconds on a million) so the server starts warm.
    pub async fn warm_up(&self) -> Result<(), noise_store::StoreError> {
        let mut conn = self.store.acquire().await?;
        self.summary.current(&mut conn).await.map(|_| ())
    }

    /// The engine's time now (see [`ApiState::clock`]).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.as_ref().and_then(|c| *c.borrow()).unwrap_or_else(chrono::Utc::now)
    }

    /// The broker's equity now; `None` without a broker or when it does not answer.
    async fn broker_equity(&self) -> Option<rust_decimal::Decimal> {
        self.broker.as_ref()?.account().await.ok().map(|a| a.equity)
    }

    fn instrument(&self, symbol: &str) -> Option<&Instrument> {
        self.instruments.iter().find(|i| i.symbol.eq_ignore_ascii_case(symbol))
    }
}

/// The document's frame; the paths and schemas come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(title = "NOISE API", description = "Watch and control the NOISE trading engine. Every route needs `Authorization: Bearer <token>`."),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Every `/api` route, with its place in the OpenAPI document.
fn api_routes() -> OpenApiRouter<Arc<ApiState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::status))
        .routes(routes!(routes::account))
        .routes(routes!(routes::events))
        .routes(routes!(routes::positions))
        .routes(routes!(routes::trades))
        .routes(routes!(routes::trade))
        .routes(routes!(routes::fills))
        .routes(routes!(routes::signals))
        .routes(routes!(routes::risk_state))
        .routes(routes!(routes::exposure))
        .routes(routes!(routes::reset_circuit_breaker))
        .routes(routes!(routes::pause))
        .routes(routes!(routes::resume))
        .routes(routes!(routes::flatten))
        .routes(routes!(routes::sync_positions))
        .routes(routes!(routes::summary))
        .routes(routes!(routes::daily))
        .routes(routes!(routes::equity))
        .routes(routes!(routes::audit))
        .routes(routes!(routes::backtests))
        .routes(routes!(routes::backtest))
        .routes(routes!(routes::backtest_trades))
        .routes(routes!(routes::openapi_document))
}

/// The OpenAPI document of every `/api` route, as served at `/api/openapi.json`.
pub fn openapi() -> &'static serde_json::Value {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| openapi_json(api_routes().into_openapi()))
}

/// The whole server as an axum router: `/healthz`, `/api` and the dashboard.
pub fn router(state: Arc<ApiState>) -> Router {
    let (api, _) = api_routes().split_for_parts();
    let api = api.fallback(routes::not_found).layer(middleware::from_fn_with_state(state.clone(), auth::require_token));
    let cors = cors(&state.cors_origins);
    let limit = tower_http::limit::RequestBodyLimitLayer::new(state.max_body_bytes);
    Router::new()
        .route("/healthz", axum::routing::get(routes::healthz))
        .nest("/api", api)
        .fallback(dashboard::serve)
        .layer(middleware::from_fn_with_state(state.clone(), limit::per_client))
        .layer(cors)
        .layer(limit)
        .layer(middleware::from_fn_with_state(state.clone(), limit::body_size))
        .with_state(state)
}

/// The document as served: paths prefixed with `/api`, plus itself.
fn openapi_json(mut doc: utoipa::openapi::OpenApi) -> serde_json::Value {
    let paths = std::mem::take(&mut doc.paths.paths);
    doc.paths.paths = paths.into_iter().map(|(path, item)| (format!("/api{path}"), item)).collect();
    serde_json::to_value(&doc).unwrap_or(serde_json::Value::Null)
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
