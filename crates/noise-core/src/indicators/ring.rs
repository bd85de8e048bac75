//! A fixed-capacity ring of the most recent values.

#[derive(Debug, Clone)]
pub(crate) struct Ring {
    values: Box<[f64]>,
    next: usize,
    len: usize,
}

impl Ring {
    pub fn new(capacity: usize) -> Self {
        Self { values: vec![0.0; capacity.max(1)].into_boxed_slice(), next: 0, len: 0 }
    }

    /// Appends `x`, overwriting the oldest value once full.
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.push_evicting(x);
    }

    /// Appends `x`; returns the value it overwrote when the ring was full.
    #[inline(always)]
    pub fn push_evicting(&mut self, x: f64) -> Option<f64> {
        let evicted = self.is_full().then(|| self.values[self.next]);
        self.values[self.next] = x;
        self.next += 1;
        if self.next == self.values.len() {
            self.next = 0;
        }
        if self.len < self.values.len() {
            self.len += 1;
        }
        evicted
    }

    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == self.values.len()
    }

    pub fn capacity(&self) -> usize {
        self.values.len()
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The values from oldest to newest.
    pub fn iter_oldest_first(&self) -> impl Iterator<Item = f64> + '_ {
        let (newer, older) =
            if self.is_full() { self.values.split_at(self.next) } else { (&self.values[..self.len], &[][..]) };
        older.iter().chain(newer).copied()
    }

    pub fn as_slice(&self) -> &[f64] {
        &self.values[..self.len]
    }
}
