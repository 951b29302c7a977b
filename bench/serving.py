"""Serving: the ONNX bundle under `freshet serve` vs the same model in PyTorch inside FastAPI.

In one run, on one model (the built-in MLP's default architecture, 2 x 128 units, trained
briefly here on the digits sample; its imputation and scaling are part of the module), it
starts two servers as separate processes on loopback:
  1. `freshet serve BUNDLE` (onnxruntime; what the serving image runs): the module exported
     to ONNX as a contract model, packaged by the package step;
  2. the baseline: PyTorch in FastAPI as a user writes it (a pydantic body of instances, the
     module itself with torch imported and one intra-op thread like onnxruntime, a list of
     dicts back; uvicorn's defaults, which take httptools and uvloop when installed, as here);
     BENCH_BASELINE=freshet-app puts freshet's own app around the torch module instead;
  3. the peers a user would pick instead, serving the same ONNX file with onnxruntime (one
     intra-op thread) behind the same {"instances"} protocol: KServe's Python model server
     (`kserve.Model`, POST /v1/models/model:predict) and MLServer (an `MLModel` with a custom
     POST /predict handler). They run from their own virtual environments under
     bench/.peers/ (their pins conflict with freshet's and with each other), created here on
     first use with pip; a peer that cannot be installed is named in one sentence and skipped.
  4. the limit: the same onnxruntime session called in this process (no HTTP, no JSON).
It measures, alternating between them for several rounds: seconds from process start to the
first correct answer, p50/p99 latency and requests/s of sequential single-instance
requests and of batches of 64, and resident memory; then prints the table and every ratio.

Usage: .venv/bin/python bench/serving.py [--requests N] [--rounds N] [--no-peers]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]


HIDDEN_UNITS, HIDDEN_LAYERS = 128, 2  # TrainConfig's defaults


def mlp_module(work: Path) -> Any:
    """The digits MLP with its preprocessing (median imputation, standardisation) and softmax.

    Trained for a few epochs on the train split of `work/dataset`; the weights are saved in
    `work/mlp.pt` for the baseline.
    """
    import pandas as pd
    import torch

    from freshet.components.fetch.core import DatasetSchema

    schema = DatasetSchema.load(work / "dataset")
    train = pd.read_parquet(work / "dataset" / "train.parquet")
    x = torch.tensor(train[schema.features].to_numpy(dtype=np.float32))
    y = torch.tensor([schema.labels.index(str(v)) for v in train[schema.label_column]])
    module = _classifier()(len(schema.features), len(schema.labels))
    module.fit_preprocessing(x)
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(module.network.parameters(), lr=1e-3)
    for _ in range(5):
        for batch in torch.randperm(len(x)).split(64):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(module.logits(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
    torch.save(module.state_dict(), work / "mlp.pt")
    return module.eval()


def _classifier() -> Any:
    """The module class (defined in a function: torch is imported only when it is needed)."""
    import torch
    from torch import nn

    class Classifier(nn.Module):
        median: torch.Tensor
        mean: torch.Tensor
        scale: torch.Tensor

        def __init__(self, n_features: int, n_classes: int) -> None:
            super().__init__()
            layers: list[nn.Module] = []
            width = n_features
            for _ in range(HIDDEN_LAYERS):
                layers += [nn.Linear(width, HIDDEN_UNITS), nn.ReLU()]
                width = HIDDEN_UNITS
            self.network = nn.Sequential(*layers, nn.Linear(width, n_classes))
            for name in ("median", "mean", "scale"):
                self.register_buffer(name, torch.zeros(n_features))

        def fit_preprocessing(self, x: torch.Tensor) -> None:
            self.median = x.nanmedian(dim=0).values
            filled = torch.where(x.isnan(), self.median, x)
            self.mean = filled.mean(dim=0)
            std = filled.std(dim=0, unbiased=False)
            self.scale = torch.where(std > 0, std, torch.ones_like(std))

        def logits(self, x: torch.Tensor) -> torch.Tensor:
            filled = torch.where(x.isnan(), self.median, x)
            return self.network((filled - self.mean) / self.scale)  # type: ignore[no-any-return]

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.logits(x), dim=1)

    return Classifier


def idiomatic_app(model: Any) -> Any:
    """What a user writes: FastAPI, a pydantic body, the model, a dict back (no freshet code)."""
    from fastapi import FastAPI
    from pydantic import BaseModel

    class Body(BaseModel):
        instances: list[list[float | None]]

    app = FastAPI()
    labels = model.signature.labels

    def predict(body: Body) -> dict[str, Any]:
        x = np.array(body.instances, dtype=np.float32)  # None -> NaN
        probabilities = model.run({"numeric": x})
        return {
            "predictions": [
                {
                    "label": labels[int(row.argmax())],
                    "probabilities": dict(zip(labels, row.tolist(), strict=True)),
                }
                for row in probabilities
            ]
        }

    # This module's `from __future__ import annotations` leaves strings FastAPI cannot resolve.
    predict.__annotations__ = {"body": Body, "return": dict[str, Any]}
    app.post("/predict")(predict)
    return app


def serve_torch(bundle: str, work: str) -> None:
    """The baseline server (run in its own process): PyTorch behind the same FastAPI app."""
    import torch
    import uvicorn

    from freshet.serving.app import ServingSettings, create_app
    from freshet.serving.signature import load_signature

    torch.set_num_threads(1)
    signature = load_signature(bundle)
    module = _classifier()(len(signature.features), len(signature.labels))
    module.load_state_dict(torch.load(Path(work) / "mlp.pt", weights_only=True))
    module.eval()

    class TorchModel:
        def __init__(self) -> None:
            self.signature = signature

        def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
            with torch.no_grad():
                result: np.ndarray = module(torch.from_numpy(feeds["numeric"])).numpy()
            return result

    settings = ServingSettings()
    if os.environ.get("BENCH_BASELINE") == "freshet-app":  # the same app, torch as the model
        app = create_app(TorchModel(), settings)
    else:
        app = idiomatic_app(TorchModel())
    uvicorn.run(
        app, host="127.0.0.1", port=settings.http_port, log_level="warning", access_log=False
    )


PEERS = Path(__file__).resolve().parent / ".peers"

# The peers' model: the bundle's ONNX file on onnxruntime, answering {"instances": [[...]]}
# with {"predictions": [{"label", "probabilities"}]} as freshet serve does.
_PEER_MODEL = """
import json, sys
import numpy as np
import onnxruntime as ort

