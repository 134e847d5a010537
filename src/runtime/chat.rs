//! The chat pane's effects: questions streamed from the providers (one task
//! per turn, aborted to stop it, which drops the HTTP request), tool calls
//! through the tools service, and conversations in the store.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::tasks::Tasks;
use crate::app::Action;
use crate::app::panes::chat::{ChatAction, ChatEffect, LocalServer};
use crate::config::chat::ChatConfig;
use crate::engine::chat::provider::Providers;
use crate::engine::chat::stream::{self, Progress, Request};
use crate::engine::tools::RunOptions;
use crate::engine::tools::service::{RunRequest, ToolEvent, ToolService};
use crate::protocol::chat::{Answer, ChatMessage, ChatProgress, ModelRef, ToolDef};
use crate::protocol::tools::RunOrigin;
use crate::remote::control::Records;

/// Stream pieces waiting to become one action (the stream waits beyond:
/// nothing of an answer is dropped).
const PROGRESS_QUEUE: usize = 256;
/// Most pieces folded into one action.
const BATCH: usize = 256;

/// The chat pane's executor.
pub struct ChatRunner {
    /// Rebuilt on reload; each question reads the one in force when asked.
    providers: tokio::sync::watch::Sender<Arc<Providers>>,
    config: ChatConfig,
    /// Every `[[provider]]` (found servers already configured are not offered).
    configured: Vec<crate::config::chat::ProviderConfig>,
    /// The config dir (keys' fallback file) and the config.toml in force.
    paths: (std::path::PathBuf, std::path::PathBuf),
    client: reqwest::Client,
    streams: Tasks<u64>,
    inbox: mpsc::Sender<Action>,
    records: Records,
    tools: ToolService,
    tool_events: mpsc::Sender<ToolEvent>,
    read_only: bool,
    /// Workflow drafts (`None`: not offered a folder, e.g. in tests).
    drafts: Option<super::chat_draft::DraftDesk>,
}

