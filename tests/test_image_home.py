"""The one home of images (:mod:`atlas_data.ops.image_io`): a record is probed once and
decoded once, a dataset's bytes are never re-encoded, EXIF orientation is applied by one
function on every path, and one rule decides JPEG or PNG for storage, export fits and model
requests alike."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import struct
import zlib
from pathlib import Path

import datasets
import duckdb
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFile

from atlas_data.config import RunConfig
from atlas_data.llm.client import Prompt, encode_data_url, image_digest
from atlas_data.ops import image_io
from atlas_data.ops.image_io import (
    Storage,
    choose_format,
    data_url,
    encode_image,
    fit,
    load_image,
    pixels_digest,
    probe,
    request_image,
)
from atlas_data.rejections import Rejection
from atlas_data.run.driver import run
from atlas_data.sources.base import SourceSample, content_id
from atlas_data.sources.hf import HFSource
from atlas_data.sources.local import LocalSource
from atlas_data.sources.options import RecordOptions
from atlas_data.sources.records import RecordAdapter
from tests.realdata_helpers import encode, scene
from tests.runs import run_folder

QUESTION = "What code is printed on the white tag?"


def diagram(size: tuple[int, int] = (900, 640)) -> Image.Image:
    img = Image.new("RGB", size, (250, 250, 245))
    draw = ImageDraw.Draw(img)
    draw.rectangle((60, 80, 300, 400), fill=(40, 90, 200))
    draw.line((50, 560, 850, 470), fill=(20, 20, 20), width=3)
    draw.text((500, 520), "Q3 revenue 42", fill=(0, 0, 0))
    return img


def noise(size: tuple[int, int] = (640, 480), seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def photo(size: tuple[int, int] = (800, 600)) -> Image.Image:
    """Smooth gradients under camera grain: textured, as a photograph is."""
    w, h = size
    x, y = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    base = np.stack([200 * x + 30, 150 * y + 50, 120 * (1 - x) + 60], axis=2)
    grain = np.random.default_rng(3).normal(0, 12, base.shape)
    return Image.fromarray((base + grain).clip(0, 255).astype(np.uint8))


def exif_jpeg(upright: Image.Image, orientation: int = 6) -> bytes:
    """A JPEG stored on its side, with the EXIF orientation that shows it as ``upright``."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = upright.transpose(Image.Transpose.ROTATE_90) if orientation == 6 else upright
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes())


def png_with_trailing_exif(upright: Image.Image) -> bytes:
    """A PNG stored on its side whose orientation 6 sits in an ``eXIf`` chunk after the
    pixels (allowed by the PNG extension: anywhere but between IDATs)."""
    data = encode(upright.transpose(Image.Transpose.ROTATE_90))
    exif = Image.Exif()
    exif[0x0112] = 6
    payload = exif.tobytes()[6:]  # without "Exif\0\0": the chunk holds the TIFF header
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + payload) & 0xFFFFFFFF)
    iend = data.rindex(b"IEND") - 4
    return data[:iend] + chunk + data[iend:]


def decoded(url: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))


# ---------------------------------------------------------------- probed once, decoded once


class Counts:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opens = self.loads = 0
        real_open, real_load = Image.open, ImageFile.ImageFile.load

        def counting_open(*args, **kwargs):
            self.opens += 1
            return real_open(*args, **kwargs)

        def counting_load(img):
            self.loads += 1
            return real_load(img)

        monkeypatch.setattr(Image, "open", counting_open)
        monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)


def local_source(tmp_path: Path, files: dict[str, bytes], box: list[int]) -> LocalSource:
    lines = []
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        lines.append({"image": name, "question": QUESTION, "answer": "K001", "bbox": box})
    questions = tmp_path / "q.jsonl"
    questions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return LocalSource(root=str(tmp_path), questions=str(questions))


