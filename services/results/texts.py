"""UI texts of the staff pages (capture, voting cards, site frame), German first, English via ?lang=en."""

from __future__ import annotations

SITE = {
    "de": {"site": "Themenforum – Ergebnisse", "skip": "Zum Inhalt springen", "areas": "Bereiche", "capture": "Erfassung",
           "dashboard": "Live-Übersicht", "reports": "Berichte", "footer": "Themenforum · Ruhr-Konferenz · Ergebnisse und Berichte",
           "other_lang": "English", "other_code": "en"},
    "en": {"site": "Themenforum – Results", "skip": "Skip to content", "areas": "Sections", "capture": "Capture",
           "dashboard": "Live overview", "reports": "Reports", "footer": "Themenforum · Ruhr-Konferenz · Results and reports",
           "other_lang": "Deutsch", "other_code": "de"},
}

GROUPS_EN = {"company": "Companies", "research": "Universities and research", "municipality": "Municipalities",
             "chamber": "Chambers and associations", "finance": "Finance and funding", "civil_society": "Civil society"}

NOTICES = {
    "de": {"idee": "Die Idee wurde gespeichert.", "cluster": "Die Idee wurde dem Cluster zugeordnet.",
           "skizze": "Die Projektskizze wurde gespeichert.", "final": "Die Ergebnisse wurden festgeschrieben.",
           "punkte": "Die Punktzahl wurde geändert.", "stimme": "Ihr Punkt wurde gezählt.",
           "geoeffnet": "Die Punktabfrage ist geöffnet; die Abstimmungslinks werden per E-Mail versendet."},
    "en": {"idee": "The idea was saved.", "cluster": "The idea was put into the cluster.",
           "skizze": "The project sketch was saved.", "final": "The results were finalised.",
           "punkte": "The dots per person were changed.", "stimme": "Your dot was counted.",
           "geoeffnet": "Dot voting is open; the voting links are being sent by e-mail."},
}

