"""Evaluation: metrics, calibration and cost of a trained model, and its accuracy under the
fault suite (`fusion.faults`)."""
