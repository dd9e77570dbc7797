"""splits.py against recognite's own k-fold and gallery/query splits, plus a pinned fixture that needs no recognite."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bridge.errors import BridgeValidationError
from data.splits import k_fold_trainval_split, split_gallery_query

FIXTURE = Path(__file__).parent / "fixtures" / "split_labels.csv"


def _frames() -> dict[str, pd.DataFrame]:
    """Fixed frames: several label dtypes, uneven label counts, and indices that are not a RangeIndex."""
    rng = np.random.default_rng(1234)
    n = 60
    images = [f"img{i}.png" for i in range(n)]
    # uneven label counts: label k has about k+1 rows, some labels one row only
    ints = np.concatenate([np.full(k % 6 + 1, k) for k in range(17)])[:n]
    ints = rng.permutation(np.resize(ints, n))
    return {
        "str": pd.DataFrame({"image": images, "label": [f"p{v:02d}" for v in ints]}),
        "object": pd.DataFrame({"image": images, "label": pd.Series([f"p{v}" for v in ints], dtype=object)}),
        "int": pd.DataFrame({"image": images, "label": ints}, index=rng.permutation(n) + 100),
        "category": pd.DataFrame({"image": images, "label": pd.Categorical([f"c{v}" for v in ints])}),
        "custom_key": pd.DataFrame(
            {"image": images, "person": [f"who{v}" for v in ints]}, index=[f"r{i}" for i in range(n)]
        ),
        "duplicate_index": pd.DataFrame(
            {"image": images, "label": [f"p{v}" for v in ints]}, index=[i // 2 for i in range(n)]
        ),
    }


FRAMES = _frames()


def _key(name: str) -> str:
    return "person" if name == "custom_key" else "label"


def _recognite():
    return pytest.importorskip("recognite.data")


def _quiet(fn, *args, **kwargs):
    """Call recognite with its UserWarnings (shuffling a StringArray, too few references) silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# --- k-fold, side by side with recognite -----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FRAMES))
@pytest.mark.parametrize("seed", [0, 1, 42, 2**32 - 1])
@pytest.mark.parametrize(("num_folds", "val_fold"), [(2, 0), (2, 1), (3, 1), (4, 3), (5, 0), (5, 2)])
def test_k_fold_matches_recognite(name, seed, num_folds, val_fold):
    recognite = _recognite()
    df = FRAMES[name]
    key = _key(name)
    expected = _quiet(recognite.k_fold_trainval_split, df, num_folds, val_fold, seed, label_key=key)
    got = k_fold_trainval_split(df, num_folds, val_fold, seed, label_key=key)
    for want, have in zip(expected, got, strict=True):
        pd.testing.assert_frame_equal(have, want)  # same rows, order, index, dtypes


@pytest.mark.parametrize("name", sorted(FRAMES))
@pytest.mark.parametrize("seed", [0, 3, 99])
def test_k_fold_partitions_labels(name, seed):
    df = FRAMES[name]
    key = _key(name)
    num_folds = 4
    val_sets = []
    for val_fold in range(num_folds):
        train, val = k_fold_trainval_split(df, num_folds, val_fold, seed, label_key=key)
        assert set(train[key]).isdisjoint(set(val[key]))
        assert len(train) + len(val) == len(df)
        assert isinstance(train.index, pd.RangeIndex) and isinstance(val.index, pd.RangeIndex)
        # rows keep the input's order
        assert sorted(train["image"], key=list(df["image"]).index) == list(train["image"])
        assert train[key].dtype == df[key].dtype
        val_sets.append(set(val[key]))
    # every label is validation in exactly one fold; fold sizes differ by at most one label
    assert set().union(*val_sets) == set(df[key])
    assert sum(len(s) for s in val_sets) == df[key].nunique()
    assert max(map(len, val_sets)) - min(map(len, val_sets)) <= 1


def test_k_fold_leaves_numpy_global_generator_alone():
    np.random.seed(5)
    before = np.random.random()
    np.random.seed(5)
    k_fold_trainval_split(FRAMES["str"], 3, 0, 77)
    assert np.random.random() == before


def test_k_fold_does_not_modify_input():
    df = FRAMES["int"].copy()
    k_fold_trainval_split(df, 3, 1, 0)
    pd.testing.assert_frame_equal(df, FRAMES["int"])


# --- gallery/query, side by side with recognite ----------------------------------------------------


@pytest.mark.parametrize("name", ["str", "object", "category", "custom_key", "duplicate_index"])
@pytest.mark.parametrize("seed", [0, 1, 42, 2**32 - 1])
@pytest.mark.parametrize("num_refs", [1, 2, 3, 7])
def test_gallery_query_matches_recognite(name, seed, num_refs):
    recognite = _recognite()
    df = FRAMES[name]
    key = _key(name)
    expected = _quiet(recognite.split_gallery_query, df, num_refs, seed, label_key=key)
    gallery, query, _ = split_gallery_query(df, num_refs, seed, label_key=key)
    pd.testing.assert_frame_equal(gallery, expected[0])  # same rows, order, index, dtypes
    pd.testing.assert_frame_equal(query, expected[1])


