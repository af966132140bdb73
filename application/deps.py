"""What every use case is built with: the ports, in one value the composition root hands to each."""

from __future__ import annotations

from dataclasses import dataclass

from application.denials import DenialFolder
from application.ports import Clock, PsaConnector, SecretBox, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Deps:
    """The ports a use case may need; the composition root builds one and hands it to every use case."""

    uow: UnitOfWorkFactory
    clock: Clock
    psa: PsaConnector
    secrets: SecretBox
    denials: DenialFolder | None = None
    """Folds repeated refusals of one actor and action (None: every refusal is written)."""


class UseCase:
    """The base of the use cases that need nothing but the ports."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
