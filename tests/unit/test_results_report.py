"""The report renders from plain data: HTML with SVG charts, CSV, and (when WeasyPrint works) PDF."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import pytest

from services.results import charts, report


def data():
    return {
        "forum": {"id": "f", "title": "Themenforum 2: Innovationen", "starts_on": "2027-03-25", "venue": "Essen", "organiser": "Agentur"},
        "summary": {"workshops": 1, "registrations": 3, "accepted": 2, "ideas": 2, "sketches": 1, "dots": 4, "finalized_workshops": 1,
                    "notifications_sent": 3, "notifications_failed": 0},
        "workshops": [{
            "id": "ws1", "number": 1, "title": "Fördermittel: Zugang, Förderprodukte und Beratung", "seats": 30, "accepted": 2,
            "registered_first_choice": 3, "accepted_by_actor_group": {"company": 1, "research": 1}, "open_conflicts": 0,
            "agenda": {"version": 2, "published_at": "2027-03-01T10:00:00+00:00", "items": [
                {"starts_at": "2027-03-25T08:30:00+00:00", "ends_at": "2027-03-25T09:00:00+00:00", "title": "Begrüßung", "kind": "welcome", "room": "Saal"}]},
            "results_version": {"version": 1, "finalized_at": "2027-03-25T15:00:00+00:00"},
            "clusters": [{"name": "Beratung", "ideas": [{"id": "i1", "title": "Förderlotsen", "text": "", "tags": [], "actor_groups": ["company"]}]}],
            "sketches": [{"rank": 1, "id": "s1", "title": "Lotsennetz Ruhr", "problem": "P", "goal": "Z", "partners": ["finance"],
                          "timeline": "2027", "funding_need_eur": 250000, "funding_instruments": ["NRW.BANK"], "next_steps": "N",
                          "trail": {"ideas": [{"id": "i1", "title": "Förderlotsen", "dots": 1}], "dots": 4, "voters": 2, "votes": 3}}],
        }],
        "participation": {"by_workshop": {"ws1": {"registered": 3, "accepted": 2}}, "by_actor_group": {"company": {"registered": 2, "accepted": 1}},
                          "by_municipality": {"Essen": {"registered": 3, "accepted": 2}}, "registered": 3, "accepted": 2},
        "selection": {"accepted": 2, "waitlisted": 0, "first_choice_rate": 1.0, "waitlist_moves": 1},
        "deliveries": [{"forum_id": "f", "template": "t", "sent": 3}],
    }


def test_the_html_report_is_german_with_charts_agenda_and_the_trail():
    html = report.render_html(None, data())
    assert "Ergebnisbericht" in html and "25.03.2027" in html and "09:30–10:00" in html
    assert html.count("<svg") == 3 and "250.000 €" in html
    assert "Workshop 1: <strong>Lotsennetz Ruhr</strong> (4 Punkte)" in html
    assert "Entstanden aus: „Förderlotsen“ (1 Punkte)" in html and "4 Punkte von 2 Teilnehmenden" in html


def test_the_csv_has_a_header_and_one_row_per_figure():
    text = report.to_csv(data())
    assert text.startswith("\ufeffabschnitt;workshop;kategorie;bezeichnung;wert")
    assert "projektskizze;Fördermittel: Zugang, Förderprodukte und Beratung;rang 1;Lotsennetz Ruhr;4" in text


def test_charts_escape_labels_and_scale_to_the_largest_value():
    svg = charts.bar_chart("T <x>", [("A & B", 5, 10), ("C", 10, None)])
    assert "A &amp; B" in svg and "T &lt;x&gt;" in svg and 'role="img"' in svg


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (Debian poppler-utils) is not installed")
def test_the_pdf_renders_and_names_forum_workshop_and_sketch(tmp_path):
    try:
        pdf = asyncio.run(report.to_pdf(data()))
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"WeasyPrint cannot render here: {exc}")
    (tmp_path / "r.pdf").write_bytes(pdf)
    text = " ".join(subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, check=True).stdout.split())
    for title in ("Themenforum 2: Innovationen", "Fördermittel: Zugang, Förderprodukte und Beratung", "Lotsennetz Ruhr"):
        assert title in text
