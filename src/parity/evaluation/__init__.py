"""Gap tests: run prompts through models, judge the answers blind, and report honestly."""
