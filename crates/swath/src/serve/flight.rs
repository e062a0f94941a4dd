//! The Flight SQL service: statements, prepared statements, metadata, cancel.
//!
//! A statement is planned by `GetFlightInfo` (DDL runs there) and streamed by
//! `DoGet` batch by batch: a result never sits whole in the server. The ticket
//! names a statement of the caller's session only. The statement timeout runs
//! from planning to the last batch; a cancel, a timeout or a client going away
//! drops the query's stream, which stops its tasks and returns its memory.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use arrow::ipc::writer::IpcWriteOptions;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::metadata::{
    SqlInfoData, SqlInfoDataBuilder, XdbcTypeInfo, XdbcTypeInfoData,
    XdbcTypeInfoDataBuilder,
};
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionCancelQueryRequest, ActionCancelQueryResult,
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, Any, CommandGetCatalogs, CommandGetDbSchemas,
    CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandGetXdbcTypeInfo,
    CommandPreparedStatementQuery, CommandPreparedStatementUpdate, CommandStatementQuery,
    CommandStatementUpdate, DoPutPreparedStatementResult, Nullable, ProstMessageExt,
    Searchable, SqlInfo, TicketStatementQuery, XdbcDataType,
};
use arrow_flight::{
    Action, CancelFlightInfoRequest, CancelFlightInfoResult, CancelStatus,
    FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse,
    IpcMessage, SchemaAsIpc, Ticket,
};
use datafusion::common::{DataFusionError, ParamValues, ScalarValue};
use datafusion::dataframe::DataFrame;
use datafusion::datasource::TableType;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::logical_expr::LogicalPlan;
use futures::{Stream, StreamExt, TryStreamExt};
use prost::Message;
use tokio::sync::oneshot;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use super::auth::{Authenticator, Caller, basic_credentials, unauthenticated};
use super::sessions::{ClientSession, Pending, Sessions, Statement};
use datafusion::datasource::sink::DataSinkExec;
use datafusion::physical_plan::{collect, execute_stream};
use swath_engine::Mode;
use swath_engine::monitor::{self, QueryHandle, State};
use swath_engine::output::provenance::with_statement;

/// Schema metadata key of the table grid (JSON: crs, transform, width, height,
/// chunk_width, chunk_height), copied from the first tile column that has it.
pub use swath_engine::cube::schema::GRID_KEY;

/// The Flight SQL service of `swath serve`.
pub struct SwathFlightSql {
    sessions: Arc<Sessions>,
    auth: Arc<Authenticator>,
    timeout: Duration,
    sql_info: SqlInfoData,
    xdbc: XdbcTypeInfoData,
}

type DoGetStream =
    Pin<Box<dyn Stream<Item = Result<arrow_flight::FlightData, Status>> + Send>>;

impl SwathFlightSql {
    /// A service over `sessions`, ending statements after `timeout`.
    pub fn new(
        sessions: Arc<Sessions>,
        auth: Arc<Authenticator>,
        timeout: Duration,
    ) -> Result<SwathFlightSql, String> {
        Ok(SwathFlightSql {
            sessions,
            auth,
            timeout,
            sql_info: sql_info(timeout).map_err(|e| e.to_string())?,
            xdbc: xdbc_types().map_err(|e| e.to_string())?,
        })
    }

    async fn session<T>(
        &self,
        request: &Request<T>,
    ) -> Result<Arc<ClientSession>, Status> {
        let caller = request
            .extensions()
            .get::<Caller>()
            .cloned()
            .ok_or_else(unauthenticated)?;
        self.sessions.get(&caller).await
    }

    /// Plan `sql` in `session` under the server's rules, run its DDL, and keep
    /// the result for a ticket.
    async fn plan_statement(
        &self,
        session: &Arc<ClientSession>,
        sql: &str,
    ) -> Result<(SchemaRef, String), Status> {
        let deadline = Instant::now() + self.timeout;
        let roots = &self.sessions.settings().engine.roots;
        let record = self.record(session, sql);
        let planned = within(deadline, self.timeout, async {
            let plan = session
                .ctx
                .state()
                .create_logical_plan(sql)
                .await
                .map_err(|e| status(session, &e))?;
            super::policy::check(&plan, roots)?;
            session
                .ctx
                .execute_logical_plan(plan)
                .await
                .map_err(|e| status(session, &e))
        });
        let df = with_statement(sql, planned)
            .await
            .inspect_err(|e| ended(&record, e))?;
        let schema = output_schema(df.schema().as_arrow());
        self.keep_pending(session, df, deadline, sql, record)
            .map(|handle| (schema, handle))
    }

