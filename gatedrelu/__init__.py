"""gatedrelu: globally optimal two-layer gated ReLU networks and the NTK/optimal-kernel bridge.

Data flow: ``X, y`` -> gates and activation patterns (:mod:`gatedrelu.patterns`) -> matrix-free
masked operator (:mod:`gatedrelu.operator`) -> solver (:mod:`gatedrelu.group_lasso`) -> result ->
estimators (:mod:`gatedrelu.estimators`).
"""

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
from .network import GatedReLUNetwork
from .patterns import ActivationPatterns, activation_patterns, sample_gates

__all__ = [
    "ActivationPatterns",
    "GatedReLUClassifier",
    "GatedReLUClassifierCV",
    "GatedReLUNetwork",
    "GatedReLURegressor",
    "GatedReLURegressorCV",
    "GroupLassoResult",
    "MKLClassifier",
    "MKLPathClassifierCV",
    "MKLPathRegressorCV",
    "MKLRegressor",
    "MKLResult",
    "activation_patterns",
    "alpha_max",
    "duality_gap",
    "enumerate_patterns",
    "finite_ntk_kernel",
    "masking_kernel",
    "ntk_kernel",
    "group_lasso_path",
    "irls",
    "kernel_shape",
    "load_model",
    "mkl_objective",
    "objective",
    "optimal_scale",
    "sample_gates",
    "save_model",
    "scale_shape",
    "solve_group_lasso",
]
__version__ = "0.1.0"
