"""A one-file HTML report of a run: charts and a gallery, viewable with no network.

Everything is inline: CSS, SVG charts drawn here, images as base64 PNG data URLs. The
gallery redraws each operation on the source image with the same ``atlas_data.ops``
functions the pipeline used (a zoom shows its box), shows the operation's result (the
stored observation for SFT rows, recomputed from the stored parameters for RL rows) and
the trajectory with its functional tokens highlighted from the stored token spans.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from atlas_data.inspect.summary import cost_rows, filter_rows, quality_rows
from atlas_data.ops import Operation, specs
from atlas_data.ops.box import apply as draw_box
from atlas_data.ops.image_io import downscale_to
from atlas_data.store.run import Run, open_run
from atlas_data.tokens import Vocabulary, default_vocabulary

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1"]
KEPT_COLOR, REJECT_COLOR = "#59a14f", "#e15759"

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;
color:#1d2330}
header{background:#1d2330;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;color:#c8cdd8;font-size:13px}
main{padding:20px 28px;max-width:1240px}
h2{font-size:18px;margin:28px 0 10px;border-bottom:2px solid #dde1e8;padding-bottom:4px}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{background:#fff;border-radius:8px;padding:12px 18px;box-shadow:0 1px 2px #0002;
min-width:120px}
.card b{display:block;font-size:26px} .card span{color:#5b6475;font-size:12px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:14px}
.chart{background:#fff;border-radius:8px;padding:10px 14px;box-shadow:0 1px 2px #0002}
.chart h3{margin:0 0 6px;font-size:14px}
table{border-collapse:collapse;background:#fff;font-size:13px}
td,th{border:1px solid #dde1e8;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef0f4}
code,.tokname{font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.item{background:#fff;border-radius:8px;padding:14px;margin:0 0 16px;box-shadow:0 1px 2px #0002}
.item h3{margin:0 0 4px;font-size:15px} .meta{color:#5b6475;font-size:12px;margin-bottom:8px}
.pics{display:flex;gap:12px;flex-wrap:wrap;align-items:flex-start}
figure{margin:0} figcaption{font-size:12px;color:#5b6475}
figure img{border:1px solid #dde1e8;max-width:100%}
pre.traj{white-space:pre-wrap;background:#fafbfc;border:1px solid #e3e6eb;padding:10px;
font-size:13px;margin:10px 0 0}
mark.tok{background:#ffd84d;color:#000;font-weight:bold;border-radius:3px;padding:0 2px}
.note{color:#8a5a00;font-size:12px}
"""


# ---------------------------------------------------------------- charts (inline SVG)


def bar_chart(items: Sequence[tuple[str, float]], colors: Sequence[str] | None = None) -> str:
    """Horizontal bars with labels and values; an SVG element (no xmlns: inline HTML)."""
    if not items:
        return '<p class="note">nothing to show</p>'
    row, label_w, bar_w = 24, 170, 230
    top = max(v for _, v in items) or 1
    h = row * len(items) + 6
    width = label_w + bar_w + 60
    parts = [f'<svg viewBox="0 0 {width} {h}" width="100%" style="max-width:{width}px" role="img">']
    for i, (label, value) in enumerate(items):
        y = i * row + 3
        w = max(1.0, bar_w * value / top) if value else 0.0
        color = (colors or PALETTE)[i % len(colors or PALETTE)]
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
            f"{html.escape(str(label))}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row - 6}" fill="{color}">'
            f"<title>{html.escape(str(label))}: {shown}</title></rect>"
            f'<text x="{label_w + w + 4:.1f}" y="{y + 15}" font-size="12">{shown}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram(
    series: dict[str, Sequence[float]],
    bins: int = 10,
    lo: float | None = None,
    hi: float | None = None,
) -> str:
    """Overlaid vertical-bar histograms of one or more series (e.g. kept vs rejected)."""
    values = [v for vs in series.values() for v in vs]
    if not values:
        return '<p class="note">nothing to show</p>'
    lo = min(values) if lo is None else lo
    hi = max(values) if hi is None else hi
    if hi <= lo:
        hi = lo + 1
    step = (hi - lo) / bins
    counts = {
        name: [
            sum(
                1
                for v in vs
                if lo + k * step <= v < lo + (k + 1) * step or (k == bins - 1 and v == hi)
            )
            for k in range(bins)
        ]
        for name, vs in series.items()
    }
    top = max(max(c) for c in counts.values()) or 1
    w, h, pad = 380, 170, 28
    bw = (w - 2 * pad) / bins / max(1, len(series))
    parts = [f'<svg viewBox="0 0 {w} {h + 40}" width="100%" style="max-width:{w}px" role="img">']
    parts.append(f'<line x1="{pad}" y1="{h}" x2="{w - pad}" y2="{h}" stroke="#888"/>')
    colors = [KEPT_COLOR, REJECT_COLOR, *PALETTE]
    for s, (name, c) in enumerate(counts.items()):
        for k, n in enumerate(c):
            bh = (h - 20) * n / top
            x = pad + k * (w - 2 * pad) / bins + s * bw
            parts.append(
                f'<rect x="{x:.1f}" y="{h - bh:.1f}" width="{max(1.0, bw - 1):.1f}" '
                f'height="{bh:.1f}" fill="{colors[s]}"><title>{html.escape(name)} '
                f"[{lo + k * step:.3g}, {lo + (k + 1) * step:.3g}): {n}</title></rect>"
            )
        parts.append(
            f'<rect x="{pad + s * 110}" y="{h + 24}" width="10" height="10" fill="{colors[s]}"/>'
            f'<text x="{pad + s * 110 + 14}" y="{h + 33}" font-size="11">'
            f"{html.escape(name)} ({len(series[name])})</text>"
        )
    for x, v in ((pad, lo), (w - pad, hi)):
        parts.append(
            f'<text x="{x}" y="{h + 14}" font-size="11" text-anchor="middle">{v:.3g}</text>'
        )
    parts.append(f'<text x="{pad}" y="12" font-size="11">max {top}</text></svg>')
    return "".join(parts)


