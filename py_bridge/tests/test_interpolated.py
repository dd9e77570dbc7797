"""The interpolated precision-recall curve: the untied shortcut gives the general computation's numbers."""

import torch

from evaluation.interpolated import interpolated_precision, interpolated_precision_untied


def ranked(scores, q_ids, g_ids):
    s, order = torch.sort(scores, dim=1, descending=True, stable=True)
    t = g_ids[order] == q_ids[:, None]
    tps = t.cumsum(dim=1, dtype=torch.int32)
    precision = tps / torch.arange(1, scores.shape[1] + 1, dtype=torch.float32)
    distinct = torch.ones_like(t)
    distinct[:, :-1] = s[:, :-1] != s[:, 1:]
    return t, tps, tps[:, -1].to(torch.int64), distinct, precision


def test_untied_rows_give_the_same_float32_values_as_the_general_path():
    gen = torch.Generator().manual_seed(3)
    scores = torch.randn(40, 300, generator=gen)  # float scores: no ties
    q_ids, g_ids = torch.randint(0, 10, (40,), generator=gen), torch.randint(0, 10, (300,), generator=gen)
    q_ids[0] = 99  # a query without positives: NaN at every level
    g_ids[:] = torch.where(torch.arange(300) < 5, q_ids[1], g_ids)  # and one with positives first
    t, tps, npos, distinct, precision = ranked(scores, q_ids, g_ids)
    assert bool(distinct.all())
    general = interpolated_precision(tps, npos, distinct, precision)
    untied = interpolated_precision_untied(t, npos, precision)
    torch.testing.assert_close(untied, general, rtol=0, atol=0, equal_nan=True)
    assert untied[0].isnan().all() and not untied[1:].isnan().any()


def test_no_positives_anywhere():
    t = torch.zeros(3, 7, dtype=torch.bool)
    out = interpolated_precision_untied(t, torch.zeros(3, dtype=torch.int64), torch.zeros(3, 7))
    assert out.shape == (3, 101) and out.isnan().all()
