use crate::signal::Direction;
use crate::signal::config::MeanReversionParams;
use crate::signal::features::Features;
use crate::signal::regime::Regime;

use super::{Opinion, Reason, Strategy, ratio};

/// Fades stretches: a bar that touches the lower Bollinger band with RSI
/// below `rsi_oversold` is a long (upper band and `rsi_overbought`: a short).
/// Strength is the mean of RSI's distance past the threshold (full at 15
/// points) and how far the close sits beyond the band (0.5 on the band,
/// full one ATR past it).
#[derive(Debug, Clone)]
pub struct MeanReversion(pub MeanReversionParams);

impl Strategy for MeanReversion {
    fn name(&self) -> &'static str {
        "mean_reversion"
    }

    fn evaluate(&self, f: &Features, _regime: &Regime) -> Option<Opinion> {
        let p = &self.0;
        let (bands, rsi, atr) = (f.ind.bands?, f.ind.rsi?, f.ind.atr?);
        let c = &f.candle;
        if atr <= 0.0 {
            return None;
        }
        if c.low <= bands.lower && rsi < p.rsi_oversold {
            let stretch = (0.5 + (bands.lower - c.close) / atr).clamp(0.0, 1.0);
            let strength = (ratio(p.rsi_oversold - rsi, 15.0) + stretch) / 2.0;
            return Some(Opinion::new(
                Direction::Long,
                strength,
                vec![
                    Reason::BandTouch { price: c.low, band: bands.lower, upper: false },
                    Reason::RsiBeyond { rsi, threshold: p.rsi_oversold },
                ],
            ));
        }
        if c.high >= bands.upper && rsi > p.rsi_overbought {
            let stretch = (0.5 + (c.close - bands.upper) / atr).clamp(0.0, 1.0);
            let strength = (ratio(rsi - p.rsi_overbought, 15.0) + stretch) / 2.0;
            return Some(Opinion::new(
                Direction::Short,
                strength,
                vec![
                    Reason::BandTouch { price: c.high, band: bands.upper, upper: true },
                    Reason::RsiBeyond { rsi, threshold: p.rsi_overbought },
                ],
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::regime::TrendState;
    use crate::signal::strategy::testkit::*;

    /// A range, then a sharp sell-off into the lower band.
    fn range_then_drop(drop_bars: usize, step: f64) -> Vec<crate::market::Candle> {
        let mut bars = range(120);
        let mut price = bars.last().unwrap().close;
        for _ in 0..drop_bars {
            let open = price;
            price -= step;
            bars.push(bar(open, open + 0.01, price - 0.02, price, 1200.0));
        }
        bars
    }

    #[test]
    fn table() {
        let strategy = MeanReversion(MeanReversionParams::default());
        let spike: Vec<_> = range_then_drop(6, 0.25)
            .iter()
            .map(|c| bar(200.0 - c.open, 200.0 - c.low, 200.0 - c.high, 200.0 - c.close, c.volume))
            .collect();
        let cases = [
            (
                "a range touch of the lower band with RSI under 30 gives a long",
                range_then_drop(6, 0.25),
                Some(Direction::Long),
            ),
            ("the mirror image gives a short", spike, Some(Direction::Short)),
            ("a quiet range gives nothing", range(150), None),
            ("a dip that does not reach the band gives nothing", range_then_drop(1, 0.05), None),
        ];
        for (name, bars, want) in cases {
            let f = features_after(&bars);
            let opinion = strategy.evaluate(&f, &regime(TrendState::Ranging));
            assert_eq!(
                opinion.as_ref().map(|o| o.direction),
                want,
                "{name}: {opinion:?} rsi {:?} bands {:?}",
                f.ind.rsi,
                f.ind.bands
            );
        }
    }
}
