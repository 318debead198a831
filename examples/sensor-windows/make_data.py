"""Write data/windows.npz: synthetic 3-axis accelerometer windows of three activities.

Each window is 64 samples of (x, y, z) at a nominal 50 Hz: "idle" is gravity plus noise, "walk"
a 2 Hz swing, "run" a stronger 3.5 Hz one with harmonics. Seeded, so every run writes the same
file. Real projects put their own recorded windows here, in the same layout.
"""

from pathlib import Path

import numpy as np

RATE_HZ, LENGTH = 50.0, 64
LABELS = ["idle", "walk", "run"]


def windows(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng.integers(0, len(LABELS), n)
    t = np.arange(LENGTH) / RATE_HZ
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    freq = np.array([0.0, 2.0, 3.5])[y][:, None]
    amp = np.array([0.0, 0.4, 0.9])[y][:, None]
    swing = amp * np.sin(2 * np.pi * freq * t + phase)
    x = np.stack(
        [swing, 1.0 + 0.5 * swing**2, 0.3 * np.cos(2 * np.pi * freq * t + phase) * amp], axis=-1
    )
    x += rng.normal(0.0, 0.15, x.shape)
    return x.astype(np.float32), y.astype(np.int64)


def main(project: Path = Path(__file__).parent) -> None:
    """Write data/windows.npz into the project folder."""
    rng = np.random.default_rng(7)
    x_train, y_train = windows(rng, 1200)
    x_test, y_test = windows(rng, 300)
    out = project / "data" / "windows.npz"
    out.parent.mkdir(exist_ok=True)
    np.savez(out, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    print(f"wrote {out} ({len(x_train)} training and {len(x_test)} test windows)")


if __name__ == "__main__":
    main()
