#!/usr/bin/env python3
"""Regenerate every GeoTIFF fixture in tests/fixtures/geotiff/ with GDAL (rasterio).

    $(scripts/py-env) tests/scripts/make_geotiff_fixtures.py [OUT_DIR]

For each case it writes <name>.tif and <name>.json, where the JSON is
gdal_describe.describe(<name>.tif) plus
  "creation_options": the GDAL creation options used ({"COMPRESS": "DEFLATE", ...}),
  "tolerance": the max |reader - GDAL| allowed per sample (0 = must be exact;
               >0 only for lossy JPEG / WEBP, whose decoders may legitimately
               differ by a few DN).
Pixel content is deterministic (numpy Generator seeded from SEED and the case
name), so re-running reproduces the same files for the same GDAL build.
"""

import json
import math
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.shutil import copy as rio_copy
from rasterio.transform import Affine

sys.dont_write_bytecode = True  # no __pycache__ in tests/scripts
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gdal_describe import describe  # noqa: E402

SEED = 20240601
REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "tests" / "fixtures" / "geotiff"

W, H = 50, 37  # odd sizes: partial edge tiles / strips everywhere

UTM33 = ("EPSG:32633", Affine(10.0, 0.0, 399960.0, 0.0, -10.0, 5800020.0))
LAEA = ("EPSG:3035", Affine(100.0, 0.0, 4321000.0, 0.0, -100.0, 3210000.0))
WGS84 = ("EPSG:4326", Affine(0.001, 0.0, 12.5, 0.0, -0.001, 47.8))
ROTATED = (
    "EPSG:32633",
    Affine.translation(399960.0, 5800020.0) * Affine.rotation(30.0) * Affine.scale(10.0, -10.0),
)
NO_GEO = (None, None)

# Block layouts (GDAL creation options).
T16 = {"TILED": "YES", "BLOCKXSIZE": "16", "BLOCKYSIZE": "16"}
T32x16 = {"TILED": "YES", "BLOCKXSIZE": "32", "BLOCKYSIZE": "16"}
S7 = {"TILED": "NO", "BLOCKYSIZE": "7"}  # 37 rows -> 5 full strips + one of 2 rows
S16 = {"TILED": "NO", "BLOCKYSIZE": "16"}

# Value ranges per dtype (leaving the nodata values used below outside the data).
RANGES = {
    "uint8": (1, 254),
    "int8": (-120, 120),
    "uint16": (1, 60000),
    "int16": (-30000, 30000),
    "uint32": (1, 4_000_000_000),
    "int32": (-2_000_000_000, 2_000_000_000),
    "float32": (-40.0, 60.0),
    "float64": (-1.0, 1.0),
}

# Max |reader - GDAL| for lossy codecs, measured against djpeg/dwebp variants
# (see README.md).  This GDAL build decodes JPEG with IJG libjpeg 9, not
# libjpeg-turbo: without chroma subsampling (gray, PHOTOMETRIC=RGB) decoders
# agree within 1; YCbCr 4:2:0 chroma upsampling differs by up to 4-5.
LOSSY_JPEG_TOLERANCE = 3
LOSSY_JPEG_YCBCR_TOLERANCE = 6
# Lossy WEBP: the VP8 bitstream decodes exactly and libwebp's default (fancy
# upsampling) matches GDAL exactly; the margin covers rounding differences of
# other decoders implementing the same upsampling (nearest-neighbour chroma
# upsampling, dwebp -nofancy, is off by up to 35 and is not acceptable).
LOSSY_WEBP_TOLERANCE = 3


def case(name, dtype="uint8", count=1, co=None, nodata=None, georef=UTM33, size=(W, H),
         kind="gtiff", tolerance=0, tags=None, scales=None, offsets=None, nan=None,
         content="noise"):
    return {
        "name": name, "dtype": dtype, "count": count, "co": dict(co or {}),
        "nodata": nodata, "georef": georef, "size": size, "kind": kind,
        "tolerance": tolerance, "tags": tags or {}, "scales": scales, "offsets": offsets,
        "nan": np.dtype(dtype).kind == "f" if nan is None else nan, "content": content,
    }


