"""A savl model file loaded into the PyTorch reference network of scripts/make_savl_fixtures.py (which the
Swift model is tested against), for the benchmark and analysis scripts beside this one."""
import importlib.util
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(model_path, require=None):
    """(fixtures module, configuration, model in eval mode) of a model file written by `savl train --export`.
    `require(cfg)` may return a reason to refuse the model before it is built."""
    from safetensors import safe_open

    fixtures = load_module("fixtures", REPO / "scripts/make_savl_fixtures.py")
    with safe_open(str(model_path), "pt") as f:
        metadata = f.metadata() or {}
        if "config" not in metadata:
            sys.exit(f"{model_path}: not a savl model file (no 'config' metadata); make one with savl train --export")
        cfg = json.loads(metadata["config"])
        if require and (reason := require(cfg)):
            sys.exit(f"{model_path}: {reason}")
        weights = {k: f.get_tensor(k).float() for k in f.keys()}
    model = fixtures.SAVLModel(cfg)
    model.load_state_dict(weights, strict=True)
    model.eval()
    return fixtures, cfg, model
