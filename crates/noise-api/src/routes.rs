//! The handlers.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{ApiError, ApiState, MAX_LIMIT};

/// `GET /healthz`: alive, nothing more (it is the one route without a token).
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "alive"}))
}

/// `GET /api/status`: the seed's health document, plus mode and version.
pub async fn status(State(state): State<Arc<ApiState>>) -> Result<Json<Value>, ApiError> {
    let mut conn = state.store.pool().acquire().await.map_err(noise_store::StoreError::from)?;
    let database = noise_store::ping(&mut conn).await.is_ok();
    let risk = noise_store::risk_state::load(&mut conn).await.ok().flatten();
    let breaker = risk.as_ref().is_some_and(|r| !r.breakers.is_empty());
    let last_signal = noise_store::signals::last_signal_time(&mut conn).await.ok().flatten();
    let broker = match &state.broker {
        None => json!({}),
        Some(b) => {
            let name = format!("{:?}", b.broker()).to_lowercase();
            let reachable = b.account().await.is_ok();
            json!({ name: if reachable { "connected" } else { "disconnected" } })
        }
    };
    Ok(Json(json!({
        "status": if database { "healthy" } else { "degraded" },
        "brokers": broker,
        "database": if database { "connected" } else { "error" },
        "circuitBreaker": if breaker { "on" } else { "off" },
        "tradingState": risk.as_ref().map(|r| r.trading_state),
        "lastSignalTime": last_signal,
        "mode": state.mode,
        "version": env!("CARGO_PKG_VERSION"),
    })))
}

/// `?limit=&before=`: a page size (1..=1000, default 100) and a cursor.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    limit: Option<String>,
    before: Option<String>,
    event_type: Option<String>,
}

impl PageQuery {
    fn limit(&self) -> Result<u32, ApiError> {
        let Some(text) = &self.limit else { return Ok(100) };
        match text.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::BadField {
                field: "limit",
                message: format!("{text:?}: a whole number from 1 to {MAX_LIMIT}"),
            }),
        }
    }

    fn before(&self) -> Result<Option<i64>, ApiError> {
        let Some(text) = &self.before else { return Ok(None) };
        text.parse::<i64>().map(Some).map_err(|_| ApiError::BadField {
            field: "before",
            message: format!("{text:?}: the id of the last row of the previous page"),
        })
    }
}

/// A page of rows and the cursor of the next page (absent on the last).
#[derive(Debug, Serialize)]
pub struct Page<T> {
    items: Vec<T>,
    next_before: Option<i64>,
}

fn page<T>(items: Vec<T>, limit: u32, id: impl Fn(&T) -> i64) -> Page<T> {
    let next_before = (items.len() as u32 == limit).then(|| items.last().map(&id)).flatten();
    Page { items, next_before }
}

