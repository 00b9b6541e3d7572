"""Environmental noise from a recording: A-weighted Leq (IEC 61672 weighting) of a WAV file,
compared with the GB 3096-2008 limit of the functional zone at the time of day.

Calibration: a WAV file holds numbers, not pascals. ``calibration_db`` is the sound pressure level
of a full-scale RMS signal for the recording chain (microphone, gain, converter), measured once with
an acoustic calibrator. Without it the levels are relative to full scale, the rule reports them but
never alerts: an uncalibrated microphone cannot show a limit is exceeded.
"""

import io
import wave

import numpy as np

from services.inference.pipelines import Context, InputRejected, Item, Outcome, register
from services.inference.pipelines.primitives import analyze_signal
from services.inference.pipelines.sensor_standard import noise_period


def read_wav(content: bytes) -> tuple[np.ndarray, int]:
    """First channel of a PCM WAV file as float32 in [-1, 1], and the sample rate."""
    try:
        with wave.open(io.BytesIO(content)) as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError) as exc:
        raise InputRejected(f"not a readable PCM WAV file: {exc}") from None
    if width == 1:  # 8-bit WAV is unsigned
        samples = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
    elif width == 4:
        samples = (np.frombuffer(frames, dtype="<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    else:
        raise InputRejected(f"{8 * width}-bit WAV is not supported; send 8, 16 or 32-bit PCM")
    samples = samples[: samples.size - samples.size % channels].reshape(-1, channels)[:, 0]
    if samples.size < rate // 2:
        raise InputRejected("the recording is shorter than half a second")
    return samples, rate


@register("audio_noise")
def audio_noise(ctx: Context, item: Item) -> Outcome:
    params = item.params
    if not item.content:
        raise InputRejected("this scenario needs a WAV recording")
    samples, rate = read_wav(item.content)
    calibration = params.get("calibration_db")
    calibrated = calibration is not None
    period = noise_period(ctx, params)
    result = analyze_signal(
        ctx, "noise_audio", samples.reshape(-1, 1), ["pcm"],
        {"sample_rate": rate, "calibration_db": calibration if calibrated else 0.0,
         "zone_class": params["zone_class"], "period": period, "block_s": 1.0},
    )
    levels, verdict = result["levels"], result["assessment"]
    unit = "dB(A)" if calibrated else "dB(A) re full scale"
    if calibrated:
        alert = verdict["exceeds"]
        summary = (f"Leq {levels['leq']:.1f} {unit} over {levels['duration_s']:.0f} s; {period} limit "
                   f"{verdict['limit_db']} dB(A) (zone class {verdict['zone_class']})")
        period_zh = "昼间" if period == "day" else "夜间"
        summary_zh = (f"{levels['duration_s']:.0f} 秒等效声级 {levels['leq']:.1f} {unit}，"
                      f"{verdict['zone_class']} 类声功能区{period_zh}限值 {verdict['limit_db']} dB(A)")
        if verdict["leq_exceeds"]:
            summary += f": exceeds by {verdict['exceed_db']:.1f} dB"
            summary_zh += f"，超标 {verdict['exceed_db']:.1f} dB"
        elif verdict["lmax_exceeds"]:
            summary += f": Lmax {levels['lmax']:.1f} above the night limit + 15 dB"
            summary_zh += f"，最大声级 {levels['lmax']:.1f} 超过夜间限值加 15 dB"
    else:
        alert = False
        summary = (f"Leq {levels['leq']:.1f} {unit}: uncalibrated microphone, relative level only — "
                   "set calibration_db to compare with the limit")
        summary_zh = (f"等效声级 {levels['leq']:.1f} {unit}：麦克风未校准，仅为相对值；"
                      "设置 calibration_db 后才与限值比较")
    return Outcome(
        alert=alert,
        summary=summary,
        summary_zh=summary_zh,
        data={"levels": levels, "assessment": verdict if calibrated else None, "calibrated": calibrated,
              "unit": unit, "sample_rate": rate, "period": period},
    )
