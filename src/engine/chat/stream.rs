//! Asking the fallback chain: each entry's request is sent and its stream
//! decoded until one answers; the pieces go to the caller as they arrive.
//!
//! An entry is skipped (and the next tried) on a connection error, an error
//! status (401/403 with the reason and the `opsdeck key set` command, 404,
//! 429 with its `retry-after`, 5xx), an error before any token, or no first
//! token within the provider's `first_token_timeout`. Once a first piece has
//! arrived the answer is that entry's: a later drop or silence past
//! `idle_timeout` ends it `Cut` (what arrived is kept), a stream that ends
//! without saying why ends it `Unfinished`.
//!
//! Cancelling is dropping the future: the response body (and with it the
//! connection) is owned by it, nothing is spawned.

use std::time::Duration;

use futures_util::StreamExt;
use sse_stream::Sse;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::context::{estimate_tokens, message_tokens};
use super::error::ChatError;
use super::openai::StreamFault;
use super::provider::{ERROR_BODY_MAX, Provider, Providers, read_capped};
use super::sse::Events;
use super::{anthropic, openai};
use crate::config::chat::ProviderKind;
use crate::protocol::chat::{
    ChatDelta, ChatMessage, Finish, MAX_ANSWER_BYTES, ModelRef, Role, Skipped, ToolDef, Usage,
};

/// What is asked: the same for every entry of the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub system: String,
    /// The conversation as sent (already fitted to the context window).
    pub messages: Vec<ChatMessage>,
    pub tools: Vec<ToolDef>,
    pub temperature: Option<f32>,
}

/// What [`ask`] reports while it works, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// This entry is being asked.
    Trying { model: ModelRef },
    /// This entry did not answer; the next one is tried.
    Skipped(Skipped),
    /// A piece of the answer of the entry last `Trying`. An entry sends
    /// none before it is skipped: the deltas after the last `Trying` are
    /// the whole answer, to fold with `ChatMessage::apply`.
    Delta(ChatDelta),
}

/// How an answer ended: who gave it, who was skipped before, why it ended,
/// and its token counts (estimated when the server reported none).
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    pub model: ModelRef,
    pub skipped: Vec<Skipped>,
    pub finish: Finish,
    pub usage: Option<Usage>,
}

/// Ask `chain`'s entries in turn until one answers, sending each piece to
/// `progress` as it arrives (awaiting room: pieces are never dropped).
/// Errors: an empty chain, or every entry skipped ([`ChatError::AllFailed`]
/// lists why each was).
pub async fn ask(
    client: &reqwest::Client,
    providers: &Providers,
    chain: &[ModelRef],
    req: &Request,
    progress: &mpsc::Sender<Progress>,
) -> Result<Answered, ChatError> {
    if chain.is_empty() {
        return Err(if providers.is_empty() { ChatError::NoProviders } else { ChatError::NoModel });
    }
    let mut skipped = Vec::new();
    let resting = &providers.resting;
    for (i, model) in chain.iter().enumerate() {
        // A resting entry is passed over while a later one is not resting.
        let now = Instant::now();
        if let Some((why, ago)) = resting.why(model, now)
            && chain[i + 1..].iter().any(|m| resting.why(m, now).is_none())
        {
            // Saved with the answer: a fact that stays true, never a countdown.
            let reason = super::rest::reason(&why, ago);
            let s = Skipped { model: model.clone(), reason };
            let _ = progress.send(Progress::Skipped(s.clone())).await;
            skipped.push(s);
            continue;
        }
        let _ = progress.send(Progress::Trying { model: model.clone() }).await;
        let outcome = match providers.get(&model.provider) {
            None => Err(format!("no [[provider]] named {:?} in config.toml", model.provider)),
            Some(p) => attempt(client, p, &model.model, req, progress).await,
        };
        match outcome {
            Ok((finish, usage)) => {
                resting.answered(model);
                return Ok(Answered { model: model.clone(), skipped, finish, usage: Some(usage) });
            }
            Err(reason) => {
                resting.failed(model, &reason, Instant::now());
                let s = Skipped { model: model.clone(), reason };
                let _ = progress.send(Progress::Skipped(s.clone())).await;
                skipped.push(s);
            }
        }
    }
    Err(ChatError::AllFailed { skipped })
}

/// The decoder of a provider's stream.
#[derive(Debug, Clone)]
pub enum Decoder {
    Openai(openai::StreamDecoder),
    Anthropic(anthropic::StreamDecoder),
}

impl Decoder {
    pub fn new(kind: ProviderKind) -> Self {
        match kind {
            ProviderKind::Openai => Decoder::Openai(openai::StreamDecoder::new()),
            ProviderKind::Anthropic => Decoder::Anthropic(anthropic::StreamDecoder::new()),
        }
    }

