#!/usr/bin/env python3
"""Tiny stand-ins for ShowUI-2B in the transformers.js / onnx-community Qwen2-VL layout.

Writes two model directories that load exactly like an ONNX export of showlab/ShowUI-2B
(three graphs, the real input/output names, dtypes, dynamic axes, the real vocabulary size and
the real special-token ids) but contain no weights: the graphs compute a scripted answer.

    models/showui-fixture/          first step of a task: a CLICK on the sandbox's red region;
                                    any later step (an action history is in the prompt): ANSWER
    models/showui-fixture-garbage/  every step: text that is not an action

Usage (from the repository root, with scripts/models/requirements-fixture.txt installed):

    python3 scripts/models/make_showui_fixture.py            # (re)write both directories
    python3 scripts/models/make_showui_fixture.py --check    # write nothing; verify the committed
                                                             # files are what this script makes and
                                                             # drive them with onnxruntime

The output is byte-for-byte deterministic. models/README.md documents the layout, the scripted
behaviour and the error markers; keep the constants below and that file in step.
"""

import argparse
import functools
import itertools
import json
import math
import os
import sys
import tempfile
import time

import numpy as np
from onnx import TensorProto

import onnx_graph

# ---------------------------------------------------------------------------------------------
# Shapes. The text side keeps Qwen2-VL-2B's proportions where the loop can see them (2 KV heads,
# M-RoPE, the full 151936-entry vocabulary); everything else is as small as it can be.
# ---------------------------------------------------------------------------------------------
VOCAB_SIZE = 151936
HIDDEN = 64
LAYERS = 2
HEADS = 4
KV_HEADS = 2
HEAD_DIM = HIDDEN // HEADS  # 16
PATCH_DIM = 3 * 2 * 14 * 14  # channel * temporal_patch_size * patch_size * patch_size = 1176
LOGIT_ON = 10.0  # logit of the scripted token; every other logit is 0

# Qwen2-VL special tokens, at their real ids.
SPECIAL_TOKENS = [
    (151643, "<|endoftext|>"),
    (151644, "<|im_start|>"),
    (151645, "<|im_end|>"),
    (151646, "<|object_ref_start|>"),
    (151647, "<|object_ref_end|>"),
    (151648, "<|box_start|>"),
    (151649, "<|box_end|>"),
    (151650, "<|quad_start|>"),
    (151651, "<|quad_end|>"),
    (151652, "<|vision_start|>"),
    (151653, "<|vision_end|>"),
    (151654, "<|vision_pad|>"),
    (151655, "<|image_pad|>"),
    (151656, "<|video_pad|>"),
]
ENDOFTEXT_ID = 151643
IM_START_ID = 151644
IM_END_ID = 151645
VISION_START_ID = 151652
VISION_END_ID = 151653
IMAGE_PAD_ID = 151655

# The click lands on the centre of the sandbox desktop's red region
# (sandbox/src/desktop/layout.rs: x from 4.0 % to 22.0 % of the width, y from 14.0 % to 34.0 %).
CLICK_REGION = "red"
CLICK_POINT = (0.13, 0.24)
FIRST_STEP_TEXT = (
    f"{{'action': 'CLICK', 'value': None, 'position': [{CLICK_POINT[0]:.2f}, {CLICK_POINT[1]:.2f}]}}"
)
LATER_STEP_TEXT = "{'action': 'ANSWER', 'value': 'done', 'position': None}"
GARBAGE_TEXT = "I cannot do that"

# A later step is recognised by a JSON-serialised earlier action in the prompt: the token `"`
# immediately followed by the token `action` (as in `{"action": "CLICK", ...}`). The prompt's own
# format line uses single quotes (`{'action': ...}`), so it does not count.
HISTORY_TRIGGER = '"action'
QUOTE_ID = 1  # the byte token '"' (byte tokens have Qwen2's ids 0..255)

# Characters the decoder emits instead of the script when the loop feeding it is wrong.
ERROR_MARKERS = {
    "&": "attention_mask length is not past_sequence_length + sequence_length",
    "$": "an <|image_pad|> row reached the decoder: image features were not merged into inputs_embeds",
    "#": "the KV cache was not fed back as produced (present.i.* -> past_key_values.i.*), "
    "or the token fed back is not the one generated",
    "@": "position_ids are not Qwen2-VL M-RoPE positions (get_rope_index / rope_delta)",
    "~": "logits of a position other than the last one",
    "%": "generation continued after <|im_end|>",
}

# Channels of the hidden vectors that embed_tokens and vision_encoder produce.
CH_ID, CH_QUOTE, CH_ACTION, CH_PAD, CH_IMG, CH_HI, CH_WI, CH_R, CH_G, CH_B = range(10)
CH_DECO = 10  # HIDDEN - 10 decorative sin/cos channels
# Channels of the KV cache (head 0 of past_key_values.0.key holds the state; every head of every
# cache tensor carries its tag in the last channel).
KV_GEN, KV_HIST, KV_POS, KV_TAG = 0, 1, 2, HEAD_DIM - 1


QWEN2_PRETOKENIZE_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Words given BPE merges (so the tokenizer is a real BPE, and `action` is one token).
MERGED_WORDS = ["action", "value", "position", "None", "CLICK", "ANSWER", "done"]

QWEN2_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}<|im_end|>\n{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}"
    "Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}"
    "Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


