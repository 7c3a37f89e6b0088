"""The tool-aware chat template we ship, and the parser for the tool calls it teaches.

Many small instruct models (SmolLM2 among them) have chat templates that ignore ``tools``; a
model fine-tuned to call tools needs the tool signatures in its prompt and one fixed way of
writing a call. :data:`TOOL_CHAT_TEMPLATE` is a ChatML template in the Hermes / Qwen2.5 style:

* the tool signatures go into the system turn, one JSON object per line inside
  ``<tools></tools>``;
* an assistant turn may hold text and any number of
  ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` blocks (both at once is fine);
* an observation is a ``tool`` turn wrapped in ``<tool_response></tool_response>``.

:func:`parse_tool_calls` reads that format back from generated text; Qwen2 / Qwen2.5
templates write calls the same way, so it also parses their output.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "COMPACT_TOOL_CHAT_TEMPLATE",
    "END_OF_TURN",
    "ParsedOutput",
    "RESPONSE_TEMPLATE",
    "TOOL_CHAT_TEMPLATE",
    "parse_tool_calls",
]

#: The token that ends every turn; generation stops on it.
END_OF_TURN = "<|im_end|>"

# Rendered by transformers' Jinja environment (trim_blocks and lstrip_blocks on, ``tojson``
# keeps key order). Arguments may be a JSON string (OpenAI rows) or a mapping.
_HEAD = """\
{% set ns = namespace(system='') %}
{% if messages and messages[0].role == 'system' %}\
{% set ns.system = messages[0].content %}{% endif %}
{% if tools %}
<|im_start|>system
{% if ns.system %}
{{ ns.system }}

{% endif %}
"""

_JSON_TOOLS = """\
You can call these tools. Each tool is a JSON signature inside <tools></tools>:
<tools>
{% for tool in tools %}
{{ (tool.function if tool.function is defined else tool) | tojson }}
{% endfor %}
</tools>
"""

_TAIL = """\
To call a tool, answer with <tool_call>{"name": NAME, "arguments": ARGS}</tool_call>, \
one block per call. If no tool can do the task, say so and why.<|im_end|>
{% elif ns.system %}
<|im_start|>system
{{ ns.system }}<|im_end|>
{% endif %}
{% for message in messages %}
{% if loop.first and message.role == 'system' %}
{% elif message.role == 'assistant' %}
<|im_start|>assistant
{{ message.content or '' }}\
{% for call in message.tool_calls or [] %}\
{% set fn = call.function if call.function is defined else call %}\
<tool_call>{"name": {{ fn.name | tojson }}, "arguments": \
{% if fn.arguments is string %}{{ fn.arguments }}{% else %}{{ fn.arguments | tojson }}{% endif %}\
}</tool_call>{% endfor %}<|im_end|>
{% elif message.role == 'tool' %}
<|im_start|>tool
<tool_response>{{ message.content }}</tool_response><|im_end|>
{% else %}
<|im_start|>{{ message.role }}
{{ message.content }}<|im_end|>
{% endif %}
{% endfor %}
{% if add_generation_prompt %}
<|im_start|>assistant
{% endif %}
"""

TOOL_CHAT_TEMPLATE = _HEAD + _JSON_TOOLS + _TAIL

_COMPACT_TOOLS = """\
You can call these tools. Each line inside <tools></tools> is NAME(PARAMETERS) - WHAT IT \
DOES; ? marks an optional parameter:
<tools>
{% for tool in tools %}
{% set fn = tool.function if tool.function is defined else tool %}
{% set params = fn.parameters if fn.parameters is defined and fn.parameters else {} %}
{% set required = params.required if params.required is defined else [] %}
{{ fn.name }}(\
{% for pname, p in (params.properties if params.properties is defined else {}).items() %}\
{{ pname }}{% if pname not in required %}?{% endif %}: \
{% if p.enum is defined %}{{ p.enum | join('|') }}\
{% else %}{{ p.type if p.type is defined else 'any' }}{% endif %}\
{% if not loop.last %}, {% endif %}\
{% endfor %}) - {{ fn.description if fn.description is defined else '' }}
{% endfor %}
</tools>
"""

#: :data:`TOOL_CHAT_TEMPLATE` with one line per tool, ``name(param?: type|enum, ...) -
#: description``, instead of its JSON signature: the same nine point-of-interest tools take
#: ~500 SmolLM2 tokens instead of ~1,100. Turns and calls render exactly as in the JSON
#: template. The embedded model uses it: on a 2-core CPU every prompt token costs ~3 ms.
COMPACT_TOOL_CHAT_TEMPLATE = _HEAD + _COMPACT_TOOLS + _TAIL

#: The same format as a transformers ``response_template`` (``tokenizer.parse_response``):
#: set on a tokenizer, it lets ``transformers serve`` return real ``tool_calls`` for models
#: that are not Qwen2-type (it has this schema built in for those).
RESPONSE_TEMPLATE: dict[str, Any] = {
    "defaults": {"role": "assistant"},
    "start_anchor": "<|im_start|>assistant\n",
    "fields": {
        "tool_calls": {
            # The leading \s* swallows the newline between calls and after the text, so it
            # cannot open an empty content region that overwrites the real content.
            "open_pattern": r"\s*<tool_call>",
            "close": "</tool_call>",
            "repeats": True,
            "content": "json",
            "transform": {"type": "function", "function": "{content}"},
        },
        "content": {
            "close_pattern": r"\s*(?:<\|im_end\|>|<\|endoftext\|>)",
            "content": "text",
        },
    },
}

_CALL = re.compile(r"<tool_call>\s*(.*?)\s*</tool_call>", re.DOTALL)
_OPEN = "<tool_call>"


@dataclass(frozen=True)
class ParsedOutput:
    """Generated text split into prose, well-formed calls and malformed call blocks.

    Attributes:
        content: The text outside the ``<tool_call>`` blocks, stripped.
        calls: ``(name, args)`` of each well-formed call, in order.
        invalid: ``(raw_block, error)`` of each block that is not a valid call.
    """

    content: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)


def _one_call(raw: str) -> tuple[str, dict[str, Any]]:
    data = json.loads(raw)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"]:
        raise ValueError('a call must be a JSON object with a non-empty "name"')
    args = data.get("arguments", data.get("parameters", {}))
    if isinstance(args, str):
        args = json.loads(args) if args.strip() else {}
    if not isinstance(args, dict):
        raise ValueError('"arguments" must be a JSON object')
    return data["name"], args


def parse_tool_calls(text: str) -> ParsedOutput:
    """Split model output in the :data:`TOOL_CHAT_TEMPLATE` format into text and calls.

    An unterminated ``<tool_call>`` block at the end (generation hit its token limit) is
    reported as invalid rather than dropped.

    Args:
        text: The decoded generation, special tokens removed.
    """
    calls: list[tuple[str, dict[str, Any]]] = []
    invalid: list[tuple[str, str]] = []
    for match in _CALL.finditer(text):
        raw = match.group(1)
        try:
            calls.append(_one_call(raw))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            invalid.append((raw, str(exc)))
    rest = _CALL.sub("", text)
    if _OPEN in rest:
        head, _, tail = rest.partition(_OPEN)
        invalid.append((tail.strip(), "unterminated <tool_call> block"))
        rest = head
    return ParsedOutput(rest.replace(END_OF_TURN, "").strip(), calls, invalid)
