#!/usr/bin/env python3
"""Golden data for the Rust Qwen2-VL image preprocessing (src/model/image.rs, src/model/resize.rs).

Writes tests/fixtures/model-preprocess/: for a few synthetic images (a formula the Rust test
repeats), the frame resized by Pillow's bicubic filter (`<case>.rgb`, RGB8) and, for one case, the
full `pixel_values` (`<case>.f32`, little-endian float32, row-major [rows, 1176]) computed in numpy
from the documented Qwen2VLImageProcessor algorithm: smart_resize (Python round), Pillow resize of
the uint8 image, rescale 1/255 in float64 cast to float32, CLIP mean/std in float32, the temporal
copy and the (0,3,6,4,7,2,1,5,8) patch permutation. golden.json lists the cases.

Needs only Pillow and numpy from PyPI:
    python3 -m venv /tmp/golden-env && /tmp/golden-env/bin/pip install numpy==2.4.6 Pillow==13.0.0
    /tmp/golden-env/bin/python scripts/models/make_preprocess_golden.py
"""

import json
import math
import os
import sys

import numpy as np
import PIL
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "model-preprocess")
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
PATCH, TEMPORAL, MERGE = 14, 2, 2

# name, width, height, min_pixels, max_pixels, write pixel_values
CASES = [
    ("antialias_300x200", 300, 200, 3136, 10000, False),  # strong downscale on both axes
    ("half_even_56x70", 56, 70, 3136, 12845056, False),  # 70/28 = 2.5 -> 2; vertical pass only
    ("upscale_40x30", 40, 30, 3136, 12845056, False),  # grows to the minimum area
    ("width_only_100x56", 100, 56, 3136, 12845056, False),  # horizontal pass only
    ("pixel_values_90x70", 90, 70, 784, 3136, True),  # full pixel_values, grid [1, 2, 4]
]


def synthetic(width, height):
    """Hard-edged checkerboard (red), horizontal ramp (green), fine texture (blue)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.int64)
    r = np.where(((x // 5) + (y // 7)) % 2 == 0, 255, 0)
    g = (x * 255) // max(width - 1, 1)
    b = (x * x + 3 * y * y + 17 * x * y + 11) % 256
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def smart_resize(height, width, factor=28, min_pixels=56 * 56, max_pixels=28 * 28 * 16384):
    if max(height, width) / min(height, width) > 200:
        raise ValueError("aspect ratio above 200")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def pixel_values(resized):
    """uint8 [H, W, 3] -> float32 [rows, 1176], the processor's rescale/normalise/patching."""
    img = (resized.astype(np.float64) * (1 / 255)).astype(np.float32)
    img = (img - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    img = img.transpose(2, 0, 1)  # [3, H, W]
    frames = np.stack([img] * TEMPORAL)  # [T, 3, H, W]
    h, w = resized.shape[:2]
    gh, gw = h // PATCH, w // PATCH
    x = frames.reshape(1, TEMPORAL, 3, gh // MERGE, MERGE, PATCH, gw // MERGE, MERGE, PATCH)
    x = x.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8).reshape(gh * gw, 3 * TEMPORAL * PATCH * PATCH)
    return np.ascontiguousarray(x, dtype="<f4"), [1, gh, gw]


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = {
        "made_by": "scripts/models/make_preprocess_golden.py",
        "pillow": PIL.__version__,
        "numpy": np.__version__,
        "cases": [],
    }
    for name, width, height, min_pixels, max_pixels, full in CASES:
        h, w = smart_resize(height, width, 28, min_pixels, max_pixels)
        resized = np.asarray(
            Image.fromarray(synthetic(width, height), "RGB").resize((w, h), resample=Image.BICUBIC)
        )
        with open(os.path.join(OUT, name + ".rgb"), "wb") as fh:
            fh.write(resized.tobytes())
        case = {
            "name": name,
            "width": width,
            "height": height,
            "min_pixels": min_pixels,
            "max_pixels": max_pixels,
            "resized_width": w,
            "resized_height": h,
        }
        if full:
            values, grid = pixel_values(resized)
            with open(os.path.join(OUT, name + ".f32"), "wb") as fh:
                fh.write(values.tobytes())
            case["grid_thw"] = grid
            case["rows"] = int(values.shape[0])
        manifest["cases"].append(case)
        print(f"{name}: {width}x{height} -> {w}x{h}", file=sys.stderr)
    with open(os.path.join(OUT, "golden.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    main()
