"""Per-tool baseline statistics: what one tool's results, errors and latencies look like.

:class:`ToolProfile` folds observations in one at a time; counts, Welford moments and
capped tables keep it bounded however many calls it has seen.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentshield.detect import _features as f
from agentshield.trajectory import ToolSpec

MAX_PATHS = 256
MAX_SIGNATURES = 64
#: Latencies under this many seconds count as "instant" (in-process tools, noise).
LATENCY_FLOOR_S = 0.05

__all__ = ["LATENCY_FLOOR_S", "Moments", "ToolProfile"]


@dataclass
class Moments:
    """Count, mean and sum of squares (Welford) of a stream of floats."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        d = x - self.mean
        self.mean += d / self.n
        self.m2 += d * (x - self.mean)

    @property
    def std(self) -> float:
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else 0.0

    def to_list(self) -> list[float]:
        return [self.n, self.mean, self.m2]

    @classmethod
    def of(cls, data: Any) -> Moments:
        n, mean, m2 = data
        return cls(int(n), float(mean), float(m2))


@dataclass
class ToolProfile:
    """One tool as the baseline knows it: schema, results, errors, latency."""

    spec: ToolSpec
    structure: str
    doc: str
    calls: int = 0
    errors: int = 0
    redirects: int = 0
    formats: dict[str, int] = field(default_factory=dict)
    #: path -> [times present, times null, {type: count}]
    paths: dict[str, list[Any]] = field(default_factory=dict)
    size: Moments = field(default_factory=Moments)
    latency: Moments = field(default_factory=Moments)
    error_kinds: dict[str, int] = field(default_factory=dict)

    @property
    def results(self) -> int:
        """Successful (non-error) results seen."""
        return self.calls - self.errors

    @property
    def error_rate(self) -> float:
        """Errors per call, smoothed so an unseen error is not impossible: (e + ½)/(n + 1)."""
        return (self.errors + 0.5) / (self.calls + 1)

    def add_result(self, content: str | None, is_error: bool, latency_s: float | None) -> None:
        """Fold one observation of this tool into the profile (``content`` ``None``: not
        captured; only the call, its error flag and latency count)."""
        from agentshield.detect.observation import looks_like_redirect

        self.calls += 1
        if latency_s is not None:
            self.latency.add(f.log_clamped(latency_s, LATENCY_FLOOR_S))
        if content is None:
            self.errors += is_error
            return
        if looks_like_redirect(content):
            self.redirects += 1
        if is_error:
            self.errors += 1
            sig = f.error_signature(content)
            if sig in self.error_kinds or len(self.error_kinds) < MAX_SIGNATURES:
                self.error_kinds[sig] = self.error_kinds.get(sig, 0) + 1
            return
        fmt, value = f.parse_observation(content)
        self.formats[fmt] = self.formats.get(fmt, 0) + 1
        self.size.add(math.log1p(len(content)))
        seen: set[str] = set()
        for path, kind in f.flatten(value):
            entry = self.paths.get(path)
            if entry is None:
                if len(self.paths) >= MAX_PATHS:
                    continue
                entry = self.paths[path] = [0, 0, {}]
            if path not in seen:
                seen.add(path)
                entry[0] += 1
                if kind == "null":
                    entry[1] += 1
            entry[2][kind] = entry[2].get(kind, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "spec": self.spec.to_dict(),
            "structure": self.structure,
            "doc": self.doc,
            "calls": self.calls,
            "errors": self.errors,
            "redirects": self.redirects,
            "formats": self.formats,
            "paths": self.paths,
            "size": self.size.to_list(),
            "latency": self.latency.to_list(),
            "error_kinds": self.error_kinds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolProfile:
        """Inverse of :meth:`to_dict`."""
        return cls(
            spec=ToolSpec.from_dict(data["spec"]),
            structure=str(data["structure"]),
            doc=str(data["doc"]),
            calls=int(data["calls"]),
            errors=int(data["errors"]),
            redirects=int(data.get("redirects", 0)),
            formats={str(k): int(v) for k, v in data["formats"].items()},
            paths={str(k): [int(v[0]), int(v[1]), dict(v[2])] for k, v in data["paths"].items()},
            size=Moments.of(data["size"]),
            latency=Moments.of(data["latency"]),
            error_kinds={str(k): int(v) for k, v in data.get("error_kinds", {}).items()},
        )
