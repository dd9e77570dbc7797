import os
import stat

import numpy as np
import pytest
import torch

from bridge.errors import BridgeValidationError
from bridge.shm import SharedMemory, TensorRef


@pytest.fixture
def shm(tmp_path):
    mem = SharedMemory(str(tmp_path), "recognite-test", 1 << 20)
    yield mem
    mem.close()


def _ts_segment(tmp_path, name, payload: bytes):
    """What the TypeScript side does: a 0600 file holding the bytes."""
    path = tmp_path / name
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, payload)
    os.close(fd)
    return path


def test_read_is_zero_copy_over_the_file(shm, tmp_path):
    data = np.arange(12, dtype=np.float32)
    path = _ts_segment(tmp_path, "recognite-test-ts-0", data.tobytes())
    t = shm.read(TensorRef("recognite-test-ts-0", 0, "float32", (3, 4)))
    assert t.shape == (3, 4) and t.dtype == torch.float32
    assert torch.equal(t.flatten(), torch.from_numpy(data))
    t[0, 0] = 42.0  # writing through the tensor changes the shared file itself
    assert np.frombuffer(path.read_bytes(), np.float32)[0] == 42.0


def test_write_then_release_reuses_space(shm):
    ref = shm.write(torch.arange(10, dtype=torch.int64))
    again = shm.write(torch.ones(3))
    assert (ref.segment, ref.offset) != (again.segment, again.offset)
    shm.release([ref.to_json(), again.to_json()])
    assert shm.write(torch.zeros(1)).offset == 0


@pytest.mark.parametrize(
    "tensor",
    [
        torch.arange(12, dtype=torch.float32).reshape(3, 4).T,  # non-contiguous: copied as its values, row-major
        torch.arange(-6, 6, dtype=torch.int16).reshape(2, 6)[:, ::2],
        torch.tensor([[True, False], [False, True]]),
    ],
)
def test_write_copies_any_layout_once_into_the_segment(shm, tmp_path, tensor):
    ref = shm.write(tensor)
    assert ref.shape == tuple(tensor.shape)
    raw = (tmp_path / ref.segment).read_bytes()
    np_dtype = tensor.numpy().dtype
    got = np.frombuffer(raw, np_dtype, count=tensor.numel(), offset=ref.offset).reshape(tensor.shape)
    assert np.array_equal(got, tensor.numpy())


def test_output_files_are_private(shm, tmp_path):
    shm.write(torch.ones(4))
    mode = stat.S_IMODE(os.stat(tmp_path / "recognite-test-py-0").st_mode)
    assert mode == 0o600


def test_too_big_for_primary_grows_the_pool_and_is_reused(shm, tmp_path):
    ref = shm.write(torch.ones(1 << 19))  # 2 MiB > 1 MiB primary: an extra pooled segment
    assert ref.segment != "recognite-test-py-0" and not ref.transient
    assert shm.pooled_output_bytes == 3 << 20
    shm.release([ref.to_json()])
    assert (tmp_path / ref.segment).exists()  # kept for the next big result
    again = shm.write(torch.zeros(1 << 19))
    assert (again.segment, again.offset) == (ref.segment, ref.offset)
    shm.release([again.to_json()])


def test_shrink_drops_only_idle_extra_segments(shm, tmp_path):
    busy = shm.write(torch.ones(1 << 19))
    assert shm.shrink() == []  # still holds a region
    shm.release([busy.to_json()])
    assert shm.shrink() == [busy.segment]
    assert not (tmp_path / busy.segment).exists()
    assert shm.pooled_output_bytes == 1 << 20  # back to the primary alone
    assert (tmp_path / "recognite-test-py-0").exists()


def test_past_the_bound_a_result_gets_its_own_segment_removed_on_release(tmp_path):
    mem = SharedMemory(str(tmp_path), "recognite-b", 1 << 20, max_bytes=2 << 20)
    try:
        ref = mem.write(torch.ones(1 << 19))  # 2 MiB: the pool would pass 2 MiB
        assert ref.transient and ref.to_json()["transient"] is True
        mem.release([ref.to_json()])
        assert not (tmp_path / ref.segment).exists()
        assert mem.pooled_output_bytes == 1 << 20
    finally:
        mem.close()


def test_a_bigger_result_replaces_an_idle_extra_segment(shm, tmp_path):
    small = shm.write(torch.ones(1 << 19))  # 2 MiB extra
    shm.release([small.to_json()])
    big = shm.write(torch.ones(1 << 20))  # 4 MiB: the idle 2 MiB extra goes first
    assert not (tmp_path / small.segment).exists()
    assert shm.pooled_output_bytes == 5 << 20
    shm.release([big.to_json()])


def test_forget_unmaps_a_typescript_segment(shm, tmp_path):
    _ts_segment(tmp_path, "recognite-test-ts-1", np.arange(4, dtype=np.float32).tobytes())
    assert shm.read(TensorRef("recognite-test-ts-1", 0, "float32", (4,)))[3] == 3
    shm.forget(["recognite-test-ts-1", "recognite-test-ts-9"])  # unknown names are ignored
    assert "recognite-test-ts-1" not in shm._inputs


def test_close_removes_every_session_file(tmp_path):
    mem = SharedMemory(str(tmp_path), "recognite-x", 1 << 16)
    _ts_segment(tmp_path, "recognite-x-ts-0", b"\0" * 64)
    _ts_segment(tmp_path, "other-file", b"keep")
    mem.close()
    assert sorted(os.listdir(tmp_path)) == ["other-file"]


@pytest.mark.parametrize(
    "bad",
    [
        {"segment": "../etc/passwd", "offset": 0, "dtype": "float32", "shape": [1]},
        {"segment": "someone-else-ts-0", "offset": 0, "dtype": "float32", "shape": [1]},
    ],
)
def test_segments_outside_the_session_are_refused(shm, bad):
    with pytest.raises(BridgeValidationError, match="does not belong to this session"):
        shm.read(TensorRef.from_json(bad))


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"segment": "s", "offset": 0, "dtype": "complex64", "shape": [1]}, "unsupported dtype"),
        ({"segment": "s", "offset": -1, "dtype": "float32", "shape": [1]}, "negative"),
        ({"segment": "s", "offset": 0, "dtype": "float32"}, "malformed"),
    ],
)
def test_malformed_descriptors_are_validation_errors(bad, message):
    with pytest.raises(BridgeValidationError, match=message):
        TensorRef.from_json(bad)


def test_region_past_the_end_of_a_segment_is_refused(shm, tmp_path):
    _ts_segment(tmp_path, "recognite-test-ts-1", b"\0" * 64)
    with pytest.raises(BridgeValidationError, match="outside segment"):
        shm.read(TensorRef("recognite-test-ts-1", 0, "float32", (100,)))