/// `GET /api/audit?limit=&before=&event_type=`: the audit log, newest first.
pub async fn audit(
    State(state): State<Arc<ApiState>>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<noise_store::audit::AuditEntry>>, ApiError> {
    let (limit, before) = (query.limit()?, query.before()?);
    let mut conn = state.store.pool().acquire().await.map_err(noise_store::StoreError::from)?;
    let rows = noise_store::audit::page(&mut conn, query.event_type.as_deref(), before, limit).await?;
    Ok(Json(page(rows, limit, |e| e.id)))
}

/// A stored backtest as listed: its summary without the curve.
#[derive(Debug, Serialize)]
pub struct BacktestSummary {
    id: i64,
    created_at: chrono::DateTime<chrono::Utc>,
    data_source: String,
    symbols: String,
    strategy: String,
    period_start: chrono::DateTime<chrono::Utc>,
    period_end: chrono::DateTime<chrono::Utc>,
    bars: i64,
    starting_equity: String,
    final_equity: String,
    metrics: Value,
}

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// `GET /api/metrics/backtests?limit=&before=`: stored runs, newest first.
pub async fn backtests(
    State(state): State<Arc<ApiState>>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<BacktestSummary>>, ApiError> {
    let (limit, before) = (query.limit()?, query.before()?);
    let mut conn = state.store.pool().acquire().await.map_err(noise_store::StoreError::from)?;
    let runs = noise_store::backtests::page(&mut conn, before, limit).await?;
    let items = runs
        .into_iter()
        .map(|(id, r)| BacktestSummary {
            id,
            created_at: r.created_at,
            data_source: r.data_source,
            symbols: r.symbols,
            strategy: r.strategy,
            period_start: r.period_start,
            period_end: r.period_end,
            bars: r.bars,
            starting_equity: r.starting_equity.to_string(),
            final_equity: r.final_equity.to_string(),
            metrics: parsed(&r.metrics),
        })
        .collect();
    Ok(Json(page(items, limit, |s| s.id)))
}

fn run_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .map_err(|_| ApiError::BadField { field: "id", message: format!("{text:?}: a backtest run's id") })
}

/// `GET /api/metrics/backtests/{id}`: one run with its equity curve and settings.
pub async fn backtest(State(state): State<Arc<ApiState>>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = run_id(&id)?;
    let mut conn = state.store.pool().acquire().await.map_err(noise_store::StoreError::from)?;
    let Some((id, r)) = noise_store::backtests::one(&mut conn, id).await? else {
        return Err(ApiError::NotFound { message: format!("no backtest run {id}") });
    };
    Ok(Json(json!({
        "id": id,
        "created_at": r.created_at,
        "data_source": r.data_source,
        "symbols": r.symbols,
        "strategy": r.strategy,
        "options": parsed(&r.options),
        "period_start": r.period_start,
        "period_end": r.period_end,
        "bars": r.bars,
        "elapsed_ms": r.elapsed_ms,
        "starting_equity": r.starting_equity,
        "final_equity": r.final_equity,
        "metrics": parsed(&r.metrics),
        "equity_curve": parsed(&r.equity_curve),
        "open_positions": parsed(&r.open_positions),
    })))
}

/// `?limit=&offset=` for a run's trades (in order, so an offset pages them).
#[derive(Debug, Deserialize)]
pub struct TradesQuery {
    limit: Option<String>,
    offset: Option<String>,
}

/// `GET /api/metrics/backtests/{id}/trades?limit=&offset=`.
pub async fn backtest_trades(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<String>,
    Query(query): Query<TradesQuery>,
) -> Result<Json<Value>, ApiError> {
    let id = run_id(&id)?;
    let limit = PageQuery { limit: query.limit.clone(), before: None, event_type: None }.limit()?;
    let offset = match &query.offset {
        None => 0,
        Some(text) => text.parse::<u32>().map_err(|_| ApiError::BadField {
            field: "offset",
            message: format!("{text:?}: a whole number of trades to skip"),
        })?,
    };
    let mut conn = state.store.pool().acquire().await.map_err(noise_store::StoreError::from)?;
    if !noise_store::backtests::exists(&mut conn, id).await? {
        return Err(ApiError::NotFound { message: format!("no backtest run {id}") });
    }
    let trades = noise_store::backtests::trades(&mut conn, id, limit, offset).await?;
    let next_offset = (trades.len() as u32 == limit).then_some(offset + limit);
    Ok(Json(json!({"items": trades, "next_offset": next_offset})))
}

/// Any other `/api` path (after authentication, so it reveals nothing).
pub async fn not_found() -> ApiError {
    ApiError::NotFound { message: "no such endpoint".into() }
}

/// `?symbol=&from=&to=&status=&limit=&before=` for the engine's lists.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    symbol: Option<String>,
    from: Option<String>,
    to: Option<String>,
    status: Option<String>,
    limit: Option<String>,
    before: Option<String>,
}

impl ListQuery {
    fn page(&self) -> PageQuery {
        PageQuery { limit: self.limit.clone(), before: self.before.clone(), event_type: None }
    }