BUNDLE, PORT = sys.argv[1], int(sys.argv[2])
SIGNATURE = json.load(open(BUNDLE + "/signature.json"))
LABELS = [str(label) for label in SIGNATURE["labels"]]


def session():
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        BUNDLE + "/model.onnx", sess_options=options, providers=["CPUExecutionProvider"]
    )


def answer(sess, instances):
    x = np.asarray(instances, dtype=np.float32)
    out = sess.run(None, {"numeric": x})[0]
    return {
        "predictions": [
            {"label": LABELS[i], "probabilities": dict(zip(LABELS, row))}
            for i, row in zip(out.argmax(axis=1).tolist(), out.tolist())
        ]
    }
"""

_KSERVE = (
    _PEER_MODEL
    + """
from kserve import Model, ModelServer


class OnnxModel(Model):
    def __init__(self):
        super().__init__("model")
        self.session = session()
        self.ready = True

    def predict(self, payload, headers=None):
        return answer(self.session, payload["instances"])


ModelServer(http_port=PORT, workers=1, enable_grpc=False).start([OnnxModel()])
"""
)

_MLSERVER_MODEL = (
    _PEER_MODEL.replace(
        "BUNDLE, PORT = sys.argv[1], int(sys.argv[2])",
        "import os\nBUNDLE, PORT = os.environ['PEER_BUNDLE'], 0",
    )
    + """
from fastapi import Request
from mlserver import MLModel
from mlserver.handlers import custom_handler


class OnnxModel(MLModel):
    async def load(self):
        self.session = session()
        return True

    @custom_handler(rest_path="/predict")
    async def instances(self, request: Request):
        return answer(self.session, (await request.json())["instances"])
"""
)


def peer_python(name: str) -> Path | None:
    """The interpreter of a peer's own virtual environment, installed on first use, or None."""
    venv = PEERS / name
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.exists():
        return python
    PEERS.mkdir(exist_ok=True)
    log = PEERS / f"{name}.install.log"
    with log.open("w") as out:
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            [str(python), "-m", "pip", "install", "-q", name, "onnxruntime", "numpy"],
        ]
        for step in steps:
            if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                last = (log.read_text().strip().splitlines() or ["no output"])[-1]
                print(
                    f"{name} could not be installed from the package index here ({last}); "
                    "the table goes on without it."
                )
                return None
    marker.touch()
    return python


