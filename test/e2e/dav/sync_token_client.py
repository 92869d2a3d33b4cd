"""A sync-token CardDAV/CalDAV client that syncs the way DAVx5 does; prints what it did as JSON.

Usage: sync_token_client.py STATE_FILE BASE_URL USERNAME APP_PASSWORD COLLECTION_PATH...

Each collection is synced with a sync-collection REPORT carrying the stored token. When the server
refuses the token (403 valid-sync-token), the client lists the collection from scratch and deletes
every local item the listing does not name, as DAVx5 and most sync-token clients do. A failed
request (503 while the server recovers) changes nothing locally; the next run retries.
The local copy (hrefs, ETags and content) lives in STATE_FILE.
"""

import json
import os
import sys
import xml.etree.ElementTree as ET
from urllib.parse import urljoin

import caldav
import requests
from caldav.lib import error

DAV = "{DAV:}"


def report_body(token):
    token_element = f"<d:sync-token>{token}</d:sync-token>" if token else "<d:sync-token/>"
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<d:sync-collection xmlns:d="DAV:">'
        f"{token_element}<d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop>"
        "</d:sync-collection>"
    )


def sync_report(client, url, token):
    """(status, token, {href: etag or None for removed}) of one sync-collection REPORT."""
    response = client.request(url, "REPORT", report_body(token), {"Content-Type": "application/xml; charset=utf-8"})
    if response.status != 207:
        return response.status, None, {}
    root = ET.fromstring(response.raw)
    changes = {}
    for item in root.findall(f"{DAV}response"):
        href = item.findtext(f"{DAV}href")
        status = item.findtext(f"{DAV}status") or ""
        etag = item.findtext(f".//{DAV}getetag")
        if href.endswith("/"):
            continue
        changes[href] = None if " 404 " in status else etag
    return 207, root.findtext(f"{DAV}sync-token"), changes


def sync_collection(client, base, path, local):
    url = urljoin(base, path)
    full = local.get("token") is None
    try:
        status, token, changes = sync_report(client, url, local.get("token"))
    except error.AuthorizationError:
        # 403 DAV:valid-sync-token: list from scratch.
        full = True
        status, token, changes = sync_report(client, url, None)
    if status != 207:
        return {"status": status}
    items = dict(local.get("items", {}))
    deleted = []
    if full:
        listed = {href for href, etag in changes.items() if etag is not None}
        deleted = sorted(href for href in items if href not in listed)
    else:
        deleted = sorted(href for href, etag in changes.items() if etag is None and href in items)
    fetched = {}
    for href, etag in changes.items():
        if etag is None or items.get(href, {}).get("etag") == etag:
            continue
        got = client.request(urljoin(base, href), "GET")
        if got.status != 200:
            return {"status": got.status}
        fetched[href] = {"etag": etag, "data": got.raw if isinstance(got.raw, str) else got.raw.decode()}
    # Applied only once the whole collection has been read, like a sync that commits at its end.
    for href in deleted:
        items.pop(href, None)
    items.update(fetched)
    local["items"] = items
    local["token"] = token
    return {"status": 207, "full": full, "deleted": deleted, "fetched": len(fetched), "count": len(items)}


def main():
    state_file, base, username, password, *paths = sys.argv[1:]
    state = {"collections": {}}
    if os.path.exists(state_file):
        with open(state_file, encoding="utf-8") as f:
            state = json.load(f)
    # Credentials on every request, as DAVx5 sends them once it knows the server wants Basic.
    client = caldav.DAVClient(url=base, auth=requests.auth.HTTPBasicAuth(username, password))
    report = {}
    for path in paths:
        local = state["collections"].setdefault(path, {"token": None, "items": {}})
        report[path] = sync_collection(client, base, path, local)
    with open(state_file, "w", encoding="utf-8") as f:
        json.dump(state, f)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