# Text the extra BPE merges are learned from: the agent's prompts and everyday English.
COMMON_WORDS = """
the of and to a in is it you that he was for on are with as I his they be at one have this from
or had by hot word but what some we can out other were all there when up use your how said an
each she which do their time if will way about many then them write would like so these her long
make thing see him two has look more day could go come did number sound no most people my over
know water than call first who may down side been now find any new work part take get place made
live where after back little only round man year came show every good me give our under name very
through just form sentence great think say help low line differ turn cause much mean before move
right boy old too same tell does set three want air well also play small end put home read hand
port large spell add even land here must big high such follow act why ask men change went light
kind off need house picture try us again animal point mother world near build self earth father
head stand own page should country found answer school grow study still learn plant cover food sun
four between state keep eye never last let thought city tree cross farm hard start might story saw
far sea draw left late run don't while press close night real life few north open seem together
next white children begin got walk example ease paper group always music those both mark often
letter until mile river car feet care second book carry took science eat room friend began idea
fish mountain stop once base hear horse cut sure watch color face wood main enough plain girl
usual young ready above ever red list though feel talk bird soon body dog family direct pose leave
song measure door product black short numeral class wind question happen complete ship area half
rock order fire south problem piece told knew pass since top whole king space heard best hour
better true during hundred five remember step early hold west ground interest reach fast verb sing
listen six table travel less morning ten simple several vowel toward war lay against pattern slow
center love person money serve appear road map rain rule govern pull cold notice voice unit power
town fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest
correct able pound done beauty drive stood contain front teach week final gave green oh quick
develop ocean warm free minute strong special mind behind clear tail produce fact street inch
multiply nothing course stay wheel full force blue object decide surface deep moon island foot
system busy test record boat common gold possible plane stead dry wonder laugh thousand ago ran
check game shape equate miss brought heat snow tire bring yes distant fill east paint language
among yellow grey gray purple orange pink brown white button link menu window tab page field input
text box region desktop screen browser address bar search submit login password username email
scroll drag drop select hover type enter copy paste cut undo redo save cancel ok close open file
edit view help settings icon image frame cursor mouse keyboard key shift control alt tab escape
Click Type Press Open Close Select Scroll Move Drag Find Search Go Enter the a an
"""


def corpus():
    actions = [
        {"action": "CLICK", "value": None, "position": [0.13, 0.24]},
        {"action": "INPUT", "value": "hello", "position": [0.5, 0.5]},
        {"action": "SCROLL", "value": "down", "position": None},
        {"action": "ENTER", "value": None, "position": None},
        {"action": "ANSWER", "value": "done", "position": None},
        {"action": "SELECT_TEXT", "value": None, "position": [[0.1, 0.2], [0.3, 0.4]]},
    ]
    parts = [NAV_SYSTEM, COT_SYSTEM, COMMON_WORDS, COMMON_WORDS.lower(), COMMON_WORDS.title()]
    parts += [repr(a) for a in actions] + [json.dumps(a) for a in actions]
    parts += [
        "You are a helpful assistant.\nsystem\nuser\nassistant\n",
        "Task: \nAction history: \nPrevious actions:\nCurrent observation:\nRefinement observation:\n",
        "Refinement pass focused near coords (0.50, 0.50) with span (0.25, 0.25).\n",
        "1. action= (frame=frame_0001)\n   reasoning: \n   refine 1: \n",
        (
            "Based on the screenshot of the page, I give a text description and you give its corresponding "
            "location. The coordinate represents a clickable location [x, y] for an element, which is a "
            "relative coordinate on the screenshot, scaled from 0 to 1.\n"
        ),
        "I cannot do that",
    ]
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------
def bytes_to_unicode():
    """GPT-2's byte -> printable character table, in the order that gives byte tokens ids 0..255."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [(b, chr(c)) for b, c in zip(bs, cs)]


@functools.cache
def build_vocab():
    """(vocab token -> id, merges as "a b" strings, id of the `action` token).

    Byte tokens get ids 0..255 in GPT-2 order (as in Qwen2, where '"' is id 1). The merges are the
    MERGED_WORDS chains first, so `action` is always one token, then merges learned greedily from
    corpus() so that prompts are about as many tokens as words. No merge ever involves '"', so '"' is
    always a token of its own (the history trigger relies on it).
    """
    from tokenizers import Regex, pre_tokenizers

    vocab = {ch: i for i, (_, ch) in enumerate(bytes_to_unicode())}
    merges = []

    def merge(a, b):
        merges.append(f"{a} {b}")
        vocab.setdefault(a + b, len(vocab))

    for word in MERGED_WORDS:
        left = word[0]
        for ch in word[1:]:
            merge(left, ch)
            left += ch

    splitter = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    freq = {}
    for piece, _ in splitter.pre_tokenize_str(corpus()):
        freq[piece] = freq.get(piece, 0) + 1
    words = {w: list(w) for w in sorted(freq)}

    def apply(a, b):
        for w, syms in words.items():
            i, out = 0, []
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            words[w] = out

    for m in merges[:]:
        apply(*m.split(" "))
    while True:
        counts = {}
        for w, syms in words.items():
            for a, b in itertools.pairwise(syms):
                if '"' not in a and '"' not in b:
                    counts[(a, b)] = counts.get((a, b), 0) + freq[w]
        if not counts:
            break
        best = min(counts, key=lambda p: (-counts[p], p))
        merge(*best)
        apply(*best)

    for tid, content in SPECIAL_TOKENS:
        vocab[content] = tid
    assert vocab['"'] == QUOTE_ID
    return vocab, merges, vocab["action"]


def tokenizer_json():
    vocab, merges, _ = build_vocab()
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": tid,
                "content": content,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
            for tid, content in SPECIAL_TOKENS
        ],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [
                {
                    "type": "Split",
                    "pattern": {"Regex": QWEN2_PRETOKENIZE_REGEX},
                    "behavior": "Isolated",
                    "invert": False,
                },
                byte_level,
            ],
        },
        "post_processor": dict(byte_level),
        "decoder": dict(byte_level),
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "vocab": vocab,
            "merges": merges,
        },
    }


def script_ids(text):
    """The token ids of `text` under the fixture tokenizer, then <|im_end|>."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(json.dumps(tokenizer_json()))
    ids = tok.encode(text, add_special_tokens=False).ids
    assert tok.decode(ids, skip_special_tokens=True) == text
    return ids + [IM_END_ID]


# ---------------------------------------------------------------------------------------------
# Small ONNX graph builder
# ---------------------------------------------------------------------------------------------
class Graph(onnx_graph.Graph):
    PRODUCER = "make_showui_fixture.py"

    # Shorthands.
    def chan(self, x, c, axis):
        return self.op("Gather", x, self.i(c), axis=axis)

    def cols(self, x, start, end, axis=1):
        return self.op("Slice", x, self.i([start]), self.i([end]), self.i([axis]))

    def unsq(self, x, axes):
        return self.op("Unsqueeze", x, self.i(axes))

    def absdiff(self, a, b):
        return self.op("Abs", self.op("Sub", a, b))

