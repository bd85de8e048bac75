//! The handlers.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use noise_core::metrics::TradeTally;
use noise_core::risk::{ExposureReport, PositionSnapshot, RiskFigures, RiskLimits, RiskState};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::{ApiError, ApiState, ErrorBody, MAX_LIMIT};

/// The answers every authenticated route may give besides its own.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // describes responses for the document; the errors are built as `ApiError`
pub enum CommonErrors {
    /// A missing or wrong bearer token.
    #[response(status = 401)]
    Unauthorized(ErrorBody),
    /// A request body over `[api] max_body_bytes`.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// Over this client's request budget (with `Retry-After`).
    #[response(status = 429)]
    TooMany(ErrorBody),
    /// The request failed inside; the server log says why.
    #[response(status = 500)]
    Internal(ErrorBody),
}

/// `GET /healthz`: alive, nothing more (it is the one route without a token).
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "alive"}))
}

/// The seed's health document, plus mode and version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// `healthy`, or `degraded` when the database does not answer.
    status: &'static str,
    /// Each broker by name: `connected` or `disconnected`.
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    brokers: Value,
    /// `connected` or `error`.
    database: &'static str,
    /// `on` while any breaker is tripped.
    circuit_breaker: &'static str,
    trading_state: Option<noise_core::risk::TradingState>,
    last_signal_time: Option<DateTime<Utc>>,
    /// `paper` or `live`.
    mode: &'static str,
    version: &'static str,
}

/// `GET /api/status`: the seed's health document, plus mode and version.
#[utoipa::path(get, path = "/status", tag = "status",
    responses((status = 200, body = Status), CommonErrors))]
pub async fn status(State(state): State<Arc<ApiState>>) -> Result<Json<Status>, ApiError> {
    let mut conn = state.store.acquire().await?;
    let database = noise_store::ping(&mut conn).await.is_ok();
    let risk = noise_store::risk_state::load(&mut conn).await.ok().flatten();
    let breaker = risk.as_ref().is_some_and(|r| !r.breakers.is_empty());
    let last_signal = noise_store::signals::last_signal_time(&mut conn).await.ok().flatten();
    let mut brokers = serde_json::Map::new();
    if let Some(broker) = &state.broker {
        for (kind, answer) in broker.connectivity().await {
            let name = format!("{kind:?}").to_lowercase();
            brokers.insert(name, json!(if answer.is_ok() { "connected" } else { "disconnected" }));
        }
    }
    let broker = Value::Object(brokers);
    Ok(Json(Status {
        status: if database { "healthy" } else { "degraded" },
        brokers: broker,
        database: if database { "connected" } else { "error" },
        circuit_breaker: if breaker { "on" } else { "off" },
        trading_state: risk.as_ref().map(|r| r.trading_state),
        last_signal_time: last_signal,
        mode: state.mode,
        version: env!("CARGO_PKG_VERSION"),
    }))
}

/// `?limit=&before=&event_type=`: a page size and a cursor.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows per page, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The cursor: the `next_before` of the previous page (rows with a smaller id).
    #[param(value_type = Option<i64>)]
    before: Option<String>,
    /// Only events of this type (audit log only).
    event_type: Option<String>,
}

/// `?limit=`: how many rows, 1 to 1000 (default 100).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitQuery {
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

impl LimitQuery {
    fn limit(&self) -> Result<u32, ApiError> {
        PageQuery { limit: self.limit.clone(), before: None, event_type: None }.limit()
    }
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

/// A page of rows and the cursor of the next page (null on the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    items: Vec<T>,
    next_before: Option<i64>,
}

fn page<T>(items: Vec<T>, limit: u32, id: impl Fn(&T) -> i64) -> Page<T> {
    let next_before = (items.len() as u32 == limit).then(|| items.last().map(&id)).flatten();
    Page { items, next_before }
}

/// `GET /api/audit?limit=&before=&event_type=`: the audit log, newest first.
#[utoipa::path(get, path = "/audit", tag = "audit", params(PageQuery),
    responses((status = 200, body = Page<noise_store::audit::AuditEntry>),
              (status = 400, description = "a bad parameter, named", body = ErrorBody), CommonErrors))]