def peer_servers(bundle: Path, work: Path) -> list[Server]:
    """The peers that are installed (or install now), as servers to measure."""
    servers = []
    kserve = peer_python("kserve")
    if kserve is not None:
        script = work / "peer_kserve.py"
        script.write_text(_KSERVE)
        servers.append(
            Server(
                "KServe (onnxruntime)",
                [str(kserve), str(script), str(bundle), "{port}"],
                "/v1/models/model:predict",
            )
        )
    mlserver = peer_python("mlserver")
    if mlserver is not None:
        folder = work / "mlserver"
        folder.mkdir(exist_ok=True)
        (folder / "peer_mlserver.py").write_text(_MLSERVER_MODEL)
        (folder / "model-settings.json").write_text(
            json.dumps({"name": "model", "implementation": "peer_mlserver.OnnxModel"})
        )
        servers.append(
            Server(
                "MLServer (onnxruntime)",
                [str(mlserver.parent / "mlserver"), "start", str(folder)],
                "/predict",
                env={
                    "PEER_BUNDLE": str(bundle),
                    "MLSERVER_HTTP_PORT": "{port}",
                    "MLSERVER_GRPC_PORT": "{port2}",
                    "MLSERVER_METRICS_PORT": "{port3}",
                    "MLSERVER_PARALLEL_WORKERS": "0",
                    "PYTHONPATH": str(folder),
                },
            )
        )
    return servers


