"""Take one frame from a camera: an HTTP snapshot, an MJPEG stream, an RTSP stream or a video file.

Everything here is bounded — bytes read, seconds spent, pixels decoded — because a camera on a
district network is an untrusted peer: it may hang, stream forever, send a login page or a huge
image. Failures are one type, ``SourceUnavailable``, with a message an operator can act on; the
caller counts them and backs off. Only the URL given is contacted: no redirects are followed.
"""

import io
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

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


# --- OpenCV (RTSP streams, video files) -------------------------------------------------------------


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


def grab_rtsp(url: str, limits: Limits) -> Frame:
    import cv2

    timeout_ms = int(limits.timeout_s * 1000)
    capture = cv2.VideoCapture(
        url, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
    )
    try:
        if not capture.isOpened():
            raise SourceUnavailable("cannot open the RTSP stream (unreachable, refused or not a stream)")
        ok, array = capture.read()
        if not ok or array is None:
            raise SourceUnavailable("the RTSP stream gave no frame before the timeout")
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
