"""The dashboard served at /ui."""
