//! Printing results: tile columns as one-line summaries, then a table, CSV, JSON or
//! Markdown; and a small terminal line chart for time series.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use swath_udfs::tile::{TileMeta, Tiles, is_tile_type};

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A boxed table.
    Table,
    /// Comma-separated values with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
    /// A Markdown table.
    Markdown,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "markdown" | "md" => Ok(Format::Markdown),
            other => Err(format!(
                "unknown format '{other}'; use table, csv, json or markdown"
            )),
        }
    }
}

/// `batches` with every tile column (and struct of tiles) replaced by text
/// summaries, and binary columns by their length.
pub fn displayable(batches: &[RecordBatch]) -> Result<Vec<RecordBatch>, String> {
    batches.iter().map(displayable_batch).collect()
}

fn displayable_batch(batch: &RecordBatch) -> Result<RecordBatch, String> {
    let schema = batch.schema();
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut columns = Vec::with_capacity(schema.fields().len());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        match summarize(field, column)? {
            Some(text) => {
                fields.push(Field::new(field.name(), DataType::Utf8, true));
                columns.push(text);
            }
            None => {
                fields.push(field.as_ref().clone());
                columns.push(Arc::clone(column));
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| e.to_string())
}

/// Whether a column of this type prints as a summary.
fn needs_summary(t: &DataType) -> bool {
    match t {
        DataType::FixedSizeList(_, n) => is_tile_type(t) && *n > 16,
        DataType::Struct(fields) => fields.iter().any(|f| needs_summary(f.data_type())),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => true,
        _ => false,
    }
}

/// One text per row, or `None` if the column prints as it is.
fn summarize(field: &Field, column: &ArrayRef) -> Result<Option<ArrayRef>, String> {
    if !needs_summary(field.data_type()) {
        return Ok(None);
    }
    let texts = row_texts(field, column)?;
    let mut b = StringBuilder::new();
    for t in texts {
        b.append_option(t);
    }
    Ok(Some(Arc::new(b.finish())))
}

fn row_texts(field: &Field, column: &ArrayRef) -> Result<Vec<Option<String>>, String> {
    match field.data_type() {
        DataType::FixedSizeList(..) => tile_texts(field, column),
        DataType::Struct(fields) => {
            let array = column.as_struct();
            let mut parts: Vec<Vec<Option<String>>> = Vec::new();
            let fmt = FormatOptions::default().with_null("NULL");
            for (f, child) in fields.iter().zip(array.columns()) {
                if needs_summary(f.data_type()) {
                    parts.push(row_texts(f, child)?);
                } else {
                    let formatter = ArrayFormatter::try_new(child, &fmt)
                        .map_err(|e| e.to_string())?;
                    parts.push(
                        (0..child.len())
                            .map(|i| Some(formatter.value(i).to_string()))
                            .collect(),
                    );
                }
            }
            Ok((0..array.len())
                .map(|row| {
                    array.is_valid(row).then(|| {
                        let inner: Vec<String> = fields
                            .iter()
                            .zip(&parts)
                            .map(|(f, p)| {
                                format!(
                                    "{}: {}",
                                    f.name(),
                                    p[row].as_deref().unwrap_or("NULL")
                                )
                            })
                            .collect();
                        format!("{{{}}}", inner.join(", "))
                    })
                })
                .collect())
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            let len = |i: usize| -> usize {
                match column.data_type() {
                    DataType::Binary => column.as_binary::<i32>().value(i).len(),
                    DataType::LargeBinary => column.as_binary::<i64>().value(i).len(),
                    _ => column.as_binary_view().value(i).len(),
                }
            };
            let kind = if field.extension_type_name() == Some("geoarrow.wkb") {
                "wkb"
            } else {
                "binary"
            };
            Ok((0..column.len())
                .map(|i| {
                    column
                        .is_valid(i)
                        .then(|| format!("<{kind}, {} bytes>", len(i)))
                })
                .collect())
        }
        _ => Ok(vec![None; column.len()]),
    }
}

/// `256×256 u16 · 61% valid · mean 0.1234` per tile (physical values).
fn tile_texts(field: &Field, column: &ArrayRef) -> Result<Vec<Option<String>>, String> {
    let meta = TileMeta::from_field("display", field.name(), field)
        .map_err(|e| e.to_string())?;
    let array = column.as_fixed_size_list();
    let tiles = Tiles { array, meta: &meta };
    let values = tiles.physical().map_err(|e| e.to_string())?;
    let n = meta.len();
    let dtype = short_type(&meta.dtype);
    Ok((0..array.len())
        .map(|row| {
            if array.is_null(row) {
                return None;
            }
            let tile = &values[row * n..(row + 1) * n];
            let (count, sum) = tile
                .iter()
                .filter(|v| !v.is_nan())
                .fold((0usize, 0f64), |(c, s), &v| (c + 1, s + f64::from(v)));
            let shape = format!("{}×{} {dtype}", meta.rows, meta.cols);
            let pct = 100.0 * count as f64 / n.max(1) as f64;
            Some(if count == 0 {
                format!("{shape} · no valid pixels")
            } else {
                format!(
                    "{shape} · {} valid · mean {}",
                    percent(pct),
                    significant(sum / count as f64)
                )
            })
        })
        .collect())
}

fn percent(p: f64) -> String {
    if p > 0.0 && p < 1.0 {
        "<1%".into()
    } else if p < 100.0 && p > 99.0 {
        ">99%".into()
    } else {
        format!("{p:.0}%")
    }
}

/// Four significant digits, without a wall of zeros.
fn significant(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let mag = v.abs().log10().floor() as i32;
    if !(-4..6).contains(&mag) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - mag).max(0) as usize;
    format!("{v:.decimals$}")
}