    /// One event's deltas (see the adapters' `decode`).
    pub fn decode(&mut self, sse: &Sse) -> Result<Vec<ChatDelta>, StreamFault> {
        let data = sse.data.as_deref().unwrap_or_default();
        match self {
            Decoder::Openai(d) => match sse.event.as_deref() {
                // llama.cpp and vLLM name an error event; its data is the error.
                Some("error") => Err(StreamFault(openai::error_message(data))),
                _ => d.decode(data),
            },
            Decoder::Anthropic(d) => d.decode(sse.event.as_deref(), data),
        }
    }

    /// The stream said it is over (`[DONE]`, `message_stop`).
    pub fn is_done(&self) -> bool {
        match self {
            Decoder::Openai(d) => d.is_done(),
            Decoder::Anthropic(d) => d.is_done(),
        }
    }

    /// The model said why it stopped.
    pub fn is_finished(&self) -> bool {
        match self {
            Decoder::Openai(d) => d.is_finished(),
            Decoder::Anthropic(d) => d.is_finished(),
        }
    }
}

/// The request's path and body for `model`.
pub fn request_body(
    kind: ProviderKind,
    model: &str,
    req: &Request,
    max_tokens: u32,
) -> (&'static str, serde_json::Value) {
    match kind {
        ProviderKind::Openai => ("chat/completions", openai::request_body(model, req, max_tokens)),
        ProviderKind::Anthropic => ("messages", anthropic::request_body(model, req, max_tokens)),
    }
}

/// One entry: `Ok` once it answered (how it ended, its usage), `Err(why)`
/// when it is skipped.
async fn attempt(
    client: &reqwest::Client,
    provider: &Provider,
    model: &str,
    req: &Request,
    progress: &mpsc::Sender<Progress>,
) -> Result<(Finish, Usage), String> {
    let cfg = &provider.config;
    let first_token = cfg.first_token_timeout;
    // A server may hold its headers until its model is loaded: their wait
    // counts toward the first-token timeout.
    let deadline = Instant::now() + first_token.max(cfg.connect_timeout);
    let (path, body) = request_body(cfg.kind, model, req, cfg.max_tokens);
    let at = reqwest::Url::parse(&provider.url(path)).ok().and_then(|u| crate::net::host_port(&u)).unwrap_or_default();
    let send = provider.request(client, reqwest::Method::POST, path).json(&body).send();
    let resp = match tokio::time::timeout_at(deadline, send).await {
        Err(_) => return Err(format!("no first token within {} ({at})", secs(first_token))),
        Ok(Err(e)) => return Err(crate::net::request_error(&e)),
        Ok(Ok(r)) => r,
    };
    let status = resp.status();
    if !status.is_success() {
        let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = match tokio::time::timeout_at(deadline, read_capped(resp, ERROR_BODY_MAX)).await {
            Ok(Ok(b)) => String::from_utf8_lossy(&b.bytes).into_owned(),
            _ => String::new(),
        };
        return Err(provider.status_reason(status.as_u16(), retry_after.as_deref(), &body, model));
    }
    let content_type =
        resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let mut answer =
        Answer { msg: ChatMessage::new(Role::Assistant, "", 0), started: false, capped: false, held: None };
    let finish = if content_type.contains("json") {
        whole(resp, cfg.kind, deadline, &mut answer, progress).await
    } else {
        streamed(resp, cfg.kind, deadline, cfg.idle_timeout, first_token, &mut answer, progress).await
    };
    // An error event in place of the answer may say the request did not fit.
    let finish = finish.map_err(|reason| {
        let said = reason.clone();
        super::overflow::explain(cfg, reason, &said)
    })?;
    let finish = finish.unwrap_or_else(|| answer.msg.finish.clone().unwrap_or(Finish::Unfinished));
    if answer.msg.finish.as_ref() != Some(&finish) {
        answer.send(ChatDelta::Finish { finish: finish.clone() }, progress).await;
    }
    let usage = match answer.msg.usage {
        Some(u) => u,
        None => {
            let usage = estimate_usage(req, &answer.msg);
            answer.send(ChatDelta::Usage { usage }, progress).await;
            usage
        }
    };
    Ok((finish, usage))
}

/// The answer as it arrives, folded like the caller folds it (for the cap
/// and the estimate).
struct Answer {
    msg: ChatMessage,
    /// A piece of the answer (not only usage) arrived.
    started: bool,
    /// Something was dropped at [`MAX_ANSWER_BYTES`].
    capped: bool,
    /// Usage reported before the answer started (Anthropic's
    /// `message_start`): sent with the first piece, so that an entry that is
    /// skipped sent nothing.
    held: Option<ChatDelta>,
}

