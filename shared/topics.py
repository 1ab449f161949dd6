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

ALL = (CATALOGUE, REGISTRATIONS, SELECTION, AGENDA, RESULTS, NOTIFICATIONS, PARTICIPANTS, DEADLETTER, STAFF)
