"""AgentShield for LangChain v1 and LangGraph.

Four ways in, from the most to the least integrated:

* :class:`ShieldMiddleware` — ``create_agent(model, tools, middleware=[ShieldMiddleware(shield)])``;
* :func:`shield_model` + :func:`shielded_tool_node` (or :func:`shield_tool_wrappers`) — a
  hand-built ``StateGraph`` with a ``ToolNode``;
* :func:`shield_tools` — tools called directly (call and observation shifts only).

Test helpers (a scripted tool-calling chat model) live in :mod:`agentshield_langchain.testing`.
"""

from agentshield_langchain._runs import RUN_ID_KEY
from agentshield_langchain.middleware import ShieldMiddleware
from agentshield_langchain.model import ShieldedChatModel, shield_model
from agentshield_langchain.tool_node import shield_tool_wrappers, shielded_tool_node
from agentshield_langchain.tools import ShieldedTool, shield_tools

__version__ = "0.1.0"

__all__ = [
    "RUN_ID_KEY",
    "ShieldMiddleware",
    "ShieldedChatModel",
    "ShieldedTool",
    "__version__",
    "shield_model",
    "shield_tool_wrappers",
    "shield_tools",
    "shielded_tool_node",
]
