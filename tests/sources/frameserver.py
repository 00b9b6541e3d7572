"""A camera of our own on 127.0.0.1: HTTP snapshots and an MJPEG stream from frame sequences.

Each camera is a name with a list of JPEG frames and the index of the frame it shows now; a test
moves the index (``show``) to play a scene, stops the server to make the camera die and starts it
again on the same port to bring it back. Nothing here talks to anything but loopback.
"""

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

BOUNDARY = "cityaiframe"


class Camera:
    def __init__(self, frames: list[bytes]) -> None:
        self.frames = frames
        self.index = 0
        self.hits = 0

    @property
    def frame(self) -> bytes:
        return self.frames[self.index % len(self.frames)]


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, *args) -> None:  # keep the test output clean
        pass

    def _send(self, code: int, content_type: str, body: bytes, extra: dict | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if parts == ["login"]:
            return self._send(200, "text/html; charset=utf-8", b"<html><body>Please log in</body></html>")
        if parts == ["redirect"]:
            return self._send(302, "text/plain", b"", {"Location": "http://127.0.0.1:9/elsewhere.jpg"})
        if parts == ["broken"]:
            return self._send(200, "image/jpeg", b"\xff\xd8\xff\xe0 this is not really a JPEG")
        if parts == ["huge"]:
            return self._send(200, "image/jpeg", b"\xff" * (self.server.huge_bytes))
        if len(parts) != 2 or parts[0] not in self.server.cameras:
            return self._send(404, "text/plain", b"no such camera")
        camera = self.server.cameras[parts[0]]
        camera.hits += 1
        if parts[1] == "snapshot.jpg":
            return self._send(200, "image/jpeg", camera.frame)
        if parts[1] == "snapshot.png":
            out = io.BytesIO()
            Image.open(io.BytesIO(camera.frame)).save(out, format="PNG")
            return self._send(200, "image/png", out.getvalue())
        if parts[1] == "stream.mjpg":
            return self._stream(camera)
        return self._send(404, "text/plain", b"no such endpoint")

    def _stream(self, camera: Camera) -> None:
        """An endless multipart/x-mixed-replace stream, as IP cameras serve it, until the client leaves."""
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        try:
            for _ in range(600):
                frame = camera.frame
                self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(frame)}\r\n\r\n"
                                 .encode())
                self.wfile.write(frame + b"\r\n")
                self.wfile.flush()
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass


class _Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int, cameras: dict[str, Camera]) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.cameras = cameras
        self.huge_bytes = 0


class FrameServer:
    """Start with ``start()``; ``url(name, kind)`` gives a camera's URL; ``stop()`` makes it unreachable."""

    def __init__(self, cameras: dict[str, list[bytes]] | None = None) -> None:
        self.cameras = {name: Camera(frames) for name, frames in (cameras or {}).items()}
        self.port = 0
        self.huge_bytes = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def add(self, name: str, frames: list[bytes]) -> Camera:
        self.cameras[name] = Camera(frames)
        return self.cameras[name]

    def show(self, name: str, index: int) -> None:
        self.cameras[name].index = index

    def url(self, name: str, kind: str = "snapshot.jpg") -> str:
        return f"http://127.0.0.1:{self.port}/{name}/{kind}"

    def start(self) -> "FrameServer":
        self._server = _Server(self.port, self.cameras)
        self._server.huge_bytes = self.huge_bytes
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    @property
    def running(self) -> bool:
        return self._server is not None