pub async fn audit(
    State(state): State<Arc<ApiState>>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<noise_store::audit::AuditEntry>>, ApiError> {
    let (limit, before) = (query.limit()?, query.before()?);
    let mut conn = state.store.acquire().await?;
    let rows = noise_store::audit::page(&mut conn, query.event_type.as_deref(), before, limit).await?;
    Ok(Json(page(rows, limit, |e| e.id)))
}

/// A stored backtest as listed: its summary without the curve.
#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestSummary {
    id: i64,
    created_at: DateTime<Utc>,
    data_source: String,
    symbols: String,
    strategy: String,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    bars: i64,
    starting_equity: Decimal,
    final_equity: Decimal,
    /// The run's performance metrics (total return, Sharpe, drawdown, …).
    #[schema(value_type = Object)]
    metrics: Value,
}

/// One stored backtest with its curve and settings.
#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestDetail {
    #[serde(flatten)]
    summary: BacktestSummary,
    /// The command's settings.
    #[schema(value_type = Object)]
    options: Value,
    elapsed_ms: f64,
    /// `[time, equity]` points (at most 2,000; equity a decimal string).
    #[schema(value_type = Vec<(DateTime<Utc>, String)>)]
    equity_curve: Value,
    /// Positions open at the end, marked to the last close (symbol, side,
    /// qty, entry_time, entry_price, mark_price, unrealized_pnl).
    #[schema(value_type = Vec<Object>)]
    open_positions: Value,
}

/// A page of a run's trades, and the offset of the next (null on the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestTradesPage {
    items: Vec<noise_store::backtests::BacktestTrade>,
    next_offset: Option<u32>,
}

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// `GET /api/metrics/backtests?limit=&before=`: stored runs, newest first.
#[utoipa::path(get, path = "/metrics/backtests", tag = "backtests", params(PageQuery),
    responses((status = 200, body = Page<BacktestSummary>), (status = 400, body = ErrorBody), CommonErrors))]
pub async fn backtests(
    State(state): State<Arc<ApiState>>,
    Query(query): Query<PageQuery>,
) -> Result<Json<Page<BacktestSummary>>, ApiError> {
    let (limit, before) = (query.limit()?, query.before()?);
    let mut conn = state.store.acquire().await?;
    let runs = noise_store::backtests::page(&mut conn, before, limit).await?;
    let items = runs.iter().map(|(id, r)| BacktestSummary::of(*id, r)).collect();
    Ok(Json(page(items, limit, |s| s.id)))
}

impl BacktestSummary {
    fn of(id: i64, r: &noise_store::backtests::BacktestRun) -> Self {
        Self {
            id,
            created_at: r.created_at,
            data_source: r.data_source.clone(),
            symbols: r.symbols.clone(),
            strategy: r.strategy.clone(),
            period_start: r.period_start,
            period_end: r.period_end,
            bars: r.bars,
            starting_equity: r.starting_equity,
            final_equity: r.final_equity,
            metrics: parsed(&r.metrics),
        }
    }
}

fn run_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .map_err(|_| ApiError::BadField { field: "id", message: format!("{text:?}: a backtest run's id") })
}

/// `GET /api/metrics/backtests/{id}`: one run with its equity curve and settings.
#[utoipa::path(get, path = "/metrics/backtests/{id}", tag = "backtests",
    params(("id" = i64, Path, description = "the run's id")),
    responses((status = 200, body = BacktestDetail), (status = 400, body = ErrorBody),
              (status = 404, description = "no such run", body = ErrorBody), CommonErrors))]
pub async fn backtest(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<String>,
) -> Result<Json<BacktestDetail>, ApiError> {
    let id = run_id(&id)?;
    let mut conn = state.store.acquire().await?;
    let Some((id, r)) = noise_store::backtests::one(&mut conn, id).await? else {
        return Err(ApiError::NotFound { message: format!("no backtest run {id}") });
    };
    Ok(Json(BacktestDetail {
        summary: BacktestSummary::of(id, &r),
        options: parsed(&r.options),
        elapsed_ms: r.elapsed_ms,
        equity_curve: parsed(&r.equity_curve),
        open_positions: parsed(&r.open_positions),
    }))
}