    /// Keep a planned statement for its ticket; cancelling it from the dashboard
    /// cancels it as CancelFlightInfo does.
    fn keep_pending(
        &self,
        session: &Arc<ClientSession>,
        df: DataFrame,
        deadline: Instant,
        sql: &str,
        record: QueryHandle,
    ) -> Result<String, Status> {
        let query = Arc::clone(record.query());
        let handle = session.keep(Statement::Pending {
            df,
            deadline,
            sql: sql.to_string(),
            record,
        })?;
        let weak = Arc::downgrade(session);
        let h = handle.clone();
        query.on_cancel(move || {
            if let Some(session) = weak.upgrade() {
                session.cancel(&h);
            }
        });
        Ok(handle)
    }

    /// Record a statement in the process monitor (the dashboard,
    /// `swath.queries`); on a cluster, name its job (`swath.jobs`, the
    /// scheduler's API) `swath serve USER #ID: <statement start>`.
    fn record(&self, session: &ClientSession, sql: &str) -> QueryHandle {
        let record = monitor::global().start(&session.user, "serve", sql);
        let Mode::Remote(url) = &self.sessions.settings().engine.mode else {
            return record;
        };
        let name = format!(
            "swath serve {} #{}: {}",
            session.user,
            record.query().id,
            crate::shell::statement_start(sql)
        );
        {
            let state = session.ctx.state_ref();
            let mut state = state.write();
            let options = state.config_mut().options_mut();
            let _ = options.set("ballista.job.name", &name);
            // Outputs planned on the scheduler record the statement.
            let _ = options.set("swath.statement", sql);
        }
        record.on_cluster(&swath_engine::system::status_base(url), &name);
        record
    }

    /// Run a statement to its end; the rows it reports (COPY's count) or 0.
    async fn run_update(
        &self,
        session: &ClientSession,
        df: DataFrame,
        sql: &str,
        record: QueryHandle,
    ) -> Result<i64, Status> {
        let deadline = Instant::now() + self.timeout;
        let (cancel_tx, mut cancel_rx) = oneshot::channel::<()>();
        record.query().on_cancel(move || {
            let _ = cancel_tx.send(());
        });
        let run = within(deadline, self.timeout, async {
            let task = Arc::new(df.task_ctx());
            let plan = df
                .create_physical_plan()
                .await
                .map_err(|e| status(session, &e))?;
            record.running(&plan, Some(task.memory_pool()));
            tokio::select! {
                biased;
                _ = &mut cancel_rx => Err(cancelled()),
                r = collect(plan, task) => r.map_err(|e| status(session, &e)),
            }
        });
        let batches = monitor::with_query(record.query(), with_statement(sql, run))
            .await
            .inspect_err(|e| ended(&record, e))?;
        let count = update_count(&batches);
        record.add_rows(count.max(0) as usize);
        record.end(State::Done, None);
        Ok(count)
    }

    fn stream(
        &self,
        session: Arc<ClientSession>,
        handle: String,
        pending: Pending,
    ) -> DoGetStream {
        let Pending {
            df,
            deadline,
            sql,
            record,
        } = pending;
        let schema = output_schema(df.schema().as_arrow());
        let (cancel_tx, cancel_rx) = oneshot::channel();
        session.started(&handle, cancel_tx);
        let query = Arc::clone(record.query());
        let guard = Finished {
            session: Arc::clone(&session),
            handle,
            record,
            writes: false,
        };
        let timeout = self.timeout;
        let sent = Arc::clone(&schema);
        let batches =
            futures::stream::unfold(Step::Start(df, cancel_rx, guard), move |step| {
                let schema = Arc::clone(&schema);
                let sql = sql.clone();
                let query = Arc::clone(&query);
                async move {
                    let next = with_statement(&sql, step.next(schema, deadline, timeout));
                    monitor::with_query(&query, next).await
                }
            });
        let flight = FlightDataEncoderBuilder::new()
            .with_schema(sent)
            .build(batches)
            .map_err(Status::from);
        Box::pin(flight)
    }
}

