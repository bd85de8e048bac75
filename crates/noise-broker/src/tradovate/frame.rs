//! Tradovate's WebSocket framing (user-data and market-data sockets alike).
//!
//! Server frames start with one character: `o` opened, `h` heartbeat, `a`
//! followed by a JSON array of messages, `c` closed. A message is either a
//! response `{"s": status, "i": id, "d": payload}` or a pushed event
//! `{"e": kind, "d": payload}`. Client requests are four newline-separated
//! parts, `endpoint\nid\nquery\nbody`; the client's heartbeat is the text `[]`.

use serde_json::Value;

/// The client heartbeat, due at least every 2.5 s.
pub const HEARTBEAT: &str = "[]";

/// One server frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Open,
    Heartbeat,
    Messages(Vec<Message>),
    Closed { detail: String },
}

/// One message of an `a` frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// The answer to request `id`: an HTTP-like status and its payload.
    Response { id: i64, status: u16, data: Value },
    /// A pushed event: `props` (entity changes), `md`, `chart`, `shutdown`, `clock`.
    Event { kind: String, data: Value },
}

/// A frame that does not follow the protocol, with the raw text's start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail} (frame: {snippet})")]
pub struct FrameError {
    pub detail: String,
    pub snippet: String,
}

pub fn parse(text: &str) -> Result<Frame, FrameError> {
    let error = |detail: &str| FrameError { detail: detail.to_string(), snippet: crate::snippet(text) };
    let mut chars = text.chars();
    match chars.next() {
        Some('o') => Ok(Frame::Open),
        Some('h') => Ok(Frame::Heartbeat),
        Some('c') => Ok(Frame::Closed { detail: chars.as_str().to_string() }),
        Some('a') => {
            let items: Vec<Value> =
                serde_json::from_str(chars.as_str()).map_err(|e| error(&format!("an `a` frame's array: {e}")))?;
            items
                .into_iter()
                .map(|item| message(item).map_err(|d| error(&d)))
                .collect::<Result<_, _>>()
                .map(Frame::Messages)
        }
        Some(other) => Err(error(&format!("unknown frame type {other:?}"))),
        None => Err(error("an empty frame")),
    }
}

fn message(item: Value) -> Result<Message, String> {
    let data = item.get("d").cloned().unwrap_or(Value::Null);
    if let Some(kind) = item.get("e").and_then(Value::as_str) {
        return Ok(Message::Event { kind: kind.to_string(), data });
    }
    let id =
        item.get("i").and_then(Value::as_i64).ok_or_else(|| format!("a message with neither `e` nor `i`: {item}"))?;
    let status = item
        .get("s")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .ok_or_else(|| format!("response {id} without a status `s`"))?;
    Ok(Message::Response { id, status, data })
}

/// A request: `endpoint\nid\nquery\nbody` (empty parts kept).
pub fn request(endpoint: &str, id: i64, query: &str, body: &str) -> String {
    format!("{endpoint}\n{id}\n{query}\n{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_parse_by_their_first_character() {
        assert_eq!(parse("o"), Ok(Frame::Open));
        assert_eq!(parse("h"), Ok(Frame::Heartbeat));
        assert_eq!(parse("c[1000,\"bye\"]"), Ok(Frame::Closed { detail: "[1000,\"bye\"]".into() }));
        let frame = parse(r#"a[{"i":0,"s":200},{"e":"chart","d":{"charts":[]}}]"#).unwrap();
        assert_eq!(
            frame,
            Frame::Messages(vec![
                Message::Response { id: 0, status: 200, data: Value::Null },
                Message::Event { kind: "chart".into(), data: json!({"charts": []}) },
            ])
        );
        assert_eq!(
            parse(r#"a[{"s":429,"i":7}]"#).unwrap(),
            Frame::Messages(vec![Message::Response { id: 7, status: 429, data: Value::Null }])
        );
    }

    #[test]
    fn malformed_frames_are_errors_with_the_raw_text() {
        for bad in ["", "x", "a{", "a[{\"d\":1}]", "a[{\"i\":3}]"] {
            let error = parse(bad).unwrap_err();
            assert!(bad.is_empty() || error.snippet == bad, "{bad}: {error}");
        }
        let long = format!("a[{}", "9".repeat(10_000));
        assert!(parse(&long).unwrap_err().snippet.len() <= 300);
    }

    #[test]
    fn requests_keep_their_empty_parts() {
        assert_eq!(request("authorize", 0, "", "TOKEN"), "authorize\n0\n\nTOKEN");
        assert_eq!(request("md/getchart", 3, "", "{}"), "md/getchart\n3\n\n{}");
    }
}
