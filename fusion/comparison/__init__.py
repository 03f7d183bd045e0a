"""Comparison: intervals over seeds and test samples, the verdicts, which strategy to use, the
tables, findings and figures."""
