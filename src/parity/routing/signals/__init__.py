"""Cheap, lazy facts about a request that routing rules read."""
