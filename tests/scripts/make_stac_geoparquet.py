#!/usr/bin/env python3
"""Write STAC items to a stac-geoparquet file with a real writer.

    PY=$(scripts/py-env)
    "$PY" tests/scripts/make_stac_geoparquet.py OUT.parquet INPUT [INPUT ...] \\
        [--writer rustac|stac-geoparquet] [--row-group-size N] [--compression C]

INPUTs are ItemCollection / Item / JSON-array files, or NDJSON (.ndjson/.jsonl).

Writers:
* ``rustac`` (default): ``rustac.write_sync`` (arrow-rs/parquet-rs). ZSTD,
  parquet format 1.0, ``datetime`` timestamp[ms, UTC], ``type``/``stac_version``
  /``collection`` as dictionary<string> in the embedded Arrow schema, ``geo``
  metadata with bbox covering. ``write_sync`` always makes one row group; with
  ``--row-group-size`` the rustac CLI (``rustac translate
  --parquet-max-row-group-row-count N``) from the same wheel is used instead.
* ``stac-geoparquet``: the pyarrow-based reference implementation
  (``stac_geoparquet.arrow``). SNAPPY, parquet format 2.6, ``datetime``
  timestamp[us, UTC], PROJJSON CRS in ``geo`` and on the geometry field.
  ``--row-group-size`` rewrites the table with pyarrow keeping the metadata.

``--compression`` is passed through (rustac: e.g. ``zstd(3)``, ``snappy``,
``uncompressed``; stac-geoparquet: pyarrow names, e.g. ``zstd``, ``snappy``).
On success prints one JSON line: {"path", "writer", "rows", "row_groups"}.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile


def read_items(path: str) -> list:
    with open(path) as f:
        text = f.read()
    if path.lower().endswith((".ndjson", ".jsonl")):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    value = json.loads(text)
    if isinstance(value, list):
        return value
    if value.get("type") == "FeatureCollection":
        return list(value.get("features", []))
    if value.get("type") == "Feature":
        return [value]
    raise SystemExit(f"make_stac_geoparquet: {path}: not an Item / ItemCollection")


def write_rustac(items: list, out: str, row_group_size, compression) -> None:
    if row_group_size is None:
        import rustac

        kwargs = {"parquet_compression": compression} if compression else {}
        rustac.write_sync(out, items, **kwargs)
        return
    # Only the CLI exposes the row-group size; run it from this interpreter.
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "items.json")
        with open(src, "w") as f:
            json.dump({"type": "FeatureCollection", "features": items}, f)
        # rustac.main() parses the process argv minus its first entry, so run
        # a script file (not `python -c`) as the console script would.
        shim = os.path.join(tmp, "rustac_cli.py")
        with open(shim, "w") as f:
            f.write("import sys, rustac\nsys.exit(rustac.main())\n")
        cmd = [
            sys.executable,
            shim,
            "translate",
            "--parquet-max-row-group-row-count",
            str(row_group_size),
        ]
        if compression:
            cmd += ["--parquet-compression", compression]
        subprocess.run(cmd + [src, out], check=True, timeout=300)


def write_stac_geoparquet(items: list, out: str, row_group_size, compression) -> None:
    import pyarrow.parquet as pq
    import stac_geoparquet.arrow as sga

    kwargs = {"compression": compression} if compression else {}
    reader = sga.parse_stac_items_to_arrow(items)
    if row_group_size is None:
        sga.to_parquet(reader, out, **kwargs)
        return
    # to_parquet writes one row group per batch and re-chunks; write to a temp
    # file, then rewrite with pyarrow (schema metadata - geo, stac-geoparquet -
    # and field metadata are kept by read_table/write_table).
    tmp = out + ".tmp.parquet"
    sga.to_parquet(reader, tmp, **kwargs)
    table = pq.read_table(tmp)
    pq.write_table(table, out, row_group_size=row_group_size, **kwargs)
    os.remove(tmp)


def main() -> None:
    ap = argparse.ArgumentParser(description="Write STAC items as stac-geoparquet.")
    ap.add_argument("output")
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--writer", choices=["rustac", "stac-geoparquet"], default="rustac")
    ap.add_argument("--row-group-size", type=int)
    ap.add_argument("--compression")
    args = ap.parse_args()

    items = [item for path in args.inputs for item in read_items(path)]
    if not items:
        raise SystemExit("make_stac_geoparquet: no items in the inputs")
    out = os.path.abspath(args.output)
    if args.writer == "rustac":
        write_rustac(items, out, args.row_group_size, args.compression)
    else:
        write_stac_geoparquet(items, out, args.row_group_size, args.compression)

    import pyarrow.parquet as pq

    md = pq.read_metadata(out)
    print(
        json.dumps(
            {
                "path": out,
                "writer": args.writer,
                "rows": md.num_rows,
                "row_groups": [md.row_group(i).num_rows for i in range(md.num_row_groups)],
            }
        )
    )


if __name__ == "__main__":
    main()
