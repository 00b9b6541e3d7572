"""Docker cannot run here, so the compose file is checked as data: services, images, mounts, env."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_compose_has_the_whole_stack():
    assert {"postgres", "redis", "triton", "web", "worker", "beat"} <= set(SERVICES)


def test_triton_runs_nvidias_image_matching_the_local_server_release():
    dockerfile = (ROOT / SERVICES["triton"]["build"]["dockerfile"]).read_text()
    # nvidia-pytriton 0.7.0 ships tritonserver 2.51.0, which is NVIDIA's 24.10 container.
    assert re.search(r"^FROM nvcr\.io/nvidia/tritonserver:24\.10-py3$", dockerfile, re.M)
    assert "./model_repository:/models:ro" in SERVICES["triton"]["volumes"]
    assert "--model-repository=/models" in SERVICES["triton"]["command"]
    assert "healthcheck" in SERVICES["triton"]


def test_app_services_take_settings_from_the_environment():
    for name in ("web", "worker", "beat"):
        env = SERVICES[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert env["TRITON_URL"] == "triton:8001"
    assert "celery" in SERVICES["worker"]["command"] and "worker" in SERVICES["worker"]["command"]
    assert "beat" in SERVICES["beat"]["command"]
    assert "healthcheck" in SERVICES["web"] and "healthcheck" in SERVICES["postgres"]


def test_every_setting_the_code_reads_is_listed_in_env_example():
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    settings_src = (ROOT / "cityai" / "settings.py").read_text()
    read = set(re.findall(r'env_\w+\("([A-Z0-9_]+)"', settings_src))
    assert read - listed == set()


def test_no_gpu_is_reserved_while_every_model_runs_on_cpu():
    configs = sorted((ROOT / "model_repository").glob("*/config.pbtxt"))
    kinds = {path.parent.name: re.findall(r"kind:\s*(KIND_\w+)", path.read_text()) for path in configs}
    assert configs and all(found == ["KIND_CPU"] for found in kinds.values()), kinds
    # A reservation would idle the GPU and stop compose on hosts without the NVIDIA toolkit (README:
    # "Running on a GPU host" says how to opt in once models are KIND_GPU).
    assert "deploy" not in SERVICES["triton"]
    assert "# deploy:" in (ROOT / "docker-compose.yml").read_text()


def test_triton_finds_the_models_shared_helpers_beside_the_repository():
    """Every model.py imports model_common/triton_common.py from <repository>/../model_common, so compose
    mounts it beside /models; and no other folder may sit in the repository: `--load-model=*` takes every
    folder for a model and the server would not start (model_repository/README.md)."""
    assert "./model_repository:/models:ro" in SERVICES["triton"]["volumes"]
    assert "./model_common:/model_common:ro" in SERVICES["triton"]["volumes"]
    assert (ROOT / "model_common" / "triton_common.py").is_file()
    folders = [p for p in (ROOT / "model_repository").iterdir() if p.is_dir()]
    assert folders and all((p / "config.pbtxt").is_file() for p in folders), sorted(p.name for p in folders)
    for folder in folders:
        assert 'parents[3] / "model_common"' in (folder / "1" / "model.py").read_text(), folder.name
