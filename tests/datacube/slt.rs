//! The sqllogictest suites in `tests/slt/`, run over the tiny synthetic catalogue.
//! `${CATALOG}` in a file is replaced by its collection.json.

use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner};

use crate::{context, tiny};

struct SwathDb {
    ctx: SessionContext,
}

#[derive(Debug)]
struct DbError(String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

#[async_trait::async_trait]
impl AsyncDB for SwathDb {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DbError> {
        let df = self
            .ctx
            .sql(sql)
            .await
            .map_err(|e| DbError(e.to_string()))?;
        let batches = df.collect().await.map_err(|e| DbError(e.to_string()))?;
        let Some(first) = batches.first() else {
            return Ok(DBOutput::StatementComplete(0));
        };
        let types = vec![DefaultColumnType::Any; first.num_columns()];
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for b in &batches {
            let formatters = b
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| DbError(e.to_string()))?;
            for r in 0..b.num_rows() {
                rows.push(formatters.iter().map(|f| f.value(r).to_string()).collect());
            }
        }
        if rows.is_empty() && sql.trim_start().to_ascii_uppercase().starts_with("CREATE")
        {
            return Ok(DBOutput::StatementComplete(0));
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "swath"
    }
}

async fn run(file: &str) {
    let cat = tiny();
    let path = swath_tests::repo_root().join("tests/slt").join(file);
    let script = std::fs::read_to_string(&path)
        .expect("slt file")
        .replace("${CATALOG}", &cat.collection.display().to_string());
    let mut runner = Runner::new(|| async {
        Ok(SwathDb {
            ctx: context(2).await,
        })
    });
    runner
        .run_script_with_name_async(&script, file)
        .await
        .unwrap_or_else(|e| panic!("{file}: {e}"));
}

#[tokio::test]
async fn datacube_slt() {
    run("datacube.slt").await;
}

#[tokio::test]
async fn rs_band_math_slt() {
    run("rs_band_math.slt").await;
}

#[tokio::test]
async fn rs_masks_slt() {
    run("rs_masks.slt").await;
}

#[tokio::test]
async fn rs_tile_stats_slt() {
    run("rs_tile_stats.slt").await;
}

#[tokio::test]
async fn rs_aggregates_slt() {
    run("rs_aggregates.slt").await;
}
