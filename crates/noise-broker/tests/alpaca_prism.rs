//! The Alpaca adapter against Prism mocks of Alpaca's official OpenAPI
//! documents (`tests/conformance/brokers.sh` starts them; `make test` runs
//! it). Prism checks every request against the spec: a wrong path, header,
//! query parameter or body answers 4xx and fails here. Prism's answers are
//! the spec's examples, or placeholders where the spec has none ("string"
//! in a decimal field), which the adapter must refuse as malformed, naming
//! the reply, never read as a number.

#[path = "support/approval.rs"]
mod support;

use noise_broker::alpaca::{AlpacaBroker, AlpacaConfig};
use noise_broker::{BrokerAdapter, BrokerError, OrderRequest};
use noise_core::signal::Direction;
use rust_decimal_macros::dec;

fn alpaca() -> AlpacaBroker {
    let url = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name}: run tests/conformance/brokers.sh"));
    AlpacaBroker::new(AlpacaConfig {
        key_id: "conformance-key".into(),
        secret: "conformance-secret".into(),
        trading_url: url("PRISM_TRADING_URL"),
        data_url: url("PRISM_DATA_URL"),
        live: false,
        feed: "iex".into(),
    })
    .unwrap()
}

#[tokio::test]
#[ignore = "needs the Prism mocks: tests/conformance/brokers.sh"]
async fn account_clock_and_pdt_facts_conform() {
    let alpaca = alpaca();
    alpaca.authenticate().await.unwrap();
    let account = alpaca.account().await.unwrap();
    assert_eq!(
        (account.equity, account.cash, account.buying_power),
        (dec!(123346.11), dec!(122086.5), dec!(245432.61))
    );
    assert_eq!(alpaca.pdt_facts().await.unwrap().daytrade_count, Some(0));
    let clock = alpaca.clock().await.unwrap();
    assert!(clock.next_open > clock.timestamp);
    alpaca.calendar("2026-01-02".parse().unwrap(), "2026-01-09".parse().unwrap()).await.unwrap();
}

#[tokio::test]
#[ignore = "needs the Prism mocks: tests/conformance/brokers.sh"]
async fn a_bracket_order_request_conforms_and_its_answer_parses() {
    let (approval, _) = support::approval("SPY", "spy-1m.csv", Direction::Long);
    let order = OrderRequest::from_approval(&approval, "noise-202603091401-SPY");
    assert!(order.stop_loss().is_some() && order.take_profit().is_some(), "a bracket");
    let state = alpaca().place_order(&order).await.expect("Prism accepted the request body");
    assert_eq!(state.filled_quantity, dec!(0));
}

#[tokio::test]
#[ignore = "needs the Prism mocks: tests/conformance/brokers.sh"]
async fn placeholders_in_decimal_fields_are_refused_with_the_reply() {
    let alpaca = alpaca();
    // The spec has no example for these: Prism fills decimals with "string".
    for outcome in
        [alpaca.order_status("noise-202603091401-SPY").await.map(|_| ()), alpaca.positions().await.map(|_| ())]
    {
        match outcome {
            Err(BrokerError::Malformed { snippet, .. }) => assert!(snippet.contains("\"string\""), "{snippet}"),
            other => panic!("the request conformed, so only the reply can be wrong: {other:?}"),
        }
    }
}

#[tokio::test]
#[ignore = "needs the Prism mocks: tests/conformance/brokers.sh"]
async fn market_data_bars_conform_and_paging_stops_on_a_repeated_token() {
    let alpaca = alpaca();
    let bars = alpaca.recent_bars("SPY", 5).await.unwrap();
    assert_eq!(bars.len(), 1);
    assert_eq!(bars[0].close, dec!(178.21));
    // The static mock answers every page with the same next_page_token: the
    // second request (with page_token) conformed, and the loop stops.
    let start = "2026-01-02T14:30:00Z".parse().unwrap();
    let end = "2026-01-02T21:00:00Z".parse().unwrap();
    let error = alpaca.bars("SPY", "1Min", start, end, &mut |_| {}).await.unwrap_err();
    assert!(error.to_string().contains("the same next_page_token twice"), "{error}");
}

#[tokio::test]
#[ignore = "needs the Prism mocks: tests/conformance/brokers.sh"]
async fn the_fill_activities_request_conforms() {
    // Prism validates the path and every query parameter (after, direction, page_size).
    match alpaca().fills_since("2026-03-09T14:00:00Z".parse().unwrap()).await {
        Ok(fills) => assert!(fills.iter().all(|f| f.quantity > dec!(0))),
        // Prism's generated activities may not be fills; what matters is that the request passed.
        Err(BrokerError::Malformed { .. }) => {}
        Err(other) => panic!("the request does not conform to the spec: {other}"),
    }
}