/// `?limit=&offset=` for a run's trades (in order, so an offset pages them).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TradesQuery {
    /// Trades per page, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// Trades to skip (the previous page's `next_offset`).
    #[param(value_type = Option<u32>)]
    offset: Option<String>,
}

/// `GET /api/metrics/backtests/{id}/trades?limit=&offset=`.
#[utoipa::path(get, path = "/metrics/backtests/{id}/trades", tag = "backtests",
    params(("id" = i64, Path, description = "the run's id"), TradesQuery),
    responses((status = 200, body = BacktestTradesPage), (status = 400, body = ErrorBody),
              (status = 404, description = "no such run", body = ErrorBody), CommonErrors))]
pub async fn backtest_trades(
    State(state): State<Arc<ApiState>>,
    Path(id): Path<String>,
    Query(query): Query<TradesQuery>,
) -> Result<Json<BacktestTradesPage>, ApiError> {
    let id = run_id(&id)?;
    let limit = PageQuery { limit: query.limit.clone(), before: None, event_type: None }.limit()?;
    let offset = match &query.offset {
        None => 0,
        Some(text) => text.parse::<u32>().map_err(|_| ApiError::BadField {
            field: "offset",
            message: format!("{text:?}: a whole number of trades to skip"),
        })?,
    };
    let mut conn = state.store.acquire().await?;
    if !noise_store::backtests::exists(&mut conn, id).await? {
        return Err(ApiError::NotFound { message: format!("no backtest run {id}") });
    }
    let trades = noise_store::backtests::trades(&mut conn, id, limit, offset).await?;
    let next_offset = (trades.len() as u32 == limit).then_some(offset + limit);
    Ok(Json(BacktestTradesPage { items: trades, next_offset }))
}

/// Any other `/api` path (after authentication, so it reveals nothing).
pub async fn not_found() -> ApiError {
    ApiError::NotFound { message: "no such endpoint".into() }
}

/// `?symbol=&from=&to=&status=&limit=&before=` for the engine's lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this symbol (any case).
    symbol: Option<String>,
    /// From this instant, inclusive (RFC 3339).
    #[param(value_type = Option<DateTime<Utc>>)]
    from: Option<String>,
    /// Up to this instant, exclusive (RFC 3339).
    #[param(value_type = Option<DateTime<Utc>>)]
    to: Option<String>,
    /// Rows per page, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The cursor: the `next_before` of the previous page.
    #[param(value_type = Option<i64>)]
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

/// An open lot: one entry fill still (partly) held.
#[derive(Debug, Serialize, ToSchema)]
pub struct LotView {
    symbol: String,
    #[serde(flatten)]
    lot: noise_core::ledger::Lot,
    /// (market − entry) × quantity × point value, less the lot's entry fee
    /// not yet charged (null without a market price).
    unrealized_pnl: Option<Decimal>,
}

/// An open position as the ledger holds it (from fills), marked at the broker's price.
#[derive(Debug, Serialize, ToSchema)]
pub struct PositionView {
    symbol: String,
    broker: noise_core::instrument::BrokerKind,
    /// `equity` or `future` (null for a symbol the config does not know).
    asset_class: Option<noise_core::instrument::AssetClass>,
    correlation_group: Option<String>,
    /// Signed: positive long, negative short.
    quantity: Decimal,
    /// The quantity-weighted entry price of its lots.
    average_price: Decimal,
    /// The broker's latest price (null when the broker does not answer).
    market_price: Option<Decimal>,
    /// Money per 1.0 of price per unit (the futures multiplier, 1 for shares).
    point_value: Option<Decimal>,
    /// |quantity| × market price × point value.
    notional: Option<Decimal>,
    /// (market − average) × quantity × point value, before fees.
    unrealized_pnl: Option<Decimal>,
    opened_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The entry fills it is made of, oldest first (closed first in, first out).
    lots: Vec<LotView>,
}

