from bridge.allocator import FirstFitAllocator


def test_regions_are_aligned_and_disjoint():
    a = FirstFitAllocator(1024)
    assert [a.allocate(n) for n in (1, 64, 65, 100)] == [0, 64, 128, 256]


def test_none_when_full_then_reused_after_release():
    a = FirstFitAllocator(256)
    x = a.allocate(200)
    assert a.allocate(100) is None
    a.release(x)
    assert a.allocate(256) == 0


def test_neighbours_merge():
    a = FirstFitAllocator(192)
    x, y, z = a.allocate(64), a.allocate(64), a.allocate(64)
    a.release(x)
    a.release(z)
    assert a.allocate(128) is None
    a.release(y)
    assert a.allocate(192) == 0
