"""Edges that push mentions from sources onto Kafka."""
