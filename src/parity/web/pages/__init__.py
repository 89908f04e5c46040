"""One module per dashboard page; each exposes a class built with the Dashboard and its routes."""
