//! The position policy over whole `noise run`s (1,500 simulated minutes of
//! the synthetic market, partial fills): what the round trips, the orders
//! and the stored risk decisions say about every entry.

mod support;

use std::collections::BTreeMap;

use noise_core::config::NoiseConfig;
use noise_core::ledger::RoundTrip;
use noise_core::risk::Intent;
use support::{stored, trade};

/// The most entry orders of one symbol and side open at once, by symbol
/// (from the round trips: an entry order is open from its first fill to
/// the last exit of its lots).
fn most_entries_open(trips: &[RoundTrip]) -> BTreeMap<String, usize> {
    let mut spans: BTreeMap<(String, String), (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> =
        BTreeMap::new();
    for t in trips.iter().filter(|t| !t.reconciled) {
        let order = t.entry_order.as_deref().unwrap_or(&t.entry_fill_id).to_string();
        let span = spans.entry((t.symbol.to_string(), order)).or_insert((t.entry_time, t.exit_time));
        span.0 = span.0.min(t.entry_time);
        span.1 = span.1.max(t.exit_time);
    }
    let mut most = BTreeMap::new();
    for ((symbol, _), (opened, _)) in &spans {
        // Entries of this symbol open when this one opened (closing at that instant is closed).
        let open = spans.iter().filter(|((s, _), (o, c))| s == symbol && *o <= *opened && *opened < *c).count();
        let slot = most.entry(symbol.clone()).or_insert(0);
        *slot = (*slot).max(open);
    }
    most
}

/// The stored risk decisions (the `risk_decision` audit events).
async fn decisions(dir: &std::path::Path) -> Vec<serde_json::Value> {
    let store = noise_store::Store::open(&dir.join("noise.db")).await.unwrap();
    let mut conn = store.acquire().await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as("SELECT details FROM audit_log WHERE event_type = 'risk_decision'")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    rows.into_iter().map(|(d,)| serde_json::from_str::<serde_json::Value>(&d).unwrap()["decision"].clone()).collect()
}

fn denials<'a>(decisions: &'a [serde_json::Value], code: &str) -> Vec<&'a serde_json::Value> {
    decisions.iter().filter(|d| d["verdict"]["reason"]["reason"] == code).collect()
}

#[tokio::test]
async fn the_defaults_never_add_to_a_position_nor_send_a_sliver() {
    let dir = tempfile::tempdir().unwrap();
    let config = NoiseConfig::default();
    trade(dir.path(), &config, 11, 1500, None).await;
    let (_, trips, orders) = stored(dir.path()).await;
    assert!(trips.len() > 50, "{} round trips", trips.len());
    for (symbol, open) in most_entries_open(&trips) {
        assert_eq!(open, 1, "{symbol}: {open} entries open at once");
    }
    let decisions = decisions(dir.path()).await;
    assert!(!denials(&decisions, "already_held").is_empty(), "same-side signals were refused by name");
    // The Signals tab's rows carry the refusal.
    let store = noise_store::Store::open(&dir.path().join("noise.db")).await.unwrap();
    let mut conn = store.acquire().await.unwrap();
    let filter = noise_store::records::Filter::default();
    let page = noise_store::signals::page(&mut conn, &filter, Some("signal"), 500).await.unwrap();
    let held = page.iter().filter(|s| s.risk_verdict.as_deref() == Some("block")).find(|s| {
        s.risk_reason.as_deref().is_some_and(|r| {
            r.starts_with(&format!("already_held: already {} {}", s.direction.to_lowercase(), s.symbol))
        })
    });
    assert!(held.is_some(), "a signal row shows its already_held refusal");
    assert!(page.iter().any(|s| matches!(s.risk_verdict.as_deref(), Some("allow" | "reduce"))));
    // Every entry the caps cut kept at least a quarter of what they allow on a flat book.
    for d in decisions.iter().filter(|d| d["approval"].is_object() && d["intent"] == "entry") {
        let fraction = d["checks"].as_array().unwrap().iter().find(|c| c["name"] == "min_order_fraction");
        if let Some(check) = fraction {
            assert_eq!(check["status"], "passed", "{d}");
        }
    }
    // Each entry with its own bracket: every filled entry order has legs.
    let entries =
        orders.iter().filter(|o| o.intent == Intent::Entry && o.parent.is_none() && !o.filled_quantity.is_zero());
    for entry in entries.filter(|o| o.stop_loss.is_some()) {
        let legs = orders.iter().filter(|o| o.parent.as_deref() == Some(entry.client_order_id.as_str())).count();
        assert!(legs >= 1, "{} has no bracket legs", entry.client_order_id);
    }
}

#[tokio::test]
async fn three_entries_scale_in_each_with_its_bracket() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = NoiseConfig::default();
    config.risk.positions.max_entries_per_symbol = 3;
    trade(dir.path(), &config, 11, 1500, None).await;
    let (_, trips, orders) = stored(dir.path()).await;
    let most = most_entries_open(&trips);
    assert!(most.values().all(|&n| n <= 3), "{most:?}");
    assert!(most.values().any(|&n| n >= 2), "some symbol scaled in: {most:?}");
    let entries: Vec<_> = orders
        .iter()
        .filter(|o| o.intent == Intent::Entry && o.parent.is_none() && !o.filled_quantity.is_zero())
        .collect();
    for entry in entries.iter().filter(|o| o.stop_loss.is_some()) {
        let legs = orders.iter().filter(|o| o.parent.as_deref() == Some(entry.client_order_id.as_str())).count();
        assert!(legs >= 1, "{} has no bracket legs", entry.client_order_id);
    }
}
