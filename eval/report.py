"""One self-contained HTML report per eval run: metric bars (inline SVG) and a per-case table.

Every piece of text from the suite or the answers goes through html.escape.
"""

from __future__ import annotations

from html import escape

from eval.metrics import METRICS
from eval.results import SuiteResult

_CSS = """
body{font-family:"Hiragino Sans","Noto Sans JP",Meiryo,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top}
th{background:#f3f3f3}tr.fail td{background:#fff3f3}.pass{color:#176b1a;font-weight:bold}.fail-t{color:#b00020;font-weight:bold}
.answer{white-space:pre-wrap;max-width:40em}.cite{font-size:12px;color:#444}small{color:#666}
"""


def _fmt(value: float | None, key: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if key.endswith("_ms") else f"{value:.3f}"


def _label(key: str) -> str:
    """「上位5件の的中率（hit@5）」: the registry's Japanese name with the key; the key alone if unknown."""
    return f"{METRICS[key].label_ja}（{key}）" if key in METRICS else key


def svg_bars(values: dict[str, float | None], width: int = 560, row: int = 22) -> str:
    """Horizontal bars for the 0..1 metrics (latency is shown in the table, not here)."""
    items = [(k, v) for k, v in values.items() if v is not None and not k.endswith("_ms")]
    label_w, bar_w = 190, width - 190 - 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{row * len(items) + 8}" role="img">']
    for i, (key, v) in enumerate(items):
        y = 4 + i * row
        lower = key in METRICS and METRICS[key].direction == "lower"
        colour = "#c0504d" if lower else "#4f81bd"
        w = max(0.0, min(1.0, v)) * bar_w
        parts.append(f'<text x="0" y="{y + 14}" font-size="12">{escape(key)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{bar_w}" height="{row - 6}" fill="#eee"/>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row - 6}" fill="{colour}"/>')
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 14}" font-size="12">{v:.3f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(result: SuiteResult) -> str:
    agg = result.aggregate
    thresholds = "".join(
        f"<tr><td>{escape(t.metric)}</td><td>{escape(t.want)}</td><td>{_fmt(t.value, t.metric)}</td>"
        f'<td class="{"pass" if t.passed else "fail-t"}">{"合格" if t.passed else "不合格"}</td></tr>'
        for t in result.thresholds
    )
    metric_rows = "".join(f"<tr><td>{escape(_label(k))}</td><td>{_fmt(v, k)}</td></tr>" for k, v in agg.items())
    rows = []
    for c in result.cases:
        cites = "<br>".join(
            f"[{x['n']}] {escape(x['doc_id'])} {escape(x['section'] or '')}<br>「{escape(x['quote'])}」"
            for x in c.citations
        )
        status = '<span class="pass">合格</span>' if c.passed else '<span class="fail-t">不合格</span>'
        reasons = "<br>".join(escape(f) for f in c.failures)
        scores = " ".join(f"{escape(k)}={_fmt(v)}" for k, v in c.metrics.items())
        rows.append(
            f'<tr class="{"" if c.passed else "fail"}"><td>{escape(c.id)}<br><small>{escape(c.kind)}</small></td>'
            f'<td>{escape(c.question)}</td><td class="answer">{escape(c.answer)}</td>'
            f'<td class="cite">{cites}</td><td>{status}<br><small>{reasons}</small></td>'
            f"<td><small>{scores}<br>{c.latency_ms:.0f} ms</small></td></tr>"
        )
    verdict = "合格" if result.passed else "不合格"
    return f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>評価レポート {escape(result.suite)}</title><style>{_CSS}</style></head>
<body>
<h1>評価レポート: {escape(result.suite)}（{verdict}）</h1>
<p>{escape(result.description)}</p>
<p><small>{escape(result.started_at)} ・ {result.n_cases} 問 ・ 回答方式 {escape(result.mode)} ・
設定 {escape(result.settings_fingerprint)}</small></p>
<h2>指標</h2>
{svg_bars(agg)}
<table style="width:auto"><tr><th>指標</th><th>値</th></tr>{metric_rows}</table>
<h2>閾値</h2>
<table style="width:auto"><tr><th>指標</th><th>条件</th><th>値</th><th>判定</th></tr>{thresholds}</table>
<h2>設問ごとの結果</h2>
<table><tr><th>ID</th><th>質問</th><th>回答</th><th>出典</th><th>判定</th><th>指標</th></tr>{"".join(rows)}</table>
</body></html>
"""
