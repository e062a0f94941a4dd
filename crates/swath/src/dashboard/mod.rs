//! The dashboard: a live page of statements, their progress and plans, and the
//! process's (or the cluster's executors') memory and throughput, with the JSON
//! API behind it (docs/dashboard.md). `swath serve --http` serves it.
//!
//! The page and its script are embedded in the binary (`assets/`) and poll the
//! API; nothing is fetched from elsewhere. With tokens configured every page and
//! API call needs a user: a bearer token, or the cookie a login (the form, or
//! `/?token=…` once) sets. Cancelling needs the `X-Swath-Request` header (which a
//! cross-site form cannot send), and with tokens only the statement's owner may
//! cancel it.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::json;
use swath_engine::monitor::{self, Operator, QueryInfo};
use swath_engine::system::{self, ExecutorInfo};

use crate::serve::auth::{Authenticator, random_token};

const INDEX: &str = include_str!("assets/index.html");
const LOGIN: &str = include_str!("assets/login.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");

/// The cookie a login sets.
const COOKIE: &str = "swath_dashboard";
/// How long a login lasts.
const LOGIN_TTL: Duration = Duration::from_secs(12 * 3600);
/// Most logins kept at once (the oldest go first).
const MAX_LOGINS: usize = 4096;
/// Samples of the process kept for the charts: one a second, five minutes.
const SAMPLES: usize = 300;
/// The header a cancel must carry.
const REQUEST_HEADER: &str = "x-swath-request";

/// Where the executors shown come from.
#[derive(Debug, Clone)]
pub enum Executors {
    /// This process runs the statements.
    Embedded {
        /// Partitions a statement runs at once.
        slots: usize,
        /// Each session's memory limit.
        memory_limit: Option<usize>,
    },
    /// A cluster whose scheduler's status API is at this `http://HOST:PORT`.
    Cluster(String),
}

/// Where the statements shown come from.
#[derive(Debug, Clone)]
pub enum Statements {
    /// This process's monitor (`swath serve`).
    Process,
    /// The jobs of the scheduler whose status API is at this `http://HOST:PORT`
    /// (`swath scheduler --http`).
    Scheduler(String),
}

/// One sample of the process, for the charts.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    /// Milliseconds since the Unix epoch.
    pub t_ms: i64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
    /// Memory the sessions' pools hold, bytes.
    pub pool_bytes: u64,
    /// Statements running.
    pub running: usize,
    /// Pixel data fetched per second over the last interval, bytes.
    pub fetch_bytes_per_s: f64,
    /// Band tiles decoded per second over the last interval, bytes.
    pub decode_bytes_per_s: f64,
}

/// The dashboard's state.
pub struct Dashboard {
    auth: Arc<Authenticator>,
    executors: Executors,
    statements: Statements,
    logins: Mutex<HashMap<String, (String, Instant)>>,
    samples: Mutex<VecDeque<Sample>>,
}

impl Dashboard {
    /// A dashboard authenticating with `auth`, showing `executors` and
    /// `statements`.
    pub fn new(
        auth: Arc<Authenticator>,
        executors: Executors,
        statements: Statements,
    ) -> Arc<Dashboard> {
        Arc::new(Dashboard {
            auth,
            executors,
            statements,
            logins: Mutex::default(),
            samples: Mutex::default(),
        })
    }

    /// Sample the process once a second, forever (spawn it).
    pub async fn sample(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut last = (Instant::now(), counters());
        loop {
            tick.tick().await;
            let now = (Instant::now(), counters());
            let secs = now.0.duration_since(last.0).as_secs_f64().max(1e-3);
            let (rss, _) = system::process_memory();
            let (pool, _) = monitor::global().memory();
            let sample = Sample {
                t_ms: chrono::Utc::now().timestamp_millis(),
                rss_bytes: rss.unwrap_or(0),
                pool_bytes: pool,
                running: monitor::global().running(),
                fetch_bytes_per_s: now.1.0.saturating_sub(last.1.0) as f64 / secs,
                decode_bytes_per_s: now.1.1.saturating_sub(last.1.1) as f64 / secs,
            };
            last = now;
            let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
            if samples.len() == SAMPLES {
                samples.pop_front();
            }
            samples.push_back(sample);
        }
    }

