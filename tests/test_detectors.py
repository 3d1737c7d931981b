import math
import random
from datetime import timedelta

import pytest

from pipeline.backtest import backtest
from pipeline.baseline import DailyPeaks, Ewma
from pipeline.detectors import Window, WindowNoise, judge, window_tail
from pipeline.engine import BucketReport, Engine
from pipeline.settings import DetectionSettings
from tests.helpers import ANGRY_TEXT, T0, mention, stream
from tests.test_engine import run

BUCKETS_PER_DAY = 288


def test_daily_peaks_largest_is_the_record_of_the_previous_days() -> None:
    peaks = DailyPeaks(days=3)
    for day, value in [(0, 90.0), (1, 12.0), (2, 30.0), (2, 5.0), (4, 70.0)]:
        peaks.observe(day, value)
    assert peaks.largest(today=4) == 30.0  # day 0 is too old, today does not count yet
    assert peaks.largest(today=5) == 70.0
    assert DailyPeaks(3).largest(today=4) == 0.0


def test_daily_peaks_keeps_its_answer_only_while_no_row_it_depends_on_changes() -> None:
    rng = random.Random(7)
    kept, fresh = DailyPeaks(days=3), DailyPeaks(days=3)
    day = 0
    for _ in range(3000):  # days mostly move forward, sometimes back; values up and down
        day = max(0, day + rng.choice((0, 0, 0, 1, 1, 2, -1)))
        if rng.random() < 0.5:
            value = rng.uniform(0, 100)
            kept.observe(day, value)
            fresh.observe(day, value)
        today = day + rng.choice((0, 0, 1, 2, 5))
        assert kept.largest(today) == DailyPeaks(3, fresh.state()).largest(today)


def _hourly_surge(counts: list[int], day: int, size: int) -> None:
    """Add `size` mentions an hour for three hours from 14:00 on `day`."""
    start = day * BUCKETS_PER_DAY + 168
    for i in range(start, start + 36):
        counts[i] += size // 12


def test_a_surge_much_smaller_than_the_brands_recent_news_does_not_page() -> None:
    # around 600 mentions an hour; a launch brings 7,200 more an hour on day 2, then
    # surges bring 1,200 more an hour on day 5 (23 % of the launch's hour: under the 50 %
    # floor) and 4,500 more on day 8 (65 %)
    counts = _noisy_days(10)
    for day, size in ((2, 7200), (5, 1200), (8, 4500)):
        _hourly_surge(counts, day, size)
    assert _burst_days(counts, DetectionSettings()) == [2, 8]
    no_record = DetectionSettings(volume={"min_count": 6, "record_share": 0})
    assert _burst_days(counts, no_record) == [2, 5, 8]


def test_each_window_floor_must_be_reached_for_the_window_to_fire() -> None:
    settings = DetectionSettings()
    noise = WindowNoise(rate=0.01, buckets=1)
    surge = Window(12, 4000.0, 100.0, noise)

    def fires(floor: float) -> bool:
        return judge(settings.volume, settings, [surge], warm=True, floors=[floor]).fires

    assert fires(0.0) and fires(4000.0)
    assert not fires(4001.0)


def _noisy_days(days: int) -> list[int]:
    """Counts per 5 minutes around 50."""
    rnd = random.Random(3)
    return [int(rnd.gauss(50, 7)) for _ in range(days * BUCKETS_PER_DAY)]


