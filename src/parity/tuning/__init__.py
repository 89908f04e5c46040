"""Close the gap: datasets from traffic, LoRA training, GGUF export, blind evaluation, promotion.

Heavy libraries (torch, transformers, peft) are imported inside the functions that need them, so
``parity tune dataset`` and the rest of Parity never load them.
"""