@pytest.mark.parametrize("seed", [0, 1, 42])
@pytest.mark.parametrize("num_refs", [1, 2, 3, 7])
def test_gallery_query_int_labels_match_recognite(seed, num_refs):
    """recognite fails on int labels once a label is short of references; compare against string labels then.

    Which rows a label sends to the gallery depends only on the shuffle, not on the label's type,
    so recognite's split of the same frame with the labels as strings picks the same index.
    """
    recognite = _recognite()
    df = FRAMES["int"]
    gallery, query, _ = split_gallery_query(df, num_refs, seed)
    counts = df["label"].value_counts()
    if (counts < num_refs).any():
        with pytest.raises(TypeError):  # recognite's debug log line joins the labels as strings
            _quiet(recognite.split_gallery_query, df, num_refs, seed)
        as_str = df.assign(label=df["label"].astype(str))
        want_gallery, _ = _quiet(recognite.split_gallery_query, as_str, num_refs, seed)
        pd.testing.assert_frame_equal(gallery, df.loc[want_gallery.index])
        pd.testing.assert_frame_equal(query, df.loc[~df.index.isin(want_gallery.index)])
    else:
        want = _quiet(recognite.split_gallery_query, df, num_refs, seed)
        pd.testing.assert_frame_equal(gallery, want[0])
        pd.testing.assert_frame_equal(query, want[1])


@pytest.mark.parametrize("name", ["str", "int", "custom_key"])
@pytest.mark.parametrize("num_refs", [1, 2, 4])
def test_gallery_query_counts_and_order(name, num_refs):
    df = FRAMES[name]
    key = _key(name)
    gallery, query, warns = split_gallery_query(df, num_refs, 5, label_key=key)
    assert len(gallery) + len(query) == len(df)
    assert set(gallery.index).isdisjoint(set(query.index))
    # input order and index kept
    assert list(gallery.index) == [i for i in df.index if i in set(gallery.index)]
    assert list(query.index) == [i for i in df.index if i in set(query.index)]
    counts = df[key].value_counts()
    assert gallery[key].value_counts().to_dict() == counts.clip(upper=num_refs).to_dict()
    assert set(query[key]) <= set(gallery[key])
    assert len(warns) == int((counts < num_refs).sum())


def test_gallery_query_warns_for_int_labels_without_raising_or_printing(capsys):
    df = pd.DataFrame({"image": [f"i{i}" for i in range(7)], "label": [3, 3, 3, 1, 2, 2, 10]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no UserWarning either
        gallery, query, warns = split_gallery_query(df, 2, 0)
    assert capsys.readouterr() == ("", "")
    assert len(warns) == 2
    # sorted label order, as recognite's groupby
    assert warns[0].startswith('label "1" has only 1 row,') and "numRefs" in warns[0]
    assert warns[1].startswith('label "10" has only 1 row,')
    assert all(isinstance(w, str) for w in warns)
    assert sorted(gallery["label"]) == [1, 2, 2, 3, 3, 10]
    assert list(query["label"]) == [3]


def test_gallery_query_no_warnings_when_enough_rows():
    df = pd.DataFrame({"image": list("abcd"), "label": ["x", "x", "y", "y"]})
    assert split_gallery_query(df, 2, 0)[2] == []


# --- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"num_folds": 1}, "numFolds"),
        ({"num_folds": 0}, "numFolds"),
        ({"num_folds": 2.0}, "numFolds"),
        ({"num_folds": True}, "numFolds"),
        ({"num_folds": 13}, "numFolds"),  # the fixture has 12 labels
        ({"val_fold": 3}, "valFold"),
        ({"val_fold": 7}, "valFold"),
        ({"val_fold": -1}, "valFold"),  # recognite would take the last fold
        ({"val_fold": "0"}, "valFold"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**32}, "seed"),
        ({"label_key": "person"}, "labelColumn"),
    ],
)
def test_k_fold_validation(kwargs, path):
    args = {"df": pd.read_csv(FIXTURE), "num_folds": 3, "val_fold": 0, "seed": 0} | kwargs
    with pytest.raises(BridgeValidationError) as info:
        k_fold_trainval_split(**args)
    assert info.value.path == path


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"num_refs": 0}, "numRefs"),
        ({"num_refs": -2}, "numRefs"),
        ({"num_refs": 1.5}, "numRefs"),
        ({"num_refs": None}, "numRefs"),
        ({"seed": -1}, "seed"),
        ({"label_key": "class"}, "labelColumn"),
    ],
)
def test_gallery_query_validation(kwargs, path):
    args = {"df": pd.read_csv(FIXTURE), "num_refs": 1, "seed": 0} | kwargs
    with pytest.raises(BridgeValidationError) as info:
        split_gallery_query(**args)
    assert info.value.path == path


