#!/usr/bin/env python3
"""A real-architecture Qwen2-VL with random weights, exported like ShowUI-2B, plus transformers'
own answers for it: the reference tests/model_parity.rs holds the Rust engine to.

    python3 scripts/models/make_parity_model.py --out target/tmp/parity-model   # where the test keeps it

Writes, under --out:

    source/        Qwen2VLForConditionalGeneration saved by transformers (small config, fixed seed,
                   Qwen2-VL's real vocabulary size and special-token ids) with its processor files
    export/        what scripts/models/export_showui.py --model source --processor source writes
                   with --dtype fp32, fp16 and int8 (three ONNX graphs each in the
                   onnx-community layout, `*_fp16.onnx` for float16, `*_quantized.onnx` for
                   int8; configs, tokenizer)
    reference.json for each case: frame size, task, action history, and what transformers'
                   Qwen2VLProcessor + greedy generate give: prompt ids, image_grid_thw, prompt
                   length, and in float32 and float16 the generated ids, reply text, and each
                   step's largest logit and its lead over the second; and the float32 tokens
                   of the first case when its fourth token is declared an end token
    <frame>.rgb    the frame (raw RGB, width * height * 3 bytes)
    <frame>.pixels pixel_values of that frame (little-endian f32, rows of 1176)
    stamp          hash of the inputs; a run whose stamp matches returns at once

Weights are drawn with a standard deviation (WEIGHT_STD) large enough that every part of the
pipeline moves the greedy tokens: docs/model.md lists what breaking M-RoPE, the feature merge or
the KV cache feeding does to them. The tokenizer is the fixture's byte-level BPE
(make_showui_fixture.py) with every id below the special tokens filled by a token that decodes to
`<id>`, so every generated id has its own text.

Needs the versions in scripts/models/requirements-parity.txt (scripts/setup-parity.sh installs them into
.venv-parity/). No network: nothing is downloaded.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import make_showui_fixture as fixture  # noqa: E402  (tokenizer, template, frames, prompts)

SEED = 1234
WEIGHT_STD = 0.35  # initializer_range: small enough for stable numerics, large enough to matter
HIDDEN = 64
LAYERS = 2
HEADS = 4
KV_HEADS = 2
VISION_DEPTH = 2
MAX_NEW_TOKENS = 24
DTYPES = {"fp32": "float32", "fp16": "float16"}  # exported and compared, each in its own precision
FRAMES = [(1280, 720, 11), (1920, 1080, 12)]  # width, height, noise seed
TASK = "click the green box"
HISTORY = [{"action": "CLICK", "value": None, "position": [0.13, 0.24]}]


# The Python agent's ShowUI navigation prompt for the web (legacy `_NAV_SYSTEM` formatted with
# `ACTION_SPACE_DESC["web"]`), sent as one user message: this text, `Task: ...`, the history as
# `Action history: <json.dumps(actions)>` from the second step on, then the image. The engine
# builds the same message in src/agent/prompt.rs; the test compares the token ids.
WEB_ACTIONS = """
1. CLICK: Click an element, value=None, position=[x, y].
2. INPUT: Type a string into an element, value=string, position=[x, y].
3. SELECT: Select a value for an element, value=None, position=[x, y].
4. HOVER: Hover on an element, value=None, position=[x, y].
5. ANSWER: Answer a question, value=string, position=None.
6. ENTER: Enter, value=None, position=None.
7. SCROLL: Scroll the screen, value=direction (e.g. "down"), position=None.
8. SELECT_TEXT: Select text, value=None, position=[[x1, y1], [x2, y2]].
9. COPY: Copy text, value=string, position=None.
"""
NAV_SYSTEM = (
    "You are an assistant trained to navigate the {app} screen. Given a task instruction, a screen "
    "observation, and an action history sequence, output the next action and wait for the next "
    "observation. Here is the action space:\n{actions}\nFormat the action as a dictionary with the "
    "following keys:\n{{'action': 'ACTION_TYPE', 'value': ..., 'position': ...}}\nIf value or "
    "position is not applicable, set as None. Position might be [[x1,y1],[x2,y2]] for range "
    "actions. Do NOT output extra keys or commentary."
)


def nav_messages(task, history):
    content = [
        {"type": "text", "text": NAV_SYSTEM.format(app="web", actions=WEB_ACTIONS)},
        {"type": "text", "text": f"Task: {task}"},
    ]
    if history:
        content.append({"type": "text", "text": f"Action history: {json.dumps(history)}"})
    content.append({"type": "image"})
    return [{"role": "user", "content": content}]


def config_json():
    config = fixture.config_json()
    config.update(
        hidden_size=HIDDEN,
        intermediate_size=4 * HIDDEN,
        num_hidden_layers=LAYERS,
        max_window_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        initializer_range=WEIGHT_STD,
    )
    config["vision_config"] = dict(config["vision_config"], depth=VISION_DEPTH, hidden_size=HIDDEN)
    return config


def tokenizer_json():
    """The fixture tokenizer, with every free id below the special tokens decoding to `<id>`."""
    tok = fixture.tokenizer_json()
    vocab = tok["model"]["vocab"]
    taken = set(vocab.values())
    for tid in range(fixture.ENDOFTEXT_ID):
        if tid not in taken:
            vocab[f"<{tid}>"] = tid
    return tok


def source_files():
    return {
        "config.json": fixture.dumps(config_json()),
        "generation_config.json": fixture.dumps(fixture.generation_config_json()),
        "preprocessor_config.json": fixture.dumps(fixture.preprocessor_config_json()),
        "chat_template.json": fixture.dumps({"chat_template": fixture.QWEN2_VL_CHAT_TEMPLATE}),
        "tokenizer.json": fixture.dumps(tokenizer_json()),
        "tokenizer_config.json": fixture.dumps(fixture.tokenizer_config_json()),
    }


def stamp():
    digest = hashlib.sha256()
    for name in ("make_parity_model.py", "export_showui.py", "make_showui_fixture.py"):
        with open(os.path.join(HERE, name), "rb") as fh:
            digest.update(fh.read())
    return digest.hexdigest()


def make_source(out):
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    src = os.path.join(out, "source")
    fixture.write(src, source_files())
    torch.manual_seed(SEED)
    config = Qwen2VLConfig.from_pretrained(src)
    model = Qwen2VLForConditionalGeneration(config).eval()
    model.save_pretrained(src, safe_serialization=True)
    # save_pretrained rewrites these two; keep the fixture's own.
    fixture.write(src, {k: v for k, v in source_files().items() if k.endswith("config.json")})
    return src


def export(src, out, dtype):
    dst = os.path.join(out, "export")
    cmd = [
        sys.executable,
        os.path.join(HERE, "export_showui.py"),
        "--model",
        src,
        "--processor",
        src,
        "--out",
        dst,
        "--dtype",
        dtype,
    ]
    subprocess.run(cmd, check=True)
    return dst


def references(src, out):
    import torch
    from PIL import Image
    from transformers import AutoProcessor, Qwen2VLForConditionalGeneration

    models = {
        dtype: Qwen2VLForConditionalGeneration.from_pretrained(
            src, torch_dtype=getattr(torch, torch_dtype), attn_implementation="eager"
        ).eval()
        for dtype, torch_dtype in DTYPES.items()
    }
    model = models["fp32"]
    processor = AutoProcessor.from_pretrained(src)
    ip = processor.image_processor  # the pixel budget the agent runs ShowUI with
    ip.min_pixels, ip.max_pixels = fixture_min_max()
    ip.size = {"min_pixels": ip.min_pixels, "max_pixels": ip.max_pixels}

    cases = []
    for width, height, seed in FRAMES:
        rgb = fixture.desktop_image(width, height, seed)
        frame = f"frame-{width}x{height}"
        with open(os.path.join(out, frame + ".rgb"), "wb") as fh:
            fh.write(rgb.tobytes())
        for history in ([], HISTORY):
            name = f"{frame}-{'history' if history else 'first'}"
            messages = nav_messages(TASK, history)
            text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            inputs = processor(text=[text], images=[Image.fromarray(rgb)], return_tensors="pt")
            pixels = inputs["pixel_values"].numpy().astype("<f4")
            with open(os.path.join(out, frame + ".pixels"), "wb") as fh:
                fh.write(pixels.tobytes())
            prompt_len = inputs["input_ids"].shape[1]
            case = {
                "name": name,
                "frame": frame,
                "width": width,
                "height": height,
                "task": TASK,
                "history": history,
                "prompt_ids": inputs["input_ids"][0].tolist(),
                "image_grid_thw": inputs["image_grid_thw"][0].tolist(),
                "pixel_values_shape": list(pixels.shape),
                "prompt_length": prompt_len,
            }
            for dtype, dtype_model in models.items():
                with torch.no_grad():
                    gen = dtype_model.generate(
                        **inputs,
                        max_new_tokens=MAX_NEW_TOKENS,
                        do_sample=False,
                        output_scores=True,
                        return_dict_in_generate=True,
                    )
                generated = gen.sequences[0, prompt_len:].tolist()
                top2 = [s[0].float().topk(2).values.tolist() for s in gen.scores]
                case[dtype] = {
                    "generated_ids": generated,
                    "text": processor.decode(generated, skip_special_tokens=True).strip(),
                    # per step: the largest logit and its lead over the second
                    "top_logits": [t[0] for t in top2],
                    "top2_margins": [t[0] - t[1] for t in top2],
                }
                print(f"{name} {dtype}: {prompt_len} prompt tokens, generated {generated}")
            cases.append(case)

    # The end token: transformers stops at an eos id (the engine reads eos_token_id from
    # generation_config.json). Declare the fourth token of the first case an end token.
    first = cases[0]
    stop_id = first["fp32"]["generated_ids"][3]
    rgb = fixture.desktop_image(first["width"], first["height"], FRAMES[0][2])
    text = processor.apply_chat_template(
        nav_messages(TASK, []), tokenize=False, add_generation_prompt=True
    )
    inputs = processor(text=[text], images=[Image.fromarray(rgb)], return_tensors="pt")
    with torch.no_grad():
        seq = model.generate(
            **inputs,
            max_new_tokens=MAX_NEW_TOKENS,
            do_sample=False,
            eos_token_id=[fixture.IM_END_ID, fixture.ENDOFTEXT_ID, stop_id],
        )
    stopped = seq[0, inputs["input_ids"].shape[1] :].tolist()
    return {
        "max_new_tokens": MAX_NEW_TOKENS,
        "min_pixels": ip.min_pixels,
        "max_pixels": ip.max_pixels,
        "cases": cases,
        "end_token": {"case": first["name"], "id": stop_id, "generated_ids": stopped},
    }


def fixture_min_max():
    """ShowUI's pixel budget (256 to 1344 merged 28x28 patches), as the agent uses it."""
    return 256 * 28 * 28, 1344 * 28 * 28


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", required=True, help="output directory (the test uses target/tmp/parity-model)"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if the stamp matches")
    args = parser.parse_args()

    stamp_path = os.path.join(args.out, "stamp")
    want = stamp()
    if not args.force and os.path.exists(stamp_path):
        with open(stamp_path) as fh:
            if fh.read().strip() == want:
                print(f"{args.out} is up to date")
                return 0
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    src = make_source(args.out)
    for dtype in DTYPES:
        export(src, args.out, dtype)
    export(src, args.out, "int8")  # quantised from the float32 graphs: run, not compared
    reference = references(src, args.out)
    with open(os.path.join(args.out, "reference.json"), "w") as fh:
        json.dump(reference, fh, indent=1)
        fh.write("\n")
    with open(stamp_path, "w") as fh:
        fh.write(want + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
