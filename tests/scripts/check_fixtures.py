#!/usr/bin/env python3
"""Check tests/fixtures/geotiff/*.json against the .tif files, via GDAL and raw TIFF tags.

    $(scripts/py-env) tests/scripts/check_fixtures.py [FIXTURE_DIR]

For every <name>.json:
  * the keys are exactly the describe() schema + creation_options + tolerance;
  * pixels / overview_pixels / mask decode (base64 -> numpy frombuffer) to
    exactly what rasterio reads now (bitwise, so NaN payloads count too);
  * every other field equals a fresh describe() of the .tif;
  * the raw TIFF structure, parsed here without GDAL, agrees: byte order and
    BigTIFF vs ENDIANNESS/BIGTIFF options, tiled (TileWidth tag), compression
    code, predictor, planar configuration, bits per sample, sample format,
    block size, number of overview IFDs and presence of a mask IFD.
Prints one line per fixture and a closing "N passed, N failed" line; exits 1 on
any failure.
"""

import base64
import json
import struct
import sys
import warnings
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning

sys.dont_write_bytecode = True  # no __pycache__ in tests/scripts
sys.path.insert(0, str(Path(__file__).resolve().parent))
from gdal_describe import GDAL_ENV, describe  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DIR = REPO / "tests" / "fixtures" / "geotiff"

SCHEMA_KEYS = [
    "width", "height", "count", "dtype", "nbits", "nodata", "crs_epsg", "transform",
    "area_or_point", "block", "tiled", "compress", "interleave", "predictor", "scales",
    "offsets", "overviews", "has_internal_mask", "pixels", "overview_pixels", "mask",
]
FIXTURE_KEYS = SCHEMA_KEYS + ["creation_options", "tolerance"]

COMPRESSION_CODES = {1: None, 5: "lzw", 7: "jpeg", 8: "deflate", 32946: "deflate",
                     32773: "packbits", 50000: "zstd", 50001: "webp"}
SAMPLE_FORMATS = {1: "uint", 2: "int", 3: "float"}


# --- minimal TIFF / BigTIFF IFD reader (no GDAL) -------------------------------------

TYPE_FMT = {1: "B", 2: "s", 3: "H", 4: "I", 6: "b", 7: "B", 8: "h", 9: "i", 11: "f", 12: "d",
            16: "Q", 17: "q", 18: "Q"}


def read_ifds(path):
    data = Path(path).read_bytes()
    bo = {b"II": "<", b"MM": ">"}[data[:2]]
    magic = struct.unpack(bo + "H", data[2:4])[0]
    big = magic == 43
    if not big and magic != 42:
        raise ValueError(f"not a TIFF: magic {magic}")
    off = struct.unpack(bo + "Q", data[8:16])[0] if big else struct.unpack(bo + "I", data[4:8])[0]
    ifds = []
    while off:
        if big:
            n = struct.unpack(bo + "Q", data[off:off + 8])[0]
            pos, esize, inline = off + 8, 20, 8
        else:
            n = struct.unpack(bo + "H", data[off:off + 2])[0]
            pos, esize, inline = off + 2, 12, 4
        tags = {}
        for i in range(n):
            e = data[pos + i * esize: pos + (i + 1) * esize]
            tag, typ = struct.unpack(bo + "HH", e[:4])
            cnt = struct.unpack(bo + ("Q" if big else "I"), e[4:4 + (8 if big else 4)])[0]
            body = e[(12 if big else 8):]
            fmt = TYPE_FMT.get(typ)
            if fmt is None:
                continue
            size = struct.calcsize(fmt) * cnt if fmt != "s" else cnt
            if size <= inline:
                raw = body[:size]
            else:
                voff = struct.unpack(bo + ("Q" if big else "I"), body[:inline])[0]
                raw = data[voff:voff + size]
            tags[tag] = raw if fmt == "s" else list(struct.unpack(bo + fmt * cnt, raw))
        ifds.append(tags)
        end = pos + n * esize
        off = (struct.unpack(bo + "Q", data[end:end + 8])[0] if big
               else struct.unpack(bo + "I", data[end:end + 4])[0])
    return bo, big, ifds


