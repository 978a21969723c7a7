"""Flags that only mean something in some combinations: refuse the others, naming the flag.

Every check raises :class:`toyrd.errors.ToyrdError` (exit 2, one line) whose message names the
flag the user passed and the flag or value that would make it count, so no argument is ever
silently ignored.
"""

from __future__ import annotations

from toyrd.errors import ToyrdError

__all__ = ["check_hyper_flag", "refuse_unused", "HYPER_EXAMPLE"]

#: An example value for each objective's hyperparameter, quoted in the messages.
HYPER_EXAMPLE = {"beta": "0.5", "rda": "2", "target_rate": "0.5"}


def check_hyper_flag(objective: str, value, flag: str, *, needed_for: str | None = None) -> None:
    """``flag`` (the option carrying ``objective``'s hyperparameter) given where it has no
    effect, or missing where it is required: :class:`ToyrdError` naming the flag to use.

    ``needed_for``: the objective the flag belongs to when it is specific to one (e.g.
    ``--sigma`` is target_rate's); None when one flag carries every objective's value
    (``toyrd train --hyper``).
    """
    from toyrd.objectives import HYPER_NAMES, check_hyper

    try:  # no value given: does the objective have a default (beta, rda) or not (target_rate)?
        check_hyper(objective, None)
        required = False
    except ToyrdError:
        required = True

    if value is not None:
        if objective == "elbo" and needed_for is None:
            raise ToyrdError(
                f"{flag}: --objective elbo takes no hyperparameter; drop {flag}, or choose "
                "--objective beta, rda or target_rate"
            )
        if needed_for is not None and objective != needed_for:
            raise ToyrdError(
                f"{flag}: only used by --objective {needed_for} (this run is --objective "
                f"{objective}); drop {flag}"
            )
    elif required and needed_for in (None, objective):
        raise ToyrdError(
            f"--objective {objective} needs its {HYPER_NAMES[objective]}: pass {flag} "
            f"(e.g. {flag} {HYPER_EXAMPLE[objective]})"
        )


def refuse_unused(flag: str, given: bool, used: bool, why: str) -> None:
    """:class:`ToyrdError` when ``flag`` was ``given`` but has no effect (``used`` is False);
    ``why`` says which flag or value makes it count."""
    if given and not used:
        raise ToyrdError(f"{flag}: has no effect here; {why}")
