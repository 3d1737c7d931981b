"""The crisis desk: incidents, their response queue and their log, from alerts and mentions.

An incident of a brand opens with its first firing alert and ends when none of its alerts
fires any more. While it lasts the desk writes to its log (`pipeline.crisis_log`):

- every negative mention from someone who can be answered (its author is known) joins the
  response queue: one item per person and platform, answered there;
- every post of the brand's own handles is a `communication`; one that answers a queued
  mention marks its person `replied`, with the response time;
- every positive mention from someone else is a `defender`;
- every closed bucket is a `curve` point (volume, negatives, positives, mean sentiment);
- at the end, the `peak` bucket and the `resolved` summary (most shared authors included).

The desk is event-sourced: each change is an `Entry`, applied to the state and returned for
the log, and `restore` rebuilds the same state from the written log. Mentions seen in the hour
before an alert (kept in memory) join the incident when it opens, so the people who started it
are in the queue and the onset is on the curves. Time is event time, given by the caller.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pipeline.crisis_log import CrisisLog, Entry, LogEntry
from pipeline.engine import Admission, Scored
from pipeline.models import AlertEvent, Mention, iso_utc
from pipeline.sentiment import POSITIVE_COMPOUND, SentimentRouter

Status = Literal["open", "replied", "skipped"]
STATUSES: tuple[Status, ...] = ("open", "replied", "skipped")
TEXT_CHARS = 280
TOP_SHARED = 10


def person_of(mention: Mention) -> str | None:
    """Who to answer, as `source:author id`; None when the source does not say."""
    return f"{mention.source}:{mention.author.id}" if mention.author else None


@dataclass(frozen=True, slots=True)
class Seen:
    """A mention as the desk keeps it."""

    mention: Mention
    compound: float
    negative: bool
    own: bool


def seen_of(scored: Scored, scorer: SentimentRouter) -> Seen | None:
    """What the desk takes of a mention the engine was given: counted, late (still someone to
    answer) or the brand's own; not duplicates, nor mentions the engine rejected."""
    if scored.admission not in (Admission.ACCEPTED, Admission.LATE, Admission.OWN):
        return None
    mention = scored.mention
    polarity = scored.polarity or scorer.polarity(mention.text, mention.lang)
    own = scored.admission is Admission.OWN
    return Seen(mention, polarity.compound, not own and scorer.is_negative(polarity), own)


@dataclass
class QueueItem:
    """One person to answer individually, on the platform where they posted."""

    person: str
    source: str
    author: str
    name: str | None
    followers: int
    follows_brand: bool
    reach: int  # followers plus the engagement of their most engaging mention
    mentions: list[str]  # ids of their negative mentions, in order
    first_at: str
    last_text: str
    last_url: str | None
    status: Status = "open"
    troll_suspected: bool = False
    reply: str | None = None  # the brand's answer, when it was detected
    response_seconds: int | None = None
    note: str | None = None

    def rank(self) -> tuple[bool, bool, bool, int, str, str]:
        """Open first, suspected trolls last; followers of the brand first, then by reach."""
        return (
            self.status != "open",
            self.troll_suspected,
            not self.follows_brand,
            -self.reach,
            self.first_at,
            self.person,
        )


@dataclass
class Incident:
    """One brand's incident: its alerts, queue and what has been logged."""

    id: str
    brand: str
    opened_at: str
    critical: bool = False
    alerts: dict[str, str] = field(default_factory=dict)  # alert id -> state
    opening: dict[str, Any] = field(default_factory=dict)  # the first alert event
    queue: dict[str, QueueItem] = field(default_factory=dict)
    queued: dict[str, str] = field(default_factory=dict)  # mention id -> person
    queued_at: dict[str, str] = field(default_factory=dict)  # mention id -> created_at
    trolls: set[str] = field(default_factory=set)
    communications: set[str] = field(default_factory=set)
    defenders: set[str] = field(default_factory=set)
    shared: dict[str, list[Any]] = field(default_factory=dict)  # person -> [reach, name, n]
    curve: dict[int, list[float]] = field(default_factory=dict)  # open buckets
    logged_buckets: set[int] = field(default_factory=set)
    peak: dict[str, Any] | None = None
    resolved_at: str | None = None

    @property
    def active(self) -> bool:
        return self.resolved_at is None

    def ordered_queue(self) -> list[QueueItem]:
        return sorted(self.queue.values(), key=QueueItem.rank)

    def summary(self) -> dict[str, Any]:
        counts = {status: 0 for status in STATUSES}
        for item in self.queue.values():
            counts[item.status] += 1
        return {
            "id": self.id,
            "brand": self.brand,
            "opened_at": self.opened_at,
            "resolved_at": self.resolved_at,
            "critical": self.critical,
            "alerts": dict(self.alerts),
            "queue": counts,
            "communications": len(self.communications),
            "defenders": len(self.defenders),
            "holding_statement": self.opening.get("holding_statement"),
            "explanation": self.opening.get("explanation"),
        }


