#!/usr/bin/env python3
"""The README's comparison picture: crops of bicubic interpolation | savl v2 | savl v3 | the HR photo, on a
clean photo (bicubic LR) and a degraded one (heterogeneous LR), from the evidence table's x4 test sets.

    python3 benchmarks/comparison_picture.py --out docs/images/comparison.png

Each row is one photo: the same HR-pixel box of each image, enlarged 2x with nearest neighbours so that the
pixels stay visible. Bicubic is MATLAB bicubic (`savl upscale --model bicubic`); v2 and v3 are the committed
model files, run by `savl upscale` with its defaults. The LR test sets are made (and cached) as the evidence
table makes them (`savl degrade --test-set`, seed 1).
"""
import argparse
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
import reference_model  # noqa: E402

# (test set, condition, photo, left, top, side): a box in HR pixels.
ROWS = [
    ("BSD68", "bicubic", "108005.png", 200, 120, 128),
    ("Set14", "hetero", "baboon.png", 300, 40, 128),
]
COLUMNS = ["bicubic", "v2", "v3", "HR"]
MODELS = {"v2": "Models/savl-small-x4-v2.safetensors", "v3": "Models/savl-small-x4-v3.safetensors"}
ZOOM = 2
LABEL_HEIGHT = 22


def upscale(savl, model, lr, out):
    """`savl upscale` of one LR image with `model`, cached in `out`."""
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([savl, "upscale", "--model", model, str(lr), "-o", str(out), "--progress", "none", "--threads", "1"], check=True)
    return Image.open(out).convert("RGB")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--savl", default=str(REPO / ".build/release/savl"))
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/data/eval")
    parser.add_argument("--work", type=Path, default=REPO / "runs/evidence")
    parser.add_argument("--out", type=Path, default=REPO / "docs/images/comparison.png")
    args = parser.parse_args()

    evidence = reference_model.load_module("evidence", REPO / "benchmarks/evidence_table.py")
    folders = evidence.build_test_sets(args.savl, args.data, args.work)
    tiles = []
    for test_set, condition, photo, left, top, side in ROWS:
        folder = folders[(condition, test_set)]
        row = []
        for column in COLUMNS:
            if column == "HR":
                image = Image.open(folder / "HR" / photo).convert("RGB")
            elif column == "bicubic":
                lr = Image.open(folder / "LR" / photo).convert("RGB")
                image = lr.resize((lr.width * 4, lr.height * 4), Image.BICUBIC)
            else:
                out = args.work / "pictures" / column / folder.name / photo
                image = upscale(args.savl, str(REPO / MODELS[column]), folder / "LR" / photo, out)
            crop = image.crop((left, top, left + side, top + side)).resize((side * ZOOM, side * ZOOM), Image.NEAREST)
            row.append(crop)
        tiles.append((f"{test_set} {photo[:-4]}, {'clean (bicubic)' if condition == 'bicubic' else 'heterogeneous'} LR", row))

    width = sum(t.width for t in tiles[0][1]) + 4 * (len(COLUMNS) - 1)
    height = sum(LABEL_HEIGHT + row[0].height for _, row in tiles) + LABEL_HEIGHT
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    x = 0
    for column, tile in zip(COLUMNS, tiles[0][1]):
        draw.text((x + 6, 5), column, fill="black")
        x += tile.width + 4
    y = LABEL_HEIGHT
    for title, row in tiles:
        draw.text((6, y + 5), title, fill="black")
        y += LABEL_HEIGHT
        x = 0
        for tile in row:
            canvas.paste(tile, (x, y))
            x += tile.width + 4
        y += row[0].height
    args.out.parent.mkdir(parents=True, exist_ok=True)
    partial = args.out.with_suffix(".partial.png")
    canvas.save(partial, optimize=True)
    os.replace(partial, args.out)
    print(f"{args.out}: {canvas.width}x{canvas.height}")


if __name__ == "__main__":
    main()
