"""Monitoring: the prediction log and Prometheus metrics."""

from gazer.monitoring.metrics import ServingMetrics
from gazer.monitoring.predictions import Prediction, PredictionLog

__all__ = ["Prediction", "PredictionLog", "ServingMetrics"]