@pytest.mark.parametrize("kind", ["jpeg", "png", "exif_jpeg", "trailing_exif_png"])
def test_a_local_record_is_opened_once_and_not_decoded(tmp_path, monkeypatch, kind):
    img, box, _ = scene(1, (640, 480))
    data = {
        "jpeg": lambda: encode(img, "JPEG", quality=90),
        "png": lambda: encode(img),
        "exif_jpeg": lambda: exif_jpeg(img),
        "trailing_exif_png": lambda: png_with_trailing_exif(img),
    }[kind]()
    ext = "jpg" if "jpeg" in kind else "png"
    source = local_source(tmp_path, {f"a.{ext}": data}, box)
    counts = Counts(monkeypatch)
    sample = source.sample(0)
    assert isinstance(sample, SourceSample), sample
    assert counts.opens == 1  # one header parse: file checks and the boxes' frame
    # no pixels decoded, except where PIL must read past the pixels to find the EXIF
    assert counts.loads == (1 if kind == "trailing_exif_png" else 0)
    assert sample.image == data  # handed on as the file's bytes
    assert sample.annotations["boxes"] == [box]  # boxes read on the upright image
    assert load_image(data).image.size == (640, 480)


@pytest.mark.parametrize(
    "data",
    [
        encode(diagram()),
        encode(photo(), "JPEG", quality=90),
        exif_jpeg(photo()),
        exif_jpeg(photo(), orientation=1),
        png_with_trailing_exif(diagram()),
        encode(diagram().convert("RGBA")),
    ],
    ids=["png", "jpeg", "exif6", "exif1", "trailing-exif-png", "rgba"],
)
def test_the_probe_and_the_decoder_agree_on_the_upright_size(data):
    found = probe(data)
    assert found is not None
    loaded = load_image(data)
    assert found.upright_size() == loaded.image.size
    turned = found.upright_size() != found.size
    # bytes are kept as given exactly when they are already the upright RGB image
    kept = not turned and found.mode == "RGB"
    assert (loaded.original == data) is kept


def test_an_hf_record_with_bytes_is_stored_as_the_datasets_bytes(tmp_path):
    rows: dict[str, list] = {"image": [], "question": [], "answer": [], "bbox": []}
    for i in range(3):
        img, box, code = scene(i)
        rows["image"].append({"bytes": encode(img, "JPEG", quality=92), "path": f"s{i}.jpg"})
        rows["question"].append(f"{QUESTION} ({i})")
        rows["answer"].append(code)
        rows["bbox"].append([float(v) for v in box])
    features = datasets.Features(
        {
            "image": datasets.Image(),
            "question": datasets.Value("string"),
            "answer": datasets.Value("string"),
            "bbox": datasets.Sequence(datasets.Value("float64")),
        }
    )
    datasets.Dataset.from_dict(rows, features=features).save_to_disk(str(tmp_path / "ds"))
    opts = {"dataset": str(tmp_path / "ds")}
    source = HFSource.from_options(opts)
    given = {}
    for i in range(3):
        sample = source.sample(i)
        assert isinstance(sample, SourceSample)
        assert sample.image == rows["image"][i]["bytes"]  # not re-encoded on the way
        assert load_image(sample.image).original == sample.image
        given[sample.id] = sample.image
    config = RunConfig(split="sft", n=3, source="hf", source_options=opts, out=str(tmp_path))
    run(config)
    stored = duckdb.sql(
        f"select id, images[1].bytes from '{run_folder(config)}/sft/*.parquet'"
    ).fetchall()
    assert stored
    for sid, data in stored:
        assert data == given[sid]


def test_an_image_a_dataset_decoded_is_kept_as_it_is():
    names = ["image", "question", "answer", "bbox"]
    adapter = RecordAdapter.build(RecordOptions(), names, "hf/test", lambda v: (v, ""))
    pil = diagram()
    record = {"image": pil, "question": QUESTION, "answer": "42", "bbox": [60, 80, 300, 400]}
    item = adapter.item(record, 0)
    assert isinstance(item, SourceSample)
    assert item.image is pil  # no PNG round trip
    assert item.id == content_id(pixels_digest(pil), QUESTION)
    loaded = load_image(pil)
    assert loaded.sha256 == pixels_digest(pil) and loaded.original is None
    assert item.annotations["boxes"] == [[60, 80, 300, 400]]
    with pytest.raises(Rejection) as refused:  # the decoder's checks apply to it too
        load_image(Image.new("RGB", (5000, 20)))
    assert refused.value.reason == "extreme_aspect"


