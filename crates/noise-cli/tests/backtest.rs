//! `noise backtest` as a user runs it: the sample data, real output files, a
//! real SQLite database, and every kind of bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn noise(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_noise")).args(args).env_remove("NOISE_DB").output().expect("runs the binary")
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample").join(name)
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_run_prints_metrics_writes_json_and_report_and_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let (json, html, db) = (dir.path().join("run.json"), dir.path().join("run.html"), dir.path().join("noise.db"));
    let spy = sample("spy-1m.csv");
    let out = noise(&[
        "backtest",
        "--data",
        spy.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--report",
        html.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for row in [
        "total return",
        "CAGR",
        "Sharpe",
        "Sortino",
        "max drawdown",
        "win rate",
        "profit factor",
        "expectancy",
        "avg trade duration",
        "exposure",
        "trades",
        "stored    run 1",
    ] {
        assert!(stdout.contains(row), "missing {row}:\n{stdout}");
    }

    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for key in ["bars", "load_ms", "elapsed_ms", "bars_per_sec", "metrics", "trades", "equity_curve"] {
        assert!(report.get(key).is_some(), "json lacks {key}");
    }
    let bars = report["bars"].as_u64().unwrap();
    assert!(bars > 1000);
    let curve = report["equity_curve"].as_array().unwrap();
    assert!(curve.len() as u64 <= bars + 1 && curve.len() >= 2);
    assert_eq!(curve[0][1], "100000");
    let trades = report["trades"].as_array().unwrap();
    assert!(!trades.is_empty(), "the sample trades");
    for field in ["symbol", "side", "qty", "entry_time", "entry_price", "exit_time", "exit_price", "pnl", "fees"] {
        assert!(trades[0].get(field).is_some(), "trade lacks {field}");
    }
    assert_eq!(report["metrics"]["trades"].as_u64().unwrap(), trades.len() as u64);

    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("report-data") && !page.contains("__NOISE_REPORT_DATA__"));
    assert!(!page.contains("http://") && !page.contains("https://"), "the report needs no network");
    assert!(page.contains(trades[0]["entry_time"].as_str().unwrap()), "the trade list is in the page");

    let stored = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
             print(c.execute('select count(*) from backtest_runs').fetchone()[0], \
                   c.execute('select count(*) from backtest_trades').fetchone()[0], \
                   c.execute(\"select count(*) from audit_log where event_type = 'backtest_completed'\").fetchone()[0])",
            db.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&stored.stdout).trim(), format!("1 {} 1", trades.len()));
}

#[test]
fn sma_cross_on_equal_terms_and_a_sweep() {
    let spy = sample("spy-1m.csv");
    let spy = spy.to_str().unwrap();
    let common = ["--strategy", "sma-cross --fast 10 --slow 30", "--qty", "100", "--risk", "off", "--long-only"];
    let out = noise(&[&["backtest", "--data", spy, "--no-store"][..], &common].concat());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("sma-cross --fast 10 --slow 30  (risk off, fixed 100, long only)"), "{stdout}");

    let out = noise(&[
        "backtest",
        "--data",
        spy,
        "--no-store",
        "--strategy",
        "sma-cross",
        "--qty",
        "10",
        "--risk",
        "off",
        "--sweep",
        "fast=5..8",
        "--sweep",
        "slow=10..30:10",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("12 point(s): 12 run, 0 skipped"), "{stdout}");
    let ranks: Vec<&str> = stdout.lines().filter(|l| l.trim_start().starts_with(char::is_numeric)).collect();
    assert_eq!(ranks.len(), 12, "{stdout}");
    assert!(ranks[0].trim_start().starts_with("1 "), "{stdout}");
}

#[test]
fn bad_input_gets_a_clear_message_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "timestamp,open,high,low,close,volume\n").unwrap();
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, "timestamp,open,high,low,close,volume\n2026-03-02T14:30:00Z,1,0.5,0.9,1,10\n").unwrap();
    let spy = sample("spy-1m.csv");
    let spy = spy.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--data", empty.to_str().unwrap()], "no bars"),
        (vec!["--data", broken.to_str().unwrap()], "broken.csv:2"),
        (vec!["--data", "/nonexistent/bars.csv"], "cannot read /nonexistent/bars.csv"),
        (vec!["--data", spy, "--symbol", "QQQ"], "no bars for symbol QQQ; the data has SPY"),
        (
            vec!["--data", spy, "--from", "2030-01-01"],
            "no bars from 2030-01-01 05:00 UTC until the end; the data runs from",
        ),
        (vec!["--data", spy, "--from", "2026-03-05", "--to", "2026-03-02"], "is not before --to"),
        (vec!["--data", spy, "--from", "March"], "--from March: write a date"),
        (vec!["--data", spy, "--strategy", "moon-phase"], "unknown strategy `moon_phase`; registered:"),
        (vec!["--data", spy, "--strategy", "sma-cross --fats 5"], "no parameter `fats`; it has: fast, slow"),
        (vec!["--data", spy, "--risk", "off"], "--risk off needs --qty N"),
        (vec!["--data", spy, "--qty", "1.5"], "--qty 1.5: a whole number"),
        (vec!["--data", spy, "--sweep", "fast=5..20"], "name it with --strategy"),
        (vec!["--data", spy, "--strategy", "sma-cross", "--sweep", "fast=20..5"], "needs from ≤ to"),
    ];
    for (args, needle) in cases {
        let out = noise(&[&["backtest", "--no-store"][..], &args].concat());
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: expected {needle:?} in {stderr}");
    }
}

#[test]
fn gaps_are_reported_not_filled() {
    let dir = tempfile::tempdir().unwrap();
    let data = std::fs::read_to_string(sample("spy-1m.csv")).unwrap();
    // Drop five in-session minutes of the first day.
    let mut lines: Vec<&str> = data.lines().collect();
    let dropped: Vec<&str> = lines.drain(101..106).collect();
    let gappy = dir.path().join("spy-gappy.csv");
    std::fs::write(&gappy, lines.join("\n")).unwrap();
    let json = dir.path().join("out.json");
    let out = noise(&["backtest", "--data", gappy.to_str().unwrap(), "--no-store", "--json", json.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("1 gap(s) in the data, 5 in-session minute(s) without a bar"), "{stderr}");
    assert!(stdout.contains("1 gap(s)"), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["gaps"]["count"], 1);
    assert_eq!(report["gaps"]["listed"][0]["missing_bars"], 5);
    assert_eq!(report["bars"].as_u64().unwrap() as usize, lines.len() - 1, "nothing filled in: {dropped:?}");
}

#[test]
fn a_folder_holds_one_file_per_symbol() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["spy-1m.csv", "mnq-1m.csv"] {
        std::fs::copy(sample(name), dir.path().join(name)).unwrap();
    }
    let out = noise(&["backtest", "--data", dir.path().to_str().unwrap(), "--no-store"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("NOISE backtest  MNQ,SPY  noise pipeline"), "{stdout}");
}
