//! Client sessions: each has its own DataFusion session (its tables), its own
//! stores limited to the allowed roots, its own memory pool, and the statements it
//! planned or prepared. Idle sessions are closed after a while.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use datafusion::common::ParamValues;
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use swath_engine::EngineConfig;
use swath_engine::monitor::{QueryHandle, State};
use tokio::sync::oneshot;
use tonic::Status;

use super::auth::{Authenticator, Caller};

/// A statement waiting for its ticket to be fetched, or a prepared one.
pub enum Statement {
    /// Planned (DDL already run), to be streamed by `DoGet` once, before
    /// `deadline`.
    Pending {
        /// The result.
        df: DataFrame,
        /// When the statement timeout ends it.
        deadline: Instant,
        /// Its text (for the provenance of what it writes).
        sql: String,
        /// Its record in the process monitor (the dashboard, `swath.queries`).
        record: QueryHandle,
    },
    /// A prepared statement and its bound parameters.
    Prepared {
        /// The plan, with placeholders.
        plan: LogicalPlan,
        /// The parameters bound by the last `DoPut`.
        params: Option<ParamValues>,
        /// Its text.
        sql: String,
    },
}

/// A planned statement taken to be run.
pub struct Pending {
    /// The result.
    pub df: DataFrame,
    /// When the statement timeout ends it.
    pub deadline: Instant,
    /// Its text.
    pub sql: String,
    /// Its record in the process monitor.
    pub record: QueryHandle,
}

/// One client session.
pub struct ClientSession {
    /// The session's key (its session token, or `user:NAME` for a user's default).
    pub id: String,
    /// Who owns it.
    pub user: String,
    /// Its DataFusion session.
    pub ctx: SessionContext,
    statements: Mutex<HashMap<String, Statement>>,
    running: Mutex<HashMap<String, oneshot::Sender<()>>>,
    last_used: Mutex<Instant>,
}

impl ClientSession {
    fn touch(&self) {
        if let Ok(mut t) = self.last_used.lock() {
            *t = Instant::now();
        }
    }

    fn idle_for(&self) -> Duration {
        self.last_used
            .lock()
            .map(|t| t.elapsed())
            .unwrap_or_default()
    }

    fn busy(&self) -> bool {
        self.running.lock().map(|r| !r.is_empty()).unwrap_or(false)
    }

    /// Keep a statement under a new handle; the handle.
    pub fn keep(&self, statement: Statement) -> Result<String, Status> {
        let handle = uuid::Uuid::new_v4().simple().to_string();
        let mut map = self
            .statements
            .lock()
            .map_err(|_| Status::internal("session state poisoned"))?;
        if map.len() >= MAX_STATEMENTS {
            // Drop pending results nobody fetched, oldest deadline first.
            let now = Instant::now();
            map.retain(|_, s| !matches!(s, Statement::Pending { deadline, .. } if *deadline < now));
            if map.len() >= MAX_STATEMENTS {
                return Err(Status::resource_exhausted(format!(
                    "this session holds {MAX_STATEMENTS} statements: fetch or close some"
                )));
            }
        }
        map.insert(handle.clone(), statement);
        Ok(handle)
    }

    /// Take a pending statement (a ticket is fetched once).
    pub fn take_pending(&self, handle: &str) -> Result<Pending, Status> {
        let mut map = self
            .statements
            .lock()
            .map_err(|_| Status::internal("session state poisoned"))?;
        match map.remove(handle) {
            Some(Statement::Pending {
                df,
                deadline,
                sql,
                record,
            }) => Ok(Pending {
                df,
                deadline,
                sql,
                record,
            }),
            Some(other) => {
                map.insert(handle.to_string(), other);
                Err(Status::invalid_argument(
                    "the handle is a prepared statement",
                ))
            }
            None => Err(Status::not_found(
                "no such statement in this session (fetched already, cancelled, or planned \
                 by another session)",
            )),
        }
    }

    /// A prepared statement's plan and parameters.
    pub fn prepared(
        &self,
        handle: &str,
    ) -> Result<(LogicalPlan, Option<ParamValues>, String), Status> {
        let map = self
            .statements
            .lock()
            .map_err(|_| Status::internal("session state poisoned"))?;
        match map.get(handle) {
            Some(Statement::Prepared { plan, params, sql }) => {
                Ok((plan.clone(), params.clone(), sql.clone()))
            }
            _ => Err(Status::not_found(
                "no such prepared statement in this session",
            )),
        }
    }

    /// Bind parameters to a prepared statement.
    pub fn bind(&self, handle: &str, values: ParamValues) -> Result<(), Status> {
        let mut map = self
            .statements
            .lock()
            .map_err(|_| Status::internal("session state poisoned"))?;
        match map.get_mut(handle) {
            Some(Statement::Prepared { params, .. }) => {
                *params = Some(values);
                Ok(())
            }
            _ => Err(Status::not_found(
                "no such prepared statement in this session",
            )),
        }
    }

