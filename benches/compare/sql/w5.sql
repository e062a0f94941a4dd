-- W5: observations after solar-day grouping and their valid red pixels.
CREATE EXTERNAL TABLE s2 STORED AS STAC LOCATION '{collection}' OPTIONS (bands 'red');

COPY (
  SELECT solar_day, sum(rs_tile_count(red)) AS valid_red_pixels
  FROM s2 GROUP BY solar_day ORDER BY solar_day
) TO '{out}/w5.csv' STORED AS CSV OPTIONS (format.has_header 'true');
