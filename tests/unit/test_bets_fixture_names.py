"""Legs keep their fixture's name, looked up once per fixture in the gateway's fixture store
(tests/e2e/test_edge_mesh.py reads it back through the API); a fixture the store does not know
is not asked about again on every bet."""

from __future__ import annotations

from typing import Any, cast

from services.bets.adapters.feeds import Feeds, GatewayPrices
from services.bets.domain.prices import PriceBook
from tests.unit.bets_fakes import FakeClock
from tests.unit.test_bets_service_layer import quotes


class Store:
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.asked: list[str] = []

    async def fixture_name(self, fixture_id: str) -> str | None:
        self.asked.append(fixture_id)
        return self.names.get(fixture_id)


def feeds(store: Store, book: PriceBook) -> Feeds:
    return Feeds(book, cast(GatewayPrices, store), cast(Any, None), cast(Any, None))


async def test_a_name_is_looked_up_once_and_kept_in_the_book() -> None:
    store, book = Store({"f1": "Arsenal v Chelsea"}), PriceBook()
    subject = feeds(store, book)
    await subject.ensure_fixture_names(["f1", "f1"])
    await subject.ensure_fixture_names(["f1"])
    assert store.asked == ["f1"]
    assert book.fixture_name("f1") == "Arsenal v Chelsea"


async def test_an_unknown_fixture_is_not_asked_about_on_every_bet() -> None:
    store, book = Store({}), PriceBook()
    subject = feeds(store, book)
    await subject.ensure_fixture_names(["nowhere"])
    await subject.ensure_fixture_names(["nowhere"])
    assert store.asked == ["nowhere"]
    assert book.fixture_name("nowhere") is None


async def test_knows_is_true_only_when_neither_lookup_would_ask() -> None:
    store, book = Store({"f1": "Arsenal v Chelsea"}), PriceBook()
    subject = feeds(store, book)
    assert not subject.knows(["f1"])  # neither priced nor named
    await subject.ensure_fixture_names(["f1"])
    assert not subject.knows(["f1"])  # named, not priced
    book.apply_quote_set(quotes("f1", FakeClock(), live=False))
    assert subject.knows(["f1"])
    assert not subject.knows(["f1", "f2"])  # one leg on an unknown fixture
    # Priced but unnamed in the store: not asked again before the retry, so known till then.
    book.apply_quote_set(quotes("f2", FakeClock(), live=False))
    assert not subject.knows(["f2"])
    await subject.ensure_fixture_names(["f2"])
    assert subject.knows(["f1", "f2"])
    # Without a gateway there is nothing to ask.
    assert Feeds(PriceBook(), None, cast(Any, None), cast(Any, None)).knows(["f9"])
