"""Saving and loading fitted gatedrelu estimators in a safe format (no pickle).

A model file is one ``.npz`` archive written by :func:`numpy.savez_compressed`. It is read back
entry by entry, never with pickle, so loading a file never runs code from it: it holds plain
numeric, bool and unicode arrays and one JSON document. Only the gatedrelu estimators named in
:data:`ESTIMATORS`, and scikit-learn ``Pipeline`` objects made of the transformers in
:data:`TRANSFORMERS` followed by one of them (``StandardScaler`` then an estimator: what
``gatedrelu fit`` saves), can be saved and loaded; every class is looked up in those fixed
tables by name, never imported from a name found in the file.

File format
-----------
``format_version`` 1 holds one estimator; ``format_version`` 2 (written only for a pipeline)
holds a pipeline. Archive entries:

``metadata``
    1-d ``uint8`` array: a UTF-8 JSON object

    .. code-block:: text

        {
          "format": "gatedrelu-model",
          "format_version": 1,
          "gatedrelu_version": "0.1.0",             # informative only
          "estimator": "GatedReLUClassifier",       # a key of ESTIMATORS
          "params": {"alpha": 0.001, ...},          # get_params(deep=False), array params left out
          "array_params": ["gates"],                # params stored as "param.<name>" arrays
          "attributes": {                           # every instance attribute that is not a param
            "coef_":      {"kind": "array"},               # array "attr.coef_"
            "classes_":   {"kind": "object_str_array"},    # unicode "attr.classes_", dtype object on load
            "n_iter_":    {"kind": "scalar", "value": 57}, # Python bool / int / float / str
            "dual_gap_":  {"kind": "numpy_scalar"},        # 0-d array "attr.dual_gap_", numpy scalar on load
            "foo_":       {"kind": "none"},
            "history_":   {"kind": "json", "value": [...], "tuple": false},  # list/tuple/dict of JSON values
            "patterns_":  {"kind": "activation_patterns",
                           "fields": ["gates", "masks", ...]}  # arrays "attr.patterns_.<field>"
          },
          "arrays": {"attr.coef_": {"dtype": "<f8", "shape": [12, 4]}, ...},  # every array entry
          "extra": {...}                             # caller's JSON object (the CLI's data description)
        }

    A pipeline (``format_version`` 2) has ``"estimator": "Pipeline"``, ``params`` (the
    pipeline's own, ``steps`` left out) and ``"steps": [{"name": "scale", "estimator":
    "StandardScaler", "params": ..., "array_params": ..., "attributes": ...}, ...]``, one object
    per step as above; the arrays of step ``k`` are named ``step<k>.param.<name>`` and
    ``step<k>.attr.<name>``.

``param.<name>``
    An array-valued constructor parameter (user ``gates``).
``attr.<name>``
    An array-valued (or numpy-scalar) fitted attribute. Arrays keep their dtype and shape exactly;
    allowed dtypes are bool, integer, float, complex, bytes and unicode. String class labels are a
    unicode array; object arrays of strings (labels given as Python objects, or
    ``feature_names_in_``) are stored as unicode and turned back into object arrays.
``attr.<name>.<field>``
    One field of an :class:`~gatedrelu.patterns.ActivationPatterns` attribute.

``attr.<name>.`` followed by the entries above
    A fitted estimator of :data:`ESTIMATORS` held as an attribute (``best_estimator_`` of the
    MKL path CV estimators), one level deep: its metadata object has ``"kind": "estimator"``
    and the ``estimator``, ``params``, ``array_params`` and ``attributes`` of an estimator.

Anything else in an estimator (a Generator, a callable, a deeper nested estimator) cannot be saved:
:func:`save_model` raises a ``TypeError`` naming the attribute, so every file written can be
read back. Array-likes that are not numpy arrays (JAX arrays) are saved as, and load as, numpy
arrays. A ``random_state`` given as a Generator is saved as ``None`` with a warning: it only
matters for refitting.

Loading checks
--------------
:func:`load_model` raises :class:`ModelFileError` (a ``ValueError``) for any file that is not a
valid model file, and never another exception (a missing file raises the usual
``FileNotFoundError``). Before anything is inflated: the zip directory is read, the metadata
entry (at most :data:`MAX_METADATA_BYTES`) is parsed, every entry the metadata does not
describe is refused unread, and each entry's declared uncompressed size is checked against its
compressed size (at most :data:`MAX_RATIO` times, beyond :data:`FREE_BYTES`), against the
available memory, and against the shape and dtype its ``.npy`` header declares (only the header
is inflated for this), so a zip bomb or a header claiming 10^12 elements is refused without
allocating. After reading: every array must have the dtype and shape the metadata records,
float arrays must be finite (except the diagnostics in :data:`NONFINITE_OK`), the structure
must be consistent (``n_features_in_``, ``feature_names_in_``, the activation patterns, the
gates, ``coef_`` of a floating dtype), every parameter goes through the estimator's own
validation, and the loaded model must predict finite values of the right shape on a few probe
inputs.
"""

from __future__ import annotations

# One idea per module: the format, its names and limits and the metadata schema (``format``),
# saving (``save``), reading the zip file safely (``archive``), loading (``load``) and the checks
# of a loaded model (``checks``). The public names are these:
from .format import (
    ESTIMATORS,
    FORMAT,
    FORMAT_VERSION,
    FREE_BYTES,
    MAX_METADATA_BYTES,
    MAX_RATIO,
    NONFINITE_OK,
    TRANSFORMERS,
    ModelFileError,
)
from .load import load_model, read_metadata
from .save import save_model

__all__ = [
    "ESTIMATORS",
    "FORMAT",
    "FORMAT_VERSION",
    "FREE_BYTES",
    "MAX_METADATA_BYTES",
    "MAX_RATIO",
    "ModelFileError",
    "NONFINITE_OK",
    "TRANSFORMERS",
    "load_model",
    "read_metadata",
    "save_model",
]
