//! One `engine::chat::ask` run to its end, for the chat tests that talk to a
//! server (tests/chat_stream.rs, tests/chat_llama.rs): its result, every
//! progress report in order, and the answer folded from the deltas after the
//! last `Trying`, as the pane folds them.
#![allow(dead_code)]

use std::time::Duration;

use opsdeck::engine::chat::{Answered, ChatError, Progress, Providers, Request, ask, http_client};
use opsdeck::protocol::chat::{ChatDelta, ChatMessage, ModelRef, Role};
use tokio::sync::mpsc;

pub struct Asked {
    pub result: Result<Answered, ChatError>,
    pub progress: Vec<Progress>,
    pub answer: ChatMessage,
    /// Some delta was dropped folding the answer (past `MAX_ANSWER_BYTES`).
    pub dropped: bool,
}

impl Asked {
    /// Text pieces the answer came in.
    pub fn text_deltas(&self) -> usize {
        self.progress.iter().filter(|p| matches!(p, Progress::Delta(ChatDelta::Text { .. }))).count()
    }
}

/// `model reason` of each entry skipped, in order.
pub fn skipped(progress: &[Progress]) -> Vec<String> {
    progress
        .iter()
        .filter_map(|p| match p {
            Progress::Skipped(s) => Some(format!("{} {}", s.model, s.reason)),
            _ => None,
        })
        .collect()
}

/// Ask `chain` and wait for the end, failing the test past `limit` (a
/// failure bound, never a measure).
pub async fn run_within(providers: &Providers, chain: &[ModelRef], req: &Request, limit: Duration) -> Asked {
    let client = http_client().expect("client");
    let (tx, mut rx) = mpsc::channel(100_000);
    let result =
        tokio::time::timeout(limit, ask(&client, providers, chain, req, &tx)).await.expect("an answer in time");
    drop(tx);
    let mut progress = Vec::new();
    while let Some(p) = rx.recv().await {
        progress.push(p);
    }
    let mut answer = ChatMessage::new(Role::Assistant, "", 0);
    let mut dropped = false;
    for p in &progress {
        match p {
            Progress::Trying { .. } => answer = ChatMessage::new(Role::Assistant, "", 0),
            Progress::Delta(d) => dropped |= !answer.apply(d),
            Progress::Skipped(_) => {}
        }
    }
    Asked { result, progress, answer, dropped }
}
