"""Schemathesis hooks for the two rules of this API that a JSON schema cannot state.

Both are in the operations' descriptions and answered with a 422 that names them; without these
hooks, a generated purchase dated after today, or a summary range running backwards or past 366
days, would count as "valid data rejected". They move such values into the documented bounds;
every other value reaches the API as generated.
"""

import datetime
import re

import schemathesis

DATE = re.compile(r"^20\d\d-\d\d-\d\d$")
MAX_SUMMARY_DAYS = 366


@schemathesis.hook
def map_body(context, body):
    # A purchase may be dated at most a day ahead of the server's clock: put later ones in 2020
    # (a leap year, so 29 February stays a day).
    if isinstance(body, dict) and isinstance(body.get("timestamp"), str):
        stamp = body["timestamp"]
        if re.match(r"^20\d\d-", stamp) and stamp[:4] >= str(datetime.date.today().year):
            body["timestamp"] = "2020" + stamp[4:]
    return body


@schemathesis.hook
def map_query(context, query):
    # A summary's range: `from` on or before `to`, at most 366 days in all.
    if not isinstance(query, dict):
        return query
    start, end = query.get("from"), query.get("to")
    if isinstance(start, str) and isinstance(end, str) and DATE.match(start) and DATE.match(end):
        first, last = sorted([start, end])
        try:
            span = datetime.date.fromisoformat(last) - datetime.date.fromisoformat(first)
        except ValueError:  # not a day (a negative case): leave it to be refused
            return query
        query["from"] = first
        query["to"] = last if span.days < MAX_SUMMARY_DAYS else first
    return query