# ---------------------------------------------------------------- images and text


def data_url(img: Image.Image, thumb_side: int) -> str:
    """A downscaled PNG as a ``data:`` URL."""
    small = downscale_to(img.convert("RGB"), thumb_side)
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _decode(struct: dict[str, Any] | None) -> Image.Image | None:
    if not struct or not struct.get("bytes"):
        return None
    return Image.open(io.BytesIO(struct["bytes"])).convert("RGB")


def region_on(image: Image.Image, params: dict[str, Any]) -> Image.Image:
    """The source image with an operation's box outlined (where a crop came from)."""
    if "box" not in params:
        return image
    width = max(3, round(min(image.size) / 150))
    return draw_box(image, params["box"], color="#ff00ff", width=min(32, width))


def highlight(text: str, spans: Sequence[dict[str, Any]], vocab: Vocabulary) -> str:
    """HTML-escaped text with each functional token wrapped in ``<mark>``.

    Stored spans are used when they point at a token; otherwise the vocabulary's token
    pattern finds them, so a row with stale spans is still readable.
    """
    good = sorted(
        (s for s in spans or [] if text[s["start"] : s["end"]] == s["token"]),
        key=lambda s: s["start"],
    )
    if not good:
        good = [
            {"start": m.start(), "end": m.end(), "token": m.group(0), "operation": ""}
            for m in vocab.token_pattern.finditer(text)
        ]
    out, pos = [], 0
    for s in good:
        if s["start"] < pos:
            continue
        out.append(html.escape(text[pos : s["start"]]))
        title = html.escape(s.get("operation") or "", quote=True)
        out.append(f'<mark class="tok" title="{title}">{html.escape(s["token"])}</mark>')
        pos = s["end"]
    out.append(html.escape(text[pos:]))
    return "".join(out)


# ---------------------------------------------------------------- data


def _column(run: Run, sql: str) -> list[Any]:
    return [r[0] for r in run.sql(sql)[1]]


def _pairs(run: Run, sql: str) -> list[tuple[str, float]]:
    return [(str(a), b) for a, b in run.sql(sql)[1]]


