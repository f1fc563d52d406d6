#!/usr/bin/env python3
"""A random-weight Qwen2-VL with ShowUI-2B's geometry and a chosen depth, saved as a transformers
checkpoint: the stand-in for the real model wherever its size matters (export memory and time,
CPU/GPU speed) and its weights do not.

    python3 scripts/models/make_random_qwen2vl.py --out target/random-1536-2x2 --layers 2 --vision-depth 2
    python3 scripts/models/make_random_qwen2vl.py --out target/random-full                     # 28 + 32

Defaults are Qwen2-VL-2B's (ShowUI-2B's) shapes: hidden 1536, MLP 8960, 12 query and 2 key/value
heads, M-RoPE sections [16, 24, 24], a 1280-wide vision tower with 16 heads; the vocabulary,
special-token ids, tokenizer and processor are the parity model's (make_parity_model.py), so
`neko-agent model export --model <out> --processor <out>` and the engine take it as they take
ShowUI-2B. Weights are drawn with a fixed seed at transformers' own initializer range. Runs in
the parity environment (scripts/setup-parity.sh); no network.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import make_parity_model as parity  # noqa: E402  (tokenizer and processor files)
import make_showui_fixture as fixture  # noqa: E402


def config_json(hidden, layers, vision_depth):
    config = parity.config_json()
    config.update(
        hidden_size=hidden,
        intermediate_size=8960 if hidden == 1536 else 4 * hidden,
        num_hidden_layers=layers,
        max_window_layers=layers,
        num_attention_heads=hidden // 128,
        num_key_value_heads=2,
        initializer_range=0.02,
        rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]},
    )
    config["vision_config"] = dict(
        config["vision_config"], depth=vision_depth, embed_dim=1280, num_heads=16, hidden_size=hidden
    )
    return config


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="checkpoint directory to write")
    parser.add_argument("--hidden", type=int, default=1536, help="language model width (default 1536)")
    parser.add_argument("--layers", type=int, default=28, help="language model layers (default 28)")
    parser.add_argument("--vision-depth", type=int, default=32, help="vision blocks (default 32)")
    parser.add_argument("--seed", type=int, default=parity.SEED)
    args = parser.parse_args()

    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    files = parity.source_files()
    files["config.json"] = fixture.dumps(config_json(args.hidden, args.layers, args.vision_depth))
    fixture.write(args.out, files)
    torch.manual_seed(args.seed)
    config = Qwen2VLConfig.from_pretrained(args.out)
    model = Qwen2VLForConditionalGeneration(config).eval()
    model.save_pretrained(args.out, safe_serialization=True)
    fixture.write(args.out, {k: v for k, v in files.items() if k.endswith("config.json")})
    count = sum(p.numel() for p in model.parameters())
    print(f"wrote {args.out}: {count / 1e6:.0f}M parameters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
