from pipeline.watermark import Watermark


def test_single_lane_follows_the_largest_time_less_lateness() -> None:
    w = Watermark(allowed_lateness=60)
    assert w.current() is None
    assert w.observe(0, 1000)
    assert not w.observe(0, 900)  # an earlier event does not move it
    assert not w.observe(0, 1000)
    assert w.current() == 940


def test_slowest_active_lane_holds_time_back_until_it_is_idle() -> None:
    w = Watermark(allowed_lateness=0)
    w.expect(0)
    w.expect(1)
    w.observe(0, 500)
    assert w.current() is None  # lane 1 has said nothing yet
    w.observe(1, 200)
    assert w.current() == 200
    w.set_idle(1)
    assert w.current() == 500
    w.set_idle(0)
    assert w.current() == 500
    w.observe(1, 300)  # lane 1 active again
    assert w.current() == 300
    w.forget(1)
    assert w.current() == 500


def test_input_after_a_pause_everywhere_makes_every_lane_hold_time_again() -> None:
    w = Watermark(allowed_lateness=10)
    for lane in (0, 1, 2):
        w.expect(lane)
        w.set_idle(lane)
    assert w.current() is None  # nothing seen anywhere
    w.observe(0, 5000)  # a backfill starts: its first batch lands on lane 0
    assert w.current() is None  # lanes 1 and 2 have said nothing yet
    w.observe(1, 1000)
    w.observe(2, 1200)
    assert w.current() == 990
    w.set_idle(1)  # lane 1 caught up; lanes 0 and 2 still deliver
    assert w.current() == 1190
    w.observe(1, 1300)  # not a pause everywhere: lane 1 alone becomes active again
    assert w.current() == 1190 and not w.is_idle(1)
    w.set_idle(0)
    w.set_idle(1)
    w.set_idle(2)
    assert w.current() == 4990  # every lane caught up: the largest progress wins
    w.observe(2, 1400)
    assert w.current() == 1290  # after the pause: every lane holds again, by its progress
    assert w.progress(1) == 1300 and w.progress(3) is None
