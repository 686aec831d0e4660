//! `moments-mock-server`: run the Moments Rewards API mock.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use clap::Parser;
use moments_mock_server::{MockConfig, MockServer};

/// Stateful mock of the Moments Rewards API (v1, compatibility endpoints, landing pages, /_mock control API).
#[derive(Parser, Debug)]
#[command(name = "moments-mock-server", version, about)]
struct Cli {
    /// Interface to bind.
    #[arg(long, default_value = "127.0.0.1", env = "MOMENTS_MOCK_HOST")]
    host: IpAddr,
    /// Port to listen on; 0 picks a free port (printed at start).
    #[arg(long, default_value_t = 8080, env = "MOMENTS_MOCK_PORT")]
    port: u16,
    /// Generate random demo keys instead of the documented fixed ones.
    #[arg(long)]
    random_demo_keys: bool,
    /// Fixtures JSON file to load at start (same format as POST /_mock/fixtures); POST /_mock/reset loads them again.
    #[arg(long, value_name = "FILE")]
    fixtures: Option<std::path::PathBuf>,
    /// Log filter (e.g. info, debug, moments_mock_server=trace); `info` logs one line per request.
    /// Without it, `RUST_LOG` is the filter when set, else `warn`.
    #[arg(long, value_name = "FILTER", env = "MOMENTS_MOCK_LOG")]
    log: Option<String>,
    /// Log format on standard error: `text`, or `json` (one object per line, for CI log tooling).
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text, env = "MOMENTS_MOCK_LOG_FORMAT")]
    log_format: LogFormat,
    /// Threads serving requests (default: one per CPU). The state is behind one lock, so on a machine
    /// shared with the tests or a load generator, 1 answers as fast for less CPU (docs/performance.md).
    #[arg(long, value_name = "N", env = "MOMENTS_MOCK_WORKERS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: Option<u16>,
    /// Base of the reward links the mock hands out, when clients reach it at another address than it
    /// binds: an Android emulator (http://10.0.2.2:8080), a container, a tunnel. Default: the bound address.
    #[arg(long, value_name = "URL", env = "MOMENTS_MOCK_PUBLIC_URL")]
    public_url: Option<String>,
    /// Calls per second per legacy key allowed on the compatibility endpoints (/prod/…), in real time.
    #[arg(long, value_name = "N", default_value_t = moments_mock_server::COMPAT_RATE_PER_SECOND, env = "MOMENTS_MOCK_COMPAT_RATE")]
    compat_rate: std::num::NonZeroU32,
    /// Where the state lives: `memory` (the default: gone when the server stops), `sqlite:PATH` (one
    /// instance; the state survives restarts) or `postgres://USER:PASSWORD@HOST:PORT/DB` (any number of
    /// instances sharing one database). See docs/sandbox.md.
    #[arg(
        long,
        value_name = "STORE",
        default_value = "memory",
        env = "MOMENTS_MOCK_STORE"
    )]
    store: moments_mock_server::StoreSpec,
    /// Seconds to wait at start for an unreachable database, retrying with backoff.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        env = "MOMENTS_MOCK_STORE_WAIT"
    )]
    store_wait: u64,
    /// A shared sandbox of tenants (implied by a PostgreSQL store): each tenant's control API needs
    /// its secret key; creating tenants needs the admin key. See docs/sandbox.md.
    #[arg(long, env = "MOMENTS_MOCK_SHARED")]
    shared: bool,
    /// The admin key of a shared sandbox (default: a random one, printed at start).
    #[arg(
        long,
        value_name = "KEY",
        env = "MOMENTS_MOCK_ADMIN_KEY",
        hide_env_values = true
    )]
    admin_key: Option<String>,
}

