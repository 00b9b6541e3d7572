"""Make the example inputs of the text, sensor and audio scenarios (deterministic; run from the repo
root: `python tools/make_signal_examples.py`). Series are synthetic but shaped like the real thing:
a daily traffic profile, monthly river samples, a sound level meter's minute readings."""

import io
import json
import wave
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "services" / "catalog" / "data" / "examples"

TEXTS = {
    "complaint_routing.txt": "文二路和学院路口的人行道上每天晚上都有流动摊贩摆摊卖烧烤，油烟很大，"
    "还把盲道都占了，希望城管来管一管。",
    "complaint_duplicate.txt": "西湖区文三路199号楼下的烧烤店每天晚上油烟直排，熏得楼上住户没法开窗，请尽快处理。",
    "complaint_entities.txt": "我叫王丽，住在杭州市西湖区文三路199号3幢2单元501室。昨天晚上10点，"
    "楼下华联超市的冷库外机噪音很大，一直响到凌晨。联系电话13812345678。",
    "complaint_urgent.txt": "紧急！西湖区古荡新村5幢2单元楼道里闻到很浓的煤气味，怀疑燃气泄漏，"
    "楼里还有老人，请马上派人来！电话13900001111。",
}


def rounded(values) -> list[float]:
    return [round(float(v), 2) for v in values]


def series_examples(rng: np.random.Generator) -> dict[str, object]:
    days = 7
    air = {
        "pm25": rounded(rng.uniform(20, 45, days)), "pm10": rounded(rng.uniform(40, 80, days)),
        "so2": rounded(rng.uniform(5, 15, days)), "no2": rounded(rng.uniform(20, 45, days)),
        "co": rounded(rng.uniform(0.5, 1.2, days)), "o3": rounded(rng.uniform(60, 120, days)),
    }
    air["pm25"][4] = 80.0  # a hazy day: IAQI 106, lightly polluted
    water = {
        "do": [7.8, 7.1, 6.4, 5.6, 5.2, 6.0], "codmn": [3.1, 3.6, 4.2, 5.1, 5.8, 4.4],
        "nh3n": [0.32, 0.41, 0.55, 0.86, 1.32, 0.62], "tp": [0.08, 0.09, 0.12, 0.16, 0.19, 0.13],
        "cod": [12, 14, 16, 18, 19, 17],
    }
    noise = rounded(rng.normal(49, 1.5, 60))
    noise[37] = 68.0  # a truck at night: Lmax above the limit + 15 dB
    minutes = 480
    gas = {"co": rounded(np.clip(rng.normal(6, 1.0, minutes), 0, None)),
           "h2s": rounded(np.clip(rng.normal(1.0, 0.2, minutes), 0, None))}
    gas["h2s"][300:304] = [6.5, 12.4, 9.8, 4.1]  # a leak: the MAC of 10 mg/m³ is passed
    n = 288
    t = np.arange(n)
    accel = 2.0 + 0.6 * np.sin(2 * np.pi * t / n) ** 2 + rng.normal(0, 0.08, n)
    accel[[120, 121, 122]] += [1.6, 2.2, 1.4]  # an abnormal burst
    strain = 150 + 20 * np.sin(2 * np.pi * t / n) + rng.normal(0, 2.0, n)
    flow = 60 + 220 * (np.exp(-((t - 96) / 18) ** 2) + np.exp(-((t - 216) / 20) ** 2)) + rng.normal(0, 8, n)
    flow[[150, 151, 152]] = [12, 8, 15]  # an incident closes the lanes
    q = np.arange(72)
    passengers = 300 + 900 * (np.exp(-((q - 10) / 4) ** 2) + np.exp(-((q - 48) / 5) ** 2)) + rng.normal(0, 25, 72)
    passengers[60] += 1500  # a concert lets out
    return {
        "air_quality_daily.json": air,
        "river_water_samples.json": water,
        "noise_meter_readings.json": noise,
        "plant_gas_readings.json": gas,
        "bridge_vibration.json": {"accel_rms": rounded(accel), "strain": rounded(strain)},
        "road_traffic_flow.json": rounded(np.clip(flow, 0, None)),
        "station_passenger_flow.json": rounded(np.clip(passengers, 0, None)),
    }


def construction_wav(rng: np.random.Generator, rate: int = 8000, seconds: float = 5.0) -> bytes:
    """Broadband site noise with hammer blows; at calibration_db 110 it reads about 65 dB(A)."""
    n = int(rate * seconds)
    x = rng.normal(0, 0.01, n)
    for start in np.arange(0.3, seconds, 0.6):
        i = int(start * rate)
        blow = rng.normal(0, 0.15, int(0.05 * rate)) * np.exp(-np.arange(int(0.05 * rate)) / (0.01 * rate))
        x[i : i + blow.size] += blow[: n - i]
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return buffer.getvalue()


def main() -> None:
    rng = np.random.default_rng(20261128)
    for name, text in TEXTS.items():
        (OUT / name).write_text(text + "\n", encoding="utf-8")
    for name, data in series_examples(rng).items():
        (OUT / name).write_text(json.dumps(data, ensure_ascii=False) + "\n", encoding="utf-8")
    (OUT / "construction_night.wav").write_bytes(construction_wav(rng))
    print("wrote", len(TEXTS) + 8, "files to", OUT)


if __name__ == "__main__":
    main()