impl ChatRunner {
    /// A runner over `providers` (keys already read) that answers to `inbox`.
    pub fn new(
        providers: Providers,
        config: &crate::config::settings::Config,
        paths: (std::path::PathBuf, std::path::PathBuf),
        records: Records,
        tools: ToolService,
        inbox: mpsc::Sender<Action>,
        read_only: bool,
    ) -> Self {
        let client = crate::engine::chat::http_client().unwrap_or_default();
        let (tool_events, mut rx) = mpsc::channel::<ToolEvent>(64);
        let to_app = inbox.clone();
        let cap = config.chat.tool_result_bytes;
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                let ToolEvent::Finished { run, result, .. } = e else { continue };
                let Some((turn, call)) = parse_run_id(&run) else { continue };
                let result = result.map(|v| crate::protocol::chat::cap_tool_result(&v, cap)).map_err(|e| e.to_string());
                if to_app.send(Action::Chat(ChatAction::ToolDone { turn, call, result })).await.is_err() {
                    break;
                }
            }
        });
        ChatRunner {
            providers: tokio::sync::watch::Sender::new(Arc::new(providers)),
            config: config.chat.clone(),
            configured: config.providers.clone(),
            paths,
            client,
            streams: Tasks::default(),
            inbox,
            records,
            tools,
            tool_events,
            read_only,
            drafts: None,
        }
    }

    /// Check and save workflow drafts with `desk`.
    pub fn with_drafts(mut self, desk: super::chat_draft::DraftDesk) -> Self {
        self.drafts = Some(desk);
        self
    }

    /// Tell the pane the models and read the saved conversations and the
    /// input's history.
    pub fn start(&self) {
        let _ = self.inbox.try_send(models_action(&self.providers.borrow()));
        self.list_later();
        self.blocking(|r| {
            Some(match r.chat_history() {
                Ok(h) => Action::Chat(ChatAction::History(h)),
                Err(e) => Action::Notice(format!("✗ reading the chat input's history: {e} (recall starts empty)")),
            })
        });
    }

    /// Run `f` on the records off the loop and send the app what it returns.
    fn blocking(&self, f: impl FnOnce(&Records) -> Option<Action> + Send + 'static) {
        let (records, inbox) = (self.records.clone(), self.inbox.clone());
        tokio::task::spawn_blocking(move || {
            if let Some(a) = f(&records) {
                let _ = inbox.blocking_send(a);
            }
        });
    }

    /// Build the providers again from a reloaded config (keys read off the
    /// loop); the pane learns the models once they are.
    pub fn reload(&mut self, config: &crate::config::settings::Config) {
        self.config = config.chat.clone();
        self.configured = config.providers.clone();
        if let Some(d) = &mut self.drafts {
            d.reloaded(config);
        }
        let (tx, inbox, dir) = (self.providers.clone(), self.inbox.clone(), self.paths.0.clone());
        let (list, chat) = (config.providers.clone(), config.chat.clone());
        tokio::spawn(async move {
            let (providers, problems) = Providers::load(&list, &chat, dir).await;
            for p in problems {
                let _ = inbox.send(Action::Notice(format!("chat: {p}"))).await;
            }
            let action = models_action(&providers);
            tx.send_replace(Arc::new(providers));
            let _ = inbox.send(action).await;
        });
    }

    fn list_later(&self) {
        let (records, inbox) = (self.records.clone(), self.inbox.clone());
        tokio::task::spawn_blocking(move || match records.chat_list() {
            Ok(list) => {
                let _ = inbox.blocking_send(Action::Chat(ChatAction::Listed(list)));
            }
            Err(e) => {
                let _ = inbox.blocking_send(Action::Notice(format!("✗ reading saved conversations: {e}")));
            }
        });
    }

    pub fn apply(&mut self, e: ChatEffect) {
        match e {
            ChatEffect::Ask { turn, chosen, messages, tools } => self.ask(turn, chosen, messages, tools),
            ChatEffect::Stop { turn } => {
                self.streams.cancel(&turn);
            }
            ChatEffect::RunTool { turn, call, tool, args, confirmed } => {
                let opts = RunOptions { confirmed, read_only: self.read_only };
                let run = format!("chat-{turn}-{call}");
                let req = RunRequest { run: run.clone(), tool, args, opts, origin: RunOrigin::Chat };
                if let Err(e) = self.tools.run(req, self.tool_events.clone()) {
                    let inbox = self.inbox.clone();
                    let result = Err(e.to_string());
                    tokio::spawn(
                        async move { inbox.send(Action::Chat(ChatAction::ToolDone { turn, call, result })).await },
                    );
                }
            }
            ChatEffect::Save(conv) => {
                let (records, inbox) = (self.records.clone(), self.inbox.clone());
                tokio::task::spawn_blocking(move || {
                    let msg = match records.chat_save(&conv).and_then(|()| records.chat_list()) {
                        Ok(list) => Action::Chat(ChatAction::Listed(list)),
                        Err(e) => Action::Notice(format!("✗ saving the conversation: {e}")),
                    };
                    let _ = inbox.blocking_send(msg);
                });
            }
            ChatEffect::Load(id) => {
                let (records, inbox) = (self.records.clone(), self.inbox.clone());
                tokio::task::spawn_blocking(move || {
                    let msg = match records.chat_load(&id) {
                        Ok(Some(c)) => Action::Chat(ChatAction::Opened(Box::new(c))),
                        Ok(None) => Action::Notice(format!("conversation {id} is gone")),
                        Err(e) => Action::Notice(format!("✗ reading conversation {id}: {e}")),
                    };
                    let _ = inbox.blocking_send(msg);
                });
            }
            ChatEffect::Delete(id) => {
                let (records, inbox) = (self.records.clone(), self.inbox.clone());
                tokio::task::spawn_blocking(move || {
                    let msg = match records.chat_delete(&id).and_then(|_| records.chat_list()) {
                        Ok(list) => Action::Chat(ChatAction::Listed(list)),
                        Err(e) => Action::Notice(format!("✗ deleting conversation {id}: {e}")),
                    };
                    let _ = inbox.blocking_send(msg);
                });
            }
            ChatEffect::Search { query } => self.blocking(move |r| {
                let limit = crate::app::panes::chat::SEARCH_HITS;
                let result = r.chat_search(&query, limit).map_err(|e| format!("searching the conversations: {e}"));
                Some(Action::Chat(ChatAction::Found { query, result }))
            }),
            ChatEffect::Rename { id, title } => self.blocking(move |r| {
                Some(match r.chat_rename(&id, &title).and_then(|found| Ok((found, r.chat_list()?))) {
                    Ok((true, list)) => Action::Chat(ChatAction::Listed(list)),
                    Ok((false, _)) => Action::Notice(format!("conversation {id} is gone: nothing renamed")),
                    Err(e) => Action::Notice(format!("✗ renaming conversation {id}: {e}")),
                })
            }),
            // A conversation not saved yet keeps its model when it is.
            ChatEffect::SetModel { id, model } => self.blocking(move |r| {
                r.chat_set_model(&id, model)
                    .err()
                    .map(|e| Action::Notice(format!("✗ keeping the conversation's model: {e}")))
            }),
            ChatEffect::Remember(text) => self.blocking(move |r| {
                r.chat_history_push(&text)
                    .err()
                    .map(|e| Action::Notice(format!("✗ saving the question for recall (C-p): {e}")))
            }),
            // The executor handles copies (it owns the clipboard's file).
            ChatEffect::CopyCode { .. } => {}
            ChatEffect::Discover => self.discover(),
            ChatEffect::AddProvider(found) => self.add_provider(found),
            ChatEffect::Draft(d) => match &self.drafts {
                Some(desk) => desk.apply(d, self.inbox.clone()),
                None => {
                    let why = "workflow drafts need the workflows folder, which this opsdeck does not have";
                    let _ = self.inbox.try_send(Action::Notice(why.into()));
                }
            },
        }
    }

    /// Probe the usual loopback ports for OpenAI-compatible servers; those
    /// not configured yet go to the pane.
    fn discover(&self) {
        let (client, inbox) = (self.client.clone(), self.inbox.clone());
        let known: Vec<String> = self.configured.iter().map(|p| p.base_url.trim_end_matches('/').to_string()).collect();
        tokio::spawn(async move {
            let found = crate::engine::chat::discover::discover_local(&client).await;
            let found = found
                .into_iter()
                .filter(|f| !known.contains(&f.base_url))
                .map(|f| LocalServer { name: f.name, base_url: f.base_url, models: f.models })
                .collect();
            let _ = inbox.send(Action::Chat(ChatAction::Discovered(found))).await;
        });
    }

    /// Append a `[[provider]]` for a found server to config.toml, then reload.
    fn add_provider(&self, found: LocalServer) {
        let (file, inbox) = (self.paths.1.clone(), self.inbox.clone());
        let name = unique_name(&found.name, &self.configured);
        tokio::task::spawn_blocking(move || {
            let block = provider_toml(&name, &found);
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&file)
                .and_then(|mut f| std::io::Write::write_all(&mut f, block.as_bytes()));
            let msg = match written {
                Ok(()) => Action::User(crate::app::UserAction::Reload),
                Err(e) => Action::Notice(format!("✗ adding {name} to {}: {}", file.display(), crate::net::io_text(&e))),
            };
            let _ = inbox.blocking_send(msg);
        });
    }

    /// Stream turn `turn`'s answer: the chain from `chosen`, the oldest
    /// messages left out when the first entry's context is too small.
    fn ask(&mut self, turn: u64, chosen: Option<ModelRef>, messages: Vec<ChatMessage>, tools: Vec<ToolDef>) {
        let providers = self.providers.borrow().clone();
        let chain = providers.chain(chosen.as_ref());
        let (client, inbox) = (self.client.clone(), self.inbox.clone());
        let system = self.config.system_prompt().to_string();
        let temperature = self.config.temperature;
        let task = async move {
            let answered = |result| Action::Chat(ChatAction::Answered { turn, result });
            let Some(first) = chain.first().and_then(|m| providers.get(&m.provider)) else {
                let why = "no provider is configured: add a [[provider]] to config.toml (docs/chat.md)".to_string();
                let _ = inbox.send(answered(Err(why))).await;
                return;
            };
            let (context, max_tokens) = (first.config.context_tokens, first.config.max_tokens);
            let fitted = crate::engine::chat::context::fit(&messages, &system, &tools, context, max_tokens);
            let messages = messages[fitted.start..].to_vec();
            let req = Request { system, messages, tools, temperature };
            let (ptx, prx) = mpsc::channel::<Progress>(PROGRESS_QUEUE);
            if fitted.dropped > 0 {
                let items = vec![ChatProgress::Trimmed { dropped: fitted.dropped }];
                let _ = inbox.send(Action::Chat(ChatAction::Progress { turn, items })).await;
            }
            let asking = async move {
                let r = stream::ask(&client, &providers, &chain, &req, &ptx).await;
                drop(ptx);
                r
            };
            let (result, ()) = tokio::join!(asking, forward(turn, prx, inbox.clone()));
            let result =
                result.map(|a| Answer { model: a.model, finish: a.finish, usage: a.usage }).map_err(|e| e.to_string());
            let _ = inbox.send(answered(result)).await;
        };
        self.streams.spawn(turn, task);
    }
}

