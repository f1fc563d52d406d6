#!/usr/bin/env python3
"""transformers' side of `cargo bench --bench model_vs_transformers`: eager float32 Qwen2-VL on the CPU, the
same frame size, prompt and greedy token count as the engine, timed per phase, several calls in
one process (the first ones show warm-up), and the process's peak resident memory.

    .venv-parity/bin/python scripts/models/bench_transformers.py --model target/random-1536-4x4

Prints one JSON object: {"load_ms", "calls": [{"preprocess_ms", "vision_ms", "prefill_ms",
"decode_ms", "decode_steps", "total_ms", "prompt_tokens"}...], "peak_rss_bytes"} (on cuda: the peak of
device memory allocated instead).

The phases run as transformers' generate runs them (eager attention, DynamicCache, greedy), split
so each can be timed: the processor; model.visual; the embedding, feature merge, get_rope_index
and the prefill forward; then one forward per token. The prompt is the agent's web navigation
prompt (make_parity_model.nav_messages), the frame a synthetic desktop.
"""

import argparse
import json
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import make_parity_model as parity  # noqa: E402


def frame(width, height):
    from PIL import Image

    import numpy as np

    x = np.arange(width, dtype=np.uint32)[None, :]
    y = np.arange(height, dtype=np.uint32)[:, None]
    block = (x // 160 + y // 90) % 4
    rgb = np.stack(
        [
            ((x * 255 // width) ^ (block * 40)) & 255,
            np.broadcast_to(y * 255 // height, (height, width)),
            (x * 7 + y * 13) % 251,
        ],
        axis=-1,
    ).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def one_call(model, processor, image, text, tokens, device):
    import torch

    def ms(start):
        if device == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - start) * 1e3

    t = time.perf_counter()
    inputs = processor(text=[text], images=[image], return_tensors="pt").to(device)
    preprocess = ms(t)
    with torch.no_grad():
        t = time.perf_counter()
        features = model.visual(inputs["pixel_values"], grid_thw=inputs["image_grid_thw"])
        vision = ms(t)

        t = time.perf_counter()
        ids = inputs["input_ids"]
        embeds = model.model.embed_tokens(ids)
        mask = (ids == model.config.image_token_id).unsqueeze(-1).expand_as(embeds)
        embeds = embeds.masked_scatter(mask, features.to(embeds.dtype))
        position_ids, delta = model.get_rope_index(ids, inputs["image_grid_thw"], None, inputs["attention_mask"])
        attention = inputs["attention_mask"]
        out = model(
            inputs_embeds=embeds,
            attention_mask=attention,
            position_ids=position_ids,
            use_cache=True,
            return_dict=True,
        )
        token = int(out.logits[0, -1].argmax())
        prefill = ms(t)

        t = time.perf_counter()
        past = out.past_key_values
        steps = 0
        while steps + 1 < tokens:
            length = attention.shape[1]
            attention = torch.ones(1, length + 1, dtype=attention.dtype, device=device)
            position = torch.full((3, 1, 1), length, dtype=torch.long, device=device) + delta.reshape(1, 1, 1).to(device)
            out = model(
                input_ids=torch.tensor([[token]], device=device),
                attention_mask=attention,
                position_ids=position,
                past_key_values=past,
                use_cache=True,
                return_dict=True,
            )
            past = out.past_key_values
            token = int(out.logits[0, -1].argmax())
            steps += 1
        decode = ms(t)
    return {
        "preprocess_ms": preprocess,
        "vision_ms": vision,
        "prefill_ms": prefill,
        "decode_ms": decode,
        "decode_steps": steps,
        "total_ms": preprocess + vision + prefill + decode,
        "prompt_tokens": int(ids.shape[1]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="transformers checkpoint directory")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--calls", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=24)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    args = parser.parse_args()

    import torch
    from transformers import AutoProcessor, Qwen2VLForConditionalGeneration

    if args.threads:
        torch.set_num_threads(args.threads)
    t = time.perf_counter()
    model = Qwen2VLForConditionalGeneration.from_pretrained(
        args.model, torch_dtype=torch.float32, attn_implementation="eager"
    ).eval().to(args.device)
    processor = AutoProcessor.from_pretrained(args.model)
    ip = processor.image_processor  # ShowUI's pixel budget, as the agent runs it
    ip.min_pixels, ip.max_pixels = parity.fixture_min_max()
    ip.size = {"min_pixels": ip.min_pixels, "max_pixels": ip.max_pixels}
    load = (time.perf_counter() - t) * 1e3
    text = processor.apply_chat_template(
        parity.nav_messages(parity.TASK, []), tokenize=False, add_generation_prompt=True
    )
    image = frame(args.width, args.height)
    calls = [one_call(model, processor, image, text, args.tokens, args.device) for _ in range(args.calls)]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if args.device == "cuda":  # device memory is what matters there
        peak = torch.cuda.max_memory_allocated()
    print(json.dumps({"load_ms": load, "calls": calls, "peak_rss_bytes": peak}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
