"""Reads reader-comment threads under news articles: topics and stance."""

__version__ = "0.1.0"
