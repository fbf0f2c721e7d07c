"""``--source hf``: a Hugging Face dataset — a hub name, a ``save_to_disk`` folder, Parquet
files or any folder ``datasets.load_dataset`` reads — with a column map.

Image columns are read *undecoded* (``Image(decode=False)``): the bytes go through the
pipeline's own decoder, which refuses bombs, truncation and the like with a reason, where
letting ``datasets`` decode would crash the run on the first broken file. Bytes are handed
on as the dataset holds them; an image ``datasets`` decoded anyway (a column that is not an
``Image`` feature) is handed on as that image, never re-encoded. Without
streaming the dataset is random access, so every shard reads only its own rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image

from atlas_data.rejections import Rejection
from atlas_data.sources.base import SourceItem
from atlas_data.sources.local import read_inside
from atlas_data.sources.options import RecordOptions, flag, record_options
from atlas_data.sources.records import RecordAdapter

OPTIONS = ("dataset", "split", "config", "streaming", "data_dir")


def _is_saved_to_disk(path: Path) -> bool:
    return path.is_dir() and (
        (path / "dataset_info.json").exists()
        or (path / "state.json").exists()
        or (path / "dataset_dict.json").exists()
    )


def load_hf(dataset: str, split: str, config: str | None, streaming: bool) -> Any:
    """Open the dataset the way its location calls for; errors say what to pass instead."""
    import datasets

    path = Path(dataset).expanduser()
    try:
        if _is_saved_to_disk(path):
            ds: Any = datasets.load_from_disk(str(path))
            if isinstance(ds, datasets.DatasetDict):
                if split not in ds:
                    raise ValueError(
                        f"split {split!r} not in {dataset}; splits are {list(ds)} (pass split=...)"
                    )
                ds = ds[split]
            return ds.to_iterable_dataset() if streaming else ds
        files: list[str] = []
        if path.is_file() and path.suffix == ".parquet":
            files = [str(path)]
        elif path.is_dir() and not (path / "README.md").exists():
            files = sorted(str(p) for p in path.rglob("*.parquet"))
        elif any(ch in dataset for ch in "*?") and dataset.endswith(".parquet"):
            files = sorted(str(p) for p in Path().glob(dataset)) or [dataset]
        if files:
            return datasets.load_dataset(
                "parquet", data_files={split: files}, split=split, streaming=streaming
            )
        if path.exists() or dataset.startswith((".", "/", "~")):
            if not path.exists():
                raise ValueError(f"dataset path {dataset} does not exist")
            return datasets.load_dataset(str(path), config, split=split, streaming=streaming)
        return datasets.load_dataset(dataset, config, split=split, streaming=streaming)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - turn loader errors into one clear message
        raise ValueError(
            f"cannot open dataset {dataset!r} (split={split!r}, config={config!r}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc


class HFSource:
    """Rows of a Hugging Face dataset as samples, in dataset order."""

    name = "hf"

    def __init__(
        self,
        dataset: str,
        split: str = "train",
        config: str | None = None,
        streaming: bool = False,
        data_dir: str | None = None,
        records: RecordOptions | None = None,
    ) -> None:
        import datasets

        if not dataset:
            raise ValueError("--source hf needs a dataset: --dataset NAME_OR_PATH")
        self.dataset, self.split, self.config, self.streaming = dataset, split, config, streaming
        ds = load_hf(dataset, split, config, streaming)
        names = list(ds.column_names or (ds.features or {}).keys())
        local = Path(dataset).expanduser()
        self.options = records or RecordOptions()
        self.label = self.options.label or (local.stem if local.exists() else dataset)
        self.adapter = RecordAdapter.build(
            self.options, names, f"hf/{self.label}", self._read_image
        )
        self.columns = self.adapter.columns
        for image_column in self.adapter.image_columns:
            feature = (ds.features or {}).get(image_column)
            if isinstance(feature, datasets.Image):
                ds = ds.cast_column(image_column, datasets.Image(decode=False))
            elif isinstance(getattr(feature, "feature", None), datasets.Image):  # a list
                list_type: Any = type(feature)
                undecoded = list_type(datasets.Image(decode=False))
                ds = ds.cast_column(image_column, undecoded)
        self.ds = ds
        base = data_dir or (
            str(local if local.is_dir() else local.parent) if local.exists() else None
        )
        self.root = Path(base).resolve() if base else None
        if not streaming:
            self.sample = self._sample

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> HFSource:
        own, shared = record_options(options, OPTIONS, "hf")
        return cls(
            dataset=str(own.get("dataset") or ""),
            split=str(own.get("split", "train")),
            config=str(own["config"]) if own.get("config") else None,
            streaming=flag(own.get("streaming", False), "streaming"),
            data_dir=str(own["data_dir"]) if own.get("data_dir") else None,
            records=shared,
        )

    def __len__(self) -> int:
        return len(self.ds) if not self.streaming else 0

    def _read_image(self, value: Any) -> tuple[bytes | Image.Image, str]:
        """The image as the dataset holds it: its bytes as they are (never re-encoded), or
        an image ``datasets`` already decoded, as it is (the run decodes bytes once)."""
        if value is None:
            raise Rejection("missing_image", "the image column is empty")
        if isinstance(value, (bytes, bytearray)):
            return bytes(value), ""
        if isinstance(value, dict):
            data, path = value.get("bytes"), value.get("path") or ""
            if data is not None:  # b"" too: the decoder reports it as an empty file
                return bytes(data), str(path)
            if path:
                return self._read_path(str(path))
            raise Rejection("missing_image", "image struct has neither bytes nor path")
        if isinstance(value, str):
            return self._read_path(value)
        if isinstance(value, Image.Image):  # already decoded: kept, not round-tripped
            return value, ""
        raise Rejection("missing_image", f"cannot read an image from a {type(value).__name__}")

    def _read_path(self, path: str) -> tuple[bytes, str]:
        """Relative paths resolve inside the dataset folder; absolute ones (the ``datasets``
        cache) are read as they are."""
        if not Path(path).is_absolute():
            if self.root is None:
                raise Rejection("missing_image", f"relative image path {path!r} and no data_dir")
            return read_inside(self.root, path, self.adapter.policy.max_file_bytes)
        try:
            return Path(path).read_bytes(), Path(path).name
        except OSError as exc:
            raise Rejection("missing_image", f"cannot read {path}: {exc}") from exc

    def _sample(self, i: int) -> SourceItem:
        return self.adapter.item(self.ds[i], i)

    def __iter__(self) -> Iterator[SourceItem]:
        for i, record in enumerate(self.ds):
            yield self.adapter.item(record, i)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dataset": self.dataset,
            "split": self.split,
            "config": self.config,
            "streaming": self.streaming,
            **self.adapter.describe(),
        }