MODERATION = {
    "de": {
        "index_title": "Ergebniserfassung", "no_forum": "Noch keine Veranstaltung angelegt.", "view_report": "Ergebnisbericht ansehen",
        "all_workshops": "← Alle Workshops", "capture_suffix": "Ergebniserfassung", "result_version": "Ergebnisversion",
        "frozen_before": "Version", "frozen_after": "ist festgeschrieben; neue Einträge gehören zu Version",
        "ideas": "Ideen", "sketches": "Projektskizzen", "voters": "Stimmberechtigte",
        "check_input": "Bitte prüfen Sie Ihre Eingaben", "sections": "Abschnitte",
        "tab_idea": "Idee erfassen", "tab_ideas": "Ideen und Cluster", "tab_sketch": "Projektskizze", "tab_voting": "Punktabfrage",
        "tab_final": "Festschreiben",
        "idea_heading": "Idee erfassen", "idea_title": "Titel der Idee", "description": "Beschreibung", "optional": "optional",
        "tags": "Schlagworte", "comma": "durch Komma getrennt", "breakout_group": "Arbeitsgruppe", "cluster": "Themencluster",
        "actor_groups": "Beteiligte Akteursgruppen", "save_idea": "Idee speichern",
        "ideas_heading": "Ideen und Themencluster", "col_idea": "Idee", "col_cluster": "Cluster", "col_dots": "Punkte",
        "col_assign": "Zuordnen", "cluster_for": "Cluster für", "assign": "Zuordnen", "no_ideas": "Noch keine Ideen.",
        "sketch_new": "Projektskizze erfassen", "sketch_revise": "Projektskizze überarbeiten", "sketch_title": "Titel des Vorhabens",
        "problem": "Ausgangslage / Problem", "goal": "Ziel", "partners": "Partner nach Akteursgruppe", "timeline": "Zeitplan",
        "funding_need": "Finanzierungsbedarf in Euro", "instruments": "Passende Förderinstrumente", "next_steps": "Nächste Schritte",
        "contact": "Ansprechpartner", "contact_hint": "bleibt intern, erscheint nicht im Bericht",
        "grew_from": "Entstanden aus diesen Ideen", "save_revision": "Neue Fassung speichern", "save_sketch": "Projektskizze speichern",
        "by_dots": "Projektskizzen nach Punkten", "live": "(aktualisiert sich live)", "revision": "Fassung", "dots": "Punkte",
        "edit": "Bearbeiten",
        "voting_heading": "Punktabfrage", "voting_intro_before": "Jede zugelassene Person erhält einen persönlichen Abstimmungslink mit",
        "voting_intro_after": "Punkten.", "voting_closed": "Die Abstimmung ist beendet.",
        "voting_open": "Die Punktabfrage ist geöffnet; die Links wurden per E-Mail versendet. Wer nachrückt, erhält seinen Link automatisch.",
        "dots_per_person": "Punkte pro Person", "change": "Ändern",
        "open_voting": "Punktabfrage öffnen und Links per E-Mail versenden", "print_cards": "Stimmkarten mit Abstimmungslinks drucken",
        "final_heading": "Ergebnisse festschreiben", "final_before": "Festschreiben friert Version",
        "final_after": "ein und beendet die Punktabfrage. Spätere Änderungen gehören zu einer neuen Version.",
        "finalize_before": "Version", "finalize_after": "festschreiben",
        "cards_title": "Stimmkarten", "cards_lead": "Ein persönlicher Link je zugelassener Person. Bitte einzeln ausgeben; "
        "per E-Mail gehen die Links beim Öffnen der Punktabfrage hinaus.", "card": "Karte",
        "no_participants": "Noch keine zugelassenen Teilnehmenden.",
    },
    "en": {
        "index_title": "Results capture", "no_forum": "No event has been set up yet.", "view_report": "View the results report",
        "all_workshops": "← All workshops", "capture_suffix": "Results capture", "result_version": "Results version",
        "frozen_before": "Version", "frozen_after": "is finalised; new entries belong to version",
        "ideas": "ideas", "sketches": "project sketches", "voters": "eligible voters",
        "check_input": "Please check your entries", "sections": "Sections",
        "tab_idea": "Capture an idea", "tab_ideas": "Ideas and clusters", "tab_sketch": "Project sketch", "tab_voting": "Dot voting",
        "tab_final": "Finalise",
        "idea_heading": "Capture an idea", "idea_title": "Title of the idea", "description": "Description", "optional": "optional",
        "tags": "Tags", "comma": "separated by commas", "breakout_group": "Breakout group", "cluster": "Theme cluster",
        "actor_groups": "Actor groups involved", "save_idea": "Save idea",
        "ideas_heading": "Ideas and theme clusters", "col_idea": "Idea", "col_cluster": "Cluster", "col_dots": "Dots",
        "col_assign": "Assign", "cluster_for": "Cluster for", "assign": "Assign", "no_ideas": "No ideas yet.",
        "sketch_new": "Capture a project sketch", "sketch_revise": "Revise the project sketch", "sketch_title": "Title of the project",
        "problem": "Starting point / problem", "goal": "Goal", "partners": "Partners by actor group", "timeline": "Timeline",
        "funding_need": "Funding need in euros", "instruments": "Fitting funding instruments", "next_steps": "Next steps",
        "contact": "Contact person", "contact_hint": "stays internal, not shown in the report",
        "grew_from": "Grew from these ideas", "save_revision": "Save new revision", "save_sketch": "Save project sketch",
        "by_dots": "Project sketches by dots", "live": "(updates live)", "revision": "revision", "dots": "dots",
        "edit": "Edit",
        "voting_heading": "Dot voting", "voting_intro_before": "Every accepted participant gets a personal voting link with",
        "voting_intro_after": "dots.", "voting_closed": "Voting has ended.",
        "voting_open": "Dot voting is open; the links were sent by e-mail. People who move up get theirs automatically.",
        "dots_per_person": "Dots per person", "change": "Change",
        "open_voting": "Open dot voting and send the links by e-mail", "print_cards": "Print voting cards with the voting links",
        "final_heading": "Finalise the results", "final_before": "Finalising freezes version",
        "final_after": "and ends the dot voting. Later changes belong to a new version.",
        "finalize_before": "Finalise version", "finalize_after": "",
        "cards_title": "Voting cards", "cards_lead": "One personal link per accepted participant. Hand them out one by one; "
        "opening the dot voting sends the links by e-mail.", "card": "Card",
        "no_participants": "No accepted participants yet.",
    },
}