def raw_checks(path, info):
    """Yield error strings where the raw TIFF disagrees with the JSON."""
    bo, big, ifds = read_ifds(path)
    co = {k.upper(): str(v).upper() for k, v in info["creation_options"].items()}
    want_bo = ">" if co.get("ENDIANNESS") == "BIG" else "<"
    if bo != want_bo:
        yield f"byte order {bo!r}, creation options want {want_bo!r}"
    if big != (co.get("BIGTIFF") == "YES"):
        yield f"BigTIFF={big} but BIGTIFF option is {co.get('BIGTIFF')}"
    main = ifds[0]
    g = lambda t, d=None: main.get(t, [d])[0]  # noqa: E731
    if (322 in main) != info["tiled"]:
        yield f"TileWidth tag present={322 in main} but tiled={info['tiled']}"
    if 322 in main:
        block = [g(322), g(323)]
    else:
        block = [g(256), min(g(278, 2**32 - 1), g(257))]
    if block != info["block"]:
        yield f"raw block {block} != {info['block']}"
    comp = COMPRESSION_CODES.get(g(259, 1), f"code {g(259, 1)}")
    if comp != info["compress"]:
        yield f"raw compression {comp} != {info['compress']}"
    pred = g(317, 1)
    if (pred if pred != 1 else None) != info["predictor"]:
        yield f"raw predictor {pred} != {info['predictor']}"
    spp = g(277, 1)
    if spp != info["count"]:
        yield f"SamplesPerPixel {spp} != count {info['count']}"
    planar = {1: "pixel", 2: "band"}[g(284, 1)]
    if spp > 1 and planar != info["interleave"]:
        yield f"raw planar config {planar} != interleave {info['interleave']}"
    bits = g(258, 1)
    sfmt = SAMPLE_FORMATS[g(339, 1)]
    if info["nbits"] is not None:
        if bits != info["nbits"]:
            yield f"BitsPerSample {bits} != nbits {info['nbits']}"
    else:
        dt = np.dtype(info["dtype"])
        if bits != dt.itemsize * 8 or sfmt != {"u": "uint", "i": "int", "f": "float"}[dt.kind]:
            yield f"BitsPerSample {bits}/SampleFormat {sfmt} != dtype {info['dtype']}"
    # NewSubfileType: bit 0 = reduced resolution, bit 2 = transparency mask.
    kinds = [ifd.get(254, [0])[0] for ifd in ifds]
    n_ovr = sum(1 for k in kinds if k & 1 and not k & 4)
    if n_ovr != len(info["overviews"]):
        yield f"{n_ovr} overview IFDs but {len(info['overviews'])} overviews"
    has_mask_ifd = any(k & 4 and not k & 1 for k in kinds)
    if has_mask_ifd != info["has_internal_mask"]:
        yield f"mask IFD present={has_mask_ifd} but has_internal_mask={info['has_internal_mask']}"
    ovr_sizes = [[ifd[256][0], ifd[257][0]] for ifd, k in zip(ifds, kinds) if k & 1 and not k & 4]
    if ovr_sizes != info["overviews"]:
        yield f"raw overview sizes {ovr_sizes} != {info['overviews']}"


# --- pixel round trip -----------------------------------------------------------------

def decode(b64, dtype, shape):
    raw = base64.b64decode(b64)
    arr = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
    if arr.size != int(np.prod(shape)):
        raise ValueError(f"{arr.size} samples, expected {shape}")
    return arr.reshape(shape)


def same_bits(a, b):
    a = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<"))
    b = np.ascontiguousarray(b).astype(b.dtype.newbyteorder("<"))
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def pixel_checks(tif, info):
    dt = info["dtype"]
    with rasterio.Env(**GDAL_ENV):
        with rasterio.open(tif) as ds:
            shape = (info["count"], info["height"], info["width"])
            if not same_bits(decode(info["pixels"], dt, shape), ds.read()):
                yield "pixels differ from rasterio read"
            if info["has_internal_mask"]:
                m = decode(info["mask"], "uint8", shape[1:])
                if not same_bits(m, ds.dataset_mask()):
                    yield "mask differs from dataset_mask()"
                if set(np.unique(m)) - {0, 255}:
                    yield "mask not 0/255"
            elif info["mask"] is not None:
                yield "mask present without has_internal_mask"
        if len(info["overview_pixels"]) != len(info["overviews"]):
            yield "overview_pixels / overviews length mismatch"
        for i, ((w, h), b64) in enumerate(zip(info["overviews"], info["overview_pixels"])):
            with rasterio.open(tif, overview_level=i) as ovr:
                if (ovr.width, ovr.height) != (w, h):
                    yield f"overview {i} size {(ovr.width, ovr.height)} != {(w, h)}"
                elif not same_bits(decode(b64, dt, (info["count"], h, w)), ovr.read()):
                    yield f"overview {i} pixels differ"
    if info["nbits"] == 1:
        px = decode(info["pixels"], dt, (info["count"], info["height"], info["width"]))
        if set(np.unique(px)) - {0, 1}:
            yield "1-bit image has values other than 0/1"


def check(json_path):
    info = json.loads(json_path.read_text())
    tif = json_path.with_suffix(".tif")
    errors = []
    if list(info) != FIXTURE_KEYS:
        errors.append(f"keys {list(info)} != schema")
        return errors
    if not tif.exists():
        return [f"{tif.name} missing"]
    if not isinstance(info["tolerance"], int) or info["tolerance"] < 0:
        errors.append("tolerance must be a non-negative int")
    lossy = info["compress"] == "jpeg" or (
        info["compress"] == "webp"
        and str(info["creation_options"].get("WEBP_LOSSLESS", "")).upper() != "TRUE")
    if lossy != (info["tolerance"] > 0):
        errors.append(f"tolerance {info['tolerance']} for compress={info['compress']}")
    fresh = describe(tif)
    for k in SCHEMA_KEYS:
        if k in ("pixels", "overview_pixels", "mask"):
            continue
        if fresh[k] != info[k]:
            errors.append(f"{k}: json {info[k]!r} != describe {fresh[k]!r}")
    errors.extend(pixel_checks(tif, info))
    errors.extend(raw_checks(tif, info))
    return errors


def main(argv):
    d = Path(argv[0]) if argv else DEFAULT_DIR
    warnings.simplefilter("ignore", NotGeoreferencedWarning)
    jsons = sorted(d.glob("*.json"))
    tifs = {p.stem for p in d.glob("*.tif")}
    passed = failed = 0
    for orphan in sorted(tifs - {p.stem for p in jsons}):
        print(f"FAIL {orphan}: .tif without .json")
        failed += 1
    for j in jsons:
        try:
            errs = check(j)
        except Exception as e:  # noqa: BLE001
            errs = [f"{type(e).__name__}: {e}"]
        if errs:
            failed += 1
            print(f"FAIL {j.stem}")
            for e in errs:
                print(f"     {e}")
        else:
            passed += 1
            print(f"ok   {j.stem}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not jsons else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
