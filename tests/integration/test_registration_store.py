"""The registration store's waiting-list numbers against the embedded store: several fora in one transaction."""

from __future__ import annotations

import uuid

import pytest
from pymongo import AsyncMongoClient

from services.registration.store import RegistrationStore


@pytest.fixture
async def store(stack):
    client: AsyncMongoClient = AsyncMongoClient(stack.mongodb_url, tz_aware=True)
    db = client[f"regstore{uuid.uuid4().hex[:8]}"]
    yield client, RegistrationStore(db)
    await client.drop_database(db.name)
    await client.close()


async def test_waiting_list_numbers_for_several_fora_at_once_continue_each_forums_sequence(store):
    client, registrations = store
    async with client.start_session() as session:
        assert await registrations.next_waitlist_seq("f1", session, step=3) == 3  # took 1..3

    async with client.start_session() as session:
        async with await session.start_transaction():
            firsts = await registrations.next_waitlist_seqs({"f1": 2, "f2": 5, "f3": 1, "f4": 0}, session)
    assert firsts == {"f1": 4, "f2": 1, "f3": 1}  # f1 goes on after 3; f4 asked for none

    async with client.start_session() as session:
        with pytest.raises(RuntimeError):
            async with await session.start_transaction():
                await registrations.next_waitlist_seqs({"f1": 10, "f2": 10}, session)
                raise RuntimeError("the batch failed")  # its numbers are not taken
        async with await session.start_transaction():
            assert await registrations.next_waitlist_seqs({"f2": 1, "f1": 1}, session) == {"f1": 6, "f2": 6}
    assert await registrations.next_waitlist_seqs({}, None) == {}