def _burst_days(counts: list[int], settings: DetectionSettings) -> list[int]:
    rows = ((T0 + timedelta(minutes=5 * i), c) for i, c in enumerate(counts))
    fired = [i for i, row in enumerate(backtest(rows, settings)) if row.anomaly_score == 1.0]
    return [i // BUCKETS_PER_DAY for i in fired]


def test_a_crisis_does_not_blind_a_small_brand_to_the_next_ones() -> None:
    # a mention every 2 hours, then 12 angry ones an hour at 10:00 on three days in a row
    calm = [mention(m, "nice bread", brand="bakery") for m in range(0, 6 * 24 * 60, 120)]
    crises = [
        mention(day * 24 * 60 + 600 + 5 * i, ANGRY_TEXT, brand="bakery", id=f"c{day}-{i}")
        for day in (2, 3, 4)
        for i in range(12)
    ]

    def firings(settings: DetectionSettings) -> list[str]:
        events = run(calm + crises, Engine(settings))
        firing = [e for e in events if e.state == "firing" and e.kind == "negative"]
        return [e.at.strftime("%d %H:%M") for e in firing]

    fired = firings(DetectionSettings())
    assert [at[:2] for at in fired] == ["04", "05", "06"]  # each crisis, once
    assert all("10:00" < at[3:] <= "10:45" for at in fired)  # within 45 minutes of onset
    # with the windows alone, learning at full pace from the first crisis misses the next ones
    windows_only = {"negative_changes": ()}
    assert firings(DetectionSettings(incident_pace=1.0, sequential=windows_only)) == ["04 10:21"]


def _share_window(negatives: float, volume: float, usual: float | None) -> Window:
    noise = WindowNoise(rate=0.01, buckets=1)
    return Window(12, negatives, volume * 0.15, noise, trials=volume, usual=usual)


def test_negatives_are_also_judged_against_the_usual_volume_when_the_share_is_up() -> None:
    settings = DetectionSettings()
    rule = settings.negative

    def tail(window: Window) -> float:
        return window_tail(window, settings)

    # 8 negatives of 10 at a 15 % share: rare, but not rare enough on so few mentions...
    assert tail(_share_window(8, 10, usual=None)) > rule.alpha
    # ...while the usual volume brings 0.3 negatives an hour: that is a crisis
    assert tail(_share_window(8, 10, usual=0.3)) <= rule.alpha
    # a viral moment: 9 negatives of 60 is the usual share, whatever the usual volume
    assert tail(_share_window(9, 60, usual=0.3)) > settings.share_alpha


def test_bucket_reports_expect_one_bucket_not_a_window() -> None:
    reports: list[BucketReport] = []
    engine = Engine(on_bucket=reports.append)
    run(stream(2 * 24 * 60, per_minute=1.0), engine)
    late = reports[-100:]
    assert all(3.0 < r.expected_volume < 7.5 for r in late)  # about 5 a bucket, not 60 an hour
    assert all(r.expected_negatives <= r.volume for r in late)


def test_a_window_learns_its_noise_from_each_complete_tumbling_block() -> None:
    hourly = WindowNoise(rate=0.01, buckets=12)
    learnt = []
    for index in range(36, 60):  # two clock hours of 12 buckets, 3 mentions where 1 expected
        hourly.add(index, (3.0, 3.0, 1.0), 1.0, 5.0)
        learnt.append(hourly.spread.mean.weight)
    assert learnt[10] == 0 and learnt[11] > 0  # nothing until the first hour is complete
    assert learnt[12] == learnt[22] < learnt[23]  # then once an hour
    # the block's sums: 36 mentions where 12 were expected, learnt at an hour's rate
    assert hourly.spread.mean.total / hourly.spread.mean.weight == pytest.approx(
        math.log((36 + 5 * math.sqrt(12)) / (12 + 5 * math.sqrt(12)))
    )
    gap = WindowNoise(rate=0.01, buckets=12)
    for index in (*range(0, 5), *range(6, 12)):  # a bucket not learnt (silent): no block
        gap.add(index, (3.0, 3.0, 1.0), 1.0, 5.0)
    assert gap.spread.mean.weight == 0 and gap.block is None


def test_the_volume_level_is_the_mentions_over_their_exposure() -> None:
    """One mention in 100 buckets, in an hour a tenth as busy as the day's mean: the flat
    level is the mentions over the seasonal exposure (Σx / Σf, the Poisson rate's estimate),
    about one in 100 buckets, where the mean of each count over its factor makes it ten."""
    exposures = [0.1 if bucket == 50 else 1.0 for bucket in range(100)]
    level, ratios = Ewma(), Ewma()
    for bucket, exposure in enumerate(exposures):
        count = 1.0 if bucket == 50 else 0.0
        level.update_exposed(count, exposure, 0.01)
        ratios.update(count / exposure, 0.01)
    weights = [0.01 * 0.99 ** (99 - bucket) for bucket in range(100)]
    exact = weights[50] / sum(w * f for w, f in zip(weights, exposures, strict=True))
    assert level.value(0.0) == pytest.approx(exact)
    assert 0.005 < level.value(0.0) < 0.02 < 0.05 < ratios.value(0.0)
