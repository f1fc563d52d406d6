#!/usr/bin/env python3
"""Export showlab/ShowUI-2B to ONNX in the transformers.js / onnx-community Qwen2-VL layout.

This is the real-model counterpart of make_showui_fixture.py: it writes the same directory layout
(models/README.md) with the real weights, so the agent loads either one the same way. Users run it
through `neko-agent model export` (which carries a copy of this script, creates the pinned
environment and checks memory, disk and hub access first) or by hand, on a machine with network
access to huggingface.co.

Needs: ~36 GB of RAM for the export and ~23 GB for the verification (docs/model.md, "What an export
costs"), ~30 GB of free disk, 15-40 minutes on a
recent CPU (no GPU needed). The script is written against the versions pinned below (the same as
scripts/models/requirements-parity.txt). The tests run it on a small random-weight Qwen2-VL
(scripts/models/make_parity_model.py, tests/model_parity.rs) in both precisions; on the real
model, its final check (PyTorch vs ONNX greedy tokens on a synthetic screenshot, also available
alone with --verify) is the proof that an export is good.
The patched forward relies on transformers 4.48 (`DynamicCache.key_cache`, `model.model`,
`model.visual`); recheck it before upgrading transformers.

    python3 -m venv /tmp/showui-export && . /tmp/showui-export/bin/activate
    pip install torch==2.5.1 transformers==4.48.3 onnx==1.17.0 onnxruntime==1.20.1 \\
        onnxslim==0.1.42 pillow==11.1.0
    python3 scripts/models/export_showui.py --out models/showui-2b            # export + verify
    python3 scripts/models/export_showui.py --out models/showui-2b --verify   # verify only
    python3 scripts/models/export_showui.py --out models/showui-2b --dtype fp16  # *_fp16.onnx

Output (float32; every graph keeps its weights next to it in `<name>.onnx_data`; with
--dtype fp16 the same graphs traced from the model in float16, named `<name>_fp16.onnx` as
onnx-community names them, float16 weights and float inputs/outputs; both can share a directory):

    <out>/onnx/vision_encoder.onnx        pixel_values f32 [num_patches, 1176], grid_thw i64 [num_images, 3]
                                          -> image_features f32 [num_patches / 4, 1536]
                                          (any number of images per call, rows in image order)
    <out>/onnx/embed_tokens.onnx          input_ids i64 [B, S] -> inputs_embeds f32 [B, S, 1536]
    <out>/onnx/decoder_model_merged.onnx  inputs_embeds, attention_mask i64 [B, past + S],
                                          position_ids i64 [3, B, S], num_logits_to_keep i64 [] (K),
                                          past_key_values.{0..27}.key/value
                                          f32 [B, 2, past, 128] -> logits f32 [B, K, 151936],
                                          present.{0..27}.key/value f32 [B, 2, past + S, 128]
    <out>/config.json, generation_config.json, preprocessor_config.json, chat_template.json,
    tokenizer.json, tokenizer_config.json, added_tokens.json, ...

The approach is the one published with the ONNX export of the tiny Qwen2-VL test model
(hf-internal-testing/tiny-random-Qwen2VLForConditionalGeneration, "ONNX export code"): export
`model.model.embed_tokens`, `model.visual`, and the whole model with a forward patched to take
(inputs_embeds, attention_mask, position_ids, *past_key_values) and return logits and present.*.
M-RoPE positions are computed by the caller (get_rope_index), image features are merged by the
caller (overwriting the <|image_pad|> rows), exactly as the fixture expects.

ShowUI-2B is a plain Qwen2VLForConditionalGeneration checkpoint; like ShowUI's own app.py, the
processor and tokenizer come from Qwen/Qwen2-VL-2B-Instruct. ShowUI recommends running with
min_pixels = 256*28*28 and max_pixels = 1344*28*28; the agent passes those at run time, the saved
preprocessor_config.json keeps the Qwen2-VL defaults (as the fixture does).
"""

import argparse
import gc
import os
import shutil
import sys
import tempfile

MODEL_ID = "showlab/ShowUI-2B"
PROCESSOR_ID = "Qwen/Qwen2-VL-2B-Instruct"
OPSET = 17
IR_VERSION = 8  # the oldest onnxruntime the agent supports (1.20) loads IR 8 + opset 17
SHOWUI_MIN_PIXELS = 256 * 28 * 28
SHOWUI_MAX_PIXELS = 1344 * 28 * 28


