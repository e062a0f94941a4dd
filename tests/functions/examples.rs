//! Every SQL example in the rs_* function docs runs on a datacube table of the tiny
//! synthetic catalogue (`s2` with blue, green, red, nir and scl), so the reference
//! (docs/functions.md) shows SQL that works.

use swath_synth::SynthSpec;

use crate::{context, sql};

#[tokio::test]
async fn documented_examples_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cat = swath_synth::generate(dir.path(), &SynthSpec::tiny()).expect("catalogue");
    let ctx = context(2).await;
    sql(
        &ctx,
        &format!(
            "CREATE EXTERNAL TABLE s2 STORED AS STAC LOCATION '{}' \
             OPTIONS (bands 'blue,green,red,nir,scl')",
            cat.collection.display()
        ),
    )
    .await;
    let mut ran = 0;
    for (name, doc) in swath_udfs::reference::documented() {
        let example = doc.sql_example.unwrap_or_default();
        let query: String = example
            .lines()
            .filter(|l| !l.starts_with("```"))
            .map(|l| l.trim_start_matches("> ").trim())
            .collect::<Vec<_>>()
            .join(" ");
        // bands or tables the tiny catalogue does not have
        if ["swir22", "qa_pixel", "landsat"]
            .iter()
            .any(|w| query.contains(w))
        {
            continue;
        }
        let batches = sql(&ctx, &query).await;
        assert!(
            batches.iter().map(|b| b.num_rows()).sum::<usize>() > 0,
            "{name}: example returned no rows: {query}"
        );
        ran += 1;
    }
    assert!(ran >= 40, "only {ran} examples ran");
}