/// `GET /api/positions`: the open positions as the ledger holds them (from
/// fills), with their lots, marked at the broker's prices.
#[utoipa::path(get, path = "/positions", tag = "positions",
    responses((status = 200, body = Vec<PositionView>), CommonErrors))]
pub async fn positions(State(state): State<Arc<ApiState>>) -> Result<Json<Vec<PositionView>>, ApiError> {
    let (rows, mut lots) = {
        let mut conn = state.store.acquire().await?;
        (noise_store::positions::all(&mut conn).await?, noise_store::positions::lots(&mut conn).await?)
    };
    // Marks are a courtesy: a broker that does not answer leaves them empty, the list stands.
    let held = match &state.broker {
        Some(broker) => broker.positions().await.unwrap_or_default(),
        None => Vec::new(),
    };
    let views = rows
        .into_iter()
        .filter(|p| !p.quantity.is_zero())
        .map(|p| {
            let instrument = state.instrument(&p.symbol);
            let market_price = held.iter().find(|h| h.symbol == p.symbol).map(|h| h.market_price);
            let snapshot = instrument
                .zip(market_price)
                .map(|(i, price)| PositionSnapshot::new(i, p.quantity, p.average_price, price));
            let point_value = instrument.map(|i| i.point_value);
            let (mine, rest): (Vec<_>, Vec<_>) = lots.drain(..).partition(|(symbol, _)| *symbol == p.symbol);
            lots = rest;
            let lots = mine
                .into_iter()
                .map(|(symbol, lot)| LotView {
                    unrealized_pnl: market_price.zip(point_value).map(|(m, pv)| lot.unrealized_pnl(m, pv).normalize()),
                    symbol,
                    lot,
                })
                .collect();
            PositionView {
                asset_class: instrument.map(|i| i.asset_class),
                correlation_group: instrument.map(|i| i.correlation_group.clone()),
                point_value,
                notional: snapshot.as_ref().map(PositionSnapshot::notional),
                unrealized_pnl: snapshot.as_ref().map(PositionSnapshot::unrealized_pnl),
                market_price,
                symbol: p.symbol,
                broker: p.broker,
                quantity: p.quantity,
                average_price: p.average_price,
                opened_at: p.opened_at,
                updated_at: p.updated_at,
                lots,
            }
        })
        .collect();
    Ok(Json(views))
}

/// A closed round trip (the ledger's) with its id (the cursor).
#[derive(Debug, Serialize, ToSchema)]
pub struct TradeItem {
    id: i64,
    #[serde(flatten)]
    trade: noise_core::ledger::RoundTrip,
}

/// `GET /api/trades?symbol=&from=&to=&limit=&before=`: closed round trips,
/// newest first (the time range is on the exit).
#[utoipa::path(get, path = "/trades", tag = "trades", params(ListQuery),
    responses((status = 200, body = Page<TradeItem>), (status = 400, body = ErrorBody), CommonErrors))]
pub async fn trades(
    State(state): State<Arc<ApiState>>,
    Query(query): Query<ListQuery>,
    uri: axum::http::Uri,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let (limit, filter) = (query.page().limit()?, query.filter()?);
    let mut conn = state.store.acquire().await?;
    let newest = noise_store::records::newest_trade_id(&mut conn).await?;
    let key = uri.query().unwrap_or_default();
    let body = match state.trade_pages.get(key, newest) {
        Some(body) => body,
        None => {
            let rows = noise_store::records::round_trips_page(&mut conn, &filter, limit).await?;
            let items = rows.into_iter().map(|(id, trade)| TradeItem { id, trade }).collect();
            let body: axum::body::Bytes = serde_json::to_vec(&page(items, limit, |t| t.id))
                .map_err(|e| {
                    eprintln!("api: cannot serialize trades: {e}");
                    ApiError::Internal
                })?
                .into();
            state.trade_pages.put(key.to_string(), newest, body.clone());
            body
        }
    };
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// A round trip with the fills behind it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TradeDetail {
    id: i64,
    #[serde(flatten)]
    trade: noise_core::ledger::RoundTrip,
    /// Every fill of its entry order and of its exit order (all the parts of
    /// a partly filled order), oldest first; the two this round trip took
    /// its units from are marked.
    fills: Vec<TradeFill>,
}

