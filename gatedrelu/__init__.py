"""gatedrelu: globally optimal two-layer gated ReLU networks and the NTK/optimal-kernel bridge.

Data flow: ``X, y`` -> gates and activation patterns (:mod:`gatedrelu.patterns`) -> matrix-free
masked operator (:mod:`gatedrelu.operator`) -> solver (:mod:`gatedrelu.group_lasso`) -> result ->
estimators (:mod:`gatedrelu.estimators`).

The names below are imported on first use (PEP 562 module ``__getattr__``), so that
``import gatedrelu`` and the command line's ``--help`` and ``--version`` do not import JAX,
scikit-learn or SciPy; ``from gatedrelu import GatedReLURegressor`` works as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: Public name -> submodule that defines it.
_EXPORTS = {
    "ConvexReLUClassifier": "convex_relu",
    "ConvexReLURegressor": "convex_relu",
    "solve_convex_relu": "convex_relu",
    "GatedReLUClassifierCV": "cv",
    "GatedReLURegressorCV": "cv",
    "GatedReLUClassifier": "estimators",
    "GatedReLURegressor": "estimators",
    "GroupLassoResult": "group_lasso",
    "alpha_max": "group_lasso",
    "duality_gap": "group_lasso",
    "group_lasso_path": "group_lasso",
    "objective": "group_lasso",
    "solve_group_lasso": "group_lasso",
    "load_model": "io",
    "save_model": "io",
    "enumerate_patterns": "kernels",
    "finite_ntk_kernel": "kernels",
    "masking_kernel": "kernels",
    "ntk_kernel": "kernels",
    "MKLResult": "mkl",
    "irls": "mkl",
    "kernel_shape": "mkl",
    "mkl_objective": "mkl",
    "optimal_scale": "mkl",
    "scale_shape": "mkl",
    "MKLClassifier": "mkl_estimators",
    "MKLRegressor": "mkl_estimators",
    "MKLPathClassifierCV": "mkl_path_cv",
    "MKLPathRegressorCV": "mkl_path_cv",
    "GatedReLUNetwork": "network",
    "ReLUNetwork": "network",
    "ActivationPatterns": "patterns",
    "activation_patterns": "patterns",
    "sample_gates": "patterns",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        # ``gatedrelu.io`` and other submodules after a bare ``import gatedrelu``, as before.
        if not name.startswith("_"):
            try:
                return importlib.import_module(f".{name}", __name__)
            except ModuleNotFoundError as exc:
                if exc.name != f"{__name__}.{name}":
                    raise
        raise AttributeError(f"module 'gatedrelu' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # static analysers and documentation tools see the real imports
    from .convex_relu import ConvexReLUClassifier, ConvexReLURegressor, solve_convex_relu
    from .cv import GatedReLUClassifierCV, GatedReLURegressorCV
    from .estimators import GatedReLUClassifier, GatedReLURegressor
    from .group_lasso import (
        GroupLassoResult,
        alpha_max,
        duality_gap,
        group_lasso_path,
        objective,
        solve_group_lasso,
    )
    from .io import load_model, save_model
    from .kernels import enumerate_patterns, finite_ntk_kernel, masking_kernel, ntk_kernel
    from .mkl import MKLResult, irls, kernel_shape, mkl_objective, optimal_scale, scale_shape
    from .mkl_estimators import MKLClassifier, MKLRegressor
    from .mkl_path_cv import MKLPathClassifierCV, MKLPathRegressorCV
    from .network import GatedReLUNetwork, ReLUNetwork
    from .patterns import ActivationPatterns, activation_patterns, sample_gates
