"""The seeds' decision framework as a questionnaire that writes a starter config."""
