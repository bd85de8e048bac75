//! Answers to list requests kept while the list has not changed.
//!
//! A page of closed trades depends only on its query and on which trades
//! exist; trades are appended, never rewritten, so a page stays right until
//! a newer trade exists. Asking the store for the newest id costs one
//! indexed lookup; building a page of 100 rows costs a hundred rows
//! crossing sqlx's SQLite thread. The dashboard and every client polling
//! the newest page hit the first case.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;

/// At most this many distinct queries are kept; past it the cache starts over.
const CAPACITY: usize = 256;

#[derive(Debug, Default)]
pub struct PageCache(Mutex<HashMap<String, (i64, Bytes)>>);

impl PageCache {
    /// The answer to `query` built when `newest` was the newest row, if kept.
    pub fn get(&self, query: &str, newest: i64) -> Option<Bytes> {
        let entries = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.get(query).filter(|(at, _)| *at == newest).map(|(_, body)| body.clone())
    }

    pub fn put(&self, query: String, newest: i64, body: Bytes) {
        let mut entries = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= CAPACITY && !entries.contains_key(&query) {
            entries.clear();
        }
        entries.insert(query, (newest, body));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_served_only_while_its_newest_row_is_the_newest() {
        let cache = PageCache::default();
        cache.put("limit=100".into(), 7, Bytes::from_static(b"[7]"));
        assert_eq!(cache.get("limit=100", 7).as_deref(), Some(&b"[7]"[..]));
        assert_eq!(cache.get("limit=100", 8), None, "a newer trade exists");
        assert_eq!(cache.get("limit=5", 7), None, "another query");
        for i in 0..CAPACITY {
            cache.put(format!("q{i}"), 1, Bytes::new());
        }
        assert!(cache.0.lock().unwrap().len() <= CAPACITY);
    }
}
