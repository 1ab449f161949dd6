"""The "Ergebnisbericht" of a forum: assembled from the reporting read models (aggregates only)."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo
from typing import Any

from fastapi import HTTPException
from fastapi.templating import Jinja2Templates
from pymongo.asynchronous.database import AsyncDatabase

from shared.events.common import ACTOR_GROUP_LABELS_DE

from . import charts
from .domain import ideas_by_cluster, rank_sketches, selection_figures, summarise_participation
from .store import ReportingStore

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
BERLIN = ZoneInfo("Europe/Berlin")


def _datum(value: Any) -> str:
    """25.03.2027 from a date or an ISO timestamp."""
    text = str(value)
    parsed = datetime.fromisoformat(text) if "T" in text else datetime.fromisoformat(text + "T00:00:00")
    return parsed.strftime("%d.%m.%Y")


def _uhrzeit(value: Any) -> str:
    """09:30 in Berlin time from an ISO timestamp."""
    parsed = datetime.fromisoformat(str(value))
    return (parsed.astimezone(BERLIN) if parsed.tzinfo else parsed).strftime("%H:%M")


def _euro(value: int) -> str:
    return f"{value:,} €".replace(",", ".")


def _raum(room_id: str | None) -> str:
    """A readable room name: agenda events carry only the room id (e.g. `raum-emscher`)."""
    return " ".join(part.capitalize() for part in (room_id or "").replace("_", "-").split("-"))


templates.env.filters.update(datum=_datum, uhrzeit=_uhrzeit, euro=_euro, raum=_raum)
GROUPS = {g.value: label for g, label in ACTOR_GROUP_LABELS_DE.items()}
# Fields of a sketch that may name a person: they stay in the capture tool, never in the report.
PERSONAL_SKETCH_FIELDS = ("contact",)


async def build(db: AsyncDatabase[dict[str, Any]], forum_id: str) -> dict[str, Any]:
    """The report's content as plain data (the JSON export; HTML, CSV and PDF render it)."""
    store = ReportingStore(db)
    forum = await store.forum(forum_id)
    if forum is None:
        raise HTTPException(404, "Veranstaltung unbekannt.")
    cells = await store.cells(forum_id)
    participation = summarise_participation(cells)
    ideas = await store.by_forum("reporting_ideas", forum_id)
    sketches = await store.by_forum("reporting_sketches", forum_id)
    tallies = {t["_id"]: t for t in await store.by_forum("reporting_votes", forum_id)}
    agenda = {a["workshop_id"]: a for a in await store.agenda_versions(forum_id)}  # sorted by version: the last wins
    finals = {r["workshop_id"]: r for r in await store.by_forum("reporting_results", forum_id)}
    conflicts = {c["workshop_id"]: c for c in await store.by_forum("reporting_conflicts", forum_id)}
    workshops = []
    for ws in await store.workshops(forum_id):
        wid = ws["workshop_id"]
        ws_ideas = [_idea(i) for i in ideas if i["workshop_id"] == wid]
        titles = {i["id"]: i["title"] for i in ws_ideas}
        ranked = rank_sketches([s for s in sketches if s["workshop_id"] == wid], tallies)
        workshops.append({
            "id": wid, "number": ws["number"], "title": ws["title"], "seats": ws["seats"],
            "accepted": participation["by_workshop"].get(wid, {}).get("accepted", 0),
            "registered_first_choice": participation["by_workshop"].get(wid, {}).get("registered", 0),
            "accepted_by_actor_group": _by_group(cells, wid),
            "agenda": _agenda(agenda.get(wid)),
            "results_version": {k: finals[wid][k] for k in ("version", "finalized_at")} if wid in finals else None,
            "open_conflicts": len(conflicts.get(wid, {}).get("conflicts", [])),
            "clusters": [{"name": name or "Ohne Themencluster", "ideas": group} for name, group in ideas_by_cluster(ws_ideas)],
            "sketches": [_sketch(rank, s, titles, tallies) for rank, s in enumerate(ranked, 1)],
        })
    deliveries = [{"sent": 0, "failed": 0, **d} for d in await store.deliveries(forum_id)]
    return {
        "forum": {"id": forum_id, "title": forum["title"], "starts_on": forum.get("starts_on"), "venue": forum.get("venue", ""),
                  "organiser": forum.get("organiser", "")},
        "summary": {"workshops": len(workshops), "registrations": participation["registered"], "accepted": participation["accepted"],
                    "ideas": len(ideas), "sketches": len(sketches), "dots": sum(t.get("dots", 0) for t in tallies.values()),
                    "finalized_workshops": len(finals), "notifications_sent": sum(d["sent"] for d in deliveries),
                    "notifications_failed": sum(d["failed"] for d in deliveries)},
        "workshops": workshops,
        "participation": participation,
        "selection": selection_figures(await store.by_forum("reporting_selection", forum_id)),
        "deliveries": deliveries,
    }


