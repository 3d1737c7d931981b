"""A community manager for synthetic streams: the brand's statement and individual answers.

`answer` adds to a generated stream what a brand's team posts during a crisis, from its handle:
a public holding statement, then answers to some of the negative mentions, each on the
platform of the mention it answers (`in_reply_to`), after a delay. It also marks a share of
the authors as followers of the brand and gives posts an engagement count, which the
generator leaves out. Seeded: the same arguments give the same stream.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from random import Random

from pipeline.models import Author, Mention
from pipeline.sentiment import SentimentRouter

ANSWERS = {
    "fr": "@{user} Bonjour, nous sommes vraiment désolés. Pouvez-vous nous écrire en privé ? "
    "Nous voulons comprendre et vous aider.",
    "en": "@{user} Hi, we are truly sorry about this. Could you send us a private message? "
    "We want to understand and help.",
}
STATEMENT = {
    "fr": "Nous avons vu vos messages. Nous vérifions ce qui s'est passé et revenons vers vous "
    "ici très vite.",
    "en": "We have seen your messages. We are looking into what happened and will update you "
    "here very soon.",
}


def answer(
    mentions: Iterable[Mention],
    brand: str,
    handle: str,
    start: datetime,
    *,
    answers: int = 20,
    statement_after: timedelta = timedelta(minutes=30),
    delays_minutes: tuple[float, float] = (5.0, 120.0),
    follower_share: float = 0.2,
    seed: int = 0,
) -> list[Mention]:
    """The stream with the brand's posts added, sorted by `created_at`.

    From `start`, the first `answers` negative mentions of `brand` with an author get an answer
    after a delay drawn uniformly in `delays_minutes`; the statement comes `statement_after`
    `start`, in the language most of those mentions use.
    """
    rng = Random(f"{seed}/answers/{brand}")
    router = SentimentRouter()
    team = Author(id=handle, name=handle, followers=5_000)
    out: list[Mention] = []
    posts: list[Mention] = []
    followers: dict[str, bool] = {}
    languages: dict[str, int] = {}
    for mention in mentions:
        author = mention.author
        if mention.brand == brand and author is not None:
            follows = followers.setdefault(author.id, rng.random() < follower_share)
            engagement = int(rng.paretovariate(1.5)) - 1
            mention = mention.model_copy(
                update={
                    "engagement": engagement,
                    "author": author.model_copy(update={"follows_brand": follows}),
                }
            )
            polarity, lang = router.judged(mention.text, mention.lang)
            if (
                mention.created_at >= start
                and len(posts) < answers
                and router.is_negative(polarity)
            ):
                lang = lang if lang in ANSWERS else "en"
                languages[lang] = languages.get(lang, 0) + 1
                delay = timedelta(minutes=rng.uniform(*delays_minutes))
                posts.append(
                    Mention(
                        id=f"{mention.id}-answer",
                        created_at=mention.created_at + delay,
                        text=ANSWERS[lang].format(user=author.id),
                        brand=brand,
                        lang=lang,
                        source=mention.source,
                        author=team,
                        in_reply_to=mention.id,
                    )
                )
        out.append(mention)
    lang = max(sorted(languages), key=lambda code: languages[code], default="en")
    statement = Mention(
        id=f"{handle.lstrip('@')}-statement",
        created_at=start + statement_after,
        text=STATEMENT[lang],
        brand=brand,
        lang=lang,
        source="twitter",
        author=team,
    )
    return sorted([*out, *posts, statement], key=lambda m: m.created_at)
