"""A real RTSP server on 127.0.0.1 for the source tests and bench/rtsp.py: GStreamer's RTSP server.

This file runs under Debian's ``/usr/bin/python3`` (``python3-gi`` and ``gir1.2-gst-rtsp-server-1.0``
are Debian packages, not in the project's venv); :class:`RtspServer` at the bottom starts it as a
subprocess from the venv. Each mount is a live stream encoded as a camera encodes it (H.264 or H.265,
a key frame every ``gop`` frames, zero-latency):

- ``pattern``: GStreamer's moving test pattern;
- ``frames``: a folder of JPEG files ``0.jpg``, ``1.jpg`` … of which one is shown at a time — the
  controller says which (``show``), so a test plays a scene frame by frame.

A mount may be TCP-only or UDP-only (``transport``) and may ask for digest credentials (``user`` and
``password``). On stdin the controller sends ``show PATH INDEX``, ``stall PATH`` (the session stays
open but no frame is sent — a camera whose encoder hung), ``resume PATH`` and ``quit``; every command
is answered ``ok`` on stdout once done. Nothing here listens on anything but loopback.
"""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

SERVER_PYTHON = "/usr/bin/python3"


def _serve(config: dict) -> None:  # pragma: no cover - runs under Debian's python3
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtsp", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtsp, GstRtspServer

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(config.get("port", 0)))
    mounts = server.get_mount_points()
    state: dict[str, dict] = {}
    auth = None
    if any(m.get("user") for m in config["mounts"].values()):
        # A camera that asks for credentials asks on every path: give such mounts a server of their own.
        auth = GstRtspServer.RTSPAuth()
        auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        server.set_auth(auth)

    def encoder(codec: str, fps: int, gop: int, bitrate: int) -> str:
        # The valve sits right before the payloader: a stall stops the packets at once.
        if codec == "h265":
            return (f"x265enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate={bitrate} "
                    "! video/x-h265,profile=main ! valve name=valve drop=false "
                    "! rtph265pay name=pay0 pt=96 config-interval=1")
        return (f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate={bitrate} "
                "! video/x-h264,profile=baseline ! valve name=valve drop=false "
                "! rtph264pay name=pay0 pt=96 config-interval=1")

    class Factory(GstRtspServer.RTSPMediaFactory):
        def __init__(self, path: str, mount: dict) -> None:
            super().__init__()
            self.path, self.mount = path, mount
            # Shared: one encoder for every client, as a camera has; a mount may ask for its own per client.
            self.set_shared(mount.get("shared", True))

        def do_create_element(self, url):
            m = self.mount
            fps, width, height = m.get("fps", 20), m.get("width", 320), m.get("height", 240)
            caps = f"video/x-raw,width={width},height={height},framerate={fps}/1"
            if "frames" in m:
                source = (f"appsrc name=src is-live=true format=time do-timestamp=true "
                          f"caps=image/jpeg,framerate={fps}/1 ! jpegdec ! videoconvert ! videoscale ! {caps}")
            else:
                source = f"videotestsrc is-live=true pattern=ball ! {caps}"
            # A key frame a second, as cameras are usually set.
            encode = encoder(m.get("codec", "h264"), fps, m.get("gop", fps), m.get("bitrate", 300))
            launch = f"( {source} ! queue ! {encode} )"
            return Gst.parse_launch(launch)

    def on_configure(factory, media) -> None:
        entry = state[factory.path]
        element = media.get_element()
        entry["valve"] = element.get_by_name("valve")
        entry["valve"].set_property("drop", entry["stalled"])
        src = element.get_by_name("src")
        if src is not None:
            entry["appsrc"] = src
            entry["pts"] = 0

    def push_frames() -> bool:
        for entry in state.values():
            src = entry.get("appsrc")
            if src is None or entry["stalled"]:
                continue
            data = entry["frames"][entry["index"] % len(entry["frames"])]
            buf = Gst.Buffer.new_wrapped(data)
            src.emit("push-buffer", buf)
        return True

    for path, mount in config["mounts"].items():
        factory = Factory(path, mount)
        transport = mount.get("transport", "any")
        if transport == "tcp":
            factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
        elif transport == "udp":
            factory.set_protocols(GstRtsp.RTSPLowerTrans.UDP)
        entry = {"stalled": False, "index": 0}
        if "frames" in mount:
            folder = Path(mount["frames"])
            count = len(list(folder.glob("*.jpg")))
            entry["frames"] = [(folder / f"{i}.jpg").read_bytes() for i in range(count)]
        state[path] = entry
        role = mount.get("user") or ""
        if mount.get("user"):
            token = GstRtspServer.RTSPToken()
            token.set_string("media.factory.role", mount["user"])
            auth.add_digest(mount["user"], mount["password"], token)
        if role:
            permissions = GstRtspServer.RTSPPermissions()
            permissions.add_permission_for_role(role, "media.factory.access", True)
            permissions.add_permission_for_role(role, "media.factory.construct", True)
            factory.set_permissions(permissions)
        factory.connect("media-configure", on_configure)
        mounts.add_factory(path, factory)

    loop = GLib.MainLoop()
    if server.attach(None) == 0:
        print("error: cannot listen", flush=True)
        sys.exit(1)
    fps = max([m.get("fps", 20) for m in config["mounts"].values()] or [20])
    GLib.timeout_add(int(1000 / fps), push_frames)

    def on_command(channel, condition) -> bool:
        line = sys.stdin.readline()
        if not line or line.strip() == "quit":
            loop.quit()
            return False
        words = line.split()
        entry = state.get(words[1]) if len(words) > 1 else None
        if entry is None:
            print("error: unknown mount", flush=True)
            return True
        if words[0] == "show":
            entry["index"] = int(words[2])
        elif words[0] in ("stall", "resume"):
            entry["stalled"] = words[0] == "stall"
            if entry.get("valve") is not None:
                entry["valve"].set_property("drop", entry["stalled"])
        print("ok", flush=True)
        return True

    GLib.io_add_watch(GLib.IOChannel.unix_new(sys.stdin.fileno()), GLib.IO_IN | GLib.IO_HUP, on_command)
    print(f"ready {server.get_bound_port()}", flush=True)
    loop.run()


