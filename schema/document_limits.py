"""What one document may make the service do, measured before any other walk of it.

A document's fragments may spread each other: `fragment F0 on Query { ...F1 ...F1 ... }`
repeated over eight fragments is 661 bytes whose expansion holds ten million selections. Any
walker that follows every spread path (a depth or alias count, the root fields' admission)
then runs for minutes on the event loop. Here the document is measured in one pass that visits
each fragment once (`Measure` keeps each fragment's figures, as graphql-core's own
`collect_fields` does), and is refused, naming the limit, when it:

- defines more than `MAX_FRAGMENTS` fragments, or holds a selection set of more than
  `MAX_SELECTIONS_PER_SET` selections (the shape of a hostile document, never of a client's);
- selects more than `MAX_SELECTIONS` fields, spreads and inline fragments with its fragments
  expanded;
- is deeper than `MAX_DEPTH` (root fields are depth 0; introspection fields are not counted,
  as graphql-depth-limit and Strawberry's `QueryDepthLimiter` count);
- has more than `MAX_ALIASES` aliases, counted with its fragments expanded;
- selects one response name (a field's alias or name) more than `MAX_SAME_NAME` times in its
  text: validation compares every two fields of a name that meet in one selection set (the
  spec's "fields can be merged"), so 400 `__typename`s cost 40 ms where a client's query costs
  one.

The figures of a fragment that spreads itself (a cycle) stop at the cycle: validation, which
runs after this, refuses it. Only a document that passes runs through graphql-core's
validation, whose rules are linear in the document.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
)

if TYPE_CHECKING:
    from graphql import DocumentNode, SelectionSetNode

__all__ = [
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_FRAGMENTS",
    "MAX_SAME_NAME",
    "MAX_SELECTIONS",
    "MAX_SELECTIONS_PER_SET",
    "Measure",
    "Size",
    "check_document",
]

MAX_DEPTH = 10
MAX_ALIASES = 15
# GraphiQL's introspection query selects 229 with its fragments expanded; the admin pages'
# largest query about 40.
MAX_SELECTIONS = 1000
MAX_SELECTIONS_PER_SET = 100
MAX_FRAGMENTS = 50
# GraphiQL's introspection query names `kind` and `name` 15 times each (its nested TypeRef).
MAX_SAME_NAME = 40


@dataclass(frozen=True, slots=True)
class Size:
    """A selection set's figures with its fragments expanded."""

    selections: int = 0
    depth: int = 0
    aliases: int = 0


_EMPTY = Size()


class Measure:
    """One document's figures; each fragment is measured once, whatever spreads it."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        self.sizes: dict[str, Size] = {}
        self.measuring: set[str] = set()
        self.crowded: list[SelectionSetNode] = []
        # How often each response name is selected in the document's text.
        self.names: Counter[str] = Counter()

    def fragment(self, name: str) -> Size:
        size = self.sizes.get(name)
        if size is not None:
            return size
        definition = self.fragments.get(name)
        if definition is None or name in self.measuring:
            return _EMPTY  # unknown or cyclic: validation refuses both
        self.measuring.add(name)
        size = self.sizes[name] = self.selection_set(definition.selection_set)
        self.measuring.discard(name)
        return size

    def selection_set(self, selection_set: SelectionSetNode) -> Size:
        selections = selection_set.selections
        if len(selections) > MAX_SELECTIONS_PER_SET:
            self.crowded.append(selection_set)
            return Size(selections=len(selections))
        count = depth = aliases = 0
        for selection in selections:
            if isinstance(selection, FieldNode):
                self.names[(selection.alias or selection.name).value] += 1
                inner = (
                    self.selection_set(selection.selection_set)
                    if selection.selection_set
                    else _EMPTY
                )
                count += 1 + inner.selections
                aliases += inner.aliases + (selection.alias is not None)
                if selection.selection_set and not selection.name.value.startswith("__"):
                    depth = max(depth, 1 + inner.depth)
            else:
                if isinstance(selection, InlineFragmentNode):
                    inner = self.selection_set(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    inner = self.fragment(selection.name.value)
                else:  # pragma: no cover - the grammar has no fourth kind
                    raise TypeError(f"no selection of kind {selection.kind}")
                count += 1 + inner.selections
                aliases += inner.aliases
                depth = max(depth, inner.depth)
        return Size(count, depth, aliases)


def check_document(document: DocumentNode) -> list[GraphQLError]:
    """Why `document` may not be validated or run (one error per limit it passes), or []."""
    fragments = sum(isinstance(d, FragmentDefinitionNode) for d in document.definitions)
    if fragments > MAX_FRAGMENTS:
        return [
            GraphQLError(
                f"A document may define at most {MAX_FRAGMENTS} fragments; this one defines "
                f"{fragments}."
            )
        ]
    measure = Measure(document)
    errors: list[GraphQLError] = []
    aliases = 0
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        size = measure.selection_set(definition.selection_set)
        if measure.crowded:
            break
        name = definition.name.value if definition.name else "anonymous"
        if size.selections > MAX_SELECTIONS:
            errors.append(
                GraphQLError(
                    f"'{name}' selects {size.selections:,} fields and fragments with its "
                    f"fragments expanded; at most {MAX_SELECTIONS:,} are allowed.",
                    definition,
                )
            )
        if size.depth > MAX_DEPTH:
            errors.append(
                GraphQLError(f"'{name}' exceeds maximum operation depth of {MAX_DEPTH}", definition)
            )
        aliases += size.aliases
    for name in measure.fragments:
        if measure.crowded:
            break
        measure.fragment(name)  # an unused one is validated too
    if measure.crowded:
        crowded = measure.crowded[0]
        return [
            GraphQLError(
                f"A selection set may hold at most {MAX_SELECTIONS_PER_SET} selections; this "
                f"one holds {len(crowded.selections)}.",
                crowded,
            )
        ]
    if aliases > MAX_ALIASES:
        errors.append(GraphQLError(f"{aliases} aliases found. Allowed: {MAX_ALIASES}"))
    [(most_named, times)] = measure.names.most_common(1) or [("", 0)]
    if times > MAX_SAME_NAME:
        errors.append(
            GraphQLError(
                f"A document may select one name at most {MAX_SAME_NAME} times; this one "
                f"selects '{most_named}' {times} times."
            )
        )
    return errors
