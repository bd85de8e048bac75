//! An ordered map for keys that arrive in increasing order nearly always:
//! fill ids and client order ids, which grow with time at every broker.
//!
//! The ledger keeps one entry per fill it ever applied and per order it
//! booked, and looks one up for every fill. In a tree that is a search and
//! an insertion into a node (a new node every few fills, on a fresh page);
//! here a key above every key so far is one comparison and a push onto a
//! vector. A key out of order is found by binary search, or goes to a tree
//! of its own: every key there is below the vector's last, so a key above
//! that last is new without looking further.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

#[derive(Debug, Clone)]
pub(crate) struct Register<K, V> {
    /// Keys in increasing order: each one arrived above all before it.
    in_order: Vec<(K, V)>,
    /// The rest, each below the last key of `in_order`.
    out_of_order: BTreeMap<K, V>,
}

impl<K, V> Default for Register<K, V> {
    fn default() -> Self {
        Self { in_order: Vec::new(), out_of_order: BTreeMap::new() }
    }
}

impl<K: Ord, V> Register<K, V> {
    pub(crate) fn len(&self) -> usize {
        self.in_order.len() + self.out_of_order.len()
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        match self.in_order.binary_search_by(|(k, _)| k.borrow().cmp(key)) {
            Ok(at) => Some(&self.in_order[at].1),
            Err(_) => self.out_of_order.get(key),
        }
    }

    /// The value of `key`, made by `make` if the key is new; and whether it was.
    pub(crate) fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> (&mut V, bool) {
        let newest = self.in_order.last().is_none_or(|(last, _)| *last < key);
        if newest {
            self.in_order.push((key, make()));
            let at = self.in_order.len() - 1;
            return (&mut self.in_order[at].1, true);
        }
        if let Ok(at) = self.in_order.binary_search_by(|(k, _)| k.cmp(&key)) {
            return (&mut self.in_order[at].1, false);
        }
        match self.out_of_order.entry(key) {
            Entry::Occupied(known) => (known.into_mut(), false),
            Entry::Vacant(new) => (new.insert(make()), true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_in_order_out_of_order_and_again() {
        let mut register = Register::default();
        for (key, inserted) in [(5, true), (7, true), (6, true), (7, false), (6, false), (1, true), (9, true)] {
            let (value, new) = register.get_or_insert_with(key, || key * 10);
            assert_eq!((*value, new), (key * 10, inserted), "key {key}");
        }
        assert_eq!(register.len(), 5);
        assert_eq!((register.get(&6), register.get(&9), register.get(&8)), (Some(&60), Some(&90), None));
    }

    proptest! {
        /// Whatever the order of the keys, it answers as a BTreeMap does.
        #[test]
        fn it_is_a_map(keys in prop::collection::vec(0u16..300, 0..400), probes in prop::collection::vec(0u16..300, 0..50)) {
            let mut register = Register::default();
            let mut model = BTreeMap::new();
            for (index, key) in keys.into_iter().enumerate() {
                let (value, new) = register.get_or_insert_with(key, || index);
                *value += 1;
                let expected_new = !model.contains_key(&key);
                *model.entry(key).or_insert(index) += 1;
                prop_assert_eq!(new, expected_new);
            }
            prop_assert_eq!(register.len(), model.len());
            for key in probes.iter().chain(model.keys()) {
                prop_assert_eq!(register.get(key), model.get(key));
            }
        }
    }
}
