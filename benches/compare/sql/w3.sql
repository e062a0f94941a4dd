-- W3: per pixel of the chunks touching the box, mean and std of masked NDVI over time.
CREATE EXTERNAL TABLE s2 STORED AS STAC LOCATION '{collection}'
OPTIONS (bands 'red,nir,scl');

COPY (
  SELECT chunk_x, chunk_y, rs_mean(ndvi) AS mean, rs_std(ndvi) AS std
  FROM (SELECT chunk_x, chunk_y,
               rs_mask(rs_ndvi(nir, red), rs_class_mask(scl, 0, 3, 8, 9, 10)) AS ndvi
        FROM s2
        WHERE st_intersects(footprint, st_geomfromtext(
          'POLYGON(({west} {south}, {east} {south}, {east} {north}, {west} {north}, {west} {south}))')))
  GROUP BY chunk_x, chunk_y
) TO '{out}/w3.tif' STORED AS COG OPTIONS (overwrite 'true');