    /// The user a request is from: a bearer token or the login cookie (anyone
    /// is `anonymous` on a server without tokens).
    fn user(&self, headers: &HeaderMap) -> Option<String> {
        if !self.auth.required() {
            return Some("anonymous".into());
        }
        if let Some(value) = headers.get(header::AUTHORIZATION)
            && let Ok(text) = value.to_str()
        {
            return self.auth.caller(Some(text)).ok().map(|c| c.user);
        }
        let cookie = cookie_value(headers, COOKIE)?;
        let logins = self.logins.lock().unwrap_or_else(|e| e.into_inner());
        logins
            .get(cookie)
            .filter(|(_, at)| at.elapsed() < LOGIN_TTL)
            .map(|(user, _)| user.clone())
    }

    /// The user whose token `token` is.
    fn token_user(&self, token: &str) -> Option<String> {
        self.auth
            .caller(Some(&format!("Bearer {token}")))
            .ok()
            .map(|c| c.user)
    }

    /// Start a login for `user`: the cookie header to set.
    fn login(&self, user: String) -> HeaderValue {
        let id = random_token();
        let mut logins = self.logins.lock().unwrap_or_else(|e| e.into_inner());
        logins.retain(|_, (_, at)| at.elapsed() < LOGIN_TTL);
        if logins.len() >= MAX_LOGINS
            && let Some(oldest) = logins
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())
        {
            logins.remove(&oldest);
        }
        logins.insert(id.clone(), (user, Instant::now()));
        HeaderValue::from_str(&format!(
            "{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
            LOGIN_TTL.as_secs()
        ))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    fn logout(&self, headers: &HeaderMap) {
        if let Some(cookie) = cookie_value(headers, COOKIE) {
            let mut logins = self.logins.lock().unwrap_or_else(|e| e.into_inner());
            logins.remove(cookie);
        }
    }

    async fn executors_json(&self) -> serde_json::Value {
        let samples: Vec<Sample> = self
            .samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect();
        let (pool, sessions) = monitor::global().memory();
        let (rss, peak) = system::process_memory();
        let process = json!({
            "rss_bytes": rss,
            "peak_rss_bytes": peak,
            "pool_bytes": pool,
            "sessions": sessions,
            "running": monitor::global().running(),
            "history": samples,
        });
        match &self.executors {
            Executors::Embedded {
                slots,
                memory_limit,
            } => {
                let local = system::local_executor(*slots, *memory_limit);
                json!({
                    "mode": "embedded",
                    "executors": [local],
                    "pool_limit_bytes": memory_limit,
                    "process": process,
                })
            }
            Executors::Cluster(base) => {
                let (executors, error) = match system::fetch::<Vec<ExecutorInfo>>(
                    base,
                    system::EXECUTORS_PATH,
                )
                .await
                {
                    Ok(e) => (e, None),
                    Err(e) => (Vec::new(), Some(e.to_string())),
                };
                json!({
                    "mode": "cluster",
                    "scheduler": base,
                    "executors": executors,
                    "error": error,
                    "process": process,
                })
            }
        }
    }
}

/// Bytes fetched and decoded since the process started.
fn counters() -> (u64, u64) {
    use std::sync::atomic::Ordering;
    (
        monitor::FETCHED_BYTES.load(Ordering::Relaxed),
        monitor::DECODED_BYTES.load(Ordering::Relaxed),
    )
}

