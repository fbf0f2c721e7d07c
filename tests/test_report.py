"""`atlas-data report`: page content, and the page rendered by a real headless Chromium."""

import base64
import io
import re
import shutil
import subprocess
from collections import Counter
from html import escape, unescape
from pathlib import Path

import numpy as np
import pytest
from inspect_runs import make_run
from PIL import Image
from typer.testing import CliRunner

from atlas_data.cli import app
from atlas_data.inspect.report import build_report, highlight
from atlas_data.store.run import open_run
from atlas_data.tokens import DEFAULT_VOCABULARY

N_EXAMPLES = 6


@pytest.fixture(scope="module")
def page(both_run, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("page") / "report.html"
    res = CliRunner().invoke(
        app, ["report", both_run[0], "--out", str(out), "--examples", str(N_EXAMPLES)]
    )
    assert res.exit_code == 0, res.output
    return out


def card(html: str, label: str) -> str:
    m = re.search(r"<b>([^<]*)</b><span>" + re.escape(label) + "</span>", html)
    assert m, label
    return m.group(1)


def test_page_states_the_runs_numbers_and_vocabulary(both_run, page):
    _, manifest = both_run
    html = page.read_text(encoding="utf-8")
    c = manifest.counts
    assert card(html, "samples") == str(c.samples)
    assert card(html, "kept") == str(c.kept)
    assert card(html, "rejected") == str(c.rejected) != "0"
    vocab_table = html.split('<table id="vocab">')[1].split("</table>")[0]
    for op in manifest.vocabulary["operations"]:
        assert f'<td class="tokname">{escape(op["token"])}</td>' in vocab_table
        assert op["name"] in vocab_table
    for reason, n in c.rejected_by_reason.items():  # kept-vs-rejected chart bars
        assert f"<title>rejected: {reason}: {n}</title>" in html
    for token, n in c.tokens.items():
        assert f"<title>{escape(token)}: {n}</title>" in html
    quality = html.split("<table id='quality'>")[1].split("</table>")[0]
    q = manifest.quality
    assert f"<td>direct answers</td><td>{q.direct} (" in quality
    for name, p in q.proposers.items():
        assert (
            f"<td>proposer {name}</td><td>{p['chosen']} chosen of {p['proposed']}</td>" in quality
        )


def test_gallery_items_images_and_highlighted_tokens(both_run, page):
    html = page.read_text(encoding="utf-8")
    items = re.findall(r'<div class="item" id="ex\d+">', html)
    run = open_run(both_run[0])
    tasks = run.sql("SELECT DISTINCT task FROM sft")[1]
    shown = max(N_EXAMPLES, len(tasks))  # every family has an example, even past --examples
    assert len(tasks) > N_EXAMPLES and len(items) == shown
    assert all(f"<b>{task}</b>" in html for (task,) in tasks)
    srcs = re.findall(r'<img[^>]* src="([^"]+)"', html)
    # per item: every input image + per operation (zoom: box on its source + result; else:
    # result)
    rows = run.sql(
        "SELECT len(images), list_transform(operations, lambda o: o.name) FROM sft "
        f"ORDER BY row_number() OVER (PARTITION BY task ORDER BY id), task LIMIT {shown}"
    )[1]
    expected = sum(k + sum(2 if n == "zoom" else 1 for n in names) for k, names in rows)
    assert len(srcs) == expected
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert img.format == "PNG" and max(img.size) <= 360
    marks = re.findall(r'<mark class="tok" title="([^"]*)">([^<]*)</mark>', html)
    assert len(marks) >= N_EXAMPLES
    tokens = set(DEFAULT_VOCABULARY.tokens)
    assert all(unescape(tok) in tokens and op for op, tok in marks)
    assert "stored observation" in html


def test_page_is_self_contained(page):
    html = page.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html
    assert not re.search(r'(src|href)="(?!data:|#)', html)


def test_rl_only_run_recomputes_results_from_params(tmp_path):
    root, manifest = make_run(str(tmp_path), split="rl", n=20)
    html = build_report(root, n_examples=4)
    tasks = open_run(root).sql("SELECT count(DISTINCT task) FROM rl")[1][0][0]
    assert tasks > 4 and len(re.findall(r'<div class="item"', html)) == tasks
    assert "recomputed from params" in html and "stored observation" not in html
    assert card(html, "kept") == str(manifest.counts.kept)


def test_highlight_escapes_text_and_falls_back_to_the_vocabulary():
    token = DEFAULT_VOCABULARY.tokens[0]
    text = f"a <b>bold</b> & {token} end"
    start = text.index(token)
    span = {"token": token, "operation": "zoom", "start": start, "end": start + len(token)}
    out = highlight(text, [span], DEFAULT_VOCABULARY)
    assert "<b>" not in out and "&lt;b&gt;" in out and "&amp;" in out
    assert out.count("<mark") == 1 and 'title="zoom"' in out
    stale = {**span, "start": 0, "end": len(token)}  # spans that do not point at the token
    assert highlight(text, [stale], DEFAULT_VOCABULARY).count("<mark") == 1


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def test_headless_chromium_renders_a_non_blank_page(page, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium not found on PATH or /usr/bin/chromium (`make sysdeps` installs it)")
    shot = tmp_path / "shot.png"
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
        page.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert shot.exists(), f"no screenshot (rc={proc.returncode}): {proc.stderr[-2000:]}"
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[:2] == (2000, 1280)
    assert img.std() > 20
    colours = Counter(map(tuple, img.reshape(-1, 3)[::7]))
    assert len([c for c, n in colours.items() if n > 50]) >= 8
    # the dark header band and the highlighted-chart colours were painted
    assert (img[:40, :, :].mean() < 80) and (img[40:, :, :].mean() > 150)