/// A fill as a round trip's detail shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TradeFill {
    #[serde(flatten)]
    fill: noise_store::fills::FillRow,
    /// `entry` or `exit` when this round trip took its units from this fill.
    role: Option<&'static str>,
}

/// `GET /api/trades/{id}`: one round trip with its fills.
#[utoipa::path(get, path = "/trades/{id}", tag = "trades",
    params(("id" = i64, Path, description = "the round trip's id")),
    responses((status = 200, body = TradeDetail), (status = 400, body = ErrorBody),
              (status = 404, description = "no such round trip", body = ErrorBody), CommonErrors))]
pub async fn trade(State(state): State<Arc<ApiState>>, Path(id): Path<String>) -> Result<Json<TradeDetail>, ApiError> {
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::BadField { field: "id", message: format!("{id:?}: a round trip's id") })?;
    let mut conn = state.store.acquire().await?;
    let Some(trade) = noise_store::records::round_trip(&mut conn, id).await? else {
        return Err(ApiError::NotFound { message: format!("no round trip {id}") });
    };
    let orders: Vec<&str> = [trade.entry_order.as_deref(), trade.exit_order.as_deref()].into_iter().flatten().collect();
    let mut rows = noise_store::fills::of_orders(&mut conn, &orders).await?;
    // A reconciliation fill belongs to no order: fetched by its id.
    for fill_id in [&trade.entry_fill_id, &trade.exit_fill_id] {
        if !rows.iter().any(|r| r.fill.fill_id == fill_id)
            && let Some(row) = noise_store::fills::by_fill_id(&mut conn, trade.broker, fill_id).await?
        {
            rows.push(row);
        }
    }
    rows.sort_by_key(|r| r.id);
    let fills = rows
        .into_iter()
        .map(|fill| {
            let role = if fill.fill.fill_id == trade.entry_fill_id {
                Some("entry")
            } else if fill.fill.fill_id == trade.exit_fill_id {
                Some("exit")
            } else {
                None
            };
            TradeFill { fill, role }
        })
        .collect();
    Ok(Json(TradeDetail { id, trade, fills }))
}

/// `GET /api/fills?symbol=&from=&to=&limit=&before=`: every fill booked in
/// the ledger, newest first (the time range is on the fill's time).
#[utoipa::path(get, path = "/fills", tag = "trades", params(ListQuery),
    responses((status = 200, body = Page<noise_store::fills::FillRow>), (status = 400, body = ErrorBody), CommonErrors))]
pub async fn fills(
    State(state): State<Arc<ApiState>>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Page<noise_store::fills::FillRow>>, ApiError> {
    let (limit, filter) = (query.page().limit()?, query.filter()?);
    let mut conn = state.store.acquire().await?;
    let rows = noise_store::fills::page(&mut conn, &filter, limit).await?;
    Ok(Json(page(rows, limit, |f| f.id)))
}

/// `?status=`: signals only.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// `signal` (acted on) or `rejected` (a candidate a filter refused).
    status: Option<String>,
}

/// `GET /api/signals?symbol=&status=signal|rejected&from=&to=&limit=&before=`.
#[utoipa::path(get, path = "/signals", tag = "signals", params(ListQuery, StatusQuery),
    responses((status = 200, body = Page<noise_store::signals::SignalRow>), (status = 400, body = ErrorBody),
              CommonErrors))]