    fn filter(&self) -> Result<noise_store::records::Filter, ApiError> {
        let instant = |field: &'static str, text: &Option<String>| -> Result<_, ApiError> {
            text.as_deref()
                .map(|t| {
                    t.parse::<chrono::DateTime<chrono::Utc>>().map_err(|_| ApiError::BadField {
                        field,
                        message: format!("{t:?}: an RFC 3339 instant such as 2026-03-02T14:30:00Z"),
                    })
                })
                .transpose()
        };
        Ok(noise_store::records::Filter {
            symbol: self.symbol.as_ref().map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty()),
            from: instant("from", &self.from)?,
            to: instant("to", &self.to)?,
            before: self.page().before()?,
        })
    }
}

/// `GET /api/positions`: the open positions as the engine last reconciled them.
pub async fn positions(
    State(state): State<Arc<ApiState>>,
) -> Result<Json<Vec<noise_store::positions::PositionRow>>, ApiError> {
    let mut conn = state.store.pool().acquire().await.map_err(noise_store::StoreError::from)?;
    let rows = noise_store::positions::all(&mut conn).await?;
    Ok(Json(rows.into_iter().filter(|p| !p.quantity.is_zero()).collect()))
}

/// A closed round trip with its id (the cursor).
#[derive(Debug, Serialize)]
pub struct TradeItem {
    id: i64,
    #[serde(flatten)]
    trade: noise_store::records::ClosedTradeRow,
}

