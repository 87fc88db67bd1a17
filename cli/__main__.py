"""`python -m cli`: the `qikink-graphql` command."""

from cli import main

main()