pub async fn signals(
    State(state): State<Arc<ApiState>>,
    Query(query): Query<ListQuery>,
    Query(only): Query<StatusQuery>,
) -> Result<Json<Page<noise_store::signals::SignalRow>>, ApiError> {
    let (limit, filter) = (query.page().limit()?, query.filter()?);
    let status = match only.status.as_deref() {
        None | Some("") => None,
        Some(s @ ("signal" | "rejected")) => Some(s),
        Some(other) => {
            return Err(ApiError::BadField { field: "status", message: format!("{other:?}: `signal` or `rejected`") });
        }
    };
    let mut conn = state.store.acquire().await?;
    let rows = noise_store::signals::page(&mut conn, &filter, status, limit).await?;
    Ok(Json(page(rows, limit, |s| s.id)))
}

/// The risk state with the limits it is held against and today's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct RiskView {
    /// Absent before the engine's first minute.
    #[serde(flatten)]
    state: Option<RiskState>,
    limits: RiskLimits,
    /// The breakers' measures at the broker's equity now (null when the broker does not answer).
    figures: Option<RiskFigures>,
}

/// `GET /api/risk/state`: trading state, breakers, streaks, day trades, with
/// each figure against its limit.
#[utoipa::path(get, path = "/risk/state", tag = "risk",
    responses((status = 200, body = RiskView), CommonErrors))]
pub async fn risk_state(State(state): State<Arc<ApiState>>) -> Result<Json<RiskView>, ApiError> {
    let risk = {
        let mut conn = state.store.acquire().await?;
        noise_store::risk_state::load(&mut conn).await?
    };
    let equity = state.broker_equity().await;
    let figures = risk.as_ref().zip(equity).map(|(r, equity)| RiskFigures::new(r, equity, state.now()));
    Ok(Json(RiskView { state: risk, limits: RiskLimits::from(&state.risk), figures }))
}

/// `GET /api/risk/exposure`: exposure by symbol, asset class and correlation
/// group against the caps, at the broker's positions and prices.
#[utoipa::path(get, path = "/risk/exposure", tag = "risk",
    responses((status = 200, body = ExposureReport),
              (status = 502, description = "the broker did not answer", body = ErrorBody),
              (status = 404, description = "no broker behind this API", body = ErrorBody), CommonErrors))]
pub async fn exposure(State(state): State<Arc<ApiState>>) -> Result<Json<ExposureReport>, ApiError> {
    let broker = connected(&state)?;
    let broker_error = |e: noise_broker::BrokerError| ApiError::Broker { message: e.to_string() };
    let account = broker.account().await.map_err(broker_error)?;
    let held = broker.positions().await.map_err(broker_error)?;
    let snapshots: Vec<PositionSnapshot> = held
        .iter()
        .filter_map(|p| {
            let instrument = state.instrument(&p.symbol)?;
            Some(PositionSnapshot::new(instrument, p.quantity, p.average_price, p.market_price))
        })
        .collect();
    Ok(Json(ExposureReport::new(&snapshots, account.equity, &state.risk.exposure)))
}

fn connected(state: &ApiState) -> Result<&Arc<dyn noise_broker::BrokerAdapter>, ApiError> {
    state.broker.as_ref().ok_or_else(|| ApiError::NotFound { message: "no broker is connected to this API".into() })
}

/// The account at a glance: equity, today's P&L, and every closed trade's totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct Summary {
    /// The broker's equity now (null when the broker does not answer).
    equity: Option<Decimal>,
    /// Equity now less the day's starting equity (null without either).
    day_pnl: Option<Decimal>,
    #[serde(flatten)]
    trades: TradeTally,
    win_rate: Option<f64>,
    profit_factor: Option<f64>,
    /// The deepest fall from a peak of the equity snapshots, % (null without snapshots).
    max_drawdown_pct: Option<f64>,
}

/// `GET /api/metrics/summary`: equity, day P&L, totals of every closed trade
/// (exact money), win rate, profit factor, deepest drawdown.
#[utoipa::path(get, path = "/metrics/summary", tag = "metrics",
    responses((status = 200, body = Summary), CommonErrors))]