/// Calls `finished` when a stream ends or is dropped (client gone), and holds
/// the statement's record.
struct Finished {
    session: Arc<ClientSession>,
    handle: String,
    record: QueryHandle,
    /// The statement writes (COPY): its rows out are the count it reports.
    writes: bool,
}

/// Record how a statement ended with `status`.
fn ended(record: &QueryHandle, status: &Status) {
    let state = match status.code() {
        tonic::Code::Cancelled | tonic::Code::DeadlineExceeded => State::Cancelled,
        _ => State::Failed,
    };
    record.end(state, Some(status.message().to_string()));
}

impl Drop for Finished {
    fn drop(&mut self) {
        self.session.finished(&self.handle);
    }
}

enum Step {
    Start(DataFrame, oneshot::Receiver<()>, Finished),
    Streaming(SendableRecordBatchStream, oneshot::Receiver<()>, Finished),
    Done,
}

impl Step {
    async fn next(
        self,
        schema: SchemaRef,
        deadline: Instant,
        timeout: Duration,
    ) -> Option<(Result<RecordBatch, FlightError>, Step)> {
        let fail = |status: Status, guard: &Finished| {
            ended(&guard.record, &status);
            Some((Err(FlightError::Tonic(Box::new(status))), Step::Done))
        };
        match self {
            Step::Done => None,
            Step::Start(df, mut cancel, mut guard) => {
                let start = async {
                    let task = Arc::new(df.task_ctx());
                    let plan = df.create_physical_plan().await?;
                    guard.record.running(&plan, Some(task.memory_pool()));
                    let writes = plan.downcast_ref::<DataSinkExec>().is_some();
                    execute_stream(plan, task).map(|s| (s, writes))
                };
                let started = tokio::select! {
                    biased;
                    _ = &mut cancel => return fail(cancelled(), &guard),
                    r = tokio::time::timeout_at(deadline.into(), start) => r,
                };
                match started {
                    Err(_) => fail(timed_out(timeout), &guard),
                    Ok(Err(e)) => fail(status(&guard.session, &e), &guard),
                    Ok(Ok((stream, writes))) => {
                        guard.writes = writes;
                        Box::pin(
                            Step::Streaming(stream, cancel, guard)
                                .next(schema, deadline, timeout),
                        )
                        .await
                    }
                }
            }
            Step::Streaming(mut stream, mut cancel, guard) => {
                let item = tokio::select! {
                    biased;
                    _ = &mut cancel => return fail(cancelled(), &guard),
                    r = tokio::time::timeout_at(deadline.into(), stream.next()) => r,
                };
                match item {
                    Err(_) => fail(timed_out(timeout), &guard),
                    Ok(None) => {
                        guard.record.end(State::Done, None);
                        None
                    }
                    Ok(Some(Err(e))) => fail(status(&guard.session, &e), &guard),
                    Ok(Some(Ok(batch))) => {
                        // COPY's one row is the count of rows it wrote.
                        guard.record.add_rows(if guard.writes {
                            update_count(std::slice::from_ref(&batch)).max(0) as usize
                        } else {
                            batch.num_rows()
                        });
                        let batch = match batch.clone().with_schema(Arc::clone(&schema)) {
                            Ok(b) => b,
                            Err(_) => batch,
                        };
                        Some((Ok(batch), Step::Streaming(stream, cancel, guard)))
                    }
                }
            }
        }
    }
}

fn cancelled() -> Status {
    Status::cancelled("the statement was cancelled")
}

fn timed_out(timeout: Duration) -> Status {
    Status::deadline_exceeded(format!(
        "the statement ran longer than the server's statement timeout ({} s) and was \
         stopped",
        timeout.as_secs()
    ))
}

/// Run `fut` until `deadline`.
async fn within<T>(
    deadline: Instant,
    timeout: Duration,
    fut: impl std::future::Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    tokio::time::timeout_at(deadline.into(), fut)
        .await
        .unwrap_or_else(|_| Err(timed_out(timeout)))
}

