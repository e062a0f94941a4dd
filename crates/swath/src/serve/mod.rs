//! `swath serve`: an Arrow Flight SQL server over the embedded engine or a
//! cluster, for ADBC/JDBC clients, notebooks and BI tools (docs/serve.md).
//!
//! Each client session has its own DataFusion session (its tables), its own
//! stores limited to `--allow-root` (reading) and `--output-root` (COPY), and its
//! own memory pool (`--memory-limit`). Without `--tokens` the server listens on
//! loopback only; with it every call needs a user's token or a session token from
//! the Flight handshake.

pub mod auth;
pub mod flight;
pub mod policy;
pub mod sessions;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use arrow_flight::flight_service_server::FlightServiceServer;
use swath_engine::{EngineConfig, Mode};
use tonic::transport::{Identity, Server, ServerTlsConfig};

use crate::dashboard::{Dashboard, Executors, Statements};
use auth::{AuthLayer, Authenticator, Tokens};
use flight::SwathFlightSql;
use sessions::{SessionSettings, Sessions};

/// `swath serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback unless told otherwise; another address
    /// needs --tokens). Port 0 picks a free port, printed at start.
    #[arg(long, default_value = "127.0.0.1:50051", value_name = "HOST:PORT")]
    pub bind: String,
    /// Run every statement on this Ballista cluster (`df://HOST:PORT`).
    #[arg(long, value_name = "URL")]
    pub cluster: Option<String>,
    /// Users and their tokens, one `user:token` a line: every call must then
    /// authenticate (bearer token, or basic auth in the handshake).
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
    /// TLS certificate chain (PEM); with --tls-key, the server speaks TLS only.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Directory or URL prefix clients may read catalogues and assets under; may
    /// be repeated (default: none, so nothing can be read).
    #[arg(long = "allow-root", value_name = "DIR|URL")]
    pub allow_root: Vec<String>,
    /// Directory or URL prefix COPY may write under; may be repeated (default:
    /// none, so COPY is refused).
    #[arg(long = "output-root", value_name = "DIR|URL")]
    pub output_root: Vec<String>,
    /// Memory of each client session's queries, e.g. 2G (default: none).
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Longest a statement may run, from planning to its last batch, e.g. 10m.
    #[arg(long, default_value = "30m", value_name = "DURATION")]
    pub statement_timeout: String,
    /// Most client sessions at once.
    #[arg(long, default_value_t = 256, value_name = "N")]
    pub max_sessions: usize,
    /// A session unused this long is closed, e.g. 30m.
    #[arg(long, default_value = "60m", value_name = "DURATION")]
    pub session_idle: String,
    /// Partitions per scan and shuffle in each session (default: the cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Address of the dashboard and its JSON API (docs/dashboard.md), `off` for
    /// none. Another address than loopback needs --tokens.
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "HOST:PORT|off")]
    pub http: String,
}

