"""Training and validation of the stance methods (python -m pipeline.stance_train.train /
.evaluate): the labelled corpora of ../shared/data and their grouped splits (data.py)."""