    /// Forget a statement.
    pub fn close(&self, handle: &str) {
        if let Ok(mut map) = self.statements.lock() {
            map.remove(handle);
        }
    }

    /// Note a running stream, so it can be cancelled.
    pub fn started(&self, handle: &str, abort: oneshot::Sender<()>) {
        if let Ok(mut r) = self.running.lock() {
            r.insert(handle.to_string(), abort);
        }
        self.touch();
    }

    /// A stream ended.
    pub fn finished(&self, handle: &str) {
        if let Ok(mut r) = self.running.lock() {
            r.remove(handle);
        }
        self.touch();
    }

    /// Cancel a statement: a pending one is dropped, a running one aborted (its
    /// stream ends, the query's tasks stop and its memory returns). Whether there
    /// was one.
    pub fn cancel(&self, handle: &str) -> bool {
        let removed = self
            .statements
            .lock()
            .ok()
            .and_then(|mut m| m.remove(handle));
        let pending = removed.is_some();
        if let Some(Statement::Pending { record, .. }) = removed {
            record.end(
                State::Cancelled,
                Some("cancelled before its result was fetched".into()),
            );
        }
        let running = self.running.lock().ok().and_then(|mut r| r.remove(handle));
        let was_running = running.is_some();
        if let Some(abort) = running {
            let _ = abort.send(());
        }
        pending || was_running
    }
}

/// Most statements a session keeps (pending results and prepared statements).
const MAX_STATEMENTS: usize = 256;

/// Settings every session is made with.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// The engine configuration (mode, memory limit, roots).
    pub engine: EngineConfig,
    /// Most sessions at once.
    pub max_sessions: usize,
    /// A session unused this long is closed.
    pub idle: Duration,
}

/// Every session of the server.
pub struct Sessions {
    settings: SessionSettings,
    auth: Arc<Authenticator>,
    map: tokio::sync::Mutex<HashMap<String, Arc<ClientSession>>>,
}

impl Sessions {
    /// No session yet.
    pub fn new(settings: SessionSettings, auth: Arc<Authenticator>) -> Sessions {
        Sessions {
            settings,
            auth,
            map: tokio::sync::Mutex::default(),
        }
    }

    /// The settings sessions are made with.
    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }

    /// The caller's session, made on first use.
    pub async fn get(&self, caller: &Caller) -> Result<Arc<ClientSession>, Status> {
        let key = caller
            .session
            .clone()
            .unwrap_or_else(|| format!("user:{}", caller.user));
        {
            let mut map = self.map.lock().await;
            if let Some(s) = map.get(&key) {
                s.touch();
                return Ok(Arc::clone(s));
            }
            if map.len() >= self.settings.max_sessions {
                self.evict(&mut map, Duration::ZERO);
                if map.len() >= self.settings.max_sessions {
                    return Err(Status::resource_exhausted(format!(
                        "the server holds {} sessions, all busy: try again later",
                        self.settings.max_sessions
                    )));
                }
            }
        }
        // Made without the lock: on a cluster this connects to the scheduler, and
        // other clients' calls must not wait for it.
        let ctx = swath_engine::context(&self.settings.engine)
            .await
            .map_err(|e| Status::unavailable(format!("cannot start a session: {e}")))?;
        let session = Arc::new(ClientSession {
            id: key.clone(),
            user: caller.user.clone(),
            ctx,
            statements: Mutex::default(),
            running: Mutex::default(),
            last_used: Mutex::new(Instant::now()),
        });
        let mut map = self.map.lock().await;
        // Another call of the same client may have made it meanwhile: keep the first.
        let kept = map.entry(key).or_insert(session);
        kept.touch();
        Ok(Arc::clone(kept))
    }

    /// Close sessions idle longer than `idle` with nothing running, oldest first
    /// (`Duration::ZERO`: the one idle longest, to make room).
    fn evict(&self, map: &mut HashMap<String, Arc<ClientSession>>, idle: Duration) {
        let mut idle_ones: Vec<(String, Duration)> = map
            .iter()
            .filter(|(_, s)| !s.busy())
            .map(|(k, s)| (k.clone(), s.idle_for()))
            .filter(|(_, d)| *d >= idle)
            .collect();
        idle_ones.sort_by_key(|(_, d)| std::cmp::Reverse(*d));
        if idle == Duration::ZERO {
            idle_ones.truncate(1);
        }
        for (key, _) in idle_ones {
            map.remove(&key);
            self.auth.revoke(&key);
        }
    }

    /// Close the caller's handshake session (a user's default session stays).
    pub async fn close(&self, caller: &Caller) {
        if let Some(key) = &caller.session {
            self.map.lock().await.remove(key);
            self.auth.revoke(key);
        }
    }

    /// Close idle sessions now (the server calls this every minute).
    pub async fn sweep(&self) {
        let mut map = self.map.lock().await;
        let idle = self.settings.idle;
        self.evict(&mut map, idle);
        // Session tokens whose session was never used (a handshake and nothing
        // after) go too.
        self.auth.prune(|token| map.contains_key(token), idle);
    }
}
