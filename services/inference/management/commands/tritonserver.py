"""`python manage.py tritonserver`: the real Triton server on the model repository, in the foreground.

Why a management command: `bin/up` and a developer start the same server the same way, with the
repository path from settings; Ctrl-C or SIGTERM stops Triton in order (it drains in-flight requests
and stops its python stubs) instead of orphaning it.
"""

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from services.inference.tritonserver import (
    DEFAULT_GRPC_PORT,
    DEFAULT_HTTP_PORT,
    DEFAULT_METRICS_PORT,
    LocalTritonServer,
    TritonServerError,
    ensure_model_env,
)


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop(signal.Signals(signum).name)


class Command(BaseCommand):
    help = "Run a local Triton Inference Server (nvidia-pytriton's tritonserver) on TRITON_MODEL_REPOSITORY."

    def add_arguments(self, parser):
        parser.add_argument("--http-port", type=int, default=DEFAULT_HTTP_PORT)
        parser.add_argument("--grpc-port", type=int, default=DEFAULT_GRPC_PORT)
        parser.add_argument("--metrics-port", type=int, default=DEFAULT_METRICS_PORT)
        parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback only)")
        parser.add_argument("--models", default="", help="comma-separated models to load (default: all)")
        parser.add_argument("--log-file", default=None, help="write Triton's log there instead of stdout")
        parser.add_argument("--log-verbose", type=int, default=0)
        parser.add_argument("--ready-timeout", type=float, default=300.0)

    def handle(self, *args, **options):
        models = [m.strip() for m in options["models"].split(",") if m.strip()] or None
        server = LocalTritonServer(
            settings.TRITON_MODEL_REPOSITORY,
            extra_repositories=[settings.TRITON_BYOM_REPOSITORY],
            http_port=options["http_port"],
            grpc_port=options["grpc_port"],
            metrics_port=options["metrics_port"],
            log_path=options["log_file"],
            host=options["host"],
            models=models,
            log_verbose=options["log_verbose"],
        )
        previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.stdout.write("Preparing the models' Python environment (first run installs it)...")
            self.stdout.flush()
            env = ensure_model_env()
            server.model_env = env
            server.start()
            self.stdout.write(f"tritonserver pid {server.pid} starting on {server.repository}")
            self.stdout.flush()
            server.wait_ready(options["ready_timeout"])
            self.stdout.write(
                self.style.SUCCESS(
                    f"Triton ready: gRPC {server.grpc_url}, HTTP {server.http_url}, metrics port {server.metrics_port}"
                )
            )
            self.stdout.flush()
            while server.is_running():
                time.sleep(0.5)
            raise CommandError(f"tritonserver exited unexpectedly with code {server.stop()}")
        except _Stop as stop:
            self.stdout.write(f"{stop}: stopping Triton...")
            self.stdout.flush()
        except TritonServerError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            # Ignore a second Ctrl-C while Triton drains; stop() escalates to SIGKILL on its own.
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            code = server.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write(f"Triton stopped (exit code {code}).")
