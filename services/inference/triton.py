"""The one place that talks to Triton (the only importer of tritonclient in the project).

Why one module: the rest of the code sees plain numpy arrays and two kinds of failure - retry later
(`TritonUnavailable`) or give up with a readable reason (`TritonRejected`) - and never a gRPC status.

One gRPC client per process and URL: gRPC clients are thread-safe and reusing the channel saved
about 0.4 ms of CPU per call here. A channel does not survive fork, so the cache is keyed by pid and
a forked Celery worker child builds its own on first use.

Compute time: Triton puts no per-request timing in a response, and a statistics delta around the
call is wrong as soon as two requests overlap. Our python-backend models therefore measure their own
work inside `execute()` and return it as an extra FP32 output `COMPUTE_MS`; `infer` asks for it when
the model declares it and reports it as `compute_ms` (source "model"). For a model without it (a
bureau's own ONNX model, say) `compute_ms` falls back to the round trip, an upper bound, with source
"wall". Queue time is then roughly `wall_ms - compute_ms`.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

DEFAULT_URL = "127.0.0.1:8011"
COMPUTE_OUTPUT = "COMPUTE_MS"
MAX_MESSAGE_BYTES = 2**31 - 1

# Statuses where the same request may well succeed later: the server is down, restarting, busy or
# slow, or the model is (re)loading.
_RETRYABLE_STATUSES = {
    "StatusCode.UNAVAILABLE",
    "StatusCode.DEADLINE_EXCEEDED",
    "StatusCode.RESOURCE_EXHAUSTED",
    "StatusCode.ABORTED",
    "StatusCode.CANCELLED",
}
# Messages Triton uses for a model that exists but cannot serve right now, whatever the status.
_RETRYABLE_MESSAGES = ("is not ready", "no available versions", "stub process", "not healthy")


class TritonError(Exception):
    """A call to Triton failed; `retryable` tells the caller whether trying again makes sense."""

    retryable = False

    def __init__(self, message: str, *, status: str = "", model: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.model = model


class TritonUnavailable(TritonError):
    """Server unreachable, overloaded, timed out, or the model is not loaded: retry with backoff."""

    retryable = True


class TritonRejected(TritonError):
    """The server or model refused this input, or the model failed on it: retrying will not help."""


@dataclass(frozen=True)
class InferResult:
    outputs: dict[str, np.ndarray]
    model_name: str
    model_version: str
    compute_ms: float
    wall_ms: float
    compute_source: str = field(default="model")  # "model" (measured in execute) or "wall"


_lock = threading.Lock()
_clients: dict[tuple[int, str], grpcclient.InferenceServerClient] = {}
_output_names: dict[tuple[int, str, str, str], frozenset[str]] = {}
_inherited: list[grpcclient.InferenceServerClient] = []


def default_url() -> str:
    """Django's TRITON_URL when running under Django, else env TRITON_URL, else the local port."""
    url = None
    try:
        from django.conf import settings

        if settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE"):
            url = getattr(settings, "TRITON_URL", None)
    except ImportError:
        pass
    return _normalise(url or os.environ.get("TRITON_URL") or DEFAULT_URL)


def _normalise(url: str) -> str:
    # tritonclient's gRPC client wants host:port; accept a scheme for convenience in env files.
    for scheme in ("grpc://", "http://", "https://"):
        if url.startswith(scheme):
            url = url[len(scheme) :]
    return url.rstrip("/")


def get_client(url: str | None = None) -> grpcclient.InferenceServerClient:
    """The process-wide client for `url`, created on first use (and again after a fork)."""
    url = _normalise(url) if url else default_url()
    key = (os.getpid(), url)
    client = _clients.get(key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(key)
        if client is None:
            for stale in [k for k in _clients if k[0] != key[0]]:
                # Inherited from the parent: never close (or let __del__ close) the parent's channel.
                _inherited.append(_clients.pop(stale))
            client = grpcclient.InferenceServerClient(
                url,
                channel_args=[
                    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                    # gRPC backs off up to 2 minutes after a failed connect; a restarted Triton
                    # should be used again within seconds.
                    ("grpc.initial_reconnect_backoff_ms", 200),
                    ("grpc.min_reconnect_backoff_ms", 200),
                    ("grpc.max_reconnect_backoff_ms", 2000),
                    ("grpc.keepalive_time_ms", 30000),
                    ("grpc.keepalive_timeout_ms", 10000),
                ],
            )
            _clients[key] = client
    return client


def close_clients() -> None:
    """Close this process's clients (tests, shutdown hooks)."""
    with _lock:
        pid = os.getpid()
        for key in [k for k in _clients if k[0] == pid]:
            _clients.pop(key).close()
        _output_names.clear()


# Close while grpc is still importable: a client left to __del__ at interpreter exit prints a traceback.
atexit.register(close_clients)


def _translate(exc: InferenceServerException, model: str = "") -> TritonError:
    status = str(exc.status() or "")
    message = str(exc.message() or exc)
    lowered = message.lower()
    if status in _RETRYABLE_STATUSES or any(m in lowered for m in _RETRYABLE_MESSAGES):
        cls: type[TritonError] = TritonUnavailable
    else:
        cls = TritonRejected
    prefix = f"{model}: " if model else ""
    return cls(f"{prefix}{message} ({status or 'no status'})", status=status, model=model)


def _declared_outputs(client, url: str, model: str, version: str, timeout_s: float) -> frozenset[str]:
    key = (os.getpid(), url, model, version)
    names = _output_names.get(key)
    if names is None:
        meta = client.get_model_metadata(model, version, as_json=True, client_timeout=timeout_s)
        names = frozenset(o["name"] for o in meta.get("outputs", []))
        _output_names[key] = names
    return names


def _to_input(name: str, array: np.ndarray) -> grpcclient.InferInput:
    array = np.asarray(array)
    if array.dtype.kind in "OSU":
        # Strings travel as Triton BYTES; numpy unicode/bytes arrays become object arrays of bytes.
        if array.dtype.kind != "O":
            array = array.astype(object)
        datatype = "BYTES"
    else:
        datatype = np_to_triton_dtype(array.dtype)
    tensor = grpcclient.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array)
    return tensor


