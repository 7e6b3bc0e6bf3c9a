"""Prints a registered model's state as MLflow's own Python client reads it:
{"aliases": {alias: version}, "versions": {v: {"stage", "aliases", "tags"}}}.

usage: state.py MODEL_NAME   (MLFLOW_TRACKING_URI names the server)
"""

import json
import sys

from mlflow import MlflowClient

name = sys.argv[1]
client = MlflowClient()
model = client.get_registered_model(name)
versions = {}
for mv in client.search_model_versions(f"name='{name}'"):
    full = client.get_model_version(name, mv.version)
    versions[full.version] = {"stage": full.current_stage, "aliases": sorted(full.aliases), "tags": full.tags}
print(json.dumps({"aliases": dict(model.aliases), "versions": versions}))
