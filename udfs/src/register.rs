//! Every `rs_*` function, in one list.

use std::sync::Arc;

use datafusion::logical_expr::{AggregateUDF, ScalarUDF};

use crate::*;

/// The scalar `rs_*` functions.
pub fn scalar_functions() -> Vec<Arc<ScalarUDF>> {
    macro_rules! udfs {
        ($($m:ident :: $t:ident),* $(,)?) => {
            vec![$(Arc::new(ScalarUDF::new_from_impl($m::$t::new()))),*]
        };
    }
    udfs![
        rs_normalized_difference::RsNormalizedDifference,
        rs_ndvi::RsNdvi,
        rs_ndwi::RsNdwi,
        rs_nbr::RsNbr,
        rs_evi::RsEvi,
        rs_savi::RsSavi,
        rs_scale::RsScale,
        rs_add::RsAdd,
        rs_subtract::RsSubtract,
        rs_multiply::RsMultiply,
        rs_divide::RsDivide,
        rs_eq::RsEq,
        rs_ne::RsNe,
        rs_lt::RsLt,
        rs_le::RsLe,
        rs_gt::RsGt,
        rs_ge::RsGe,
        rs_and::RsAnd,
        rs_or::RsOr,
        rs_not::RsNot,
        rs_where::RsWhere,
        rs_class_mask::RsClassMask,
        rs_bit_mask::RsBitMask,
        rs_dilate::RsDilate,
        rs_mask::RsMask,
        rs_tile_count::RsTileCount,
        rs_tile_sum::RsTileSum,
        rs_tile_mean::RsTileMean,
        rs_tile_min::RsTileMin,
        rs_tile_max::RsTileMax,
        rs_tile_std::RsTileStd,
        rs_value::RsValue,
        rs_value_xy::RsValueXy,
    ]
}

/// The aggregate `rs_*` functions.
pub fn aggregate_functions() -> Vec<Arc<AggregateUDF>> {
    macro_rules! udafs {
        ($($m:ident :: $t:ident),* $(,)?) => {
            vec![$(Arc::new(AggregateUDF::new_from_impl($m::$t::new()))),*]
        };
    }
    udafs![
        rs_median::RsMedian,
        rs_percentile::RsPercentile,
        rs_mean::RsMean,
        rs_std::RsStd,
        rs_count::RsCount,
        rs_min::RsMin,
        rs_max::RsMax,
        rs_first::RsFirst,
        rs_geomedian::RsGeomedian,
        rs_smad::RsSmad,
        rs_emad::RsEmad,
        rs_bcmad::RsBcmad,
        rs_geomedian_mads::RsGeomedianMads,
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn no_name_repeats_and_every_function_is_documented() {
        let mut names = HashSet::new();
        let scalars = scalar_functions();
        let aggregates = aggregate_functions();
        let all = scalars
            .iter()
            .map(|f| {
                (
                    f.name().to_string(),
                    f.aliases().to_vec(),
                    f.documentation().cloned(),
                )
            })
            .chain(aggregates.iter().map(|f| {
                (
                    f.name().to_string(),
                    f.aliases().to_vec(),
                    f.documentation().cloned(),
                )
            }));
        for (name, aliases, doc) in all {
            assert!(name.starts_with("rs_"), "{name}");
            for n in std::iter::once(&name).chain(&aliases) {
                assert!(names.insert(n.clone()), "{n} is registered twice");
            }
            let doc = doc.unwrap_or_else(|| panic!("{name} has no documentation"));
            assert!(
                doc.syntax_example.starts_with(&name),
                "{name}: {}",
                doc.syntax_example
            );
            assert!(
                doc.description.contains("odata"),
                "{name} says nothing of nodata"
            );
            assert!(
                doc.sql_example
                    .as_deref()
                    .is_some_and(|s| s.contains(&name)),
                "{name}"
            );
        }
    }
}