/// A DataFusion error as a gRPC status, secrets masked.
fn status(session: &ClientSession, e: &DataFusionError) -> Status {
    let root = e.find_root();
    let text = e.to_string();
    let text = match swath_engine::stores::registry(session.ctx.state().config()) {
        Some(r) => r.redact(&text),
        None => text,
    };
    match root {
        DataFusionError::ResourcesExhausted(_) => Status::resource_exhausted(text),
        DataFusionError::Plan(_)
        | DataFusionError::SQL(..)
        | DataFusionError::SchemaError(..)
        | DataFusionError::NotImplemented(_)
        | DataFusionError::Configuration(_) => Status::invalid_argument(text),
        DataFusionError::ObjectStore(os)
            if matches!(**os, object_store::Error::PermissionDenied { .. }) =>
        {
            Status::permission_denied(text)
        }
        DataFusionError::ObjectStore(os)
            if matches!(**os, object_store::Error::NotFound { .. }) =>
        {
            Status::not_found(text)
        }
        _ if text.contains("--allow-root") || text.contains("--output-root") => {
            Status::permission_denied(text)
        }
        // DDL over a name in use (DataFusion reports it as an execution error).
        DataFusionError::Execution(m) if m.contains("already exists") => {
            Status::already_exists(text)
        }
        _ => Status::internal(text),
    }
}

/// The result schema as sent: the table grid of the first tile column that has
/// one goes into the schema metadata too, so a client can place every tile.
fn output_schema(schema: &Schema) -> SchemaRef {
    let mut metadata = schema.metadata().clone();
    if !metadata.contains_key(GRID_KEY)
        && let Some(grid) = schema
            .fields()
            .iter()
            .find_map(|f| f.metadata().get(GRID_KEY))
    {
        metadata.insert(GRID_KEY.to_string(), grid.clone());
    }
    Arc::new(Schema::new_with_metadata(schema.fields().clone(), metadata))
}

/// Rows a statement reports: COPY's and INSERT's `count`, else 0.
fn update_count(batches: &[RecordBatch]) -> i64 {
    let mut n = 0i64;
    for b in batches {
        if b.num_columns() == 1
            && b.schema().field(0).name() == "count"
            && let Some(c) = b
                .column(0)
                .as_any()
                .downcast_ref::<arrow::array::UInt64Array>()
        {
            n += c.iter().flatten().map(|v| v as i64).sum::<i64>();
        }
    }
    n
}

fn ticket_for(handle: &str) -> Ticket {
    let t = TicketStatementQuery {
        statement_handle: handle.as_bytes().to_vec().into(),
    };
    Ticket::new(t.as_any().encode_to_vec())
}

fn flight_info(
    schema: &Schema,
    ticket: Ticket,
    descriptor: FlightDescriptor,
) -> Result<FlightInfo, Status> {
    Ok(FlightInfo::new()
        .try_with_schema(schema)
        .map_err(|e| Status::internal(e.to_string()))?
        .with_endpoint(FlightEndpoint::new().with_ticket(ticket))
        .with_descriptor(descriptor))
}

/// The FlightInfo of a metadata command: its result schema, and a ticket that is
/// the command itself (answered by the matching `do_get_*`).
fn command_info(
    schema: &Schema,
    command: Any,
    request: Request<FlightDescriptor>,
) -> Result<Response<FlightInfo>, Status> {
    let ticket = Ticket::new(command.encode_to_vec());
    Ok(Response::new(flight_info(
        schema,
        ticket,
        request.into_inner(),
    )?))
}

fn schema_bytes(schema: &Schema) -> Result<bytes::Bytes, Status> {
    let message: IpcMessage = SchemaAsIpc::new(schema, &IpcWriteOptions::default())
        .try_into()
        .map_err(|e: arrow::error::ArrowError| Status::internal(e.to_string()))?;
    Ok(message.0)
}

fn one_batch(batch: Result<RecordBatch, FlightError>) -> Result<DoGetStream, Status> {
    let batch = batch.map_err(|e| Status::internal(e.to_string()))?;
    let schema = batch.schema();
    let stream = FlightDataEncoderBuilder::new()
        .with_schema(schema)
        .build(futures::stream::once(async { Ok(batch) }))
        .map_err(Status::from);
    Ok(Box::pin(stream))
}

fn handle_of(bytes: &[u8]) -> Result<String, Status> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Status::invalid_argument("malformed handle"))
}

