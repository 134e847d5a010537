//! `opsdeck chat "question"`: ask the assistant headless. The answer streams
//! to stdout; which model answered, skipped fallback entries and token counts
//! go to stderr. Piped stdin is attached to the question as context. The
//! conversation is saved (`--conversation ID` goes on with one). Tool calls
//! are refused unless `--allow-tools read-only`, which runs read-only tools
//! without asking (mutating tools are never run headless).
//!
//! Exit codes: 0 answered (also when the answer stopped at the provider's
//! `max_tokens`: a note says so), 1 no answer or a cut or unfinished one,
//! 2 bad usage or config, 130 stopped by Ctrl-C (what arrived is saved).

use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Cli, err_line, fail};
use crate::clock::SystemClock;
use crate::config::Paths;
use crate::config::settings::{Config, load_config};
use crate::engine::chat::{self, Progress, Providers, Request};
use crate::engine::store::chat::fresh_conversation_id;
use crate::engine::tools::service::{RunRequest, ToolEvent, ToolService};
use crate::engine::tools::{Registry, RunOptions};
use crate::protocol::chat::{
    Attachment, ChatMessage, Conversation, ConversationMeta, Finish, ModelRef, Role, ToolCallState, ToolDef, title_from,
};
use crate::protocol::tools::RunOrigin;

/// Most bytes of piped stdin attached (the rest is cut, and the model is told).
const STDIN_CAP: usize = 256 * 1024;

#[derive(Debug, clap::Args)]
pub struct ChatArgs {
    /// The question (words are joined with spaces). Without one, piped stdin
    /// is the question itself rather than context for it.
    #[arg(value_name = "QUESTION")]
    pub question: Vec<String>,
    /// Ask this provider first (its first model unless --model).
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,
    /// Ask this model first (of --provider, else of the first provider).
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// Go on with a saved conversation (its id is on the last line `opsdeck chat` prints).
    #[arg(long, value_name = "ID", conflicts_with = "new")]
    pub conversation: Option<String>,
    /// Start a new conversation (the default).
    #[arg(long)]
    pub new: bool,
    /// Let the model call tools: `read-only` runs read-only tools without asking; mutating tools are never run
    /// headless.
    #[arg(long, value_name = "WHICH", value_parser = ["none", "read-only"], default_value = "none")]
    pub allow_tools: String,
}

