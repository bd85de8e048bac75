//! The `noise` binary as a user runs it: real files, real exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn noise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_noise")).args(args).output().expect("runs the binary")
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../noise-core/tests/golden").join(name)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn indicators_match_talib_column_for_column() {
    let dir = tempfile::tempdir().unwrap();
    for series in ["spy", "mnq", "edge"] {
        let output = dir.path().join(format!("{series}.csv"));
        let bars = golden(&format!("{series}.bars.csv"));
        let out = noise(&["indicators", "--input", bars.to_str().unwrap(), "--output", output.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let ours = std::fs::read_to_string(&output).unwrap();
        let theirs = std::fs::read_to_string(golden(&format!("{series}.talib.csv"))).unwrap();
        let (mut ours, mut theirs) = (ours.lines(), theirs.lines());
        assert_eq!(
            ours.next().unwrap(),
            "timestamp,rsi_14,macd,macd_signal,macd_hist,bb_upper,bb_middle,bb_lower,atr_14,adx_14,plus_di_14,minus_di_14,obv,sma_20,ema_20"
        );
        theirs.next();
        let mut rows = 0;
        for (line, (a, b)) in ours.zip(theirs).enumerate() {
            let (a, b): (Vec<&str>, Vec<&str>) = (a.split(',').collect(), b.split(',').collect());
            assert_eq!(a[0], b[0], "{series} row {line}: timestamps are echoed as written");
            for (col, (x, y)) in a.iter().zip(&b).enumerate().skip(1) {
                match (x.is_empty(), y.is_empty()) {
                    (true, true) => {}
                    (false, false) => {
                        let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
                        assert!((x - y).abs() <= 1e-9 * y.abs().max(1e-3), "{series} row {line} col {col}: {x} vs {y}");
                    }
                    _ => panic!("{series} row {line} col {col}: {x:?} vs TA-Lib {y:?}"),
                }
            }
            rows += 1;
        }
        assert_eq!(rows, 3000);
    }
}

#[test]
fn bad_rows_exit_2_naming_file_and_line_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bars.csv");
    std::fs::write(&input, "timestamp,open,high,low,close,volume\n2026-01-05T14:30:00Z,1,2,0.5,1.5,10\n2026-01-05T14:31:00Z,1,2,0.5,NaN,10\n").unwrap();
    let output = dir.path().join("out.csv");
    std::fs::write(&output, "previous contents\n").unwrap();
    let out = noise(&["indicators", "--input", input.to_str().unwrap(), "--output", output.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(message.contains("bars.csv:3:") && message.contains("not a finite number"), "{message}");
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "previous contents\n",
        "a failed run leaves the old output alone"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "no temporary file left behind: {leftovers:?}");
}

#[test]
fn missing_file_and_mixed_symbols_exit_2() {
    let out = noise(&["indicators", "--input", "/nonexistent/bars.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read /nonexistent/bars.csv"));

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("multi.csv");
    std::fs::write(
        &input,
        "timestamp,symbol,open,high,low,close,volume\n1767623400,SPY,1,2,0.5,1.5,10\n1767623400,QQQ,1,2,0.5,1.5,10\n",
    )
    .unwrap();
    let out = noise(&["indicators", "--input", input.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("several symbols"), "{}", stderr(&out));
}

#[test]
fn config_check_prints_effective_settings_or_every_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[indicators]\nrsi_period = 21\n").unwrap();
    let out = noise(&["config", "check", "--config", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("rsi_period = 21") && printed.contains("macd_slow = 26"), "{printed}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[indicators]\nrsi_period = 0\nmacd_fast = \"12\"\nbb_deviations = -1.0\ntypo = 3\n").unwrap();
    let out = noise(&["config", "check", "--config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    for key in ["indicators.rsi_period", "indicators.macd_fast", "indicators.bb_deviations", "indicators.typo"] {
        assert!(message.contains(key), "{key} not reported in {message}");
    }
}

#[test]
fn example_config_is_valid() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../noise.example.toml");
    let out = noise(&["config", "check", "--config", example.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample").join(name)
}

#[test]
fn signals_json_lines_carry_provenance() {
    let input = sample("spy-1m.csv");
    let out = noise(&["signals", "--input", input.to_str().unwrap(), "--symbol", "SPY", "--json", "--rejected"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert!(lines.iter().any(|v| v["status"] == "signal"));
    assert!(lines.iter().any(|v| v["status"] == "rejected" && v["reason"].as_str().is_some_and(|r| !r.is_empty())));
    for v in &lines {
        for field in [
            "time",
            "symbol",
            "direction",
            "strength",
            "entry",
            "stop_loss",
            "take_profit",
            "regime",
            "components",
            "filters",
        ] {
            assert!(!v[field].is_null(), "{field} missing in {v}");
        }
        let time = v["time"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok() && time.ends_with('Z'), "{time}");
        assert!(matches!(v["direction"].as_str(), Some("LONG" | "SHORT")));
        assert_eq!(v["symbol"], "SPY");
    }
    let without_rejected = noise(&["signals", "--input", input.to_str().unwrap(), "--symbol", "SPY", "--json"]);
    let count = String::from_utf8_lossy(&without_rejected.stdout).lines().count();
    assert_eq!(count, lines.iter().filter(|v| v["status"] == "signal").count());
}

#[test]
fn signals_refuse_unknown_symbols_and_bad_files() {
    let input = sample("spy-1m.csv");
    let out = noise(&["signals", "--input", input.to_str().unwrap(), "--symbol", "NOPE"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown symbol NOPE") && stderr(&out).contains("SPY"), "{}", stderr(&out));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "timestamp,open,high,low,close,volume\n2026-03-02T14:30:00Z,1,2,3,1.5,10\n").unwrap();
    let out = noise(&["signals", "--input", bad.to_str().unwrap(), "--symbol", "SPY"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad.csv:2:"), "{}", stderr(&out));
}

#[test]
fn migrate_applies_once_then_reports_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("var/noise.db");
    let first = noise(&["migrate", "--db", db.to_str().unwrap()]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(String::from_utf8_lossy(&first.stdout).contains("applied migration 1 (initial)"));
    let second = noise(&["migrate", "--db", db.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&second.stdout).contains("up to date at schema version 7"));
}

#[test]
fn schedule_prints_new_york_and_utc_times_across_dst() {
    let out = noise(&["schedule", "--from", "2026-03-06T12:00:00Z", "--count", "2", "--job", "end-of-day"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        vec![
            "end-of-day 2026-03-06T17:00:00-05:00 2026-03-06T22:00:00Z",
            "end-of-day 2026-03-09T17:00:00-04:00 2026-03-09T21:00:00Z",
        ]
    );
    let bad = noise(&["schedule", "--job", "lunch"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("unknown job"));
    let bad = noise(&["schedule", "--from", "yesterday"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// `--broker` takes credentials from the environment only: every missing
/// variable is named at once; an unreachable host is named; `--live` needs `--broker`.
#[test]
fn real_brokers_need_their_variables_and_say_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("noise.db");
    let db = db.to_str().unwrap();
    let bare = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_noise"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("ALPACA_API_KEY")
            .env_remove("ALPACA_API_SECRET")
            .env_remove("TRADOVATE_USERNAME")
            .env_remove("TRADOVATE_PASSWORD")
            .env("TRADOVATE_APP_ID", "NOISE")
            .env_remove("TRADOVATE_CID")
            .env_remove("TRADOVATE_SECRET")
            .output()
            .unwrap()
    };
    let out = bare(&["run", "--broker", "alpaca,tradovate", "--db", db, "--no-api"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for var in [
        "ALPACA_API_KEY",
        "ALPACA_API_SECRET",
        "TRADOVATE_USERNAME",
        "TRADOVATE_PASSWORD",
        "TRADOVATE_CID",
        "TRADOVATE_SECRET",
    ] {
        assert!(stderr.contains(var), "{var}: {stderr}");
    }
    assert!(!stderr.contains("TRADOVATE_APP_ID"), "a variable that is set is not named: {stderr}");
    let out = bare(&["broker", "check", "--broker", "tradovate"]);
    assert_eq!(out.status.code(), Some(2));
    let out = bare(&["run", "--live", "--db", db]);
    assert_ne!(out.status.code(), Some(0), "--live alone is refused");
    let out = bare(&["run", "--broker", "alpaca", "--speed", "60", "--db", db]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--speed is for the simulated market"));

    let unreachable = Command::new(env!("CARGO_BIN_EXE_noise"))
        .args(["broker", "check", "--broker", "alpaca"])
        .current_dir(dir.path())
        .env("ALPACA_API_KEY", "key")
        .env("ALPACA_API_SECRET", "secret")
        .env("ALPACA_TRADING_URL", "http://127.0.0.1:9")
        .env("ALPACA_DATA_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&unreachable.stderr);
    assert_eq!(unreachable.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("unreachable") && stderr.contains("cannot connect"), "{stderr}");
    assert!(
        !stderr.contains("secret") && !String::from_utf8_lossy(&unreachable.stdout).contains("secret"),
        "never the secret"
    );
}

#[path = "../../noise-broker/tests/support/http.rs"]
mod fake_http;

/// `noise data fetch` through a fake Alpaca market-data host: every page of
/// bars, into the CSV the backtester reads.
#[test]
fn data_fetch_writes_every_page_into_a_bar_csv_the_backtester_reads() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let Some(request) = fake_http::read_request(&mut stream).await else { return };
                assert_eq!(request.header("apca-api-key-id"), Some("key"));
                assert_eq!(request.path, "/v2/stocks/SPY/bars");
                let second = fake_http::query_value(&request.query, "page_token").is_some();
                let minutes: Vec<u32> = if second { (35..60).collect() } else { (30..35).collect() };
                let bars: Vec<String> = minutes
                    .iter()
                    .map(|m| format!(r#"{{"t":"2026-01-02T14:{m:02}:00Z","o":590.1,"h":590.5,"l":589.9,"c":590.25,"v":1200,"n":10,"vw":590.2}}"#))
                    .collect();
                let token = if second { "null".to_string() } else { "\"next\"".to_string() };
                let body = format!(r#"{{"bars":[{}],"symbol":"SPY","next_page_token":{token}}}"#, bars.join(","));
                fake_http::respond(&mut stream, 200, "", &body).await;
            });
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("spy.csv");
    let fetched = Command::new(env!("CARGO_BIN_EXE_noise"))
        .args([
            "data",
            "fetch",
            "--symbol",
            "spy",
            "--from",
            "2026-01-02",
            "--to",
            "2026-01-02",
            "--out",
            out.to_str().unwrap(),
        ])
        .current_dir(dir.path())
        .env("ALPACA_API_KEY", "key")
        .env("ALPACA_API_SECRET", "secret")
        .env("ALPACA_TRADING_URL", &url)
        .env("ALPACA_DATA_URL", &url)
        .output()
        .unwrap();
    assert!(fetched.status.success(), "{}", stderr(&fetched));
    let csv = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "timestamp,open,high,low,close,volume");
    assert_eq!(lines.len(), 1 + 30, "both pages");
    assert_eq!(lines[1], "2026-01-02T14:30:00Z,590.1,590.5,589.9,590.25,1200");
    let report = noise(&["backtest", "--data", out.to_str().unwrap(), "--no-store", "--quiet"]);
    assert!(report.status.success(), "the backtester reads it: {}", stderr(&report));
    let bad = Command::new(env!("CARGO_BIN_EXE_noise"))
        .args([
            "data",
            "fetch",
            "--symbol",
            "SPY",
            "--from",
            "2026-01-02",
            "--to",
            "2026-01-02",
            "--timeframe",
            "5Sec",
            "--out",
            "x.csv",
        ])
        .current_dir(dir.path())
        .env("ALPACA_API_KEY", "key")
        .env("ALPACA_API_SECRET", "secret")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--timeframe"), "{}", stderr(&bad));
}