/// The value of cookie `name` in the request.
fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The dashboard's routes.
pub fn router(dashboard: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/assets/app.js", get(script))
        .route("/assets/style.css", get(style))
        .route("/api/health", get(health))
        .route("/api/queries", get(queries))
        .route("/api/queries/{id}", get(query))
        .route("/api/queries/{id}/cancel", post(cancel))
        .route("/api/queries/{id}/quicklook.png", get(quicklook))
        .route("/api/executors", get(executors))
        .fallback(not_found)
        .layer(axum::middleware::map_response(secure_headers))
        .with_state(dashboard)
}

/// Serve the dashboard on `listener` until `stop` resolves, on a thread and
/// runtime of its own: statements keep the server's runtime busy (their CPU work
/// runs on its worker threads), and the page must answer while they run.
pub fn spawn(
    listener: std::net::TcpListener,
    dashboard: Arc<Dashboard>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("dashboard: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("dashboard: {e}"))?;
    std::thread::Builder::new()
        .name("swath-dashboard".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => return eprintln!("dashboard: {e}"),
                };
                if let Err(e) = serve(listener, dashboard, stop).await {
                    eprintln!("{e}");
                }
            })
        })
        .map_err(|e| format!("dashboard: {e}"))?;
    Ok(())
}

/// Serve the dashboard on `listener` until `stop` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    dashboard: Arc<Dashboard>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let sampler = tokio::spawn(Arc::clone(&dashboard).sample());
    monitor::global().enable_quicklooks();
    let app = router(dashboard);
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await
    .map_err(|e| format!("dashboard: {e}"));
    sampler.abort();
    result
}

async fn secure_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; \
             script-src 'self'; connect-src 'self'; frame-ancestors 'none'; \
             form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

type Shared = State<Arc<Dashboard>>;

fn html(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn api_error(code: StatusCode, message: &str) -> Response {
    (code, axum::Json(json!({ "error": message }))).into_response()
}

fn unauthorized() -> Response {
    api_error(
        StatusCode::UNAUTHORIZED,
        "log in: a bearer token, or the cookie /login sets",
    )
}

async fn index(
    State(d): Shared,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    // A token in the URL logs in once; the cookie replaces it and the URL
    // loses it (so it stays out of history and bookmarks).
    if let Some(token) = params.get("token") {
        return match d.token_user(token) {
            Some(user) => {
                let cookie = d.login(user);
                ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
            }
            None => (StatusCode::UNAUTHORIZED, html_login_failed()).into_response(),
        };
    }
    match d.user(&headers) {
        Some(_) => html(INDEX),
        None => Redirect::to("/login").into_response(),
    }
}

fn html_login_failed() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        LOGIN.replace("<p id=\"failed\" hidden>", "<p id=\"failed\">"),
    )
        .into_response()
}

async fn login_page(State(d): Shared, headers: HeaderMap) -> Response {
    if d.user(&headers).is_some() {
        return Redirect::to("/").into_response();
    }
    html(LOGIN)
}

