"""The standards' maths of the signal_analytics model, against values worked by hand from the tables
of HJ 633-2012, GB 3838-2002, GB 3096-2008, IEC 61672-1 and GBZ 2.1-2019. No Triton: the module is
imported by path (the model folder is not a package; Triton runs it under numpy<2, we under numpy 2).
"""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[2] / "model_repository" / "signal_analytics" / "1" / "standards.py"
_spec = importlib.util.spec_from_file_location("signal_standards", _PATH)
standards = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(standards)


# --- HJ 633-2012 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "concentration", "expected"),
    [
        ("pm25_24h", 80, 106.25),  # (150−100)/(115−75)·(80−75)+100
        ("pm10_24h", 200, 125.0),  # (150−100)/(250−150)·(200−150)+100
        ("co_24h", 3, 75.0),  # (100−50)/(4−2)·(3−2)+50, mg/m³
        ("o3_8h", 180, 100 + 50 * 20 / 55),  # 118.18
        ("so2_24h", 300, 100 + 50 * 150 / 325),  # 150 → 475 spans IAQI 100 → 150
        ("no2_1h", 150, 75.0),
        ("pm25_24h", 35, 50.0),  # on a breakpoint
        ("pm25_24h", 0, 0.0),
        ("pm25_24h", 600, 500.0),  # above the table: the index tops out
    ],
)
def test_iaqi_by_hand(key, concentration, expected):
    assert standards.iaqi(key, concentration) == pytest.approx(expected, abs=1e-9)


def test_iaqi_gives_none_where_the_standard_switches_averaging():
    assert standards.iaqi("so2_1h", 900) is None
    assert standards.iaqi("o3_8h", 850) is None


def test_aqi_pm25_80_is_lightly_polluted_with_pm25_primary():
    result = standards.aqi({"pm25_24h": 80, "pm10_24h": 100, "so2_24h": 10, "no2_24h": 30, "co_24h": 1, "o3_8h": 90})
    assert result["aqi"] == 106
    assert (result["level"], result["category_zh"]) == (3, "轻度污染")
    assert result["primary_pollutants"] == ["pm25"]
    assert result["iaqi"]["pm10"] == 75
    assert result["exceeding_pollutants"] == ["pm25"]


def test_aqi_primary_pollutant_o3_and_ties():
    assert standards.aqi({"pm25_24h": 80, "o3_8h": 180})["primary_pollutants"] == ["o3"]
    tie = standards.aqi({"pm25_24h": 75, "pm10_24h": 150})
    assert tie["aqi"] == 100 and tie["primary_pollutants"] == ["pm10", "pm25"] and tie["category_zh"] == "良"


def test_aqi_at_or_below_50_has_no_primary_pollutant():
    result = standards.aqi({"pm25_24h": 30})  # 42.86 → 43
    assert result["aqi"] == 43 and result["category_zh"] == "优" and result["primary_pollutants"] == []


def test_aqi_so2_1h_above_800_falls_back_to_24h():
    result = standards.aqi({"so2_1h": 900, "so2_24h": 300})
    assert result["iaqi"]["so2"] == 123  # 123.08 from the 24-h value
    assert result["iaqi_exact"]["so2_1h"] is None


def test_aqi_rejects_negative_and_unknown():
    with pytest.raises(ValueError):
        standards.iaqi("pm25_24h", -1)
    with pytest.raises(ValueError):
        standards.iaqi("pm1_24h", 10)


# --- GB 3838-2002 ----------------------------------------------------------------------------------


def test_water_class_example_is_class_iv_limited_by_permanganate():
    # DO 5.5 ≥ 5 → III; CODMn 7 ≤ 10 → IV; NH3-N 0.8 ≤ 1.0 → III; TP 0.15 ≤ 0.2 → III
    result = standards.water_class({"do": 5.5, "codmn": 7, "nh3n": 0.8, "tp": 0.15}, "III")
    assert result["class"] == "IV"
    assert result["limiting_parameters"] == ["codmn"]
    assert result["parameter_classes"] == {"do": "III", "codmn": "IV", "nh3n": "III", "tp": "III"}
    assert result["meets_target"] is False
    (exceeding,) = result["exceeding"]
    assert exceeding["parameter"] == "codmn" and exceeding["target_limit"] == 6
    assert exceeding["exceed_multiple"] == pytest.approx(1 / 6, abs=1e-3)