/// The statement handle a FlightInfo's first ticket names.
fn handle_in_info(info: &FlightInfo) -> Result<String, Status> {
    let ticket = info
        .endpoint
        .first()
        .and_then(|e| e.ticket.as_ref())
        .ok_or_else(|| Status::invalid_argument("the FlightInfo has no ticket"))?;
    let any = Any::decode(&*ticket.ticket)
        .map_err(|_| Status::invalid_argument("malformed ticket"))?;
    let t: TicketStatementQuery = any
        .unpack()
        .map_err(|_| Status::invalid_argument("malformed ticket"))?
        .ok_or_else(|| Status::invalid_argument("not a statement ticket"))?;
    handle_of(&t.statement_handle)
}

/// One row of parameters from a `DoPut` of a prepared statement.
async fn read_params(
    request: Request<PeekableFlightDataStream>,
) -> Result<ParamValues, Status> {
    let stream = request
        .into_inner()
        .into_peekable()
        .map_err(FlightError::from);
    let mut batches =
        arrow_flight::decode::FlightRecordBatchStream::new_from_flight_data(stream);
    let mut values: Option<Vec<ScalarValue>> = None;
    let mut rows = 0usize;
    while let Some(batch) = batches.next().await {
        let batch =
            batch.map_err(|e| Status::invalid_argument(format!("parameters: {e}")))?;
        rows += batch.num_rows();
        if rows > 1 {
            return Err(Status::invalid_argument(
                "parameters: one row of values per execution (got more)",
            ));
        }
        if batch.num_rows() == 1 {
            let row = batch
                .columns()
                .iter()
                .map(|c| ScalarValue::try_from_array(c, 0))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Status::invalid_argument(format!("parameters: {e}")))?;
            values = Some(row);
        }
    }
    Ok(ParamValues::List(
        values
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// `?` placeholders (JDBC/ODBC/ADBC style) numbered as DataFusion's `$1`, `$2`, …,
/// outside string literals, quoted identifiers and comments.
fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                out.push(c);
                let mut prev = ' ';
                for d in chars.by_ref() {
                    out.push(d);
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
            }
            '?' => {
                n += 1;
                out.push_str(&format!("${n}"));
            }
            _ => out.push(c),
        }
    }
    out
}

/// Every (catalog, schema) of a session, sorted, with the schema.
fn schemas_of(
    ctx: &datafusion::prelude::SessionContext,
) -> Vec<(String, String, Arc<dyn datafusion::catalog::SchemaProvider>)> {
    let mut out = Vec::new();
    let mut catalogs = ctx.catalog_names();
    catalogs.sort();
    for c in catalogs {
        let Some(catalog) = ctx.catalog(&c) else {
            continue;
        };
        let mut names = catalog.schema_names();
        names.sort();
        for s in names {
            if let Some(schema) = catalog.schema(&s) {
                out.push((c.clone(), s, schema));
            }
        }
    }
    out
}

fn table_type_name(t: TableType) -> &'static str {
    match t {
        TableType::Base => "TABLE",
        TableType::View => "VIEW",
        TableType::Temporary => "LOCAL TEMPORARY",
    }
}

#[tonic::async_trait]
impl FlightSqlService for SwathFlightSql {
    type FlightService = SwathFlightSql;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<
        Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>,
        Status,
    > {
        let (user, password) = match basic_credentials(request.metadata()) {
            Some(c) => c,
            None if !self.auth.required() => (String::new(), String::new()),
            None => return Err(unauthenticated()),
        };
        let user = self.auth.basic(&user, &password)?;
        let token = self.auth.issue(&user);
        let payload = HandshakeResponse {
            protocol_version: 0,
            payload: token.clone().into_bytes().into(),
        };
        let mut response: Response<
            Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>,
        > = Response::new(Box::pin(futures::stream::iter(vec![Ok(payload)])));
        let value = MetadataValue::try_from(format!("Bearer {token}"))
            .map_err(|_| Status::internal("token is not a header value"))?;
        response.metadata_mut().insert("authorization", value);
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let session = self.session(&request).await?;
        let (schema, handle) = self.plan_statement(&session, &query.query).await?;
        let info = flight_info(&schema, ticket_for(&handle), request.into_inner())?;
        Ok(Response::new(info))
    }

