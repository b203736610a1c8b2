"""What the fourth round's record scripts share: their command line, the offline
environment, and the shipped pair model with the onnx-int8 encoder (the cache's vectors)."""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path


def setup(doc: str, argv=None):
    """(data folder, encode, models) for a script whose docstring is `doc`."""
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--data", default="../shared/data")
    args = ap.parse_args(argv)
    from pipeline.offline import go_offline

    go_offline()
    from pipeline.stance import load_models, weights_for
    from pipeline.stance_train.data import make_encoder

    return Path(args.data), make_encoder(None, "onnx-int8"), load_models(weights_for("onnx-int8"))
