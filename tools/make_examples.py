"""Regenerate the catalog's made example inputs (the photo examples are kept as they are).

Run: .venv/bin/python tools/make_examples.py
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.images import EXAMPLES, poster

ADVERT = ["专业办证 刻章", "代开发票 小额贷款", "电话 13812345678"]

if __name__ == "__main__":
    (EXAMPLES / "advert.jpg").write_bytes(poster(ADVERT, fmt="JPEG"))
    print(f"wrote {EXAMPLES / 'advert.jpg'}")
