"""Camera streams kept open between pulls: one reader thread per source hands the pull a fresh frame.

Opening an RTSP session costs a handshake, stream analysis and a wait for the next key frame — about
3 s per pull against our loopback server, often 1–2 s against a camera (bench/rtsp.py). For bindings
pulled every few seconds that is most of the interval, so such sources keep their session open: a
:class:`StreamReader` decodes the stream as it arrives (H.264/H.265 cannot be decoded from the middle
without the frames before it) and, only when a pull asks, converts the next decoded frame and hands
it over.

What it promises:
- **bounded memory**: at most one decoded frame per reader, held only while a pull waits for it;
  at most ``max_readers`` readers per process (more sources fall back to a session per pull); a
  reader nobody asked for within ``idle_s`` closes itself.
- **never stale**: the frame handed over was decoded after the pull asked, and a frame further behind
  live than the pull's ``max_age`` (a decoder that fell behind, a backlog after a stall) is refused
  rather than passed off as "now".
- **reconnects with backoff**: a stream that ends, stalls past the timeout or cannot be opened is
  opened again after 1, 2, 4 … ``backoff_max_s`` seconds; a waiting pull cuts the wait short, so a
  camera that came back is seen at the next pull, while the pull schedule's own backoff (and the
  offline count) is the source's, as for snapshots.

The readers live in the process that pulls (a Celery worker process); with a prefork pool of N
processes a camera may hold up to N sessions, one per process that pulled it — see docs/cameras.md.
"""

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.sources.grabbers import Frame, Limits, SourceUnavailable, encode_bgr, masked_url, open_rtsp

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Decoded:
    array: object  # the BGR frame
    at: float  # monotonic time it was decoded
    lag_s: float  # how far behind live it was