# ---------------------------------------------------------------- one EXIF turn


def test_exif_orientation_is_applied_by_one_function_on_every_path(monkeypatch):
    upright_img = photo((400, 300))
    data = exif_jpeg(upright_img)
    calls: list[tuple[int, int]] = []
    real = image_io.upright

    def spy(img):
        calls.append(img.size)
        return real(img)

    monkeypatch.setattr(image_io, "upright", spy)
    loaded = load_image(data)  # storage's path
    sent = decoded(data_url(Image.open(io.BytesIO(data)), 1024))  # a model request's path
    assert calls == [(300, 400), (300, 400)]  # both turned the stored (sideways) image
    assert loaded.image.size == sent.size == (400, 300)

    def coarse(img: Image.Image) -> np.ndarray:  # the gradients, without the grain
        return np.asarray(img.convert("RGB").resize((40, 30), Image.Resampling.BOX), float)

    assert np.abs(coarse(loaded.image) - coarse(sent)).mean() < 3  # the same way up
    assert np.abs(coarse(upright_img) - coarse(sent)).mean() < 3
    assert np.abs(coarse(upright_img.rotate(180)) - coarse(sent)).mean() > 30
    assert loaded.original is None  # a turned JPEG is re-encoded upright, never kept as is


# ---------------------------------------------------------------- one JPEG/PNG rule


CASES = {
    "diagram": diagram(),
    "noise": noise(),
    "photo": photo(),
    "tiny-flat": Image.new("RGB", (9, 9), "red"),
    "tiny-noise": noise((12, 12), 4),
    "tall-diagram": diagram((40, 1900)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_storage_and_model_requests_decide_by_the_same_rule(name):
    img = CASES[name]
    stored = Storage.measure(img, "auto").fmt
    data, mime = request_image(img, max(img.size))
    assert mime == f"image/{stored}"
    assert Image.open(io.BytesIO(data)).format == {"png": "PNG", "jpeg": "JPEG"}[stored]
    assert encode_data_url(img, max(img.size)).startswith(f"data:image/{stored};")
    expected = {"diagram": "png", "noise": "jpeg", "photo": "jpeg", "tiny-flat": "png"}
    assert stored == expected.get(name, stored)


def test_export_fits_decide_by_the_same_rule():
    flat, grainy = diagram((2000, 1400)), photo((2000, 1500))
    for img, policy in ((flat, "auto"), (grainy, "auto"), (grainy, "png"), (flat, "webp")):
        stored_fmt = Storage.measure(img, policy).fmt
        fitted = fit(encode_image(img, stored_fmt, policy), 1024, None, policy)
        assert fitted.data is not None and max(fitted.size) == 1024
        assert fitted.fmt == stored_fmt  # a photograph stays one, a diagram stays lossless
        assert Image.open(io.BytesIO(fitted.data)).size == fitted.size
    # a JPEG stays a JPEG whatever it shows; a textured PNG kept as given becomes one
    assert fit(encode(flat, "JPEG"), 512, None).fmt == "jpeg"
    assert fit(encode(grainy), 512, None).fmt == "jpeg"
    small = encode(flat.resize((500, 350)))
    assert fit(small, 1024, None).data is None  # fits: its bytes go out untouched
    assert choose_format(grainy, "png") == "png"


def test_the_teacher_cache_key_is_unchanged():
    img = Image.new("RGB", (4, 4), "red")
    expected = hashlib.sha256(b"RGB(4, 4):1024:90")
    expected.update(img.tobytes())
    assert image_digest(img, 1024) == expected.hexdigest()  # q90 is still named in the key
    prompt = Prompt(messages=[], max_side=1024)
    prompt.messages = [{"role": "user", "content": [prompt.add_image(photo())]}]
    url = prompt.materialize()[0]["content"][0]["image_url"]["url"]
    assert url == data_url(photo(), 1024) and url.startswith("data:image/jpeg;")