/// Run the server until SIGTERM or Ctrl-C.
pub async fn run(args: &ServeArgs) -> Result<(), String> {
    let addr = crate::cluster::address("--bind", &args.bind)?;
    let tokens = args.tokens.as_deref().map(Tokens::load).transpose()?;
    if tokens.is_none() && !addr.ip().is_loopback() {
        return Err(format!(
            "--bind {}: a server without --tokens listens on loopback only (give \
             --tokens FILE to serve other hosts)",
            args.bind
        ));
    }
    let http = match args.http.as_str() {
        "off" => None,
        text => Some(crate::cluster::address("--http", text)?),
    };
    if let Some(http) = http
        && tokens.is_none()
        && !http.ip().is_loopback()
    {
        return Err(format!(
            "--http {}: a dashboard without --tokens listens on loopback only (give \
             --tokens FILE to serve other hosts)",
            args.http
        ));
    }
    let timeout = parse_duration("--statement-timeout", &args.statement_timeout)?;
    let idle = parse_duration("--session-idle", &args.session_idle)?;
    let memory_limit = args
        .memory_limit
        .as_deref()
        .map(crate::shell::parse_size)
        .transpose()?;
    let roots =
        swath_store::AccessRoots::new(Some(&args.allow_root), Some(&args.output_root))?;
    let engine = EngineConfig {
        target_partitions: args.threads,
        memory_limit,
        mode: match &args.cluster {
            Some(url) => Mode::Remote(url.clone()),
            None => Mode::Embedded,
        },
        output_roots: args.output_root.clone(),
        roots,
    };
    // Fail now, not at the first client, when the engine cannot start (a cluster
    // that does not answer).
    swath_engine::context(&engine)
        .await
        .map_err(|e| format!("cannot start a session: {e}"))?;
    let auth = Arc::new(Authenticator::new(tokens));
    let sessions = Arc::new(Sessions::new(
        SessionSettings {
            engine,
            max_sessions: args.max_sessions.max(1),
            idle,
        },
        Arc::clone(&auth),
    ));
    let service = SwathFlightSql::new(Arc::clone(&sessions), Arc::clone(&auth), timeout)?;

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("--bind {}: {e}", args.bind))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let mut builder = Server::builder()
        .timeout(timeout + Duration::from_secs(60))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(20)));
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let cert = std::fs::read(cert)
                .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
            let key = std::fs::read(key)
                .map_err(|e| format!("--tls-key {}: {e}", key.display()))?;
            builder = builder
                .tls_config(
                    ServerTlsConfig::new().identity(Identity::from_pem(cert, key)),
                )
                .map_err(|e| format!("TLS: {e}"))?;
            true
        }
        _ => false,
    };
    let dashboard = match http {
        Some(addr) => {
            let listener = std::net::TcpListener::bind(addr)
                .map_err(|e| format!("--http {}: {e}", args.http))?;
            let local = listener.local_addr().map_err(|e| e.to_string())?;
            let executors = match &sessions.settings().engine.mode {
                Mode::Remote(url) => {
                    Executors::Cluster(swath_engine::system::status_base(url))
                }
                _ => Executors::Embedded {
                    slots: args.threads.unwrap_or_else(|| {
                        std::thread::available_parallelism().map_or(1, |n| n.get())
                    }),
                    memory_limit,
                },
            };
            let board = Dashboard::new(Arc::clone(&auth), executors, Statements::Process);
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            crate::dashboard::spawn(listener, board, async {
                let _ = stopped.await;
            })?;
            Some((local, stop))
        }
        None => None,
    };
    let scheme = if tls { "grpc+tls" } else { "grpc" };
    println!("swath serve: Flight SQL on {scheme}://{local}");
    if let Some((addr, _)) = &dashboard {
        println!("swath serve: dashboard on http://{addr}");
    }
    if auth.required() {
        println!("swath serve: every call needs a token (--tokens)");
    } else {
        println!(
            "swath serve: no --tokens: listening on loopback only, without authentication"
        );
    }
    if args.allow_root.is_empty() {
        println!(
            "swath serve: no --allow-root: clients cannot read any catalogue or file"
        );
    }
    if args.output_root.is_empty() {
        println!("swath serve: no --output-root: COPY is refused");
    }
    let sweeper = {
        let sessions = Arc::clone(&sessions);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                sessions.sweep().await;
            }
        })
    };
    let flight = FlightServiceServer::new(service)
        .max_decoding_message_size(16 << 20)
        .max_encoding_message_size(64 << 20);
    let result = builder
        .layer(AuthLayer(auth))
        .add_service(flight)
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener),
            crate::cluster::stop_signal(),
        )
        .await
        .map_err(|e| format!("server: {e}"));
    sweeper.abort();
    if let Some((_, stop)) = dashboard {
        let _ = stop.send(());
    }
    println!("swath serve: stopped");
    result
}

fn parse_duration(flag: &str, text: &str) -> Result<Duration, String> {
    let d =
        swath_store::parse_duration(text).map_err(|e| format!("{flag} {text:?}: {e}"))?;
    if d.is_zero() {
        return Err(format!("{flag} must be more than zero"));
    }
    Ok(d)
}
