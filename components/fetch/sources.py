"""Where datasets come from: URI parsing, reading tables and deriving a data version.

Supported URIs:
    sample://digits                       scikit-learn's bundled digits (the default)
    sample://diabetes                     scikit-learn's bundled diabetes (regression)
    sample://synthetic?rows=N&features=F&classes=C[&seed=S]   make_classification, seeded
    sample://mixed?rows=N&seed=S          a business table: numeric, boolean and text columns
                                          with missing values, a "yes"/"no" label (seeded)
    /path/file.csv, file:///path/dir      a CSV or Parquet file, or a directory of them
    gs://bucket/prefix                    CSV or Parquet objects under a Cloud Storage prefix
"""

from __future__ import annotations

import hashlib
import importlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, urlparse

from freshet.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

TABLE_SUFFIXES = (".csv", ".parquet")
SYNTHETIC_LIMITS = {"rows": 50_000_000, "features": 10_000, "classes": 1_000}


class StorageClient(Protocol):
    """The part of `google.cloud.storage.Client` that fetch uses."""

    def list_blobs(self, bucket_or_name: Any, prefix: str | None = None) -> Any:
        """Lists the objects under a prefix."""


@dataclass(frozen=True)
class Source:
    """A parsed data URI."""

    uri: str
    kind: str  # "sample", "local" or "gcs"
    location: str  # sample name, local path, or bucket name
    prefix: str = ""
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TablePart:
    """One file or object of a dataset, with what identifies its content."""

    name: str
    identity: str  # content hash for local files, generation number for GCS objects
    read: Any  # callable returning the bytes


def parse_uri(uri: str) -> Source:
    """Parses a data URI.

    Args:
        uri: The dataset URI given by the user.

    Returns:
        The parsed source.

    Raises:
        DataError: The URI is empty or its scheme is not supported.
    """
    if not uri or not uri.strip():
        raise DataError("The data URI is empty; give a path, file://, gs:// or sample:// URI.")
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower()
    if scheme == "sample":
        options = tuple(sorted((k, v[-1]) for k, v in parse_qs(parsed.query).items()))
        return Source(uri=uri, kind="sample", location=parsed.netloc, options=options)
    if scheme == "gs":
        if not parsed.netloc:
            raise DataError(f"The Cloud Storage URI '{uri}' names no bucket.")
        return Source(uri=uri, kind="gcs", location=parsed.netloc, prefix=parsed.path.lstrip("/"))
    if scheme == "file":
        return Source(uri=uri, kind="local", location=parsed.path)
    if scheme == "" or (len(scheme) == 1 and uri[1:3] in (":\\", ":/")):
        return Source(uri=uri, kind="local", location=uri)
    raise DataError(
        f"Unknown data URI scheme '{parsed.scheme}' in '{uri}'; "
        "use a local path, file://, gs:// or sample://."
    )


def _local_parts(source: Source) -> list[TablePart]:
    path = Path(source.location).expanduser()
    if not path.exists():
        raise DataError(f"Data file not found: '{path}'.")
    if path.is_file():
        files = [path]
    else:
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in TABLE_SUFFIXES)
        if not files:
            raise DataError(f"The directory '{path}' holds no CSV or Parquet files.")
    parts = []
    for file in files:
        if file.suffix not in TABLE_SUFFIXES:
            raise DataError(f"The file '{file}' is neither CSV nor Parquet (.csv or .parquet).")
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        name = file.name if file == path else str(file.relative_to(path))
        parts.append(TablePart(name=name, identity=digest, read=file.read_bytes))
    return parts


def _gcs_parts(source: Source, client: StorageClient | None) -> list[TablePart]:
    if client is None:
        # Imported by name: the package ships no type information for mypy.
        storage = importlib.import_module("google.cloud.storage")
        client = storage.Client()
    blobs = [
        b
        for b in client.list_blobs(source.location, prefix=source.prefix or None)
        if b.name.endswith(TABLE_SUFFIXES)
    ]
    if not blobs:
        raise DataError(f"No CSV or Parquet objects found under '{source.uri}'.")
    blobs.sort(key=lambda b: b.name)
    return [
        TablePart(name=b.name, identity=str(b.generation), read=b.download_as_bytes) for b in blobs
    ]


SAMPLES = ("digits", "diabetes", "synthetic", "mixed")
SAMPLE_DEFAULTS: dict[str, dict[str, int]] = {
    "synthetic": {"rows": 10_000, "features": 20, "classes": 2, "seed": 0},
    "mixed": {"rows": 2_000, "seed": 0},
}


def _sample_options(source: Source) -> dict[str, int]:
    values = dict(SAMPLE_DEFAULTS.get(source.location, {}))
    known = set(values)
    for key, raw in source.options:
        if key not in known:
            takes = f"use {sorted(known)}" if known else "it takes none"
            raise DataError(f"Unknown option '{key}' in '{source.uri}'; {takes}.")
        try:
            values[key] = int(raw)
        except ValueError:
            raise DataError(
                f"Option '{key}' in '{source.uri}' is not an integer: '{raw}'."
            ) from None
    for key, limit in SYNTHETIC_LIMITS.items():
        if key in values and not 1 <= values[key] <= limit:
            raise DataError(
                f"Option '{key}' in '{source.uri}' must be between 1 and {limit}: {values[key]}."
            )
    if values.get("classes", 2) < 2:
        raise DataError(f"A synthetic dataset needs at least 2 classes: '{source.uri}'.")
    return values


