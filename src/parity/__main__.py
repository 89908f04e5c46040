"""python -m parity: the same as the parity command."""

from parity.cli.main import main

if __name__ == "__main__":
    main()