pub(super) fn chat(cli: &Cli, args: &ChatArgs, paths: &Paths) -> ExitCode {
    let config = match load_config(cli.config.as_deref(), &paths.config_file()) {
        Ok(l) => {
            for w in &l.warnings {
                err_line!("warning: {w}");
            }
            l.config
        }
        Err(e) => {
            err_line!("error: {}", crate::net::strip_os_error(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    if config.providers.is_empty() {
        err_line!("error: no LLM provider is configured; add one to {}:", paths.config_file().display());
        err_line!(
            "  [[provider]]\n  name = \"local\"\n  kind = \"openai\"\n  base_url = \"http://127.0.0.1:11434/v1\""
        );
        err_line!(
            "  models = [\"llama3.2\"]\n(a key, if it needs one: opsdeck key set provider:local; see docs/chat.md)"
        );
        return ExitCode::from(2);
    }
    let chosen = match choose(&config, args.provider.as_deref(), args.model.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            err_line!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut question = args.question.join(" ");
    let mut stdin = if std::io::stdin().is_terminal() { None } else { read_stdin() };
    if question.trim().is_empty() {
        // `git diff | opsdeck chat`: what was piped is the question.
        match stdin.take() {
            Some((text, cut)) if !text.trim().is_empty() => {
                question = text;
                stdin = Some((String::new(), cut));
            }
            _ => {
                err_line!(
                    "error: no question: give it as words (opsdeck chat \"why is the disk full?\") or pipe it on stdin"
                );
                return ExitCode::from(2);
            }
        }
    }
    let tools_allowed = args.allow_tools == "read-only";
    if stdin.as_ref().is_some_and(|(_, cut)| cut.is_some()) {
        err_line!("note: stdin was cut to its first {} KiB", STDIN_CAP / 1024);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let (providers, warnings) = rt.block_on(Providers::load(&config.providers, &config.chat, paths.config_dir.clone()));
    for w in warnings {
        err_line!("warning: {w}");
    }
    let client = match chat::http_client() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if let Some(m) = &chosen {
        match rt.block_on(check_listed(&client, &providers, m)) {
            Ok(None) => {}
            Ok(Some(note)) => err_line!("warning: {note}"),
            Err(e) => {
                err_line!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let records = match super::tool::open_records(paths) {
        Ok(r) => r,
        Err(e) => return fail(format!("the data directory: {e}")),
    };
    let now = chrono::Utc::now().timestamp_millis();
    let mut conv = match &args.conversation {
        Some(id) => match records.chat_load(id) {
            Ok(Some(c)) => c,
            Ok(None) => {
                err_line!("error: no saved conversation {id:?}; the TUI's chat pane lists them");
                return ExitCode::from(2);
            }
            Err(e) => return fail(format!("reading conversation {id}: {e}")),
        },
        None => Conversation { meta: ConversationMeta::new(fresh_conversation_id(now), now), messages: Vec::new() },
    };
    if conv.meta.title.is_empty() {
        conv.meta.title = title_from(&question);
    }
    let mut msg = ChatMessage::new(Role::User, std::mem::take(&mut question), now);
    if let Some((text, cut)) = stdin.filter(|(text, _)| !text.is_empty()) {
        let lines = text.lines().count();
        let title = format!("stdin ({lines} lines{})", cut.map_or(String::new(), |n| format!(", cut from {n} bytes")));
        msg.attachments.push(Attachment { kind: "stdin".into(), title, text });
    }
    conv.messages.push(msg);
    let code = rt.block_on(converse(&config, paths, (&client, &providers), chosen, &mut conv, tools_allowed));
    conv.meta.updated = chrono::Utc::now().timestamp_millis();
    match records.chat_save(&conv) {
        Ok(()) => {
            err_line!("conversation {} (opsdeck chat --conversation {} \"…\" goes on)", conv.meta.id, conv.meta.id)
        }
        Err(e) => err_line!("warning: the conversation was not saved: {e}"),
    }
    code
}

/// `--provider` / `--model` as the entry asked first.
fn choose(config: &Config, provider: Option<&str>, model: Option<&str>) -> Result<Option<ModelRef>, String> {
    let p = match provider {
        None if model.is_none() => return Ok(None),
        None => &config.providers[0],
        Some(name) => config.providers.iter().find(|p| p.name == name).ok_or_else(|| {
            let names: Vec<_> = config.providers.iter().map(|p| p.name.as_str()).collect();
            format!("no provider {name:?}; configured: {}", names.join(", "))
        })?,
    };
    let model = match model.map(str::to_string).or_else(|| p.models.first().cloned()) {
        Some(m) => m,
        None => return Err(format!("provider {} lists no models: give --model", p.name)),
    };
    if !p.models.is_empty() && !p.models.contains(&model) {
        return Err(not_offered(&p.name, &model, "configured", &p.models));
    }
    Ok(Some(ModelRef { provider: p.name.clone(), model }))
}

/// `no model "nosuch" at provider local; configured: smollm2` (at most 20
/// names, then how many more).
fn not_offered(provider: &str, model: &str, how: &str, models: &[String]) -> String {
    const SHOWN: usize = 20;
    let mut names = models.iter().take(SHOWN).map(String::as_str).collect::<Vec<_>>().join(", ");
    if models.len() > SHOWN {
        names.push_str(&format!(" and {} more", models.len() - SHOWN));
    }
    if names.is_empty() {
        names = "none".into();
    }
    format!("no model {model:?} at provider {provider}; {how}: {names}")
}

/// The chosen model of a provider whose `models` is empty, checked against
/// what its server lists: `Err` when it lists others (exit 2), `Ok(Some(note))`
/// when the listing failed (the question is asked all the same).
async fn check_listed(
    client: &reqwest::Client,
    providers: &Providers,
    chosen: &ModelRef,
) -> Result<Option<String>, String> {
    let Some(p) = providers.get(&chosen.provider).filter(|p| p.config.models.is_empty()) else {
        return Ok(None);
    };
    match chat::list_models(client, p).await {
        Ok(listed) if listed.contains(&chosen.model) => Ok(None),
        Ok(listed) => Err(not_offered(p.name(), &chosen.model, "its server lists", &listed)),
        Err(e) => Ok(Some(format!("cannot list the models to check {:?}: {e}; asking it anyway", chosen.model))),
    }
}

/// Piped stdin, capped at [`STDIN_CAP`] bytes (lossy UTF-8), and its whole
/// size when it was cut.
fn read_stdin() -> Option<(String, Option<usize>)> {
    let mut buf = Vec::new();
    let mut stdin = std::io::stdin().lock();
    let mut chunk = [0u8; 64 * 1024];
    let mut total = 0usize;
    loop {
        match stdin.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                let room = STDIN_CAP.saturating_sub(buf.len());
                buf.extend_from_slice(&chunk[..n.min(room)]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if buf.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    Some((text, (total > STDIN_CAP).then_some(total)))
}

/// Ask until the model answers without (allowed) tool calls; the answers
/// join `conv`. The exit code.
async fn converse(
    config: &Config,
    paths: &Paths,
    (client, providers): (&reqwest::Client, &Providers),
    chosen: Option<ModelRef>,
    conv: &mut Conversation,
    tools_allowed: bool,
) -> ExitCode {
    let service = tools_allowed.then(|| {
        let builtins = Registry::with_builtins(crate::jq::JqRunner::for_this_program());
        ToolService::start(builtins, &config.mcp_servers, &paths.config_dir, None, Arc::new(SystemClock))
    });
    let tools: Vec<ToolDef> = match &service {
        Some(s) => {
            s.wait_ready(std::time::Duration::from_secs(30)).await;
            let reg = s.registry().borrow().clone();
            // The conversation's choice (`T` in the pane), read-only ones only.
            reg.specs()
                .into_iter()
                .filter(|t| !t.mutating && conv.meta.offers(&t.name, t.mutating))
                .map(|t| ToolDef {
                    name: t.name.clone(),
                    description: t.description.clone(),
                    parameters: t.schema.clone(),
                })
                .collect()
        }
        None => Vec::new(),
    };
    let chain = providers.chain(chosen.as_ref());
    let system = config.chat.system_prompt().to_string();
    let rounds = config.chat.max_tool_rounds.max(1);
    for round in 0..rounds {
        let Some(first) = chain.first().and_then(|m| providers.get(&m.provider)) else {
            return fail("no model to ask: give --model, or list models in the provider's [[provider]] table");
        };
        let fitted = chat::fit(&conv.messages, &system, &tools, first.config.context_tokens, first.config.max_tokens);
        if fitted.dropped > 0 {
            err_line!("note: {} earlier messages left out of the request to fit the context", fitted.dropped);
        }
        let req = Request {
            system: system.clone(),
            messages: conv.messages[fitted.start..].to_vec(),
            tools: tools.clone(),
            temperature: config.chat.temperature,
        };
        let mut answer = ChatMessage::new(Role::Assistant, "", chrono::Utc::now().timestamp_millis());
        let outcome = stream(client, providers, &chain, &req, &mut answer).await;
        let Some(result) = outcome else {
            answer.finish = Some(Finish::Cancelled);
            conv.messages.push(answer);
            err_line!("■ stopped: what arrived is saved");
            return ExitCode::from(130);
        };
        let answered = match result {
            Ok(a) => a,
            Err(e) => {
                err_line!("error: {e}");
                if let chat::ChatError::AllFailed { skipped } = &e {
                    answer.skipped.clone_from(skipped);
                }
                answer.finish = Some(Finish::Cut { error: e.to_string() });
                conv.messages.push(answer);
                return ExitCode::FAILURE;
            }
        };
        answer.model = Some(answered.model.clone());
        answer.skipped.clone_from(&answered.skipped);
        answer.usage = answered.usage;
        answer.finish = Some(answered.finish.clone());
        let u = answered.usage.unwrap_or_default();
        let approx = if u.estimated { "~" } else { "" };
        err_line!("— {} · {approx}{}+{} tok", answered.model, u.input, u.output);
        let wants_tools = !answer.tool_calls.is_empty();
        if !wants_tools {
            let max_tokens = providers.get(&answered.model.provider).map_or(0, |p| p.config.max_tokens);
            let code = ended(&answered.finish, &conv.meta.id, max_tokens);
            conv.messages.push(answer);
            return code;
        }
        let results = run_calls(service.as_ref(), &tools, &mut answer, round).await;
        conv.messages.push(answer);
        conv.messages.extend(results);
        if service.is_none() {
            err_line!("note: the model asked for tools; headless they run only with --allow-tools read-only");
            return ExitCode::FAILURE;
        }
    }
    err_line!("error: stopped after {rounds} tool-call rounds ([chat] max_tool_rounds)");
    ExitCode::FAILURE
}

/// The exit code of an answer that ended with `finish` (no tool calls), and
/// a note on stderr when it is not whole.
fn ended(finish: &Finish, id: &str, max_tokens: u32) -> ExitCode {
    let why = match finish {
        Finish::Stop | Finish::ToolCalls => return ExitCode::SUCCESS,
        Finish::Length => {
            err_line!(
                "note: the answer stopped at the provider's max_tokens ({max_tokens}); \
                 `opsdeck chat --conversation {id} continue` goes on"
            );
            return ExitCode::SUCCESS;
        }
        Finish::Cut { error } => format!("the answer was cut: {error}"),
        Finish::Unfinished => "the stream ended before the model said the answer was done".into(),
        Finish::Cancelled => "the answer was stopped".into(),
        Finish::Other { name } => format!("the model stopped for a reason opsdeck does not know: {name}"),
    };
    err_line!("note: {why}; `opsdeck chat --conversation {id} continue` goes on");
    ExitCode::FAILURE
}

/// Stream one answer into `answer`, text to stdout (its last line ended
/// when it is done or stopped). `None` when Ctrl-C stopped it.
async fn stream(
    client: &reqwest::Client,
    providers: &Providers,
    chain: &[ModelRef],
    req: &Request,
    answer: &mut ChatMessage,
) -> Option<Result<chat::Answered, chat::ChatError>> {
    let (tx, mut rx) = mpsc::channel::<Progress>(256);
    let asking = async move {
        let r = chat::ask(client, providers, chain, req, &tx).await;
        drop(tx);
        r
    };
    // Whether the text printed so far ends mid-line.
    let mut open_line = false;
    let printing = async {
        let mut out = std::io::stdout();
        while let Some(p) = rx.recv().await {
            match p {
                Progress::Trying { .. } => {}
                Progress::Skipped(s) => err_line!("↷ skipped {}: {}", s.model, s.reason),
                Progress::Delta(d) => {
                    if let crate::protocol::chat::ChatDelta::Text { text } = &d {
                        let shown = crate::text::clean_lines(text);
                        if !shown.is_empty() {
                            open_line = !shown.ends_with('\n');
                        }
                        let _ = out.write_all(shown.as_bytes());
                        let _ = out.flush();
                    }
                    answer.apply(&d);
                }
            }
        }
    };
    let outcome = tokio::select! {
        (r, ()) = async { tokio::join!(asking, printing) } => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    if open_line {
        let mut out = std::io::stdout();
        let _ = out.write_all(b"\n");
        let _ = out.flush();
    }
    outcome
}

/// Run the answer's calls that are allowed (read-only, offered, valid);
/// the tool messages answering every call, in order.
async fn run_calls(
    service: Option<&ToolService>,
    offered: &[ToolDef],
    answer: &mut ChatMessage,
    round: u32,
) -> Vec<ChatMessage> {
    let mut out = Vec::new();
    for (i, call) in answer.tool_calls.iter_mut().enumerate() {
        let now = chrono::Utc::now().timestamp_millis();
        let refused = |reason: String| ToolCallState::Refused { reason };
        let args: Result<serde_json::Value, String> = if call.arguments.trim().is_empty() {
            Ok(serde_json::json!({}))
        } else {
            serde_json::from_str(&call.arguments).map_err(|e| format!("the arguments are not valid JSON: {e}"))
        };
        let tool = offered.iter().find(|t| t.name == call.name);
        let text = match (service, tool, args) {
            (None, _, _) => {
                call.state =
                    refused("tool calls are refused headless (--allow-tools read-only allows read-only ones)".into());
                None
            }
            (_, None, _) => {
                let names: Vec<_> = offered.iter().map(|t| t.name.as_str()).collect();
                call.state =
                    refused(format!("unknown tool {:?}; the tools offered are: {}", call.name, names.join(", ")));
                None
            }
            (_, _, Err(e)) => {
                call.state = refused(e);
                None
            }
            (Some(svc), Some(_), Ok(args)) => {
                err_line!("⚙ {} {}", call.name, call.arguments);
                let result = run_tool(svc, format!("chat-{round}-{i}"), &call.name, args).await;
                call.state = ToolCallState::Done { ok: result.is_ok() };
                Some(match result {
                    Ok(v) => crate::protocol::chat::cap_tool_result(&v, 16 * 1024),
                    Err(e) => format!("error: {e}"),
                })
            }
        };
        let text = text.unwrap_or_else(|| match &call.state {
            ToolCallState::Refused { reason } => format!("not run: {reason}"),
            _ => "not run".into(),
        });
        let mut m = ChatMessage::new(Role::Tool, text, now);
        m.tool_call_id = Some(call.id.clone());
        out.push(m);
    }
    out
}

async fn run_tool(
    svc: &ToolService,
    run: String,
    tool: &str,
    args: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let (tx, mut rx) = mpsc::channel::<ToolEvent>(64);
    let opts = RunOptions { confirmed: false, read_only: true };
    let req = RunRequest { run, tool: tool.to_string(), args, opts, origin: RunOrigin::Chat };
    svc.run(req, tx).map_err(|e| e.to_string())?;
    while let Some(e) = rx.recv().await {
        if let ToolEvent::Finished { result, .. } = e {
            return result.map_err(|e| e.to_string());
        }
    }
    Err("the tool run ended without a result".into())
}
