//! Tradovate (CME micro futures): the access token, REST, the WebSocket protocol.

pub mod frame;
