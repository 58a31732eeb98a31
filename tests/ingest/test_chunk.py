"""parse_heading and chunk_document on the 厚木市 policy text and the real 118-page 重点計画 PDF."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.types import Block, LoadedDocument, SourceInfo
from ingest.chunk import chunk_document
from ingest.headings import parse_heading
from ingest.normalize import find_noise_lines, normalize_text

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
ATSUGI = SHARED / "corpus/atsugi/atsugi-dx-plan-policy-2027-2032.txt"
JUTEN = SHARED / "corpus/real/juten-keikaku-2023/20230609_policies_priority_outline_05.pdf"
JP = r"[\u3041-\u30ff\u3400-\u9fff、。「」]"


def _jp_space(text: str) -> bool:
    """A space between Japanese characters, other than the one after a line's ア/① marker."""
    return any(re.search(f"{JP} +{JP}", re.sub(r"^(?:[ア-ン①-⑳]|第\d+条) ", "", ln)) for ln in text.split("\n"))


@pytest.mark.parametrize(
    ("line", "depth", "label"),
    [
        ("# 政府相互運用性フレームワーク <!-- omit in toc -->", 1, "政府相互運用性フレームワーク"),
        ("### 1.1. 　背景と目的", 3, "1.1. 背景と目的"),
        ("第１章 計画の概要", 2, "第１章 計画の概要"),
        ("第３-２ 各分野における基本的な施策 ", 3, "第３-２ 各分野における基本的な施策"),
        (" ５ 計画の体系 ", 4, "５ 計画の体系"),
        ("１．マイナンバーカード/デジタル行政サービス", 4, "１．マイナンバーカード/デジタル行政サービス"),
        ("1.1 自治体におけるDX推進の意義", 5, "1.1 自治体におけるDX推進の意義"),
        ("3.1 (2) 標準化・共通化", 7, "3.1 (2) 標準化・共通化"),
        (
            "(2) 地域の課題解決・魅力向上を図る「地域社会のＤＸ」新規 ",
            7,
            "(2) 地域の課題解決・魅力向上を図る「地域社会のＤＸ」",
        ),
        ("（１）申請・交付環境の整備", 7, "（１）申請・交付環境の整備"),
        ("① トータルデザインで目指す姿", 8, "① トータルデザインで目指す姿"),
        ("ア 情報連携の更なる推進", 9, "ア 情報連携の更なる推進"),
        ("（イ）標準化の対象", 10, "（イ）標準化の対象"),
    ],
)
def test_headings(line: str, depth: int, label: str) -> None:
    assert parse_heading(line) == (depth, label)


@pytest.mark.parametrize(
    "line",
    [
        "2023年（令和５年）６月９日",
        "１ 計画を策定します。",
        "3 年間で実施する。",
        "25 Enterprise Risk Management",
        "5 https://trustedweb.go.jp/",
        "(1) 市民等がデジタル化の利便性を享受できる「市民サービスのＤＸ」を進めるため、次の取組を行うとともに、関係機関と連携して計画的に実施する",
        "アクションプランを前期と後期に分け、",
        "令和９（2027）年度から令和14（2032）年度までの６年間とし、",
        "１、",
        "",
    ],
)
def test_not_headings(line: str) -> None:
    assert parse_heading(line) is None


def _source(doc_id: str) -> SourceInfo:
    return SourceInfo(doc_id=doc_id, title=doc_id, level="city")


@pytest.fixture(scope="module")
def atsugi() -> tuple[str, list]:
    if not ATSUGI.exists():
        pytest.skip(f"{ATSUGI} not present")
    raw = ATSUGI.read_text(encoding="utf-8")
    doc = LoadedDocument(_source("atsugi"), ATSUGI, "0", "text", (Block(raw),))
    return raw, chunk_document(doc, 400)


@pytest.fixture(scope="module")
def juten() -> tuple[list[str], list]:
    if not JUTEN.exists():
        pytest.skip(f"{JUTEN} not present")
    from pypdf import PdfReader

    pages = [p.extract_text() for p in PdfReader(JUTEN).pages]
    blocks = tuple(Block(t, page=i + 1) for i, t in enumerate(pages))
    doc = LoadedDocument(_source("juten"), JUTEN, "0", "pdf", blocks, pages=len(pages))
    return pages, chunk_document(doc, 400)


