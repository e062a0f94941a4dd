-- W1: per solar day, the mean NDVI of clear pixels inside a lon/lat box (pixel view).
CREATE EXTERNAL TABLE px STORED AS STAC LOCATION '{collection}'
OPTIONS (bands 'red,nir,scl', view 'pixels');

COPY (
  SELECT solar_day, avg((nir - red) / (nir + red)) AS ndvi, count(*) AS clear_pixels
  FROM (SELECT solar_day, nir * 0.0001 - 0.1 AS nir, red * 0.0001 - 0.1 AS red
        FROM px
        WHERE lon BETWEEN {west} AND {east} AND lat BETWEEN {south} AND {north}
          AND scl NOT IN (0, 3, 8, 9, 10))
  GROUP BY solar_day ORDER BY solar_day
) TO '{out}/w1.csv' STORED AS CSV OPTIONS (format.has_header 'true');
