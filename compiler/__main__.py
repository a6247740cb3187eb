"""`python -m compiler`: the same as the `seqc` script."""

from compiler import main

if __name__ == "__main__":
    main()
