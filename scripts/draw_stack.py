"""Draw the scale-out stack of `gazer cluster` (docs/images/scale-out-stack.png)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

BOXES = {  # name: (x, y, w, h, label, colour)
    "users": (5.4, 9.0, 3.0, 0.8, "users, apps, curl", "#eeeeee"),
    "haproxy": (5.4, 7.6, 3.0, 0.8, "HAProxy\n/readyz checks, retries, redispatch", "#fde2b8"),
    "serve1": (3.6, 5.8, 3.0, 1.0, "gazer serve (serve-1)\nnetns, 10.77.0.11", "#cfe3f7"),
    "serve2": (7.6, 5.8, 3.0, 1.0, "gazer serve (serve-2)\nnetns, 10.77.0.12", "#cfe3f7"),
    "cli": (0.0, 7.6, 3.0, 0.9, "gazer run / watch / batch\n--env-file gazer.env", "#eeeeee"),
    "rayhead": (0.0, 5.8, 3.0, 0.9, "Ray head (0 CPUs)\n10.77.0.1", "#e8d9f0"),
    "rayworker": (0.0, 3.9, 3.0, 0.9, "Ray worker: every step\nnetns, 10.77.0.61", "#e8d9f0"),
    "mlflow": (5.4, 3.9, 3.0, 0.9, "MLflow server\ntracking + registry", "#d9f0d3"),
    "postgres": (3.6, 1.7, 3.0, 0.9, "PostgreSQL\ngazer db + mlflow db", "#f7d4d4"),
    "s3": (7.6, 1.7, 3.0, 0.9, "SeaweedFS S3\nzones/, mlflow/", "#f7d4d4"),
}
ARROWS = [("users", "haproxy", ""), ("haproxy", "serve1", ""), ("haproxy", "serve2", ""),
          ("serve1", "mlflow", "aliases"), ("serve2", "mlflow", "aliases"),
          ("serve1", "postgres", "prediction log"), ("mlflow", "postgres", ""),
          ("mlflow", "s3", "artifacts"), ("cli", "rayhead", "steps"),
          ("rayhead", "rayworker", ""), ("rayworker", "mlflow", "metrics, models"),
          ("rayworker", "postgres", "artifacts via S3, runs")]


def centre(name: str) -> tuple[float, float]:
    x, y, w, h, *_ = BOXES[name]
    return x + w / 2, y + h / 2


def main() -> None:
    fig, ax = plt.subplots(figsize=(11, 8))
    for x, y, w, h, label, colour in BOXES.values():
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=colour,
                                    ec="#555555"))
        ax.text(x + w / 2, y + h / 2, label, ha="center", va="center", fontsize=9)
    for a, b, label in ARROWS:
        (x1, y1), (x2, y2) = centre(a), centre(b)
        ax.add_patch(FancyArrowPatch((x1, y1), (x2, y2), arrowstyle="-|>", mutation_scale=12,
                                     color="#777777", shrinkA=28, shrinkB=28, lw=1))
        if label:
            ax.text((x1 + x2) / 2, (y1 + y2) / 2, label, fontsize=7, color="#444444",
                    ha="center", bbox={"fc": "white", "ec": "none", "pad": 1})
    ax.add_patch(FancyBboxPatch((-0.1, 0.2), 10.8, 0.9, boxstyle="round,pad=0.05",
                                fc="none", ec="#999999", ls="--"))
    ax.text(5.3, 0.65, "one machine: `gazer cluster up deploy/cluster.yaml` (bridge 10.77.0.1, "
            "each replica and worker in its own network namespace)", ha="center",
            va="center", fontsize=8, color="#555555")
    ax.set_xlim(-0.3, 10.9)
    ax.set_ylim(0, 10)
    ax.axis("off")
    ax.set_title("gazer scale-out stack", fontsize=12)
    out = Path(__file__).resolve().parents[1] / "docs" / "images" / "scale-out-stack.png"
    fig.savefig(out, dpi=110, bbox_inches="tight")
    print(out)


if __name__ == "__main__":
    main()
