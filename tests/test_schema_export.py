"""schema/schema.graphql is the exported SDL: it must match the code."""

from __future__ import annotations

from pathlib import Path

from schema import build_schema

SDL = Path(__file__).resolve().parent.parent / "schema" / "schema.graphql"


def test_the_committed_sdl_matches_the_schema() -> None:
    assert SDL.read_text() == build_schema().as_str() + "\n", (
        "schema/schema.graphql is stale: run `qikink-graphql export-schema` and commit it"
    )


def test_the_contract_names_are_in_the_schema() -> None:
    sdl = SDL.read_text()
    for name in (
        "productMappings(filter: ProductMappingFilter",
        "productMapping(id: ID!): ProductMapping",
        "createProductMapping(input: ProductMappingInput!): ProductMapping!",
        "updateProductMapping(id: ID!, input: ProductMappingUpdateInput!): ProductMapping!",
        "deleteProductMapping(id: ID!): DeletedPayload!",
        "qikinkOrderMappings(filter: OrderMappingFilter",
        "qikinkOrderMapping(id: ID!): OrderMapping",
    ):
        assert name in sdl, name
