"""A python-caldav session with journal entries (notes) against a Holdfast server; prints what it observed as JSON.

Usage: caldav_journal_scenario.py BASE_URL USERNAME APP_PASSWORD NOTES_COLLECTION_ID JOURNAL_FILE
The assertions live in python-caldav-notes.test.ts; this script only drives the client.
"""

import json
import sys

import caldav


def main():
    base, username, password, app_notes, journal_file = sys.argv[1:6]
    with open(journal_file, encoding="utf-8", newline="") as f:
        journal = f.read()
    out = {}
    client = caldav.DAVClient(url=base + "/dav/", username=username, password=password)
    principal = client.principal()

    # The notes collection the app made is a calendar of journal entries.
    existing = [c for c in principal.calendars() if str(c.url).rstrip("/").endswith("/" + app_notes)][0]
    out["app_components"] = existing.get_supported_components()
    entries = existing.journals()
    out["app_summaries"] = sorted(str(e.icalendar_component.get("SUMMARY")) for e in entries)
    out["app_descriptions"] = sorted(str(e.icalendar_component.get("DESCRIPTION")) for e in entries)

    # A journal calendar made by the client is a notes collection.
    notes = principal.make_calendar(name="Python Notes", cal_id="py-notes", supported_calendar_component_set=["VJOURNAL"])
    out["made_components"] = notes.get_supported_components()
    saved = notes.save_journal(journal)
    out["saved_url"] = str(saved.url)
    out["made_summaries"] = [str(e.icalendar_component.get("SUMMARY")) for e in notes.journals()]

    # An edit through CalDAV: a new title for the note the app made.
    entry = entries[0]
    entry.icalendar_component["SUMMARY"] = "Renamed over CalDAV"
    entry.save()
    out["renamed_url"] = str(entry.url)


    print(json.dumps(out))


if __name__ == "__main__":
    main()
