//! The real brokers from the command line: which ones, from the environment
//! (the only place credentials come from), `noise broker check` and
//! `noise data fetch`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::anyhow;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::America::New_York;
use noise_broker::alpaca::{AlpacaBroker, AlpacaConfig};
use noise_broker::tradovate::{TradovateBroker, TradovateConfig};
use noise_broker::{BrokerAdapter, BrokerError};
use noise_core::instrument::{AssetClass, BrokerKind};

use crate::failure::Failure;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BrokerName {
    Alpaca,
    Tradovate,
}

/// Where Tradovate's device id is kept between runs.
pub fn device_file() -> PathBuf {
    PathBuf::from("var/tradovate-device-id")
}

/// One connected broker, with the extra calls `check` and `fetch` need.
pub enum Connected {
    Alpaca(Arc<AlpacaBroker>),
    Tradovate(Arc<TradovateBroker>),
}

impl Connected {
    pub fn adapter(&self) -> Arc<dyn BrokerAdapter> {
        match self {
            Connected::Alpaca(a) => a.clone(),
            Connected::Tradovate(t) => t.clone(),
        }
    }
}

/// The brokers asked for, built from the environment. Every missing
/// variable of every broker is named at once (exit code 2).
pub fn from_env(names: &[BrokerName], live: bool, device_file: &Path) -> Result<Vec<Connected>, Failure> {
    from_env_reporting(names, live, device_file, None)
}

/// [`from_env`], with breaker transitions and retries reported to `notices`.
pub fn from_env_reporting(
    names: &[BrokerName],
    live: bool,
    device_file: &Path,
    notices: Option<noise_broker::http::NoticeSink>,
) -> Result<Vec<Connected>, Failure> {
    let mut missing = Vec::new();
    let mut connected = Vec::new();
    for name in names {
        match name {
            BrokerName::Alpaca => match AlpacaConfig::from_env(live) {
                Ok(config) => {
                    let mut broker = AlpacaBroker::new(config).map_err(Failure::internal)?;
                    if let Some(sink) = &notices {
                        broker = broker.with_notices(sink.clone());
                    }
                    connected.push(Connected::Alpaca(Arc::new(broker)))
                }
                Err(vars) => missing.extend(vars),
            },
            BrokerName::Tradovate => match TradovateConfig::from_env(live, device_file) {
                Ok(config) => {
                    let mut broker = TradovateBroker::new(config).map_err(Failure::internal)?;
                    if let Some(sink) = &notices {
                        broker = broker.with_notices(sink.clone());
                    }
                    connected.push(Connected::Tradovate(Arc::new(broker)))
                }
                Err(vars) => missing.extend(vars),
            },
        }
    }
    if !missing.is_empty() {
        return Err(Failure::bad_input(anyhow!(
            "missing environment variable{}: {} (credentials come only from the environment)",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", ")
        )));
    }
    Ok(connected)
}

/// Brokers whose required variables are all set, when none was named.
fn configured() -> Vec<BrokerName> {
    let set = |n: &str| noise_broker::env_var(n).is_some();
    let mut names = Vec::new();
    if set("ALPACA_API_KEY") || set("ALPACA_API_SECRET") {
        names.push(BrokerName::Alpaca);
    }
    if ["TRADOVATE_USERNAME", "TRADOVATE_PASSWORD", "TRADOVATE_APP_ID", "TRADOVATE_CID", "TRADOVATE_SECRET"]
        .iter()
        .any(|n| set(n))
    {
        names.push(BrokerName::Tradovate);
    }
    names
}

