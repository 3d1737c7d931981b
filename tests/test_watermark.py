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


def test_a_lane_time_follows_its_own_progress_until_the_lane_is_idle() -> None:
    w = Watermark(allowed_lateness=10)
    w.expect(0)
    w.expect(1)
    w.expect(2)
    assert w.lane_time(0) is None
    w.observe(0, 500)
    w.observe(1, 200)
    assert (w.lane_time(0), w.lane_time(1)) == (490, 190)  # each its own, not the slowest
    w.set_idle(1)
    assert w.lane_time(1) == 190  # lane 2 has said nothing: nothing shared yet
    w.observe(2, 800)
    assert w.lane_time(1) == 490  # idle: moved on by the slowest active lane
    w.set_idle(0)
    w.set_idle(2)
    assert [w.lane_time(lane) for lane in (0, 1, 2)] == [790, 790, 790]
    assert w.progress(1) == 200 and w.progress(3) is None
