use super::ring::Ring;
use super::{Indicator, IndicatorError, TA_EPSILON, check_period};

/// Upper, middle and lower Bollinger band.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bands {
    pub upper: f64,
    pub middle: f64,
    pub lower: f64,
}

impl Bands {
    /// Where `price` sits in the band: 0 at the lower band, 1 at the upper
    /// (%B); `None` when the band has no width.
    pub fn percent_b(&self, price: f64) -> Option<f64> {
        let width = self.upper - self.lower;
        (width > 0.0).then(|| (price - self.lower) / width)
    }
}

/// Bollinger Bands (TA-Lib `BBANDS` with an SMA middle): middle = the mean
/// of the window (a running sum), bands = middle ± k·σ with σ the
/// population standard deviation of the window.
///
/// σ comes from running sums of deviations from a pivot, not from a running
/// sum of raw squares: that sum cancels catastrophically (a flat window after
/// a price jump shows a phantom σ) and its error grows with history, past
/// 1e-9 relative after a million bars at futures prices. The pivot is
/// re-anchored on the newest price once per window and the sums recomputed
/// exactly, so error never accumulates beyond one window; and whenever the
/// variance cancels down to a millionth of the deviation that just left (a
/// window turned flat right after a jump), it is recomputed exactly before
/// use, so a flat window has σ = 0 exactly. The cost stays O(1) per
/// bar (O(period) once per period and on such cancellations). TA-Lib 0.8 is
/// accurate here too; the golden tests hold us to it.
#[derive(Debug, Clone)]
pub struct BollingerBands {
    params: Params,
    window: Ring,
    sums: Sums,
}

#[derive(Debug, Clone, Copy)]
struct Params {
    period: usize,
    inverse_period: f64,
    deviations: f64,
}

/// The running state, kept apart from the window so the slice batch can
/// hold it in registers.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    /// Σ x over the window (the middle band's running sum).
    total: f64,
    pivot: f64,
    /// Σ (x − pivot) and Σ (x − pivot)² over the window.
    deviation_sum: f64,
    deviation_squares: f64,
    since_pivot: usize,
}

impl Sums {
    #[inline(always)]
    fn variance(&self, p: &Params) -> f64 {
        let mean_deviation = self.deviation_sum * p.inverse_period;
        (-mean_deviation).mul_add(mean_deviation, self.deviation_squares * p.inverse_period)
    }

    /// Re-anchors the pivot on `x` (a value in the window) and recomputes the
    /// deviation sums exactly, over the window oldest first.
    #[inline(always)]
    fn repivot(&mut self, x: f64, window: impl Iterator<Item = f64>) {
        self.pivot = x;
        self.since_pivot = 0;
        let (mut sum, mut squares) = (0.0, 0.0);
        for v in window {
            let d = v - x;
            sum += d;
            squares = d.mul_add(d, squares);
        }
        self.deviation_sum = sum;
        self.deviation_squares = squares;
    }

    /// One bar of the recurrence, shared by [`Indicator::update`] and
    /// [`BollingerBands::series_of`] so the two agree bit for bit. `evicted`
    /// is the value leaving the window (none while it fills); `window` gives
    /// the window's values oldest first, for a re-anchor.
    #[inline(always)]
    fn step<W: Iterator<Item = f64>>(
        &mut self,
        p: &Params,
        x: f64,
        evicted: Option<f64>,
        full: bool,
        window: impl FnOnce() -> W,
    ) -> Option<Bands> {
        let d = x - self.pivot;
        // The evicted value leaves as the new one enters, so each sum takes one
        // add on its loop-carried chain (d² − e² as (d − e)(d + e)).
        let (old, e) = match evicted {
            Some(old) => (old, old - self.pivot),
            None => (0.0, 0.0),
        };
        self.total += x - old;
        self.deviation_sum += d - e;
        self.deviation_squares += (d - e) * (d + e);
        self.since_pivot += 1;
        if !full {
            return None;
        }
        let middle = self.total * p.inverse_period;
        let mut variance = self.variance(p);
        // Once a window (bounds accumulated rounding), or when a large deviation
        // just left and the sum cancelled down to a residue of it (a window
        // turned flat right after a jump): re-anchor and recompute exactly.
        if self.since_pivot >= p.period || variance * (p.period as f64) <= 1e-6 * (e * e) {
            self.repivot(x, window());
            variance = self.variance(p);
        }
        let sigma = if variance < TA_EPSILON { 0.0 } else { variance.sqrt() };
        let width = sigma * p.deviations;
        Some(Bands { upper: middle + width, middle, lower: middle - width })
    }
}

impl BollingerBands {
    pub fn new(period: usize, deviations: f64) -> Result<Self, IndicatorError> {
        let period = check_period("BBANDS", period, 2)?;
        if !(deviations.is_finite() && deviations > 0.0) {
            return Err(IndicatorError::NotPositive { indicator: "BBANDS", what: "deviations", value: deviations });
        }
        let params = Params { period, inverse_period: 1.0 / period as f64, deviations };
        Ok(Self { params, window: Ring::new(period), sums: Sums::default() })
    }

    /// The batch path over a slice, from this indicator's settings and a
    /// fresh state: the same per-bar step as [`Indicator::update`] (equal bit
    /// for bit, tested), with the state in local variables and the evicted
    /// values read from the input. Through `update` the state lives in the
    /// struct, and the ring's writes through a heap pointer make LLVM reload
    /// it every bar.
    pub fn series_of(&self, closes: &[f64]) -> super::Series<Bands> {
        let p = self.params;
        let start = p.period - 1;
        let mut sums = Sums::default();
        if closes.len() < p.period {
            return super::Series { start, values: Vec::new() };
        }
        for &x in &closes[..start] {
            sums.step(&p, x, None, false, std::iter::empty);
        }
        // Written into capacity reserved up front, in this function's own loop,
        // so the state stays in registers (see `indicators::fill`).
        let mut values: Vec<Bands> = Vec::with_capacity(closes.len() - start);
        for (slot, i) in values.spare_capacity_mut().iter_mut().zip(start..closes.len()) {
            let evicted = (i >= p.period).then(|| closes[i - p.period]);
            let window = || closes[i + 1 - p.period..=i].iter().copied();
            slot.write(sums.step(&p, closes[i], evicted, true, window).unwrap_or_default());
        }
        // SAFETY: the loop initialised one slot per index in start..len.
        unsafe { values.set_len(closes.len() - start) }
        super::Series { start, values }
    }
}

impl Indicator<f64> for BollingerBands {
    type Output = Bands;

    #[inline(always)]
    fn update(&mut self, x: f64) -> Option<Bands> {
        let evicted = self.window.push_evicting(x);
        let full = self.window.is_full();
        let window = &self.window;
        self.sums.step(&self.params, x, evicted, full, || window.iter_oldest_first())
    }

    fn lookback(&self) -> usize {
        self.params.period - 1
    }
}

impl super::Continuous for BollingerBands {}
