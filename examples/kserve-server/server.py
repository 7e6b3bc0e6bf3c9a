"""A KServe Python model server for an MLflow LightGBM model directory.

It serves the model with LightGBM itself (never modelgate's Go evaluator)
over KServe's V1 and V2 (Open Inference Protocol) REST routes, so modelgate's
smoke tests, evaluation and gateway proxy can be checked against a real peer.

    python server.py --model_dir MODEL_DIR --model_name demand-forecast --http_port 8085

Requests accept either form, in both protocols:

* raw fields, turned into features by the feature transform the model
  declares in MLmodel (metadata.modelgate.feature_transform) - this file
  mirrors modelgate's mlmodel/transform.go op for op (number, weekday,
  day_of_year, month, day_of_month, year, days_since); or
* feature vectors in the booster's feature order.

V1: {"instances": [{"store_id": 42, "date": "2025-01-15", "promo": 1}]} or
{"instances": [[42, 1, 2, 15, 1]]} -> {"predictions": [...]}.
V2: one tensor per raw field (shape [N] or [N, 1]; numbers FP64/INT*, dates
BYTES), or a single numeric [N, F] tensor of feature vectors ->
{"outputs": [{"name": "predict", "datatype": "FP64", "shape": [N], ...}]}.
"""

import argparse
import datetime
import math
import os
from typing import Dict, List, Union

import lightgbm
import numpy as np
import yaml
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer, model_server
from kserve.errors import InvalidInput
from kserve.utils.utils import generate_uuid

OPS = ["number", "weekday", "day_of_year", "month", "day_of_month", "year", "days_since"]

# Go reference-time tokens and their strptime equivalents, longest first.
GO_LAYOUT = [
    ("January", "%B"), ("Jan", "%b"), ("Monday", "%A"), ("Mon", "%a"),
    ("2006", "%Y"), ("06", "%y"), ("01", "%m"), ("02", "%d"), ("002", "%j"),
    ("15", "%H"), ("04", "%M"), ("05", "%S"),
]


def go_layout_to_strptime(layout: str) -> str:
    out, i = "", 0
    while i < len(layout):
        for tok, rep in sorted(GO_LAYOUT, key=lambda t: -len(t[0])):
            if layout.startswith(tok, i):
                out += rep
                i += len(tok)
                break
        else:
            out += "%%" if layout[i] == "%" else layout[i]
            i += 1
    return out


def to_number(v):
    """mlmodel/convert.go toNumber: null is missing (NaN); numeric strings
    parse; "NaN"/"Inf" are errors; bools are 0/1."""
    if v is None:
        return math.nan
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            raise ValueError(f"{v!r} is not a number")
        if math.isnan(f) or math.isinf(f) or v.strip().lower() in ("nan", "inf", "+inf", "-inf", "infinity"):
            raise ValueError(f"{v!r} is not a number")
        return f
    raise ValueError(f"{v!r} is not a number")


class Transform:
    """metadata.modelgate.feature_transform, checked against the booster."""

    def __init__(self, spec: Dict, names: List[str]):
        self.layout = go_layout_to_strptime(spec.get("date_format") or "2006-01-02")
        feats = spec.get("features") or []
        if len(feats) != len(names):
            raise ValueError(f"feature_transform declares {len(feats)} features, the booster has {len(names)}")
        self.features = []
        for i, f in enumerate(feats):
            if f.get("op") not in OPS:
                raise ValueError(f"feature {i}: unknown op {f.get('op')!r}")
            if f.get("name") != names[i]:
                raise ValueError(f"feature {i} is named {f.get('name')!r}, the booster's is {names[i]!r}")
            origin = None
            if f["op"] == "days_since":
                origin = datetime.datetime.strptime(f["origin"], self.layout)
            self.features.append((f["source"], f["op"], origin))

    def row(self, fields: Dict) -> List[float]:
        row = []
        for source, op, origin in self.features:
            if source not in fields:
                raise ValueError(f"missing field {source!r}")
            try:
                row.append(self.apply(fields[source], op, origin))
            except ValueError as e:
                raise ValueError(f"field {source!r}: {e}")
        return row

    def apply(self, raw, op, origin) -> float:
        if op == "number":
            return to_number(raw)
        if isinstance(raw, bytes):
            raw = raw.decode()
        if not isinstance(raw, str):
            raise ValueError(f"{raw!r} is not a date string")
        t = datetime.datetime.strptime(raw, self.layout)
        if op == "weekday":
            return float(t.weekday())  # Monday=0, as modelgate's weekday
        if op == "day_of_year":
            return float(t.timetuple().tm_yday)
        if op == "month":
            return float(t.month)
        if op == "day_of_month":
            return float(t.day)
        if op == "year":
            return float(t.year)
        return float((t - origin).days)  # floor, like pandas' (t - origin).days


