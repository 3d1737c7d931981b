"""Offline evaluation of the detector on public labelled benchmarks (NAB)."""