    async fn get_flight_info_prepared_statement(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let session = self.session(&request).await?;
        let handle = handle_of(&cmd.prepared_statement_handle)?;
        let (plan, params, sql) = session.prepared(&handle)?;
        let deadline = Instant::now() + self.timeout;
        let record = self.record(&session, &sql);
        let df = with_statement(&sql, self.bound(&session, plan, params, deadline))
            .await
            .inspect_err(|e| ended(&record, e))?;
        let schema = output_schema(df.schema().as_arrow());
        let ticket = self.keep_pending(&session, df, deadline, &sql, record)?;
        let info = flight_info(&schema, ticket_for(&ticket), request.into_inner())?;
        Ok(Response::new(info))
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let session = self.session(&request).await?;
        let handle = handle_of(&ticket.statement_handle)?;
        let pending = session.take_pending(&handle)?;
        Ok(Response::new(self.stream(session, handle, pending)))
    }

    async fn do_put_statement_update(
        &self,
        cmd: CommandStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let session = self.session(&request).await?;
        let (_, handle) = self.plan_statement(&session, &cmd.query).await?;
        let pending = session.take_pending(&handle)?;
        self.run_update(&session, pending.df, &pending.sql, pending.record)
            .await
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let session = self.session(&request).await?;
        let deadline = Instant::now() + self.timeout;
        let roots = &self.sessions.settings().engine.roots;
        let plan = within(deadline, self.timeout, async {
            let plan = session
                .ctx
                .state()
                .create_logical_plan(&numbered_placeholders(&query.query))
                .await
                .map_err(|e| status(&session, &e))?;
            super::policy::check(&plan, roots)?;
            Ok(plan)
        })
        .await
        .inspect_err(|e| {
            // A statement refused when prepared is shown as failed.
            let record = monitor::global().start(&session.user, "serve", &query.query);
            ended(&record, e);
        })?;
        let types = plan
            .get_parameter_types()
            .map_err(|e| status(&session, &e))?;
        let mut names: Vec<&String> = types.keys().collect();
        names.sort_by_key(|n| {
            n.trim_start_matches('$')
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        });
        let params = Schema::new(
            names
                .iter()
                .map(|n| {
                    arrow::datatypes::Field::new(
                        n.as_str(),
                        types[*n]
                            .clone()
                            .unwrap_or(arrow::datatypes::DataType::Null),
                        true,
                    )
                })
                .collect::<Vec<_>>(),
        );
        let dataset = output_schema(plan.schema().as_arrow());
        let handle = session.keep(Statement::Prepared {
            plan,
            params: None,
            sql: query.query.clone(),
        })?;
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle.into_bytes().into(),
            dataset_schema: schema_bytes(&dataset)?,
            parameter_schema: schema_bytes(&params)?,
        })
    }

    async fn do_put_prepared_statement_query(
        &self,
        cmd: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        let session = self.session(&request).await?;
        let handle = handle_of(&cmd.prepared_statement_handle)?;
        let params = read_params(request).await?;
        session.bind(&handle, params)?;
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(cmd.prepared_statement_handle),
        })
    }

    async fn do_put_prepared_statement_update(
        &self,
        cmd: CommandPreparedStatementUpdate,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        let session = self.session(&request).await?;
        let handle = handle_of(&cmd.prepared_statement_handle)?;
        let (plan, bound, sql) = session.prepared(&handle)?;
        let sent = read_params(request).await?;
        let params = match &sent {
            ParamValues::List(v) if v.is_empty() => bound,
            _ => Some(sent),
        };
        let deadline = Instant::now() + self.timeout;
        let record = self.record(&session, &sql);
        let df = with_statement(&sql, self.bound(&session, plan, params, deadline))
            .await
            .inspect_err(|e| ended(&record, e))?;
        self.run_update(&session, df, &sql, record).await
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        request: Request<Action>,
    ) -> Result<(), Status> {
        let session = self.session(&request).await?;
        session.close(&handle_of(&query.prepared_statement_handle)?);
        Ok(())
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        command_info(&query.into_builder().schema(), query.as_any(), request)
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let session = self.session(&request).await?;
        let mut builder = query.into_builder();
        let mut names = session.ctx.catalog_names();
        names.sort();
        for name in names {
            builder.append(name);
        }
        Ok(Response::new(one_batch(builder.build())?))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        command_info(
            &query.clone().into_builder().schema(),
            query.as_any(),
            request,
        )
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let session = self.session(&request).await?;
        let mut builder = query.into_builder();
        for (c, s, _) in schemas_of(&session.ctx) {
            builder.append(c, s);
        }
        Ok(Response::new(one_batch(builder.build())?))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        command_info(
            &query.clone().into_builder().schema(),
            query.as_any(),
            request,
        )
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let session = self.session(&request).await?;
        let mut builder = query.into_builder();
        for (c, s, schema) in schemas_of(&session.ctx) {
            let mut tables = schema.table_names();
            tables.sort();
            for t in tables {
                let Ok(Some(table)) = schema.table(&t).await else {
                    continue;
                };
                let arrow_schema = output_schema(&table.schema());
                builder
                    .append(
                        &c,
                        &s,
                        &t,
                        table_type_name(table.table_type()),
                        &arrow_schema,
                    )
                    .map_err(|e| Status::internal(e.to_string()))?;
            }
        }
        Ok(Response::new(one_batch(builder.build())?))
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        command_info(&query.into_builder().schema(), query.as_any(), request)
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let mut builder = query.into_builder();
        for t in ["LOCAL TEMPORARY", "TABLE", "VIEW"] {
            builder.append(t);
        }
        Ok(Response::new(one_batch(builder.build())?))
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        command_info(
            &query.clone().into_builder(&self.sql_info).schema(),
            query.as_any(),
            request,
        )
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        Ok(Response::new(one_batch(
            query.into_builder(&self.sql_info).build(),
        )?))
    }

    async fn get_flight_info_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        command_info(
            &query.into_builder(&self.xdbc).schema(),
            query.as_any(),
            request,
        )
    }

    async fn do_get_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        Ok(Response::new(one_batch(
            query.into_builder(&self.xdbc).build(),
        )?))
    }

    async fn do_action_cancel_query(
        &self,
        query: ActionCancelQueryRequest,
        request: Request<Action>,
    ) -> Result<ActionCancelQueryResult, Status> {
        let session = self.session(&request).await?;
        let info = FlightInfo::decode(&*query.info)
            .map_err(|_| Status::invalid_argument("malformed FlightInfo"))?;
        let handle = handle_in_info(&info)?;
        // CancelResult: 1 cancelled, 3 not cancellable.
        let result = if session.cancel(&handle) { 1 } else { 3 };
        Ok(ActionCancelQueryResult { result })
    }

    async fn do_action_fallback(
        &self,
        request: Request<Action>,
    ) -> Result<Response<<Self as FlightService>::DoActionStream>, Status> {
        if request.get_ref().r#type == "CloseSession" {
            // A client closing its connection: its handshake session goes.
            if let Some(caller) = request.extensions().get::<Caller>() {
                self.sessions.close(caller).await;
            }
            // CloseSessionResult { status: CLOSED (1) }
            let body = arrow_flight::Result {
                body: vec![0x08u8, 0x01].into(),
            };
            return Ok(Response::new(Box::pin(futures::stream::iter(vec![Ok(
                body,
            )]))));
        }
        if request.get_ref().r#type != "CancelFlightInfo" {
            return Err(Status::invalid_argument(format!(
                "unknown action {:?}",
                request.get_ref().r#type
            )));
        }
        let session = self.session(&request).await?;
        let cancel = CancelFlightInfoRequest::decode(&*request.get_ref().body)
            .map_err(|_| Status::invalid_argument("malformed CancelFlightInfoRequest"))?;
        let info = cancel.info.ok_or_else(|| {
            Status::invalid_argument("CancelFlightInfo without a FlightInfo")
        })?;
        let handle = handle_in_info(&info)?;
        let status = if session.cancel(&handle) {
            CancelStatus::Cancelled
        } else {
            CancelStatus::NotCancellable
        };
        let result = CancelFlightInfoResult {
            status: status as i32,
        };
        let body = arrow_flight::Result {
            body: result.encode_to_vec().into(),
        };
        Ok(Response::new(Box::pin(futures::stream::iter(vec![Ok(
            body,
        )]))))
    }

    async fn list_custom_actions(
        &self,
    ) -> Option<Vec<Result<arrow_flight::ActionType, Status>>> {
        Some(vec![Ok(arrow_flight::ActionType {
            r#type: "CancelFlightInfo".into(),
            description:
                "Cancel a running or pending statement (CancelFlightInfoRequest)".into(),
        })])
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

impl SwathFlightSql {
    /// A prepared plan with its parameters bound, run to a DataFrame.
    async fn bound(
        &self,
        session: &ClientSession,
        plan: LogicalPlan,
        params: Option<ParamValues>,
        deadline: Instant,
    ) -> Result<DataFrame, Status> {
        let plan = match params {
            Some(p) => plan.with_param_values(p).map_err(|e| status(session, &e))?,
            None => plan,
        };
        within(deadline, self.timeout, async {
            session
                .ctx
                .execute_logical_plan(plan)
                .await
                .map_err(|e| status(session, &e))
        })
        .await
    }
}

fn sql_info(timeout: Duration) -> Result<SqlInfoData, FlightError> {
    let mut b = SqlInfoDataBuilder::new();
    b.append(SqlInfo::FlightSqlServerName, "Swath");
    b.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    b.append(SqlInfo::FlightSqlServerArrowVersion, "1.5");
    b.append(SqlInfo::FlightSqlServerReadOnly, false);
    b.append(SqlInfo::FlightSqlServerSql, true);
    b.append(SqlInfo::FlightSqlServerSubstrait, false);
    b.append(SqlInfo::FlightSqlServerTransaction, 0i32);
    b.append(SqlInfo::FlightSqlServerCancel, true);
    b.append(SqlInfo::FlightSqlServerBulkIngestion, false);
    b.append(
        SqlInfo::FlightSqlServerStatementTimeout,
        i32::try_from(timeout.as_secs()).unwrap_or(i32::MAX),
    );
    b.append(SqlInfo::SqlDdlCatalog, false);
    b.append(SqlInfo::SqlDdlSchema, true);
    b.append(SqlInfo::SqlDdlTable, true);
    b.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
    b.append(SqlInfo::SqlAllTablesAreSelectable, true);
    b.append(SqlInfo::SqlSupportsColumnAliasing, true);
    b.append(SqlInfo::SqlNullPlusNullIsNull, true);
    b.build()
}

fn xdbc_types() -> Result<XdbcTypeInfoData, FlightError> {
    let mut b = XdbcTypeInfoDataBuilder::new();
    let types: [(&str, XdbcDataType, Option<i32>, bool); 12] = [
        ("BOOLEAN", XdbcDataType::XdbcBit, Some(1), false),
        ("TINYINT", XdbcDataType::XdbcTinyint, Some(8), true),
        ("SMALLINT", XdbcDataType::XdbcSmallint, Some(16), true),
        ("INTEGER", XdbcDataType::XdbcInteger, Some(32), true),
        ("BIGINT", XdbcDataType::XdbcBigint, Some(64), true),
        ("REAL", XdbcDataType::XdbcFloat, Some(24), true),
        ("DOUBLE", XdbcDataType::XdbcDouble, Some(53), true),
        ("DECIMAL", XdbcDataType::XdbcDecimal, Some(38), true),
        ("VARCHAR", XdbcDataType::XdbcVarchar, None, false),
        ("VARBINARY", XdbcDataType::XdbcVarbinary, None, false),
        ("DATE", XdbcDataType::XdbcDate, None, false),
        ("TIMESTAMP", XdbcDataType::XdbcTimestamp, None, false),
    ];
    for (name, data_type, size, numeric) in types {
        let text = matches!(name, "VARCHAR");
        b.append(XdbcTypeInfo {
            type_name: name.into(),
            data_type,
            column_size: size,
            literal_prefix: text.then(|| "'".into()),
            literal_suffix: text.then(|| "'".into()),
            create_params: None,
            nullable: Nullable::NullabilityNullable,
            case_sensitive: text,
            searchable: Searchable::Full,
            unsigned_attribute: numeric.then_some(false),
            fixed_prec_scale: false,
            auto_increment: numeric.then_some(false),
            local_type_name: Some(name.into()),
            minimum_scale: None,
            maximum_scale: None,
            sql_data_type: data_type,
            datetime_subcode: None,
            num_prec_radix: numeric.then_some(2),
            interval_precision: None,
        });
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::numbered_placeholders;

    #[test]
    fn question_marks_become_numbered() {
        assert_eq!(
            numbered_placeholders(
                "SELECT ? , '?' , \"a?\" -- ?\n, ? /* ? */ FROM t WHERE x = ?"
            ),
            "SELECT $1 , '?' , \"a?\" -- ?\n, $2 /* ? */ FROM t WHERE x = $3"
        );
        assert_eq!(numbered_placeholders("SELECT $1"), "SELECT $1");
    }
}
