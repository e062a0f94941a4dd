-- W2: per pixel, the median of each band over the period with clouds masked, as a COG.
CREATE EXTERNAL TABLE s2 STORED AS STAC LOCATION '{collection}'
OPTIONS (bands 'blue,green,red,nir,scl');

COPY (
  SELECT chunk_x, chunk_y,
         rs_median(rs_mask(red, cloud)) AS red, rs_median(rs_mask(green, cloud)) AS green,
         rs_median(rs_mask(blue, cloud)) AS blue, rs_median(rs_mask(nir, cloud)) AS nir
  FROM (SELECT chunk_x, chunk_y, red, green, blue, nir,
               rs_class_mask(scl, 0, 3, 8, 9, 10) AS cloud FROM s2)
  GROUP BY chunk_x, chunk_y
) TO '{out}/w2.tif' STORED AS COG OPTIONS (overwrite 'true');
