"""The Triton client module and our models against a real tritonserver (no mocks).

The server comes from the `triton_server` session fixture (tests/conftest.py), a LocalTritonServer
serving model_repository/ on free loopback ports. The NanoDet decode test needs no server.
"""

import importlib.util
import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from services.inference import triton
from services.inference.tritonserver import LocalTritonServer, free_port

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
PERSON = 0  # COCO index in model_repository/object_detector/labels.txt


def _load_detector_module():
    spec = importlib.util.spec_from_file_location(
        "object_detector_model", REPO / "model_repository" / "object_detector" / "1" / "model.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _image_input(data: bytes) -> dict[str, np.ndarray]:
    return {"IMAGE": np.array([[data]], dtype=object)}


def _sign(lines: list[str]) -> bytes:
    """A white sign with black text in a real CJK font, as PNG bytes."""
    font = ImageFont.truetype(str(CJK_FONT), 40)
    image = Image.new("RGB", (720, 90 * len(lines) + 40), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((30, 30 + 90 * i), line, font=font, fill="black")
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


# --- pure decode, no server -------------------------------------------------------------------


def _heads(hits: list[tuple[int, int, int, int, float, tuple[int, int, int, int]]]):
    """Synthetic NanoDet heads for a 416 input: hits of (stride, col, row, class, score, bins)."""
    score_maps, box_maps = [], []
    for stride in (8, 16, 32):
        side = 416 // stride
        scores = np.full((side * side, 80), 0.01, dtype=np.float32)
        # Sharp logits: the expected bin equals the chosen bin to well under a pixel.
        boxes = np.full((side * side, 4, 11), -30.0, dtype=np.float32)
        boxes[:, :, 0] = 30.0
        for s, col, row, cls, score, bins in hits:
            if s != stride:
                continue
            cell = row * side + col
            scores[cell, cls] = score
            boxes[cell] = -30.0
            for side_idx, b in enumerate(bins):
                boxes[cell, side_idx, b] = 30.0
        score_maps.append(scores)
        box_maps.append(boxes.reshape(side * side, 44))
    return score_maps, box_maps


def test_nanodet_decode_places_boxes_and_suppresses_duplicates():
    det = _load_detector_module()
    hits = [
        # stride 16, cell (10, 5): centre (168, 88); distances l,t,r,b = (2,3,4,5) * 16
        (16, 10, 5, PERSON, 0.9, (2, 3, 4, 5)),
        # the neighbouring cell predicts nearly the same person box with a lower score: suppressed
        (16, 11, 5, PERSON, 0.6, (3, 3, 3, 5)),
        # a car (class 2) on the same spot is another class: kept
        (16, 11, 5, 2, 0.5, (3, 3, 3, 5)),
        # stride 32, below the threshold: dropped
        (32, 1, 1, PERSON, 0.2, (1, 1, 1, 1)),
    ]
    score_maps, box_maps = _heads(hits)
    # Output order must not matter: shuffle the levels.
    out = det.decode(score_maps[::-1], box_maps, score_threshold=0.3, iou_threshold=0.5)

    assert out.shape == (2, 6)
    np.testing.assert_allclose(out[0], [168 - 32, 88 - 48, 168 + 64, 88 + 80, 0.9, PERSON], atol=1e-3)
    np.testing.assert_allclose(out[1, 4:], [0.5, 2], atol=1e-6)
    np.testing.assert_allclose(out[1, :4], [184 - 48, 88 - 48, 184 + 48, 88 + 80], atol=1e-3)


def test_nanodet_letterbox_and_back_to_original_pixels():
    det = _load_detector_module()
    image = np.zeros((300, 600, 3), dtype=np.uint8)
    tensor, scale = det.letterbox(image)
    assert tensor.shape == (3, 416, 416) and tensor.dtype == np.float32
    assert scale == pytest.approx(416 / 600)
    # The padded area is the mean colour, so zero after normalisation.
    assert np.allclose(tensor[:, 300:, :], 0.0)
    boxes = np.array([[0, 0, 208, 104, 0.8, 0], [400, 200, 416, 416, 0.7, 1]], dtype=np.float32)
    original = det.to_original(boxes, scale, 600, 300)
    np.testing.assert_allclose(original[0, :4], [0, 0, 300, 150], atol=1e-3)
    assert original[1, 3] == 300  # clipped to the image


def test_nanodet_decode_empty_when_nothing_scores():
    det = _load_detector_module()
    score_maps, box_maps = _heads([])
    assert det.decode(score_maps, box_maps).shape == (0, 6)


# --- against the real server ------------------------------------------------------------------


@pytest.mark.triton
def test_server_and_models_ready(triton_url):
    assert triton.server_ready(triton_url)
    assert triton.model_ready("ocr", triton_url)
    assert triton.model_ready("object_detector", triton_url)
    assert not triton.model_ready("no_such_model", triton_url)


@pytest.mark.triton
def test_ocr_reads_chinese_and_english_exactly(triton_url):
    lines = ["禁止乱贴小广告 城管执法", "No posting of bills"]
    result = triton.infer("ocr", _image_input(_sign(lines)), ["TEXT", "BOXES", "SCORES"], url=triton_url)

    texts = [t.decode("utf-8") for t in result.outputs["TEXT"][0]]
    # rapidocr drops the space between Chinese phrases; compare without spaces there.
    assert [t.replace(" ", "") for t in texts] == [line.replace(" ", "") for line in lines]
    boxes, scores = result.outputs["BOXES"][0], result.outputs["SCORES"][0]
    assert boxes.shape == (2, 8) and scores.shape == (2,)
    assert (scores > 0.9).all()
    assert boxes[0, 1::2].max() < boxes[1, 1::2].min()  # first line above the second
    assert result.model_name == "ocr" and result.model_version == "1"
    assert result.compute_source == "model"
    assert 0 < result.compute_ms <= result.wall_ms


@pytest.mark.triton
def test_ocr_blank_image_gives_no_text(triton_url):
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), "white").save(buf, "JPEG")
    result = triton.infer("ocr", _image_input(buf.getvalue()), ["TEXT", "BOXES", "SCORES"], url=triton_url)
    assert result.outputs["TEXT"].shape == (1, 0)
    assert result.outputs["BOXES"].shape == (1, 0, 8)


