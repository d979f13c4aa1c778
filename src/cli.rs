//! The `cairn` command line: `serve` (the default), `check-config`,
//! `check-rules` and `demo`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::{Config, FlagOverrides, LogFormat};

#[derive(Parser, Debug)]
#[command(
    name = "cairn",
    version,
    about = "Metrics, logs, traces and alerts in one binary",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `cairn [FLAGS]` is `cairn serve [FLAGS]`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server (the default when no command is given).
    Serve(ServeArgs),
    /// Validate a config file and print the effective configuration.
    CheckConfig {
        /// The YAML file to check.
        file: PathBuf,
    },
    /// Validate rule files as `promtool check rules` does.
    CheckRules {
        /// Groups without a `language:` key hold LogQL (Loki ruler files).
        #[arg(long)]
        logql: bool,
        /// The rule files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Drive a running Cairn with a simulated WordPress clone platform
    /// (remote write, Loki push, OTLP), incidents included.
    Demo(crate::demo::DemoArgs),
}

#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// YAML config file; every setting has a default.
    #[arg(long, short = 'c', env = "CAIRN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where data is stored (storage.data_dir).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// HTTP listen address, e.g. 0.0.0.0:3100 (server.http_listen_address).
    #[arg(long)]
    pub http_listen_address: Option<String>,
    /// Log level or filter (server.log_level).
    #[arg(long)]
    pub log_level: Option<String>,
    /// text or json (server.log_format).
    #[arg(long)]
    pub log_format: Option<String>,
    /// OTLP/gRPC listen address, e.g. 0.0.0.0:4317; empty disables
    /// (otlp.grpc_listen_address).
    #[arg(long)]
    pub otlp_grpc_listen_address: Option<String>,
    /// OTLP/HTTP listen address, e.g. 0.0.0.0:4318; empty disables
    /// (otlp.http_listen_address).
    #[arg(long)]
    pub otlp_http_listen_address: Option<String>,
}

fn env_vars() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("CAIRN_"))
        .collect()
}

fn init_logging(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.server.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cfg.server.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Runs the command line; returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::CheckConfig { file } => {
            match Config::load(Some(&file), env_vars(), &FlagOverrides::default()) {
                Ok(cfg) => {
                    // A closed pipe (`| head`) is not an error worth a panic.
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "# {}: valid. Effective configuration:", file.display())
                        .and_then(|_| write!(out, "{}", cfg.to_yaml()));
                    0
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    1
                }
            }
        }
        Command::CheckRules { logql, files } => {
            crate::rules::check::check_rules(&files, logql, &mut std::io::stdout())
        }
        Command::Demo(args) => crate::demo::run(args),
        Command::Serve(args) => {
            let flags = FlagOverrides {
                data_dir: args.data_dir,
                http_listen_address: args.http_listen_address,
                log_level: args.log_level,
                log_format: args.log_format,
                otlp_grpc_listen_address: args.otlp_grpc_listen_address,
                otlp_http_listen_address: args.otlp_http_listen_address,
            };
            let loader: crate::server::state::ConfigLoader = {
                let path = args.config.clone();
                let flags = flags.clone();
                Arc::new(move || Config::load(path.as_deref(), env_vars(), &flags))
            };
            let cfg = match Config::load(args.config.as_deref(), env_vars(), &flags) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("error: {e}");
                    return 1;
                }
            };
            init_logging(&cfg);
            // Deeply nested queries recurse in the parser and the engine:
            // give every worker and blocking thread a generous stack.
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .thread_stack_size(8 << 20)
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start runtime: {e}");
                    return 1;
                }
            };
            match rt.block_on(crate::server::serve(Arc::new(cfg), Some(loader))) {
                Ok(()) => 0,
                Err(e) => {
                    tracing::error!(error = %e, "fatal");
                    eprintln!("error: {e}");
                    1
                }
            }
        }
    }
}
