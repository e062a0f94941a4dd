//! Progress of a running query, read from its datacube scans' metrics: chunk rows
//! read out of those planned, and scan partitions finished.

use std::sync::Arc;
use std::time::Duration;

use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::MetricValue;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use swath_engine::cube::{CubeScanExec, PixelScanExec};
use swath_engine::system;

/// How far the scans of a plan are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Chunk rows (chunk × observation) read.
    pub chunks_done: u64,
    /// Chunk rows the scans will read.
    pub chunks_total: u64,
    /// Scan partitions that have read all their rows.
    pub partitions_done: u64,
    /// Scan partitions.
    pub partitions_total: u64,
}

/// The progress of every datacube scan in `plan`.
pub fn of_plan(plan: &Arc<dyn ExecutionPlan>) -> Progress {
    let mut p = Progress::default();
    visit(plan.as_ref(), &mut p);
    p
}

fn visit(plan: &dyn ExecutionPlan, p: &mut Progress) {
    if let Some(scan) = plan.downcast_ref::<CubeScanExec>() {
        add_scan(scan, p);
    } else if let Some(scan) = plan.downcast_ref::<PixelScanExec>() {
        add_scan(scan.chunk_scan(), p);
    }
    for child in plan.children() {
        visit(child.as_ref(), p);
    }
}

fn add_scan(scan: &CubeScanExec, p: &mut Progress) {
    let planned: Vec<u64> = scan
        .spec()
        .partitions
        .iter()
        .map(|tasks| tasks.iter().map(|t| t.observations.len() as u64).sum())
        .collect();
    let mut done = vec![0u64; planned.len()];
    if let Some(metrics) = scan.metrics() {
        for m in metrics.iter() {
            if let (MetricValue::OutputRows(count), Some(part)) =
                (m.value(), m.partition())
                && let Some(d) = done.get_mut(part)
            {
                *d += count.value() as u64;
            }
        }
    }
    p.chunks_total += planned.iter().sum::<u64>();
    p.chunks_done += done.iter().sum::<u64>();
    p.partitions_total += planned.len() as u64;
    p.partitions_done += planned
        .iter()
        .zip(&done)
        .filter(|(want, got)| got >= want)
        .count() as u64;
}

/// The cluster job named `name` on the scheduler whose status API is at `base`
/// (the newest, if several carry the name).
pub async fn cluster_job(base: &str, name: &str) -> Option<system::JobInfo> {
    let jobs: Vec<system::JobInfo> = system::fetch(base, system::JOBS_PATH).await.ok()?;
    jobs.into_iter().rfind(|j| j.name == name)
}

/// A progress bar on stderr, shown once a query has run for `delay`, updated from
/// the plan's scans, or on a cluster from the job's task counts; erased when
/// dropped (also when the query is cancelled).
pub struct Bar {
    task: tokio::task::JoinHandle<()>,
    bar: ProgressBar,
}

impl Bar {
    /// Start watching `plan`, or the cluster job `job` (status API, job name);
    /// nothing is drawn if stderr is not a terminal.
    pub fn start(
        plan: Arc<dyn ExecutionPlan>,
        delay: Duration,
        job: Option<(String, String)>,
    ) -> Bar {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let shown = bar.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some((base, name)) = job {
                shown.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} tasks · {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                loop {
                    if let Some(j) = cluster_job(&base, &name).await {
                        shown.set_length(u64::from(j.tasks.unwrap_or(0)));
                        shown.set_position(u64::from(j.tasks_done.unwrap_or(0)));
                        shown.set_message(format!(
                            "{}/{} stages, {} running",
                            j.stages_done,
                            j.stages,
                            j.tasks_running.unwrap_or(0)
                        ));
                    } else {
                        shown.tick();
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
            let p = of_plan(&plan);
            // Without datacube scans there is nothing to count: a spinner and the time.
            let template = if p.chunks_total > 0 {
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} chunks · {msg}"
            } else {
                "{spinner} [{elapsed_precise}] running"
            };
            shown.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            loop {
                let p = of_plan(&plan);
                if p.chunks_total > 0 {
                    shown.set_length(p.chunks_total);
                    shown.set_position(p.chunks_done);
                    shown.set_message(format!(
                        "{}/{} partitions",
                        p.partitions_done, p.partitions_total
                    ));
                } else {
                    shown.tick();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Bar { task, bar }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}