pub async fn summary(State(state): State<Arc<ApiState>>) -> Result<Json<Summary>, ApiError> {
    let (totals, risk) = {
        let mut conn = state.store.acquire().await?;
        let totals = state.summary.current(&mut conn).await?;
        (totals, noise_store::risk_state::load(&mut conn).await?)
    };
    let equity = state.broker_equity().await;
    Ok(Json(Summary {
        day_pnl: equity.zip(risk).map(|(e, r)| e - r.day_start_equity),
        equity,
        win_rate: totals.trades.win_rate(),
        profit_factor: totals.trades.profit_factor(),
        max_drawdown_pct: totals.drawdown.deepest_pct(),
        trades: totals.trades,
    }))
}

/// `GET /api/metrics/daily?limit=`: the end-of-day metrics, the latest first.
#[utoipa::path(get, path = "/metrics/daily", tag = "metrics", params(LimitQuery),
    responses((status = 200, body = Vec<noise_store::records::DailyMetrics>), (status = 400, body = ErrorBody),
              CommonErrors))]
pub async fn daily(
    State(state): State<Arc<ApiState>>,
    Query(query): Query<LimitQuery>,
) -> Result<Json<Vec<noise_store::records::DailyMetrics>>, ApiError> {
    let limit = query.limit()?;
    let mut conn = state.store.acquire().await?;
    Ok(Json(noise_store::records::daily(&mut conn, limit).await?))
}

/// `GET /api/metrics/equity?limit=`: the latest equity snapshots, oldest first.
#[utoipa::path(get, path = "/metrics/equity", tag = "metrics", params(LimitQuery),
    responses((status = 200, body = Vec<noise_store::records::EquitySnapshot>), (status = 400, body = ErrorBody),
              CommonErrors))]
pub async fn equity(
    State(state): State<Arc<ApiState>>,
    Query(query): Query<LimitQuery>,
) -> Result<Json<Vec<noise_store::records::EquitySnapshot>>, ApiError> {
    let limit = query.limit()?;
    let mut conn = state.store.acquire().await?;
    Ok(Json(noise_store::records::equity_curve(&mut conn, limit).await?))
}

/// `GET /api/account`: the broker's account figures (equity, cash, buying
/// power, margin). 502 when the broker does not answer.
#[utoipa::path(get, path = "/account", tag = "account",
    responses((status = 200, body = noise_broker::AccountInfo),
              (status = 404, description = "no broker behind this API", body = ErrorBody),
              (status = 502, description = "the broker did not answer", body = ErrorBody), CommonErrors))]
pub async fn account(State(state): State<Arc<ApiState>>) -> Result<Json<noise_broker::AccountInfo>, ApiError> {
    connected(&state)?.account().await.map(Json).map_err(|e| ApiError::Broker { message: e.to_string() })
}

/// `GET /api/events`: server-sent events, one per engine event as it
/// happens (`event:` its kind, `data:` its JSON). A client too slow to keep
/// up gets a `lagged` event saying how many it missed.
#[utoipa::path(get, path = "/events", tag = "events",
    responses((status = 200, content_type = "text/event-stream",
               description = "`event:` signal, decision, order_placed, order_rejected, fill, closed, equity, daily, risk or lagged; `data:` `{\"time\", \"event\": {\"type\", \"data\"}}`",
               body = String),
              (status = 404, description = "no engine behind this API", body = ErrorBody), CommonErrors))]
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

/// What a control did, as the engine reports it: `control` (its name),
/// `trading_state` and `breakers` after it, and `events`, how many engine
/// events it caused (each also on the event stream and in the audit log).
#[derive(Debug, Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct ControlOutcome(Value);

/// `GET /api/openapi.json`: this document.
#[utoipa::path(get, path = "/openapi.json", tag = "status",
    responses((status = 200, description = "the OpenAPI 3 document of this API", body = Object), CommonErrors))]
pub async fn openapi_document() -> Json<&'static Value> {
    Json(crate::openapi())
}

