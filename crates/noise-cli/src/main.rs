//! `noise`: the NOISE trading engine's command line.

#[cfg(target_os = "linux")]
mod allocator;
mod commands;
mod failure;
mod files;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: allocator::HugePagesForLargeBlocks = allocator::HugePagesForLargeBlocks;

#[derive(Parser)]
#[command(name = "noise", version, about = "NOISE: a self-hosted algorithmic trading engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Trading: paper with the simulated broker and the built-in market (the default),
    /// or through real brokers (--broker). Flags override `[engine]` in the config.
    Run(commands::run::Options),
    /// Compute TA-Lib-exact indicators over a bar CSV and write them as CSV.
    Indicators {
        /// Bar CSV: timestamp,open,high,low,close,volume (optional symbol column).
        #[arg(long)]
        input: PathBuf,
        /// Output CSV (written atomically); standard output when absent.
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Replay 1-minute bars through the signal pipeline, each bar at its close,
    /// and print every signal with its provenance.
    Signals {
        /// Bar CSV (1-minute bars; with a `symbol` column, only SYMBOL's rows are used).
        #[arg(long)]
        input: PathBuf,
        /// A configured instrument (its tick size and trading sessions apply).
        #[arg(long)]
        symbol: String,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
        /// Also print rejected candidates with the reason.
        #[arg(long)]
        rejected: bool,
        /// Config file; `./noise.toml` when absent (defaults if that does not exist).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Backtest on history with the live code path: signals, risk, orders and the
    /// sim broker's fills on a virtual clock. Prints the metrics; stores the run.
    Backtest(commands::backtest::Options),
    /// Apply the database migrations this binary carries, and report the schema version.
    Migrate {
        /// The SQLite database (also `$NOISE_DB`); else `[engine] db` from the config.
        #[arg(long, env = "NOISE_DB")]
        db: Option<PathBuf>,
        /// Config file; `./noise.toml` when absent (defaults if that does not exist).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print the next firings of the scheduled jobs, in New York and UTC time.
    Schedule {
        /// Start after this instant (RFC 3339); now when absent.
        #[arg(long)]
        from: Option<String>,
        /// How many firings to print.
        #[arg(long, default_value_t = 10)]
        count: usize,
        /// Only this job: signal-cycle, equity-snapshot, end-of-day, daily-reset, weekly-reset.
        #[arg(long)]
        job: Option<String>,
        /// Config file; `./noise.toml` when absent (defaults if that does not exist).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// The real brokers (credentials from the environment only).
    Broker {
        #[command(subcommand)]
        command: BrokerCommand,
    },
    /// Market data through the brokers.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
}

#[derive(Subcommand)]
enum BrokerCommand {
    /// Log in to each configured broker and print its account, positions and market
    /// clock; exit 1 naming what failed (missing variable, refused login, unreachable
    /// host, a reply that does not parse).
    Check {
        /// Only these brokers (default: every broker whose variables are set).
        #[arg(long, value_enum, value_delimiter = ',')]
        broker: Vec<commands::brokers::BrokerName>,
        /// The live accounts instead of paper/demo.
        #[arg(long)]
        live: bool,
    },
}

#[derive(Subcommand)]
enum DataCommand {
    /// Download bars through the symbol's broker (Alpaca for equities, Tradovate for
    /// micro futures' front month) into the bar CSV `noise backtest` reads.
    Fetch {
        #[arg(long)]
        symbol: String,
        /// First day (New York) or RFC 3339 instant.
        #[arg(long)]
        from: String,
        /// Last day, included, or RFC 3339 instant.
        #[arg(long)]
        to: String,
        /// 1Min..59Min, 1Hour..23Hour or 1Day.
        #[arg(long, default_value = "1Min")]
        timeframe: String,
        #[arg(long)]
        out: PathBuf,
        /// The live accounts' hosts instead of paper/demo.
        #[arg(long)]
        live: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a config file and print the effective settings (defaults filled in).
    Check {
        /// The file to check; `./noise.toml` when absent (defaults if that does not exist).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Indicators { input, output } => commands::indicators::run(&input, output.as_deref()),
        Command::Signals { input, symbol, json, rejected, config } => {
            commands::signals::run(&commands::signals::Options {
                input: &input,
                symbol: &symbol,
                json,
                rejected,
                config: config.as_deref(),
            })
        }
        Command::Run(options) => commands::run::run(&options),
        Command::Backtest(options) => commands::backtest::run(&options),
        Command::Migrate { db, config } => commands::migrate::run(db, config.as_deref()),
        Command::Schedule { from, count, job, config } => {
            commands::schedule::run(from.as_deref(), count, job.as_deref(), config.as_deref())
        }
        Command::Config { command: ConfigCommand::Check { config } } => commands::config::check(config.as_deref()),
        Command::Broker { command: BrokerCommand::Check { broker, live } } => commands::brokers::check(&broker, live),
        Command::Data { command: DataCommand::Fetch { symbol, from, to, timeframe, out, live } } => {
            commands::brokers::fetch(&symbol, &from, &to, &timeframe, &out, live)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
