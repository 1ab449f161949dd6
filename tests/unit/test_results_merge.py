"""Merged bulk operations give the same read models as the operations one by one."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.results.projection import Op, apply_update, merge_ops

IDS = st.sampled_from(["a", "b", "c"])
FIELDS = st.sampled_from(["x", "y", "z", "w"])
VALUES = st.integers(-3, 3)


@st.composite
def ops(draw):
    operators = draw(st.sets(st.sampled_from(["$inc", "$set", "$setOnInsert", "$addToSet"]), min_size=1, max_size=3))
    # Sets live in their own field (`t`): a counter and a set never share one, as in the rules.
    update = {o: ({"t": draw(VALUES)} if o == "$addToSet" else draw(st.dictionaries(FIELDS, VALUES, min_size=1, max_size=2)))
              for o in operators}
    fields = [f for fs in update.values() for f in fs]
    if len(fields) != len(set(fields)):  # MongoDB refuses one field under two operators
        update = {next(iter(update)): next(iter(update.values()))}
    return Op(draw(st.sampled_from(["c1", "c2"])), draw(IDS), update)


def fold(sequence, start):
    docs = dict(start)
    for op in sequence:
        key = (op.collection, op.id)
        docs[key] = apply_update(docs.get(key), op)
    return docs


@settings(max_examples=400, deadline=None)
@given(st.lists(ops(), max_size=12), st.dictionaries(st.tuples(st.sampled_from(["c1", "c2"]), IDS),
                                                      st.fixed_dictionaries({"x": VALUES}), max_size=3))
def test_merged_operations_give_the_same_documents(sequence, existing):
    start = {k: {"_id": k[1], **v} for k, v in existing.items()}
    assert fold(merge_ops(sequence), start) == fold(sequence, start)


def test_counters_of_one_document_become_one_update():
    sequence = [Op("c", "a", {"$inc": {"n": 1}, "$setOnInsert": {"k": 1}}), Op("c", "b", {"$set": {"s": 1}}),
                Op("c", "a", {"$inc": {"n": 2, "m": 1}, "$setOnInsert": {"k": 1}})]
    assert merge_ops(sequence) == [Op("c", "a", {"$inc": {"n": 3, "m": 1}, "$setOnInsert": {"k": 1}}),
                                   Op("c", "b", {"$set": {"s": 1}})]
