"""Tier 1, schema shifts: tools and parameters renamed, descriptions changed, decoys added.

All of them are transparent: they change the :class:`~agentshield.view.ToolView` only, so the
model sees the shifted schema, calls to shifted names run the real tool with mapped-back
arguments, and observations speak the shifted names. Each selected tool is its own target
(key = the real tool name), so a run sees one consistent schema.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from agentshield.perturbations._text import WORD_SYNONYMS, opaque_id, semantic_variant, split_words
from agentshield.perturbations.base import (
    Perturbation,
    RunContext,
    Tier,
    require_choice,
    require_positive,
)
from agentshield.perturbations.registry import register
from agentshield.view import ShownTool, ToolView


def _selected(p: Perturbation, view: ToolView, ctx: RunContext) -> list[ShownTool]:
    """The real (non-synthetic) shown tools whose real name ``p.when`` selects."""
    return [
        t
        for t in view
        if t.real is not None and t.responder is None and p.when(ctx.tool_target(t.real))
    ]


def _rename(view: ToolView, tool: ShownTool, new: str, owner: str) -> ToolView:
    return view.replace_tool(tool, replace(tool.with_spec(name=new), owner=owner))


@register
@dataclass(frozen=True, kw_only=True)
class ToolRenameSemantic(Perturbation):
    """Each selected tool gets a different meaningful name (``search_places`` → ``find_venues``)."""

    name: ClassVar[str] = "tool_rename_semantic"
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = "tool renamed to a different meaningful name"

    def shape_tools(self, view: ToolView, ctx: RunContext) -> ToolView:
        taken = set(view.names) | set(ctx.real_tools)
        for tool in _selected(self, view, ctx):
            new = semantic_variant(tool.name, ctx.rng(tool.real), taken)
            taken.add(new)
            view = _rename(view, tool, new, self.name)
        return view


@register
@dataclass(frozen=True, kw_only=True)
class ToolRenameNoise(Perturbation):
    """Identity erasure: each selected tool is renamed to an opaque id (``tool_3fa9c1``)."""

    name: ClassVar[str] = "tool_rename_noise"
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = "tool renamed to an opaque id (identity erasure)"

    prefix: str = field(default="tool_", metadata={"help": "prefix of the opaque names"})

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", self.prefix):
            from agentshield.errors import ConfigError

            raise ConfigError(
                f"{self.name}.prefix must be an identifier prefix, got {self.prefix!r}"
            )

    def shape_tools(self, view: ToolView, ctx: RunContext) -> ToolView:
        taken = set(view.names) | set(ctx.real_tools)
        for tool in _selected(self, view, ctx):
            new = opaque_id(ctx.rng(tool.real), self.prefix, taken)
            taken.add(new)
            view = _rename(view, tool, new, self.name)
        return view


@register
@dataclass(frozen=True, kw_only=True)
class SemanticTrap(Perturbation):
    """Names are swapped among the selected tools, so a name suggests another tool's job.

    Descriptions and parameters stay with the real function: an agent that reads them copes,
    one anchored on names calls the wrong tool.
    """

    name: ClassVar[str] = "semantic_trap"
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = "tool names swapped so a name suggests another tool's function"

    def shape_tools(self, view: ToolView, ctx: RunContext) -> ToolView:
        chosen = _selected(self, view, ctx)
        if len(chosen) < 2:
            return view
        names = [t.name for t in chosen]
        rng = ctx.rng("trap")
        # A random derangement: every selected tool ends up with another tool's name.
        perm = names[:]
        while any(a == b for a, b in zip(perm, names, strict=True)):
            rng.shuffle(perm)
        new_tools = {
            id(t): replace(t.with_spec(name=n), owner=self.name)
            for t, n in zip(chosen, perm, strict=True)
        }
        return ToolView(tuple(new_tools.get(id(t), t) for t in view))


@register
@dataclass(frozen=True, kw_only=True)
class ParameterRename(Perturbation):
    """Argument keys of the selected tools are renamed (meaningfully or opaquely)."""

    name: ClassVar[str] = "parameter_rename"
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = "parameter keys renamed (schema noise)"

    style: str = field(
        default="semantic", metadata={"help": "semantic (synonyms) or noise (opaque)"}
    )
    rate: float = field(default=1.0, metadata={"help": "chance each parameter is renamed"})

    def __post_init__(self) -> None:
        require_choice(self.name, "style", self.style, ("semantic", "noise"))
        from agentshield.perturbations.base import require_rate

        require_rate(self.name, "rate", self.rate)

    def shape_tools(self, view: ToolView, ctx: RunContext) -> ToolView:
        for tool in _selected(self, view, ctx):
            props = tool.spec.properties
            if not props:
                continue
            rng = ctx.rng(tool.real, "params")
            taken = set(props)
            mapping: dict[str, str] = {}
            for key in props:
                if rng.random() >= self.rate:
                    continue
                new = (
                    semantic_variant(key, rng, taken)
                    if self.style == "semantic"
                    else opaque_id(rng, "arg_", taken)
                )
                taken.add(new)
                mapping[key] = new
            if not mapping:
                continue
            view = view.replace_tool(tool, _renamed_params(tool, mapping, self.name))
        return view


def _renamed_params(tool: ShownTool, mapping: dict[str, str], owner: str) -> ShownTool:
    """``tool`` with parameter keys renamed by ``mapping`` (shown key -> new key)."""
    params: dict[str, Any] = dict(tool.spec.parameters)
    params["properties"] = {mapping.get(k, k): v for k, v in tool.spec.properties.items()}
    if "required" in params:
        params["required"] = [mapping.get(k, k) for k in tool.spec.required]
    arg_map = {mapping.get(shown, shown): real for shown, real in tool.arg_map.items()}
    for old, new in mapping.items():
        arg_map[new] = tool.arg_map.get(old, old)
    return replace(tool.with_spec(parameters=params), arg_map=arg_map, owner=owner)


_STRIPPED_SUFFIX = ""


def _paraphrase(text: str, rng: random.Random) -> str:
    words = re.split(r"(\W+)", text)
    out = []
    for w in words:
        syn = WORD_SYNONYMS.get(w.lower())
        if syn and rng.random() < 0.7:
            new = rng.choice(syn).replace("_", " ")
            w = new.capitalize() if w[:1].isupper() else new
        out.append(w)
    sentence = "".join(out).strip()
    frames = ("{s}", "Use this to {l}", "This tool lets you {l}", "{s} (updated API)")
    lowered = sentence[:1].lower() + sentence[1:] if sentence else sentence
    return rng.choice(frames).format(s=sentence, l=lowered.rstrip("."))


@register
@dataclass(frozen=True, kw_only=True)
class DescriptionShift(Perturbation):
    """Tool descriptions are reworded, cut down to a few words, or stripped."""

    name: ClassVar[str] = "description_shift"
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = "tool description paraphrased, degraded or stripped"

    mode: str = field(default="paraphrase", metadata={"help": "paraphrase, degrade or strip"})
    keep_words: int = field(default=3, metadata={"help": "words kept by mode=degrade"})
    parameters: bool = field(
        default=True, metadata={"help": "also change the parameters' descriptions"}
    )

    def __post_init__(self) -> None:
        require_choice(self.name, "mode", self.mode, ("paraphrase", "degrade", "strip"))
        require_positive(self.name, "keep_words", self.keep_words)

    def _shift(self, text: str, rng: random.Random) -> str:
        if self.mode == "strip":
            return _STRIPPED_SUFFIX
        if self.mode == "degrade":
            return " ".join(text.split()[: int(self.keep_words)])
        return _paraphrase(text, rng) if text else text

    def shape_tools(self, view: ToolView, ctx: RunContext) -> ToolView:
        for tool in _selected(self, view, ctx):
            rng = ctx.rng(tool.real, "description")
            params: dict[str, Any] = dict(tool.spec.parameters)
            if self.parameters and tool.spec.properties:
                props = {}
                for key, schema in tool.spec.properties.items():
                    schema = dict(schema)
                    if "description" in schema:
                        schema["description"] = self._shift(str(schema["description"]), rng)
                    props[key] = schema
                params["properties"] = props
            shifted = tool.with_spec(
                description=self._shift(tool.spec.description, rng), parameters=params
            )
            view = view.replace_tool(tool, replace(shifted, owner=self.name))
        return view


_DECOY_FORMS = ("{n}_legacy", "{n}_beta", "{n}_v0", "quick_{n}", "{n}_internal", "{n}_sandbox")


@register
@dataclass(frozen=True, kw_only=True)
class DistractorTools(Perturbation):
    """``count`` decoy tools similar to real ones are added; a call to one gets the
    unknown-tool error."""

    name: ClassVar[str] = "distractor_tools"
    tier: ClassVar[Tier] = Tier.PERCEPTION
    description: ClassVar[str] = "k decoy tools similar to the real ones added"

    count: int = field(default=3, metadata={"help": "how many decoys to add"})

    def __post_init__(self) -> None:
        require_positive(self.name, "count", self.count)

    def shape_tools(self, view: ToolView, ctx: RunContext) -> ToolView:
        sources = _selected(self, view, ctx)
        if not sources:
            return view
        rng = ctx.rng("decoys")
        taken = set(view.names) | set(ctx.real_tools)
        decoys = []
        for i in range(int(self.count)):
            src = sources[i % len(sources)] if i < len(sources) else rng.choice(sources)
            base = "_".join(split_words(src.name))
            forms = list(_DECOY_FORMS)
            rng.shuffle(forms)
            name = next((f.format(n=base) for f in forms if f.format(n=base) not in taken), None)
            if name is None:
                name = opaque_id(rng, base + "_", taken)
            taken.add(name)
            desc = f"{src.spec.description} (legacy variant; may return stale data)".strip()
            decoys.append(
                ShownTool(
                    spec=replace(src.spec, name=name, description=desc), real=None, owner=self.name
                )
            )
        # Decoys are spread among the real tools so position does not give them away.
        tools = list(view.tools)
        for decoy in decoys:
            tools.insert(rng.randrange(len(tools) + 1), decoy)
        return ToolView(tuple(tools))