# file suffix, torch dtype (int8 is quantised from the float32 graphs; its inputs stay float32)
DTYPES = {"fp32": ("", "float32"), "fp16": ("_fp16", "float16"), "int8": ("_quantized", "float32")}
GRAPHS = ("embed_tokens", "decoder_model_merged", "vision_encoder")


def load(model_id, processor_id, dtype="fp32"):
    import torch
    from transformers import AutoProcessor, DynamicCache, Qwen2VLForConditionalGeneration

    class Patched(Qwen2VLForConditionalGeneration):
        """forward(inputs_embeds, attention_mask, position_ids, *past) -> logits, present.*"""

        def forward(self, *args):
            inputs_embeds, attention_mask, position_ids, num_logits_to_keep, *flat_past = args
            past = None
            if flat_past:
                past = DynamicCache()
                for layer in range(self.config.num_hidden_layers):
                    past.update(flat_past[2 * layer], flat_past[2 * layer + 1], layer)
            # The language model alone, then the LM head on the last `num_logits_to_keep`
            # positions only: the caller needs the last one, and the head over every prompt
            # position is a [S, vocab] product (151936 wide) thrown away.
            out = self.model(
                inputs_embeds=inputs_embeds,
                attention_mask=attention_mask,
                position_ids=position_ids,
                past_key_values=past,
                use_cache=True,
                return_dict=True,
            )
            hidden = out.last_hidden_state
            length = hidden.shape[1]
            kept = torch.arange(length - num_logits_to_keep, length, device=hidden.device)
            result = {"logits": self.lm_head(hidden.index_select(1, kept))}
            cache = out.past_key_values
            for layer, (key, value) in enumerate(zip(cache.key_cache, cache.value_cache)):
                result[f"present.{layer}.key"] = key
                result[f"present.{layer}.value"] = value
            return result

    torch_dtype = getattr(torch, DTYPES[dtype][1])
    model = Patched.from_pretrained(model_id, torch_dtype=torch_dtype, attn_implementation="eager").eval()
    processor = AutoProcessor.from_pretrained(processor_id)
    return model, processor


