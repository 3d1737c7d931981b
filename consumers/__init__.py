"""Edges that take mentions from Kafka through the engine to alerts, metrics and dead letters."""