def _by_group(cells: list[dict[str, Any]], workshop_id: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in cells:
        if c["workshop_id"] == workshop_id and c.get("accepted", 0):
            out[c["actor_group"]] = out.get(c["actor_group"], 0) + c["accepted"]
    return out


def _agenda(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    if doc is None:
        return None
    items = [{"starts_at": i["starts_at"], "ends_at": i["ends_at"], "title": i["title"], "kind": i["kind"], "room": i.get("room")}
             for i in doc["items"]]
    return {"version": doc["version"], "published_at": doc["published_at"], "items": items}


def _idea(doc: dict[str, Any]) -> dict[str, Any]:
    return {"id": doc["idea_id"], "title": doc["title"], "text": doc.get("text", ""), "tags": doc.get("tags", []),
            "cluster": doc.get("cluster"), "breakout_group": doc.get("breakout_group"), "actor_groups": doc.get("actor_groups", []),
            "revision": doc.get("revision", 1), "result_version": doc.get("result_version", 1)}


def _sketch(rank: int, s: dict[str, Any], idea_titles: dict[str, str], tallies: dict[str, Any]) -> dict[str, Any]:
    """A sketch with its trail: the ideas it grew from (and their dots) and the votes it got."""
    public = {k: v for k, v in s.items() if k not in PERSONAL_SKETCH_FIELDS and k not in ("_id", "forum_id")}
    trail = [{"id": i, "title": idea_titles.get(i, "(Idee nicht mehr vorhanden)"), "dots": tallies.get(i, {}).get("dots", 0)}
             for i in s.get("idea_ids", [])]
    return {**public, "rank": rank, "id": s["sketch_id"], "trail": {"ideas": trail, "dots": s["dots"], "voters": s["voters"],
                                                                   "votes": tallies.get(s["sketch_id"], {}).get("votes", 0)}}


def chart_svgs(data: dict[str, Any]) -> dict[str, str]:
    """The report's charts as inline SVG."""
    ws = data["workshops"]
    seats = charts.bar_chart("Zugelassene Teilnehmende je Workshop (von Plätzen)",
                             [(f"Workshop {w['number']}", w["accepted"], w["seats"]) for w in ws])
    groups = charts.stacked_chart("Zugelassene je Workshop nach Akteursgruppe",
                                  [(f"Workshop {w['number']}", w["accepted_by_actor_group"]) for w in ws], GROUPS)
    towns = sorted(data["participation"]["by_municipality"].items(), key=lambda kv: (-kv[1]["registered"], kv[0]))[:12]
    municipalities = charts.bar_chart("Anmeldungen nach Kommune (häufigste 12)", [(t, v["registered"], None) for t, v in towns])
    return {"seats": seats, "groups": groups, "municipalities": municipalities}


def render_html(request: Any, data: dict[str, Any], *, pdf: bool = False) -> str:
    """The report as a German HTML document (also the source of the PDF)."""
    template = templates.get_template("report.html")
    return template.render(request=request, r=data, charts=chart_svgs(data), groups=GROUPS, pdf=pdf)


async def to_pdf(data: dict[str, Any]) -> bytes:
    """The report as PDF (WeasyPrint with Debian's fonts), rendered off the event loop."""
    try:
        from weasyprint import CSS, HTML
    except (ImportError, OSError) as exc:  # WeasyPrint needs Pango from the system
        raise HTTPException(503, "PDF-Ausgabe ist auf diesem Server nicht verfügbar.") from exc
    html = render_html(None, data, pdf=True)
    css = CSS(filename=str(HERE / "static" / "report.css"))
    return await asyncio.to_thread(lambda: HTML(string=html).write_pdf(stylesheets=[css]))


def to_csv(data: dict[str, Any]) -> str:
    """Figures and results in long form: section; workshop; category; label; value (semicolon, with BOM for spreadsheets)."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out, delimiter=";", lineterminator="\r\n")
    w.writerow(["abschnitt", "workshop", "kategorie", "bezeichnung", "wert"])
    for key, value in data["summary"].items():
        w.writerow(["zusammenfassung", "", key, "", value])
    for ws in data["workshops"]:
        w.writerow(["teilnahme", ws["title"], "plaetze", "", ws["seats"]])
        w.writerow(["teilnahme", ws["title"], "zugelassen", "", ws["accepted"]])
        for group, n in sorted(ws["accepted_by_actor_group"].items()):
            w.writerow(["teilnahme", ws["title"], "akteursgruppe", GROUPS.get(group, group), n])
        for cluster in ws["clusters"]:
            for idea in cluster["ideas"]:
                w.writerow(["idee", ws["title"], cluster["name"], idea["title"], ""])
        for s in ws["sketches"]:
            w.writerow(["projektskizze", ws["title"], f"rang {s['rank']}", s["title"], s["trail"]["dots"]])
    for town, row in sorted(data["participation"]["by_municipality"].items()):
        w.writerow(["kommune", "", "angemeldet", town, row["registered"]])
        w.writerow(["kommune", "", "zugelassen", town, row["accepted"]])
    for d in data["deliveries"]:
        w.writerow(["benachrichtigung", "", d["template"], "zugestellt", d.get("sent", 0)])
        w.writerow(["benachrichtigung", "", d["template"], "fehlgeschlagen", d.get("failed", 0)])
    return out.getvalue()


async def dashboard_snapshot(db: AsyncDatabase[dict[str, Any]], forum_id: str) -> dict[str, Any]:
    """Current figures for the live dashboard (the stream tells it when to fetch them again)."""
    data = await build(db, forum_id)
    store = ReportingStore(db)
    quotas = {w["workshop_id"]: w.get("quotas", {}) for w in await store.workshops(forum_id)}
    sketch_titles = {s["id"]: (w["number"], s["title"]) for w in data["workshops"] for s in w["sketches"]}
    tallies = sorted(await store.by_forum("reporting_votes", forum_id), key=lambda t: -t.get("dots", 0))
    conflicts = [{"workshop_id": c["workshop_id"], "kind": x["kind"], "message": x["message"]}
                 for c in await store.by_forum("reporting_conflicts", forum_id) for x in c["conflicts"]]
    failures = [{k: f.get(k) for k in ("template", "error", "attempts", "failed_at")}
                for f in await store.by_forum("reporting_delivery_failures", forum_id)]
    return {
        "counters": {**data["summary"], "waitlisted": data["selection"]["waitlisted"], "conflicts": len(conflicts),
                     "failures": sum(d.get("failed", 0) for d in data["deliveries"])},
        "workshops": [{**{k: w[k] for k in ("id", "number", "title", "seats", "accepted", "accepted_by_actor_group")},
                       "quotas": quotas.get(w["id"], {})} for w in data["workshops"]],
        "groups": GROUPS, "conflicts": conflicts, "failures": failures[-20:],
        "votes": [{"target_id": t["_id"], "workshop": sketch_titles.get(t["_id"], (None, None))[0],
                   "title": sketch_titles.get(t["_id"], (None, "Idee"))[1], "dots": t.get("dots", 0)} for t in tallies[:15]],
    }
