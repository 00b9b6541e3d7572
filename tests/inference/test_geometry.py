from services.inference.pipelines.geometry import denormalize, foot_point, point_in_polygon

SQUARE = [(0, 0), (10, 0), (10, 10), (0, 10)]
L_SHAPE = [(0, 0), (10, 0), (10, 4), (4, 4), (4, 10), (0, 10)]


def test_point_inside_and_outside_a_square():
    assert point_in_polygon((5, 5), SQUARE)
    assert not point_in_polygon((11, 5), SQUARE)
    assert not point_in_polygon((-0.1, 5), SQUARE)


def test_points_on_edges_and_corners_count_as_inside():
    assert point_in_polygon((10, 5), SQUARE)
    assert point_in_polygon((0, 0), SQUARE)
    assert point_in_polygon((5, 10), SQUARE)


def test_concave_polygon():
    assert point_in_polygon((2, 8), L_SHAPE)
    assert point_in_polygon((8, 2), L_SHAPE)
    assert not point_in_polygon((8, 8), L_SHAPE)


def test_denormalize_scales_to_the_frame():
    assert denormalize([[0, 0], [1, 0.5]], 640, 480) == [(0.0, 0.0), (640.0, 240.0)]


def test_foot_point_is_the_bottom_middle():
    assert foot_point((10, 20, 30, 100)) == (20.0, 100)
