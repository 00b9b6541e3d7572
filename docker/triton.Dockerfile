# NVIDIA's Triton release matching the nvidia-pytriton 0.7.0 wheel used locally (server 2.51.0),
# plus the Python packages our python-backend models import. The model repository is mounted.
FROM nvcr.io/nvidia/tritonserver:24.10-py3
RUN pip install --no-cache-dir \
      "numpy==2.4.6" "opencv-python-headless==4.14.0.94" "onnxruntime==1.32.0" "rapidocr==3.10.0" \
      "pillow==13.0.0"
