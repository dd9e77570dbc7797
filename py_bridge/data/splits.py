"""Label-based data splits: recognite's k-fold train/validation split and gallery/query split, reimplemented.

Why this module exists: recognite-ts promises the data splits of the Python reference library
recognite (``recognite.data.k_fold_trainval_split`` and ``recognite.data.split_gallery_query``),
row for row, but recognite is only a test-time dependency of the worker. This module rebuilds both
from numpy and pandas alone, and differs from recognite only where recognite fails or is noisy:

* arguments are validated up front and bad ones raise ``BridgeValidationError`` naming the
  TypeScript option (recognite asserts, or silently returns empty folds);
* the label shuffle uses its own ``numpy.random.RandomState`` instead of reseeding numpy's global
  generator (same numbers, no side effect on other code);
* labels with fewer rows than ``num_refs`` are reported as returned warning strings instead of a
  ``UserWarning`` and a debug log line (recognite's log line raises a ``TypeError`` for non-string
  labels).

Semantics kept from recognite, on purpose:

* k-fold: the unique labels, in order of first appearance, are shuffled with the legacy numpy
  generator seeded with ``seed``, cut into ``num_folds`` folds with ``np.array_split`` (the first
  folds get one label more when the count does not divide), and fold ``val_fold`` is the validation
  set. Both returned frames keep the input's row order and get a fresh ``RangeIndex``.
* gallery/query: the rows are shuffled with ``df.sample(frac=1.0, random_state=seed)``; per label
  (in sorted label order, rows with a missing label skipped) the first ``num_refs`` shuffled rows
  become gallery rows. The gallery and query frames keep the input's row order and its index; rows
  are picked by index label, so with a duplicated index every row sharing a picked label goes to
  the gallery.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bridge.errors import BridgeValidationError, check_int

# Largest seed numpy's legacy generator (and so ``DataFrame.sample``) accepts.
_MAX_SEED = 2**32 - 1


def _check_seed(seed: object) -> int:
    """Return ``seed`` if numpy's legacy generator accepts it.

    Args:
        seed: The seed to check.

    Returns:
        The seed as a Python ``int``.

    Raises:
        BridgeValidationError: When the seed is not an integer in ``[0, 2**32 - 1]``.
    """
    seed = check_int(seed, "seed", "seed", 0)
    if seed > _MAX_SEED:
        raise BridgeValidationError(f"seed must be at most {_MAX_SEED}, got {seed}", path="seed")
    return seed


def _check_frame(df: pd.DataFrame, label_key: str) -> None:
    """Check that ``df`` is a non-empty data frame with a ``label_key`` column.

    Args:
        df: The data frame to check.
        label_key: The name of its label column.

    Raises:
        BridgeValidationError: When ``df`` is not a data frame, lacks the column, or has no rows.
    """
    if not isinstance(df, pd.DataFrame):
        raise BridgeValidationError(f"expected a pandas DataFrame, got {type(df).__name__}", path="data")
    if label_key not in df.columns:
        columns = ", ".join(str(column) for column in df.columns) or "none"
        raise BridgeValidationError(
            f'label column "{label_key}" not found; the columns are: {columns}', path="labelColumn"
        )
    if len(df) == 0:
        raise BridgeValidationError("the data set has no rows to split", path="data")


def k_fold_trainval_split(
    df: pd.DataFrame, num_folds: int, val_fold: int, seed: int, label_key: str = "label"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``df`` by label into a training and a validation frame, as recognite does.

    The unique labels are shuffled with the legacy numpy generator seeded with ``seed`` and cut
    into ``num_folds`` folds; the labels of fold ``val_fold`` make up the validation frame, all
    other labels the training frame, so no label is in both.

    Args:
        df: The data frame to split, one row per sample.
        num_folds: The number of label folds, at least 2 and at most the number of unique labels.
        val_fold: The index of the validation fold, in ``[0, num_folds)``.
        seed: The seed of the label shuffle, in ``[0, 2**32 - 1]``.
        label_key: The column holding the labels.

    Returns:
        The training and validation frames, each in the input's row order with a fresh
        ``RangeIndex``; identical to recognite's for the same arguments.

    Raises:
        BridgeValidationError: For a bad ``num_folds``, ``val_fold`` or ``seed``, a missing label
            column, an empty frame, or fewer unique labels than folds.
    """
    num_folds = check_int(num_folds, "num_folds", "numFolds", 2)
    val_fold = check_int(val_fold, "val_fold", "valFold", 0)
    if val_fold >= num_folds:
        raise BridgeValidationError(f"val_fold must be below num_folds ({num_folds}), got {val_fold}", path="valFold")
    seed = _check_seed(seed)
    _check_frame(df, label_key)

    labels = df[label_key].unique()
    if len(labels) < num_folds:
        raise BridgeValidationError(
            f"cannot make {num_folds} label folds from {len(labels)} unique labels; use at most {len(labels)} folds",
            path="numFolds",
        )

    # recognite runs np.random.seed(seed) then np.random.shuffle(labels): the shuffle's swaps depend
    # only on the length, so shuffling positions with an equally seeded RandomState is the same
    # permutation, and works for every array type ``unique`` returns (numpy or pandas extension).
    order = np.arange(len(labels))
    np.random.RandomState(seed).shuffle(order)
    # np.array_split turns the labels into a numpy array; do the same so that ``isin`` sees what
    # recognite's sees.
    shuffled = np.asarray(labels[order])
    label_folds = np.array_split(shuffled, num_folds)

    val_labels = label_folds.pop(val_fold)
    train_labels = np.concatenate(label_folds)

    column = df[label_key]
    df_val = df[column.isin(val_labels)].reset_index(drop=True).copy()
    df_train = df[column.isin(train_labels)].reset_index(drop=True).copy()
    return df_train, df_val


def split_gallery_query(
    df: pd.DataFrame, num_refs: int, seed: int, label_key: str = "label"
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Split ``df`` into a gallery (``num_refs`` random rows per label) and a query frame, as recognite does.

    Args:
        df: The data frame to split, one row per sample.
        num_refs: The number of gallery rows per label, at least 1.
        seed: The seed of the row shuffle (``DataFrame.sample``'s ``random_state``), in ``[0, 2**32 - 1]``.
        label_key: The column holding the labels.

    Returns:
        The gallery frame, the query frame (both in the input's row order, with the input's index;
        identical to recognite's for the same arguments) and a list of warnings, one per label
        with fewer than ``num_refs`` rows (all of its rows are then in the gallery).

    Raises:
        BridgeValidationError: For a bad ``num_refs`` or ``seed``, a missing label column or an
            empty frame.
    """
    num_refs = check_int(num_refs, "num_refs", "numRefs", 1)
    seed = _check_seed(seed)
    _check_frame(df, label_key)

    shuffled = df.sample(frac=1.0, random_state=seed)
    gallery_index: list[object] = []
    warnings: list[str] = []
    for label, group in shuffled.groupby(label_key):
        if len(group) < num_refs:
            rows = "row" if len(group) == 1 else "rows"
            warnings.append(
                f'label "{label}" has only {len(group)} {rows}, fewer than the {num_refs} gallery references '
                f"asked for (numRefs): all of them are in the gallery and none in the query set"
            )
        gallery_index.extend(group.index[:num_refs])

    gallery_mask = df.index.isin(gallery_index)
    return df.loc[gallery_mask], df.loc[~gallery_mask], warnings