class MLflowLightGBM(Model):
    def __init__(self, name: str, model_dir: str, version: str = ""):
        super().__init__(name)
        self.model_dir = model_dir
        self.version = version or None
        self.load()

    def load(self) -> bool:
        with open(os.path.join(self.model_dir, "MLmodel")) as f:
            mlmodel = yaml.safe_load(f)
        flavor = (mlmodel.get("flavors") or {}).get("lightgbm")
        if not flavor:
            raise ValueError(f"{self.model_dir}: no lightgbm flavor")
        self.booster = lightgbm.Booster(model_file=os.path.join(self.model_dir, flavor["data"]))
        self.names = self.booster.feature_name()
        spec = ((mlmodel.get("metadata") or {}).get("modelgate") or {}).get("feature_transform")
        self.transform = Transform(spec, self.names) if spec else None
        self.ready = True
        return True

    def get_input_types(self) -> List[Dict]:
        return [{"name": n, "datatype": "FP64", "shape": [-1]} for n in self.names]

    def get_output_types(self) -> List[Dict]:
        return [{"name": "predict", "datatype": "FP64", "shape": [-1]}]

    def features(self, instance) -> List[float]:
        if isinstance(instance, dict):
            if self.transform is not None:
                return self.transform.row(instance)
            return [to_number(instance[n]) if n in instance else self._missing(n) for n in self.names]
        if isinstance(instance, (list, tuple)):
            if len(instance) != len(self.names):
                raise ValueError(f"want {len(self.names)} feature values ({', '.join(self.names)}), got {len(instance)}")
            return [to_number(v) for v in instance]
        raise ValueError(f"want an object of fields or an array of {len(self.names)} feature values")

    @staticmethod
    def _missing(name):
        raise ValueError(f"missing field {name!r}")

    def rows(self, instances) -> np.ndarray:
        if not instances:
            raise InvalidInput("request has no instances")
        out = []
        for i, inst in enumerate(instances):
            try:
                out.append(self.features(inst))
            except (ValueError, KeyError, TypeError) as e:
                raise InvalidInput(f"instance {i}: {e}")
        return np.asarray(out, dtype=np.float64)

    def v2_instances(self, req: InferRequest):
        inputs = req.inputs
        if not inputs:
            raise InvalidInput('request has no "inputs"')
        if len(inputs) == 1 and len(inputs[0].shape) == 2 and (inputs[0].shape[1] != 1 or inputs[0].name not in self.names) \
                and inputs[0].datatype != "BYTES":
            return [list(r) for r in np.asarray(inputs[0].as_numpy(), dtype=np.float64)]
        cols, n = {}, None
        for t in inputs:
            vals = t.as_numpy().reshape(-1).tolist() if t.datatype != "BYTES" else \
                [v.decode() if isinstance(v, bytes) else v for v in np.asarray(t.data, dtype=object).reshape(-1)]
            if n is not None and len(vals) != n:
                raise InvalidInput(f"inputs disagree on the number of rows: {len(vals)} vs {n}")
            n = len(vals)
            cols[t.name] = vals
        return [{k: v[i] for k, v in cols.items()} for i in range(n or 0)]

    def predict(self, payload: Union[Dict, InferRequest], headers: Dict[str, str] = None):
        if isinstance(payload, InferRequest):
            preds = self.booster.predict(self.rows(self.v2_instances(payload)))
            out = InferOutput(name="predict", shape=[len(preds)], datatype="FP64", data=preds.astype(np.float64).tolist())
            return InferResponse(response_id=payload.id or generate_uuid(), model_name=self.name,
                                 infer_outputs=[out], model_version=self.version)
        instances = payload.get("instances", payload.get("inputs"))
        if instances is None:
            raise InvalidInput('request has no "instances"')
        return {"predictions": self.booster.predict(self.rows(instances)).astype(np.float64).tolist()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    parser.add_argument("--model_dir", required=True, help="MLflow LightGBM model directory")
    parser.add_argument("--model_version", default="", help="version reported in V2 answers")
    args, _ = parser.parse_known_args()
    ModelServer().start([MLflowLightGBM(args.model_name, args.model_dir, args.model_version)])
