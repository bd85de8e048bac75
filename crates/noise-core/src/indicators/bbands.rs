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
    period: usize,
    inverse_period: f64,
    deviations: f64,
    window: Ring,
    total: f64,
    pivot: f64,
    /// Σ (x − pivot) and Σ (x − pivot)² over the window.
    deviation_sum: f64,
    deviation_squares: f64,
    since_pivot: usize,
}

impl BollingerBands {
    pub fn new(period: usize, deviations: f64) -> Result<Self, IndicatorError> {
        let period = check_period("BBANDS", period, 2)?;
        if !(deviations.is_finite() && deviations > 0.0) {
            return Err(IndicatorError::NotPositive { indicator: "BBANDS", what: "deviations", value: deviations });
        }
        Ok(Self {
            period,
            inverse_period: 1.0 / period as f64,
            deviations,
            window: Ring::new(period),
            total: 0.0,
            pivot: 0.0,
            deviation_sum: 0.0,
            deviation_squares: 0.0,
            since_pivot: 0,
        })
    }

    /// Re-anchors the pivot on `x` (a value in the window) and recomputes the
    /// deviation sums exactly. Out of line: it runs once per window.
    #[inline(never)]
    fn repivot(&mut self, x: f64) {
        self.pivot = x;
        self.since_pivot = 0;
        let (mut sum, mut squares) = (0.0, 0.0);
        for &v in self.window.as_slice() {
            let d = v - x;
            sum += d;
            squares = d.mul_add(d, squares);
        }
        self.deviation_sum = sum;
        self.deviation_squares = squares;
    }

    fn variance(&self) -> f64 {
        let mean_deviation = self.deviation_sum * self.inverse_period;
        (-mean_deviation).mul_add(mean_deviation, self.deviation_squares * self.inverse_period)
    }
}

impl Indicator<f64> for BollingerBands {
    type Output = Bands;

    #[inline(always)]
    fn update(&mut self, x: f64) -> Option<Bands> {
        let d = x - self.pivot;
        // The evicted value (none during warm-up) leaves as the new one enters,
        // so each sum takes one add on its loop-carried chain (d² − e² as (d − e)(d + e)).
        let (old, e) = match self.window.push_evicting(x) {
            Some(old) => (old, old - self.pivot),
            None => (0.0, 0.0),
        };
        self.total += x - old;
        self.deviation_sum += d - e;
        self.deviation_squares += (d - e) * (d + e);
        self.since_pivot += 1;
        if !self.window.is_full() {
            return None;
        }
        let middle = self.total * self.inverse_period;
        let mut variance = self.variance();
        // Once a window (bounds accumulated rounding), or when a large deviation
        // just left and the sum cancelled down to a residue of it (a window
        // turned flat right after a jump): re-anchor and recompute exactly.
        if self.since_pivot >= self.period || variance * (self.period as f64) <= 1e-6 * (e * e) {
            self.repivot(x);
            variance = self.variance();
        }
        let sigma = if variance < TA_EPSILON { 0.0 } else { variance.sqrt() };
        let width = sigma * self.deviations;
        Some(Bands { upper: middle + width, middle, lower: middle - width })
    }

    fn lookback(&self) -> usize {
        self.period - 1
    }
}

impl super::Continuous for BollingerBands {}