class Desk:
    """Incidents of every brand; feed it alerts and mentions in (roughly) event-time order."""

    def __init__(
        self,
        bucket_seconds: int = 300,
        lateness_seconds: int = 60,
        lookback_seconds: int = 3600,
        max_queue: int = 2000,
        max_defenders: int = 500,
        max_lookback_mentions: int = 2000,
    ) -> None:
        self.bucket_seconds = bucket_seconds
        self.lateness_seconds = lateness_seconds
        self.lookback_seconds = lookback_seconds
        self.max_queue = max_queue
        self.max_defenders = max_defenders
        self.max_lookback_mentions = max_lookback_mentions
        self.incidents: dict[str, Incident] = {}
        self.open: dict[str, str] = {}  # brand -> its open incident
        self.recent: dict[str, deque[Seen]] = {}  # brand -> the last hour's mentions

    # --- input ---------------------------------------------------------------------------

    def on_alert(self, event: AlertEvent) -> list[Entry]:
        """An alert event: opens, joins or (with its last alert) resolves an incident."""
        incident_id = self.open.get(event.brand)
        data = event.to_dict()
        if event.state == "firing":
            if incident_id is None:
                incident_id = event.id
                if incident_id in self.incidents:  # already opened (a redelivery)
                    return []
                entries = [self._apply(Entry(incident_id, "opened", event.at, data))]
                start = event.explanation.window_start if event.explanation else event.started_at
                for seen in self.recent.get(event.brand, ()):
                    if seen.mention.created_at >= start:
                        entries += self._mention(self.incidents[incident_id], seen)
                return entries
            incident = self.incidents[incident_id]
            if event.id in incident.alerts:
                return []
            return [self._apply(Entry(incident_id, "alert", event.at, data))]
        if incident_id is None:
            return []
        incident = self.incidents[incident_id]
        if incident.alerts.get(event.id) != "firing":
            return []
        entries = [self._apply(Entry(incident_id, "alert", event.at, data))]
        if all(state == "resolved" for state in incident.alerts.values()):
            entries += self._close(incident, event.at)
        return entries

    def on_mention(self, seen: Seen) -> list[Entry]:
        """A mention of a brand (`own`: written by one of its handles)."""
        mention = seen.mention
        if mention.brand is None:
            return []
        recent = self.recent.setdefault(mention.brand, deque(maxlen=self.max_lookback_mentions))
        recent.append(seen)
        horizon = mention.created_at.timestamp() - self.lookback_seconds - self.lateness_seconds
        while recent and recent[0].mention.created_at.timestamp() < horizon:
            recent.popleft()
        incident_id = self.open.get(mention.brand)
        if incident_id is None:
            return []
        return self._mention(self.incidents[incident_id], seen)

    def mark(
        self, incident_id: str, person: str, status: Status, at: datetime, by: str, note: str = ""
    ) -> Entry:
        """Set a queued person's reply status (by a person at the desk, the CLI or HTTP)."""
        incident = self.incidents.get(incident_id)
        if incident is None:
            raise KeyError(f"no incident {incident_id}")
        if person not in incident.queue:
            raise KeyError(f"{person} is not in the queue of incident {incident_id}")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        data = {"person": person, "status": status, "by": by, "note": note[:500]}
        return self._apply(Entry(incident_id, "status", at, data))

    def restore(self, entries: Iterable[LogEntry]) -> None:
        """Rebuild the state from written log entries (each incident's in order)."""
        for entry in entries:
            self._apply(Entry(entry.incident, entry.kind, entry.at, entry.data))

    def queue(self, incident_id: str) -> list[QueueItem]:
        return self.incidents[incident_id].ordered_queue()

    # --- what a mention does to an open incident -------------------------------------------

    def _mention(self, incident: Incident, seen: Seen) -> list[Entry]:
        mention = seen.mention
        entries = self._curve(incident, seen)
        at = mention.created_at
        shown = _shown(seen)
        if seen.own:
            if mention.id not in incident.communications:
                entries.append(self._apply(Entry(incident.id, "communication", at, shown)))
                answered = incident.queued.get(mention.in_reply_to or "")
                if answered is not None and incident.queue[answered].status == "open":
                    asked = datetime.fromisoformat(incident.queued_at[mention.in_reply_to or ""])
                    reply = {
                        "person": answered,
                        "mention": mention.in_reply_to,
                        "reply": mention.id,
                        "response_seconds": int((at - asked).total_seconds()),
                    }
                    entries.append(self._apply(Entry(incident.id, "reply", at, reply)))
            return entries
        person = person_of(mention)
        if person is None:
            return entries
        if seen.negative and mention.id not in incident.queued:
            if person in incident.queue or len(incident.queue) < self.max_queue:
                entries.append(self._apply(Entry(incident.id, "queued", at, shown)))
        elif (
            seen.compound >= POSITIVE_COMPOUND
            and mention.id not in incident.defenders
            and len(incident.defenders) < self.max_defenders
        ):
            entries.append(self._apply(Entry(incident.id, "defender", at, shown)))
        return entries

    def _curve(self, incident: Incident, seen: Seen) -> list[Entry]:
        """Count the mention in its bucket; log the buckets the stream has moved past."""
        stamp = int(seen.mention.created_at.timestamp())
        start = stamp - stamp % self.bucket_seconds
        if start not in incident.logged_buckets:
            point = incident.curve.setdefault(start, [0, 0, 0, 0.0])
            point[0] += 1
            point[1] += seen.negative
            point[2] += seen.compound >= POSITIVE_COMPOUND
            point[3] += seen.compound
        done = stamp - self.lateness_seconds
        return [
            self._apply(self._point(incident, bucket))
            for bucket in sorted(incident.curve)
            if bucket + self.bucket_seconds <= done
        ]

    def _point(self, incident: Incident, start: int) -> Entry:
        volume, negatives, positives, total = incident.curve[start]
        data = {
            "start": iso_utc(_utc(start)),
            "seconds": self.bucket_seconds,
            "volume": int(volume),
            "negatives": int(negatives),
            "positives": int(positives),
            "mean_compound": round(total / volume, 4) if volume else 0.0,
        }
        return Entry(incident.id, "curve", _utc(start + self.bucket_seconds), data)

    def _close(self, incident: Incident, at: datetime) -> list[Entry]:
        entries = [self._apply(self._point(incident, start)) for start in sorted(incident.curve)]
        if incident.peak is not None:
            entries.append(self._apply(Entry(incident.id, "peak", at, incident.peak)))
        shared = sorted(incident.shared.items(), key=lambda item: (-item[1][0], item[0]))
        summary = {
            "queue": incident.summary()["queue"],
            "communications": len(incident.communications),
            "defenders": len(incident.defenders),
            "most_shared": [
                {"person": person, "reach": reach, "name": name, "mentions": count}
                for person, (reach, name, count) in shared[:TOP_SHARED]
            ],
        }
        entries.append(self._apply(Entry(incident.id, "resolved", at, summary)))
        return entries

    # --- the state, as the entries make it -------------------------------------------------

    def _apply(self, entry: Entry) -> Entry:
        data, kind = entry.data, entry.kind
        if kind == "opened":
            incident = Incident(entry.incident, data["brand"], iso_utc(entry.at))
            self.incidents[entry.incident] = incident
            self.open[incident.brand] = incident.id
            incident.opening = data
        incident = self.incidents[entry.incident]
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, incident, entry)
        return entry

    def _on_alert(self, incident: Incident, entry: Entry) -> None:
        data = entry.data
        incident.alerts[data["id"]] = data["state"]
        incident.critical |= data["severity"] == "critical"
        explanation = data.get("explanation") or {}
        if explanation.get("troll_suspected"):
            for account in explanation.get("top_accounts", ()):
                if account["negatives"] >= 3:
                    incident.trolls.add(f"{account['source']}:{account['author']}")
            for person in incident.trolls & incident.queue.keys():
                incident.queue[person].troll_suspected = True

    def _on_queued(self, incident: Incident, entry: Entry) -> None:
        data = entry.data
        person = f"{data['source']}:{data['author']}"
        item = incident.queue.get(person)
        if item is None:
            item = incident.queue[person] = QueueItem(
                person=person,
                source=data["source"],
                author=data["author"],
                name=data["author_name"],
                followers=data["followers"],
                follows_brand=bool(data["follows_brand"]),
                reach=data["reach"],
                mentions=[],
                first_at=data["created_at"],
                last_text=data["text"],
                last_url=data["url"],
                troll_suspected=person in incident.trolls,
            )
        item.mentions.append(data["id"])
        item.reach = max(item.reach, data["reach"])
        item.last_text, item.last_url = data["text"], data["url"]
        item.follows_brand |= bool(data["follows_brand"])
        if item.status == "replied":  # they wrote again after the answer
            item.status = "open"
        incident.queued[data["id"]] = person
        incident.queued_at[data["id"]] = data["created_at"]
        self._share(incident, data)

    def _on_communication(self, incident: Incident, entry: Entry) -> None:
        incident.communications.add(entry.data["id"])

    def _on_reply(self, incident: Incident, entry: Entry) -> None:
        item = incident.queue[entry.data["person"]]
        item.status = "replied"
        item.reply = entry.data["reply"]
        item.response_seconds = entry.data["response_seconds"]

    def _on_status(self, incident: Incident, entry: Entry) -> None:
        item = incident.queue[entry.data["person"]]
        item.status = entry.data["status"]
        item.note = entry.data["note"] or item.note

    def _on_defender(self, incident: Incident, entry: Entry) -> None:
        incident.defenders.add(entry.data["id"])
        self._share(incident, entry.data)

    def _on_curve(self, incident: Incident, entry: Entry) -> None:
        start = int(datetime.fromisoformat(entry.data["start"]).timestamp())
        incident.curve.pop(start, None)
        incident.logged_buckets.add(start)
        if incident.peak is None or entry.data["volume"] > incident.peak["volume"]:
            incident.peak = dict(entry.data)

    def _on_resolved(self, incident: Incident, entry: Entry) -> None:
        incident.resolved_at = iso_utc(entry.at)
        if self.open.get(incident.brand) == incident.id:
            del self.open[incident.brand]

    @staticmethod
    def _share(incident: Incident, data: dict[str, Any]) -> None:
        person = f"{data['source']}:{data['author']}"
        shared = incident.shared.setdefault(person, [0, data["author_name"], 0])
        shared[0] = max(shared[0], data["reach"])
        shared[2] += 1


