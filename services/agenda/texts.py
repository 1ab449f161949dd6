"""UI texts, German first."""

from __future__ import annotations

from .domain import KINDS_DE, KINDS_EN

TEXTS = {
    "de": {
        "site": "Themenforum – Agenda", "skip": "Zum Inhalt springen", "language": "Sprache",
        "footer": "Themenforum der Ruhr-Konferenz · Agenda", "agenda": "Agenda", "time": "Zeit", "room": "Raum",
        "moderation": "Moderation", "kind": "Art", "title": "Titel", "version": "Version", "published_at": "veröffentlicht am",
        "not_published": "Für diesen Workshop ist noch keine Agenda veröffentlicht.", "print": "Druckansicht",
        "ics": "In den Kalender (iCal)", "json": "JSON", "versions": "Frühere Versionen", "all_workshops": "Alle Workshops",
        "plenary": "gemeinsam mit allen Workshops", "older": "Sie sehen eine ältere Version.", "current": "Zur aktuellen Version",
        "index_title": "Agenden der Themenforen", "editor": "Agenda-Editor (Mitarbeitende)", "changes": "Änderungen gegenüber Version",
        "no_room": "ohne Raum",
    },
    "en": {
        "site": "Themenforum – Agenda", "skip": "Skip to content", "language": "Language",
        "footer": "Themenforum of the Ruhr-Konferenz · Agenda", "agenda": "Agenda", "time": "Time", "room": "Room",
        "moderation": "Moderation", "kind": "Kind", "title": "Title", "version": "Version", "published_at": "published on",
        "not_published": "No agenda has been published for this workshop yet.", "print": "Printable view",
        "ics": "Add to calendar (iCal)", "json": "JSON", "versions": "Earlier versions", "all_workshops": "All workshops",
        "plenary": "joint session of all workshops", "older": "You are looking at an earlier version.", "current": "Current version",
        "index_title": "Agendas of the Themenforen", "editor": "Agenda editor (staff)", "changes": "Changes since version",
        "no_room": "no room",
    },
}
KINDS = {"de": KINDS_DE, "en": KINDS_EN}
CONFLICT_KINDS = {
    "room_double_booked": "Raum doppelt belegt", "moderator_double_booked": "Moderation doppelt eingeplant",
    "overlap": "Überschneidung im Workshop", "outside_day": "Außerhalb der Veranstaltungszeit",
    "room_too_small": "Raum zu klein", "gap": "Lücke im Ablauf", "no_room": "Kein Raum",
}
FIELD_LABELS = {
    "workshop_id": "Workshop", "day": "Tag", "start": "Beginn", "end": "Ende", "title": "Titel", "kind": "Art",
    "room": "Raum", "moderators": "Moderation", "description": "Beschreibung", "name": "Name", "capacity": "Plätze",
}
CHANGED_FIELDS = {
    "workshop_id": "Workshop", "starts_at": "Beginn", "ends_at": "Ende", "title": "Titel", "kind": "Art",
    "room": "Raum", "room_name": "Raum", "moderators": "Moderation", "description": "Beschreibung",
}
