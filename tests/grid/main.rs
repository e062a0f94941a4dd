//! Grid and warping tests against GDAL (rasterio) and PROJ (pyproj).