def test_atsugi_sections(atsugi: tuple[str, list]) -> None:
    _, chunks = atsugi
    sections = [c.section for c in chunks]
    assert "４ 計画の期間" in sections
    assert any(re.fullmatch(r"５ 計画の体系 > \(2\) .*「地域社会のＤＸ」", s) for s in sections), sections
    assert "６ 計画策定に当たって考慮すべき視点 > (2) 行政改革の推進" in sections
    assert not any("新規" in s for s in sections)
    period = [c for c in chunks if "令和9(2027)年度から令和14(2032)年度までの6年間" in c.text]
    assert len(period) == 1 and period[0].section == "４ 計画の期間"
    assert period[0].text.startswith("4 計画の期間\n")  # the heading is part of its chunk
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_atsugi_text_is_clean(atsugi: tuple[str, list]) -> None:
    raw, chunks = atsugi
    row = re.compile(r"^令和\d+年\d+月 ")  # §9's schedule table: one row a line, the date set off by a space
    for c in chunks:
        assert c.page is None and c.text and c.text == c.text.strip()
        assert not _jp_space("\n".join(line for line in c.text.split("\n") if not row.match(line))), c.text
        assert "\n\n" not in c.text
        assert normalize_text(c.original)[0] == c.text
        assert c.original in raw
        for line in c.text.split("\n")[:-1]:
            # every kept break follows a sentence end or touches a heading line
            nxt = c.text.split("\n")[c.text.split("\n").index(line) + 1]
            assert line[-1] in "。！？:：" or parse_heading(line) or parse_heading(nxt) or row.match(nxt), (line, nxt)
    # the raw text breaks this sentence over three lines; the chunk holds it whole
    assert any(
        "整合性を図るとともに、国及び県が策定するDX推進に関する計画を参酌し、今後のデジタル化施策" in c.text
        for c in chunks
    )


def test_atsugi_chunks_are_stable(atsugi: tuple[str, list]) -> None:
    raw, chunks = atsugi
    again = chunk_document(LoadedDocument(_source("atsugi"), ATSUGI, "0", "text", (Block(raw),)), 400)
    assert [c.chunk_id for c in again] == [c.chunk_id for c in chunks]


def test_chunk_size_and_sentence_boundaries(atsugi: tuple[str, list]) -> None:
    raw, _ = atsugi
    doc = LoadedDocument(_source("atsugi"), ATSUGI, "0", "text", (Block(raw),))
    small = chunk_document(doc, 120)
    assert len(small) > len(chunk_document(doc, 400))
    for c in small:
        assert len(c.text) <= 240
        assert c.text[-1] in "。」)" or parse_heading(c.text.split("\n")[-1]) or c is small[-1] or len(c.text) < 120


def test_pdf_pages_noise_and_toc(juten: tuple[list[str], list]) -> None:
    pages, chunks = juten
    assert {c.page for c in chunks} <= set(range(1, 119))
    assert max(c.page for c in chunks) == 118 and min(c.page for c in chunks) == 1
    assert [c.page for c in chunks] == sorted(c.page for c in chunks)
    assert "#" in find_noise_lines(pages)
    by_page: dict[int, list] = {}
    for c in chunks:
        by_page.setdefault(c.page, []).append(c)
    for page in (7, 11, 51, 80, 118):
        printed = str(page - 5)
        assert pages[page - 1].lstrip().startswith(printed + " ")
        first, last = by_page[page][0], by_page[page][-1]
        assert not re.match(rf"{printed}\b", first.text), first.text[:30]
        assert not re.search(rf"\b{printed}$", last.text)
        assert printed + " \n" not in first.original
    for c in chunks:
        assert not re.search(r"[.・…]{4,}", c.text), c.text
        assert not _jp_space(c.text), c.text
    toc = [c for c in chunks if c.page == 3]
    assert toc and "(1)申請・交付環境の整備\n" in toc[0].text


def test_pdf_sections_run_across_pages(juten: tuple[list[str], list]) -> None:
    _, chunks = juten
    first_on_52 = next(c for c in chunks if c.page == 52)
    assert first_on_52.section.startswith(
        "第３ デジタル社会の実現に向けた戦略・施策 > 第３-２ 各分野における基本的な施策"
    )
    assert first_on_52.section.endswith("ア 情報連携の更なる推進")
    # table-of-contents entries do not become sections
    assert all(c.section == "" for c in chunks if c.page <= 6)


def test_gpkg_blocks_one_chunk_each() -> None:
    blocks = (
        Block("名称: 厚木市役所　本庁舎\n住所: 中町３－１７－１７", meta={"layer": "公共施設", "fid": 1}),
        Block("   ", meta={"layer": "公共施設", "fid": 2}),
        Block("名称: 厚木市立病院", meta={"layer": "医療機関", "fid": 3}),
    )
    doc = LoadedDocument(_source("gis"), Path("x.gpkg"), "0", "gpkg", blocks)
    chunks = chunk_document(doc, 10)
    assert [(c.section, c.meta["fid"]) for c in chunks] == [("公共施設", 1), ("医療機関", 3)]
    assert chunks[0].text == "名称:厚木市役所本庁舎\n住所:中町3-17-17"
