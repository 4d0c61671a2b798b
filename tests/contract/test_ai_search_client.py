"""The core AI Search client against the emulator's AI Search routes, sync and async.

Both route families (the legacy AutoRAG routes and the AI Search instance routes) are asked the
same things; results come back as the same neutral types. The sync client is wrapped so both
are awaited the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.awaitable import Awaitable
from workers_ai import AsyncWorkersAIClient, NotFoundError, WorkersAIClient
from workers_ai.ai_search import AnswerDelta
from workers_ai.emulator import EmulatorServer
from workers_ai.errors import InvalidRequestError
from workers_ai.usage import track_usage
from workers_ai.vectorize import FilterError

FILES = {
    "policies/refunds.md": {
        "text": "Refunds go back to the original payment method within 5 to 7 business days.",
        "metadata": {"team": "support"},
    },
    "policies/shipping.md": {
        "text": "Shipping is free for orders over 50 euros. Express shipping costs 12 euros.",
        "metadata": {"team": "support"},
    },
    "blog/launch.md": {
        "text": "Our new kettle boils water in two minutes and keeps it warm for an hour.",
        "metadata": {"team": "marketing"},
    },
}


@pytest.fixture(params=["sync", "async"])
async def ais(request: pytest.FixtureRequest, emulator: EmulatorServer) -> AsyncIterator[Any]:
    """``client.ai_search`` of a sync (wrapped targets) or async client, the corpus loaded."""
    emulator.add_ai_search_instance("shop", FILES)
    emulator.add_ai_search_instance("blog", {"b.md": "Kettles and teapots."}, namespace="prod")
    if request.param == "sync":
        client = WorkersAIClient(**emulator.client_kwargs())
        yield _SyncTargets(client.ai_search)
        client.close()
    else:
        aclient = AsyncWorkersAIClient(**emulator.client_kwargs())
        yield aclient.ai_search
        await aclient.aclose()


class _SyncTargets:
    """``client.ai_search`` of a sync client, its targets awaited like the async ones."""

    def __init__(self, ai_search: Any) -> None:
        self._ai = ai_search

    def __getattr__(self, name: str) -> Any:
        factory = getattr(self._ai, name)
        return lambda *args, **kwargs: Awaitable(factory(*args, **kwargs))


async def _deltas(stream: Any) -> list[AnswerDelta]:
    if hasattr(stream, "__aiter__"):
        return [delta async for delta in stream]
    return list(stream)


@pytest.mark.parametrize("family", ["instance", "autorag"])
async def test_both_families_find_the_relevant_file_first(ais: Any, family: str) -> None:
    target = ais.instance("shop") if family == "instance" else ais.autorag("shop")
    result = await target.search("How long do refunds take?", max_results=2)
    assert result.chunks and result.chunks[0].filename == "policies/refunds.md"
    assert len(result.chunks) <= 2
    assert "5 to 7 business days" in result.chunks[0].text
    assert result.chunks[0].score is not None and 0 < result.chunks[0].score <= 1
    if family == "autorag":
        assert result.chunks[0].file_id and result.chunks[0].content[0].type == "text"


@pytest.mark.parametrize("family", ["instance", "autorag"])
async def test_filters_in_one_syntax_reach_both_families(
    ais: Any, family: str, emulator: EmulatorServer
) -> None:
    target = ais.instance("shop") if family == "instance" else ais.autorag("shop")
    result = await target.search("kettle refunds shipping", filters={"folder": "blog/"})
    assert {c.filename for c in result.chunks} == {"blog/launch.md"}
    body = emulator.last_request().body
    if family == "instance":
        assert body["ai_search_options"]["retrieval"]["filters"] == {"folder": "blog/"}
    else:
        assert body["filters"] == {"type": "eq", "key": "folder", "value": "blog/"}


async def test_answers_come_with_their_sources_and_usage(ais: Any) -> None:
    with track_usage() as meter:
        answer = await ais.instance("shop").answer("How long do refunds take?")
    assert "5 to 7 business days" in answer.text
    assert answer.chunks and answer.chunks[0].filename == "policies/refunds.md"
    assert answer.usage is not None and answer.usage.total_tokens > 0
    assert meter.total.calls == 1 and meter.total.input_tokens == answer.usage.input_tokens


async def test_legacy_answers_too(ais: Any) -> None:
    answer = await ais.autorag("shop").answer("How much is express shipping?")
    assert "12 euros" in answer.text
    assert answer.chunks[0].filename == "policies/shipping.md"


async def test_streamed_answers_send_sources_first_and_add_up(ais: Any) -> None:
    whole = await ais.instance("shop").answer("How long do refunds take?")
    stream = await ais.instance("shop").stream_answer("How long do refunds take?")
    deltas = await _deltas(stream)
    assert deltas[0].chunks is not None and deltas[0].text == ""
    assert "".join(d.text for d in deltas) == whole.text
    assert stream.answer.text == whole.text and stream.chunks == whole.chunks
    legacy = await ais.autorag("shop").stream_answer("How long do refunds take?")
    legacy_deltas = await _deltas(legacy)
    assert "".join(d.text for d in legacy_deltas).strip()
    assert legacy.chunks == ()  # the legacy stream carries no sources


async def test_namespaces_and_cross_instance_search(ais: Any) -> None:
    prod = await ais.instance("blog", namespace="prod").search("teapots")
    assert [c.filename for c in prod.chunks] == ["b.md"]
    both = await ais.instances("prod", ["blog", "missing"]).search("teapots")
    assert {c.instance_id for c in both.chunks} == {"blog"}
    assert [e.get("instance_id") for e in both.errors] == ["missing"]


async def test_an_unknown_instance_is_a_typed_404_with_a_hint(ais: Any) -> None:
    with pytest.raises(NotFoundError) as caught:
        await ais.instance("nope").search("anything")
    assert caught.value.status_code == 404
    assert "AI Search instance name" in str(caught.value)


async def test_bad_input_is_refused_before_any_request(ais: Any, emulator: EmulatorServer) -> None:
    before = emulator.request_count()
    with pytest.raises(InvalidRequestError, match="max_results must be an int from 1 to 50"):
        await ais.instance("shop").search("q", max_results=100)
    with pytest.raises(InvalidRequestError, match="retrieval_type: only the AI Search"):
        await ais.autorag("shop").search("q", retrieval_type="hybrid")
    with pytest.raises(FilterError, match="cannot combine a \\$in"):
        await ais.autorag("shop").search("q", filters={"folder": {"$in": ["a", "b"]}, "year": 1})
    with pytest.raises(InvalidRequestError, match="unknown AI Search option"):
        await ais.instance("shop").search("q", top_k=3)
    with pytest.raises(InvalidRequestError):
        ais.instance("bad/name")
    assert emulator.request_count() == before


async def test_a_files_own_metadata_is_filterable_and_comes_back(ais: Any) -> None:
    result = await ais.instance("shop").search(
        "refunds shipping kettle", filters={"team": "marketing"}
    )
    assert [c.filename for c in result.chunks] == ["blog/launch.md"]
    assert result.chunks[0].attributes.get("team") == "marketing"