def test_missing_label_column_names_the_columns():
    with pytest.raises(BridgeValidationError, match=r'"class" not found; the columns are: image, label'):
        split_gallery_query(pd.read_csv(FIXTURE), 1, 0, label_key="class")


def test_empty_frame_and_non_frame():
    empty = pd.DataFrame({"image": [], "label": []})
    for call in (lambda df: k_fold_trainval_split(df, 2, 0, 0), lambda df: split_gallery_query(df, 1, 0)):
        with pytest.raises(BridgeValidationError, match="no rows") as info:
            call(empty)
        assert info.value.path == "data"
        with pytest.raises(BridgeValidationError, match="DataFrame") as info:
            call([{"image": "a", "label": "b"}])
        assert info.value.path == "data"


def test_one_label_cannot_be_split_in_folds():
    df = pd.DataFrame({"image": list("abc"), "label": ["same"] * 3})
    with pytest.raises(BridgeValidationError, match="from 1 unique labels") as info:
        k_fold_trainval_split(df, 2, 0, 0)
    assert info.value.path == "numFolds"


# --- pinned outcome on a committed fixture (computed once with recognite 0.1.2a0; no recognite needed) --


def test_fixture_k_fold_pinned():
    df = pd.read_csv(FIXTURE)
    assert len(df) == 35 and df["label"].nunique() == 12
    train, val = k_fold_trainval_split(df, 3, 0, 0)
    assert list(val["image"]) == [
        "images/fox/2.png",
        "images/eel/0.png",
        "images/eel/2.png",
        "images/eel/4.png",
        "images/kiwi/0.png",
        "images/eel/3.png",
        "images/bee/0.png",
        "images/fox/0.png",
        "images/fox/1.png",
        "images/bee/1.png",
        "images/kiwi/1.png",
        "images/eel/1.png",
    ]
    assert list(dict.fromkeys(train["label"])) == ["ant", "hen", "dog", "cat", "ibis", "jay", "gnu", "lynx"]
    assert len(train) == 23
    assert list(train.index) == list(range(23)) and list(val.index) == list(range(12))


@pytest.mark.parametrize(
    ("num_folds", "val_fold", "seed", "val_labels"),
    [
        (3, 0, 0, ["fox", "eel", "kiwi", "bee"]),
        (4, 2, 0, ["hen", "jay", "lynx"]),
        (3, 2, 5, ["ant", "cat", "eel", "kiwi"]),
    ],
)
def test_fixture_k_fold_val_labels_pinned(num_folds, val_fold, seed, val_labels):
    df = pd.read_csv(FIXTURE)
    train, val = k_fold_trainval_split(df, num_folds, val_fold, seed)
    assert list(dict.fromkeys(val["label"])) == val_labels  # in order of first row
    assert set(train["label"]) == set(df["label"]) - set(val_labels)


def test_fixture_gallery_query_pinned():
    df = pd.read_csv(FIXTURE)
    gallery, query, warns = split_gallery_query(df, 3, 0)
    assert list(query.index) == [5, 6, 7, 8, 21, 33]
    assert list(query["image"]) == [
        "images/ibis/3.png",
        "images/eel/0.png",
        "images/jay/0.png",
        "images/eel/2.png",
        "images/dog/1.png",
        "images/ibis/0.png",
    ]
    assert len(gallery) == 29
    # labels with fewer than 3 rows: ant 1, bee 2, gnu 1, hen 2, kiwi 2 (in sorted order)
    assert [w.split('"')[1] for w in warns] == ["ant", "bee", "gnu", "hen", "kiwi"]

    gallery, query, warns = split_gallery_query(df, 1, 3)
    assert warns == []
    assert list(gallery["image"]) == [
        "images/ant/0.png",
        "images/hen/0.png",
        "images/fox/2.png",
        "images/gnu/0.png",
        "images/cat/0.png",
        "images/ibis/1.png",
        "images/jay/2.png",
        "images/lynx/0.png",
        "images/dog/2.png",
        "images/bee/0.png",
        "images/kiwi/1.png",
        "images/eel/1.png",
    ]
    assert len(query) == 23


def test_fixture_pipeline_pinned():
    """k-fold then gallery/query of the validation set, as recognite's train_val_datasets chains them."""
    df = pd.read_csv(FIXTURE)
    _, val = k_fold_trainval_split(df, 3, 0, 0)
    gallery, query, warns = split_gallery_query(val, 2, 0)
    assert warns == []
    assert list(gallery.index) == [2, 4, 6, 7, 8, 9, 10, 11]
    assert list(query["image"]) == ["images/fox/2.png", "images/eel/0.png", "images/eel/4.png", "images/eel/3.png"]