@pytest.mark.triton
def test_detector_finds_the_astronaut(triton_url):
    photo = (DATA / "astronaut.jpg").read_bytes()
    result = triton.infer("object_detector", _image_input(photo), ["DETECTIONS"], url=triton_url)

    detections = result.outputs["DETECTIONS"][0]
    people = detections[detections[:, 5] == PERSON]
    assert len(people) >= 1
    x1, y1, x2, y2, score, _ = people[0]
    assert score > 0.5
    # She fills the left two thirds of the 512x512 photo; her face is near (225, 120).
    assert x1 < 225 < x2 and y1 < 120 < y2
    assert (x2 - x1) * (y2 - y1) > 0.3 * 512 * 512
    assert detections[:, :4].min() >= 0 and detections[:, [0, 2]].max() <= 512
    assert 0 < result.compute_ms <= result.wall_ms


@pytest.mark.triton
def test_detector_score_threshold_input(triton_url):
    photo = (DATA / "astronaut.jpg").read_bytes()
    low = triton.infer("object_detector", _image_input(photo), ["DETECTIONS"], url=triton_url)
    high = triton.infer(
        "object_detector",
        {**_image_input(photo), "SCORE_THRESHOLD": np.array([[0.6]], dtype=np.float32)},
        ["DETECTIONS"],
        url=triton_url,
    )
    low_d, high_d = low.outputs["DETECTIONS"][0], high.outputs["DETECTIONS"][0]
    assert (high_d[:, 4] > 0.6).all()
    assert 1 <= len(high_d) < len(low_d)


@pytest.mark.triton
@pytest.mark.parametrize("model", ["ocr", "object_detector"])
def test_garbage_bytes_are_rejected_not_retried(triton_url, model):
    with pytest.raises(triton.TritonRejected) as caught:
        triton.infer(model, _image_input(b"\x00not an image at all"), [], url=triton_url)
    assert not caught.value.retryable
    assert "not a decodable image" in str(caught.value)


