"""Refuse, before allocating, a request whose memory estimate exceeds what the machine has.

An estimate is the size of the arrays a request allocates (float64 entries × copies alive at
once), computed from the sizes alone; :func:`check_fits` compares it with the memory available
now (``MemAvailable`` of /proc/meminfo, else the physical memory) and raises one
:class:`~toyrd.errors.ToyrdError` naming the option, the estimate and the largest size that fits.
"""

from __future__ import annotations

import os

from toyrd.errors import ToyrdError

__all__ = ["available_bytes", "check_fits", "check_train_batch", "gib", "ROW_COPIES"]


def available_bytes() -> int:
    """Bytes of memory available to a new allocation now (Linux: MemAvailable; else the
    physical memory; 2**63 when neither is known)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 2**63


def gib(n: float) -> str:
    """``n`` bytes as a short human size ("224 GiB", "310 MiB")."""
    if n >= 2**30:
        return f"{n / 2**30:.3g} GiB"
    return f"{n / 2**20:.3g} MiB"


def check_fits(request: str, nbytes: float, advice: str = "") -> None:
    """Raise :class:`ToyrdError` when ``nbytes``, the estimate for ``request`` (e.g.
    "--n-z 1000000000"), exceeds the memory available now; ``advice`` ends the message."""
    have = available_bytes()
    if nbytes <= have:
        return
    raise ToyrdError(
        f"{request}: needs about {gib(nbytes)} of memory, more than the {gib(have)} available"
        + (f"; {advice}" if advice else "")
    )


#: float64 copies of one training row's tables (n_x·n_z entries each) alive at once in the JAX
#: trainer's compiled scan: parameters, gradients and Adam's two moments (4), tables and
#: log-tables (4), the loss's intermediates (p_e, its gradient, ...; about 8). An upper estimate,
#: so a refusal is certain; a batch that passes may still be slow, never killed for memory here.
ROW_COPIES = 16


def check_train_batch(rows: int, n_x: int, n_z: int, request: str | None = None) -> None:
    """Refuse (one line, nothing allocated) a batch of ``rows`` training runs of an
    ``n_x`` × ``n_z`` model whose arrays cannot fit in memory; ``request`` names the option in the
    message."""
    per_row = ROW_COPIES * 8 * (2 * n_x * n_z + n_z)
    have = available_bytes()
    if rows == 1:
        advice = f"use n_z <= {max(0, have // (ROW_COPIES * 8 * (2 * n_x + 1)))}"
    else:
        advice = f"use at most {max(0, have // per_row)} runs at a time"
    what = f"{rows} run(s) of n_z = {n_z} latent states"
    check_fits(f"{request} ({what})" if request else what, rows * per_row, advice)
