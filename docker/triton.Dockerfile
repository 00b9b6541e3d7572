# NVIDIA's Triton release matching the nvidia-pytriton 0.7.0 wheel used locally (server 2.51.0),
# plus the pinned Python packages our python-backend models import (the same file the local
# model environment is built from). The model repository is mounted at /models and the models' shared
# helpers (model_common/) at /model_common beside it (docker-compose.yml).
FROM nvcr.io/nvidia/tritonserver:24.10-py3
COPY model_repository/requirements.txt /tmp/model-requirements.txt
RUN pip install --no-cache-dir -r /tmp/model-requirements.txt
