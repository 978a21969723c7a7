"""The VAE as ``torch.nn.Module`` s: encoder, decoder and marginal parameter modules whose
tables come from the shared family map :func:`toyrd.tables.Family.tables`.

A :class:`TorchVAE` holds three submodules, ``encoder`` (the family's ``enc_*`` parameters),
``decoder`` (``dec_*``) and ``marginal`` (``mar_*``). Each is an ``nn.Module`` with its own
``nn.ParameterDict``, so practitioners can freeze, inspect or give separate learning rates to
them. Their tables are computed together by the family (``family.tables(params, n_x)``, which is
generic over numpy, jax.numpy and torch), so the torch model and the JAX model with the same
parameters are the same map:

* ``encoder`` table :math:`e(z|x)`, shape ``(n_x, n_z)``, rows sum to 1;
* ``decoder`` table :math:`d(x|z)`, shape ``(n_z, n_x)``, rows sum to 1;
* ``marginal`` :math:`m(z)`, shape ``(n_z,)``.

Export (:func:`export_tables`) recomputes the softmax in float64 numpy from the float64 copy of
the parameters, so every exported row sums to 1 within :data:`toyrd.SUM_TOL` even when the
model trained in float32. Identity (example): a freshly initialised model exports exactly the
tables the numpy family map gives for the same seed:

>>> import numpy as np, toyrd.tables as fam
>>> from toyrd.train.torch import TorchVAE, export_tables
>>> vae = TorchVAE("tabular", seed=3)
>>> ref = fam.tabular.tables(fam.tabular.init(3, 30, 30, 1.0), 30)
>>> all(np.array_equal(a, b) for a, b in zip(export_tables(vae), ref))
True
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from toyrd.errors import ToyrdError
from toyrd.tables import Family, get_family

__all__ = [
    "TablePart",
    "TorchVAE",
    "export_tables",
    "export_log_tables",
    "save_torch_model",
    "PART_PREFIXES",
]

#: Which family parameters belong to which submodule (by key prefix).
PART_PREFIXES = {"encoder": "enc_", "decoder": "dec_", "marginal": "mar_"}


class TablePart(nn.Module):
    """One of encoder / decoder / marginal: an ``nn.ParameterDict`` of family parameters."""

    def __init__(self, arrays: dict, dtype=torch.float64):
        super().__init__()
        self.params = nn.ParameterDict(
            {
                k: nn.Parameter(
                    torch.as_tensor(np.asarray(v, dtype=np.float64), dtype=dtype).clone()
                )
                for k, v in arrays.items()
            }
        )

    def forward(self) -> dict:
        return dict(self.params.items())


class TorchVAE(nn.Module):
    """A finite VAE of a given family (``"tabular"``, ``"bump"`` or a :class:`Family`).

    Parameters come from ``family.init(seed, n_x, n_z, scale)`` (numpy float64) unless
    ``params`` is given. ``dtype`` is the torch dtype of the trainable parameters
    (default float64; nothing changes torch's global default dtype).
    """

    def __init__(
        self,
        family="tabular",
        *,
        seed: int = 0,
        n_x: int = 30,
        n_z: int = 30,
        scale: float = 1.0,
        params: dict | None = None,
        dtype=torch.float64,
    ):
        super().__init__()
        self.family: Family = get_family(family)
        self.n_x = int(n_x)
        if params is None:
            params = self.family.init(seed, n_x, n_z, scale)
        parts = {name: {} for name in PART_PREFIXES}
        for key, value in params.items():
            owner = [p for p, pre in PART_PREFIXES.items() if key.startswith(pre)]
            if not owner:
                raise ToyrdError(
                    f"params: key {key!r} starts with none of {list(PART_PREFIXES.values())}"
                )
            parts[owner[0]][key] = value
        self.encoder = TablePart(parts["encoder"], dtype)
        self.decoder = TablePart(parts["decoder"], dtype)
        self.marginal = TablePart(parts["marginal"], dtype)

    def param_dict(self) -> dict:
        """All family parameters as one dict name → ``nn.Parameter`` (the family's pytree)."""
        return {**self.encoder(), **self.decoder(), **self.marginal()}

    def tables(self, params: dict | None = None):
        """(encoder :math:`e(z|x)` ``(n_x, n_z)``, decoder :math:`d(x|z)` ``(n_z, n_x)``, marginal
        :math:`m(z)` ``(n_z,)``) as tensors."""
        return self.family.tables(self.param_dict() if params is None else params, self.n_x)

    forward = tables

    def log_tables(self, params: dict | None = None):
        """(log e, log d, log m) as tensors: the family's log-tables, finite where the logits are
        (even where :meth:`tables` underflows to an exact 0)."""
        return self.family.logs(self.param_dict() if params is None else params, self.n_x)

    def numpy_params(self) -> dict:
        """The parameters as float64 numpy arrays (a copy)."""
        return {
            k: v.detach().to(torch.float64).cpu().numpy().copy()
            for k, v in self.param_dict().items()
        }


def export_tables(vae: TorchVAE):
    """(encoder, decoder, marginal) float64 numpy tables, softmax recomputed in float64."""
    return tuple(
        np.asarray(t, dtype=np.float64) for t in vae.family.tables(vae.numpy_params(), vae.n_x)
    )


def export_log_tables(vae: TorchVAE):
    """(log e, log d, log m) float64 numpy log-tables, log_softmax recomputed in float64: finite
    where :func:`export_tables` underflows to an exact 0."""
    return tuple(
        np.asarray(t, dtype=np.float64) for t in vae.family.logs(vae.numpy_params(), vae.n_x)
    )


def save_torch_model(path, vae: TorchVAE, *, px=None, pzx=None) -> str:
    """Write the exported tables and log-tables with :func:`toyrd.tables.save_model` (``toyrd
    evaluate`` reads it); return the path written (``.npz`` appended when missing)."""
    from toyrd.tables import save_model

    enc, dec, mar = export_tables(vae)
    return save_model(path, enc, dec, mar, px=px, pzx=pzx, logs=export_log_tables(vae))
