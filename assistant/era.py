"""Japanese era years ↔ western years, so that 令和9年度 and 2027年度 match each other in search.

`expand_years` appends the other form next to every year expression; it is applied to both the
indexed text and the query of the sparse index, never to the text shown or quoted to the user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# First western year of each era. Years past an era's end are accepted on purpose: plans written
# before 2019 routinely say 平成32年度 for 2020年度.
ERA_START: dict[str, int] = {"明治": 1868, "大正": 1912, "昭和": 1926, "平成": 1989, "令和": 2019}
_ERA_ABBREV = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}
WESTERN_MIN, WESTERN_MAX = 1868, 2100

_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_FULLWIDTH = str.maketrans("０１２３４５６７８９ＭＴＳＨＲｍｔｓｈｒ", "0123456789MTSHRmtshr")


def _pattern(prefix: str) -> str:
    """One alternative of the year regex; group names carry `prefix` so that all can share one regex."""
    era = rf"(?P<{prefix}era>明治|大正|昭和|平成|令和)"
    abbr = rf"(?<![A-Za-zＡ-Ｚａ-ｚ])(?P<{prefix}abbr>[MTSHRＭＴＳＨＲ])"
    num = rf"(?P<{prefix}num>元|[0-9０-９]{{1,3}}|[〇一二三四五六七八九十]{{1,4}})"
    west = rf"(?<![0-9０-９])(?P<{prefix}west>[12１２][0-9０-９]{{3}})"
    suffix = rf"(?P<{prefix}suffix>年度|年)(?!代)"
    opn, cls = r"\s*[（(]\s*", r"\s*[)）]\s*"
    body = {
        "p1": rf"{era}\s*{num}{opn}{west}{cls}{suffix}",  # 令和９（2027）年度
        "p2": rf"{west}{opn}{era}\s*{num}{cls}{suffix}",  # 2027（令和９）年度
        "e": rf"{era}\s*{num}\s*{suffix}",  # 令和９年度
        "a": rf"{abbr}\s*{num}\s*{suffix}",  # R9年度
        "w": rf"{west}\s*{suffix}",  # 2027年度
    }[prefix.rstrip("_")]
    return rf"(?P<{prefix.rstrip('_')}>{body})"


# Paired forms come first so that 令和９（2027）年度 is recognised as one expression.
_YEAR_RE = re.compile("|".join(_pattern(p) for p in ("p1_", "p2_", "e_", "a_", "w_")))
_BETWEEN_PAIR = re.compile(r"\s*[（(]?\s*")


@dataclass(frozen=True)
class YearMention:
    """One year expression in a text: its span, its western year and whether it is already paired."""

    start: int
    end: int
    western: int
    suffix: str  # 年 or 年度
    kind: str  # "era", "western" or "paired"


def _parse_num(raw: str) -> int:
    raw = raw.translate(_FULLWIDTH)
    if raw == "元":
        return 1
    if raw.isdigit():
        return int(raw)
    if "十" in raw:  # 十, 十二, 二十, 二十三
        tens, _, ones = raw.partition("十")
        return (_KANJI_DIGITS[tens] if tens else 1) * 10 + (_KANJI_DIGITS[ones] if ones else 0)
    value = 0
    for ch in raw:
        value = value * 10 + _KANJI_DIGITS[ch]
    return value


def era_to_western(era: str, year: int | str) -> int:
    """令和, 9 → 2027. `year` may be an int, '元', full-width or kanji digits; 'R'/'H'… abbreviations work too."""
    era = _ERA_ABBREV.get(era.translate(_FULLWIDTH).upper(), era)
    if era not in ERA_START:
        raise ValueError(f"unknown era {era!r}; expected one of {', '.join(ERA_START)}")
    n = _parse_num(year) if isinstance(year, str) else year
    if n < 1:
        raise ValueError(f"era year must be 1 or more, got {year!r}")
    return ERA_START[era] + n - 1


def western_to_era(year: int) -> list[tuple[str, int]]:
    """2027 → [('令和', 9)]; a year in which the era changed gives both: 2019 → [('平成', 31), ('令和', 1)]."""
    if not WESTERN_MIN <= year <= WESTERN_MAX:
        return []
    eras = sorted(ERA_START.items(), key=lambda kv: kv[1])
    out: list[tuple[str, int]] = []
    for i, (era, start) in enumerate(eras):
        # Inclusive end: the year an era began also belongs to the previous one (平成31年 = 令和元年).
        end = eras[i + 1][1] if i + 1 < len(eras) else WESTERN_MAX
        if start <= year <= end:
            out.append((era, year - start + 1))
    return out


def _format_era(era: str, n: int, suffix: str) -> str:
    return f"{era}{'元' if n == 1 else n}{suffix}"


def find_years(text: str) -> list[YearMention]:
    """All year expressions in `text` with their western year; adjacent pairs like 令和9年度（2027年度） are 'paired'."""
    found: list[YearMention] = []
    for m in _YEAR_RE.finditer(text):
        g = {k.split("_", 1)[1]: v for k, v in m.groupdict().items() if v is not None and "_" in k}
        kind = "paired" if (m.group("p1") or m.group("p2")) else "western" if m.group("w") else "era"
        try:
            if "west" in g and kind == "western":
                western = int(g["west"].translate(_FULLWIDTH))
                if not WESTERN_MIN <= western <= WESTERN_MAX:
                    continue
            else:
                western = era_to_western(g.get("era") or g["abbr"], g["num"])
        except (ValueError, KeyError):
            continue
        found.append(YearMention(m.start(), m.end(), western, g["suffix"], kind))
    # 令和9年度（2027年度） / 2027年度(令和9年度): two neighbours naming the same year are already paired.
    out = list(found)
    for i in range(len(found) - 1):
        a, b = found[i], found[i + 1]
        if a.western == b.western and a.kind != b.kind and a.kind != "paired" and b.kind != "paired":
            if _BETWEEN_PAIR.fullmatch(text, a.end, b.start):
                out[i] = YearMention(a.start, a.end, a.western, a.suffix, "paired")
                out[i + 1] = YearMention(b.start, b.end, b.western, b.suffix, "paired")
    return out


def expand_years(text: str) -> str:
    """Append the other form after each unpaired year: 令和９年度 → 令和９年度（2027年度）, 2027年 → 2027年（令和9年）."""
    parts: list[str] = []
    pos = 0
    for y in find_years(text):
        if y.kind == "paired":
            continue
        if y.kind == "era":
            other = f"{y.western}{y.suffix}"
        else:
            other = "・".join(_format_era(e, n, y.suffix) for e, n in western_to_era(y.western))
        if not other:
            continue
        parts.append(text[pos : y.end])
        parts.append(f"（{other}）")
        pos = y.end
    parts.append(text[pos:])
    return "".join(parts)


def year_tokens(text: str) -> set[int]:
    """Western years mentioned in `text`, in either form: '令和元年度と2027年' → {2019, 2027}."""
    return {y.western for y in find_years(text)}
