//! The API served next to `noise run`: the token, the address, the server.

use std::net::SocketAddr;
use std::sync::Arc;

use noise_api::ApiState;
use noise_store::Store;

/// Where the token came from: the environment, or generated for this run.
pub enum Token {
    FromEnvironment(String),
    Generated(String),
}

impl Token {
    /// `NOISE_API_TOKEN` when set and not blank; else 32 random bytes, hex.
    pub fn resolve() -> Result<Self, String> {
        if let Ok(token) = std::env::var("NOISE_API_TOKEN")
            && !token.trim().is_empty()
        {
            return Ok(Token::FromEnvironment(token.trim().to_string()));
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for an API token: {e}"))?;
        Ok(Token::Generated(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    fn value(&self) -> &str {
        match self {
            Token::FromEnvironment(t) | Token::Generated(t) => t,
        }
    }
}

/// What connects the API to the running engine: its events, its controls, its clock.
pub struct EngineLink {
    pub events: tokio::sync::broadcast::Sender<noise_api::StreamEvent>,
    pub controls: tokio::sync::mpsc::Sender<noise_engine::ControlRequest>,
    pub clock: tokio::sync::watch::Receiver<Option<chrono::DateTime<chrono::Utc>>>,
    /// Fires when the engine stops; the server stops with it.
    pub stop: tokio::sync::watch::Receiver<bool>,
    /// `paper` or `live`.
    pub mode: &'static str,
}

/// Binds and serves the API until `stop` fires. A generated token is only
/// good enough for loopback: another address needs `NOISE_API_TOKEN`.
/// Failing to serve never stops trading: it is reported, and the engine runs on.
pub async fn serve(
    addr: SocketAddr,
    config: &noise_core::config::NoiseConfig,
    dashboard: &std::path::Path,
    token: Token,
    store: Store,
    broker: Arc<dyn noise_broker::BrokerAdapter>,
    engine: EngineLink,
) -> Result<SocketAddr, String> {
    if matches!(token, Token::Generated(_)) && !addr.ip().is_loopback() {
        return Err(format!(
            "{addr} is not a loopback address: set NOISE_API_TOKEN to serve the API beyond this machine"
        ));
    }
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let mut state = ApiState::new(store, token.value());
    state.broker = Some(broker);
    state.mode = engine.mode;
    state.events = Some(engine.events);
    state.controls = Some(engine.controls);
    state.clock = Some(engine.clock);
    state.risk = config.risk.clone();
    state.instruments = config.instruments.clone();
    state.dashboard = Some(dashboard.to_path_buf());
    state.cors_origins = config.api.cors_origins.clone();
    state.max_body_bytes = usize::try_from(config.api.max_body_bytes).unwrap_or(usize::MAX);
    state.limiter = noise_api::Limiter::per_second(config.api.requests_per_second);
    let state = Arc::new(state);
    let warming = state.clone();
    tokio::spawn(async move {
        if let Err(error) = warming.warm_up().await {
            eprintln!("API: cannot read the trade totals: {error}");
        }
    });
    let mut stop = engine.stop;
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        // Connect info gives the rate limit each client's own address.
        let app = noise_api::router(state).into_make_service_with_connect_info::<SocketAddr>();
        if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            eprintln!("API server stopped: {error}");
        }
    });
    Ok(bound)
}
