"""A python-caldav session against a Holdfast server; prints what it observed as JSON.

Usage: caldav_scenario.py BASE_URL USERNAME APP_PASSWORD
The assertions live in python-caldav.test.ts; this script only drives the client.
"""

import json
import sys
from datetime import datetime, timezone

import caldav

WEEKLY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Holdfast//python-caldav check//EN
BEGIN:VEVENT
UID:py-weekly
DTSTAMP:20260101T000000Z
DTSTART:20260302T090000Z
DTEND:20260302T100000Z
RRULE:FREQ=WEEKLY;COUNT=4
SUMMARY:Weekly planning
END:VEVENT
END:VCALENDAR
"""

SINGLE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Holdfast//python-caldav check//EN
BEGIN:VEVENT
UID:py-single
DTSTAMP:20260101T000000Z
DTSTART:20260601T120000Z
DTEND:20260601T130000Z
SUMMARY:Dentist
END:VEVENT
END:VCALENDAR
"""

TODO = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Holdfast//python-caldav check//EN
BEGIN:VTODO
UID:py-todo
DTSTAMP:20260101T000000Z
DUE:20260310T170000Z
SUMMARY:File taxes
STATUS:NEEDS-ACTION
END:VTODO
END:VCALENDAR
"""


def utc(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


def uids(objects):
    return sorted(str(o.icalendar_component.get("UID")) for o in objects)


def main():
    base, username, password = sys.argv[1:4]
    out = {}
    client = caldav.DAVClient(url=base + "/dav/", username=username, password=password)
    principal = client.principal()
    out["principal"] = str(principal.url)

    calendar = principal.make_calendar(name="Python Calendar", cal_id="py-cal")
    out["calendar_url"] = str(calendar.url)
    out["components"] = calendar.get_supported_components()

    calendar.save_event(WEEKLY)
    single = calendar.save_event(SINGLE)

    out["all_events"] = uids(calendar.events())
    out["third_week"] = uids(calendar.search(start=utc(2026, 3, 16), end=utc(2026, 3, 17), event=True))
    out["after_series"] = uids(calendar.search(start=utc(2026, 3, 30), end=utc(2026, 3, 31), event=True))
    expanded = calendar.search(start=utc(2026, 3, 1), end=utc(2026, 4, 1), event=True, expand=True)
    out["expanded_instances"] = len(expanded)
    # python-caldav expands on the client only when the server sent RRULEs back: this shows the server expanded.
    unsplit = calendar.search(start=utc(2026, 3, 1), end=utc(2026, 4, 1), event=True, expand=True, split_expanded=False)
    out["server_expanded"] = [("RRULE" not in o.data, o.data.count("BEGIN:VEVENT")) for o in unsplit]
    out["by_uid"] = str(calendar.event_by_uid("py-weekly").icalendar_component.get("SUMMARY"))

    synced = calendar.objects_by_sync_token(load_objects=True)
    out["initial_sync"] = len(list(synced))
    single.delete()
    weekly = calendar.event_by_uid("py-weekly")
    weekly.icalendar_component["SUMMARY"] = "Weekly planning (moved)"
    weekly.save()
    updated, deleted = synced.sync()
    out["sync_updated"] = [str(o.url).rsplit("/", 1)[-1] for o in updated]
    out["sync_deleted"] = [str(o.url).rsplit("/", 1)[-1] for o in deleted]

    tasks = principal.make_calendar(name="Python Tasks", cal_id="py-tasks", supported_calendar_component_set=["VTODO"])
    out["task_components"] = tasks.get_supported_components()
    tasks.save_todo(TODO)
    out["pending_todos"] = uids(tasks.todos())
    out["calendar_names"] = sorted(c.get_display_name() for c in principal.calendars())

    print(json.dumps(out))


if __name__ == "__main__":
    main()
