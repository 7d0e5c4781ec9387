"""Training defaults in one place. Paths are relative to the working directory."""

from __future__ import annotations

from pathlib import Path

SEED = 42
DEFAULT_CAMPAIGNS = 1000
QUICK_CAMPAIGNS = 200
EVAL_SEED = 2026
# 10,000: 2,000 per fifth of distance, so that a 2-point miss of a fifth's coverage is not noise.
EVAL_CAMPAIGNS = 10_000

DATA_DIR = Path("data")
SYNTHETIC_DIR = DATA_DIR / "synthetic"
REPORTS_DIR = Path("reports")

EXPERIMENT_NAME = "campaign-purchase-predictor"
# Databricks workspaces keep experiments under absolute workspace paths.
DATABRICKS_EXPERIMENT_NAME = f"/Shared/{EXPERIMENT_NAME}"
MODEL_VERSION = "1.0.0"

TEST_SIZE = 0.2
CV_SPLITS = 5
CV_REPEATS = 3
QUICK_CV_REPEATS = 1

# Served model: the grid cross-validation chooses k and alpha from.
SERVED_K_GRID: tuple[int | str, ...] = (6, 10, 14, 17, "all")
SERVED_ALPHA_GRID: tuple[float, ...] = (0.1, 1.0, 10.0)
