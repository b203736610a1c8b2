"""Comment stance toward a news article, and reply stance toward the parent comment.

features.py holds the text features, model.py the calibrated heads and the
public API (StanceModel, ReplyModel, propagate_from_parent, short_text_gate),
data.py the training data and embedding cache, train.py / evaluate.py the
commands (python -m pipeline.stance_model.train / .evaluate). Weights are
plain npz + json in weights/ (no pickle).
"""