fn short_type(t: &DataType) -> String {
    match t {
        DataType::UInt8 => "u8".into(),
        DataType::UInt16 => "u16".into(),
        DataType::UInt32 => "u32".into(),
        DataType::UInt64 => "u64".into(),
        DataType::Int8 => "i8".into(),
        DataType::Int16 => "i16".into(),
        DataType::Int32 => "i32".into(),
        DataType::Int64 => "i64".into(),
        DataType::Float32 => "f32".into(),
        DataType::Float64 => "f64".into(),
        other => other.to_string(),
    }
}

/// Render displayable batches in `format`.
pub fn render(batches: &[RecordBatch], format: Format) -> Result<String, String> {
    let err = |e: arrow::error::ArrowError| e.to_string();
    match format {
        Format::Table => Ok(arrow::util::pretty::pretty_format_batches(batches)
            .map_err(err)?
            .to_string()),
        Format::Csv => {
            let mut buf = Vec::new();
            {
                let mut w = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut buf);
                for b in batches {
                    w.write(b).map_err(err)?;
                }
            }
            if batches.is_empty() {
                return Ok(String::new());
            }
            String::from_utf8(buf).map_err(|e| e.to_string())
        }
        Format::Json => {
            let mut buf = Vec::new();
            {
                let mut w = arrow::json::ArrayWriter::new(&mut buf);
                let refs: Vec<&RecordBatch> = batches.iter().collect();
                w.write_batches(&refs).map_err(err)?;
                w.finish().map_err(err)?;
            }
            let mut s = String::from_utf8(buf).map_err(|e| e.to_string())?;
            if s.is_empty() {
                s.push_str("[]");
            }
            s.push('\n');
            Ok(s)
        }
        Format::Markdown => markdown(batches),
    }
}

fn markdown(batches: &[RecordBatch]) -> Result<String, String> {
    let Some(first) = batches.first() else {
        return Ok(String::new());
    };
    let schema = first.schema();
    let mut out = String::new();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let _ = writeln!(out, "| {} |", names.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(names.len()));
    let fmt = FormatOptions::default().with_null("NULL");
    for b in batches {
        let formatters: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &fmt))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        for row in 0..b.num_rows() {
            let cells: Vec<String> = formatters
                .iter()
                .map(|f| f.value(row).to_string().replace('|', "\\|"))
                .collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
    }
    Ok(out)
}

