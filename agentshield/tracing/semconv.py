"""Every span attribute key and event name AgentShield writes or reads.

The OpenTelemetry GenAI conventions are still marked as moving, so we pin the names we use
here instead of importing them from ``opentelemetry-semantic-conventions``. Three groups:

* ``GEN_AI_*`` / ``ERROR_TYPE``: the OTel GenAI semantic conventions (what we write, and what
  we read from other instrumentations).
* ``AS_*``: AgentShield's own ``agentshield.*`` provenance.
* ``OI_*``: OpenInference's conventions (Arize Phoenix and its instrumentors), read only.

Attributes marked *content* are written only when content capture is on, and always after
redaction.
"""

from __future__ import annotations

# --- OTel GenAI semantic conventions ---------------------------------------------------------

GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"
GEN_AI_AGENT_NAME = "gen_ai.agent.name"
GEN_AI_AGENT_ID = "gen_ai.agent.id"
GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id"
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_TYPE = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"  # content
GEN_AI_TOOL_CALL_RESULT = "gen_ai.tool.call.result"  # content
GEN_AI_INPUT_MESSAGES = "gen_ai.input.messages"  # content
GEN_AI_OUTPUT_MESSAGES = "gen_ai.output.messages"  # content
GEN_AI_SYSTEM_INSTRUCTIONS = "gen_ai.system_instructions"  # content
GEN_AI_TOOL_DEFINITIONS = "gen_ai.tool.definitions"  # content
ERROR_TYPE = "error.type"

#: The event some instrumentations use to carry the message attributes instead of the span.
GEN_AI_OPERATION_DETAILS_EVENT = "gen_ai.client.inference.operation.details"

OP_INVOKE_AGENT = "invoke_agent"
OP_CHAT = "chat"
OP_EXECUTE_TOOL = "execute_tool"
#: Operation names other GenAI instrumentations use for a model call.
MODEL_CALL_OPERATIONS = frozenset({"chat", "text_completion", "generate_content"})

# --- AgentShield provenance ------------------------------------------------------------------

AS_RUN_ID = "agentshield.run_id"
AS_RUN_ABANDONED = "agentshield.run.abandoned"  # ended without its end hook (Recorder.start_run)
AS_TASK_ID = "agentshield.task_id"
AS_OUTCOME = "agentshield.outcome"
AS_OUTCOME_ANSWER = "agentshield.outcome.answer"  # content
AS_OUTCOME_DETAIL = "agentshield.outcome.detail"  # content
AS_CAPTURE_CONTENT = "agentshield.capture_content"
AS_TOOL_NAMES = "agentshield.tool.names"
AS_TOOL_SHOWN_NAME = "agentshield.tool.shown_name"
AS_TOOL_REAL_NAME = "agentshield.tool.real_name"
AS_TOOL_REAL_ARGUMENTS = "agentshield.tool.real_arguments"  # content
AS_TOOL_IS_ERROR = "agentshield.tool.is_error"
AS_INJECTED = "agentshield.injected"
AS_INJECTED_BY = "agentshield.injected_by"
#: Parallel arrays: one entry per distinct perturbation that acted on the span.
AS_PERTURBATION_NAME = "agentshield.perturbation.name"
AS_PERTURBATION_TIER = "agentshield.perturbation.tier"
AS_PERTURBATION_PARAMS = "agentshield.perturbation.params"
AS_PERTURBATION_SEED = "agentshield.perturbation.seed"

#: One event per Shield decision, with the attributes below.
AS_PERTURBATION_EVENT = "agentshield.perturbation"
AS_DECISION_SURFACE = "agentshield.decision.surface"
AS_DECISION_KEY = "agentshield.decision.key"
AS_DECISION_ACTION = "agentshield.decision.action"
AS_DECISION_DETAIL = "agentshield.decision.detail"

#: One event per detector verdict (the detectors fill these in).
AS_DETECTION_EVENT = "agentshield.detection"
AS_DETECTOR_NAME = "agentshield.detector.name"
AS_DETECTOR_TIER = "agentshield.detector.tier"
AS_DETECTOR_VERDICT = "agentshield.detector.verdict"
AS_DETECTOR_SCORE = "agentshield.detector.score"
AS_DETECTOR_DETAIL = "agentshield.detector.detail"

# --- OpenInference (read only) ---------------------------------------------------------------

