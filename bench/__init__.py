"""Strongroom benchmarks: ``python -m bench [--quick] [--only NAME]``.

Each benchmark measures Strongroom and a raw-S3 baseline against the same embedded
SeaweedFS in the same run, and reports both figures and their ratio.
"""