def decorative(g, x, n):
    """n sin/cos channels of x (shape [..., 1]) so vectors differ like real ones; no role in the script."""
    k = np.arange(n // 2, dtype=np.float64)
    freqs = np.repeat(1.0 / np.power(10000.0, 2.0 * k / n), 2)
    phase = np.tile([0.0, math.pi / 2], n // 2)
    return g.op("Sin", g.op("Add", g.op("Mul", x, g.f(freqs)), g.f(phase)))


def build_embed_tokens(action_id):
    g = Graph("embed_tokens")
    ids = g.input("input_ids", TensorProto.INT64, ["batch_size", "sequence_length"])
    idf = g.unsq(g.op("Cast", ids, to=TensorProto.FLOAT), [2])  # [B,S,1]

    def flag(tid):
        return g.unsq(g.op("Cast", g.op("Equal", ids, g.i(tid)), to=TensorProto.FLOAT), [2])

    zeros = g.op("Mul", idf, g.f(np.zeros(CH_DECO - CH_IMG)))
    parts = [
        idf,
        flag(QUOTE_ID),
        flag(action_id),
        flag(IMAGE_PAD_ID),
        zeros,
        decorative(g, idf, HIDDEN - CH_DECO),
    ]
    g.op("Concat", *parts, axis=2, out="inputs_embeds")
    g.output("inputs_embeds", TensorProto.FLOAT, ["batch_size", "sequence_length", HIDDEN])
    return g.model(
        "Fixture embed_tokens: channel 0 = token id, 1 = is '\"', 2 = is 'action', 3 = is <|image_pad|>, "
        "4..9 = 0, the rest sin/cos of the id."
    )


def build_vision_encoder():
    g = Graph("vision_encoder")
    px = g.input("pixel_values", TensorProto.FLOAT, ["batch_size * grid_t * grid_h * grid_w", PATCH_DIM])
    grid = g.input("grid_thw", TensorProto.INT64, ["batch_size", 3])
    # Token count from the grid; the reshape fails, like the real encoder, when it disagrees with
    # the number of patch rows.
    total = g.op("ReduceSum", g.op("ReduceProd", grid, axes=[1], keepdims=0), g.i([0]), keepdims=1)
    ntok = g.op("Div", total, g.i([4]))
    blocks = g.op("Reshape", px, g.op("Concat", ntok, g.i([4, 3, PATCH_DIM // 3]), axis=0))
    rgb = g.op("ReduceMean", blocks, axes=[1, 3], keepdims=0)  # [n,3]: mean of each channel
    mean = g.op("ReduceMean", rgb, axes=[1], keepdims=1)  # [n,1]
    # Row r of an image with grid (t, h, w) is merged token (r // lw) % lh, r % lw
    # (lh = h/2, lw = w/2), computed from the first image's grid.
    g0 = g.chan(grid, 0, 0)
    t = g.chan(g0, 0, 0)
    lh = g.op("Div", g.chan(g0, 1, 0), g.i(2))
    lw = g.op("Div", g.chan(g0, 2, 0), g.i(2))
    per = g.op("Mul", t, g.op("Mul", lh, lw))
    rows = g.op("Range", g.i(0), g.op("Squeeze", ntok, g.i([0])), g.i(1))
    rr = g.op("Mod", rows, per)
    hi = g.op("Mod", g.op("Div", rr, lw), lh)
    wi = g.op("Mod", rr, lw)

    def col(x):
        return g.unsq(g.op("Cast", x, to=TensorProto.FLOAT), [1])

    parts = [
        g.op("Mul", mean, g.f(np.zeros(CH_IMG))),
        g.op("Add", g.op("Mul", mean, g.f([0.0])), g.f([1.0])),
        col(hi),
        col(wi),
        rgb,
        decorative(g, mean, HIDDEN - CH_DECO),
    ]
    g.op("Concat", *parts, axis=1, out="image_features")
    g.output("image_features", TensorProto.FLOAT, ["batch_size * grid_t * grid_h * grid_w", HIDDEN])
    return g.model(
        "Fixture vision_encoder: one row per 2x2 patch block; channel 4 = 1, 5/6 = the block's row and "
        "column in the merged grid, 7..9 = mean normalised R, G, B of the block, the rest sin/cos of the mean."
    )


def build_decoder(scripts, note):
    """scripts = (token ids without history, token ids with history); each ends with <|im_end|>."""
    vocab = build_vocab()[0]
    err = {c: vocab[c] for c in ERROR_MARKERS}
    width = max(len(s) for s in scripts) + 1
    table = np.full((2, width), err["%"], dtype=np.int64)
    for r, s in enumerate(scripts):
        table[r, : len(s)] = s

    g = Graph("decoder_model_merged")
    emb = g.input("inputs_embeds", TensorProto.FLOAT, ["batch_size", "sequence_length", HIDDEN])
    mask = g.input("attention_mask", TensorProto.INT64, ["batch_size", "total_sequence_length"])
    pos = g.input("position_ids", TensorProto.INT64, [3, "batch_size", "sequence_length"])
    past = []
    for layer in range(LAYERS):
        for kind in ("key", "value"):
            past.append(
                g.input(
                    f"past_key_values.{layer}.{kind}",
                    TensorProto.FLOAT,
                    ["batch_size", KV_HEADS, "past_sequence_length", HEAD_DIM],
                )
            )

    shape = g.op("Shape", emb)
    n_b = g.op("Slice", shape, g.i([0]), g.i([1]))
    n_s = g.op("Slice", shape, g.i([1]), g.i([2]))
    n_p = g.op("Shape", past[0], start=2, end=3)
    n_t = g.op("Shape", mask, start=1, end=2)
    decoding = g.op("Greater", n_p, g.i([0]))  # [1] bool: this call continues a cache
    decoding_f = g.op("Cast", decoding, to=TensorProto.FLOAT)
    b1 = g.op("Concat", n_b, g.i([1]), axis=0)
    ones_b1 = g.op("Expand", g.f([[1.0]]), b1)
    zeros_b1 = g.op("Expand", g.f([[0.0]]), b1)

    def shifted(x, first):  # x[:, i-1] with `first` in column 0
        return g.op("Concat", first, g.cols(x, 0, -1), axis=1)

    # Rows of this call: valid (attention_mask == 1) and what they are.
    valid = g.op("Cast", g.op("Slice", mask, g.op("Sub", n_t, n_s), n_t, g.i([1])), to=TensorProto.FLOAT)
    tok = g.chan(emb, CH_ID, 2)
    img = g.chan(emb, CH_IMG, 2)
    is_img = g.op("Greater", img, g.f(0.5))
    posf = g.op("Cast", pos, to=TensorProto.FLOAT)
    pt, ph, pw = (g.chan(posf, a, 0) for a in range(3))

    # Cached state (head 0 of past_key_values.0.key).
    state = g.chan(past[0], 0, 1)  # [B,P,D]
    past_gen = g.chan(state, KV_GEN, 2)
    past_hist = g.chan(state, KV_HIST, 2)
    past_pos = g.chan(state, KV_POS, 2)
    cache_max = g.op(
        "ReduceMax", g.op("Concat", past_pos, g.op("Sub", zeros_b1, g.f(1.0)), axis=1), axes=[1], keepdims=1
    )

    # M-RoPE check, row by row: text rows have equal axes, one past the previous row's largest
    # position; image rows sit at (o, o + row, o + column) with o one past the text before them.
    rowmax = g.op("Max", pt, ph, pw)
    prev_max = shifted(rowmax, cache_max)
    prev_valid = shifted(valid, ones_b1)
    prev_img = shifted(img, zeros_b1)
    prev_pt = shifted(pt, zeros_b1)
    next_pos = g.op("Add", prev_max, g.f(1.0))
    bad_text = g.op(
        "Add",
        g.op("Add", g.absdiff(pt, ph), g.absdiff(pt, pw)),
        g.absdiff(pt, next_pos),
    )
    img_t = g.op("Where", g.op("Greater", prev_img, g.f(0.5)), prev_pt, next_pos)
    bad_img = g.op(
        "Add",
        g.op("Add", g.absdiff(pt, img_t), g.absdiff(g.op("Sub", ph, pt), g.chan(emb, CH_HI, 2))),
        g.absdiff(g.op("Sub", pw, pt), g.chan(emb, CH_WI, 2)),
    )
    bad_rows = g.op("Mul", g.op("Mul", g.op("Where", is_img, bad_img, bad_text), valid), prev_valid)
    pos_bad = g.op("Greater", g.op("ReduceSum", bad_rows, g.i([1]), keepdims=0), g.f(0.5))

    pad_bad = g.op(
        "Greater",
        g.op("ReduceSum", g.op("Mul", g.chan(emb, CH_PAD, 2), valid), g.i([1]), keepdims=0),
        g.f(0.5),
    )

    # History: a '"' row directly followed by an 'action' row, in this call or an earlier one.
    pairs = g.op(
        "Mul",
        g.op("Mul", g.cols(g.chan(emb, CH_QUOTE, 2), 0, -1), g.cols(g.chan(emb, CH_ACTION, 2), 1, 2**62)),
        g.op("Mul", g.cols(valid, 0, -1), g.cols(valid, 1, 2**62)),
    )
    hist_sum = g.op(
        "Add",
        g.op("ReduceSum", pairs, g.i([1]), keepdims=0),
        g.op("ReduceSum", past_hist, g.i([1]), keepdims=0),
    )
    hist = g.op("Cast", g.op("Greater", hist_sum, g.f(0.5)), to=TensorProto.INT64)  # [B]
    hist_f = g.op("Cast", hist, to=TensorProto.FLOAT)

    # Step counter: cached rows written by earlier decode calls, plus this call if it is one.
    step_f = g.op("Add", g.op("ReduceSum", past_gen, g.i([1]), keepdims=0), decoding_f)
    step = g.op("Cast", g.op("Add", step_f, g.f(0.5)), to=TensorProto.INT64)
    flat = g.i(table.reshape(-1))
    row0 = g.op("Mul", hist, g.i(width))
    target = g.op("Gather", flat, g.op("Add", row0, g.op("Min", step, g.i(width - 1))), axis=0)
    prev_step = g.op("Min", g.op("Max", g.op("Sub", step, g.i(1)), g.i(0)), g.i(width - 1))
    expected_prev = g.op(
        "Cast", g.op("Gather", flat, g.op("Add", row0, prev_step), axis=0), to=TensorProto.FLOAT
    )
    last_tok = g.op("Squeeze", g.cols(tok, -1, 2**62), g.i([1]))
    tok_bad = g.op("And", decoding, g.op("Greater", g.absdiff(last_tok, expected_prev), g.f(0.5)))

    tag_err = None
    for j, p in enumerate(past):
        e = g.op("ReduceSum", g.absdiff(g.chan(p, KV_TAG, 3), g.f(float(j + 1))), g.i([1, 2]), keepdims=0)
        tag_err = e if tag_err is None else g.op("Add", tag_err, e)
    kv_bad = g.op("Or", tok_bad, g.op("Greater", tag_err, g.f(0.5)))
    mask_bad = g.op("Not", g.op("Equal", n_t, g.op("Add", n_p, n_s)))

    chosen = g.op("Where", pos_bad, g.i(err["@"]), target)
    chosen = g.op("Where", kv_bad, g.i(err["#"]), chosen)
    chosen = g.op("Where", pad_bad, g.i(err["$"]), chosen)
    chosen = g.op("Where", mask_bad, g.i(err["&"]), chosen)
    seq = g.op("Range", g.i(0), g.op("Squeeze", n_s, g.i([0])), g.i(1))
    is_last = g.unsq(g.op("Equal", seq, g.op("Sub", g.op("Squeeze", n_s, g.i([0])), g.i(1))), [0])
    tokens = g.op("Where", is_last, g.unsq(chosen, [1]), g.i(err["~"]))
    g.op("OneHot", tokens, g.i(VOCAB_SIZE), g.f([0.0, LOGIT_ON]), axis=-1, out="logits")
    g.output("logits", TensorProto.FLOAT, ["batch_size", "sequence_length", VOCAB_SIZE])

    # New cache rows.
    def unit(c):
        v = np.zeros(HEAD_DIM)
        v[c] = 1.0
        return g.f(v)

    pos_store = g.unsq(g.op("Where", g.op("Greater", valid, g.f(0.5)), rowmax, g.f(-1.0)), [2])  # [B,S,1]
    zeros_bsd = g.op("Mul", pos_store, g.f(np.zeros(HEAD_DIM)))
    head_state = g.op(
        "Add",
        g.op(
            "Add",
            g.op("Mul", pos_store, unit(KV_POS)),
            g.op("Mul", g.op("Reshape", decoding_f, g.i([1, 1, 1])), unit(KV_GEN)),
        ),
        g.op("Mul", g.op("Reshape", hist_f, g.i([-1, 1, 1])), unit(KV_HIST)),
    )
    for j, p in enumerate(past):
        tag = g.op("Mul", unit(KV_TAG), g.f(float(j + 1)))
        plain = g.unsq(g.op("Add", zeros_bsd, tag), [1])
        heads = [g.unsq(g.op("Add", head_state, tag), [1]) if j == 0 else plain] + [plain] * (KV_HEADS - 1)
        new = g.op("Concat", *heads, axis=1)
        layer, kind = divmod(j, 2)
        name = f"present.{layer}.{('key', 'value')[kind]}"
        g.op("Concat", p, new, axis=2, out=name)
        g.output(name, TensorProto.FLOAT, ["batch_size", KV_HEADS, "past_sequence_length + 1", HEAD_DIM])

    return g.model("Fixture decoder_model_merged (scripted, no weights). " + note)


# ---------------------------------------------------------------------------------------------
# Config files
# ---------------------------------------------------------------------------------------------
def config_json():
    return {
        "architectures": ["Qwen2VLForConditionalGeneration"],
        "attention_dropout": 0.0,
        "bos_token_id": ENDOFTEXT_ID,
        "eos_token_id": IM_END_ID,
        "vision_start_token_id": VISION_START_ID,
        "vision_end_token_id": VISION_END_ID,
        "vision_token_id": 151654,
        "image_token_id": IMAGE_PAD_ID,
        "video_token_id": 151656,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": 4 * HIDDEN,
        "max_position_embeddings": 32768,
        "max_window_layers": LAYERS,
        "model_type": "qwen2_vl",
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": KV_HEADS,
        "rms_norm_eps": 1e-06,
        "rope_theta": 1000000.0,
        "sliding_window": 32768,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "use_cache": True,
        "use_sliding_window": False,
        "vision_config": {
            "depth": 1,
            "embed_dim": 32,
            "mlp_ratio": 4,
            "num_heads": 2,
            "in_chans": 3,
            "hidden_size": HIDDEN,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "spatial_patch_size": 14,
            "temporal_patch_size": 2,
        },
        "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
        "vocab_size": VOCAB_SIZE,
    }


def preprocessor_config_json():
    return {
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_processor_type": "Qwen2VLImageProcessor",
        "image_std": [0.26862954, 0.26130258, 0.27577711],
        "max_pixels": 12845056,
        "merge_size": 2,
        "min_pixels": 3136,
        "patch_size": 14,
        "processor_class": "Qwen2VLProcessor",
        "resample": 3,
        "rescale_factor": 0.00392156862745098,
        "size": {"max_pixels": 12845056, "min_pixels": 3136},
        "temporal_patch_size": 2,
    }


def generation_config_json():
    return {
        "bos_token_id": ENDOFTEXT_ID,
        "pad_token_id": ENDOFTEXT_ID,
        "do_sample": True,
        "eos_token_id": [IM_END_ID, ENDOFTEXT_ID],
        "repetition_penalty": 1.0,
        "temperature": 0.01,
        "top_p": 0.001,
        "top_k": 1,
    }


def tokenizer_config_json():
    return {
        "add_prefix_space": False,
        "added_tokens_decoder": {
            str(tid): {
                "content": content,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
            for tid, content in SPECIAL_TOKENS
        },
        "additional_special_tokens": [
            "<|im_start|>",
            "<|im_end|>",
            "<|object_ref_start|>",
            "<|object_ref_end|>",
            "<|box_start|>",
            "<|box_end|>",
            "<|quad_start|>",
            "<|quad_end|>",
            "<|vision_start|>",
            "<|vision_end|>",
            "<|vision_pad|>",
            "<|image_pad|>",
            "<|video_pad|>",
        ],
        "bos_token": None,
        "chat_template": QWEN2_VL_CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": 32768,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }


def fixture_json(first, later):
    return {
        "description": "Scripted stand-in for ShowUI-2B made by scripts/models/make_showui_fixture.py; "
        "see models/README.md.",
        "first_step": first,
        "later_steps": later,
        "history_trigger": HISTORY_TRIGGER,
        "click_region": CLICK_REGION if first == FIRST_STEP_TEXT else None,
        "click_point": list(CLICK_POINT) if first == FIRST_STEP_TEXT else None,
        "error_markers": ERROR_MARKERS,
    }


def dumps(obj):
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def fixture_files():
    """{relative path: bytes} for both fixture directories."""
    _, _, action_id = build_vocab()
    shared = {
        "onnx/vision_encoder.onnx": build_vision_encoder().SerializeToString(),
        "onnx/embed_tokens.onnx": build_embed_tokens(action_id).SerializeToString(),
        "config.json": dumps(config_json()),
        "preprocessor_config.json": dumps(preprocessor_config_json()),
        "generation_config.json": dumps(generation_config_json()),
        "chat_template.json": dumps({"chat_template": QWEN2_VL_CHAT_TEMPLATE}),
        "tokenizer.json": dumps(tokenizer_json()),
        "tokenizer_config.json": dumps(tokenizer_config_json()),
        "added_tokens.json": dumps(
            {content: tid for tid, content in sorted(SPECIAL_TOKENS, key=lambda t: t[1])}
        ),
    }
    files = {}
    for name, first, later in (
        ("showui-fixture", FIRST_STEP_TEXT, LATER_STEP_TEXT),
        ("showui-fixture-garbage", GARBAGE_TEXT, GARBAGE_TEXT),
    ):
        note = f"Without an action history it says {first!r}, with one {later!r}; then <|im_end|>."
        decoder = build_decoder((script_ids(first), script_ids(later)), note)
        files[f"{name}/onnx/decoder_model_merged.onnx"] = decoder.SerializeToString()
        files[f"{name}/fixture.json"] = dumps(fixture_json(first, later))
        for rel, data in shared.items():
            files[f"{name}/{rel}"] = data
    return dict(sorted(files.items()))


def write(out, files):
    for rel, data in files.items():
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)


# ---------------------------------------------------------------------------------------------
# --check: a Python reference of the agent's loop, driven against the written files
# ---------------------------------------------------------------------------------------------
NAV_SYSTEM = (
    "You are an assistant trained to navigate the web screen. Given a task instruction, a screen "
    "observation, and an action history sequence, output the next action and wait for the next "
    "observation. Here is the action space:\n"
    "1. CLICK: Click on an element, value is not applicable and the position [x,y] is required.\n"
    "2. INPUT: Type a string into an element, value is a string to type and the position [x,y] is required.\n"
    "3. SELECT: Select a value for an element, value is not applicable and the position [x,y] is required.\n"
    "4. HOVER: Hover on an element, value is not applicable and the position [x,y] is required.\n"
    "5. ANSWER: Answer the question, value is the answer and the position is not applicable.\n"
    "6. ENTER: Enter operation, value and position are not applicable.\n"
    "7. SCROLL: Scroll the screen, value is the direction to scroll and the position is not applicable.\n"
    "8. SELECT_TEXT: Select some text content, value is not applicable and position [[x1,y1], [x2,y2]] "
    "is the start and end position of the select operation.\n"
    "9. COPY: Copy the text, value is the text to copy and the position is not applicable.\n"
    "Format the action as a dictionary with the following keys:\n"
    "{'action': 'ACTION_TYPE', 'value': ..., 'position': ...}\n"
    "If value or position is not applicable, set as None. Position might be [[x1,y1],[x2,y2]] for "
    "range actions. Do NOT output extra keys or commentary."
)
COT_SYSTEM = (
    "You are an expert AI assistant that controls a WEB interface. Review the task, previous "
    "actions, and current screenshot, then respond with the next action as JSON.\n\nAction space:\n"
    "1. CLICK: Click an element, value=None, position=[x, y]\n5. ANSWER: Answer, value=string, "
    "position=None\nRespond strictly with a JSON object containing keys: action, value, position."
)


def render_chat(messages):
    """The Qwen2-VL chat template (add_generation_prompt=True), for the message shapes used here."""
    out = []
    if messages[0]["role"] != "system":
        out.append("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")
    for m in messages:
        out.append(f"<|im_start|>{m['role']}\n")
        if isinstance(m["content"], str):
            out.append(m["content"])
        else:
            for item in m["content"]:
                if item["type"] == "image":
                    out.append("<|vision_start|><|image_pad|><|vision_end|>")
                else:
                    out.append(item["text"])
        out.append("<|im_end|>\n")
    out.append("<|im_start|>assistant\n")
    return "".join(out)


def smart_resize(h, w, factor=28, min_pixels=3136, max_pixels=12845056):
    hb = max(factor, round(h / factor) * factor)
    wb = max(factor, round(w / factor) * factor)
    if hb * wb > max_pixels:
        beta = math.sqrt(h * w / max_pixels)
        hb = max(factor, math.floor(h / beta / factor) * factor)
        wb = max(factor, math.floor(w / beta / factor) * factor)
    elif hb * wb < min_pixels:
        beta = math.sqrt(min_pixels / (h * w))
        hb = math.ceil(h * beta / factor) * factor
        wb = math.ceil(w * beta / factor) * factor
    return hb, wb


def preprocess(rgb, min_pixels, max_pixels):
    """uint8 [H,W,3] -> (pixel_values [n,1176], grid_thw [1,3]); nearest-neighbour resize."""
    h, w, _ = rgb.shape
    hb, wb = smart_resize(h, w, 28, min_pixels, max_pixels)
    ys = np.minimum((np.arange(hb) + 0.5) * h / hb, h - 1).astype(np.int64)
    xs = np.minimum((np.arange(wb) + 0.5) * w / wb, w - 1).astype(np.int64)
    img = rgb[ys][:, xs].astype(np.float32) / 255.0
    mean = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
    std = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)
    img = ((img - mean) / std).transpose(2, 0, 1)  # [3,H,W]
    frames = np.stack([img, img])  # [2,3,H,W]
    gh, gw = hb // 14, wb // 14
    x = frames.reshape(1, 2, 3, gh // 2, 2, 14, gw // 2, 2, 14)
    x = x.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8).reshape(gh * gw, PATCH_DIM)
    return np.ascontiguousarray(x, dtype=np.float32), np.array([[1, gh, gw]], np.int64)


def rope_index(ids, grids):
    """Qwen2-VL get_rope_index for one unpadded sequence: ([3,S] positions, rope_delta)."""
    pos = np.zeros((3, len(ids)), np.int64)
    i, nxt, img = 0, 0, 0
    while i < len(ids):
        if ids[i] == IMAGE_PAD_ID and i > 0 and ids[i - 1] == VISION_START_ID:
            _, gh, gw = grids[img]
            lh, lw = gh // 2, gw // 2
            n = lh * lw
            r = np.arange(n)
            pos[0, i : i + n] = nxt
            pos[1, i : i + n] = nxt + r // lw
            pos[2, i : i + n] = nxt + r % lw
            nxt += max(lh, lw)
            i += n
            img += 1
        else:
            pos[:, i] = nxt
            nxt += 1
            i += 1
    return pos, int(pos.max()) + 1 - len(ids)


class Runner:
    def __init__(self, model_dir):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        opts.log_severity_level = 3

        def session(name):
            return ort.InferenceSession(
                os.path.join(model_dir, "onnx", name + ".onnx"), opts, providers=["CPUExecutionProvider"]
            )

        self.vision = session("vision_encoder")
        self.embed = session("embed_tokens")
        self.decoder = session("decoder_model_merged")
        self.tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        with open(os.path.join(model_dir, "generation_config.json")) as fh:
            self.eos = set(json.load(fh)["eos_token_id"])

    def generate(self, messages, image, max_new_tokens=128, fault=None, min_pixels=3136, max_pixels=12845056):
        """Greedy generation like the agent; `fault` simulates one loop bug."""
        text = render_chat(messages)
        grids = []
        if image is not None:
            pixel_values, grid = preprocess(image, min_pixels, max_pixels)
            grids = [grid[0]]
            n_img = int(grid[0].prod()) // 4
            text = text.replace("<|image_pad|>", "<|image_pad|>" * n_img)
        ids = self.tok.encode(text, add_special_tokens=False).ids
        input_ids = np.array([ids], np.int64)
        embeds = self.embed.run(None, {"input_ids": input_ids})[0]
        if image is not None:
            feats = self.vision.run(None, {"pixel_values": pixel_values, "grid_thw": grid})[0]
            rows = np.nonzero(input_ids[0] == IMAGE_PAD_ID)[0]
            assert len(rows) == feats.shape[0], (len(rows), feats.shape)
            if fault != "no_merge":
                embeds[0, rows] = feats
        pos, delta = rope_index(ids, grids)
        if fault == "text_positions":
            pos = np.tile(np.arange(len(ids)), (3, 1))
        position_ids = pos[:, None, :]
        past = {
            f"past_key_values.{l}.{k}": np.zeros((1, KV_HEADS, 0, HEAD_DIM), np.float32)
            for l in range(LAYERS)
            for k in ("key", "value")
        }
        mask = np.ones((1, len(ids)), np.int64)
        out_ids = []
        step_embeds = embeds
        for _ in range(max_new_tokens):
            feed = {
                "inputs_embeds": step_embeds,
                "attention_mask": mask,
                "position_ids": position_ids,
                **past,
            }
            outs = self.decoder.run(None, feed)
            logits = outs[0]
            row = 0 if (fault == "first_logits" and not out_ids) else -1
            nxt = int(np.argmax(logits[0, row]))
            out_ids.append(nxt)
            if nxt in self.eos and fault != "ignore_eos":
                break
            names = [o.name for o in self.decoder.get_outputs()][1:]
            present = dict(zip(names, outs[1:]))
            past_len = mask.shape[1]
            if fault == "no_cache":
                pass  # keeps feeding the empty cache
            else:
                past = {n.replace("present", "past_key_values"): v for n, v in present.items()}
                if fault == "swap_layers":
                    past["past_key_values.0.key"], past["past_key_values.1.key"] = (
                        past["past_key_values.1.key"],
                        past["past_key_values.0.key"],
                    )
            if fault != "stale_mask":
                mask = np.ones((1, past_len + 1), np.int64)
            step_embeds = self.embed.run(None, {"input_ids": np.array([[nxt]], np.int64)})[0]
            p = past_len + delta
            position_ids = np.full((3, 1, 1), p, np.int64)
        return self.tok.decode(out_ids, skip_special_tokens=True).strip(), out_ids, len(ids)


def desktop_image(width, height, seed):
    """A stand-in for a sandbox frame: grey with four coloured regions and some noise."""
    rng = np.random.default_rng(seed)
    img = np.full((height, width, 3), 200, np.uint8)
    colours = [(220, 40, 40), (40, 180, 60), (40, 90, 220), (230, 200, 40)]
    for i, c in enumerate(colours):
        x0, x1 = width * (40 + 240 * i) // 1000, width * (220 + 240 * i) // 1000
        y0, y1 = height * 140 // 1000, height * 340 // 1000
        img[y0:y1, x0:x1] = c
    noise = rng.integers(0, 8, size=img.shape, dtype=np.uint8)
    return img - np.minimum(img, noise)


def legacy_messages(task, history):
    content = [{"type": "text", "text": NAV_SYSTEM}, {"type": "text", "text": f"Task: {task}"}]
    if history:
        content.append({"type": "text", "text": f"Action history: {json.dumps(history)}"})
    content.append({"type": "image"})
    return [{"role": "user", "content": content}]


def cot_messages(task, history):
    text = f"Task: {task}\nCurrent observation:"
    if history:
        text += "\nPrevious actions:"
        for i, a in enumerate(history[-5:], 1):
            text += f"\n{i}. action={json.dumps(a)} (frame=frame_{i:04d})"
    return [
        {"role": "system", "content": COT_SYSTEM},
        {"role": "user", "content": [{"type": "text", "text": text}, {"type": "image"}]},
    ]


def run_checks(out):
    failures = []

    def expect(label, ok, detail=""):
        print(("ok    " if ok else "FAIL  ") + label + (f"  ({detail})" if detail else ""))
        if not ok:
            failures.append(label)

    from tokenizers import Tokenizer

    action_id = build_vocab()[2]
    for name in ("showui-fixture", "showui-fixture-garbage"):
        tok = Tokenizer.from_file(os.path.join(out, name, "tokenizer.json"))
        for tid, content in SPECIAL_TOKENS:
            ok = tok.token_to_id(content) == tid and tok.id_to_token(tid) == content
            expect(f"{name}: {content} is id {tid}", ok)
        text = render_chat(legacy_messages("click red", None)).replace("<|image_pad|>", "<|image_pad|>" * 3)
        ids = tok.encode(text, add_special_tokens=False).ids
        specials = [i for i in ids if i >= 151643]
        want = (
            [IM_START_ID, IM_END_ID, IM_START_ID, VISION_START_ID]
            + [IMAGE_PAD_ID] * 3
            + [VISION_END_ID, IM_END_ID, IM_START_ID]
        )
        expect(f"{name}: chat template tokenises to the real special ids", specials == want, str(specials))
        expect(f"{name}: template round-trips", tok.decode(ids, skip_special_tokens=False) == text)
        for sample in (
            "Task: click the red box. {'a': [0.13, 0.24]}\n\tx  y",
            "naïve café — 日本語のテキスト ✓ 😀 Ünïcödé",
        ):
            enc = tok.encode(sample, add_special_tokens=False).ids
            expect(f"{name}: decode(encode(x)) == x for {sample[:16]!r}", tok.decode(enc) == sample)
        hist_ids = tok.encode(json.dumps({"action": "CLICK", "value": None}), add_special_tokens=False).ids
        expect(
            f"{name}: JSON history holds the trigger pair",
            any(a == QUOTE_ID and b == action_id for a, b in itertools.pairwise(hist_ids)),
        )
        sys_ids = tok.encode(NAV_SYSTEM + COT_SYSTEM, add_special_tokens=False).ids
        expect(
            f"{name}: the system prompts do not",
            not any(a == QUOTE_ID and b == action_id for a, b in itertools.pairwise(sys_ids)),
        )

    first = {"action": "CLICK", "value": None, "position": list(CLICK_POINT)}
    SHOWUI_PIXELS = {"min_pixels": 256 * 28 * 28, "max_pixels": 1344 * 28 * 28}
    cases = [
        (
            "legacy prompt, 1920x1080 frame (ShowUI pixel budget), step 1",
            legacy_messages,
            None,
            (1080, 1920),
            SHOWUI_PIXELS,
            False,
        ),
        (
            "legacy prompt, 1920x1080 frame (ShowUI pixel budget), step 2",
            legacy_messages,
            [first],
            (1080, 1920),
            SHOWUI_PIXELS,
            True,
        ),
        ("simple_cot prompt, 224x224 frame, step 1", cot_messages, None, (224, 224), {}, False),
        ("simple_cot prompt, 200x330 frame, step 3", cot_messages, [first, first], (200, 330), {}, True),
        ("text-only prompt, step 1", legacy_messages, None, None, {}, False),
    ]
    for name, first_text, later_text in (
        ("showui-fixture", FIRST_STEP_TEXT, LATER_STEP_TEXT),
        ("showui-fixture-garbage", GARBAGE_TEXT, GARBAGE_TEXT),
    ):
        runner = Runner(os.path.join(out, name))
        for k, (label, make, history, size, pixels, later) in enumerate(cases):
            messages = make("Click the red box", history)
            image = None
            if size is not None:
                image = desktop_image(size[1], size[0], seed=k)
            else:
                messages[0]["content"] = [c for c in messages[0]["content"] if c["type"] == "text"]
            t0 = time.perf_counter()
            text, ids, n = runner.generate(messages, image, **pixels)
            ms = (time.perf_counter() - t0) * 1000
            want = later_text if later else first_text
            ok = text == want and ids[-1] == IM_END_ID
            expect(
                f"{name}: {label}", ok, f"{n} prompt tokens, {len(ids)} generated, {ms:.0f} ms, got {text!r}"
            )

    runner = Runner(os.path.join(out, "showui-fixture"))
    image = desktop_image(448, 336, seed=9)
    messages = cot_messages("Click the red box", None)
    for fault, marker in (
        ("no_merge", "$"),
        ("text_positions", "@"),
        ("swap_layers", "#"),
        ("first_logits", "~"),
        ("stale_mask", "&"),
    ):
        text, _, _ = runner.generate(messages, image, max_new_tokens=6, fault=fault)
        expect(
            f"trap: loop bug {fault!r} shows {marker!r}",
            marker in text and text != FIRST_STEP_TEXT,
            repr(text),
        )
    text, _, _ = runner.generate(messages, image, max_new_tokens=40, fault="no_cache")
    expect(
        "trap: loop that never feeds the cache back goes wrong",
        not text.startswith(FIRST_STEP_TEXT[:3]),
        repr(text),
    )
    text, _, _ = runner.generate(
        messages, image, max_new_tokens=len(script_ids(FIRST_STEP_TEXT)) + 2, fault="ignore_eos"
    )
    expect("trap: generating past <|im_end|> shows '%'", text == FIRST_STEP_TEXT + "%%", repr(text))

    # The vision encoder's output follows the pixels.
    px, grid = preprocess(desktop_image(56, 56, 0), 3136, 12845056)
    feats = runner.vision.run(None, {"pixel_values": px, "grid_thw": grid})[0]
    dark = runner.vision.run(None, {"pixel_values": px - 1.0, "grid_thw": grid})[0]
    expect(
        "vision_encoder output depends on the pixels",
        feats.shape == (4, HIDDEN)
        and np.allclose(feats[:, CH_R : CH_B + 1] - dark[:, CH_R : CH_B + 1], 1.0, atol=1e-4),
    )
    return failures


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        default=os.path.normpath(os.path.join(here, "..", "..", "models")),
        help="directory that holds showui-fixture/ and showui-fixture-garbage/",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; compare the files in --out with a fresh build and run them",
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    files = fixture_files()
    if not args.check:
        write(args.out, files)
        total = sum(len(d) for d in files.values())
        for rel, data in files.items():
            print(f"{len(data):9d}  {os.path.join(args.out, rel)}")
        print(f"{total:9d}  total ({time.perf_counter() - t0:.1f} s)")
        return 0

    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        build_vocab.cache_clear()
        write(tmp, fixture_files())  # a second build, to prove the output is deterministic
        for rel, data in files.items():
            with open(os.path.join(tmp, rel), "rb") as fh:
                if fh.read() != data:
                    failures.append(f"two builds differ: {rel}")
    for rel, data in files.items():
        path = os.path.join(args.out, rel)
        ok = False
        if os.path.exists(path):
            with open(path, "rb") as fh:
                ok = fh.read() == data
        print(("ok    " if ok else "FAIL  ") + f"{path} is what this script makes")
        if not ok:
            failures.append(f"stale or missing: {path} (rerun without --check)")
    if not failures:
        failures += run_checks(args.out)
    print(
        f"{'FAILED: ' + '; '.join(failures) if failures else 'all checks passed'} "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
