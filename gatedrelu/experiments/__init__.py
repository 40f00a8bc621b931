"""Experiments: NTK against the optimal kernel on real data, and consistency studies."""
