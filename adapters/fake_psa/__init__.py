"""An in-memory PSA: a real implementation of the PSA port that tests seed, inspect and make fail on demand."""

from adapters.fake_psa.fake import FakeConnector, FakeGateway, FakePsa, FakeTicket, PsaEvent

__all__ = ["FakeConnector", "FakeGateway", "FakePsa", "FakeTicket", "PsaEvent"]