/// A line chart of `(label, value)` points in plain text, `height` rows high: one
/// column per point, `*` at the value's row; NaN points are left blank.
pub fn text_chart(title: &str, points: &[(String, f64)], height: usize) -> String {
    let finite: Vec<f64> = points
        .iter()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .collect();
    let (Some(lo), Some(hi)) = (
        finite.iter().copied().reduce(f64::min),
        finite.iter().copied().reduce(f64::max),
    ) else {
        return format!("{title}: no values to plot\n");
    };
    let height = height.max(2);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let row_of = |v: f64| ((hi - v) / span * (height - 1) as f64).round() as usize;
    let mut grid = vec![vec![' '; points.len()]; height];
    for (i, (_, v)) in points.iter().enumerate() {
        if v.is_finite() {
            grid[row_of(*v).min(height - 1)][i] = '*';
        }
    }
    let mut out = format!("{title}\n");
    for (r, line) in grid.iter().enumerate() {
        let label = if r == 0 {
            format!("{hi:>7.3}")
        } else if r == height - 1 {
            format!("{lo:>7.3}")
        } else {
            " ".repeat(7)
        };
        let _ = writeln!(out, "{label} ┤{}", line.iter().collect::<String>());
    }
    let first = points.first().map_or("", |p| p.0.as_str());
    let last = points.last().map_or("", |p| p.0.as_str());
    let width = points.len().max(first.len() + last.len() + 1);
    let _ = writeln!(
        out,
        "{} └{}\n{}  {first}{}{last}",
        " ".repeat(7),
        "─".repeat(points.len()),
        " ".repeat(7),
        " ".repeat(width - first.len() - last.len())
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{FixedSizeListArray, Float32Array, Int32Array, UInt16Array};
    use std::collections::HashMap;

    fn tile_batch() -> RecordBatch {
        // Two 5×5 u16 tiles, nodata 0, scale 0.5, offset 1: the first has 20 valid
        // pixels of value 4 (physical 3) and 5 nodata; the second is null.
        let mut values = vec![4u16; 25];
        values[..5].fill(0);
        values.extend(vec![0u16; 25]);
        let item = Arc::new(Field::new("item", DataType::UInt16, true));
        let list = FixedSizeListArray::try_new(
            Arc::clone(&item),
            25,
            Arc::new(UInt16Array::from(values)),
            Some(vec![true, false].into()),
        )
        .unwrap();
        let md: HashMap<String, String> = [
            ("swath:nodata", "0"),
            ("swath:scale", "0.5"),
            ("swath:offset", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let schema = Schema::new(vec![
            Field::new("chunk_x", DataType::Int32, false),
            Field::new("red", list.data_type().clone(), true).with_metadata(md),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(Int32Array::from(vec![3, 4])), Arc::new(list)],
        )
        .unwrap()
    }

    #[test]
    fn tiles_print_as_summaries() {
        let shown = displayable(&[tile_batch()]).unwrap();
        let text = render(&shown, Format::Csv).unwrap();
        assert_eq!(
            text,
            "chunk_x,red\n3,5×5 u16 · 80% valid · mean 3.000\n4,\n"
        );
        let md = render(&shown, Format::Markdown).unwrap();
        assert_eq!(
            md,
            "| chunk_x | red |\n|---|---|\n| 3 | 5×5 u16 · 80% valid · mean 3.000 |\n| 4 | NULL |\n"
        );
        let json = render(&shown, Format::Json).unwrap();
        assert_eq!(
            json,
            "[{\"chunk_x\":3,\"red\":\"5×5 u16 · 80% valid · mean 3.000\"},{\"chunk_x\":4}]\n"
        );
        let table = render(&shown, Format::Table).unwrap();
        assert!(
            table.contains("| 3       | 5×5 u16 · 80% valid · mean 3.000 |"),
            "{table}"
        );
    }

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(significant(0.123456), "0.1235");
        assert_eq!(significant(1234.6), "1235");
        assert_eq!(significant(-0.5), "-0.5000");
        assert_eq!(significant(1.5e-7), "1.500e-7");
        assert_eq!(percent(99.5), ">99%");
        assert_eq!(percent(0.2), "<1%");
    }

    #[test]
    fn text_chart_places_points() {
        let pts = vec![
            ("2023-01".to_string(), 0.0),
            ("b".to_string(), 1.0),
            ("c".to_string(), f64::NAN),
            ("2023-12".to_string(), 0.5),
        ];
        let chart = text_chart("NDVI", &pts, 3);
        let lines: Vec<&str> = chart.lines().collect();
        assert_eq!(lines[0], "NDVI");
        assert_eq!(lines[1], "  1.000 ┤ *  ");
        assert_eq!(lines[2], "        ┤   *");
        assert_eq!(lines[3], "  0.000 ┤*   ");
        assert!(lines[5].contains("2023-01") && lines[5].ends_with("2023-12"));
        assert!(text_chart("x", &[("a".into(), f64::NAN)], 3).contains("no values"));
    }

    #[test]
    fn float_tile_summary_and_struct() {
        let item = Arc::new(Field::new("item", DataType::Float32, true));
        let mut v = vec![f32::NAN; 25];
        v[0] = 1.0;
        v[1] = 2.0;
        let list =
            FixedSizeListArray::try_new(item, 25, Arc::new(Float32Array::from(v)), None)
                .unwrap();
        let f = Field::new("a", list.data_type().clone(), true);
        let s = arrow::array::StructArray::from(vec![(
            Arc::new(f.clone()),
            Arc::new(list) as ArrayRef,
        )]);
        let schema = Schema::new(vec![Field::new("g", s.data_type().clone(), true)]);
        let b = RecordBatch::try_new(Arc::new(schema), vec![Arc::new(s)]).unwrap();
        let shown = displayable(&[b]).unwrap();
        let csv = render(&shown, Format::Csv).unwrap();
        assert_eq!(csv, "g\n{a: 5×5 f32 · 8% valid · mean 1.500}\n");
    }
}
