"""Where things are in the YAML text: field paths to line numbers, and duplicate keys.

Works on the node tree from `yaml.compose` (the parser's view, with marks), not on the loaded
data, so every key and value can be traced back to its line.
"""

from __future__ import annotations

from collections.abc import Iterator

import yaml

from config.problems import Finding, Loc

__all__ = ["LineMap", "duplicate_keys"]

_Step = tuple[yaml.Node | None, yaml.Node]
"""A key node (None for list items and the document) and the node it leads to."""


class LineMap:
    """Answers "which line is this field on" for one composed document."""

    def __init__(self, root: yaml.Node) -> None:
        self._root = root

    def line(self, finding: Finding) -> int:
        """The 1-based line of the finding's field.

        A field is on the line of its key; a list item or the document on its own first line. A
        missing field is located at its parent. A path that leaves the document (a default, a key
        written in an unexpected form) is located at the deepest part of it that exists. A finding
        that already knows its line keeps it.
        """
        if finding.line is not None:
            return finding.line
        loc = finding.loc[:-1] if finding.missing else finding.loc
        key: yaml.Node | None = None
        node = self._root
        for part in loc:
            step = _child(node, part)
            if step is None:
                key = None
                break
            key, node = step
        return (key or node).start_mark.line + 1


def _child(node: yaml.Node, part: str | int) -> _Step | None:
    if isinstance(node, yaml.MappingNode):
        # The last of duplicate keys wins, as it does when the data is loaded.
        for key, value in reversed(node.value):
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key, value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return None, node.value[part]
    return None


def duplicate_keys(root: yaml.Node) -> list[Finding]:
    """A finding for every key written twice in one mapping (YAML would silently keep the last)."""
    findings = []
    for loc, node in _mappings(root):
        first_line: dict[str, int] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.value == "<<":
                continue
            line = key.start_mark.line + 1
            if key.value in first_line:
                message = f"duplicate key (first defined on line {first_line[key.value]})"
                findings.append(Finding((*loc, key.value), message, line=line))
            else:
                first_line[key.value] = line
    return findings


def _mappings(root: yaml.Node) -> Iterator[tuple[Loc, yaml.MappingNode]]:
    """Every mapping node with its path, each node once (aliases can make the tree a graph)."""
    seen: set[int] = set()
    stack: list[tuple[Loc, yaml.Node]] = [((), root)]
    while stack:
        loc, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            yield loc, node
            stack.extend(
                ((*loc, key.value), value) for key, value in reversed(node.value) if isinstance(key, yaml.ScalarNode)
            )
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(((*loc, index), item) for index, item in reversed(list(enumerate(node.value))))
