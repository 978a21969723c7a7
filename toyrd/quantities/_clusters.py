"""How the code splits the true classes: the mass of q on the latent states of class 0."""

from __future__ import annotations

import numpy as np

__all__ = ["class_block_mass"]


def class_block_mass(pzx, encoder) -> float:
    r"""Mass of q on the latent states that code class 0:
    :math:`\sum_z q(z)\, [p(z^* = 0 \mid z) > \tfrac12]`.

    0.7 for a code that separates the classes like the true process, 1.0 for a code that
    carries no class information (every state looks like the prior, :math:`p(z^* = 0 \mid z) = 0.7`)
    .
    """
    joint = np.asarray(pzx, dtype=np.float64) @ np.asarray(encoder, dtype=np.float64)  # (2, n_z)
    q = joint.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        post0 = np.where(q > 0, joint[0] / np.where(q > 0, q, 1.0), 0.0)
    return float(q[post0 > 0.5].sum())