def available() -> bool:
    """Whether Debian's python3 can import GStreamer's RTSP server (bin/setup --test installs it)."""
    probe = ("import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import Gst, GstRtspServer; "
             "Gst.init(None); import sys; sys.exit(0 if Gst.ElementFactory.find('x264enc') else 1)")
    try:
        return subprocess.run([SERVER_PYTHON, "-c", probe], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def has_encoder(name: str) -> bool:
    probe = ("import gi, sys; gi.require_version('Gst', '1.0'); from gi.repository import Gst; Gst.init(None); "
             f"sys.exit(0 if Gst.ElementFactory.find({name!r}) else 1)")
    return subprocess.run([SERVER_PYTHON, "-c", probe], capture_output=True, timeout=30).returncode == 0


class RtspServer:
    """The server above as a subprocess: ``start()``, ``url(path)``, ``show``/``stall``/``resume``,
    ``stop()`` (the camera dies mid-stream) and ``start()`` again on the same port (it comes back)."""

    def __init__(self, mounts: dict[str, dict], *, port: int = 0) -> None:
        self.mounts = mounts
        self.port = port
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def start(self, timeout: float = 30) -> "RtspServer":
        config = json.dumps({"port": self.port, "mounts": self.mounts})
        env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
        self._proc = subprocess.Popen(
            [SERVER_PYTHON, __file__, config], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, env=env, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            line = self._proc.stdout.readline()
            if line.startswith("ready") or not line:
                break
        if not line.startswith("ready"):
            self.stop()
            raise RuntimeError(f"the RTSP test server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def url(self, path: str, *, user: str = "", password: str = "", options: str = "") -> str:
        login = f"{user}:{password}@" if user else ""
        return f"rtsp://{login}127.0.0.1:{self.port}{path}" + (f"?{options}" if options else "")

    def command(self, line: str) -> None:
        with self._lock:
            self._proc.stdin.write(line + "\n")
            self._proc.stdin.flush()
            answer = self._proc.stdout.readline().strip()
        if answer != "ok":
            raise RuntimeError(f"the RTSP test server answered {answer!r} to {line!r}")

    def show(self, path: str, index: int) -> None:
        self.command(f"show {path} {index}")

    def stall(self, path: str) -> None:
        self.command(f"stall {path}")

    def resume(self, path: str) -> None:
        self.command(f"resume {path}")

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.kill()
        self._proc.wait(10)
        for stream in (self._proc.stdin, self._proc.stdout):
            stream.close()
        self._proc = None

    @property
    def running(self) -> bool:
        return self._proc is not None


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
