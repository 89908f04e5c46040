"""The parity command line, one module per command group."""
