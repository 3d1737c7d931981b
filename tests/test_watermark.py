from pipeline.watermark import Watermark


def test_single_lane_follows_the_largest_time_less_lateness() -> None:
    w = Watermark(allowed_lateness=60)
    assert w.current() is None
    w.observe(0, 1000)
    w.observe(0, 900)
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
