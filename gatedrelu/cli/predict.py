"""``gatedrelu predict``: a saved model's predictions on a CSV file, its columns found by name."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import EMBEDDED, PREDICTIONS_FILE, CliError
from .encoding import encode_features
from .table import Table, _csv_arguments, embedded_table, read_csv


def _predict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model-file",
        metavar="PATH",
        type=Path,
        required=True,
        help="model file written by 'gatedrelu fit' (or gatedrelu.io.save_model)",
    )
    parser.add_argument(
        "--data",
        metavar="CSV",
        type=Path,
        default=None,
        help="CSV with a header row holding the model's feature columns (other columns are "
        "ignored when the names match) (default: the embedded data)",
    )
    parser.add_argument(
        "--proba",
        action="store_true",
        help="also write the class probabilities, one column 'proba_<class>' per class "
        "(classifiers fitted with --loss logistic or multinomial)",
    )
    _csv_arguments(parser)


def _run_predict(args: argparse.Namespace) -> int:
    from sklearn.base import is_classifier

    from ..io import load_model, read_metadata

    model = load_model(args.model_file)
    info = read_metadata(args.model_file)["extra"].get("cli", {})
    if not isinstance(info, dict):
        info = {}
    if args.data is None:
        data = str(info.get("data", ""))
        dataset = data.removeprefix("embedded:")
        if not (data.startswith("embedded:") and dataset in EMBEDDED):
            dataset = "iris" if is_classifier(model) else "planted_regression"
        table = embedded_table(dataset)
    else:
        table = read_csv(args.data, delimiter=args.delimiter, index_col=args.index_col)
    names = info.get("feature_names")
    categories = info.get("categories") or {}
    if not (isinstance(categories, dict) and all(isinstance(v, list) for v in categories.values())):
        categories = {}
    columns = _feature_columns(table, model, names, categories)
    X, _, _ = encode_features(table, columns, _categories_for(columns, names, categories))
    predictions = model.predict(X)
    final = model[-1] if hasattr(model, "steps") else model
    proba = _probabilities(model, final, X) if getattr(args, "proba", False) else None

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / PREDICTIONS_FILE
    write_predictions(path, predictions, proba)
    print(f"wrote {len(predictions)} predictions of {type(final).__name__} to {path}")
    return 0


def _probabilities(model, final, X):
    """``(classes, probabilities)`` for ``--proba``, or a CliError saying why there are none."""
    if not hasattr(final, "predict_proba"):
        loss = getattr(final, "loss", None)
        why = (f"it was fitted with loss={loss!r}, whose scores are not probabilities; refit "
               "with --loss logistic (two classes) or --loss multinomial"
               if loss is not None else "it is not a classifier with probabilities")
        raise CliError(f"--proba: {type(final).__name__} has no predict_proba: {why}.")
    return final.classes_, model.predict_proba(X)


def _categories_for(columns, names, categories) -> dict:
    """The training encoding, keyed by the columns used here (by position when renamed)."""
    if not categories:
        return {}
    if isinstance(names, list) and list(columns) == names:
        return categories
    return {col: categories[name] for col, name in zip(columns, names, strict=True)
            if name in categories}


def _feature_columns(table: Table, model, names, categories) -> list[str]:
    n_features = getattr(model, "n_features_in_", None)
    expected = n_features
    if isinstance(names, list) and names:
        expected = len(names)
        if all(name in table.columns for name in names):
            return names
        if len(table.columns) == expected:
            _check_renamed(table, names)
    elif categories:
        expected = None
    if len(table.columns) == expected:
        return table.columns
    named = f" named {', '.join(map(repr, names))}" if isinstance(names, list) and names else ""
    hint = " Pass --data with the model's features." if table.source.startswith("embedded") else ""
    raise CliError(
        f"{table.source} has columns {', '.join(map(repr, table.columns))}; the model expects "
        f"{expected} feature columns{named}.{hint}"
    )


def _nfc(name: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFC", name)


def _code_points(name: str) -> str:
    return " ".join(f"U+{ord(ch):04X}" for ch in name)


def _check_renamed(table: Table, names: list) -> None:
    """CliError when the CSV shares some, not all, of the model's feature names: its columns
    must not be taken by position (a column ``t`` read as the model's ``c``). Names that differ
    only in their Unicode form (NFC vs NFD) are explained."""
    columns = table.columns
    missing = [name for name in names if name not in columns]
    lookalikes = {name: col for name in missing for col in columns
                  if col != name and _nfc(col) == _nfc(name)}
    if lookalikes:
        pairs = "; ".join(
            f"the CSV's {col!r} ({_code_points(col)}) and the model's {name!r} "
            f"({_code_points(name)})" for name, col in lookalikes.items())
        raise CliError(
            f"{table.source}: column names look alike but are different Unicode strings: "
            f"{pairs}. One is composed (NFC), the other decomposed (NFD); write the header in "
            "the form the model was fitted with (e.g. unicodedata.normalize('NFC', name)).")
    if len(missing) == len(names):
        return  # no name in common: the columns are taken by position
    extra = [col for col in columns if col not in names]
    raise CliError(
        f"{table.source} has columns {', '.join(map(repr, columns))}, but the model's feature "
        f"columns are {', '.join(map(repr, names))}: {', '.join(map(repr, missing))} "
        f"{'is' if len(missing) == 1 else 'are'} missing"
        + (f" and {', '.join(map(repr, extra))} {'is' if len(extra) == 1 else 'are'} not a "
           "feature of the model" if extra else "")
        + ". Name the columns as in training (or give them names the model does not use, to "
        "take them by position)."
    )


def write_predictions(path, predictions, proba=None) -> None:
    """Write predictions of shape (n,) or (n, k) as CSV; floats in round-trip precision.
    ``proba``: optional ``(classes, probabilities of shape (n, K))``, written as the extra
    columns ``proba_<class>``."""
    import csv

    import numpy as np

    predictions = np.asarray(predictions)
    if predictions.ndim == 1:
        header, rows = ["prediction"], [[v] for v in predictions.tolist()]
    else:
        header = [f"prediction_{k}" for k in range(predictions.shape[1])]
        rows = predictions.tolist()
    if proba is not None:
        classes, P = proba
        header = header + [f"proba_{c}" for c in np.asarray(classes).tolist()]
        rows = [row + list(p) for row, p in zip(rows, np.asarray(P, dtype=float).tolist())]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows([[repr(v) if isinstance(v, float) else v for v in row] for row in rows])