def co(*parts, **kw):
    out = {}
    for p in parts:
        out.update(p)
    out.update({k.upper(): str(v) for k, v in kw.items()})
    return out


NAN = float("nan")

CASES = [
    # --- every compression x dtype, single band --------------------------------
    case("u8_none_tiled", "uint8", co=co(T16)),
    case("u8_none_striped_default", "uint8", co=co()),  # GDAL's default strip height
    case("u8_deflate_tiled", "uint8", co=co(T16, compress="DEFLATE"), nodata=0),
    case("u8_deflate_p2_striped", "uint8", co=co(S7, compress="DEFLATE", predictor=2), nodata=0),
    case("u8_lzw_p2_tiled", "uint8", co=co(T32x16, compress="LZW", predictor=2), nodata=255),
    case("u8_zstd_p2_tiled", "uint8", co=co(T16, compress="ZSTD", predictor=2)),
    case("u8_packbits_striped", "uint8", co=co(S7, compress="PACKBITS")),
    case("i8_deflate_tiled", "int8", co=co(T16, compress="DEFLATE"), nodata=-128),
    case("i8_lzw_striped", "int8", co=co(S7, compress="LZW"), nodata=-127),
    case("i8_packbits_tiled", "int8", co=co(T16, compress="PACKBITS")),
    case("u16_none_tiled", "uint16", co=co(T16)),
    case("u16_deflate_p2_tiled", "uint16", co=co(T16, compress="DEFLATE", predictor=2), nodata=0),
    case("u16_lzw_p2_striped", "uint16", co=co(S7, compress="LZW", predictor=2), nodata=65535),
    case("u16_zstd_p2_tiled", "uint16", co=co(T32x16, compress="ZSTD", predictor=2), nodata=0),
    case("u16_packbits_striped", "uint16", co=co(S7, compress="PACKBITS")),
    case("i16_deflate_p2_tiled", "int16", co=co(T16, compress="DEFLATE", predictor=2), nodata=-9999),
    case("i16_lzw_p2_tiled", "int16", co=co(T32x16, compress="LZW", predictor=2), nodata=-32768),
    case("i16_zstd_p2_striped", "int16", co=co(S7, compress="ZSTD", predictor=2), nodata=-9999),
    case("i16_packbits_tiled", "int16", co=co(T16, compress="PACKBITS")),
    case("u32_deflate_tiled", "uint32", co=co(T16, compress="DEFLATE"), nodata=4294967295),
    case("u32_lzw_p2_striped", "uint32", co=co(S7, compress="LZW", predictor=2), nodata=0),
    case("u32_zstd_tiled", "uint32", co=co(T16, compress="ZSTD")),
    case("u32_none_striped", "uint32", co=co(S7)),
    case("i32_deflate_p2_tiled", "int32", co=co(T16, compress="DEFLATE", predictor=2), nodata=-2147483648),
    case("i32_lzw_p2_striped", "int32", co=co(S7, compress="LZW", predictor=2), nodata=-9999),
    case("i32_zstd_p2_tiled", "int32", co=co(T32x16, compress="ZSTD", predictor=2)),
    case("i32_none_tiled", "int32", co=co(T16)),
    case("i32_packbits_striped", "int32", co=co(S7, compress="PACKBITS")),
    case("f32_deflate_p3_tiled", "float32", co=co(T16, compress="DEFLATE", predictor=3), nodata=NAN),
    case("f32_lzw_p3_striped", "float32", co=co(S7, compress="LZW", predictor=3), nodata=-9999.0),
    case("f32_zstd_p3_tiled", "float32", co=co(T32x16, compress="ZSTD", predictor=3), nodata=NAN),
    case("f32_none_striped", "float32", co=co(S7), nodata=NAN),
    case("f32_packbits_tiled", "float32", co=co(T16, compress="PACKBITS")),
    # Horizontal differencing on float samples (integer arithmetic on the bits).
    case("f32_deflate_p2_tiled", "float32", co=co(T16, compress="DEFLATE", predictor=2)),
    case("f64_deflate_p3_tiled", "float64", co=co(T16, compress="DEFLATE", predictor=3), nodata=NAN),
    case("f64_lzw_p3_tiled", "float64", co=co(T16, compress="LZW", predictor=3), nodata=-9999.0),
    case("f64_zstd_p3_striped", "float64", co=co(S7, compress="ZSTD", predictor=3), nodata=NAN),
    case("f64_none_tiled", "float64", co=co(T16)),
    case("f64_packbits_striped", "float64", co=co(S7, compress="PACKBITS")),
    # --- JPEG --------------------------------------------------------------------
    case("u8_jpeg_gray_tiled", "uint8", co=co(T16, compress="JPEG"),
         tolerance=LOSSY_JPEG_TOLERANCE, content="smooth"),
    case("rgb_jpeg_ycbcr_tiled", "uint8", 3, co=co(T16, compress="JPEG", photometric="YCBCR", interleave="PIXEL"),
         tolerance=LOSSY_JPEG_YCBCR_TOLERANCE, content="smooth"),
    case("rgb_jpeg_ycbcr_striped", "uint8", 3,
         co=co(S16, compress="JPEG", photometric="YCBCR", interleave="PIXEL", jpeg_quality=90),
         tolerance=LOSSY_JPEG_YCBCR_TOLERANCE, content="smooth"),
    case("rgb_jpeg_rgb_tiled", "uint8", 3, co=co(T16, compress="JPEG", photometric="RGB", interleave="PIXEL"),
         tolerance=LOSSY_JPEG_TOLERANCE, content="smooth"),
    # --- WEBP --------------------------------------------------------------------
    case("rgb_webp_lossless_tiled", "uint8", 3, co=co(T16, compress="WEBP", webp_lossless="TRUE", interleave="PIXEL")),
    case("rgb_webp_lossless_striped", "uint8", 3, co=co(S7, compress="WEBP", webp_lossless="TRUE", interleave="PIXEL")),
    case("rgba_webp_lossless_tiled", "uint8", 4,
         co=co(T16, compress="WEBP", webp_lossless="TRUE", interleave="PIXEL", photometric="RGB", alpha="YES"),
         content="alpha"),
    case("rgb_webp_lossy_tiled", "uint8", 3, co=co(T16, compress="WEBP", webp_level=90, interleave="PIXEL"),
         tolerance=LOSSY_WEBP_TOLERANCE, content="smooth"),
    # --- multi-band layouts: chunky (PIXEL) vs planar (BAND) ------------------------
    case("b3_u8_deflate_pixel_tiled", "uint8", 3, co=co(T16, compress="DEFLATE", interleave="PIXEL")),
    case("b3_u8_deflate_band_tiled", "uint8", 3, co=co(T16, compress="DEFLATE", interleave="BAND")),
    case("b3_u8_none_pixel_striped", "uint8", 3, co=co(S7, interleave="PIXEL")),
    case("b3_u8_none_band_striped", "uint8", 3, co=co(S7, interleave="BAND")),
    case("b4_u16_deflate_p2_pixel_striped", "uint16", 4, co=co(S7, compress="DEFLATE", predictor=2, interleave="PIXEL"), nodata=0),
    case("b4_u16_deflate_p2_band_tiled", "uint16", 4, co=co(T16, compress="DEFLATE", predictor=2, interleave="BAND"), nodata=0),
    case("b3_u16_lzw_p2_pixel_tiled", "uint16", 3, co=co(T32x16, compress="LZW", predictor=2, interleave="PIXEL")),
    case("b4_u16_lzw_band_striped", "uint16", 4, co=co(S7, compress="LZW", interleave="BAND")),
    case("b4_i16_none_pixel_tiled", "int16", 4, co=co(T16, interleave="PIXEL"), nodata=-9999),
    case("b3_u8_packbits_pixel_tiled", "uint8", 3, co=co(T16, compress="PACKBITS", interleave="PIXEL")),
    case("b3_f32_lzw_p3_pixel_tiled", "float32", 3, co=co(T16, compress="LZW", predictor=3, interleave="PIXEL"), nodata=NAN),
    case("b3_f32_zstd_p3_band_striped", "float32", 3, co=co(S7, compress="ZSTD", predictor=3, interleave="BAND"), nodata=NAN),
    # --- big-endian ------------------------------------------------------------------
    case("u16_deflate_p2_tiled_be", "uint16", co=co(T16, compress="DEFLATE", predictor=2, endianness="BIG"), nodata=0),
    case("f32_lzw_p3_tiled_be", "float32", co=co(T16, compress="LZW", predictor=3, endianness="BIG"), nodata=NAN),
    case("i16_none_striped_be", "int16", co=co(S7, endianness="BIG"), nodata=-9999),
    case("b3_u16_zstd_p2_pixel_tiled_be", "uint16", 3,
         co=co(T16, compress="ZSTD", predictor=2, interleave="PIXEL", endianness="BIG")),
    case("f64_deflate_p3_striped_be", "float64", co=co(S7, compress="DEFLATE", predictor=3, endianness="BIG"), nodata=NAN),
    # --- BigTIFF ---------------------------------------------------------------------
    case("u16_deflate_tiled_bigtiff", "uint16", co=co(T16, compress="DEFLATE", bigtiff="YES"), nodata=0),
    case("u8_lzw_striped_bigtiff", "uint8", co=co(S7, compress="LZW", bigtiff="YES")),
    case("f32_zstd_p3_tiled_bigtiff_be", "float32",
         co=co(T16, compress="ZSTD", predictor=3, bigtiff="YES", endianness="BIG"), nodata=NAN),
    # --- 1-bit -----------------------------------------------------------------------
    case("mask_1bit_none_striped", "uint8", co=co(S7, nbits=1), content="bits"),
    case("mask_1bit_deflate_tiled", "uint8", co=co(T16, compress="DEFLATE", nbits=1), content="bits"),
    # --- georeferencing / metadata -----------------------------------------------------
    case("geo_3035_u16_deflate_tiled", "uint16", co=co(T16, compress="DEFLATE"), georef=LAEA, nodata=0),
    case("geo_4326_f32_deflate_p3_tiled", "float32", co=co(T16, compress="DEFLATE", predictor=3), georef=WGS84, nodata=NAN),
    case("geo_rotated_u8_deflate_tiled", "uint8", co=co(T16, compress="DEFLATE"), georef=ROTATED, nodata=0),
    case("geo_point_u16_deflate_tiled", "uint16", co=co(T16, compress="DEFLATE"), tags={"AREA_OR_POINT": "Point"}),
    case("geo_none_u8_none_tiled", "uint8", co=co(T16), georef=NO_GEO),
    case("s2like_b3_u16_scale_offset_deflate_p2_tiled", "uint16", 3,
         co=co(T16, compress="DEFLATE", predictor=2, interleave="PIXEL"), nodata=0,
         scales=[0.0001, 0.0001, 0.0001], offsets=[-0.1, -0.1, -0.1]),
    case("b2_i16_scale_offset_lzw_band_striped", "int16", 2, co=co(S7, compress="LZW", interleave="BAND"),
         nodata=-32768, scales=[0.01, 2.5], offsets=[273.15, -1000.0]),
    # --- internal overviews ----------------------------------------------------------
    case("cog_u16_deflate_p2", "uint16", co={"BLOCKSIZE": "32", "COMPRESS": "DEFLATE", "PREDICTOR": "YES",
                                             "OVERVIEWS": "AUTO", "RESAMPLING": "AVERAGE"},
         size=(150, 110), kind="cog", nodata=0),
    case("cog_b3_u8_deflate_mask", "uint8", 3, co={"BLOCKSIZE": "16", "COMPRESS": "DEFLATE", "OVERVIEWS": "AUTO",
                                                  "RESAMPLING": "NEAREST"},
         size=(70, 45), kind="cog_mask"),
    case("b3_u8_deflate_ovr_mask_tiled", "uint8", 3, co=co(T16, compress="DEFLATE", interleave="PIXEL"),
         kind="ovr_mask"),
]