def _mixed_table(rows: int, seed: int) -> pd.DataFrame:
    """A customer table whose "yes"/"no" label follows a noisy rule over every kind of column."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    plans = np.array(["basic", "standard", "premium", "enterprise"])
    regions = np.array(["north", "south", "east", "west", "central"])
    tenure = rng.integers(1, 73, rows)
    spend = np.round(rng.lognormal(4.0, 0.5, rows), 2)
    tickets = rng.poisson(1.5, rows)
    age = np.clip(np.round(rng.normal(42.0, 12.0, rows)), 18, 90)
    discount = rng.random(rows) < 0.3
    plan = plans[rng.choice(4, rows, p=[0.4, 0.3, 0.2, 0.1])]
    region = regions[rng.integers(0, 5, rows)].astype(object)
    score = (
        0.9 * tickets
        - 0.06 * tenure
        + 0.012 * (spend - 55.0)
        - 1.2 * discount
        + np.select([plan == "basic", plan == "enterprise"], [1.0, -1.2], 0.0)
        + np.where(region == "south", 0.9, 0.0)
        + 0.5
        + rng.logistic(0.0, 0.5, rows)
    )
    # Missing values come after the label is drawn: the label depends on what they hid.
    spend_missing = rng.random(rows) < 0.05
    age_missing = rng.random(rows) < 0.03
    region_missing = rng.random(rows) < 0.08
    return pd.DataFrame(
        {
            "tenure_months": tenure,
            "monthly_spend": np.where(spend_missing, np.nan, spend),
            "support_tickets": tickets,
            "age": np.where(age_missing, np.nan, age),
            "has_discount": discount,
            "plan": plan.tolist(),
            "region": np.where(region_missing, np.array(None), region).tolist(),
            "label": np.where(score > 0.0, "yes", "no").tolist(),
        }
    )


def _sample_table(source: Source) -> pd.DataFrame:
    import pandas as pd

    if source.location not in SAMPLES:
        raise DataError(
            f"Unknown sample dataset '{source.location}' in '{source.uri}'; "
            f"use {', '.join(f'sample://{name}' for name in SAMPLES)}."
        )
    opts = _sample_options(source)
    if source.location == "digits":
        from sklearn.datasets import load_digits

        frame: pd.DataFrame = load_digits(as_frame=True).frame
        return frame.rename(columns={"target": "label"})
    if source.location == "diabetes":
        from sklearn.datasets import load_diabetes

        frame = load_diabetes(as_frame=True).frame
        return frame.rename(columns={"target": "label"})
    if source.location == "mixed":
        return _mixed_table(opts["rows"], opts["seed"])
    import numpy as np
    from sklearn.datasets import make_classification

    informative = max(2, min(opts["features"], max(2, opts["features"] // 2)))
    x, y = make_classification(
        n_samples=opts["rows"],
        n_features=max(opts["features"], informative),
        n_informative=informative,
        n_redundant=0,
        n_classes=opts["classes"],
        n_clusters_per_class=1,
        random_state=opts["seed"],
    )
    columns = [f"f{i}" for i in range(x.shape[1])]
    frame = pd.DataFrame(x.astype(np.float32), columns=columns)
    frame["label"] = y
    return frame


def _parts(source: Source, client: StorageClient | None) -> list[TablePart]:
    if source.kind == "local":
        return _local_parts(source)
    return _gcs_parts(source, client)


def data_version(uri: str, client: StorageClient | None = None) -> str:
    """Derives the data version: it changes whenever the content changes.

    Local files are hashed by content; Cloud Storage objects by name and generation number
    (a new upload of the same name gets a new generation); samples by their parameters and
    the release of the library that generates them (scikit-learn, or numpy for `mixed`).

    Args:
        uri: The dataset URI.
        client: Storage client for gs:// URIs; a default client is made when None.

    Returns:
        A string such as ``sha256-0123456789abcdef``.
    """
    source = parse_uri(uri)
    digest = hashlib.sha256()
    if source.kind == "sample":
        from importlib.metadata import version

        if source.location not in SAMPLES:
            _sample_table(source)  # raises the unknown-sample error
        _sample_options(source)
        maker = "numpy" if source.location == "mixed" else "scikit-learn"
        digest.update(f"{source.location}|{source.options}|{maker}-{version(maker)}".encode())
    else:
        for part in _parts(source, client):
            digest.update(f"{part.name}\0{part.identity}\n".encode())
    return f"sha256-{digest.hexdigest()[:16]}"


def _read_part(part: TablePart, uri: str) -> pd.DataFrame:
    import pandas as pd

    raw = part.read()
    try:
        if part.name.endswith(".parquet"):
            return pd.read_parquet(io.BytesIO(raw))
        return pd.read_csv(io.BytesIO(raw))
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except Exception as exc:  # parser errors vary by format and library version
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"Could not read '{part.name}' of '{uri}': {reason}.") from None


def iter_tables(uri: str, client: StorageClient | None = None) -> Iterator[pd.DataFrame]:
    """Yields the tables that make up a dataset, one per file or object.

    Args:
        uri: The dataset URI.
        client: Storage client for gs:// URIs.

    Yields:
        One pandas DataFrame per file, in name order.
    """
    source = parse_uri(uri)
    if source.kind == "sample":
        yield _sample_table(source)
        return
    for part in _parts(source, client):
        yield _read_part(part, uri)


def load_table(uri: str, client: StorageClient | None = None) -> pd.DataFrame:
    """Reads a whole dataset into one DataFrame.

    Args:
        uri: The dataset URI.
        client: Storage client for gs:// URIs.

    Returns:
        The concatenated table (empty when every file is empty).
    """
    import pandas as pd

    tables = [t for t in iter_tables(uri, client) if len(t.columns)]
    if not tables:
        return pd.DataFrame()
    if len(tables) == 1:
        return tables[0]
    return pd.concat(tables, ignore_index=True)
