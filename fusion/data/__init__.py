"""Data: the course layout read and validated, depth to XYZA, the prepared cache, leakage-free
splits and the train split's statistics."""
