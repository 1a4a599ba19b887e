"""`python -m techcorp_server` runs the `techcorp-server` command."""

from .cli import main

if __name__ == "__main__":
    main()
