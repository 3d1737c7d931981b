"""buzzwatch's functional core: models, scoring, event-time windows, detectors and the engine.

Nothing here talks to Kafka or HTTP or reads the wall clock: given the same mentions in the
same order, the core emits the same alert events.
"""
