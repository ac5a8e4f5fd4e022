"""The engine: incremental, mergeable evaluation metrics on plain numpy state.

Knows numpy (and scipy where unavoidable); never imports pandas at import
time, nor widgets or charts, so it runs in a training script, a Dask worker
or a subprocess without the notebook stack.
"""

from .classification import CLASSIFICATION_METRICS, ClassificationMetrics

__all__ = ["CLASSIFICATION_METRICS", "ClassificationMetrics"]
