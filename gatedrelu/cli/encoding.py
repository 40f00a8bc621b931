"""From a :class:`~gatedrelu.cli.table.Table` to arrays: numeric and one-hot features, the task and the labels."""

from __future__ import annotations

from ._common import MAX_AUTO_CLASSES, MAX_LEVELS, CliError
from .table import Table, _parse_numbers


def _column_kind(table: Table, name: str) -> str:
    """"numeric" or "categorical"; CliError for a column mixing numbers and text."""
    import numpy as np

    _, numeric = _parse_numbers(table.frame[name].to_numpy(dtype=str))
    if numeric.all():
        return "numeric"
    if not numeric.any():
        return "categorical"
    i = int(np.argmin(numeric))
    raise CliError(
        f"{table.where(i, name)}: {table.frame[name].iat[i]!r} is not a number (the column's "
        "other values are numbers)."
    )


def encode_features(table: Table, features: list[str], categories: dict | None = None):
    """Feature matrix of ``features``: numbers as floats, categorical columns one-hot.

    ``categories`` (column -> levels) fixes the encoding (``predict``); ``None`` learns it from
    the table (``fit``). Returns ``(X, categories, encoded_names)``.
    """
    import numpy as np

    table.missing(features)
    learn = categories is None
    categories = {} if learn else dict(categories)
    blocks, names = [], []
    for name in features:
        if learn:
            kind = _column_kind(table, name)
        else:  # the training encoding: levels for categorical columns, numbers otherwise
            kind = "categorical" if name in categories else "numeric"
        if kind == "numeric":
            blocks.append(table.floats(name)[:, None])
            names.append(name)
            continue
        cells = table.frame[name].to_numpy(dtype=str)
        if learn:
            levels = sorted(set(cells.tolist()))
            if len(levels) > MAX_LEVELS:
                raise CliError(
                    f"{table.source}: column {name!r} holds text with {len(levels)} distinct "
                    f"values (more than {MAX_LEVELS}, an identifier?); drop it, or pass "
                    f"--index-col {name!r} if it is a row index."
                )
            categories[name] = levels
        levels = categories[name]
        index = {level: k for k, level in enumerate(levels)}
        unseen = [i for i, c in enumerate(cells) if c not in index]
        if unseen:
            i = unseen[0]
            raise CliError(
                f"{table.where(i, name)}: {str(cells[i])!r} is not a level seen in training "
                f"({', '.join(map(repr, levels))})."
            )
        codes = np.array([index[c] for c in cells])
        blocks.append((codes[:, None] == np.arange(len(levels))).astype(np.float64))
        names.extend(f"{name}={level}" for level in levels)
    return np.hstack(blocks), categories, names


def guess_task(table: Table, target: str, task: str = "auto"):
    """Resolve ``task`` and code the target column.

    Returns ``(task, y, reason)``: ``y`` float64 for regression, int64 or str labels for
    classification; ``reason`` says how ``auto`` decided (``""`` when ``task`` was given).
    ``auto`` follows :func:`sklearn.utils.multiclass.type_of_target`: ``binary`` and
    ``multiclass`` targets with at most :data:`MAX_AUTO_CLASSES` classes are classification.
    """
    import numpy as np
    from sklearn.utils.multiclass import type_of_target

    table.missing([target])
    cells = table.frame[target].to_numpy(dtype=str)
    values, numeric = _parse_numbers(cells)
    if not numeric.all():
        if task == "regression":
            i = int(np.argmin(numeric))
            raise CliError(
                f"{table.where(i, target)}: {str(cells[i])!r} is not a number. Regression needs a "
                "numeric target; use --task classification for class labels."
            )
        labels = cells.astype(str)
        reason = f"{len(set(labels))} text labels" if task == "auto" else ""
        return "classification", labels, reason
    finite = np.isfinite(values)
    if not finite.all():
        i = int(np.argmin(finite))
        raise CliError(f"{table.where(i, target)}: {str(cells[i])!r} is not a finite number.")
    if task == "regression":
        return "regression", values, ""
    import warnings

    with warnings.catch_warnings():  # values near 1e300 overflow its integer cast
        warnings.simplefilter("ignore", RuntimeWarning)
        kind = type_of_target(values)
    # integer labels within int64 (a cast of values beyond would wrap)
    integral = bool(np.all(values == np.round(values)) and np.all(np.abs(values) < 2.0**63))
    if task == "classification":
        if not integral:
            i = int(np.argmin(values == np.round(values)))
            raise CliError(
                f"{table.where(i, target)}: {str(cells[i])!r} is not an integer class label; use "
                "--task regression for a numeric target."
            )
        return "classification", values.astype(np.int64), ""
    n_classes = len(np.unique(values))
    if kind in ("binary", "multiclass") and n_classes <= MAX_AUTO_CLASSES:
        return (
            "classification",
            values.astype(np.int64),
            f"type_of_target: {kind}, {n_classes} integer labels",
        )
    extra = f", {n_classes} distinct integers" if kind == "multiclass" else ""
    return "regression", values, f"type_of_target: {kind}{extra}"