async fn login(
    State(d): Shared,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let user = form.get("token").and_then(|t| d.token_user(t.trim()));
    match user {
        Some(user) if d.auth.required() => {
            let cookie = d.login(user);
            ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
        }
        Some(_) => Redirect::to("/").into_response(),
        None => {
            let mut r = html_login_failed();
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
    }
}

async fn logout(State(d): Shared, headers: HeaderMap) -> Response {
    d.logout(&headers);
    (
        [(
            header::SET_COOKIE,
            HeaderValue::from_static(
                "swath_dashboard=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
            ),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

async fn health() -> Response {
    axum::Json(json!({ "ok": true })).into_response()
}

async fn not_found() -> Response {
    api_error(StatusCode::NOT_FOUND, "no such page")
}

async fn queries(State(d): Shared, headers: HeaderMap) -> Response {
    let Some(user) = d.user(&headers) else {
        return unauthorized();
    };
    if let Statements::Scheduler(base) = &d.statements {
        return match scheduler_jobs(base).await {
            Ok(jobs) => {
                let rows: Vec<_> = jobs.iter().rev().map(job_row).collect();
                axum::Json(json!({ "user": user, "queries": rows })).into_response()
            }
            Err(e) => api_error(StatusCode::BAD_GATEWAY, &e),
        };
    }
    let queries = monitor::global().infos().await;
    axum::Json(json!({ "user": user, "queries": queries })).into_response()
}

/// A statement's page: its row, its plan with metrics, the items it read.
#[derive(Serialize)]
struct QueryPage {
    #[serde(flatten)]
    info: QueryInfo,
    operators: Option<Operator>,
    items: Vec<String>,
    items_total: usize,
    /// Chunks its raster output's live quicklook holds (`…/quicklook.png`).
    quicklook_chunks: Option<u64>,
}

async fn query(State(d): Shared, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if d.user(&headers).is_none() {
        return unauthorized();
    }
    if let Statements::Scheduler(base) = &d.statements {
        return match scheduler_jobs(base).await {
            Ok(jobs) => match jobs.iter().find(|j| j.job_id == id) {
                Some(job) => {
                    let mut row = job_row(job);
                    // The stages with their plans and metrics, under the job.
                    let path = system::JOB_STAGES_PATH.replace("{id}", &job.job_id);
                    let stages = system::fetch::<Vec<Operator>>(base, &path).await.ok();
                    row["operators"] = match stages {
                        Some(stages) => json!(Operator {
                            name: format!("Job {}", job.job_id),
                            metrics: Vec::new(),
                            children: stages,
                        }),
                        None => serde_json::Value::Null,
                    };
                    row["items"] = json!([]);
                    row["items_total"] = json!(0);
                    axum::Json(row).into_response()
                }
                None => api_error(StatusCode::NOT_FOUND, "no such job"),
            },
            Err(e) => api_error(StatusCode::BAD_GATEWAY, &e),
        };
    }
    let Some(q) = id.parse().ok().and_then(|id| monitor::global().query(id)) else {
        return api_error(
            StatusCode::NOT_FOUND,
            "no such statement (or no longer kept)",
        );
    };
    let job = match q.job() {
        Some((base, name)) if !q.state().ended() => {
            crate::shell::progress::cluster_job(&base, &name).await
        }
        _ => None,
    };
    let (items, items_total) = q.items();
    axum::Json(QueryPage {
        info: q.info(job.as_ref()),
        operators: q.operators(),
        items,
        items_total,
        quicklook_chunks: q.quicklook_chunks(),
    })
    .into_response()
}

/// The live quicklook of a statement's raster output: the chunks written so far.
async fn quicklook(
    State(d): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if d.user(&headers).is_none() {
        return unauthorized();
    }
    let Some(q) = id.parse().ok().and_then(|id| monitor::global().query(id)) else {
        return api_error(
            StatusCode::NOT_FOUND,
            "no such statement (or no longer kept)",
        );
    };
    match q.quicklook_png() {
        Some(Ok(png)) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        Some(Err(e)) => api_error(StatusCode::INTERNAL_SERVER_ERROR, &e),
        None => api_error(
            StatusCode::NOT_FOUND,
            "the statement has no raster output with a quicklook",
        ),
    }
}

async fn cancel(
    State(d): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some(user) = d.user(&headers) else {
        return unauthorized();
    };
    if !headers.contains_key(REQUEST_HEADER) {
        return api_error(
            StatusCode::FORBIDDEN,
            "a cancel must carry the X-Swath-Request header",
        );
    }
    if let Statements::Scheduler(base) = &d.statements {
        return cancel_job(base, &id).await;
    }
    let Some(q) = id.parse().ok().and_then(|id| monitor::global().query(id)) else {
        return api_error(
            StatusCode::NOT_FOUND,
            "no such statement (or no longer kept)",
        );
    };
    if d.auth.required() && q.user != user {
        return api_error(
            StatusCode::FORBIDDEN,
            "only the user who ran a statement may cancel it",
        );
    }
    if q.state().ended() {
        return api_error(StatusCode::CONFLICT, "the statement has already ended");
    }
    let cancelled = q.cancel();
    axum::Json(json!({ "id": q.id, "cancelled": cancelled })).into_response()
}

async fn executors(State(d): Shared, headers: HeaderMap) -> Response {
    if d.user(&headers).is_none() {
        return unauthorized();
    }
    axum::Json(d.executors_json().await).into_response()
}

/// The scheduler's jobs.
async fn scheduler_jobs(base: &str) -> Result<Vec<system::JobInfo>, String> {
    system::fetch(base, system::JOBS_PATH)
        .await
        .map_err(|e| e.to_string())
}

/// A cluster job as a statement row: the user and statement from its name
/// (`swath serve USER #N: …` or the shell's `swath PID.N: …`), its state, and
/// its tasks as progress.
fn job_row(job: &system::JobInfo) -> serde_json::Value {
    let (user, origin, sql) = match job.name.strip_prefix("swath serve ") {
        Some(rest) => match rest.split_once(": ") {
            Some((who, sql)) => (
                who.split(" #").next().unwrap_or(who).to_string(),
                "serve",
                sql.to_string(),
            ),
            None => (String::new(), "serve", rest.to_string()),
        },
        None => match job
            .name
            .strip_prefix("swath ")
            .and_then(|r| r.split_once(": "))
        {
            Some((_, sql)) => (String::new(), "shell", sql.to_string()),
            None => (String::new(), "client", job.name.clone()),
        },
    };
    let state = match job.status.as_str() {
        "queued" => "planned",
        "successful" => "done",
        other => other,
    };
    let now = chrono::Utc::now().timestamp_millis();
    let elapsed = job
        .started_ms
        .map(|s| job.ended_ms.unwrap_or(now).saturating_sub(s).max(0));
    let fraction = match (state, job.tasks_done, job.tasks) {
        ("done", _, _) => 1.0,
        (_, Some(done), Some(total)) if total > 0 => f64::from(done) / f64::from(total),
        _ if job.stages > 0 => f64::from(job.stages_done) / f64::from(job.stages),
        _ => 0.0,
    };
    json!({
        "id": job.job_id,
        "user": user,
        "origin": origin,
        "state": state,
        "sql": sql,
        "job": job.name,
        "started_ms": job.started_ms,
        "ended_ms": job.ended_ms,
        "elapsed_ms": elapsed,
        "stages": job.stages,
        "stages_done": job.stages_done,
        "tasks_done": job.tasks_done,
        "tasks_total": job.tasks,
        "tasks_running": job.tasks_running,
        "fraction": fraction.clamp(0.0, 1.0),
        "error": job.error,
    })
}

/// Cancel a cluster job through Ballista's REST API (`PATCH /api/job/{id}`):
/// its tasks stop on every executor and the client's call ends with an error.
async fn cancel_job(base: &str, id: &str) -> Response {
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return api_error(StatusCode::NOT_FOUND, "no such job");
    }
    let client = match reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .build()
    {
        Ok(c) => c,
        Err(e) => return api_error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    match client.patch(format!("{base}/api/job/{id}")).send().await {
        Ok(r) if r.status().is_success() => {
            axum::Json(json!({ "id": id, "cancelled": true })).into_response()
        }
        Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => {
            api_error(StatusCode::NOT_FOUND, "no such job")
        }
        Ok(r) if r.status() == reqwest::StatusCode::CONFLICT => {
            api_error(StatusCode::CONFLICT, "the job has already ended")
        }
        Ok(r) => api_error(
            StatusCode::BAD_GATEWAY,
            &format!("the scheduler answered HTTP {}", r.status()),
        ),
        Err(e) => api_error(StatusCode::BAD_GATEWAY, &e.to_string()),
    }
}
