"""The CSV report of a broadcast: one line per recipient."""

import csv

from django.http import StreamingHttpResponse
from django.utils.text import slugify

from messaging.broadcasts.selectors import broadcast_recipients
from messaging.models import Broadcast, RecipientStatus

HEADER = ["name", "phone", "status", "reason", "sent_at"]
STATUS_WORDS = dict(RecipientStatus.choices)


class _Echo:
    def write(self, value):
        return value


def _safe(value: str) -> str:
    # A spreadsheet must not run a cell as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def broadcast_report_lines(broadcast: Broadcast):
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(HEADER)
    for recipient in broadcast_recipients(broadcast).iterator(chunk_size=2000):
        yield writer.writerow(
            [
                _safe(recipient.contact.name if recipient.contact else ""),
                recipient.phone,
                STATUS_WORDS.get(recipient.status, recipient.status),
                recipient.error_code,
                recipient.sent_at.isoformat() if recipient.sent_at else "",
            ]
        )


def broadcast_report_response(broadcast: Broadcast) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        broadcast_report_lines(broadcast), content_type="text/csv; charset=utf-8"
    )
    name = slugify(broadcast.name)[:60] or "broadcast"
    response["Content-Disposition"] = f'attachment; filename="broadcast-{broadcast.pk}-{name}.csv"'
    return response
