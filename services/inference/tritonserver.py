"""Run a real Triton Inference Server locally from the nvidia-pytriton wheel.

Production mounts `model_repository/` into NVIDIA's Triton image; on a developer machine, in tests and
in CI the same repository is served by the `tritonserver` 2.51 binary that the `nvidia-pytriton` wheel
ships, so every environment exercises the real server, the real python backend and real gRPC.

This module must stay importable without Django settings and without tritonclient: tests, benchmarks
and scripts start a server with it before anything else is configured.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Self

DEFAULT_HTTP_PORT = 8010
DEFAULT_GRPC_PORT = 8011
DEFAULT_METRICS_PORT = 8012
DEFAULT_HOST = "127.0.0.1"

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REPOSITORY = REPO_ROOT / "model_repository"
MODEL_REQUIREMENTS = DEFAULT_REPOSITORY / "requirements.txt"


class TritonServerError(RuntimeError):
    """The local server could not be started or did not become ready."""


def free_port(host: str = DEFAULT_HOST) -> int:
    """A port the OS considers free now; racy by nature, good enough for tests on one machine."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def pytriton_home() -> Path:
    """The wheel's `tritonserver/` folder, found without importing pytriton (it pins numpy<2)."""
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        raise TritonServerError("nvidia-pytriton is not installed; it ships the tritonserver binary")
    home = Path(next(iter(spec.submodule_search_locations))) / "tritonserver"
    if not (home / "bin" / "tritonserver").exists():
        raise TritonServerError(f"no tritonserver binary under {home}")
    return home


def ensure_python_stub(home: Path | None = None) -> Path:
    """Put the stub for this interpreter's Python next to libtriton_python.so.

    The python backend looks for `triton_python_backend_stub` in its own folder; the wheel keeps one
    per Python version elsewhere. The copy goes through a temporary file and a rename so that two
    processes preparing the same venv at once never see a half-written executable.
    """
    home = home or pytriton_home()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    source = home / "python_backend_stubs" / version / "triton_python_backend_stub"
    target = home / "backends" / "python" / "triton_python_backend_stub"
    if not source.exists():
        raise TritonServerError(f"the wheel has no python backend stub for Python {version}")
    if target.exists() and target.stat().st_size == source.stat().st_size:
        return target
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".stub-")
    os.close(fd)
    try:
        shutil.copy2(source, tmp_name)  # keeps the executable bit
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


def model_env_dir() -> Path:
    """Where the models' Python environment lives: $CITYAI_TRITON_ENV or var/triton-env."""
    return Path(os.environ.get("CITYAI_TRITON_ENV") or REPO_ROOT / "var" / "triton-env")


