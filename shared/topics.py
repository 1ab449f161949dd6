"""Kafka topic names (ARCHITECTURE §3): one topic per event family."""

CATALOGUE = "forum.catalogue"
REGISTRATIONS = "forum.registrations"
SELECTION = "forum.selection"
AGENDA = "forum.agenda"
RESULTS = "forum.results"
NOTIFICATIONS = "forum.notifications"
PARTICIPANTS = "forum.participants"
DEADLETTER = "forum.deadletter"
STAFF = "forum.staff"  # staff accounts and API tokens (owned by registration)
KEYS = "forum.keys"  # per-person data keys; compacted, erasure tombstones them (owned by registration)

ALL = (CATALOGUE, REGISTRATIONS, SELECTION, AGENDA, RESULTS, NOTIFICATIONS, PARTICIPANTS, DEADLETTER, STAFF, KEYS)

# Topics whose cleanup policy is not the default. On Kafka an erased key's record is compacted away
# within about an hour (short segments, eager cleaner, compaction lag bound); its tombstone is
# kept a day so that consumers that were away still see it.
CONFIGS = {KEYS: {"cleanup.policy": "compact", "segment.ms": "3600000", "min.cleanable.dirty.ratio": "0.01",
                  "max.compaction.lag.ms": "3600000", "delete.retention.ms": "86400000"}}