class StreamReader:
    """One RTSP session read continuously by a daemon thread; ``frame()`` takes the next decoded frame."""

    def __init__(
        self, url: str, *, limits: Limits, backoff_s: float = 1.0, backoff_max_s: float = 30.0,
        idle_s: float = 120.0, on_exit: Callable[["StreamReader"], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.limits = limits
        self.backoff_s, self.backoff_max_s, self.idle_s = backoff_s, backoff_max_s, idle_s
        self._on_exit = on_exit
        self._clock = clock
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._waiting = 0
        self._latest: _Decoded | None = None
        self.last_used = clock()
        # Health, for the pull's error message, tests and the bench.
        self.connected = False
        self.failures = 0
        self.last_error = ""
        self.opens = 0
        self.frames = 0
        self.last_lag_s = 0.0
        self._failed_at = float("-inf")
        self._thread = threading.Thread(target=self._run, name=f"stream {masked_url(url)}", daemon=True)

    # --- the pull's side ----------------------------------------------------------------------------

    def start(self) -> "StreamReader":
        self._thread.start()
        return self

    def frame(self, *, max_age_s: float, timeout_s: float | None = None) -> Frame:
        """The first frame decoded after this call, as JPEG; ``SourceUnavailable`` when none comes within
        the timeout (the reader's last error says why) or when it lags live by more than ``max_age_s``."""
        if timeout_s is None:
            # A reader still opening gets the open-per-pull budget: the open, then the first frame.
            timeout_s = self.limits.timeout_s * (1 if self.connected else 2)
        asked = self._clock()
        deadline = asked + timeout_s
        with self._cond:
            self.last_used = asked
            self._waiting += 1
            self._wake.set()  # a reader waiting out a backoff tries again now
            try:
                while not (self._latest is not None and self._latest.at >= asked):
                    remaining = deadline - self._clock()
                    # A failure after the ask (the open failed, the stream stopped) answers at once.
                    if remaining <= 0 or self._stop.is_set() or self._failed_at >= asked:
                        raise SourceUnavailable(
                            self.last_error or f"the RTSP stream gave no frame within {timeout_s:g} s")
                    self._cond.wait(min(remaining, 0.5))
                decoded = self._latest
            finally:
                self._waiting -= 1
                if not self._waiting:
                    self._latest = None  # nobody waits: hold no decoded frame
        self.last_lag_s = decoded.lag_s
        if decoded.lag_s > max_age_s:
            raise SourceUnavailable(
                f"the RTSP stream is {decoded.lag_s:.0f} s behind live, more than the {max_age_s:g} s allowed"
            )
        height, width = decoded.array.shape[:2]
        if width * height > self.limits.max_pixels:
            raise SourceUnavailable(f"the frame is {width}×{height} pixels, over the limit of {self.limits.max_pixels}")
        return encode_bgr(decoded.array)

    def close(self, wait: float = 0) -> None:
        self._stop.set()
        self._wake.set()
        with self._cond:
            self._cond.notify_all()
        if wait:
            self._thread.join(wait)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    # --- the reader thread --------------------------------------------------------------------------

    def _idle(self) -> bool:
        return not self._waiting and self._clock() - self.last_used > self.idle_s

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and not self._idle():
                try:
                    capture = open_rtsp(self.url, self.limits)
                except SourceUnavailable as exc:
                    self._failed(exc.message)
                    continue
                self.opens += 1
                try:
                    self._read(capture)
                finally:
                    capture.release()
                    self.connected = False
        except Exception:  # a reader must never take its process down; the pull reports the silence
            logger.exception("stream reader of %s failed", masked_url(self.url))
            self.last_error = "the stream reader failed; see the worker log"
        finally:
            self._stop.set()
            with self._cond:
                self._cond.notify_all()
            if self._on_exit is not None:
                self._on_exit(self)

    def _read(self, capture) -> None:
        import cv2

        baseline: float | None = None  # the smallest (arrival − presentation time) seen: "live"
        last_pts = -1.0
        while not self._stop.is_set():
            if self._idle():
                return
            if not capture.grab():
                self._failed(f"the RTSP stream stopped or stalled (no frame within {self.limits.timeout_s:g} s)")
                return
            now = self._clock()
            pts = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            if pts < last_pts:  # the camera restarted its clock
                baseline = None
            last_pts = pts
            offset = now - pts
            baseline = offset if baseline is None else min(baseline, offset)
            self.frames += 1
            if not self.connected:
                self.connected, self.failures, self.last_error = True, 0, ""
            if self._waiting:
                ok, array = capture.retrieve()
                if ok and array is not None:
                    with self._cond:
                        if self._waiting:  # the asker may have left while this frame was decoded
                            self._latest = _Decoded(array=array, at=now, lag_s=offset - baseline)
                            self._cond.notify_all()

    def _failed(self, message: str) -> None:
        with self._cond:
            self.connected = False
            self.failures += 1
            self.last_error = message
            self._failed_at = self._clock()
            self._cond.notify_all()
        logger.info("stream %s: %s (%s in a row)", masked_url(self.url), message, self.failures)
        pause = min(self.backoff_max_s, self.backoff_s * 2 ** (self.failures - 1))
        self._wake.clear()
        if self._waiting:
            pause = min(pause, self.backoff_s)  # someone waits now: do not make them wait out a long backoff
        self._wake.wait(pause)


class StreamRegistry:
    """The kept-open readers of this process, one per source, created on a pull's first ask."""

    def __init__(self, *, max_readers: int = 64, idle_s: float = 120.0, backoff_s: float = 1.0,
                 backoff_max_s: float = 30.0) -> None:
        self.max_readers, self.idle_s = max_readers, idle_s
        self.backoff_s, self.backoff_max_s = backoff_s, backoff_max_s
        self._readers: dict[str, StreamReader] = {}
        self._lock = threading.Lock()

    def reader(self, key: str, url: str, limits: Limits) -> StreamReader | None:
        """The source's reader (started if need be), or None when this process already follows
        ``max_readers`` streams — the caller then opens a session for this pull alone."""
        with self._lock:
            reader = self._readers.get(key)
            if reader is not None and (reader.url != url or reader.limits != limits or not reader.alive):
                reader.close()  # a new address or a dead reader: start over
                del self._readers[key]
                reader = None
            if reader is None:
                if len(self._readers) >= self.max_readers:
                    return None
                reader = StreamReader(url, limits=limits, backoff_s=self.backoff_s, backoff_max_s=self.backoff_max_s,
                                      idle_s=self.idle_s, on_exit=lambda r, key=key: self._forget(key, r))
                self._readers[key] = reader
                reader.start()
            return reader

    def frame(self, key: str, url: str, *, limits: Limits, max_age_s: float) -> Frame | None:
        reader = self.reader(key, url, limits)
        return None if reader is None else reader.frame(max_age_s=max_age_s)

    def _forget(self, key: str, reader: StreamReader) -> None:
        with self._lock:
            if self._readers.get(key) is reader:
                del self._readers[key]

    def close(self, key: str) -> None:
        with self._lock:
            reader = self._readers.pop(key, None)
        if reader is not None:
            reader.close()

    def close_all(self, wait: float = 0) -> None:
        with self._lock:
            readers, self._readers = list(self._readers.values()), {}
        for reader in readers:
            reader.close()
        for reader in readers:
            if wait:
                reader._thread.join(wait)

    def __len__(self) -> int:
        return len(self._readers)

    def __contains__(self, key: str) -> bool:
        return key in self._readers


_registry: StreamRegistry | None = None
_registry_pid = 0


def registry() -> StreamRegistry:
    """This process's registry (a forked worker process starts its own: threads do not survive a fork)."""
    global _registry, _registry_pid
    if _registry is None or _registry_pid != os.getpid():
        from django.conf import settings

        _registry = StreamRegistry(
            max_readers=int(setting(settings, "CITYAI_SOURCES_STREAMS_MAX", 64)),
            idle_s=setting(settings, "CITYAI_SOURCES_STREAM_IDLE_SECONDS", 120.0),
            backoff_s=1.0,
            backoff_max_s=setting(settings, "CITYAI_SOURCES_BACKOFF_MAX_SECONDS", 300.0) / 10,
        )
        _registry_pid = os.getpid()
    return _registry


def setting(settings, name: str, default: float) -> float:
    """A Django setting, else the environment variable of that name, else ``default``."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, "")
        if not value:
            return default
    return float(value)
