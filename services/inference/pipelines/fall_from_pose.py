"""Fall from pose: a heuristic on MoveNet keypoints, not a trained fall classifier.

A person counts as fallen (lying) when
- the torso is near horizontal: the vector from mid-hip to mid-shoulder leans more than
  ``torso_angle_deg`` from vertical, and the box around the person's confident keypoints is at least
  as wide as it is tall (someone bending over keeps a tall box); or
- the torso cannot be measured (shoulders or hips not seen) and that keypoint box is at least
  ``box_aspect`` times wider than tall.
One frame shows posture, not the fall itself: a person lying on a bench or doing push-ups fires
too, which the reviewing operator dismisses.
"""

import math

import cv2

from services.inference.pipelines import Context, Item, Outcome, drawing, register
from services.inference.pipelines.primitives import KEYPOINT_NAMES, Pose, estimate_poses, pose_input_size

SHOULDERS = (KEYPOINT_NAMES.index("left_shoulder"), KEYPOINT_NAMES.index("right_shoulder"))
HIPS = (KEYPOINT_NAMES.index("left_hip"), KEYPOINT_NAMES.index("right_hip"))
MIN_KEYPOINTS_FOR_BOX = 6
SKELETON = (
    (5, 6), (5, 7), (7, 9), (6, 8), (8, 10), (5, 11), (6, 12), (11, 12),
    (11, 13), (13, 15), (12, 14), (14, 16), (0, 5), (0, 6),
)


def _mean_point(pose: Pose, indices, min_kp: float) -> tuple[float, float] | None:
    seen = [pose.keypoints[i] for i in indices if pose.keypoints[i][2] >= min_kp]
    if not seen:
        return None
    return sum(p[0] for p in seen) / len(seen), sum(p[1] for p in seen) / len(seen)


def torso_angle(pose: Pose, min_kp: float) -> float | None:
    """Degrees between the hip→shoulder vector and vertical (0 upright, 90 lying), or None."""
    shoulders, hips = _mean_point(pose, SHOULDERS, min_kp), _mean_point(pose, HIPS, min_kp)
    if shoulders is None or hips is None:
        return None
    dx, dy = shoulders[0] - hips[0], shoulders[1] - hips[1]
    if dx == 0 and dy == 0:
        return None
    return math.degrees(math.atan2(abs(dx), abs(dy)))


def keypoint_aspect(pose: Pose, min_kp: float) -> tuple[float | None, int]:
    """Width / height of the box around confident keypoints, and how many keypoints that is."""
    seen = [p for p in pose.keypoints if p[2] >= min_kp]
    if len(seen) < 2:
        return None, len(seen)
    xs, ys = [p[0] for p in seen], [p[1] for p in seen]
    return (max(xs) - min(xs)) / max(1.0, max(ys) - min(ys)), len(seen)


def assess(pose: Pose, params: dict) -> dict:
    min_kp = params["min_keypoint_score"]
    angle = torso_angle(pose, min_kp)
    aspect, seen = keypoint_aspect(pose, min_kp)
    if angle is not None:
        fallen = angle > params["torso_angle_deg"] and aspect is not None and aspect >= 1.0
        reason = f"torso {angle:.0f}° from vertical, box {aspect or 0:.1f}:1"
    elif aspect is not None and seen >= MIN_KEYPOINTS_FOR_BOX:
        fallen = aspect >= params["box_aspect"]
        reason = f"torso not seen; keypoint box {aspect:.1f}:1"
    else:
        fallen, reason = False, "too few keypoints seen"
    return {
        "score": round(pose.score, 4), "box": [round(v, 1) for v in pose.box], "fallen": fallen, "reason": reason,
        "torso_angle_deg": None if angle is None else round(angle, 1),
        "keypoint_aspect": None if aspect is None else round(aspect, 2), "keypoints_seen": seen,
    }


def draw_pose(image, pose: Pose, min_kp: float, color) -> None:
    for a, b in SKELETON:
        pa, pb = pose.keypoints[a], pose.keypoints[b]
        if pa[2] >= min_kp and pb[2] >= min_kp:
            cv2.line(image, (round(pa[0]), round(pa[1])), (round(pb[0]), round(pb[1])), color, 2, cv2.LINE_AA)
    for x, y, score in pose.keypoints:
        if score >= min_kp:
            cv2.circle(image, (round(x), round(y)), 3, color, -1, cv2.LINE_AA)


@register("fall_from_pose")
def fall_from_pose(ctx: Context, item: Item) -> Outcome:
    params = item.params
    image = drawing.decode(item.content)
    height, width = image.shape[:2]
    size = pose_input_size(height, width, params["input_long_side"])
    poses = estimate_poses(ctx, item.content, input_size=size, min_score=params["min_person_score"])
    people = [assess(pose, params) for pose in poses]
    fallen = sum(1 for p in people if p["fallen"])
    alert = fallen >= params["min_fallen"]

    for pose, person in zip(poses, people, strict=True):
        color = drawing.RED if person["fallen"] else drawing.GREEN
        draw_pose(image, pose, params["min_keypoint_score"], color)
        drawing.draw_box(image, pose.box, f"{'FALLEN' if person['fallen'] else 'upright'} {pose.score:.2f}", color)
    return Outcome(
        alert=alert,
        summary=f"{fallen} of {len(people)} person(s) lying (alert at ≥ {params['min_fallen']})",
        summary_zh=f"{len(people)} 人中 {fallen} 人倒地（达到 {params['min_fallen']} 人告警）",
        data={"fallen": fallen, "people": people, "input_size": list(size),
              "image": {"width": width, "height": height}},
        annotated_jpeg=drawing.encode_jpeg(image),
    )
