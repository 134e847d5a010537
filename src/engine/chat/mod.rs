//! Chat with LLM providers: OpenAI-compatible Chat Completions and Anthropic
//! Messages streamed over SSE (adapters on reqwest + sse-stream), a fallback
//! chain, and the conversations' store. No terminal code; streams are
//! cancelled by dropping their task (which drops the HTTP response).