OI_SPAN_KIND = "openinference.span.kind"
OI_KIND_LLM = "LLM"
OI_KIND_TOOL = "TOOL"
OI_KIND_AGENT = "AGENT"
OI_KIND_CHAIN = "CHAIN"
OI_INPUT_VALUE = "input.value"
OI_OUTPUT_VALUE = "output.value"
OI_INPUT_MIME_TYPE = "input.mime_type"
OI_SESSION_ID = "session.id"
OI_AGENT_NAME = "agent.name"
OI_LLM_MODEL_NAME = "llm.model_name"
OI_LLM_INPUT_MESSAGES = "llm.input_messages"
OI_LLM_OUTPUT_MESSAGES = "llm.output_messages"
OI_LLM_TOOLS = "llm.tools"
OI_LLM_PROMPT_TOKENS = "llm.token_count.prompt"
OI_LLM_COMPLETION_TOKENS = "llm.token_count.completion"
OI_MESSAGE_ROLE = "message.role"
OI_MESSAGE_CONTENT = "message.content"
OI_MESSAGE_CONTENTS = "message.contents"
OI_MESSAGE_CONTENT_TEXT = "message_content.text"
OI_MESSAGE_NAME = "message.name"
OI_MESSAGE_TOOL_CALLS = "message.tool_calls"
OI_MESSAGE_TOOL_CALL_ID = "message.tool_call_id"
OI_TOOL_CALL_ID = "tool_call.id"
OI_TOOL_CALL_FUNCTION_NAME = "tool_call.function.name"
OI_TOOL_CALL_FUNCTION_ARGUMENTS = "tool_call.function.arguments"
OI_TOOL_JSON_SCHEMA = "tool.json_schema"
OI_TOOL_NAME = "tool.name"
OI_TOOL_DESCRIPTION = "tool.description"
OI_TOOL_PARAMETERS = "tool.parameters"

__all__ = [
    "AS_CAPTURE_CONTENT",
    "AS_DECISION_ACTION",
    "AS_DECISION_DETAIL",
    "AS_DECISION_KEY",
    "AS_DECISION_SURFACE",
    "AS_DETECTION_EVENT",
    "AS_DETECTOR_DETAIL",
    "AS_DETECTOR_NAME",
    "AS_DETECTOR_SCORE",
    "AS_DETECTOR_TIER",
    "AS_DETECTOR_VERDICT",
    "AS_INJECTED",
    "AS_INJECTED_BY",
    "AS_OUTCOME",
    "AS_OUTCOME_ANSWER",
    "AS_OUTCOME_DETAIL",
    "AS_PERTURBATION_EVENT",
    "AS_PERTURBATION_NAME",
    "AS_PERTURBATION_PARAMS",
    "AS_PERTURBATION_SEED",
    "AS_PERTURBATION_TIER",
    "AS_RUN_ABANDONED",
    "AS_RUN_ID",
    "AS_TASK_ID",
    "AS_TOOL_IS_ERROR",
    "AS_TOOL_NAMES",
    "AS_TOOL_REAL_ARGUMENTS",
    "AS_TOOL_REAL_NAME",
    "AS_TOOL_SHOWN_NAME",
    "ERROR_TYPE",
    "GEN_AI_AGENT_ID",
    "GEN_AI_AGENT_NAME",
    "GEN_AI_CONVERSATION_ID",
    "GEN_AI_INPUT_MESSAGES",
    "GEN_AI_OPERATION_DETAILS_EVENT",
    "GEN_AI_OPERATION_NAME",
    "GEN_AI_OUTPUT_MESSAGES",
    "GEN_AI_PROVIDER_NAME",
    "GEN_AI_REQUEST_MODEL",
    "GEN_AI_RESPONSE_FINISH_REASONS",
    "GEN_AI_RESPONSE_MODEL",
    "GEN_AI_SYSTEM_INSTRUCTIONS",
    "GEN_AI_TOOL_CALL_ARGUMENTS",
    "GEN_AI_TOOL_CALL_ID",
    "GEN_AI_TOOL_CALL_RESULT",
    "GEN_AI_TOOL_DEFINITIONS",
    "GEN_AI_TOOL_NAME",
    "GEN_AI_TOOL_TYPE",
    "GEN_AI_USAGE_INPUT_TOKENS",
    "GEN_AI_USAGE_OUTPUT_TOKENS",
    "MODEL_CALL_OPERATIONS",
    "OI_AGENT_NAME",
    "OI_INPUT_MIME_TYPE",
    "OI_INPUT_VALUE",
    "OI_KIND_AGENT",
    "OI_KIND_CHAIN",
    "OI_KIND_LLM",
    "OI_KIND_TOOL",
    "OI_LLM_COMPLETION_TOKENS",
    "OI_LLM_INPUT_MESSAGES",
    "OI_LLM_MODEL_NAME",
    "OI_LLM_OUTPUT_MESSAGES",
    "OI_LLM_PROMPT_TOKENS",
    "OI_LLM_TOOLS",
    "OI_MESSAGE_CONTENT",
    "OI_MESSAGE_CONTENTS",
    "OI_MESSAGE_CONTENT_TEXT",
    "OI_MESSAGE_NAME",
    "OI_MESSAGE_ROLE",
    "OI_MESSAGE_TOOL_CALLS",
    "OI_MESSAGE_TOOL_CALL_ID",
    "OI_OUTPUT_VALUE",
    "OI_SESSION_ID",
    "OI_SPAN_KIND",
    "OI_TOOL_CALL_FUNCTION_ARGUMENTS",
    "OI_TOOL_CALL_FUNCTION_NAME",
    "OI_TOOL_CALL_ID",
    "OI_TOOL_DESCRIPTION",
    "OI_TOOL_JSON_SCHEMA",
    "OI_TOOL_NAME",
    "OI_TOOL_PARAMETERS",
    "OP_CHAT",
    "OP_EXECUTE_TOOL",
    "OP_INVOKE_AGENT",
]