impl Answer {
    async fn send(&mut self, d: ChatDelta, progress: &mpsc::Sender<Progress>) {
        self.capped |= !self.msg.apply(&d);
        if !self.started {
            if matches!(d, ChatDelta::Usage { .. }) {
                self.held = Some(d);
                return;
            }
            self.started = true;
            if let Some(h) = self.held.take() {
                let _ = progress.send(Progress::Delta(h)).await;
            }
        }
        let _ = progress.send(Progress::Delta(d)).await;
    }
}

/// A non-streamed JSON answer (a server that ignored `stream: true`).
/// `Ok(Some(finish))` overrides the server's finish.
async fn whole(
    resp: reqwest::Response,
    kind: ProviderKind,
    deadline: Instant,
    answer: &mut Answer,
    progress: &mpsc::Sender<Progress>,
) -> Result<Option<Finish>, String> {
    let body = match tokio::time::timeout_at(deadline, read_capped(resp, 2 * MAX_ANSWER_BYTES)).await {
        Err(_) => return Err("the answer did not arrive in time".into()),
        Ok(Err(e)) => return Err(format!("the answer broke off: {e}")),
        Ok(Ok(b)) if b.truncated => {
            return Err(format!("the answer is larger than {} MiB", (2 * MAX_ANSWER_BYTES) >> 20));
        }
        Ok(Ok(b)) => b.bytes,
    };
    let deltas = match kind {
        ProviderKind::Openai => openai::decode_whole(&body),
        ProviderKind::Anthropic => anthropic::decode_whole(&body),
    };
    let Some(deltas) = deltas else {
        let what = openai::error_message(&String::from_utf8_lossy(&body));
        return Err(format!("the server answered JSON that is not an answer: {what}"));
    };
    for d in deltas {
        answer.send(d, progress).await;
    }
    Ok(answer.capped.then(cut_at_cap))
}

fn cut_at_cap() -> Finish {
    Finish::Cut { error: format!("the answer passed {} MiB; the rest was dropped", MAX_ANSWER_BYTES >> 20) }
}

/// A streamed answer. `Err` only before its first piece; `Ok(Some(Cut))`
/// when it broke off after.
async fn streamed(
    resp: reqwest::Response,
    kind: ProviderKind,
    deadline: Instant,
    idle: Duration,
    first_token: Duration,
    answer: &mut Answer,
    progress: &mpsc::Sender<Progress>,
) -> Result<Option<Finish>, String> {
    let mut events = Events::from_response(resp);
    let mut decoder = Decoder::new(kind);
    loop {
        let next = if answer.started {
            tokio::time::timeout(idle, events.next()).await
        } else {
            tokio::time::timeout_at(deadline, events.next()).await
        };
        let broke = match next {
            Err(_) if !answer.started => return Err(format!("no first token within {}", secs(first_token))),
            Err(_) => format!("no data for {}", secs(idle)),
            Ok(None) => return ended(answer, None),
            Ok(Some(Err(e))) => e,
            Ok(Some(Ok(sse))) => match decoder.decode(&sse) {
                Ok(deltas) => {
                    for d in deltas {
                        answer.send(d, progress).await;
                        if answer.capped {
                            return Ok(Some(cut_at_cap()));
                        }
                    }
                    if decoder.is_done() {
                        return ended(answer, None);
                    }
                    continue;
                }
                Err(StreamFault(msg)) => format!("the server reported an error: {msg}"),
            },
        };
        // What went wrong after the model said it was done loses nothing.
        return match (answer.started, decoder.is_finished()) {
            (false, _) => Err(broke),
            (true, true) => Ok(None),
            (true, false) => Ok(Some(Finish::Cut { error: broke })),
        };
    }
}

/// The stream ended (closed or `[DONE]`): an answer without a single piece is
/// skipped; otherwise its finish stands (the caller marks none `Unfinished`).
fn ended(answer: &Answer, finish: Option<Finish>) -> Result<Option<Finish>, String> {
    if answer.started { Ok(finish) } else { Err("the stream ended before any answer".into()) }
}

/// The usage of an answer whose server reported none: about 4 bytes a token.
pub fn estimate_usage(req: &Request, answer: &ChatMessage) -> Usage {
    let tools: u64 = req
        .tools
        .iter()
        .map(|t| {
            estimate_tokens(&t.name) + estimate_tokens(&t.description) + estimate_tokens(&t.parameters.to_string())
        })
        .sum();
    let input = estimate_tokens(&req.system) + tools + req.messages.iter().map(message_tokens).sum::<u64>();
    let output = estimate_tokens(&answer.content)
        + answer.tool_calls.iter().map(|c| estimate_tokens(&c.name) + estimate_tokens(&c.arguments)).sum::<u64>();
    Usage { input, output, estimated: true }
}

/// `30s`, `1500ms`.
fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 { format!("{}s", d.as_secs()) } else { format!("{}ms", d.as_millis()) }
}
