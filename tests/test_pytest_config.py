"""The suite's pytest configuration turns an exception in a thread a test started into a failure
(pytest alone only warns, so a test whose worker threads assert could never fail)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_an_exception_in_a_thread_fails_the_test(tmp_path):
    (tmp_path / "test_thread.py").write_text(
        "import threading\n\n"
        "def test_a_thread_fails():\n"
        "    def work():\n"
        "        raise AssertionError('checked in a thread')\n"
        "    thread = threading.Thread(target=work)\n"
        "    thread.start()\n"
        "    thread.join()\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
         "-p", "no:cacheprovider", "-q", str(tmp_path / "test_thread.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 1, done.stdout[-3000:]
    assert "checked in a thread" in done.stdout and "1 failed" in done.stdout