/// The models for the pane: the chain as configured first (the pane names
/// its head as where a question goes), then every other configured model.
fn models_action(providers: &Providers) -> Action {
    let mut models = providers.chain(None);
    for m in providers.models() {
        if !models.contains(&m) {
            models.push(m);
        }
    }
    let list = providers.list();
    let prices = list.iter().map(|p| (p.name().to_string(), (p.config.price_input, p.config.price_output))).collect();
    Action::Chat(ChatAction::Models { models, providers: list.len(), prices })
}

/// `name`, or `name-2`, `name-3`… when a provider has it already.
fn unique_name(name: &str, configured: &[crate::config::chat::ProviderConfig]) -> String {
    let taken = |n: &str| configured.iter().any(|p| p.name == n);
    if !taken(name) {
        return name.to_string();
    }
    (2..).map(|i| format!("{name}-{i}")).find(|n| !taken(n)).unwrap_or_else(|| name.to_string())
}

/// The `[[provider]]` table appended for a found server (its models as
/// listed, at most 20; values as TOML strings).
fn provider_toml(name: &str, found: &LocalServer) -> String {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let models: Vec<String> = found.models.iter().take(20).map(|m| q(m)).collect();
    format!(
        "\n# Added by opsdeck's chat pane (a local server found on {}).\n[[provider]]\nname = {}\nkind = \"openai\"\nbase_url = {}\nmodels = [{}]\n",
        found.base_url,
        q(name),
        q(&found.base_url),
        models.join(", ")
    )
}

