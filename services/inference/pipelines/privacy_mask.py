"""Privacy masking: faces and licence plates are made unrecognisable before an image is shared.

The masked image is the result (``annotated_jpeg``); the rule never alerts. Faces come from the
shared face detector and plates from the plate reader's four corners. Each region is padded, then
pixelated to a coarse mosaic and blurred on top, which removes the detail a face or a plate needs to
be recognised (a plain Gaussian blur of a small face can be partly reversed). The result keeps
counts and boxes only: it never contains the plate text it has just hidden.
"""

import cv2
import numpy as np

from services.inference.pipelines import Context, Item, Outcome, drawing, register
from services.inference.pipelines.primitives import detect_faces, read_plates

MOSAIC_CELLS = 6  # cells across the short side of a region


def padded(box, pad: float, width: int, height: int) -> tuple[int, int, int, int]:
    """A box grown by ``pad`` of its size on each side, in whole pixels, clipped to the image."""
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * pad, (y2 - y1) * pad
    return (max(0, int(x1 - dx)), max(0, int(y1 - dy)), min(width, int(np.ceil(x2 + dx))),
            min(height, int(np.ceil(y2 + dy))))


def obscure(image: np.ndarray, box: tuple[int, int, int, int]) -> None:
    """Pixelate the region to a few cells, then blur it, in place."""
    x1, y1, x2, y2 = box
    region = image[y1:y2, x1:x2]
    h, w = region.shape[:2]
    if h < 2 or w < 2:
        return
    cell = max(1, min(h, w) // MOSAIC_CELLS)
    small = cv2.resize(region, (max(1, w // cell), max(1, h // cell)), interpolation=cv2.INTER_AREA)
    mosaic = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    image[y1:y2, x1:x2] = cv2.GaussianBlur(mosaic, (0, 0), sigmaX=max(1.0, cell / 2))


@register("privacy_mask")
def privacy_mask(ctx: Context, item: Item) -> Outcome:
    params = item.params
    image = drawing.decode(item.content)
    height, width = image.shape[:2]
    regions = []
    if params["faces"]:
        for face in detect_faces(ctx, item.content, min_score=params["min_face_score"]):
            regions.append({"kind": "face", "score": round(face.score, 4), "box": list(face.box)})
    if params["plates"]:
        for plate in read_plates(ctx, item.content):
            regions.append({"kind": "plate", "score": round(plate.score, 4), "box": list(plate.bounds)})
    for region in regions:
        box = padded(region["box"], params["padding"], width, height)
        obscure(image, box)
        region["box"] = list(box)
    faces = sum(1 for r in regions if r["kind"] == "face")
    plates = len(regions) - faces
    return Outcome(
        alert=False,
        summary=f"masked {faces} face(s) and {plates} plate(s)",
        summary_zh=f"已遮挡人脸 {faces} 处、车牌 {plates} 处",
        data={"faces": faces, "plates": plates, "regions": regions, "image": {"width": width, "height": height}},
        annotated_jpeg=drawing.encode_jpeg(image, quality=90),
    )
