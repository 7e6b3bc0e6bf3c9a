"""Registers the demand-forecast example with MLflow's own Python client, as a
training pipeline would: one run per version with its offline metrics,
mlflow.lightgbm.log_model (MLflow 3's logged-model layout, source models:/m-…),
register_model, then the tags modelgate requires set by the client, with
model_sha256 computed over the logged files by the rule in the README.
Optionally the logged files are signed with model_signing (key mode) and the
signature added to the logged model before the digest is taken.

usage: register_example.py MODEL_NAME MODE EXAMPLE_DIR [PRIVATE_KEY]
MODE is "stage" (v1 Production, v2 and v3 Staging) or "alias" (v1 @champion,
v2 @challenger, v3 no alias). Prints JSON: {"versions": {"1": {...}, ...}}.
MLFLOW_TRACKING_URI names the server.
"""

import hashlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import lightgbm as lgb
import mlflow
import yaml
from mlflow import MlflowClient


def dir_digest(root: pathlib.Path) -> str:
    lines = []
    for p in sorted(root.rglob("*")):
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            lines.append((rel, hashlib.sha256(p.read_bytes()).hexdigest()))
    lines.sort(key=lambda x: x[0].encode())
    text = "".join(f"{h}  {rel}\n" for rel, h in lines)
    return hashlib.sha256(text.encode()).hexdigest()


def main() -> None:
    name, mode, example = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
    private_key = sys.argv[4] if len(sys.argv) > 4 else ""
    facts = json.loads((example / "versions.json").read_text())
    metrics = json.loads((example / "models" / "metrics.json").read_text())
    client = MlflowClient()
    mlflow.set_experiment("modelgate-example")
    out = {}
    for v in facts["versions"]:
        src = example / v["dir"]
        booster = lgb.Booster(model_file=str(src / "model.lgb"))
        meta = yaml.safe_load((src / "MLmodel").read_text()).get("metadata")
        with mlflow.start_run(run_name=f"{name}-v{v['version']}"):
            mlflow.log_metrics(metrics["v" + v["version"]])
            info = mlflow.lightgbm.log_model(booster, name="model", metadata=meta)
        with tempfile.TemporaryDirectory() as tmp:
            # The stored files, by their artifact location: downloading
            # models:/… makes the Python client add a registered_model_meta
            # file that the server does not hold.
            location = client.get_logged_model(info.model_id).artifact_location
            local = pathlib.Path(mlflow.artifacts.download_artifacts(artifact_uri=location, dst_path=tmp))
            if private_key:
                sig = pathlib.Path(tmp) / "model.sig"
                subprocess.run([str(pathlib.Path(sys.executable).parent / "model_signing"), "sign", "key",
                                "--private_key", private_key, "--signature", str(sig), str(local)],
                               check=True, capture_output=True)
                client.log_model_artifact(info.model_id, str(sig))
                (local / "model.sig").write_bytes(sig.read_bytes())
            digest = dir_digest(local)
        mv = mlflow.register_model(info.model_uri, name)
        for k, val in {**v["tags"], "model_sha256": digest}.items():
            client.set_model_version_tag(name, mv.version, k, val)
        if mode == "stage":
            client.transition_model_version_stage(name, mv.version, v["stage"])
        elif v["stage"] == "Production":
            client.set_registered_model_alias(name, "champion", mv.version)
        elif v["version"] == "2":
            client.set_registered_model_alias(name, "challenger", mv.version)
        out[mv.version] = {"source": mv.source, "model_id": info.model_id, "digest": digest,
                           "metrics": metrics["v" + v["version"]]}
    print(json.dumps({"versions": out}))


if __name__ == "__main__":
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    main()
