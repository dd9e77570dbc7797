import inspect
import subprocess
import sys

import pytest

from bridge import handlers
from bridge.memory import release_free_heap


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_free_heap_pages_can_be_handed_back_on_glibc():
    junk = [bytearray(64 * 1024) for _ in range(200)]  # heap blocks, below glibc's mmap threshold
    del junk
    release_free_heap()  # True when it released something; it must not fail either way
    assert release_free_heap() in (True, False)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_heap_thresholds_are_fixed_on_glibc():
    # in a child: the thresholds are process-wide and stay set
    code = "import sys; sys.path.insert(0, 'py_bridge'); from bridge.memory import tune_heap; print(tune_heap())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_the_worker_tunes_the_heap_at_boot():
    # the boot handler calls it before torch allocates (a source check: boot itself needs a session)
    source = inspect.getsource(handlers.boot)
    assert source.index("tune_heap()") < source.index("import torch\n")
