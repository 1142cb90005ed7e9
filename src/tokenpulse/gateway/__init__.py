"""The metering gateway: an Anthropic- and OpenAI-compatible proxy that meters every request and
enforces budgets and circuit breakers before forwarding it."""
