//! Text encodings for the columns: exact decimals, RFC 3339 UTC times, JSON.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::StoreError;

pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(crate) fn parse_time(what: &str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|e| StoreError::Corrupt { what: what.to_string(), detail: format!("time {text:?}: {e}") })
}

pub(crate) fn decimal(what: &str, text: &str) -> Result<Decimal, StoreError> {
    text.parse().map_err(|e| StoreError::Corrupt { what: what.to_string(), detail: format!("decimal {text:?}: {e}") })
}

pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"unserializable\":\"{e}\"}}"))
}

pub(crate) fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt { what: what.to_string(), detail: format!("JSON: {e}") })
}

/// A stored word (side, intent, broker, status, ...) as its enum.
pub(crate) fn word<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e: T::Err| StoreError::Corrupt { what: what.to_string(), detail: e.to_string() })
}
