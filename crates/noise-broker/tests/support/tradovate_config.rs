//! A Tradovate configuration for tests: fixed credentials, the given hosts.

use noise_broker::tradovate::TradovateConfig;

pub fn config(rest_url: &str, md_url: &str, password: &str) -> TradovateConfig {
    TradovateConfig {
        username: "trader".into(),
        password: password.into(),
        app_id: "NOISE".into(),
        app_version: "0.1".into(),
        cid: "1234".into(),
        secret: "s3cret".into(),
        device_id: "device-1".into(),
        account: None,
        rest_url: rest_url.into(),
        ws_url: md_url.into(),
        md_url: md_url.into(),
        live: false,
        cid_as_string: false,
    }
}
