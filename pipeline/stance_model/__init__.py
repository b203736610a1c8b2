"""The stance estimators, imported by the stance stage (pipeline/stance.py).

_base.py states the interface (StanceMethod: fit, predict_proba per source,
save / load, card) and how the pipeline's five stances and the reply stance
are composed from the per-source answers; blocks.py and features.py build the
feature blocks; nets.py the heads; methods.py the methods `stance.method`
picks from; thread.py what a reply inherits from its parent. Weights are
plain npz + json under weights/<embeddings>/<method>/ (no pickle).

Training and evaluation live apart, in pipeline/stance_train/, which imports
this package and the runner, never the other way.
"""
