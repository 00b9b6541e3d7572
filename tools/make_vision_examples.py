"""Regenerate the made example inputs of the plate and pose scenarios (composites of real photos).

plate_car.jpg and plate_truck.jpg: a rendered Chinese plate warped onto the plate of OpenCV's
licenseplate_motion.jpg (tests/data/car_rear.jpg); fallen_person.jpg: the crowd.jpg CCTV frame with
the standing man of basketball.jpg turned to lie on the grass.

Run: .venv/bin/python tools/make_vision_examples.py
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.images import EXAMPLES, car_with_plate, person_lying_in_square

if __name__ == "__main__":
    made = {
        "plate_car.jpg": car_with_plate("粤B·12345", "blue"),
        "plate_truck.jpg": car_with_plate("豫A·7K3M9", "yellow"),
        "fallen_person.jpg": person_lying_in_square(),
    }
    for name, content in made.items():
        (EXAMPLES / name).write_bytes(content)
        print(f"wrote {EXAMPLES / name} ({len(content) // 1024} KB)")
