"""Evidently's data-drift preset on the drift benchmark's data (see scripts/drift-bench).

Usage: drift-bench-evidently.py DIR [LIMIT]
Reads DIR/reference.f64 and DIR/current.f64 (row-major float64, DIR/meta.json
gives the shape), runs Report([DataDriftPreset()]) and prints one JSON line:
rows, load and compute seconds, and each column's drift score and method.
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset


def load(path, features, limit):
    a = np.fromfile(path, dtype="<f8").reshape(-1, features)
    if limit:
        a = a[:limit]
    return pd.DataFrame(a, columns=[f"f{j}" for j in range(features)])


def main():
    d = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    meta = json.load(open(f"{d}/meta.json"))
    t0 = time.perf_counter()
    ref = load(f"{d}/reference.f64", meta["features"], limit)
    cur = load(f"{d}/current.f64", meta["features"], limit)
    t1 = time.perf_counter()
    result = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    t2 = time.perf_counter()
    scores = {}
    for m in result.dict()["metrics"]:
        cfg = m.get("config", {})
        col = cfg.get("column")
        if col is not None and "ValueDrift" in m.get("metric_name", cfg.get("type", "")):
            scores[col] = {"value": m.get("value"), "method": cfg.get("method")}
    print(json.dumps({"tool": "evidently", "reference_rows": len(ref), "current_rows": len(cur),
                      "load_seconds": t1 - t0, "compute_seconds": t2 - t1, "total_seconds": t2 - t0,
                      "columns": scores}))


if __name__ == "__main__":
    main()
