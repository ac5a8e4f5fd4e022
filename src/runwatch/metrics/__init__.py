"""The engine: incremental, mergeable evaluation metrics on plain numpy state.

Knows numpy (and scipy where unavoidable); never imports pandas at import
time, nor widgets or charts, so it runs in a training script, a Dask worker
or a subprocess without the notebook stack.
"""

from .classification import CLASSIFICATION_METRICS, ClassificationMetrics
from .detection import DETECTION_METRICS, DetectionMetrics
from .instance_segmentation import InstanceSegmentationMetrics
from .regression import REGRESSION_METRICS, RegressionMetrics
from .segmentation import SEGMENTATION_METRICS, SegmentationMetrics

__all__ = [
    "CLASSIFICATION_METRICS",
    "DETECTION_METRICS",
    "REGRESSION_METRICS",
    "SEGMENTATION_METRICS",
    "ClassificationMetrics",
    "DetectionMetrics",
    "InstanceSegmentationMetrics",
    "RegressionMetrics",
    "SegmentationMetrics",
]
