from services.inference.pipelines.ocr_text import merge_lines
from services.inference.pipelines.primitives import TextSegment


def seg(text, x1, y1, x2, y2):
    return TextSegment(text, 0.99, (x1, y1, x2, y1, x2, y2, x1, y2))


def test_segments_on_one_row_join_left_to_right():
    lines = merge_lines([seg("发票", 200, 12, 260, 40), seg("代开", 100, 10, 160, 40), seg("电话", 100, 60, 160, 90)])
    assert [line.text for line in lines] == ["代开 发票", "电话"]


def test_far_apart_segments_stay_separate_lines():
    lines = merge_lines([seg("左", 0, 0, 30, 30), seg("右", 900, 0, 930, 30)])
    assert len(lines) == 2


def test_slightly_offset_rows_still_merge_but_stacked_rows_do_not():
    lines = merge_lines([seg("一", 0, 0, 50, 30), seg("二", 60, 8, 110, 38), seg("三", 0, 31, 50, 61)])
    assert [line.text for line in lines] == ["一 二", "三"]
