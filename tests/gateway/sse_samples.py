"""Realistic request bodies, response bodies and SSE streams of the three APIs the gateway meters, written
out literally in the shapes of formats.md section 5 (ids and numbers as the vendors' own examples).

Every stream ends with a blank line, as the vendors send it; the text holds non-ASCII characters so that
splitting a stream at every byte offset also cuts UTF-8 characters in half.
"""

from __future__ import annotations


def sse(text: str) -> bytes:
    return text.encode()


# --- Anthropic Messages --------------------------------------------------------------------------------

ANTHROPIC_ID = "msg_01XFDUDYJgAACzvnptvVoYEL"
ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929"

# Cache reads, a cache write of which 2000 tokens with the 1-hour TTL, a thinking block whose text mentions
# "message_delta" and "usage" (it must not be taken for one), a ping, and the simple final message_delta.
ANTHROPIC_STREAM = sse("""\
event: message_start
data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":2051,"cache_read_input_tokens":10240,"cache_creation":{"ephemeral_5m_input_tokens":51,"ephemeral_1h_input_tokens":2000},"output_tokens":1,"service_tier":"standard"}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"The \\"usage\\" in a message_delta is cumulative: {\\"usage\\":{\\"output_tokens\\":9}}"}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Grüße aus 東京 🚀 — "}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"the test passes now."}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":503}}

event: message_stop
data: {"type":"message_stop"}

""")

# The same message, not streamed.
ANTHROPIC_RESPONSE = sse("""\
{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",\
"content":[{"type":"thinking","thinking":"…","signature":"EqQB"},{"type":"text","text":"Grüße aus 東京 🚀 — the test passes now."}],\
"stop_reason":"end_turn","stop_sequence":null,\
"usage":{"input_tokens":472,"cache_creation_input_tokens":2051,"cache_read_input_tokens":10240,\
"cache_creation":{"ephemeral_5m_input_tokens":51,"ephemeral_1h_input_tokens":2000},"output_tokens":503,\
"server_tool_use":{"web_search_requests":0},"service_tier":"standard"}}""")

# Server tools: the first message_delta repeats a larger input count and the web searches, the second
# (cumulative) only the output; thinking tokens are reported as a part of the output.
ANTHROPIC_SEARCH_STREAM = sse("""\
event: message_start
data: {"type":"message_start","message":{"id":"msg_01G4bd7hJ5EXAMPLE","type":"message","role":"assistant","model":"claude-opus-4-1-20250805","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":2679,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":3}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"server_tool_use","id":"srvtoolu_014hJH82Qum7Td6UV8gDXThB","name":"web_search","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"query\\": \\"weather NYC today\\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"web_search_tool_result","tool_use_id":"srvtoolu_014hJH82Qum7Td6UV8gDXThB","content":[{"type":"web_search_result","title":"Weather in New York City","url":"https://example.com/nyc","encrypted_content":"Ev0DCioIAxgCIiQ3NmU4ZmI4OS04OTk2","page_age":null}]}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: ping
data: {"type": "ping"}

event: content_block_start
data: {"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"It is 22 °C and sunny — ☀️."}}

event: content_block_stop
data: {"type":"content_block_stop","index":2}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":10682,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":510,"server_tool_use":{"web_search_requests":1},"output_tokens_details":{"thinking_tokens":120}}}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":530}}

event: message_stop
data: {"type":"message_stop"}

""")

# An overloaded error in the middle of the stream: no message_delta ever comes.
ANTHROPIC_ERROR_STREAM = sse("""\
event: message_start
data: {"type":"message_start","message":{"id":"msg_01Overloaded","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3100,"cache_creation_input_tokens":0,"cache_read_input_tokens":48000,"output_tokens":2}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me"}}

event: error
data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}

""")

ANTHROPIC_ERROR_BODY = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011"}'


# --- OpenAI Chat Completions -----------------------------------------------------------------------------

CHAT_ID = "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"
CHAT_MODEL = "o4-mini-2025-04-16"

_CHUNK = ('data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741570283,'
          '"model":"o4-mini-2025-04-16","service_tier":"default","system_fingerprint":null,')

# What the client sees when it asked for no usage (and what is left after stripping the usage chunk).
CHAT_CONTENT = sse(f"""\
{_CHUNK}"choices":[{{"index":0,"delta":{{"role":"assistant","content":"","refusal":null}},"logprobs":null,"finish_reason":null}}],"usage":null}}

{_CHUNK}"choices":[{{"index":0,"delta":{{"content":"Grüße aus 東京 🚀 "}},"logprobs":null,"finish_reason":null}}],"usage":null}}

{_CHUNK}"choices":[{{"index":0,"delta":{{"content":"(a \\"usage\\": {{\\"x\\": 1}} key is just text)"}},"logprobs":null,"finish_reason":null}}],"usage":null}}

{_CHUNK}"choices":[{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":"stop"}}],"usage":null}}

""")

