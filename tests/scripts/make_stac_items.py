#!/usr/bin/env python3
"""Write a deterministic synthetic Sentinel-2-like STAC ItemCollection.

    python make_stac_items.py OUT.json [--count 30] [--seed 7] [--items-dir DIR]

Items are spread over two collections (``sentinel-2-l2a`` and ``sentinel-2-l1c``),
with datetimes over 2023, small bboxes inside lon 14..22 / lat 48..52,
``eo:cloud_cover`` and ``platform`` (``sentinel-2a`` / ``sentinel-2b``).
Uses only the standard library, so the output is byte-identical for a given
count/seed on any machine. ``--items-dir`` additionally writes one JSON file
per item (``<id>.json``).
"""

import argparse
import datetime as dt
import json
import os
import random

COLLECTIONS = ["sentinel-2-l2a", "sentinel-2-l1c"]
PLATFORMS = ["sentinel-2a", "sentinel-2b"]


def make_item(i: int, rng: random.Random) -> dict:
    collection = COLLECTIONS[i % 2]
    platform = PLATFORMS[(i // 2) % 2]
    # Tile ~0.9 x 0.7 degrees, lower-left corner on a 0.05 degree grid.
    west = round(14.0 + rng.randint(0, 142) * 0.05, 2)  # 14.00 .. 21.10
    south = round(48.0 + rng.randint(0, 66) * 0.05, 2)  # 48.00 .. 51.30
    east = round(west + 0.9, 2)
    north = round(south + 0.7, 2)
    start = dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc)
    when = start + dt.timedelta(days=rng.randint(0, 363), seconds=rng.randint(0, 86399))
    cloud = round(rng.uniform(0, 100), 2)
    item_id = f"S2_{collection.split('-')[-1].upper()}_{when:%Y%m%dT%H%M%S}_{i:03d}"
    base = f"https://example.com/s2/{collection}/{item_id}"
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v2.0.0/schema.json",
        ],
        "id": item_id,
        "collection": collection,
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[west, south], [east, south], [east, north], [west, north], [west, south]]
            ],
        },
        "bbox": [west, south, east, north],
        "properties": {
            "datetime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "platform": platform,
            "constellation": "sentinel-2",
            "eo:cloud_cover": cloud,
            "gsd": 10,
        },
        "links": [],
        "assets": {
            "B04": {
                "href": f"{base}/B04.tif",
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "title": "Red",
                "roles": ["data"],
            },
            "B08": {
                "href": f"{base}/B08.tif",
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "title": "NIR",
                "roles": ["data"],
            },
            "visual": {
                "href": f"{base}/TCI.tif",
                "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                "roles": ["visual"],
            },
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=30)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--items-dir")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    items = [make_item(i, rng) for i in range(args.count)]
    with open(args.out, "w") as f:
        json.dump({"type": "FeatureCollection", "features": items}, f, indent=1)
        f.write("\n")
    if args.items_dir:
        os.makedirs(args.items_dir, exist_ok=True)
        for item in items:
            with open(os.path.join(args.items_dir, item["id"] + ".json"), "w") as f:
                json.dump(item, f, indent=1)
                f.write("\n")


if __name__ == "__main__":
    main()
