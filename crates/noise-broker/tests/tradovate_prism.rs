//! The Tradovate adapter's request bodies against a Prism mock of the
//! Tradovate OpenAPI excerpt (`tests/conformance/brokers.sh`; `make test`
//! runs it): Prism validates each body and header against the spec and
//! answers 422 with the violations when one breaks it.

#[path = "support/approval.rs"]
mod support;
#[path = "support/tradovate_config.rs"]
mod tradovate_config;

use noise_broker::OrderRequest;
use noise_broker::tradovate::{TradovateConfig, login_body, order_request};
use noise_core::instrument::Instrument;
use noise_core::risk::{PositionSnapshot, kill_switch_exit};
use noise_core::signal::Direction;
use rust_decimal_macros::dec;
use serde_json::{Value, json};
use tradovate_config::config;

fn url(path: &str) -> String {
    let base = std::env::var("PRISM_TRADOVATE_URL").expect("PRISM_TRADOVATE_URL: run tests/conformance/brokers.sh");
    format!("{base}{path}")
}

/// (status, Prism's violations) of a POST.
async fn post(path: &str, body: &Value, token: Option<&str>) -> (u16, String) {
    noise_broker::install_crypto_provider();
    let mut request = reqwest::Client::new().post(url(path)).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("Prism answers");
    let status = response.status().as_u16();
    let violations = response.headers().get("sl-violations").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let body = response.text().await.unwrap_or_default();
    (status, format!("{violations} {body}"))
}

#[tokio::test]
#[ignore = "needs the Prism mocks: tests/conformance/brokers.sh"]
async fn the_login_body_conforms_with_cid_as_the_schema_types_it() {
    let (status, why) = post(
        "/auth/accesstokenrequest",
        &login_body(&TradovateConfig { cid_as_string: true, ..config("", "", "pw") }),
        None,
    )
    .await;
    assert_eq!(status, 200, "{why}");
    // As Tradovate's examples send it (a number), the schema refuses it: hence the switch.
    let (status, why) = post("/auth/accesstokenrequest", &login_body(&config("", "", "pw")), None).await;
    assert_eq!(status, 422, "{why}");
    assert!(why.contains("cid"), "{why}");
}

#[tokio::test]
#[ignore = "needs the Prism mocks: tests/conformance/brokers.sh"]
async fn bracket_and_plain_orders_and_a_cancel_conform() {
    let account = (101, "DEMO123".to_string());
    let (approval, _) = support::approval("MNQ", "mnq-1m.csv", Direction::Long);
    let (path, body) =
        order_request(&OrderRequest::from_approval(&approval, "noise-1-MNQ"), &account, "MNQZ6").unwrap();
    assert_eq!(path, "/order/placeoso");
    let (status, why) = post(&path, &body, Some("token")).await;
    assert_eq!(status, 200, "{why}");

    let instruments = Instrument::defaults();
    let mnq = instruments.iter().find(|i| i.symbol == "MNQ").unwrap();
    let held = PositionSnapshot::new(mnq, dec!(2), dec!(21450.25), dec!(21460.00));
    let exit = kill_switch_exit(&held, "2026-11-25T15:00:00Z".parse().unwrap());
    let order = OrderRequest::from_approval(exit.approval().unwrap(), "noise-1-MNQ-flatten");
    let (path, body) = order_request(&order, &account, "MNQZ6").unwrap();
    assert_eq!(
        (path.as_str(), &body["action"], &body["orderType"]),
        ("/order/placeorder", &json!("Sell"), &json!("Market"))
    );
    let (status, why) = post(&path, &body, Some("token")).await;
    assert_eq!(status, 200, "{why}");

    let (status, why) = post("/order/cancelorder", &json!({"orderId": 5000, "isAutomated": true}), Some("token")).await;
    assert_eq!(status, 200, "{why}");
    let (status, why) = post("/cashBalance/getcashbalancesnapshot", &json!({"accountId": 101}), Some("token")).await;
    assert_eq!(status, 200, "{why}");
}
