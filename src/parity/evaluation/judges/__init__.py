"""Judges that score answers: reference, validity, LLM and human."""
