"""The registration store's waiting-list numbers against the embedded store: several fora in one transaction."""

from __future__ import annotations

import uuid

import pytest
from pymongo import AsyncMongoClient

from services.registration.store import RegistrationStore, ensure_indexes, forum_org


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


async def test_near_duplicate_candidates_of_several_fora_come_from_one_query_and_stay_in_their_forum(store):
    client, registrations = store
    docs = [("r1", "f1", "stadt herne"), ("r2", "f2", "stadt herne"), ("r3", "f1", "ruhr uni"), ("r4", "f1", "stadt herne")]
    await registrations.db.registrations.insert_many([
        {"_id": i, "forum_id": f, "org_key": o, "forum_org": forum_org(f, o), "first_name": "A", "last_name": i,
         "status": "received"} for i, f, o in docs])
    found = await registrations.same_organisations({("f1", "stadt herne"), ("f2", "stadt herne"), ("f2", "ruhr uni")})
    assert {pair: sorted(d["_id"] for d in same) for pair, same in found.items()} == {
        ("f1", "stadt herne"): ["r1", "r4"], ("f2", "stadt herne"): ["r2"], ("f2", "ruhr uni"): []}


async def test_registrations_stored_before_the_combined_field_get_it_once_and_the_old_index_goes(store):
    client, registrations = store
    db = registrations.db
    await db.registrations.create_index([("forum_id", 1), ("org_key", 1)])
    await db.registrations.insert_many([{"_id": f"old{i}", "forum_id": f"f{i % 2}", "org_key": f"org {i}", "email_lower": f"{i}@x"}
                                        for i in range(3)] + [{"_id": "no-org", "forum_id": "f0", "email_lower": "n@x"}])
    await ensure_indexes(db)
    assert {d["_id"]: d["forum_org"] async for d in db.registrations.find()} == {
        "old0": forum_org("f0", "org 0"), "old1": forum_org("f1", "org 1"), "old2": forum_org("f0", "org 2"),
        "no-org": forum_org("f0", "")}
    assert "forum_id_1_org_key_1" not in await db.registrations.index_information()
    assert (await db.migrations.find_one({"_id": "registrations.forum_org"}))["registrations"] == 4
    await db.registrations.insert_one({"_id": "later", "forum_id": "f0", "org_key": "x", "email_lower": "l@x"})
    await ensure_indexes(db)  # done once: the marker stops a second pass over the collection
    assert "forum_org" not in await db.registrations.find_one({"_id": "later"})


async def test_a_store_of_the_earlier_index_layout_moves_to_fewer_indexes_and_keeps_its_rules(store):
    """One unique index over (address, forum) in place of two, and the waiting-list index without the preferences."""
    from pymongo.errors import DuplicateKeyError

    client, registrations = store
    db = registrations.db
    await db.registrations.create_index([("forum_id", 1), ("email_lower", 1)], unique=True, name="one_per_email")
    await db.registrations.create_index([("email_lower", 1)])
    await db.registrations.create_index([("forum_id", 1), ("status", 1), ("preferences", 1), ("waitlist_seq", 1)])
    waiting = [{"_id": f"w{i}", "forum_id": "f1", "email_lower": f"w{i}@x", "status": "waitlisted", "actor_group": "company",
                "org_key": f"org {i}", "preferences": ["ws1", "ws2"] if i % 2 else ["ws3"], "waitlist_seq": 10 - i}
               for i in range(6)]
    await db.registrations.insert_many(waiting + [{"_id": "a1", "forum_id": "f1", "email_lower": "a@x", "status": "accepted",
                                                   "preferences": ["ws1"], "waitlist_seq": None}])
    await ensure_indexes(db)
    names = set(await db.registrations.index_information())
    assert {"one_email_per_forum", "forum_id_1_status_1_waitlist_seq_1"} <= names
    assert not names & {"one_per_email", "email_lower_1", "forum_id_1_status_1_preferences_1_waitlist_seq_1"}
    with pytest.raises(DuplicateKeyError):
        await db.registrations.insert_one({"_id": "again", "forum_id": "f1", "email_lower": "a@x"})
    await db.registrations.insert_one({"_id": "elsewhere", "forum_id": "f2", "email_lower": "a@x"})
    assert {d["forum_id"] for d in await registrations.by_emails(["a@x"])} == {"f1", "f2"}
    async with client.start_session() as session:
        # Those who listed ws1, in waiting-list order (the lowest sequence first), and no one accepted.
        assert [c.registration_id for c in await registrations.move_up_candidates("f1", "ws1", session)] == ["w5", "w3", "w1"]
        assert [c.registration_id for c in await registrations.move_up_candidates("f1", "ws1", session, limit=2)] == ["w5", "w3"]
