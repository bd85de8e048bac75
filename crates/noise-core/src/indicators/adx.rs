use crate::market::Candle;

use super::atr::TrueRange;
use super::{Indicator, IndicatorError, Wilder, check_period, ta_is_zero};

/// +DI and −DI.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DirectionalIndex {
    pub plus: f64,
    pub minus: f64,
}

/// Wilder's directional movement (TA-Lib `PLUS_DI` / `MINUS_DI`): smoothed
/// +DM, −DM and true range, summed over the first `period - 1` moves, then
/// `x = x - x / period + today`. First value at index `period`.
#[derive(Debug, Clone)]
pub struct Dmi {
    period: usize,
    wilder: Wilder,
    seen: usize,
    previous: Candle,
    plus_dm: f64,
    minus_dm: f64,
    true_range: f64,
}

impl Dmi {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        let period = check_period("DMI", period, 2)?;
        Ok(Self {
            period,
            wilder: Wilder::new(period),
            seen: 0,
            previous: Candle::default(),
            plus_dm: 0.0,
            minus_dm: 0.0,
            true_range: 0.0,
        })
    }

    /// Advances the smoothed sums; true once they are past warm-up.
    #[inline]
    fn advance(&mut self, c: &Candle) -> bool {
        if self.seen == 0 {
            self.seen = 1;
            self.previous = *c;
            return false;
        }
        let up = c.high - self.previous.high;
        let down = self.previous.low - c.low;
        let tr = TrueRange::of(c.high, c.low, self.previous.close);
        self.previous = *c;
        // Wilder's rule: only the larger move counts, and only if positive.
        let minus_move = if down > 0.0 && up < down { down } else { 0.0 };
        let plus_move = if up > 0.0 && up > down { up } else { 0.0 };
        if self.seen < self.period {
            self.seen += 1;
            self.minus_dm += minus_move;
            self.plus_dm += plus_move;
            self.true_range += tr;
            return false;
        }
        self.minus_dm = self.wilder.sum(self.minus_dm, minus_move);
        self.plus_dm = self.wilder.sum(self.plus_dm, plus_move);
        self.true_range = self.wilder.sum(self.true_range, tr);
        true
    }

    /// The directional indexes, `None` when the smoothed range is (near) zero.
    #[inline]
    fn indexes(&self) -> Option<DirectionalIndex> {
        if ta_is_zero(self.true_range) {
            return None;
        }
        Some(DirectionalIndex {
            plus: 100.0 * (self.plus_dm / self.true_range),
            minus: 100.0 * (self.minus_dm / self.true_range),
        })
    }
}

impl Indicator<&Candle> for Dmi {
    type Output = DirectionalIndex;

    /// A flat window (no range at all) gives 0 for both, as TA-Lib does.
    #[inline]
    fn update(&mut self, c: &Candle) -> Option<DirectionalIndex> {
        if !self.advance(c) {
            return None;
        }
        Some(self.indexes().unwrap_or(DirectionalIndex { plus: 0.0, minus: 0.0 }))
    }

    fn lookback(&self) -> usize {
        self.period
    }
}

/// Average directional index (TA-Lib `ADX`): the mean of the first `period`
/// DX values, then Wilder-smoothed; first value at index `2 * period - 1`.
/// Bars whose DX is undefined (no range, or +DI + −DI = 0) leave it unchanged.
#[derive(Debug, Clone)]
pub struct Adx {
    dmi: Dmi,
    dx_seen: usize,
    value: f64,
    last_di: Option<DirectionalIndex>,
}

impl Adx {
    pub fn new(period: usize) -> Result<Self, IndicatorError> {
        Ok(Self { dmi: Dmi::new(period)?, dx_seen: 0, value: 0.0, last_di: None })
    }

    /// +DI / −DI of the last update, available from index `period` on,
    /// before ADX itself is.
    pub fn directional_index(&self) -> Option<DirectionalIndex> {
        self.last_di
    }
}

impl Indicator<&Candle> for Adx {
    type Output = f64;

    #[inline]
    fn update(&mut self, c: &Candle) -> Option<f64> {
        if !self.dmi.advance(c) {
            return None;
        }
        let period = self.dmi.period;
        let di = self.dmi.indexes();
        self.last_di = Some(di.unwrap_or(DirectionalIndex { plus: 0.0, minus: 0.0 }));
        let dx = di.and_then(|di| {
            let total = di.minus + di.plus;
            (!ta_is_zero(total)).then(|| 100.0 * ((di.minus - di.plus).abs() / total))
        });
        if self.dx_seen < period {
            self.dx_seen += 1;
            self.value += dx.unwrap_or(0.0);
            if self.dx_seen < period {
                return None;
            }
            self.value /= period as f64;
            return Some(self.value);
        }
        if let Some(dx) = dx {
            self.value = self.dmi.wilder.average(self.value, dx);
        }
        Some(self.value)
    }

    fn lookback(&self) -> usize {
        2 * self.dmi.period - 1
    }
}

impl super::Continuous for Dmi {}
impl super::Continuous for Adx {}