/// `noise broker check`: authenticate with each broker and show its account,
/// positions and market clock; exit 1 naming what failed.
pub fn check(names: &[BrokerName], live: bool) -> Result<(), Failure> {
    let names = if names.is_empty() { configured() } else { names.to_vec() };
    if names.is_empty() {
        return Err(Failure::bad_input(anyhow!(
            "no broker is configured: set ALPACA_API_KEY and ALPACA_API_SECRET, and/or TRADOVATE_USERNAME, \
             TRADOVATE_PASSWORD, TRADOVATE_APP_ID, TRADOVATE_CID and TRADOVATE_SECRET (or name one with --broker)"
        )));
    }
    let brokers = from_env(&names, live, &device_file())?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Failure::internal)?;
    let mut failed = Vec::new();
    for broker in &brokers {
        let adapter = broker.adapter();
        let name = format!("{:?}", adapter.broker());
        println!("== {name} ({})", if live { "LIVE" } else { "paper/demo" });
        if let Err(error) = runtime.block_on(report(broker)) {
            println!("   FAILED: {}", explain(&error));
            failed.push(format!("{name}: {}", explain(&error)));
        }
    }
    if failed.is_empty() { Ok(()) } else { Err(Failure::internal(anyhow!("{}", failed.join("; ")))) }
}

async fn report(broker: &Connected) -> Result<(), BrokerError> {
    let adapter = broker.adapter();
    adapter.authenticate().await?;
    println!("   login       ok");
    let account = adapter.account().await?;
    println!(
        "   account     equity {}  cash {}  buying power {}  available margin {}",
        account.equity, account.cash, account.buying_power, account.available_margin
    );
    let positions = adapter.positions().await?;
    if positions.is_empty() {
        println!("   positions   none");
    }
    for p in &positions {
        println!("   position    {} {} @ {} (mark {})", p.symbol, p.quantity, p.average_price, p.market_price);
    }
    match broker {
        Connected::Alpaca(alpaca) => {
            let clock = alpaca.clock().await?;
            let at = |t: DateTime<Utc>| t.with_timezone(&New_York).format("%Y-%m-%d %H:%M %Z").to_string();
            println!(
                "   clock       {} ({}); next open {}, next close {}",
                at(clock.timestamp),
                if clock.is_open { "open" } else { "closed" },
                at(clock.next_open),
                at(clock.next_close)
            );
            let pdt = alpaca.pdt_facts().await?;
            println!(
                "   pdt         pattern_day_trader {:?}, daytrade_count {:?}",
                pdt.pattern_day_trader, pdt.daytrade_count
            );
        }
        Connected::Tradovate(tradovate) => {
            let now = Utc::now();
            let open = noise_core::calendar::Venue::CmeGlobex.is_open(now);
            println!(
                "   clock       {} (CME Globex {})",
                now.format("%Y-%m-%d %H:%M UTC"),
                if open { "open" } else { "closed" }
            );
            for root in ["MNQ", "MES", "M2K", "MCL", "MGC"] {
                let (id, name) = tradovate.contract(root, noise_broker::tradovate::trade_date(now)).await?;
                println!("   contract    {root} → {name} (id {id})");
            }
        }
    }
    Ok(())
}

/// What failed, in the words a user needs.
fn explain(error: &BrokerError) -> String {
    match error {
        BrokerError::Unavailable { reason, .. } => format!("unreachable: {reason}"),
        BrokerError::Rejected { reason, .. } => format!("refused: {reason}"),
        BrokerError::Unauthorized { reason, .. } => format!("login refused: {reason}"),
        BrokerError::Malformed { detail, snippet, .. } => {
            format!("a reply that does not parse: {detail} (reply: {snippet})")
        }
        other => other.to_string(),
    }
}

