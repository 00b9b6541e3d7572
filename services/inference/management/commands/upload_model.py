"""`manage.py upload_model SCENARIO --onnx FILE --labels a,b --alert-labels b --licence TEXT`: the
platform admin's way to put a bureau-supplied ONNX classifier in service from the server's shell."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from services.accounts.selectors import Actor, Role
from services.core.errors import ApplicationError
from services.inference import byom


class Command(BaseCommand):
    help = "Put a bureau-supplied ONNX image classifier in service for a 'model needed' scenario."

    def add_arguments(self, parser):
        parser.add_argument("scenario")
        parser.add_argument("--onnx", required=True, type=Path)
        parser.add_argument("--labels", required=True, help="comma-separated, in the model's output order")
        parser.add_argument("--alert-labels", required=True, help="comma-separated labels that raise an alert")
        parser.add_argument("--licence", required=True, help="the model's licence and origin")
        parser.add_argument("--colour", choices=["RGB", "BGR"], default="RGB")
        parser.add_argument("--mean", default="0.485,0.456,0.406")
        parser.add_argument("--std", default="0.229,0.224,0.225")
        parser.add_argument("--scale", type=float, default=1 / 255)
        parser.add_argument("--no-softmax", action="store_true", help="the model already outputs probabilities")

    def handle(self, *args, **o):
        pre = byom.Preprocess(
            colour=o["colour"], scale=o["scale"], mean=[float(v) for v in o["mean"].split(",")],
            std=[float(v) for v in o["std"].split(",")], softmax=not o["no_softmax"],
        )
        try:
            record = byom.custom_model_upload(
                actor=Actor(bureau=None, role=Role.PLATFORM_ADMIN, service="command:upload_model"),
                scenario_slug=o["scenario"],
                content=o["onnx"].read_bytes(),
                labels=o["labels"].split(","),
                alert_labels=o["alert_labels"].split(","),
                licence=o["licence"],
                preprocess=pre,
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        done = f"{o['scenario']} now runs {record.triton_name} ({record.onnx_sha256[:12]})"
        self.stdout.write(self.style.SUCCESS(done))