/// `--log-format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.workers {
        rt.worker_threads(usize::from(n));
    }
    match rt.enable_all().build() {
        Ok(rt) => rt.block_on(serve(cli)),
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

async fn serve(cli: Cli) -> std::process::ExitCode {
    // `--log` (or MOMENTS_MOCK_LOG), else RUST_LOG, else warn.
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let (source, directives) = match (&cli.log, rust_log) {
        (Some(l), _) => ("--log", l.clone()),
        (None, Some(r)) => ("RUST_LOG", r),
        (None, None) => ("--log", "warn".to_string()),
    };
    let filter = match tracing_subscriber::EnvFilter::try_new(&directives) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: invalid {source} filter `{directives}`: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        // Colours for a terminal only, not in files and CI logs.
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
    let fixtures = match &cli.fixtures {
        None => None,
        Some(p) => match std::fs::read(p)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(v) => Some(v),
            Err(e) => {
                eprintln!("error: cannot load fixtures {}: {e}", p.display());
                return std::process::ExitCode::from(2);
            }
        },
    };
    // Registered before the server announces itself: a supervisor that sends SIGTERM as soon as it has read the
    // URL line gets a graceful shutdown, never the signal's default action.
    let shutdown = match shutdown_signal() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot listen for shutdown signals: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let config = MockConfig {
        bind: Some(SocketAddr::new(cli.host, cli.port)),
        random_demo_keys: cli.random_demo_keys,
        fixtures,
        public_url: cli.public_url,
        compat_rate_per_second: Some(cli.compat_rate),
        store: cli.store.clone(),
        store_wait: Some(std::time::Duration::from_secs(cli.store_wait)),
        shared: cli.shared,
        admin_key: cli.admin_key.clone(),
    };
    let server = match MockServer::start_with(config).await {
        Ok(s) => s,
        Err(e) => {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                eprintln!(
                    "error: cannot start: {e} (stop what listens there, or pick another --port; 0 takes a free one)"
                );
            } else {
                eprintln!("error: cannot start: {e}");
            }
            // A bad argument (public URL, fixtures) is a usage error, 2; anything else (the port) is 1.
            let bad_argument = matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData
            );
            let code = if bad_argument { 2 } else { 1 };
            return std::process::ExitCode::from(code);
        }
    };
    let d = server.demo().clone();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Moments mock server listening on {}",
        server.base_url()
    );
    let _ = writeln!(
        out,
        "  console:         {}/console (sign in with the secret key below)",
        server.base_url()
    );
    if cli.store != moments_mock_server::StoreSpec::Memory {
        let _ = writeln!(
            out,
            "  store:           {} {}",
            cli.store.kind(),
            cli.store.location()
        );
    }
    if let Some(key) = server.admin_key() {
        let _ = writeln!(
            out,
            "  shared sandbox:  tenants at {}/t/ID (POST /_mock/admin/tenants)",
            server.public_url()
        );
        if cli.admin_key.is_none() {
            let _ = writeln!(out, "  admin key:       {key}");
        }
    }
    let _ = writeln!(out, "  app id:          {}", d.app_id);
    let _ = writeln!(out, "  secret key:      {}", d.secret_key);
    let _ = writeln!(out, "  legacy api key:  {}", d.api_key);
    let _ = writeln!(out, "  campaign id:     {}", d.campaign_id);
    let _ = writeln!(out, "  moment ids:      {}", d.moment_ids.join(", "));
    for m in &d.moments {
        let who = if m.client_reportable {
            "the app (customer token) or the brand's server"
        } else {
            "the brand's server only (secret key)"
        };
        let goal = m
            .goal
            .as_ref()
            .map(|g| format!(", goal {} in {} days", g.target, g.window_seconds / 86_400))
            .unwrap_or_default();
        let _ = writeln!(out, "    {:<14} reported by {who}{goal}", m.id);
    }
    let _ = writeln!(out, "  reward groups:   {}", d.reward_group_ids.join(", "));
    if server.public_url() != server.base_url() {
        let _ = writeln!(out, "  reward links:    {}/r/…", server.public_url());
    }
    let _ = writeln!(
        out,
        "  try: curl -s {}/v1/triggers -H 'Authorization: Bearer {}' -H 'Idempotency-Key: demo-1' -H 'Content-Type: application/json' -d '{{\"campaign_id\":\"{}\",\"moment_id\":\"first_workout\",\"customer\":{{\"id\":\"cust_1\",\"marketplace\":\"US\"}},\"device\":{{\"type\":\"Android\"}}}}'",
        server.base_url(),
        d.secret_key,
        d.campaign_id
    );
    let _ = out.flush();
    drop(out);
    shutdown.await;
    server.shutdown().await;
    std::process::ExitCode::SUCCESS
}

/// SIGTERM or SIGINT (Ctrl-C), with the handlers installed now; the future ends at the first of them.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

/// Ctrl-C, with the handler installed now.
#[cfg(windows)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    let mut ctrl_c = tokio::signal::windows::ctrl_c()?;
    Ok(async move {
        ctrl_c.recv().await;
    })
}
