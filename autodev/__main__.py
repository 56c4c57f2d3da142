"""`python -m autodev` is the `autodev` command."""

from autodev.cli.main import main

if __name__ == "__main__":
    main()
