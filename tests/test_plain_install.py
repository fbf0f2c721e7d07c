"""A plain install (no extras) runs the default job; a missing optional piece is one line.

The project is installed into a fresh virtual environment exactly as a user would
(``pip install .``, here through uv for speed, with no extra), and the README's default job
runs there. What needs an extra (LA-GRPO, the Dask task runner) says which one in one line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from atlas_data.store.run import open_run

REPO = Path(__file__).resolve().parent.parent


def uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(found).exists():
        pytest.skip("uv (a dev dependency) is not installed")
    return found


def test_a_plain_install_keeps_samples_and_names_missing_extras(tmp_path: Path) -> None:
    venv = tmp_path / "plain"
    env = {**os.environ, "UV_CACHE_DIR": str(REPO / ".uv-cache"), "VIRTUAL_ENV": str(venv)}
    env.pop("PYTHONPATH", None)
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv(), "pip", "install", "-q", "--python", str(python), str(REPO)], check=True, env=env
    )
    # no extra came along: the tokenizer, training and Dask pieces are absent
    for module in ("transformers", "trl", "prefect_dask"):
        absent = subprocess.run([str(python), "-c", f"import {module}"], env=env, cwd=tmp_path)
        assert absent.returncode != 0, f"{module} is installed without its extra"

    out = tmp_path / "runs"
    res = subprocess.run(
        [str(venv / "bin" / "atlas-data"), "run", "--n", "20", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # not the checkout: the installed package is what runs
    )
    assert res.returncode == 0, res.stdout + res.stderr
    (folder,) = [p.parent for p in out.glob("*/manifest.json")]
    manifest = open_run(folder).finished()
    assert manifest.counts.samples == 20 and manifest.counts.kept > 0
    assert manifest.config.judges is None  # the default judges, OCR included, ran

    probe = (
        "from atlas_data.extras import MissingExtra\n"
        "import atlas_data.train as t\n"
        "from flows.synth import build_task_runner\n"
        "for ask in (lambda: t.LAGRPOTrainer, lambda: build_task_runner('dask', None, 1)):\n"
        "    try:\n"
        "        ask()\n"
        "    except MissingExtra as exc:\n"
        "        print(exc)\n"
    )
    said = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert said.returncode == 0, said.stderr
    lines = said.stdout.splitlines()
    assert len(lines) == 2
    assert "pip install 'atlas-data[train]'" in lines[0]
    assert "pip install 'atlas-data[dask]'" in lines[1]


def test_the_command_line_prints_a_missing_extra_as_one_line(monkeypatch, capsys) -> None:
    from atlas_data import cli
    from atlas_data.extras import require

    def needs_an_extra() -> None:
        require("no_such_module_for_atlas", "train")

    monkeypatch.setattr(cli, "app", needs_an_extra)
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert "pip install 'atlas-data[train]'" in err