CHAT_USAGE_EVENT = sse(f"""\
{_CHUNK}"choices":[],"usage":{{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,"prompt_tokens_details":{{"cached_tokens":1024,"audio_tokens":0}},"completion_tokens_details":{{"reasoning_tokens":128,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}}}}

""")

CHAT_DONE = b"data: [DONE]\n\n"
CHAT_STREAM = CHAT_CONTENT + CHAT_USAGE_EVENT + CHAT_DONE
CHAT_STREAM_WITHOUT_USAGE = CHAT_CONTENT + CHAT_DONE

CHAT_RESPONSE = sse("""\
{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion","created":1741570283,\
"model":"o4-mini-2025-04-16","choices":[{"index":0,"message":{"role":"assistant","content":"Grüße aus 東京 🚀",\
"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],\
"usage":{"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,\
"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},\
"completion_tokens_details":{"reasoning_tokens":128,"audio_tokens":0,"accepted_prediction_tokens":0,\
"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":null}""")

# A response with the newer `cache_write_tokens` (part of prompt_tokens, like cached_tokens).
CHAT_RESPONSE_CACHE_WRITE = sse("""\
{"id":"chatcmpl-CW1","object":"chat.completion","created":1783000000,"model":"gpt-5.2","choices":[],\
"usage":{"prompt_tokens":5000,"completion_tokens":40,"total_tokens":5040,\
"prompt_tokens_details":{"cached_tokens":1000,"cache_write_tokens":3000,"audio_tokens":0,"image_tokens":0,"text_tokens":5000},\
"completion_tokens_details":{"reasoning_tokens":0,"text_tokens":40}}}""")

CHAT_ERROR_BODY = (b'{"error":{"message":"Rate limit reached for o4-mini","type":"requests",'
                   b'"param":null,"code":"rate_limit_exceeded"}}')


# --- OpenAI Responses ------------------------------------------------------------------------------------

RESPONSES_ID = "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"
RESPONSES_MODEL = "gpt-5-codex"

_RESPONSE_HEAD = ('"id":"resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b","object":"response",'
                  '"created_at":1741476542,')
_RESPONSE_TAIL = ('"error":null,"incomplete_details":null,"instructions":"You are Codex, based on GPT-5. '
                  'You are running as a coding agent in the Codex CLI… Report \\"usage\\" honestly.",'
                  '"max_output_tokens":null,"model":"gpt-5-codex","parallel_tool_calls":false,'
                  '"previous_response_id":null,"reasoning":{"effort":"medium","summary":"auto"},"store":false,'
                  '"temperature":1.0,"text":{"format":{"type":"text"}},"tool_choice":"auto","tools":[],"top_p":1.0,'
                  '"truncation":"disabled","user":null,"metadata":{}')
_OUTPUT = ('[{"id":"rs_67cc","type":"reasoning","summary":[]},{"id":"msg_67cc","type":"message","status":"completed",'
           '"role":"assistant","content":[{"type":"output_text","text":"Grüße 🚀 done","annotations":[]}]}]')
_USAGE = ('{"input_tokens":11032,"input_tokens_details":{"cached_tokens":9984,"cache_write_tokens":0},'
          '"output_tokens":22,"output_tokens_details":{"reasoning_tokens":8},"total_tokens":11054}')

