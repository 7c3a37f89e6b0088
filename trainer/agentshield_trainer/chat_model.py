"""A LangChain chat model over a local transformers model (with a LoRA adapter).

:func:`load_chat_model` returns a :class:`LocalChatModel`: a real ``BaseChatModel`` that
supports ``bind_tools`` and answers with real ``tool_calls`` parsed from what the model
generates, so it drops into ``langchain.agents.create_agent`` (or any LangGraph graph)
unchanged::

    model = load_chat_model("Qwen/Qwen2.5-0.5B-Instruct", adapter="adapters/hardened")
    agent = create_agent(model, tools=[...])

The conversation and tool schemas are rendered with the chat template the adapter was
trained with, generation is greedy by default (reproducible), and malformed call blocks
become ``invalid_tool_calls`` rather than vanishing. ``tool_choice="any"`` (or a tool name)
is honoured by starting the answer with a ``<tool_call>`` block.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, convert_to_openai_messages
from langchain_core.messages.tool import invalid_tool_call, tool_call
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr

from agentshield_trainer.template import parse_tool_calls

__all__ = ["LocalChatModel", "load_chat_model"]


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content)
    return "" if content is None else str(content)


def _plain(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """OpenAI-shaped dicts with string content (what chat templates expect)."""
    out = []
    for m in convert_to_openai_messages(list(messages)):
        m = dict(m)
        m["content"] = _text(m.get("content"))
        out.append(m)
    return out


def _prefill(tool_choice: Any) -> str:
    if tool_choice in ("any", "required", True):
        return "<tool_call>"
    if isinstance(tool_choice, dict):
        tool_choice = tool_choice.get("function", {}).get("name")
    if isinstance(tool_choice, str) and tool_choice not in ("auto", "none"):
        return f'<tool_call>{{"name": {json.dumps(tool_choice)}, "arguments":'
    return ""


class LocalChatModel(BaseChatModel):
    """A chat model that generates in-process with a transformers (+ PEFT) model."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: Any = Field(exclude=True)
    """The loaded causal LM (a ``PeftModel`` when an adapter is applied)."""
    tokenizer: Any = Field(exclude=True)
    """Its tokenizer, with a tool-aware chat template."""
    model_name: str = "local"
    """A name for traces and ``response_metadata``."""
    max_new_tokens: int = 256
    """The most tokens one answer may have."""
    temperature: float = 0.0
    """0 = greedy (reproducible); above 0 samples."""
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "agentshield-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "temperature": self.temperature}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools: their OpenAI schemas go into the prompt through the chat template."""
        schemas = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=schemas, tool_choice=tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = kwargs.get("tools") or None
        choice = kwargs.get("tool_choice")
        if choice == "none":
            tools = None
        prefill = _prefill(choice) if tools else ""
        text, prompt_tokens, new_tokens, finish = self._complete(
            _plain(messages), tools, prefill, stop
        )
        parsed = parse_tool_calls(prefill + text)
        calls = [
            tool_call(name=name, args=args, id=f"call_{uuid.uuid4().hex[:24]}")
            for name, args in parsed.calls
        ]
        bad = [
            invalid_tool_call(name=None, args=raw, id=f"call_{uuid.uuid4().hex[:24]}", error=err)
            for raw, err in parsed.invalid
        ]
        message = AIMessage(
            content=parsed.content,
            tool_calls=calls,
            invalid_tool_calls=bad,
            response_metadata={
                "model_name": self.model_name,
                "finish_reason": "tool_calls" if calls else finish,
            },
            usage_metadata={
                "input_tokens": prompt_tokens,
                "output_tokens": new_tokens,
                "total_tokens": prompt_tokens + new_tokens,
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _complete(
        self, messages: list[dict[str, Any]], tools: Any, prefill: str, stop: list[str] | None
    ) -> tuple[str, int, int, str]:
        """Generate one answer; return its text, token counts and finish reason."""
        import torch

        prompt = (
            self.tokenizer.apply_chat_template(
                messages, tools=tools, tokenize=False, add_generation_prompt=True
            )
            + prefill
        )
        enc = self.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
        device = next(self.model.parameters()).device
        enc = {k: v.to(device) for k, v in enc.items()}
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": self.temperature}
            if self.temperature > 0
            else {"do_sample": False}
        )
        with self._lock, torch.inference_mode():
            out = self.model.generate(
                **enc,
                max_new_tokens=self.max_new_tokens,
                eos_token_id=self.tokenizer.eos_token_id,
                pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
                stop_strings=stop or None,
                tokenizer=self.tokenizer if stop else None,
                **sampling,
            )
        n_prompt = int(enc["input_ids"].shape[1])
        new = out[0, n_prompt:]
        ended = bool(len(new)) and int(new[-1]) == self.tokenizer.eos_token_id
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        return text, n_prompt, len(new), "stop" if ended or stop else "length"


def load_chat_model(
    base: str,
    adapter: str | Path | None = None,
    *,
    device: str = "auto",
    dtype: str = "auto",
    max_new_tokens: int = 256,
    temperature: float = 0.0,
    verify: bool = True,
) -> LocalChatModel:
    """Load ``base`` (with ``adapter``) as a LangChain chat model that calls tools.

    Args:
        base: The base model folder or hub id.
        adapter: An adapter folder written by ``agentshield train``.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        dtype: ``auto``, ``float32`` or ``bfloat16``.
        max_new_tokens: The most tokens one answer may have.
        temperature: 0 for greedy decoding.
        verify: Check the adapter folder and its base model before loading (see
            :func:`~agentshield_trainer.adapters.load_model`).

    Raises:
        CorruptAdapterError: The adapter folder is incomplete, damaged or holds pickle files.
        AdapterMismatchError: The adapter was trained on another base model.
    """
    from agentshield_trainer.adapters import load_model

    loaded = load_model(base, adapter, device=device, dtype=dtype, verify=verify)
    name = f"{base}+{Path(adapter).name}" if adapter is not None else base
    return LocalChatModel(
        model=loaded.model,
        tokenizer=loaded.tokenizer,
        model_name=name,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
    )