def infer(
    model: str,
    inputs: dict[str, np.ndarray],
    outputs: list[str],
    *,
    url: str | None = None,
    priority: int = 0,
    timeout_s: float = 30.0,
    model_version: str = "",
) -> InferResult:
    """Run one request. Arrays are sent as given, batch dimension included (e.g. IMAGE [1, 1]).

    priority: 0 = the model's default level; 1 is the most urgent of the levels the model declares.
    """
    url = _normalise(url) if url else default_url()
    client = get_client(url)
    try:
        declared = _declared_outputs(client, url, model, model_version, timeout_s)
        with_compute = COMPUTE_OUTPUT in declared and COMPUTE_OUTPUT not in outputs
        requested = [*outputs, COMPUTE_OUTPUT] if with_compute else list(outputs)
        started = time.perf_counter()
        response = client.infer(
            model,
            [_to_input(name, array) for name, array in inputs.items()],
            model_version=model_version,
            outputs=[grpcclient.InferRequestedOutput(name) for name in requested],
            priority=priority,
            client_timeout=timeout_s,
        )
        wall_ms = (time.perf_counter() - started) * 1000.0
    except InferenceServerException as exc:
        raise _translate(exc, model) from exc
    except (ValueError, TypeError) as exc:  # bad numpy input caught client-side
        raise TritonRejected(f"{model}: {exc}", model=model) from exc

    values = {name: response.as_numpy(name) for name in requested}
    compute = values.pop(COMPUTE_OUTPUT) if with_compute else None
    meta = response.get_response()
    if compute is not None and compute.size:
        compute_ms, source = float(compute.reshape(-1)[0]), "model"
    else:
        compute_ms, source = wall_ms, "wall"
    return InferResult(
        outputs=values,
        model_name=meta.model_name,
        model_version=meta.model_version,
        compute_ms=compute_ms,
        wall_ms=wall_ms,
        compute_source=source,
    )


def server_ready(url: str | None = None, timeout_s: float = 2.0) -> bool:
    try:
        return bool(get_client(url).is_server_ready(client_timeout=timeout_s))
    except InferenceServerException:
        return False


def model_ready(model: str, url: str | None = None, version: str = "", timeout_s: float = 2.0) -> bool:
    try:
        return bool(get_client(url).is_model_ready(model, version, client_timeout=timeout_s))
    except InferenceServerException:
        return False


def model_statistics(url: str | None = None, model: str = "", timeout_s: float = 5.0) -> dict[str, dict]:
    """Per loaded model (all versions summed): counts since load and cumulative times in ms.

    inference_count counts batch items, execution_count counts execute() calls; their ratio is the
    average batch size the dynamic batcher achieved.
    """
    try:
        raw = get_client(url).get_inference_statistics(model, as_json=True, client_timeout=timeout_s)
    except InferenceServerException as exc:
        raise _translate(exc, model) from exc
    stats: dict[str, dict] = {}
    for entry in raw.get("model_stats", []):
        inference = entry.get("inference_stats", {})

        def ms(part: str, inference=inference) -> float:
            return int(inference.get(part, {}).get("ns", 0)) / 1e6

        item = stats.setdefault(
            entry["name"],
            {
                "versions": [],
                "inference_count": 0,
                "execution_count": 0,
                "success_count": 0,
                "fail_count": 0,
                "queue_ms": 0.0,
                "compute_input_ms": 0.0,
                "compute_infer_ms": 0.0,
                "compute_output_ms": 0.0,
            },
        )
        item["versions"].append(entry.get("version", ""))
        item["inference_count"] += int(entry.get("inference_count", 0))
        item["execution_count"] += int(entry.get("execution_count", 0))
        item["success_count"] += int(inference.get("success", {}).get("count", 0))
        item["fail_count"] += int(inference.get("fail", {}).get("count", 0))
        for part in ("queue", "compute_input", "compute_infer", "compute_output"):
            item[f"{part}_ms"] += ms(part)
    return stats


def load_model(
    name: str,
    url: str | None = None,
    *,
    config: str | None = None,
    files: dict[str, bytes] | None = None,
    timeout_s: float = 300.0,
) -> None:
    """Load (or reload) a model; needs the server in explicit model-control mode.

    config (JSON) and files ({"file:1/model.onnx": bytes, ...}) let a bureau's own model be served
    without touching the repository on disk.
    """
    try:
        get_client(url).load_model(name, config=config, files=files, client_timeout=timeout_s)
    except InferenceServerException as exc:
        raise _translate(exc, name) from exc
    finally:
        _forget_outputs(name)


def unload_model(
    name: str, url: str | None = None, *, unload_dependents: bool = False, timeout_s: float = 60.0
) -> None:
    try:
        get_client(url).unload_model(name, unload_dependents=unload_dependents, client_timeout=timeout_s)
    except InferenceServerException as exc:
        raise _translate(exc, name) from exc
    finally:
        _forget_outputs(name)


def _forget_outputs(model: str) -> None:
    with _lock:
        for key in [k for k in _output_names if k[2] == model]:
            del _output_names[key]