def in_process(bundle: Path, singles: list[np.ndarray], batches: list[np.ndarray], count: int):
    """The limit: the same onnxruntime session called here, no HTTP or JSON."""
    from freshet.serving.model import load_bundle

    model = load_bundle(bundle)
    result = {}
    for key, inputs, n in (("one", singles, count), ("many", batches, max(1, count // 5))):
        for x in inputs[:20]:
            model.run({"numeric": x})
        times = []
        started = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            model.run({"numeric": inputs[i % len(inputs)]})
            times.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
        ms = np.asarray(times) * 1000
        result[key] = {
            "p50": float(np.percentile(ms, 50)),
            "p99": float(np.percentile(ms, 99)),
            "rps": n / elapsed,
        }
    return result


def build(work: Path) -> Path:
    """Fetches the digits sample, trains the MLP briefly, exports and packages it."""
    import warnings

    import torch

    from freshet.components.fetch.core import DatasetSchema, FetchConfig, fetch
    from freshet.components.package.core import package
    from freshet.contract import write_model

    fetch(FetchConfig(uri="sample://digits"), work / "dataset")
    schema = DatasetSchema.load(work / "dataset")
    module = mlp_module(work)
    example = torch.zeros(2, len(schema.features))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            module,
            (example,),
            str(work / "exported.onnx"),
            dynamo=False,
            input_names=["numeric"],
            output_names=["probabilities"],
            dynamic_axes={"numeric": {0: "batch"}, "probabilities": {0: "batch"}},
            opset_version=17,
        )
    signature = schema.signature(framework=f"pytorch {torch.__version__}", producer="bench.serving")
    write_model(work / "model", (work / "exported.onnx").read_bytes(), signature)
    package(work / "model", work / "dataset", work / "bundle")
    return work / "bundle"


def free_port() -> int:
    from freshet.components.verify.server import free_port as pick

    return pick()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Server:
    """One server process, started fresh for each round.

    `{port}` (and `{port2}`, `{port3}` for a peer's other listeners) in the command and the
    environment are replaced by free ports.
    """

    def __init__(
        self,
        name: str,
        command: list[str],
        path: str = "/predict",
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.command = command
        self.path = path
        self.env = env or {}

    def start(self, instance: list[Any], label: str) -> tuple[subprocess.Popen[bytes], str, float]:
        ports = {"port": str(free_port()), "port2": str(free_port()), "port3": str(free_port())}
        port = ports["port"]
        extra = {k: v.format(**ports) for k, v in self.env.items()}
        env = {**os.environ, "AIP_HTTP_PORT": port, **extra}
        command = [part.format(**ports) for part in self.command]
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}{self.path}"
        with httpx.Client() as client:
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"{self.name} exited with code {process.returncode}")
                if time.perf_counter() - started > 120:
                    process.kill()
                    raise SystemExit(f"{self.name} gave no correct answer in 120 s")
                try:
                    answer = client.post(url, json={"instances": [instance]})
                    if answer.status_code == 200:
                        assert answer.json()["predictions"][0]["label"] == label
                        return process, url, time.perf_counter() - started
                except httpx.TransportError:
                    time.sleep(0.005)


def load(url: str, bodies: list[bytes], count: int) -> dict[str, float]:
    times = []
    headers = {"content-type": "application/json"}
    with httpx.Client() as client:
        for body in bodies[:20]:  # warm the connection and the allocator
            client.post(url, content=body, headers=headers)
        started = time.perf_counter()
        for i in range(count):
            t0 = time.perf_counter()
            response = client.post(url, content=bodies[i % len(bodies)], headers=headers)
            times.append(time.perf_counter() - t0)
            assert response.status_code == 200
        elapsed = time.perf_counter() - started
    ms = np.asarray(times) * 1000
    return {
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
        "rps": count / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-peers", action="store_true", help="skip KServe and MLServer")
    parser.add_argument(
        "--serve-torch", nargs=2, metavar=("BUNDLE", "WORK"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve_torch:
        serve_torch(*args.serve_torch)
        return
    from freshet.components.verify.server import default_command
    from freshet.serving.signature import load_golden, load_signature

    with tempfile.TemporaryDirectory() as tmp:
        bundle = build(Path(tmp))
        names = load_signature(bundle).feature_names
        golden = load_golden(bundle).examples
        rows = [e.row(names) for e in golden]
        singles = [json.dumps({"instances": [row]}).encode() for row in rows]
        batches = [
            json.dumps({"instances": rows[i : i + 64]}).encode()
            for i in range(0, len(rows) - 63, 8)
        ]
        servers = [
            Server(  # as in the image, less its access log (the baseline has none either)
                "freshet serve (onnxruntime)", [*default_command(), "--no-access-log", str(bundle)]
            ),
            Server(
                "baseline: PyTorch in FastAPI",
                [sys.executable, __file__, "--serve-torch", str(bundle), tmp],
            ),
        ]
        if not args.no_peers:
            servers += peer_servers(bundle, Path(tmp))
        results: dict[str, dict[str, list[float]]] = {s.name: {} for s in servers}
        for round_ in range(args.rounds):
            for server in servers:
                process, url, startup = server.start(rows[0], str(golden[0].label))
                try:
                    one = load(url, singles, args.requests)
                    many = load(url, batches, max(1, args.requests // 5))
                    memory = rss_mb(process.pid)
                finally:
                    process.terminate()
                    process.wait(timeout=10)
                row = results[server.name]
                for key, value in (
                    ("startup", startup),
                    ("p50", one["p50"]),
                    ("p99", one["p99"]),
                    ("rps", one["rps"]),
                    ("batch_p50", many["p50"]),
                    ("batch_rps", many["rps"] * 64),
                    ("rss", memory),
                ):
                    row.setdefault(key, []).append(value)
            print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
        arrays = [np.asarray([row], dtype=np.float32) for row in rows]
        blocks = [
            np.asarray(rows[i : i + 64], dtype=np.float32) for i in range(0, len(rows) - 63, 8)
        ]
        bare = in_process(bundle, arrays, blocks, args.requests)
    results["in-process onnxruntime (no HTTP)"] = {
        "p50": [bare["one"]["p50"]],
        "p99": [bare["one"]["p99"]],
        "rps": [bare["one"]["rps"]],
        "batch_p50": [bare["many"]["p50"]],
        "batch_rps": [bare["many"]["rps"] * 64],
    }
    report(results, args)


def report(results: dict[str, dict[str, list[float]]], args: Any) -> None:
    medians = {
        name: {k: statistics.median(v) for k, v in row.items()} for name, row in results.items()
    }
    ours = medians["freshet serve (onnxruntime)"]
    table = Table(
        title=f"serving the same model: median of {args.rounds} rounds, {args.requests} "
        f"sequential requests each ({platform.machine()}, {os.cpu_count()} cores)"
    )
    table.add_column("measure")
    for name in medians:
        table.add_column(name, justify="right")
    rows = [
        ("start to first answer (s)", "startup", "{:.2f}", "lower"),
        ("single instance p50 (ms)", "p50", "{:.3f}", "lower"),
        ("single instance p99 (ms)", "p99", "{:.3f}", "lower"),
        ("single instance requests/s", "rps", "{:.0f}", "higher"),
        ("batch of 64 p50 (ms)", "batch_p50", "{:.3f}", "lower"),
        ("batch of 64 instances/s", "batch_rps", "{:.0f}", "higher"),
        ("resident memory (MiB)", "rss", "{:.0f}", "lower"),
    ]
    for label, key, fmt, _ in rows:
        table.add_row(label, *(fmt.format(m[key]) if key in m else "-" for m in medians.values()))
    Console(width=160).print(table)
    ratios = Table(title="freshet serve / other (lower-is-better measures: <1 means freshet wins)")
    ratios.add_column("measure")
    others = [name for name in medians if name != "freshet serve (onnxruntime)"]
    for name in others:
        ratios.add_column(f"vs {name}", justify="right")
    for label, key, _, better in rows:
        cells = []
        for name in others:
            theirs = medians[name].get(key)
            if theirs is None or key not in ours:
                cells.append("-")
            else:
                cells.append(f"{ours[key] / theirs:.2f}x")
        ratios.add_row(f"{label} ({better} is better)", *cells)
    Console(width=160).print(ratios)


if __name__ == "__main__":
    main()