/// Sends a control to the running engine and waits for its outcome (the
/// engine applies it between minutes, within a second of simulated time).
async fn control(state: &ApiState, control: noise_engine::Control) -> Result<Json<ControlOutcome>, ApiError> {
    use noise_engine::{ControlOutcomeError, ControlRequest};
    let Some(controls) = &state.controls else {
        return Err(ApiError::Unavailable { message: "no engine is running behind this API".into() });
    };
    let (reply, outcome) = tokio::sync::oneshot::channel();
    let request = ControlRequest { control, by: "api".into(), reply };
    controls.send(request).await.map_err(|_| ApiError::Unavailable { message: "the engine has stopped".into() })?;
    let answer = tokio::time::timeout(std::time::Duration::from_secs(30), outcome).await;
    match answer {
        Ok(Ok(Ok(value))) => Ok(Json(ControlOutcome(value))),
        Ok(Ok(Err(ControlOutcomeError::Refused(why)))) => Err(ApiError::Conflict { message: why }),
        Ok(Ok(Err(ControlOutcomeError::Failed(why)))) => {
            eprintln!("api: control {control:?} failed: {why}");
            Err(ApiError::Internal)
        }
        Ok(Err(_)) | Err(_) => Err(ApiError::Unavailable { message: "the engine did not answer".into() }),
    }
}

/// `POST /api/trading/pause`: halt trading (only cancels pass) until resumed.
#[utoipa::path(post, path = "/trading/pause", tag = "controls",
    responses((status = 200, description = "trading halted: only cancels pass", body = ControlOutcome),
              (status = 409, description = "already halted", body = ErrorBody),
              (status = 503, description = "no engine running, or it did not answer", body = ErrorBody),
              CommonErrors))]
pub async fn pause(State(state): State<Arc<ApiState>>) -> Result<Json<ControlOutcome>, ApiError> {
    control(&state, noise_engine::Control::Pause).await
}

/// `POST /api/trading/resume`: 409 when trading is not paused.
#[utoipa::path(post, path = "/trading/resume", tag = "controls",
    responses((status = 200, description = "trading resumed", body = ControlOutcome),
              (status = 409, description = "trading is not paused", body = ErrorBody),
              (status = 503, description = "no engine running, or it did not answer", body = ErrorBody),
              CommonErrors))]
pub async fn resume(State(state): State<Arc<ApiState>>) -> Result<Json<ControlOutcome>, ApiError> {
    control(&state, noise_engine::Control::Resume).await
}

/// `POST /api/risk/reset-circuit-breaker`: 409 when none is tripped.
#[utoipa::path(post, path = "/risk/reset-circuit-breaker", tag = "controls",
    responses((status = 200, description = "the breakers reset", body = ControlOutcome),
              (status = 409, description = "no breaker is tripped", body = ErrorBody),
              (status = 503, description = "no engine running, or it did not answer", body = ErrorBody),
              CommonErrors))]
pub async fn reset_circuit_breaker(State(state): State<Arc<ApiState>>) -> Result<Json<ControlOutcome>, ApiError> {
    control(&state, noise_engine::Control::ResetCircuitBreaker).await
}

/// `POST /api/positions/sync`: positions brought in line with the broker now.
#[utoipa::path(post, path = "/positions/sync", tag = "controls",
    responses((status = 200, description = "positions brought in line with the broker", body = ControlOutcome),
              (status = 409, description = "the state forbids it", body = ErrorBody),
              (status = 503, description = "no engine running, or it did not answer", body = ErrorBody),
              CommonErrors))]
pub async fn sync_positions(State(state): State<Arc<ApiState>>) -> Result<Json<ControlOutcome>, ApiError> {
    control(&state, noise_engine::Control::SyncPositions).await
}

/// `POST /api/trading/flatten`: the kill switch: cancel every open order,
/// close every position at market, pause.
#[utoipa::path(post, path = "/trading/flatten", tag = "controls",
    responses((status = 200, description = "orders cancelled, positions closed, trading halted", body = ControlOutcome),
              (status = 409, description = "the state forbids it", body = ErrorBody),
              (status = 503, description = "no engine running, or it did not answer", body = ErrorBody),
              CommonErrors))]
pub async fn flatten(State(state): State<Arc<ApiState>>) -> Result<Json<ControlOutcome>, ApiError> {
    control(&state, noise_engine::Control::Flatten).await
}
