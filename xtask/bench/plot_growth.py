"""Draws the growth curves of `cargo xtask bench growth`: throughput and p99 against
rows (log scale), one line per operation, one column per backend."""

import json
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(data_path: str, png_path: str) -> None:
    with open(data_path, encoding="utf-8") as f:
        points = json.load(f)
    backends = [b for b in ("postgres", "sqlite") if any(p["backend"] == b for p in points)]
    fig, axes = plt.subplots(2, len(backends), figsize=(6.5 * len(backends), 8), squeeze=False)
    for col, backend in enumerate(backends):
        mine = [p for p in points if p["backend"] == backend]
        scenarios = list(dict.fromkeys(p["scenario"] for p in mine))
        for scenario in scenarios:
            line = sorted((p for p in mine if p["scenario"] == scenario), key=lambda p: p["rows"])
            rows = [p["rows"] for p in line]
            axes[0][col].plot(rows, [p["rps"] for p in line], marker="o", label=scenario)
            axes[1][col].plot(rows, [p["p99_ms"] for p in line], marker="o", label=scenario)
        # Each point has its own turns of the baseline: the line is their median per size.
        sizes = sorted({p["rows"] for p in mine})
        base = [statistics.median(p["baseline_rps"] for p in mine if p["rows"] == r) for r in sizes]
        axes[0][col].plot(sizes, base, "k--", label="baseline (GET by id, median of its turns)")
        axes[0][col].set_title(f"{backend}: throughput (64 connections)")
        axes[0][col].set_ylabel("requests / s")
        axes[1][col].set_title(f"{backend}: p99 latency")
        axes[1][col].set_ylabel("ms")
        for ax in (axes[0][col], axes[1][col]):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("rows (in each list; usage rows)")
            ax.grid(True, which="both", alpha=0.3)
        axes[0][col].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