RESPONSES_STREAM = sse(f"""\
event: response.created
data: {{"type":"response.created","sequence_number":0,"response":{{{_RESPONSE_HEAD}"status":"in_progress",{_RESPONSE_TAIL},"output":[],"usage":null}}}}

event: response.in_progress
data: {{"type":"response.in_progress","sequence_number":1,"response":{{{_RESPONSE_HEAD}"status":"in_progress",{_RESPONSE_TAIL},"output":[],"usage":null}}}}

event: response.output_item.added
data: {{"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{{"id":"rs_67cc","type":"reasoning","summary":[]}}}}

event: response.output_item.done
data: {{"type":"response.output_item.done","sequence_number":3,"output_index":0,"item":{{"id":"rs_67cc","type":"reasoning","summary":[]}}}}

event: response.output_item.added
data: {{"type":"response.output_item.added","sequence_number":4,"output_index":1,"item":{{"id":"msg_67cc","type":"message","status":"in_progress","role":"assistant","content":[]}}}}

event: response.content_part.added
data: {{"type":"response.content_part.added","sequence_number":5,"item_id":"msg_67cc","output_index":1,"content_index":0,"part":{{"type":"output_text","text":"","annotations":[]}}}}

event: response.output_text.delta
data: {{"type":"response.output_text.delta","sequence_number":6,"item_id":"msg_67cc","output_index":1,"content_index":0,"delta":"Grüße 🚀 response.completed"}}

event: response.output_text.delta
data: {{"type":"response.output_text.delta","sequence_number":7,"item_id":"msg_67cc","output_index":1,"content_index":0,"delta":" done"}}

event: response.output_text.done
data: {{"type":"response.output_text.done","sequence_number":8,"item_id":"msg_67cc","output_index":1,"content_index":0,"text":"Grüße 🚀 done"}}

event: response.completed
data: {{"type":"response.completed","sequence_number":9,"response":{{{_RESPONSE_HEAD}"status":"completed",{_RESPONSE_TAIL},"output":{_OUTPUT},"usage":{_USAGE}}}}}

""")

RESPONSES_RESPONSE = sse(f'{{{_RESPONSE_HEAD}"status":"completed",{_RESPONSE_TAIL},"output":{_OUTPUT},"usage":{_USAGE}}}')

# Stopped at max_output_tokens: the terminal event is response.incomplete, with usage.
RESPONSES_INCOMPLETE_STREAM = sse(f"""\
event: response.created
data: {{"type":"response.created","sequence_number":0,"response":{{{_RESPONSE_HEAD}"status":"in_progress",{_RESPONSE_TAIL},"output":[],"usage":null}}}}

event: response.output_text.delta
data: {{"type":"response.output_text.delta","sequence_number":1,"item_id":"msg_67cc","output_index":0,"content_index":0,"delta":"Grüße"}}

event: response.incomplete
data: {{"type":"response.incomplete","sequence_number":2,"response":{{{_RESPONSE_HEAD}"status":"incomplete","incomplete_details":{{"reason":"max_output_tokens"}},"model":"gpt-5-codex","output":[],"usage":{{"input_tokens":900,"input_tokens_details":{{"cached_tokens":0}},"output_tokens":16,"output_tokens_details":{{"reasoning_tokens":16}},"total_tokens":916}}}}}}

""")

# A failure with no usage attached: the stream ends without a figure.
RESPONSES_FAILED_STREAM = sse(f"""\
event: response.created
data: {{"type":"response.created","sequence_number":0,"response":{{{_RESPONSE_HEAD}"status":"in_progress",{_RESPONSE_TAIL},"output":[],"usage":null}}}}

event: response.failed
data: {{"type":"response.failed","sequence_number":1,"response":{{{_RESPONSE_HEAD}"status":"failed","error":{{"code":"server_error","message":"The model failed."}},"model":"gpt-5-codex","output":[],"usage":null}}}}

""")


# --- requests --------------------------------------------------------------------------------------------

# Pretty-printed on purpose: a body the gateway does not change must go out byte for byte.
ANTHROPIC_REQUEST = sse("""\
{
  "model": "claude-sonnet-4-5",
  "max_tokens": 32000,
  "stream": true,
  "system": [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI.", "cache_control": {"type": "ephemeral"}}],
  "tools": [{"name": "Bash", "description": "Run a shell command", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}],
  "messages": [
    {"role": "user", "content": "Fix the failing test in tests/test_money.py — bitte schnell 🙏"},
    {"role": "assistant", "content": [{"type": "text", "text": "I'll run the tests."}, {"type": "tool_use", "id": "toolu_01A", "name": "Bash", "input": {"command": "pytest -q"}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01A", "content": "1 failed, 41 passed", "cache_control": {"type": "ephemeral"}}]}
  ]
}
""")

CHAT_REQUEST = sse("""\
{"model": "o4-mini", "stream": true, "max_completion_tokens": 4096, "max_tokens": 100,
 "messages": [{"role": "system", "content": "You are a coding agent."},
              {"role": "user", "content": "Run the tests."}]}""")

RESPONSES_REQUEST = sse("""\
{"model":"gpt-5-codex","instructions":"You are Codex.","stream":true,"store":false,"max_output_tokens":8000,\
"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"Run the tests."}]},\
{"type":"reasoning","id":"rs_1","summary":[]},\
{"type":"function_call","call_id":"call_1","name":"shell","arguments":"{\\"command\\":[\\"pytest\\"]}"},\
{"type":"function_call_output","call_id":"call_1","output":"1 failed, 41 passed"}]}""")
