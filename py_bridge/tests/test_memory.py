import sys

import pytest

from bridge.memory import fix_mmap_threshold


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_mmap_threshold_is_pinned_on_glibc():
    assert fix_mmap_threshold() is True