def batched_vision(visual):
    """`model.visual` with its per-image Python loops replaced by tensor arithmetic on `grid_thw`,
    so the traced graph encodes any number of images (rows of `grid_thw`) in one call.

    transformers' eager vision forward loops over the images to build rotary positions and a
    block-diagonal attention mask; tracing unrolls those loops for the example's one image, and
    the graph then fails on two. Here every patch finds its image and frame by comparison with
    the cumulative patch counts, and attention runs on the frames stacked into a padded
    [frames, longest frame] batch (padded keys masked out), so a batch of equal-size frames
    costs what the frames cost one by one, not the square of their total. The arithmetic per
    frame is the eager path's: the same rotary angles, the same softmax in float32.
    """
    import math

    import torch
    from transformers.models.qwen2_vl.modeling_qwen2_vl import apply_rotary_pos_emb_vision

    class BatchedVision(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.visual = visual

        def forward(self, pixel_values, grid_thw):
            merge = self.visual.spatial_merge_size
            hidden = self.visual.patch_embed(pixel_values)
            frames, height, width = grid_thw[:, 0], grid_thw[:, 1], grid_thw[:, 2]
            area = height * width  # patches per frame, per image
            image_end = torch.cumsum(frames * area, 0)
            image_start = image_end - frames * area
            frame_end = torch.cumsum(frames, 0)
            frame_first = frame_end - frames  # the index of each image's first frame

            # Each patch: its image, its frame, its place in the frame, its (h, w) position.
            patch = torch.arange(hidden.shape[0], device=hidden.device)
            image = (patch.unsqueeze(1) >= image_end.unsqueeze(0)).sum(1)
            local = patch - image_start[image]
            in_frame = local % area[image]
            frame = frame_first[image] + local // area[image]
            blocks_wide = width[image] // merge
            block = in_frame // (merge * merge)
            hpos = (block // blocks_wide) * merge + (in_frame // merge) % merge
            wpos = (block % blocks_wide) * merge + in_frame % merge
            inv_freq = self.visual.rotary_pos_emb.inv_freq
            rotary = torch.cat(
                [torch.outer(hpos.to(inv_freq.dtype), inv_freq), torch.outer(wpos.to(inv_freq.dtype), inv_freq)],
                dim=-1,
            )

            # The padded layout: frame f's patch j sits at slot f * longest + j.
            longest = area.max()
            frame_index = torch.arange(frame_end[-1], device=hidden.device)
            frame_image = (frame_index.unsqueeze(1) >= frame_end.unsqueeze(0)).sum(1)
            frame_len = area[frame_image]
            frame_start = image_start[frame_image] + (frame_index - frame_first[frame_image]) * frame_len
            column = torch.arange(longest, device=hidden.device).unsqueeze(0)
            valid = column < frame_len.unsqueeze(1)  # [frames, longest]
            source = torch.where(valid, frame_start.unsqueeze(1) + column, torch.zeros_like(column)).reshape(-1)
            slot = frame * longest + in_frame
            key_mask = torch.zeros(valid.shape, dtype=hidden.dtype, device=hidden.device)
            key_mask = key_mask.masked_fill(~valid, torch.finfo(hidden.dtype).min)[:, None, None, :]

            for blk in self.visual.blocks:
                hidden = hidden + self.attend(blk.attn, blk.norm1(hidden), rotary, source, slot, key_mask)
                hidden = hidden + blk.mlp(blk.norm2(hidden))
            return self.visual.merger(hidden)

        @staticmethod
        def attend(attn, states, rotary, source, slot, key_mask):
            """VisionAttention's eager forward on the padded frame batch."""
            count, heads = states.shape[0], attn.num_heads
            q, k, v = attn.qkv(states).reshape(count, 3, heads, -1).permute(1, 0, 2, 3).unbind(0)
            q = apply_rotary_pos_emb_vision(q.unsqueeze(0), rotary).squeeze(0)
            k = apply_rotary_pos_emb_vision(k.unsqueeze(0), rotary).squeeze(0)
            frames = key_mask.shape[0]

            def padded(x):  # [patches, heads, dim] -> [frames, heads, longest, dim]
                return x[source].reshape(frames, -1, heads, x.shape[-1]).transpose(1, 2)

            q, k, v = padded(q), padded(k), padded(v)
            # One head at a time: a 1280×720 frame has 4784 patches, and all heads' weights at
            # once are 16 × 4784² floats (1.5 GB, and the softmax wants a second copy), where one
            # head's are 92 MB. The sum is the same work; the graph frees each head's weights
            # before the next head's are made.
            mask = key_mask[:, 0]  # [frames, 1, longest]
            outs = []
            for head in range(heads):
                weights = torch.matmul(q[:, head], k[:, head].transpose(1, 2)) / math.sqrt(attn.head_dim) + mask
                weights = torch.nn.functional.softmax(weights, dim=-1, dtype=torch.float32).to(q.dtype)
                outs.append(torch.matmul(weights, v[:, head]))  # [frames, longest, dim]
            out = torch.stack(outs, dim=2)  # [frames, longest, heads, dim]
            out = out.reshape(-1, heads * out.shape[-1])[slot]
            return attn.proj(out)

    return BatchedVision()


def save_graph(proto, out, name, suffix):
    """Writes one graph into <out>/onnx as <name><suffix>.onnx with its weights next to it."""
    import onnx

    proto.ir_version = min(proto.ir_version, IR_VERSION)
    dst = os.path.join(out, "onnx", name + suffix + ".onnx")
    for stale in (dst, dst + "_data"):
        if os.path.exists(stale):
            os.remove(stale)
    onnx.save_model(
        proto,
        dst,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=name + suffix + ".onnx_data",
        size_threshold=1024,
    )
    onnx.checker.check_model(dst)
    print(f"wrote {dst}")


def quantize(args):
    """int8 for CPUs: ONNX Runtime's dynamic quantisation of the float32 graphs (exported first
    when they are not in --out yet). MatMul and Gather weights are stored as int8 with one scale
    per tensor, activations are quantised at run time; the vision tower's Conv3d patch embedding
    stays float32. Written as <name>_quantized.onnx, onnx-community's name for this variant."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    onnx_dir = os.path.join(args.out, "onnx")
    if not all(os.path.exists(os.path.join(onnx_dir, name + ".onnx")) for name in GRAPHS):
        print("int8 is quantised from the float32 graphs: exporting those first")
        export(argparse.Namespace(**{**vars(args), "dtype": "fp32"}))
    tmp = tempfile.mkdtemp(prefix="showui-quantize-")
    for name in GRAPHS:
        quantized = os.path.join(tmp, name + ".onnx")
        quantize_dynamic(
            os.path.join(onnx_dir, name + ".onnx"),
            quantized,
            op_types_to_quantize=["MatMul", "Gather"],
            weight_type=QuantType.QInt8,
            use_external_data_format=True,
        )
        save_graph(onnx.load(quantized, load_external_data=True), args.out, name, DTYPES["int8"][0])
    shutil.rmtree(tmp)


def export(args):
    import onnx
    import torch

    if args.dtype == "int8":
        return quantize(args)
    model, processor = load(args.model, args.processor, args.dtype)
    suffix, float_type = DTYPES[args.dtype]
    float_type = getattr(torch, float_type)
    cfg = model.config
    layers, kv_heads = cfg.num_hidden_layers, cfg.num_key_value_heads
    head_dim, hidden = cfg.hidden_size // cfg.num_attention_heads, cfg.hidden_size
    vis = cfg.vision_config
    channels = getattr(vis, "in_channels", getattr(vis, "in_chans", 3))
    patch_dim = channels * vis.temporal_patch_size * vis.patch_size * vis.patch_size  # 1176

    os.makedirs(os.path.join(args.out, "onnx"), exist_ok=True)
    cfg.save_pretrained(args.out)
    model.generation_config.save_pretrained(args.out)
    processor.save_pretrained(args.out)  # tokenizer.json, preprocessor_config.json, chat_template.json, ...

    tmp = tempfile.mkdtemp(prefix="showui-export-")
    kv_names = [f"past_key_values.{layer}.{part}" for layer in range(layers) for part in ("key", "value")]
    present_names = [n.replace("past_key_values", "present") for n in kv_names]

    def to_onnx(module, example, name, inputs, outputs, axes):
        os.makedirs(os.path.join(tmp, name))  # one folder each: large graphs write external data
        torch.onnx.export(
            module,
            example,
            os.path.join(tmp, name, name + ".onnx"),
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
        )

    with torch.no_grad():
        ids = torch.randint(0, cfg.vocab_size, (1, 16), dtype=torch.int64)
        to_onnx(
            model.model.embed_tokens,
            (ids,),
            "embed_tokens",
            ["input_ids"],
            ["inputs_embeds"],
            {
                "input_ids": {0: "batch_size", 1: "sequence_length"},
                "inputs_embeds": {0: "batch_size", 1: "sequence_length"},
            },
        )

        # Traced with a non-empty cache, so the graph takes the general concat path.
        seq, past_len = 16, 4
        example = (
            torch.ones(1, seq, hidden, dtype=float_type),
            torch.ones(1, past_len + seq, dtype=torch.int64),
            torch.arange(past_len, past_len + seq, dtype=torch.int64).expand(3, 1, seq).contiguous(),
            torch.tensor(1, dtype=torch.int64),
            *[torch.zeros(1, kv_heads, past_len, head_dim, dtype=float_type) for _ in kv_names],
        )
        to_onnx(
            model,
            example,
            "decoder_model_merged",
            ["inputs_embeds", "attention_mask", "position_ids", "num_logits_to_keep", *kv_names],
            ["logits", *present_names],
            {
                "inputs_embeds": {0: "batch_size", 1: "sequence_length"},
                "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
                "position_ids": {1: "batch_size", 2: "sequence_length"},
                **{n: {0: "batch_size", 2: "past_sequence_length"} for n in kv_names},
                "logits": {0: "batch_size", 1: "num_logits_to_keep"},
                **{n: {0: "batch_size", 2: "past_sequence_length + 1"} for n in present_names},
            },
        )

        # Two images of different sizes: nothing in the trace may depend on their count or shape.
        grid = torch.tensor([[1, 16, 16], [1, 8, 12]], dtype=torch.int64)
        to_onnx(
            batched_vision(model.visual),
            (torch.randn(256 + 96, patch_dim, dtype=float_type), grid),
            "vision_encoder",
            ["pixel_values", "grid_thw"],
            ["image_features"],
            {
                "pixel_values": {0: "batch_size * grid_t * grid_h * grid_w"},
                "grid_thw": {0: "batch_size"},
                "image_features": {0: "batch_size * grid_t * grid_h * grid_w"},
            },
        )

    # The traced graphs hold their own copies of the weights: free PyTorch's before slimming,
    # which loads each graph again (the export's peak memory is what these copies add up to).
    del model, example
    gc.collect()
    for name in GRAPHS:
        src = os.path.join(tmp, name, name + ".onnx")
        proto = None
        if not args.no_slim:
            try:
                import onnxslim

                proto = onnxslim.slim(src)
            except Exception as exc:  # slimming is an optimisation only
                print(f"onnxslim failed on {name} ({exc}); saving it unslimmed", file=sys.stderr)
        if proto is None:
            proto = onnx.load(src, load_external_data=True)
        save_graph(proto, args.out, name, suffix)
    shutil.rmtree(tmp)


def verify(args):
    """Greedy-decode one synthetic screenshot with PyTorch and with the ONNX graphs; compare tokens."""
    import numpy as np
    import onnxruntime as ort
    import torch
    from PIL import Image, ImageDraw

    model, processor = load(args.model, args.processor, args.dtype)
    suffix, float_type = DTYPES[args.dtype]
    image = Image.new("RGB", (1344, 756), (235, 235, 235))
    draw = ImageDraw.Draw(image)
    for i, colour in enumerate([(220, 40, 40), (40, 180, 60), (40, 90, 220), (230, 200, 40)]):
        x0 = 1344 * (40 + 240 * i) // 1000
        draw.rectangle([x0, 106, x0 + 242, 257], fill=colour)
        draw.text((x0 + 10, 120), ["red", "green", "blue", "yellow"][i], fill=(0, 0, 0))
    system = (
        "You are an assistant trained to navigate the web screen. Given a task instruction, a screen "
        "observation, and an action history sequence, output the next action and wait for the next "
        "observation. Here is the action space:\n1. CLICK: Click on an element, value is not applicable "
        "and the position [x,y] is required.\n2. ANSWER: Answer the question, value is the answer and "
        "the position is not applicable.\nFormat the action as a dictionary with the following keys:\n"
        "{'action': 'ACTION_TYPE', 'value': ..., 'position': ...}\nIf value or position is not "
        "applicable, set as None."
    )
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": system},
                {"type": "text", "text": "Task: click the green box"},
                {"type": "image"},
            ],
        }
    ]
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ip = processor.image_processor  # ShowUI's pixel budget (1344x756 -> 1296 image tokens)
    ip.min_pixels, ip.max_pixels = SHOWUI_MIN_PIXELS, SHOWUI_MAX_PIXELS
    ip.size = {"min_pixels": SHOWUI_MIN_PIXELS, "max_pixels": SHOWUI_MAX_PIXELS}
    inputs = processor(text=[text], images=[image], return_tensors="pt")
    new_tokens = 32
    with torch.no_grad():
        ref = torch_greedy(model, inputs, new_tokens)
    print("torch :", processor.decode(ref, skip_special_tokens=True))

    def session(name):
        return ort.InferenceSession(
            os.path.join(args.out, "onnx", name + suffix + ".onnx"), providers=["CPUExecutionProvider"]
        )

    vision, embed, decoder = (
        session("vision_encoder"),
        session("embed_tokens"),
        session("decoder_model_merged"),
    )
    ids = inputs["input_ids"].numpy()
    embeds = embed.run(None, {"input_ids": ids})[0]
    feats = vision.run(
        None,
        {
            "pixel_values": inputs["pixel_values"].numpy().astype(float_type),
            "grid_thw": inputs["image_grid_thw"].numpy(),
        },
    )[0]
    # Two small images of different shapes: the check is the same, the attention matrices
    # (quadratic in an image's patches) a fraction of the full screenshot's.
    # int8 quantises activations with one scale per call, so a batch's features differ more.
    tolerance = {"fp32": 1e-4, "fp16": 1e-2, "int8": 5e-2}[args.dtype]
    batching = images_batch(
        vision, processor, [image.resize((672, 378)), image.resize((560, 420))], float_type, tolerance
    )
    rows = np.nonzero(ids[0] == model.config.image_token_id)[0]
    assert len(rows) == len(feats), (len(rows), feats.shape)
    embeds[0, rows] = feats
    position_ids, delta = model.get_rope_index(
        inputs["input_ids"], inputs["image_grid_thw"], None, inputs["attention_mask"]
    )
    position_ids, delta = position_ids.numpy(), int(delta.reshape(-1)[0])
    kv = [i for i in decoder.get_inputs() if i.name.startswith("past_key_values.")]
    past = {i.name: np.zeros((1, i.shape[1], 0, i.shape[3]), float_type) for i in kv}
    mask = np.ones((1, ids.shape[1]), np.int64)
    out = []
    for _ in range(new_tokens):
        feed = {"inputs_embeds": embeds, "attention_mask": mask, "position_ids": position_ids, **past}
        if "num_logits_to_keep" in {i.name for i in decoder.get_inputs()}:
            feed["num_logits_to_keep"] = np.array(1, np.int64)
        res = decoder.run(None, feed)
        token = int(np.argmax(res[0][0, -1]))
        out.append(token)
        if token in (151645, 151643):
            break
        names = [o.name for o in decoder.get_outputs()][1:]
        past = {n.replace("present", "past_key_values"): v for n, v in zip(names, res[1:])}
        total = mask.shape[1]
        mask = np.ones((1, total + 1), np.int64)
        embeds = embed.run(None, {"input_ids": np.array([[token]], np.int64)})[0]
        position_ids = np.full((3, 1, 1), total + delta, np.int64)
    print("onnx  :", processor.decode(out, skip_special_tokens=True))
    same = out == list(ref[: len(out)])
    if args.dtype == "int8":
        # Quantisation changes the numbers on purpose: report how far the tokens follow PyTorch's
        # float32 ones; the graphs loading, running and batching is what must hold.
        agree = next((i for i, (a, b) in enumerate(zip(out, ref)) if a != b), min(len(out), len(ref)))
        print(f"int8: the first {agree} of {len(out)} greedy tokens agree with PyTorch float32")
        return 0 if batching else 1
    print("greedy tokens match" if same else "MISMATCH between PyTorch and ONNX greedy tokens")
    return 0 if same and batching else 1


def images_batch(vision, processor, images, float_type, tolerance):
    """Whether the vision encoder gives the same features for images in one call as one by one
    (within `tolerance` of the largest feature)."""
    import numpy as np

    ip = processor.image_processor
    each = [ip(images=[im], return_tensors="np") for im in images]
    alone = [
        vision.run(None, {"pixel_values": e["pixel_values"].astype(float_type), "grid_thw": e["image_grid_thw"]})[0]
        for e in each
    ]
    try:
        together = vision.run(
            None,
            {
                "pixel_values": np.concatenate([e["pixel_values"] for e in each]).astype(float_type),
                "grid_thw": np.concatenate([e["image_grid_thw"] for e in each]),
            },
        )[0]
    except Exception as exc:  # an export from before batching fails in a Split node
        print(f"the vision encoder cannot take {len(images)} images in one call: {exc}")
        return False
    expected = np.concatenate(alone).astype(np.float32)
    diff = float(np.abs(together.astype(np.float32) - expected).max())
    scale = float(np.abs(expected).max()) or 1.0
    ok = diff <= scale * tolerance
    verdict = "match" if ok else "MISMATCH"
    print(f"vision encoder, {len(images)} images in one call vs one by one: largest difference {diff:.3g} of {scale:.3g}, {verdict}")
    return ok


def torch_greedy(model, inputs, new_tokens):
    """PyTorch greedy reference through the unpatched generate path."""
    from transformers import Qwen2VLForConditionalGeneration

    base = Qwen2VLForConditionalGeneration.forward
    model.forward = base.__get__(model)  # generate() needs the normal keyword forward
    try:
        out = model.generate(**inputs, max_new_tokens=new_tokens, do_sample=False)
    finally:
        del model.forward
    return out[0, inputs["input_ids"].shape[1] :].tolist()


def main():
    parser = argparse.ArgumentParser(description="Export ShowUI-2B to the onnx-community Qwen2-VL layout.")
    parser.add_argument("--out", required=True, help="output directory (e.g. models/showui-2b)")
    parser.add_argument("--model", default=MODEL_ID, help=f"checkpoint to export (default {MODEL_ID})")
    parser.add_argument(
        "--processor",
        default=PROCESSOR_ID,
        help=f"processor/tokenizer source (default {PROCESSOR_ID}, as ShowUI's app does)",
    )
    parser.add_argument("--verify", action="store_true", help="only compare an existing export with PyTorch")
    parser.add_argument(
        "--export-only",
        action="store_true",
        help="export without the comparison (run --verify next, in a fresh process, for a lower peak memory)",
    )
    parser.add_argument("--no-slim", action="store_true", help="skip onnxslim")
    parser.add_argument(
        "--dtype",
        choices=sorted(DTYPES),
        default="fp32",
        help="fp32 (default); fp16: trace the model in float16 and write *_fp16.onnx; int8: quantise the"
        " float32 graphs (exported first if missing) and write *_quantized.onnx",
    )
    args = parser.parse_args()
    if not args.verify:
        export(args)
        if args.export_only:
            return 0
    return verify(args)


if __name__ == "__main__":
    sys.exit(main())