def gallery_rows(run: Run, n: int) -> list[dict[str, Any]]:
    """Up to ``n`` kept rows (at least one per task), spread over tasks (round robin), with
    what the gallery needs."""
    if "sft" in run.files:
        cols = "observations, text AS reasoning, token_spans AS spans"
        view = "sft"
    else:
        cols = "NULL AS observations, reference AS reasoning, reference_token_spans AS spans"
        view = "rl"
    # Pick ids first (light columns only), then read the images of those rows alone: a
    # large run never has all its images in memory.
    n = max(n, run.sql(f"SELECT count(DISTINCT task) FROM {view}")[1][0][0])
    ids = [
        r[0]
        for r in run.sql(
            f"SELECT id FROM {view} "
            f"ORDER BY row_number() OVER (PARTITION BY task ORDER BY id), task LIMIT {int(n)}"
        )[1]
    ]
    if not ids:
        return []
    listing = ", ".join("'" + i.replace("'", "''") + "'" for i in ids)
    columns, rows = run.sql(
        f"SELECT id, task, question, answer, operations, images, {cols} FROM {view} "
        f"WHERE id IN ({listing})"
    )
    by_id = {r[0]: dict(zip(columns, r, strict=True)) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def _gallery_item(row: dict[str, Any], vocab: Vocabulary, thumb_side: int, index: int) -> str:
    inputs = [_decode(img) for img in row["images"] or []]
    pics, notes = [], []
    ops = row["operations"] or []
    observations = row.get("observations") or []
    for j, img in enumerate(inputs):
        if img is not None:
            caption = "source image" if len(inputs) == 1 else f"image {j + 1} of {len(inputs)}"
            pics.append((data_url(img, thumb_side), caption))
    for k, op in enumerate(ops):
        name, params = op["name"], json.loads(op["params"] or "{}")
        j = int(params.pop("image", 0) or 0)  # which input it acted on
        source = inputs[j] if j < len(inputs) else None
        label = f"{html.escape(op['token'] or '')} {html.escape(name)}"
        if source is None:
            notes.append(f"operation {k + 1}: no source image stored")
            continue
        spec = specs().get(name)
        if spec is None:
            notes.append(f"operation {k + 1} ({name}): no drawing for this operation")
            continue
        try:
            # A manipulation's result is a new image; a drawing's is the source drawn on.
            manipulation = spec.category == "manipulation"
            drawn = region_on(source, params) if manipulation else source
            result = _decode(observations[k]) if k < len(observations) else None
            recomputed = result is None
            if result is None:
                result = Operation(name, params).apply(source)
        except (ValueError, KeyError, OSError) as exc:
            notes.append(f"operation {k + 1} ({name}): cannot draw: {exc}")
            continue
        how = "recomputed from params" if recomputed else "stored observation"
        if manipulation:
            pics.append((data_url(drawn, thumb_side), f"{label}: region on the source"))
            pics.append((data_url(result, thumb_side), f"{label} result ({how})"))
        else:
            pics.append((data_url(result, thumb_side), f"{label} drawn on the source ({how})"))
    figs = "".join(
        f'<figure><img alt="{html.escape(cap, quote=True)}" src="{url}">'
        f"<figcaption>{cap}</figcaption></figure>"
        for url, cap in pics
    )
    scores = ", ".join(
        f"{html.escape(o['name'])}: {o['judge']} {'helpful' if o['helpful'] else 'not helpful'} "
        f"({o['score']:.2f})"
        for o in ops
    )
    note = "".join(f'<p class="note">{html.escape(x)}</p>' for x in notes)
    return (
        f'<div class="item" id="ex{index}"><h3>{html.escape(row["question"] or "")}</h3>'
        f'<div class="meta">task <b>{html.escape(row["task"] or "")}</b> · answer '
        f"<b>{html.escape(row['answer'] or '')}</b> · id <code>{html.escape(row['id'])}</code>"
        f" · judges: {scores}</div>"
        f'<div class="pics">{figs}</div>{note}'
        f'<pre class="traj">{highlight(row["reasoning"] or "", row["spans"] or [], vocab)}</pre>'
        "</div>"
    )


def build_report(run: str | Path | Run, n_examples: int = 12, thumb_side: int = 360) -> str:
    """The whole report as one HTML string."""
    opened = run if isinstance(run, Run) else open_run(run)
    manifest = opened.manifest
    vocab = manifest.vocab if manifest else default_vocabulary()
    run_id = manifest.run_id if manifest else Path(opened.root).name
    kept = _column(opened, "SELECT count(*) FROM kept")[0]
    rejected = _column(opened, "SELECT count(*) FROM rejects")[0]
    total = kept + rejected
    tokens = _pairs(
        opened, "SELECT t, count(*) FROM (SELECT unnest(tokens) t FROM kept) GROUP BY t ORDER BY t"
    )
    operations = _pairs(
        opened,
        "SELECT o.name, count(*) FROM (SELECT unnest(operations) o FROM kept) "
        "GROUP BY ALL ORDER BY 1",
    )
    by_reason = [("kept", float(kept))] + [
        (f"rejected: {r}", n)
        for r, n in _pairs(
            opened, "SELECT reason, count(*) n FROM rejects GROUP BY reason ORDER BY n DESC, reason"
        )
    ]
    kept_scores = _column(
        opened, "SELECT o.score FROM (SELECT unnest(operations) o FROM kept) WHERE o.score NOT NULL"
    )
    rej_scores = _column(
        opened,
        "SELECT o.score FROM (SELECT unnest(operations) o FROM rejects) WHERE o.score NOT NULL",
    )
    lengths = _column(opened, "SELECT length(reasoning) FROM kept")
    lo_len = float(min(lengths)) if lengths else 0.0
    hi_len = float(max(lengths)) if lengths else 1.0
    rejects_table = opened.sql(
        "SELECT stage, reason, detail, question FROM rejects ORDER BY reason, id LIMIT 20"
    )[1]

    cards = [
        ("samples", str(total)),
        ("kept", str(kept)),
        ("rejected", str(rejected)),
        ("kept fraction", f"{kept / total:.1%}" if total else "-"),
        ("split(s)", ", ".join(k for k in ("sft", "rl") if k in opened.files)),
    ]
    charts = [
        ("Functional tokens used", bar_chart(tokens)),
        ("Operations used", bar_chart(operations)),
        (
            "Kept vs rejected, by reason",
            bar_chart(by_reason, [KEPT_COLOR] + [REJECT_COLOR] * max(0, len(by_reason) - 1)),
        ),
        (
            "Judge scores per operation (kept vs rejected)",
            histogram({"kept": kept_scores, "rejected": rej_scores}, 10, 0.0, 1.0),
        ),
        (
            "Reasoning length (characters)",
            histogram({"kept": [float(x) for x in lengths]}, 12, lo_len, hi_len),
        ),
    ]
    vocab_rows = "".join(
        f'<tr><td class="tokname">{html.escape(op.token)}</td><td>{html.escape(op.category)}</td>'
        f"<td><code>{html.escape(op.name)}</code></td><td>{html.escape(op.meaning)}</td></tr>"
        for op in vocab.operations
    )
    rows = gallery_rows(opened, n_examples)
    gallery = "".join(_gallery_item(r, vocab, thumb_side, i) for i, r in enumerate(rows))
    reject_rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c or ''))[:300]}</td>" for c in r) + "</tr>"
        for r in rejects_table
    )
    subtitle = ""
    if manifest is not None:
        c = manifest.config
        described = [f"source {c.source}", f"split {c.split}", f"seed {c.seed}"]
        described += [f"teacher {c.teacher}", f"preset {c.preset}"]
        # the source in words: "300 records, 200 taken: --n 200"
        subtitle = html.escape(" · ".join([*described, manifest.source.summary]).strip(" ·"))
    card_html = "".join(f"<div class='card'><b>{v}</b><span>{k}</span></div>" for k, v in cards)
    quality = "".join(
        f"<tr><td>{html.escape(k.strip())}</td><td>{html.escape(v)}</td></tr>"
        for k, v in (
            [*cost_rows(manifest), *quality_rows(manifest.quality), *filter_rows(manifest)]
            if manifest
            else []
        )
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>atlas-data report: {html.escape(run_id)}</title><style>{CSS}</style></head>
<body><header><h1>atlas-data report: {html.escape(run_id)}</h1>
<p>{subtitle or html.escape(opened.root)}</p></header><main>
<div class="cards">{card_html}
</div>
<h2>Quality</h2>
{
        "<table id='quality'><tr><th>what</th><th>value</th></tr>" + quality + "</table>"
        if quality
        else "<p>This run's manifest has no quality section.</p>"
    }
<h2>Charts</h2><div class="charts">
{"".join(f'<div class="chart"><h3>{t}</h3>{c}</div>' for t, c in charts)}</div>
<h2>Token vocabulary ({html.escape(vocab.name)}, {html.escape(vocab.hash)})</h2>
<table id="vocab"><tr><th>token</th><th>category</th><th>operation</th><th>meaning</th></tr>
{vocab_rows}</table>
<h2>Gallery ({len(rows)} examples)</h2><div id="gallery">{gallery}</div>
<h2>Rejections ({rejected}{", first 20" if rejected > 20 else ""})</h2>
{
        "<table id='rejects'><tr><th>stage</th><th>reason</th><th>detail</th><th>question</th></tr>"
        + reject_rows
        + "</table>"
        if reject_rows
        else "<p>No sample was rejected.</p>"
    }
</main></body></html>
"""


def write_report(
    run: str | Path, out: str | Path, n_examples: int = 12, thumb_side: int = 360
) -> Path:
    """Write the report file; returns its path."""
    page = build_report(run, n_examples=n_examples, thumb_side=thumb_side)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


__all__ = ["build_report", "write_report", "highlight", "bar_chart", "histogram"]
