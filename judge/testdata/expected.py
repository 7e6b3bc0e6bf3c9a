"""Expected values for judge's drift statistics, computed by scipy.

Run once (any Python with numpy and scipy, e.g. .cache/evidently-venv):
    python judge/testdata/expected.py > judge/testdata/expected.json
TestDistancesAgainstScipy reads the samples and the values from that file.
"""
import json

import numpy as np
from scipy import stats
from scipy.spatial import distance

rng = np.random.default_rng(5)
cases = []


def sample_case(name, a, b):
    a = np.round(a, 3)
    b = np.round(b, 3)
    d = stats.ks_2samp(a, b).statistic
    n, m = len(a), len(b)
    en = n * m / (n + m)
    lam = (np.sqrt(en) + 0.12 + 0.11 / np.sqrt(en)) * d
    cases.append({
        "name": name, "a": a.tolist(), "b": b.tolist(),
        "ks_d": float(d),
        "ks_p": float(stats.kstwobign.sf(lam)),
        "wasserstein": float(stats.wasserstein_distance(a, b)),
    })


sample_case("same_distribution", rng.normal(0, 1, 300), rng.normal(0, 1, 200))
sample_case("shifted_0.5sd", rng.normal(0, 1, 300), rng.normal(0.5, 1, 250))
sample_case("wider", rng.normal(10, 1, 400), rng.normal(10, 2, 400))
sample_case("lognormal_ties", rng.lognormal(0, 1, 500).round(1), rng.lognormal(0.1, 1, 500).round(1))

bins = []


def bin_case(name, p, q, observed):
    p = np.array(p, float)
    q = np.array(q, float)
    pf, qf = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
    chi = stats.chisquare(observed, np.array(p) / np.sum(p) * np.sum(observed))
    bins.append({
        "name": name, "p": p.tolist(), "q": q.tolist(), "observed": observed,
        "psi": float(np.sum((qf - pf) * np.log(qf / pf))),
        "js": float(distance.jensenshannon(p, q)),
        "linf": float(np.max(np.abs(p / p.sum() - q / q.sum()))),
        "chi2": float(chi.statistic), "chi2_p": float(chi.pvalue),
    })


bin_case("equal", [0.1] * 10, [0.1] * 10, [100] * 10)
bin_case("mild", [0.1] * 10, [0.08, 0.09, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.11, 0.12], [80, 90, 100, 100, 100, 100, 100, 100, 110, 120])
bin_case("strong", [0.25, 0.25, 0.25, 0.25], [0.1, 0.2, 0.3, 0.4], [10, 20, 30, 40])
bin_case("categorical", [0.5, 0.3, 0.2], [0.4, 0.4, 0.2], [400, 400, 200])

print(json.dumps({"samples": cases, "bins": bins}, indent=1))
