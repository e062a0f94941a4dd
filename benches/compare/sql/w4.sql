-- W4: per pixel, the geomedian of the four-band clear observations and the MADs, as a COG.
-- Iterations stop at steps below 1e-4, odc-algo's default for float input (Swath's
-- default, 1e-7, iterates further: BENCHMARKS.md gives both).
CREATE EXTERNAL TABLE s2 STORED AS STAC LOCATION '{collection}'
OPTIONS (bands 'blue,green,red,nir,scl');

COPY (
  SELECT chunk_x, chunk_y, g['blue'] AS blue, g['green'] AS green, g['red'] AS red,
         g['nir'] AS nir, g['smad'] AS smad, g['emad'] AS emad, g['bcmad'] AS bcmad
  FROM (SELECT chunk_x, chunk_y, rs_geomedian_mads(blue, green, red, nir, 1e-4) AS g
        FROM (SELECT chunk_x, chunk_y, rs_mask(blue, cloud) AS blue, rs_mask(green, cloud) AS green,
                     rs_mask(red, cloud) AS red, rs_mask(nir, cloud) AS nir
              FROM (SELECT *, rs_class_mask(scl, 0, 3, 8, 9, 10) AS cloud FROM s2))
        GROUP BY chunk_x, chunk_y)
) TO '{out}/w4.tif' STORED AS COG OPTIONS (overwrite 'true');
