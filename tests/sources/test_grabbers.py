"""Frame grabbing without the database: MJPEG parsing, HTTP snapshots and streams from our own loopback
camera, refusals of what is not a frame, and a video file played through OpenCV."""

import io
import time

import cv2
import numpy as np
import pytest
from PIL import Image

from services.sources import grabbers
from services.sources.grabbers import Limits, SourceUnavailable, first_mjpeg_frame, grab, multipart_boundary
from tests.sources.frameserver import FrameServer


def jpeg(colour=(0, 128, 255), size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


def reader(data: bytes, chunk: int = 7):
    """A stream that hands out ``chunk`` bytes at a time, as a socket does."""
    stream = io.BytesIO(data)
    return lambda n: stream.read(min(n, chunk))


def part(body: bytes, *, length: bool = True, kind: str = "image/jpeg") -> bytes:
    head = f"--frame\r\nContent-Type: {kind}\r\n" + (f"Content-Length: {len(body)}\r\n" if length else "")
    return head.encode() + b"\r\n" + body + b"\r\n"


FAR = time.monotonic() + 3600


@pytest.mark.parametrize("length", [True, False])
def test_the_first_complete_jpeg_part_is_returned(length):
    first, second = jpeg((255, 0, 0)), jpeg((0, 255, 0))
    stream = part(first, length=length) + part(second, length=length)
    assert first_mjpeg_frame(reader(stream), b"--frame", max_bytes=1 << 20, deadline=FAR) == first


def test_preamble_and_non_image_parts_are_skipped():
    frame = jpeg()
    stream = b"some preamble\r\n" + part(b'{"motion": true}', kind="application/json") + part(frame)
    assert first_mjpeg_frame(reader(stream, 3), b"--frame", max_bytes=1 << 20, deadline=FAR) == frame


def test_a_truncated_stream_is_unavailable():
    frame = jpeg()
    truncated = part(frame)[: len(frame) // 2]
    with pytest.raises(SourceUnavailable, match="ended inside a frame"):
        first_mjpeg_frame(reader(truncated), b"--frame", max_bytes=1 << 20, deadline=FAR)
    with pytest.raises(SourceUnavailable, match="ended before a complete frame"):
        first_mjpeg_frame(reader(b"no boundary at all"), b"--frame", max_bytes=1 << 20, deadline=FAR)
    with pytest.raises(SourceUnavailable, match="closed"):
        first_mjpeg_frame(reader(b"--frame--\r\n"), b"--frame", max_bytes=1 << 20, deadline=FAR)


def test_a_stream_past_the_byte_or_time_bound_is_unavailable():
    endless = part(b"x" * 10_000, length=False, kind="image/jpeg")[:-2]  # a part that never ends
    with pytest.raises(SourceUnavailable, match="within 4000 bytes"):
        first_mjpeg_frame(reader(endless + b"y" * 100_000, 512), b"--frame", max_bytes=4000, deadline=FAR)
    ticks = iter(range(100))
    with pytest.raises(SourceUnavailable, match="timeout"):
        first_mjpeg_frame(lambda n: b"z" * 10, b"--frame", max_bytes=1 << 30, deadline=5, clock=lambda: next(ticks))


def test_boundary_parameter_forms():
    assert multipart_boundary("multipart/x-mixed-replace; boundary=frame") == b"--frame"
    assert multipart_boundary('multipart/x-mixed-replace;boundary="--myboundary"') == b"--myboundary"
    with pytest.raises(SourceUnavailable):
        multipart_boundary("multipart/x-mixed-replace")


def test_non_images_and_oversized_frames_are_refused():
    limits = Limits(max_pixels=64 * 48)
    with pytest.raises(SourceUnavailable, match="not a readable image"):
        grabbers.to_frame(b"<html>login</html>", limits)
    with pytest.raises(SourceUnavailable, match="empty"):
        grabbers.to_frame(b"", limits)
    with pytest.raises(SourceUnavailable, match="pixels"):
        grabbers.to_frame(jpeg(size=(65, 48)), limits)
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, format="GIF")
    with pytest.raises(SourceUnavailable, match="GIF"):
        grabbers.to_frame(gif.getvalue(), limits)
    frame = grabbers.to_frame(jpeg(), limits)
    assert (frame.width, frame.height) == (64, 48) and frame.jpeg == jpeg()


@pytest.fixture
def camera():
    server = FrameServer({"cam": [jpeg((255, 0, 0)), jpeg((0, 0, 255))]})
    server.huge_bytes = 300_000
    server.start()
    yield server
    server.stop()


def test_http_snapshot_png_and_mjpeg_from_a_loopback_camera(camera):
    snap = grab(camera.url("cam"))
    assert snap.jpeg == camera.cameras["cam"].frames[0]
    camera.show("cam", 1)
    png = grab(camera.url("cam", "snapshot.png"))
    assert png.jpeg[:2] == b"\xff\xd8" and (png.width, png.height) == (64, 48)  # re-encoded as JPEG
    started = time.monotonic()
    streamed = grab(camera.url("cam", "stream.mjpg"))
    assert streamed.jpeg == camera.cameras["cam"].frames[1]
    assert time.monotonic() - started < 2  # one frame, not the endless stream


def test_http_failures_are_readable(camera):
    base = f"http://127.0.0.1:{camera.port}"
    cases = {
        "/login": "text/html, not a JPEG or PNG",
        "/redirect": "redirected (302)",
        "/broken": "not a readable image",
        "/nope/snapshot.jpg": "HTTP 404",
        "/huge": "over the limit of 100000",
    }
    for path, message in cases.items():
        with pytest.raises(SourceUnavailable, match=message.replace("(", r"\(").replace(")", r"\)")):
            grab(base + path, limits=Limits(max_bytes=100_000))
    port = camera.port
    camera.stop()
    with pytest.raises(SourceUnavailable, match="cannot reach the source"):
        grab(f"http://127.0.0.1:{port}/cam/snapshot.jpg", limits=Limits(timeout_s=2))


def test_a_stalled_camera_times_out():
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    started = time.monotonic()
    try:
        with pytest.raises(SourceUnavailable):
            grab(f"http://127.0.0.1:{listener.getsockname()[1]}/snap.jpg", limits=Limits(timeout_s=1))
        assert time.monotonic() - started < 5
    finally:
        listener.close()


def test_unknown_schemes_and_closed_rtsp_ports_are_unavailable():
    with pytest.raises(SourceUnavailable, match="ftp"):
        grab("ftp://127.0.0.1/cam.jpg")
    probe = __import__("socket").socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with pytest.raises(SourceUnavailable, match="cannot reach the camera: Connection refused"):
        grab(f"rtsp://127.0.0.1:{port}/stream", limits=Limits(timeout_s=2))


def test_a_video_file_plays_over_pulls(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (64, 48))
    colours = [(0, 0, 255), (0, 255, 0), (255, 0, 0)]  # BGR: red, green, blue
    for colour in colours:
        writer.write(np.full((48, 64, 3), colour, np.uint8))
    writer.release()

    seen, position = [], 0
    for _ in range(4):
        frame = grab(path.as_uri(), position=position)
        pixel = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)[24, 32]
        seen.append(int(np.argmax(pixel)))
        position = frame.next_position
    assert seen == [2, 1, 0, 2]  # red, green, blue, then the video starts over
    with pytest.raises(SourceUnavailable, match="does not exist"):
        grab((tmp_path / "missing.avi").as_uri())
    (tmp_path / "garbage.avi").write_bytes(b"not a video at all")
    with pytest.raises(SourceUnavailable):
        grab((tmp_path / "garbage.avi").as_uri())