def make_pixels(rng, c):
    """Smooth per-band gradient + deterministic noise, a few nodata/NaN pixels."""
    w, h = c["size"]
    dtype = np.dtype(c["dtype"])
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    bands = []
    for b in range(c["count"]):
        ang = 0.4 + 1.1 * b
        g = (math.cos(ang) * x / w + math.sin(ang) * y / h + 1.5) / 3.0
        sigma = 0.004 if c["content"] == "smooth" else 0.03
        bands.append(np.clip(g + rng.normal(0.0, sigma, (h, w)), 0.0, 1.0))
    v = np.stack(bands)
    if c["content"] == "bits":
        return (v > 0.5).astype(np.uint8)
    lo, hi = RANGES[dtype.name]
    if dtype.kind == "f":
        arr = (lo + v * (hi - lo)).astype(dtype)
    else:
        arr = np.rint(lo + v * (hi - lo)).astype(dtype)
    if c["content"] == "alpha":
        alpha = np.full((h, w), 255, np.uint8)
        alpha[: h // 3, : w // 4] = 0
        alpha[h // 2, :] = 128
        arr[-1] = alpha
    n = h * w
    if c["nodata"] is not None:
        idx = rng.choice(n, 7, replace=False)
        for band in arr:
            band.reshape(-1)[idx] = c["nodata"]
    if c["nan"]:
        idx = rng.choice(n, 5, replace=False)
        arr[0].reshape(-1)[idx] = np.nan
    return arr


def make_mask(w, h):
    yy, xx = np.mgrid[0:h, 0:w]
    m = np.full((h, w), 255, np.uint8)
    m[xx + yy < min(w, h) // 2] = 0  # invalid top-left corner triangle
    m[h - 3 :, w - 9 :] = 0  # invalid bottom-right block (crosses edge tiles)
    return m


def profile(c):
    w, h = c["size"]
    crs, transform = c["georef"]
    p = {"width": w, "height": h, "count": c["count"], "dtype": c["dtype"]}
    if crs is not None:
        p.update(crs=crs, transform=transform)
    if c["nodata"] is not None:
        p["nodata"] = c["nodata"]
    return p


def apply_metadata(ds, c):
    if c["tags"]:
        ds.update_tags(**c["tags"])
    if c["scales"] is not None:
        ds.scales = c["scales"]
    if c["offsets"] is not None:
        ds.offsets = c["offsets"]


def write_case(c, path):
    rng = np.random.default_rng([SEED, zlib.crc32(c["name"].encode())])
    data = make_pixels(rng, c)
    w, h = c["size"]
    opts = {k.lower(): v for k, v in c["co"].items()}
    if c["kind"] == "gtiff":
        with rasterio.open(path, "w", driver="GTiff", **profile(c), **opts) as ds:
            apply_metadata(ds, c)
            ds.write(data)
    elif c["kind"] == "ovr_mask":
        with rasterio.Env(GDAL_TIFF_INTERNAL_MASK="YES"):
            with rasterio.open(path, "w", driver="GTiff", **profile(c), **opts) as ds:
                apply_metadata(ds, c)
                ds.write(data)
                ds.write_mask(make_mask(w, h))
                ds.build_overviews([2, 4], Resampling.average)
    elif c["kind"] in ("cog", "cog_mask"):
        with rasterio.Env(GDAL_TIFF_INTERNAL_MASK="YES"):
            with MemoryFile() as mf:
                with mf.open(driver="GTiff", **profile(c)) as tmp:
                    apply_metadata(tmp, c)
                    tmp.write(data)
                    if c["kind"] == "cog_mask":
                        tmp.write_mask(make_mask(w, h))
                    rio_copy(tmp, path, driver="COG", **c["co"])
    else:
        raise ValueError(c["kind"])


def readme(cases, infos):
    lines = [
        "# GeoTIFF fixtures (GDAL-written)",
        "",
        "Small GeoTIFFs written by GDAL through rasterio, each with a JSON file that",
        "describes it exactly as GDAL reads it (`tests/scripts/gdal_describe.py`):",
        "size, dtype, NBITS, nodata, EPSG, affine transform (rasterio order",
        "`[a, b, c, d, e, f]`), AREA_OR_POINT, block size, tiling, compression,",
        "interleave, predictor, scale/offset, internal overviews and mask, and the",
        "decoded pixels (`pixels`: base64 of band-major little-endian samples;",
        "`overview_pixels` per stored overview level; `mask` 0/255 if an internal",
        "mask exists). Each JSON also has `creation_options` (GDAL creation options",
        "used) and `tolerance` (max |reader - GDAL| per sample, also for overviews:",
        "0 = exact, anything else only for lossy JPEG / WEBP).",
        "",
        "Lossy tolerances, measured by decoding every block with djpeg/dwebp",
        "variants and comparing with GDAL: this GDAL build decodes JPEG with IJG",
        "libjpeg 9 (not libjpeg-turbo). Gray and PHOTOMETRIC=RGB JPEG: all djpeg",
        f"variants within 1 -> tolerance {LOSSY_JPEG_TOLERANCE}. YCbCr (4:2:0) JPEG: djpeg default",
        "differs by up to 4, -dct fast by 5 (chroma upsampling / color conversion)",
        f"-> tolerance {LOSSY_JPEG_YCBCR_TOLERANCE}. Lossy WEBP: dwebp default (fancy upsampling) matches",
        "exactly, dwebp -nofancy is off by up to 35 -> tolerance "
        f"{LOSSY_WEBP_TOLERANCE}, i.e. a reader",
        "must upsample chroma like libwebp. Lossless WEBP is exact (tolerance 0).",
        "",
        "Notes: `geo_point_*` is AREA_OR_POINT=Point; its `transform` is the",
        "corner-based one GDAL reports (GDAL shifts the PixelIsPoint tie point by",
        "half a pixel). YCbCr JPEG pixels are RGB as libjpeg converts them. For",
        "NBITS=1 images pixels are 0/1. `geo_none_*` has no georeferencing (GDAL",
        "reports the identity transform and no CRS). `cog_*` were written with the",
        "COG driver (from an in-memory GTiff; `cog_b3_u8_deflate_mask` with an",
        "internal mask); `b3_u8_deflate_ovr_mask_tiled` got `build_overviews([2, 4],",
        "average)` and an internal mask (GDAL_TIFF_INTERNAL_MASK=YES).",
        "",
        f"Written by GDAL {rasterio.__gdal_version__} (rasterio {rasterio.__version__}).",
        "Regenerate (deletes and rewrites every `*.tif`/`*.json` here), then check:",
        "",
        "    $(scripts/py-env) tests/scripts/make_geotiff_fixtures.py",
        "    $(scripts/py-env) tests/scripts/check_fixtures.py",
        "",
        "| fixture | dtype x bands | size | creation options |",
        "| --- | --- | --- | --- |",
    ]
    for c in cases:
        d = infos[c["name"]]
        opts = " ".join(f"{k}={v}" for k, v in c["co"].items()) or "(defaults)"
        if c["kind"] != "gtiff":
            opts = {"cog": "driver=COG ", "cog_mask": "driver=COG +mask ",
                    "ovr_mask": "+overviews +mask "}[c["kind"]] + opts
        lines.append(f"| `{c['name']}` | {d['dtype']} x {d['count']} | {d['width']}x{d['height']} | {opts} |")
    return "\n".join(lines) + "\n"


def main(argv):
    out = Path(argv[0]) if argv else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate fixture names"
    for p in out.iterdir():
        if p.suffix in (".tif", ".json") or p.name.endswith(".aux.xml"):
            p.unlink()
    warnings.simplefilter("ignore", NotGeoreferencedWarning)
    infos = {}
    with rasterio.Env(GDAL_PAM_ENABLED="NO"):
        for c in CASES:
            tif = out / f"{c['name']}.tif"
            write_case(c, str(tif))
            info = describe(tif)
            info["creation_options"] = c["co"]
            info["tolerance"] = c["tolerance"]
            infos[c["name"]] = info
            with open(out / f"{c['name']}.json", "w") as f:
                json.dump(info, f, indent=1)
                f.write("\n")
    (out / "README.md").write_text(readme(CASES, infos))
    stray = [p.name for p in out.iterdir() if p.name.endswith((".aux.xml", ".ovr", ".msk"))]
    if stray:
        raise SystemExit(f"unexpected side-car files: {stray}")
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"wrote {len(CASES)} fixtures to {out} ({total / 1024:.0f} KiB), "
          f"GDAL {rasterio.__gdal_version__}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