@pytest.mark.parametrize(
    ("parameter", "value", "expected"),
    [
        ("do", 7.5, "I"), ("do", 6.2, "II"), ("do", 2.5, "V"), ("do", 1.5, "劣V"),
        ("nh3n", 0.5, "II"), ("nh3n", 0.51, "III"), ("nh3n", 2.1, "劣V"),
        ("tp", 0.03, "II"), ("tp_lake", 0.03, "III"),
        ("cod", 15, "I"), ("bod5", 4, "III"), ("codmn", 16, "劣V"),
        ("ph", 7.2, "I"), ("ph", 9.5, "劣V"),
        ("hg", 0.0001, "III"), ("fecal_coliform", 15000, "IV"),
    ],
)
def test_water_parameter_classes(parameter, value, expected):
    assert standards.water_parameter_class(parameter, value) == expected


def test_good_water_meets_target():
    result = standards.water_class({"do": 7.0, "codmn": 3.5, "nh3n": 0.3, "tp": 0.08}, "III")
    assert result["class"] == "II" and result["meets_target"] and result["exceeding"] == []


# --- GB 3096-2008 and IEC 61672 --------------------------------------------------------------------


def test_energy_mean_of_60_and_70_db_is_67_4():
    assert standards.energy_mean_db([60, 70]) == pytest.approx(10 * math.log10((1e6 + 1e7) / 2), abs=1e-9)
    assert standards.energy_mean_db([60, 70]) == pytest.approx(67.40, abs=0.01)


def test_percentile_levels():
    stats = standards.level_statistics(np.arange(1, 101, dtype=float))
    assert stats["l10"] == pytest.approx(90.1) and stats["l50"] == pytest.approx(50.5)
    assert stats["l90"] == pytest.approx(10.9) and stats["lmax"] == 100 and stats["lmin"] == 1


def test_noise_limits_by_zone_and_period():
    day = standards.noise_assessment({"leq": 67.4, "lmax": 70}, "2", "day")
    assert day["limit_db"] == 60 and day["exceeds"] and day["exceed_db"] == pytest.approx(7.4)
    quiet_night = standards.noise_assessment({"leq": 40, "lmax": 58}, "1", "night")
    assert quiet_night["limit_db"] == 45 and not quiet_night["exceeds"]
    # Night: Leq under the 45 dB limit, but a sudden 61 dB peak is more than 15 dB above it.
    peak = standards.noise_assessment({"leq": 40, "lmax": 61}, "1", "night")
    assert peak["lmax_exceeds"] and peak["exceeds"] and not peak["leq_exceeds"]
    assert standards.NOISE_LIMITS["4b"] == (70, 60) and standards.NOISE_LIMITS["0"] == (50, 40)
    assert standards.period_of_hour(22) == "night" and standards.period_of_hour(6) == "day"


@pytest.mark.parametrize(
    ("band", "expected_db"),
    # IEC 61672-1:2013 table 3, A-weighting at the exact mid-band frequencies 1000·10^(band/10) Hz:
    # 1 kHz, 100 Hz, 31.5 Hz, 10 kHz, 4 kHz, 250 Hz
    [(0, 0.0), (-10, -19.1), (-15, -39.4), (10, -2.5), (6, 1.0), (-6, -8.6)],
)
def test_a_weighting_matches_iec_61672_table(band, expected_db):
    frequency = 1000 * 10 ** (band / 10)
    gain_db = 20 * math.log10(float(standards.a_weighting_gain(np.array([frequency]))[0]))
    assert gain_db == pytest.approx(expected_db, abs=0.1)