/// Pass a stream's pieces on as actions, as many at a time as are waiting.
async fn forward(turn: u64, mut rx: mpsc::Receiver<Progress>, inbox: mpsc::Sender<Action>) {
    while let Some(first) = rx.recv().await {
        let mut items = vec![progress(first)];
        while items.len() < BATCH {
            match rx.try_recv() {
                Ok(p) => items.push(progress(p)),
                Err(_) => break,
            }
        }
        if inbox.send(Action::Chat(ChatAction::Progress { turn, items })).await.is_err() {
            return;
        }
    }
}

fn progress(p: Progress) -> ChatProgress {
    match p {
        Progress::Trying { model } => ChatProgress::Trying { model },
        Progress::Skipped(skipped) => ChatProgress::Skipped { skipped },
        Progress::Delta(delta) => ChatProgress::Delta { delta },
    }
}

/// `chat-TURN-CALL` back into the turn and the call id (which may hold dashes).
fn parse_run_id(run: &str) -> Option<(u64, String)> {
    let rest = run.strip_prefix("chat-")?;
    let (turn, call) = rest.split_once('-')?;
    Some((turn.parse().ok()?, call.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_found_server_becomes_a_provider_table_that_parses_with_a_free_name() {
        let found = LocalServer {
            name: "ollama".into(),
            base_url: "http://127.0.0.1:11434/v1".into(),
            models: vec!["llama3.2".into(), "q\"uote".into()],
        };
        let taken = [crate::config::chat::ProviderConfig::new(
            "ollama",
            crate::config::chat::ProviderKind::Openai,
            "http://x/v1",
            &[],
        )];
        let name = unique_name(&found.name, &taken);
        assert_eq!(name, "ollama-2");
        let text = provider_toml(&name, &found);
        let cfg: crate::config::settings::Config = toml::from_str(&text).expect("parses as config");
        assert_eq!(cfg.providers[0].name, "ollama-2");
        assert_eq!(cfg.providers[0].models, ["llama3.2", "q\"uote"]);
        assert_eq!(cfg.providers[0].base_url, "http://127.0.0.1:11434/v1");
    }

    #[test]
    fn run_ids_round_trip_with_dashes_in_the_call() {
        assert_eq!(parse_run_id("chat-12-call-a-1"), Some((12, "call-a-1".into())));
        assert_eq!(parse_run_id("7"), None);
        assert_eq!(parse_run_id("chat-x-1"), None);
    }
}