@pytest.mark.triton
def test_one_bad_image_does_not_fail_its_batch(triton_url):
    """Concurrent requests share an execute() through the dynamic batcher; only the bad one fails."""
    photo = (DATA / "astronaut.jpg").read_bytes()
    payloads = [photo] * 5 + [b"garbage"] + [photo] * 2

    def call(data: bytes):
        try:
            return triton.infer("object_detector", _image_input(data), ["DETECTIONS"], url=triton_url)
        except triton.TritonError as exc:
            return exc

    with ThreadPoolExecutor(len(payloads)) as pool:
        results = list(pool.map(call, payloads))
    assert isinstance(results[5], triton.TritonRejected)
    good = [r for i, r in enumerate(results) if i != 5]
    assert all(isinstance(r, triton.InferResult) for r in good)
    first = good[0].outputs["DETECTIONS"]
    assert all(np.allclose(r.outputs["DETECTIONS"], first, atol=1e-4) for r in good)


@pytest.mark.triton
def test_wrong_input_name_is_rejected(triton_url):
    with pytest.raises(triton.TritonRejected):
        triton.infer("ocr", {"PICTURE": np.array([[b"x"]], dtype=object)}, ["TEXT"], url=triton_url)


@pytest.mark.triton
def test_statistics_count_calls(triton_url):
    before = triton.model_statistics(triton_url)["object_detector"]
    triton.infer("object_detector", _image_input((DATA / "astronaut.jpg").read_bytes()), [], url=triton_url)
    # Triton updates its statistics just after it answers: give it a moment.
    deadline = time.monotonic() + 5
    while True:
        after = triton.model_statistics(triton_url)["object_detector"]
        if after["inference_count"] > before["inference_count"] or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert after["inference_count"] >= before["inference_count"] + 1
    assert after["compute_infer_ms"] > before["compute_infer_ms"]


@pytest.mark.triton
def test_unloaded_and_stopped_server_are_unavailable(tmp_path):
    """A second, empty server: load/unload through the repository API, then stop it."""
    server = LocalTritonServer(
        REPO / "model_repository",
        http_port=free_port(),
        grpc_port=free_port(),
        metrics_port=free_port(),
        log_path=tmp_path / "triton.log",
        models=[],
    )
    photo = _image_input((DATA / "astronaut.jpg").read_bytes())
    with server:
        url = server.grpc_url
        assert triton.server_ready(url)
        assert not triton.model_ready("object_detector", url)
        triton.load_model("object_detector", url)
        assert triton.model_ready("object_detector", url)
        assert triton.infer("object_detector", photo, ["DETECTIONS"], url=url).outputs["DETECTIONS"].shape[1] >= 1
        triton.unload_model("object_detector", url)
        with pytest.raises(triton.TritonUnavailable):
            triton.infer("object_detector", photo, ["DETECTIONS"], url=url)
        with pytest.raises(triton.TritonRejected):
            triton.load_model("no_such_model", url)

    assert not triton.server_ready(url)
    with pytest.raises(triton.TritonUnavailable) as caught:
        triton.infer("object_detector", photo, ["DETECTIONS"], url=url, timeout_s=5)
    assert caught.value.retryable


@pytest.mark.triton
def test_client_timeout_is_unavailable(triton_url):
    with pytest.raises(triton.TritonUnavailable):
        triton.infer("ocr", _image_input(_sign(["超时"])), ["TEXT"], url=triton_url, timeout_s=0.001)


@pytest.mark.triton
def test_priority_levels_are_accepted(triton_url):
    """The models declare 3 priority levels (1 urgent .. 3 bulk); 0 means the model's default."""
    photo = _image_input((DATA / "astronaut.jpg").read_bytes())
    for priority in (0, 1, 3):
        result = triton.infer("object_detector", photo, ["DETECTIONS"], url=triton_url, priority=priority)
        assert result.outputs["DETECTIONS"].shape[1] >= 1
