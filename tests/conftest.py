"""Hypothesis profiles for the whole suite.

* ``dev`` (default): 100 examples per property, random seeds — quick local runs.
* ``ci``: 1,000 examples per property, ``derandomize=True`` and no example database, so a CI run
  is reproducible; the long tier of ``.ci/run`` selects it (``--hypothesis-profile=ci``). It is
  not chosen from the environment (e.g. ``CI=true``), so the README's test command stays the
  fast tier wherever it runs.
* ``mutation``: the dev example count, derandomised and with no database — ``tools/mutate.py``
  uses it, so whether a mutant is killed does not depend on the luck of one run.

Both use ``deadline=None`` (the machine is shared; timing belongs in ``benchmarks/``) and
``print_blob=True`` so a failure prints the line that reproduces it. Override with
``pytest --hypothesis-profile=NAME``. Tests that need fewer examples (e.g. ones that call the
CLI) cap them with their own ``@settings(max_examples=...)``, which the profile does not override.
"""

import warnings

import pytest
from hypothesis import HealthCheck, settings

# When a property fails, Hypothesis' pytest plugin imports hypothesis.extra._patching (libcst) to
# suggest a patch; libcst's import emits a DeprecationWarning from mypy_extensions, which under
# ``filterwarnings = error`` turns every property failure into an INTERNALERROR that hides the
# falsifying example. Import it once here with that one warning silenced, so failures report.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message=r"mypy_extensions\.TypedDict is deprecated", category=DeprecationWarning
    )
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:  # libcst absent: the plugin then skips the patch quietly
        pass

_COMMON = dict(deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow])

settings.register_profile("dev", max_examples=100, **_COMMON)
# ci: no example database either, so a run depends on nothing but the code (no replayed failures).
settings.register_profile("ci", max_examples=1000, derandomize=True, database=None, **_COMMON)
settings.register_profile("mutation", max_examples=100, derandomize=True, database=None, **_COMMON)

settings.load_profile("dev")


@pytest.fixture(scope="module")
def torch_one_thread():
    """Run a torch test module on one thread (tables are 30×30: threads only add overhead and
    contention with JAX), restoring the previous setting afterwards."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def toy():
    """The paper's toy (toyrd.toy_data() with its defaults), computed once per run."""
    import toyrd

    return toyrd.toy_data()
