"""Take one frame from a camera: an HTTP snapshot, an MJPEG stream, an RTSP stream or a video file.

Everything here is bounded — bytes read, seconds spent, pixels decoded — because a camera on a
district network is an untrusted peer: it may hang, stream forever, send a login page or a huge
image. Failures are one type, ``SourceUnavailable``, with a message an operator can act on; the
caller counts them and backs off. Only the URL given is contacted: no redirects are followed.
"""

import io
import os
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from PIL import Image, UnidentifiedImageError

PULL_SCHEMES = ("http", "https", "rtsp", "rtsps", "file")
_IMAGE_TYPES = {"image/jpeg", "image/jpg", "image/pjpeg", "image/png"}
_JPEG_QUALITY = 90
_CHUNK = 64 * 1024


class SourceUnavailable(Exception):
    """The source gave no usable frame; ``message`` says why, for the source page and the logs."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 10.0
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000


@dataclass(frozen=True)
class Frame:
    """One JPEG frame; ``next_position`` is where a video file source continues next time."""

    jpeg: bytes
    width: int
    height: int
    next_position: int = 0


# --- decoding ---------------------------------------------------------------------------------------


def to_frame(content: bytes, limits: Limits, *, next_position: int = 0) -> Frame:
    """Check that ``content`` is a JPEG or PNG within the limits; a PNG is re-encoded as JPEG."""
    if not content:
        raise SourceUnavailable("the source sent an empty body instead of an image")
    try:
        with Image.open(io.BytesIO(content)) as img:
            if img.format not in ("JPEG", "PNG"):
                raise SourceUnavailable(f"the source sent a {img.format} image; JPEG or PNG expected")
            width, height = img.size
            if width * height > limits.max_pixels:
                raise SourceUnavailable(f"the frame is {width}×{height} pixels, over the limit of {limits.max_pixels}")
            img.load()
            if img.format == "JPEG":
                return Frame(jpeg=content, width=width, height=height, next_position=next_position)
            out = io.BytesIO()
            img.convert("RGB").save(out, format="JPEG", quality=_JPEG_QUALITY)
            return Frame(jpeg=out.getvalue(), width=width, height=height, next_position=next_position)
    except SourceUnavailable:
        raise
    except Image.DecompressionBombError:
        raise SourceUnavailable("the frame declares more pixels than the limit") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise SourceUnavailable(f"the source sent something that is not a readable image ({exc})") from None


def encode_bgr(array, *, next_position: int = 0) -> Frame:
    """A frame decoded by OpenCV (BGR array) as JPEG."""
    import cv2

    ok, buf = cv2.imencode(".jpg", array, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    if not ok:
        raise SourceUnavailable("the decoded frame could not be encoded as JPEG")
    height, width = array.shape[:2]
    return Frame(jpeg=buf.tobytes(), width=width, height=height, next_position=next_position)


# --- MJPEG ------------------------------------------------------------------------------------------


def multipart_boundary(content_type: str) -> bytes:
    match = re.search(r'boundary="?([^";]+)"?', content_type or "", re.IGNORECASE)
    if not match:
        raise SourceUnavailable("the MJPEG stream declares no multipart boundary")
    boundary = match.group(1).strip()
    # Some cameras put the leading dashes into the parameter itself.
    return ("--" + boundary.removeprefix("--")).encode("latin-1")


def _part_headers(block: bytes) -> dict[str, str]:
    headers = {}
    for line in block.decode("latin-1").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def first_mjpeg_frame(
    read: Callable[[int], bytes], boundary: bytes, *, max_bytes: int, deadline: float,
    clock: Callable[[], float] = time.monotonic,
) -> bytes:
    """Read a multipart/x-mixed-replace body until its first complete JPEG part and return that part.

    ``read(n)`` returns up to n bytes (b"" at the end of the stream). A part's end is its
    Content-Length when it gives one, else the next boundary. Gives up past ``max_bytes`` read or
    the monotonic ``deadline``.
    """
    buf = bytearray()
    total = 0
    eof = False

    def more() -> None:
        nonlocal total, eof
        if clock() > deadline:
            raise SourceUnavailable("no complete MJPEG frame before the timeout")
        chunk = read(_CHUNK)
        if not chunk:
            eof = True
            return
        total += len(chunk)
        if total > max_bytes:
            raise SourceUnavailable(f"no complete MJPEG frame within {max_bytes} bytes")
        buf.extend(chunk)

    pos = 0
    while True:
        start = buf.find(boundary, pos)
        if start < 0:
            if eof:
                raise SourceUnavailable("the MJPEG stream ended before a complete frame")
            more()
            continue
        after = start + len(boundary)
        if len(buf) < after + 2 and not eof:
            more()
            continue
        if buf[after:after + 2] == b"--":
            raise SourceUnavailable("the MJPEG stream closed (final boundary) before a frame")
        head_end = buf.find(b"\r\n\r\n", start)
        sep = 4
        if head_end < 0:
            head_end, sep = buf.find(b"\n\n", start), 2
        if head_end < 0:
            if eof:
                raise SourceUnavailable("the MJPEG stream ended inside a part's headers")
            more()
            continue
        headers = _part_headers(bytes(buf[after:head_end]))
        body_start = head_end + sep
        length = headers.get("content-length", "")
        if length.isdigit():
            body_end = body_start + int(length)
            while len(buf) < body_end and not eof:
                more()
            if len(buf) < body_end:
                raise SourceUnavailable("the MJPEG stream ended inside a frame")
        else:
            body_end = buf.find(b"\r\n" + boundary, body_start)
            while body_end < 0 and not eof:
                more()
                body_end = buf.find(b"\r\n" + boundary, body_start)
            if body_end < 0:
                raise SourceUnavailable("the MJPEG stream ended inside a frame")
        body = bytes(buf[body_start:body_end])
        kind = headers.get("content-type", "image/jpeg").split(";")[0].strip().lower()
        if kind in _IMAGE_TYPES and body:
            return body
        # Not an image part (some cameras interleave metadata): skip to the next one.
        pos = body_end


# --- HTTP -------------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A camera answering with a redirect is misconfigured (or a login page); we contact no other URL."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise SourceUnavailable(f"the source redirected ({code}) to another URL; give the final URL instead")


_opener = urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))


def grab_http(url: str, limits: Limits) -> Frame:
    """An HTTP(S) snapshot (one JPEG or PNG) or an MJPEG stream, told apart by the Content-Type."""
    deadline = time.monotonic() + limits.timeout_s
    request = urllib.request.Request(url, headers={"User-Agent": "CityAI-source-puller/1", "Accept": "image/*, */*"})
    try:
        response = _opener.open(request, timeout=limits.timeout_s)
    except SourceUnavailable:
        raise
    except urllib.error.HTTPError as exc:
        raise SourceUnavailable(f"the source answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise SourceUnavailable(f"cannot reach the source: {exc.reason}") from None
    except (OSError, ValueError) as exc:
        raise SourceUnavailable(f"cannot reach the source: {exc}") from None
    with response:
        content_type = response.headers.get("Content-Type", "")
        kind = content_type.split(";")[0].strip().lower()
        read = getattr(response, "read1", response.read)
        try:
            if kind.startswith("multipart/"):
                body = first_mjpeg_frame(
                    read, multipart_boundary(content_type), max_bytes=limits.max_bytes, deadline=deadline
                )
                return to_frame(body, limits)
            if kind and kind not in _IMAGE_TYPES and kind != "application/octet-stream":
                raise SourceUnavailable(f"the source answered {kind}, not a JPEG or PNG image")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limits.max_bytes:
                raise SourceUnavailable(f"the snapshot is {declared} bytes, over the limit of {limits.max_bytes}")
            body = bytearray()
            while True:
                if time.monotonic() > deadline:
                    raise SourceUnavailable("the snapshot did not arrive before the timeout")
                chunk = read(_CHUNK)
                if not chunk:
                    break
                body.extend(chunk)
                if len(body) > limits.max_bytes:
                    raise SourceUnavailable(f"the snapshot is larger than the limit of {limits.max_bytes} bytes")
        except SourceUnavailable:
            raise
        except (OSError, ValueError) as exc:
            # Socket timeouts and connections reset mid-body.
            raise SourceUnavailable(f"the connection failed while reading: {exc}") from None
    return to_frame(bytes(body), limits)


# --- OpenCV (video files) ----------------------------------------------------------------------------


def file_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise SourceUnavailable("a file:// source must name a local path (file:///path/to/video)")
    return Path(unquote(parts.path))


def grab_video_file(path: Path, position: int, limits: Limits) -> Frame:
    """Frame ``position`` of a video file (wrapping at the end), so a recording plays over pulls."""
    import cv2

    if not path.is_file():
        raise SourceUnavailable(f"the video file {path} does not exist")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise SourceUnavailable(f"OpenCV cannot open the video file {path}")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        position = position % count if count > 0 else 0
        if position:
            capture.set(cv2.CAP_PROP_POS_FRAMES, position)
        ok, array = capture.read()
        if not ok and position:
            position = 0
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, array = capture.read()
        if not ok or array is None:
            raise SourceUnavailable(f"the video file {path} has no readable frame")
        _check_pixels(array, limits)
        return encode_bgr(array, next_position=(position + 1) % count if count > 0 else 0)
    finally:
        capture.release()


# --- RTSP -------------------------------------------------------------------------------------------

# ffmpeg (inside OpenCV) logs to the process's stderr, beyond our reach to scrub; its messages can
# carry a stream's address. It stays quiet: the reasons reach the operator through our own
# messages (see ``rtsp_probe``), which never hold a password. Read once, when OpenCV first opens a
# stream, so it is set before any capture; an operator's own setting wins.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
# RTP over TCP, interleaved in the RTSP connection: what a camera behind NAT or a firewall needs, and
# no packets lost on a busy network. Without a setting OpenCV lets ffmpeg prefer TCP and fall back to
# UDP silently. A site whose cameras serve UDP only sets OPENCV_FFMPEG_CAPTURE_OPTIONS=rtsp_transport;udp
# for the workers (docs/cameras.md).
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")


def masked_url(url: str) -> str:
    """rtsp://admin:secret@cam/… → rtsp://admin:***@cam/…: a camera password is not for every reader."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def redact(text: str, url: str) -> str:
    """``text`` without the password of ``url``, in any of the spellings a library may print it."""
    parts = urlsplit(url or "")
    if not text or parts.password is None:
        return text
    text = text.replace(url, masked_url(url))
    for secret in sorted({parts.password, unquote(parts.password)} - {""}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def rtsp_probe(url: str, timeout_s: float) -> str:
    """Why an RTSP stream did not open, in words an operator can act on, from one DESCRIBE of our own.

    OpenCV only says "not opened"; the camera's answer tells a wrong password from a wrong path
    from a camera that is off. The request carries no credentials, so none can leak through it.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 554
    if parts.scheme.lower() != "rtsp":
        return "cannot open the RTSP stream (unreachable, refused, wrong credentials or not a stream)"
    path = urlunsplit(("rtsp", f"{host}:{port}" if ":" not in host else f"[{host}]:{port}", parts.path or "/",
                       parts.query, ""))
    request = (f"DESCRIBE {path} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n"
               "User-Agent: CityAI-source-puller/1\r\n\r\n")
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as conn:
            conn.settimeout(timeout_s)
            conn.sendall(request.encode("latin-1", "replace"))
            status = conn.recv(1024).split(b"\r\n", 1)[0].decode("latin-1", "replace")
    except TimeoutError:
        return f"the camera did not answer within {timeout_s:g} s"
    except OSError as exc:
        return f"cannot reach the camera: {exc.strerror or exc.__class__.__name__}"
    words = status.split(" ", 2)
    if len(words) < 2 or not words[0].startswith("RTSP/") or not words[1].isdigit():
        return "the address answers, but not as an RTSP camera"
    code, reason = int(words[1]), (words[2] if len(words) > 2 else "").strip()
    if code == 401:
        if parts.password is None:
            return "the camera asks for a user name and password (RTSP 401); give them in the URL"
        return "the camera refused the user name or password (RTSP 401)"
    if code == 404:
        return "the camera has no stream at this path (RTSP 404)"
    if code == 200:
        return ("the camera accepts the stream request but sent no playable video in time "
                "(stream stalled, unsupported codec, or no RTP over TCP: see docs/cameras.md)")
    return redact(f"the camera answered RTSP {code} {reason}"[:200], url)


def open_rtsp(url: str, limits: Limits):
    """An opened OpenCV capture of the stream, or ``SourceUnavailable`` with the camera's reason."""
    import cv2

    timeout_ms = int(limits.timeout_s * 1000)
    try:
        capture = cv2.VideoCapture(
            url, cv2.CAP_FFMPEG,
            [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms],
        )
    except cv2.error as exc:
        raise SourceUnavailable(redact(f"OpenCV cannot open the stream: {exc}", url)) from None
    if not capture.isOpened():
        capture.release()
        raise SourceUnavailable(rtsp_probe(url, min(limits.timeout_s, 5.0)))
    return capture


def grab_rtsp(url: str, limits: Limits) -> Frame:
    """One frame from a fresh RTSP session: a handshake and a wait for a key frame (seconds) per call;
    short-interval bindings use a kept-open reader instead (``services.sources.streams``)."""
    capture = open_rtsp(url, limits)
    try:
        ok, array = capture.read()
        if not ok or array is None:
            raise SourceUnavailable(f"the RTSP stream gave no frame within {limits.timeout_s:g} s")
        _check_pixels(array, limits)
        return encode_bgr(array)
    finally:
        capture.release()


def _check_pixels(array, limits: Limits) -> None:
    height, width = array.shape[:2]
    if width * height > limits.max_pixels:
        raise SourceUnavailable(f"the frame is {width}×{height} pixels, over the limit of {limits.max_pixels}")


# --- entry point ------------------------------------------------------------------------------------


def grab(url: str, *, position: int = 0, limits: Limits | None = None) -> Frame:
    """One frame from ``url``; for a video file, frame ``position``."""
    limits = limits or Limits()
    scheme = urlsplit(url or "").scheme.lower()
    if scheme in ("http", "https"):
        return grab_http(url, limits)
    if scheme in ("rtsp", "rtsps"):
        return grab_rtsp(url, limits)
    if scheme == "file":
        return grab_video_file(file_path(url), position, limits)
    raise SourceUnavailable(f"cannot pull from a {scheme or 'schemeless'} URL; use http(s), rtsp or file")