/// `GET /api/trades?symbol=&from=&to=&limit=&before=`: closed round trips,
/// newest first (the time range is on the exit).
pub async fn trades(
    State(state): State<Arc<ApiState>>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page<TradeItem>>, ApiError> {
    let (limit, filter) = (query.page().limit()?, query.filter()?);
    let mut conn = state.store.pool().acquire().await.map_err(noise_store::StoreError::from)?;
    let rows = noise_store::records::closed_trades_page(&mut conn, &filter, limit).await?;
    let items = rows.into_iter().map(|(id, trade)| TradeItem { id, trade }).collect();
    Ok(Json(page(items, limit, |t| t.id)))
}

/// `GET /api/signals?symbol=&status=signal|rejected&from=&to=&limit=&before=`.
pub async fn signals(
    State(state): State<Arc<ApiState>>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page<noise_store::signals::SignalRow>>, ApiError> {
    let (limit, filter) = (query.page().limit()?, query.filter()?);
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(s @ ("signal" | "rejected")) => Some(s),
        Some(other) => {
            return Err(ApiError::BadField { field: "status", message: format!("{other:?}: `signal` or `rejected`") });
        }
    };
    let mut conn = state.store.pool().acquire().await.map_err(noise_store::StoreError::from)?;
    let rows = noise_store::signals::page(&mut conn, &filter, status, limit).await?;
    Ok(Json(page(rows, limit, |s| s.id)))
}

/// `GET /api/risk/state`: trading state, breakers, streaks, day trades.
pub async fn risk_state(State(state): State<Arc<ApiState>>) -> Result<Json<Value>, ApiError> {
    let mut conn = state.store.pool().acquire().await.map_err(noise_store::StoreError::from)?;
    let risk = noise_store::risk_state::load(&mut conn).await?;
    Ok(Json(serde_json::to_value(risk).unwrap_or(Value::Null)))
}

/// `GET /api/metrics/daily?limit=`: the end-of-day metrics, the latest first.
pub async fn daily(
    State(state): State<Arc<ApiState>>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Vec<noise_store::records::DailyMetrics>>, ApiError> {
    let limit = query.limit()?;
    let mut conn = state.store.pool().acquire().await.map_err(noise_store::StoreError::from)?;
    Ok(Json(noise_store::records::daily(&mut conn, limit).await?))
}

/// `GET /api/metrics/equity?limit=`: the latest equity snapshots, oldest first.
pub async fn equity(
    State(state): State<Arc<ApiState>>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Vec<noise_store::records::EquitySnapshot>>, ApiError> {
    let limit = query.limit()?;
    let mut conn = state.store.pool().acquire().await.map_err(noise_store::StoreError::from)?;
    Ok(Json(noise_store::records::equity_curve(&mut conn, limit).await?))
}

/// `GET /api/account`: the broker's account figures (equity, cash, buying
/// power, margin). 502 when the broker does not answer.
pub async fn account(State(state): State<Arc<ApiState>>) -> Result<Json<noise_broker::AccountInfo>, ApiError> {
    let Some(broker) = &state.broker else {
        return Err(ApiError::NotFound { message: "no broker is connected to this API".into() });
    };
    broker.account().await.map(Json).map_err(|e| ApiError::Broker { message: e.to_string() })
}

/// `GET /api/events`: server-sent events, one per engine event as it
/// happens (`event:` its kind, `data:` its JSON). A client too slow to keep
/// up gets a `lagged` event saying how many it missed.
pub async fn events(
    State(state): State<Arc<ApiState>>,
) -> Result<
    axum::response::sse::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
    ApiError,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use tokio::sync::broadcast::error::RecvError;
    let Some(sender) = &state.events else {
        return Err(ApiError::NotFound { message: "no engine is running behind this API".into() });
    };
    let receiver = sender.subscribe();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(e) => Event::default().event(e.kind).data(e.json),
            Err(RecvError::Lagged(missed)) => Event::default().event("lagged").data(format!("{{\"missed\":{missed}}}")),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), receiver))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Sends a control to the running engine and waits for its outcome (the
/// engine applies it between minutes, within a second of simulated time).
async fn control(state: &ApiState, control: noise_engine::Control) -> Result<Json<Value>, ApiError> {
    use noise_engine::{ControlOutcomeError, ControlRequest};
    let Some(controls) = &state.controls else {
        return Err(ApiError::Unavailable { message: "no engine is running behind this API".into() });
    };
    let (reply, outcome) = tokio::sync::oneshot::channel();
    let request = ControlRequest { control, by: "api".into(), reply };
    controls.send(request).await.map_err(|_| ApiError::Unavailable { message: "the engine has stopped".into() })?;
    let answer = tokio::time::timeout(std::time::Duration::from_secs(30), outcome).await;
    match answer {
        Ok(Ok(Ok(value))) => Ok(Json(value)),
        Ok(Ok(Err(ControlOutcomeError::Refused(why)))) => Err(ApiError::Conflict { message: why }),
        Ok(Ok(Err(ControlOutcomeError::Failed(why)))) => {
            eprintln!("api: control {control:?} failed: {why}");
            Err(ApiError::Internal)
        }
        Ok(Err(_)) | Err(_) => Err(ApiError::Unavailable { message: "the engine did not answer".into() }),
    }
}

/// `POST /api/trading/pause`: halt trading (only cancels pass) until resumed.
pub async fn pause(State(state): State<Arc<ApiState>>) -> Result<Json<Value>, ApiError> {
    control(&state, noise_engine::Control::Pause).await
}

/// `POST /api/trading/resume`: 409 when trading is not paused.
pub async fn resume(State(state): State<Arc<ApiState>>) -> Result<Json<Value>, ApiError> {
    control(&state, noise_engine::Control::Resume).await
}

/// `POST /api/risk/reset-circuit-breaker`: 409 when none is tripped.
pub async fn reset_circuit_breaker(State(state): State<Arc<ApiState>>) -> Result<Json<Value>, ApiError> {
    control(&state, noise_engine::Control::ResetCircuitBreaker).await
}

/// `POST /api/positions/sync`: positions brought in line with the broker now.
pub async fn sync_positions(State(state): State<Arc<ApiState>>) -> Result<Json<Value>, ApiError> {
    control(&state, noise_engine::Control::SyncPositions).await
}

/// `POST /api/trading/flatten`: the kill switch: cancel every open order,
/// close every position at market, pause.
pub async fn flatten(State(state): State<Arc<ApiState>>) -> Result<Json<Value>, ApiError> {
    control(&state, noise_engine::Control::Flatten).await
}
