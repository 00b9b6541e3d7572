"""Regenerate the catalog's made example inputs (the photo examples are kept as they are).

Run: .venv/bin/python tools/make_examples.py
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.images import EXAMPLES, poster

ADVERT = ["专业办证 刻章", "代开发票 小额贷款", "电话 13812345678"]
LICENCE = [
    "营业执照",
    "统一社会信用代码 91440307MA5F8K2LXD",
    "名称 深圳市龙岗区绿源环保科技有限公司",
    "类型 有限责任公司",
    "法定代表人 李明",
    "住所 深圳市龙岗区龙城街道中心城8号",
]

if __name__ == "__main__":
    (EXAMPLES / "advert.jpg").write_bytes(poster(ADVERT, fmt="JPEG"))
    (EXAMPLES / "licence.jpg").write_bytes(poster(LICENCE, size=(1280, 860), seed=11, angle=1.5, fmt="JPEG"))
    print(f"wrote {EXAMPLES / 'advert.jpg'} and {EXAMPLES / 'licence.jpg'}")