/// `noise data fetch`: history through the symbol's broker into the bar CSV
/// the backtester reads.
pub fn fetch(symbol: &str, from: &str, to: &str, timeframe: &str, out: &Path, live: bool) -> Result<(), Failure> {
    let config = noise_core::config::NoiseConfig::default();
    let symbol = symbol.trim().to_ascii_uppercase();
    let instrument = config
        .instrument(&symbol)
        .cloned()
        .unwrap_or_else(|| noise_core::instrument::Instrument::generic_equity(&symbol));
    let (start, end) = range(from, to)?;
    let minutes = timeframe_minutes(timeframe)?;
    let name = match instrument.broker {
        BrokerKind::Tradovate => BrokerName::Tradovate,
        _ => BrokerName::Alpaca,
    };
    let brokers = from_env(&[name], live, &device_file())?;
    let progress = indicatif::ProgressBar::new_spinner();
    progress.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {pos} bars ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    progress.set_message(format!("{symbol} {timeframe}"));
    let mut tick = |n: usize| progress.set_position(n as u64);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Failure::internal)?;
    let adapter = brokers[0].adapter();
    if instrument.broker == BrokerKind::Tradovate && instrument.asset_class != AssetClass::Future {
        return Err(Failure::bad_input(anyhow!("{symbol} is not a future")));
    }
    let bars = runtime
        .block_on(adapter.bar_history(&symbol, minutes, start, end, &mut tick))
        .map_err(|e| Failure::internal(anyhow!("{symbol}: {}", explain(&e))))?;
    progress.finish_and_clear();
    let mut csv = String::from("timestamp,open,high,low,close,volume\n");
    for b in &bars {
        csv.push_str(&format!(
            "{},{},{},{},{},{}\n",
            b.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume
        ));
    }
    crate::files::write_atomically(out, csv.as_bytes())?;
    println!("{}: {} bars of {symbol} {timeframe} from {from} to {to}", out.display(), bars.len());
    Ok(())
}

/// `--from`/`--to`: dates (New York days, `--to` included) or RFC 3339 instants.
fn range(from: &str, to: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), Failure> {
    let parse = |text: &str, end: bool| -> Result<DateTime<Utc>, Failure> {
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Ok(t.to_utc());
        }
        let date: NaiveDate = text.parse().map_err(|_| {
            Failure::bad_input(anyhow!("{text:?} is neither a date (2026-01-02) nor an RFC 3339 instant"))
        })?;
        let day = if end { date.succ_opt().unwrap_or(date) } else { date };
        let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
        New_York
            .from_local_datetime(&midnight)
            .earliest()
            .map(|t| t.to_utc() - if end { chrono::TimeDelta::seconds(1) } else { chrono::TimeDelta::zero() })
            .ok_or_else(|| Failure::bad_input(anyhow!("{text}: no such time in New York")))
    };
    let (start, end) = (parse(from, false)?, parse(to, true)?);
    if start >= end {
        return Err(Failure::bad_input(anyhow!("--from {from} is not before --to {to}")));
    }
    Ok((start, end))
}

/// `1Min`, `5Min`, `15Min`, `1Hour`, `1Day` as minutes (for Tradovate's charts).
fn timeframe_minutes(timeframe: &str) -> Result<u32, Failure> {
    let split = timeframe.find(|c: char| !c.is_ascii_digit()).unwrap_or(timeframe.len());
    let (n, unit) = timeframe.split_at(split);
    let n: u32 = n.parse().unwrap_or(0);
    let minutes = match unit {
        "Min" | "T" if (1..=59).contains(&n) => n,
        "Hour" | "H" if (1..=23).contains(&n) => n * 60,
        "Day" | "D" if n == 1 => 1440,
        _ => 0,
    };
    if minutes == 0 {
        return Err(Failure::bad_input(anyhow!("--timeframe {timeframe:?}: use 1Min..59Min, 1Hour..23Hour or 1Day")));
    }
    Ok(minutes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_new_york_days_with_the_last_included() {
        let (start, end) = range("2026-01-02", "2026-01-31").unwrap();
        assert_eq!(start.to_rfc3339(), "2026-01-02T05:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-02-01T04:59:59+00:00");
        assert!(range("2026-02-01", "2026-01-01").is_err());
        assert!(range("yesterday", "2026-01-01").is_err());
    }

    #[test]
    fn timeframes_are_alpacas_words() {
        assert_eq!(timeframe_minutes("1Min").unwrap(), 1);
        assert_eq!(timeframe_minutes("15Min").unwrap(), 15);
        assert_eq!(timeframe_minutes("1Hour").unwrap(), 60);
        assert_eq!(timeframe_minutes("1Day").unwrap(), 1440);
        for bad in ["", "0Min", "60Min", "2Day", "5Sec", "Min"] {
            assert!(timeframe_minutes(bad).is_err(), "{bad}");
        }
    }
}