_HANDLERS = {
    "opened": Desk._on_alert,
    "alert": Desk._on_alert,
    "queued": Desk._on_queued,
    "communication": Desk._on_communication,
    "reply": Desk._on_reply,
    "status": Desk._on_status,
    "defender": Desk._on_defender,
    "curve": Desk._on_curve,
    "resolved": Desk._on_resolved,
}


def _shown(seen: Seen) -> dict[str, Any]:
    """A mention as its log entry holds it."""
    mention = seen.mention
    author = mention.author
    followers = (author.followers or 0) if author else 0
    return {
        "id": mention.id,
        "created_at": iso_utc(mention.created_at),
        "source": mention.source,
        "author": author.id if author else None,
        "author_name": author.name if author else None,
        "followers": followers,
        "follows_brand": bool(author and author.follows_brand),
        "engagement": mention.engagement or 0,
        "reach": followers + (mention.engagement or 0),
        "compound": round(seen.compound, 4),
        "text": mention.text[:TEXT_CHARS],
        "url": mention.url,
        "in_reply_to": mention.in_reply_to,
    }


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def item_dict(item: QueueItem) -> dict[str, Any]:
    return asdict(item)


class LoggedDesk:
    """A desk whose every entry is appended to a crisis log, restored from it at start."""

    def __init__(self, log: CrisisLog, desk: Desk) -> None:
        self.log = log
        self.desk = desk
        for incident in log.incidents():
            desk.restore(log.read(incident))

    def on_alert(self, event: AlertEvent) -> None:
        self.log.append(self.desk.on_alert(event))

    def on_mention(self, seen: Seen | None) -> None:
        if seen is not None:
            self.log.append(self.desk.on_mention(seen))

    def mark(
        self, incident: str, person: str, status: Status, at: datetime, by: str, note: str = ""
    ) -> LogEntry:
        (written,) = self.log.append([self.desk.mark(incident, person, status, at, by, note)])
        return written