def ensure_model_env(
    env_dir: str | os.PathLike | None = None, requirements: str | os.PathLike = MODEL_REQUIREMENTS
) -> Path:
    """Create or update the venv the python-backend models run in; a no-op when up to date.

    Why not this venv: the 2.51 stub is built with a pybind11 that misreads numpy 2 arrays, so models
    need numpy < 2 while the project runs numpy 2. The venv is built from the same pinned file the
    production image installs, with the base interpreter of this one (the stub is per Python
    version). A hash stamp makes repeat calls free; a file lock serialises concurrent test runs.
    """
    env = Path(env_dir) if env_dir is not None else model_env_dir()
    requirements = Path(requirements)
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    stamp = env / ".requirements.sha256"

    def current() -> bool:
        return stamp.exists() and stamp.read_text().strip() == digest and (env / "bin" / "python3").exists()

    if current():
        return env
    env.parent.mkdir(parents=True, exist_ok=True)
    with open(env.parent / f".{env.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if current():
            return env
        base_python = getattr(sys, "_base_executable", sys.executable)
        pip = [str(env / "bin" / "python3"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        try:
            subprocess.run([base_python, "-m", "venv", str(env)], check=True)
            subprocess.run([*pip, "-r", str(requirements)], check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise TritonServerError(
                f"could not build the models' environment {env} from {requirements}: {exc}"
            ) from exc
        stamp.write_text(digest + "\n")
    return env


def server_environment(model_env: str | os.PathLike) -> dict[str, str]:
    """Environment for the server so that its python stubs run inside `model_env`.

    LD_LIBRARY_PATH: otherwise the stub loads the distribution's older libpython and fails at model
    load. PATH: the stub embeds Python through pybind11 in *isolated* mode, so PYTHONPATH and
    VIRTUAL_ENV are ignored; it does search PATH for `python3` to find its prefix, and a venv's
    `bin/python3` next to `pyvenv.cfg` makes it use exactly that venv's site-packages.
    """
    env = dict(os.environ)
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in (libdir, os.environ.get("LD_LIBRARY_PATH", "")) if p)
    env["PATH"] = os.pathsep.join(p for p in (str(Path(model_env) / "bin"), os.environ.get("PATH", "")) if p)
    env["VIRTUAL_ENV"] = str(model_env)
    env.pop("PYTHONHOME", None)
    # Models set their own thread counts; stop OpenMP/BLAS from spawning one thread per core on top.
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def repository_models(*repositories: Path) -> list[str]:
    """The models of the repositories: folders with a config.pbtxt (a folder being set up is not one
    yet)."""
    found = {p.parent.name for repository in repositories for p in Path(repository).glob("*/config.pbtxt")}
    return sorted(name for name in found if not name.startswith("."))


class LocalTritonServer:
    """One `tritonserver` child process serving a model repository on loopback ports.

    Explicit model control loads every model of the repository at start (one `--load-model` each),
    like the default mode, but keeps the repository API open so models can be loaded and unloaded
    at run time. `models` narrows what is loaded at start.
    """

    def __init__(
        self,
        repository: str | os.PathLike = DEFAULT_REPOSITORY,
        http_port: int = DEFAULT_HTTP_PORT,
        grpc_port: int = DEFAULT_GRPC_PORT,
        metrics_port: int = DEFAULT_METRICS_PORT,
        log_path: str | os.PathLike | None = None,
        *,
        host: str = DEFAULT_HOST,
        models: Sequence[str] | None = None,
        log_verbose: int = 0,
        extra_args: Sequence[str] = (),
        extra_repositories: Sequence[str | os.PathLike] = (),
        model_env: str | os.PathLike | None = None,
    ) -> None:
        self.repository = Path(repository).resolve()
        # Writable repositories next to the shipped one: models that bureaus bring (see byom.py).
        self.extra_repositories = [Path(p).resolve() for p in extra_repositories]
        self.http_port = http_port
        self.grpc_port = grpc_port
        self.metrics_port = metrics_port
        self.log_path = Path(log_path) if log_path is not None else None
        self.host = host
        self.models = list(models) if models is not None else None
        self.log_verbose = log_verbose
        self.extra_args = list(extra_args)
        self.model_env = Path(model_env) if model_env is not None else None
        self._process: subprocess.Popen | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        """In the form tritonclient's gRPC client takes (no scheme)."""
        return f"{self.host}:{self.grpc_port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def command(self) -> list[str]:
        home = pytriton_home()
        names = self.models if self.models is not None else repository_models(self.repository, *self.extra_repositories)
        load = [f"--load-model={m}" for m in names]
        return [
            str(home / "bin" / "tritonserver"),
            f"--model-repository={self.repository}",
            *(f"--model-repository={extra}" for extra in self.extra_repositories),
            f"--backend-directory={home / 'backends'}",
            f"--http-address={self.host}",
            f"--http-port={self.http_port}",
            f"--grpc-address={self.host}",
            f"--grpc-port={self.grpc_port}",
            f"--metrics-address={self.host}",
            f"--metrics-port={self.metrics_port}",
            f"--log-verbose={self.log_verbose}",
            "--exit-on-error=true",
            "--strict-readiness=true",
            "--model-control-mode=explicit",
            *load,
            *self.extra_args,
        ]

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self.is_running():
            return
        if not self.repository.is_dir():
            raise TritonServerError(f"model repository {self.repository} does not exist")
        for extra in self.extra_repositories:
            extra.mkdir(parents=True, exist_ok=True)
        ensure_python_stub()
        model_env = self.model_env or ensure_model_env()
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = open(self.log_path, "ab")
        self._process = subprocess.Popen(
            self.command(),
            env=server_environment(model_env),
            stdout=self._log_file,
            stderr=subprocess.STDOUT if self._log_file else None,
            stdin=subprocess.DEVNULL,
            # Own process group: a Ctrl-C in the terminal reaches us, and we stop the server in order.
            start_new_session=True,
        )

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.http_url}/v2/health/ready", timeout=2) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout: float = 180.0) -> None:
        """Block until every loaded model is ready; fail fast if the process dies meanwhile."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is None:
                raise TritonServerError("server not started")
            code = self._process.poll()
            if code is not None:
                raise TritonServerError(f"tritonserver exited with code {code}{self._log_hint()}")
            if self.ready():
                return
            time.sleep(0.2)
        raise TritonServerError(f"tritonserver not ready after {timeout:.0f} s{self._log_hint()}")

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM lets Triton drain in-flight requests and stop its python stubs; SIGKILL if stuck."""
        proc, self._process = self._process, None
        code = None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    # Kill the whole group so orphaned python stubs do not outlive the server.
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            code = proc.returncode
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return code

    def __enter__(self) -> Self:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _log_hint(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        tail = self.log_path.read_bytes()[-3000:].decode("utf-8", "replace")
        return f"; log {self.log_path} ends with:\n{tail}"
