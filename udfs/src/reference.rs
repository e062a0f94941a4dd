//! The SQL reference of the rs_* functions, rendered from their `#[user_doc]`
//! (`docs/functions.md` is this output; a test keeps it current).

use std::collections::BTreeMap;
use std::fmt::Write;

use datafusion::logical_expr::Documentation;

use crate::register::{aggregate_functions, scalar_functions};

/// Section order of the reference.
const SECTIONS: &[&str] = &[
    "Raster index functions",
    "Raster band math functions",
    "Raster mask functions",
    "Raster tile statistics",
    "Raster aggregate functions",
];

/// Every rs_* function's name and documentation, sorted by name.
pub fn documented() -> Vec<(String, Documentation)> {
    let mut out: Vec<(String, Documentation)> = scalar_functions()
        .iter()
        .filter_map(|f| Some((f.name().to_string(), f.documentation()?.clone())))
        .chain(
            aggregate_functions()
                .iter()
                .filter_map(|f| Some((f.name().to_string(), f.documentation()?.clone()))),
        )
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The reference as Markdown.
pub fn markdown() -> String {
    let mut by_section: BTreeMap<usize, Vec<(String, Documentation)>> = BTreeMap::new();
    for (name, doc) in documented() {
        let i = SECTIONS
            .iter()
            .position(|s| *s == doc.doc_section.label)
            .unwrap_or(SECTIONS.len());
        by_section.entry(i).or_default().push((name, doc));
    }
    let mut md = String::from(
        "# Raster functions (`rs_*`)\n\n\
         Generated from the functions' `#[user_doc]` by \
         `SWATH_UPDATE_DOCS=1 cargo test -p swath-udfs reference`; do not edit.\n\n\
         Tiles are band columns of datacube tables (`arrow.fixed_shape_tensor`) or \
         tiles derived from them. Functions computing new values work on physical values \
         (stored × `swath:scale` + `swath:offset`) and return Float32 tiles with NaN for \
         missing pixels; mask tiles are UInt8 (0 false, 1 true, 255 missing).\n",
    );
    for (i, funcs) in by_section {
        let title = SECTIONS.get(i).copied().unwrap_or("Other functions");
        let _ = write!(md, "\n## {title}\n\n");
        for (name, _) in &funcs {
            let _ = writeln!(md, "- [`{name}`](#{name})");
        }
        for (name, doc) in funcs {
            let _ = write!(md, "\n### `{name}`\n\n{}\n\n", doc.description);
            let _ = write!(md, "```sql\n{}\n```\n", doc.syntax_example);
            if let Some(args) = &doc.arguments {
                md.push_str("\n| argument | |\n|---|---|\n");
                for (a, d) in args {
                    let _ = writeln!(md, "| `{a}` | {} |", d.replace('|', "\\|"));
                }
            }
            if let Some(ex) = &doc.sql_example {
                let _ = write!(md, "\nExample:\n\n{ex}\n");
            }
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_in_docs_is_current() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/functions.md");
        let want = markdown();
        if std::env::var_os("SWATH_UPDATE_DOCS").is_some() {
            std::fs::write(&path, &want)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "docs/functions.md is stale: run SWATH_UPDATE_DOCS=1 cargo test -p swath-udfs reference"
        );
        for (name, doc) in documented() {
            assert!(
                SECTIONS.contains(&doc.doc_section.label),
                "{name}: section {}",
                doc.doc_section.label
            );
        }
    }
}
