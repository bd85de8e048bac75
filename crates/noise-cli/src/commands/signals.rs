//! `noise signals`: replay 1-minute bars through the signal pipeline, as the
//! engine will (each bar at its close), and show every signal with its
//! provenance; with `--rejected`, every rejected candidate and why.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::anyhow;
use noise_core::market::{Timeframe, parse_bars_by_symbol};
use noise_core::signal::{Candidate, Evaluation, SymbolPipeline};

use crate::commands::config;
use crate::failure::Failure;
use crate::files::read_input;

pub struct Options<'a> {
    pub input: &'a Path,
    pub symbol: &'a str,
    pub json: bool,
    pub rejected: bool,
    pub config: Option<&'a Path>,
}

pub fn run(options: &Options<'_>) -> Result<(), Failure> {
    let (config, _) = config::load(options.config)?;
    let instrument = config.instrument(options.symbol).cloned().ok_or_else(|| {
        let known: Vec<&str> = config.instruments.iter().map(|i| i.symbol.as_str()).collect();
        Failure::bad_input(anyhow!("unknown symbol {} (configured instruments: {})", options.symbol, known.join(", ")))
    })?;
    let data = read_input(options.input)?;
    let source = options.input.display().to_string();
    let groups = parse_bars_by_symbol(&source, &data, &instrument.symbol).map_err(Failure::bad_input)?;
    let bars = groups
        .into_iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(&instrument.symbol))
        .map(|(_, bars)| bars)
        .ok_or_else(|| Failure::bad_input(anyhow!("{source}: no bars for symbol {}", instrument.symbol)))?;

    let mut pipeline =
        SymbolPipeline::new(instrument, &config.signals, &config.indicators).map_err(Failure::bad_input)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut signals, mut rejected) = (0usize, 0usize);
    for bar in &bars {
        let now = bar.time + Timeframe::M1.duration();
        let evaluation = pipeline.on_bar(bar, now).map_err(|e| Failure::bad_input(anyhow!("{source}: {e}")))?;
        let Some(evaluation) = evaluation else { continue };
        let text = match &evaluation {
            Evaluation::Signal(_) => {
                signals += 1;
                render(&evaluation, options.json)
            }
            Evaluation::Rejected(_) => {
                rejected += 1;
                if !options.rejected {
                    continue;
                }
                render(&evaluation, options.json)
            }
        };
        if let Err(e) = out.write_all(text.as_bytes()) {
            return quiet_on_closed_pipe(e);
        }
    }
    if let Err(e) = out.flush() {
        return quiet_on_closed_pipe(e);
    }
    eprintln!("{} bars replayed: {signals} signal(s), {rejected} rejected candidate(s)", bars.len());
    Ok(())
}

/// A reader that stopped reading (`noise signals | head`) is not an error.
fn quiet_on_closed_pipe(error: std::io::Error) -> Result<(), Failure> {
    if error.kind() == std::io::ErrorKind::BrokenPipe { Ok(()) } else { Err(Failure::internal(error)) }
}

fn render(evaluation: &Evaluation, json: bool) -> String {
    if json { render_json(evaluation) } else { render_text(evaluation) }
}

/// One JSON object per line.
fn render_json(evaluation: &Evaluation) -> String {
    let mut value = serde_json::to_value(evaluation.candidate()).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(map) = &mut value {
        match evaluation {
            Evaluation::Signal(_) => {
                map.insert("status".into(), "signal".into());
            }
            Evaluation::Rejected(r) => {
                map.insert("status".into(), "rejected".into());
                map.insert("reason".into(), r.reason().into());
            }
        }
    }
    format!("{value}\n")
}

fn render_text(evaluation: &Evaluation) -> String {
    let c: &Candidate = evaluation.candidate();
    let mut s = String::new();
    let status = match evaluation {
        Evaluation::Signal(_) => "SIGNAL  ".to_string(),
        Evaluation::Rejected(_) => "REJECTED".to_string(),
    };
    let _ = writeln!(
        s,
        "{} {status} {} {:<5} strength {:.2}  entry {}  stop {}  target {}  regime {}",
        c.time.format("%Y-%m-%dT%H:%M:%SZ"),
        c.symbol,
        c.direction.to_string(),
        c.strength,
        c.entry,
        c.stop_loss,
        c.take_profit,
        c.regime
    );
    for component in &c.components {
        let _ = writeln!(
            s,
            "    {:<14} {:<5} strength {:.2} × weight {:.2} → {:+.2}: {}",
            component.strategy,
            component.direction.to_string(),
            component.strength,
            component.weight,
            component.contribution,
            component.reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        );
    }
    let verdicts: Vec<String> =
        c.filters.iter().map(|v| format!("{} {}", v.name, if v.passed { "✓" } else { "✗" })).collect();
    let _ = writeln!(s, "    filters: {}", verdicts.join(", "));
    if let Evaluation::Rejected(r) = evaluation {
        let _ = writeln!(s, "    rejected: {}", r.reason());
    }
    s
}
