//! `noise run` serves the API: the generated token is printed once, the
//! server answers on loopback while the engine trades.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    request(addr, "GET", path, token)
}

fn request(addr: &str, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, response.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default())
}

#[test]
fn noise_run_serves_the_api_with_a_generated_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_noise"))
        .args(["run", "--speed", "300", "--minutes", "300", "--api-addr", "127.0.0.1:0"])
        .args(["--db", dir.path().join("noise.db").to_str().unwrap()])
        .args(["--sim-state", dir.path().join("sim.json").to_str().unwrap()])
        .env_remove("NOISE_API_TOKEN")
        .env_remove("NOISE_DB")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let banner = lines.by_ref().map_while(Result::ok).find(|l| l.contains("API")).expect("a banner line for the API");
    // "   API         http://127.0.0.1:PORT/api (bearer token HEX: shown once; ...)"
    let addr = banner.split("http://").nth(1).unwrap().split('/').next().unwrap().to_string();
    let token = banner.split("bearer token ").nth(1).unwrap().split(':').next().unwrap().to_string();
    assert_eq!(token.len(), 64, "{banner}");

    assert_eq!(get(&addr, "/healthz", None).0, 200);
    assert_eq!(get(&addr, "/api/status", None).0, 401);
    let (status, body) = get(&addr, "/api/status", Some(&token));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"database\":\"connected\""), "{body}");
    let (status, account) = get(&addr, "/api/account", Some(&token));
    assert_eq!(status, 200, "{account}");
    assert!(account.contains("\"equity\""), "{account}");

    // The event stream: engine events arrive as the sim market trades.
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    write!(stream, "GET /api/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\r\n").unwrap();
    let mut seen = String::new();
    let mut buffer = [0u8; 8192];
    while !seen.contains("\nevent: ") && !seen.starts_with("event: ") {
        let n = stream.read(&mut buffer).expect("an engine event within 30 s");
        assert!(n > 0, "the stream closed: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    assert!(seen.contains("data: {\"event\":{") && seen.contains("\"type\":\""), "{seen}");
    // The controls, applied by the engine between minutes, each with its outcome.
    let post = |path: &str| request(&addr, "POST", path, Some(&token));
    assert_eq!(request(&addr, "POST", "/api/trading/pause", None).0, 401);
    let (status, body) = post("/api/trading/pause");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"trading_state\":\"HALTED\""), "{body}");
    assert_eq!(post("/api/trading/pause").0, 409, "already paused");
    let (status, body) = post("/api/trading/resume");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"trading_state\":\"ACTIVE\""), "{body}");
    let (status, body) = post("/api/trading/resume");
    assert_eq!(status, 409, "{body}");
    assert_eq!(post("/api/risk/reset-circuit-breaker").0, 409, "no breaker is tripped");
    assert_eq!(post("/api/positions/sync").0, 200);
    // The kill switch: open orders cancelled, positions closed at market, trading paused.
    let (status, body) = post("/api/trading/flatten");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"trading_state\":\"HALTED\""), "{body}");
    let (_, flattened) = get(&addr, "/api/audit?event_type=flatten", Some(&token));
    assert!(flattened.contains("\"closing_orders\""), "{flattened}");
    assert_eq!(post("/api/trading/resume").0, 200);
    let (status, audit) = get(&addr, "/api/audit?event_type=control", Some(&token));
    assert_eq!(status, 200);
    assert!(audit.contains("\"control\":\"pause\"") && audit.contains("\"by\":\"api\""), "{audit}");
    // The token is printed once: nothing else the engine prints repeats it.
    let rest: Vec<String> = lines.by_ref().take(5).map_while(Result::ok).collect();
    assert!(rest.iter().all(|l| !l.contains(&token)));
    child.kill().unwrap();
    child.wait().unwrap();
}
