//! The shell's progress bar: chunk rows read out of those planned and scan
//! partitions finished (swath_engine::monitor), or on a cluster the job's tasks.

use std::sync::Arc;
use std::time::Duration;

use datafusion::physical_plan::ExecutionPlan;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use swath_engine::system;

pub use swath_engine::monitor::{Progress, progress_of as of_plan};

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