def _tone(frequency: float, rms: float, seconds: float = 3.0, rate: int = 16000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return rms * math.sqrt(2) * np.sin(2 * np.pi * frequency * t)


def test_audio_leq_of_calibrated_1khz_tone():
    # RMS 0.1 is −20 dB re full scale; A(1 kHz) = 0; calibration 100 dB → 80 dB(A)
    levels = standards.audio_levels(_tone(1000, 0.1), 16000, calibration_db=100.0)
    assert levels["leq"] == pytest.approx(80.0, abs=0.05)
    assert levels["lmax"] == pytest.approx(80.0, abs=0.1)
    assert levels["duration_s"] == pytest.approx(3.0)
    assert len(levels["block_levels"]) == 3


def test_audio_leq_applies_a_weighting():
    levels = standards.audio_levels(_tone(100, 0.1), 16000, calibration_db=100.0)
    assert levels["leq"] == pytest.approx(80.0 - 19.1, abs=0.15)


def test_audio_silence_stays_finite():
    levels = standards.audio_levels(np.zeros(16000), 16000)
    assert math.isfinite(levels["leq"]) and levels["leq"] < -150


# --- GBZ 2.1-2019 ----------------------------------------------------------------------------------


def test_co_twa_over_a_full_shift():
    readings = np.full(480, 25.0)  # 8 h of one-minute readings at 25 mg/m³
    result = standards.occupational_exposure(readings, 60, standards.EXPOSURE_LIMITS["co"])
    assert result["twa_8h"] == pytest.approx(25.0) and result["exceeded"] == ["pc_twa"]


def test_co_half_shift_counts_the_rest_as_zero():
    readings = np.full(240, 30.0)  # 4 h at 30 → C_TWA = 30·4/8 = 15; 15-min mean 30 is not above 30
    result = standards.occupational_exposure(readings, 60, standards.EXPOSURE_LIMITS["co"])
    assert result["twa_8h"] == pytest.approx(15.0) and result["stel_15min"] == pytest.approx(30.0)
    assert result["exceeded"] == []


def test_h2s_ceiling():
    readings = np.full(60, 5.0)
    readings[30] = 12.0
    result = standards.occupational_exposure(readings, 60, standards.EXPOSURE_LIMITS["h2s"])
    assert result["exceeded"] == ["mac"] and result["over_limit_indices"] == [30] and result["max"] == 12.0


# --- robust statistics -------------------------------------------------------------------------------


def test_modified_z_by_hand():
    values = np.array([10, 10.5, 9.8, 10.2, 10.1, 30, 9.9])
    # median 10.1, MAD 0.2 → z(30) = 0.6745·19.9/0.2 = 67.1; z(10.5) = 0.6745·0.4/0.2 = 1.35
    z = standards.robust_z(values)
    assert z[5] == pytest.approx(0.6745 * 19.9 / 0.2) and z[1] == pytest.approx(1.349)
    assert standards.mad_anomalies(values)["indices"] == [5]


def test_rolling_median_leaves_the_point_out_when_asked():
    values = np.array([1.0, 1.0, 9.0, 1.0, 1.0])
    assert standards.rolling_median(values, 3)[2] == 1.0
    assert list(standards.rolling_median(values, 3, exclude_center=True)) == [1.0, 5.0, 1.0, 5.0, 1.0]


def test_local_baseline_follows_a_parabola_exactly():
    x = (np.arange(20, dtype=float) - 8) ** 2
    assert np.allclose(standards.local_baseline(x, 3)[3:-3], x[3:-3])


def test_detrended_mad_finds_spikes_on_a_daily_profile_and_not_the_peaks():
    rng = np.random.default_rng(7)
    q = np.arange(72)  # a day of 15-min passenger counts with two narrow peaks
    flow = 300 + 900 * (np.exp(-(((q - 10) / 4) ** 2)) + np.exp(-(((q - 48) / 5) ** 2))) + rng.normal(0, 25, q.size)
    assert standards.mad_anomalies(flow, 4.5, 7)["indices"] == []
    flow[[30, 60]] += [600, -250]
    # The spike's neighbours are not flagged: the spike leaves the baseline before the next pass.
    assert standards.mad_anomalies(flow, 4.5, 7)["indices"] == [30, 60]
