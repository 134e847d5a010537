//! One command line's use of a Prefect server (`opsdeck runs --source
//! NAME …`): its deployments and newest runs read once, runs named by
//! number, Prefect id or name, and the pane's commands answered the same way.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::live::Conn;
use super::{Api, commands, model};
use crate::clock::Clock;
use crate::protocol::workflow::{RunId, WorkflowsCommand};

/// A Prefect server for the command line.
pub struct Session {
    conn: Mutex<Conn>,
}

impl Session {
    /// Read the server's deployments and newest flow runs (errors: the
    /// server cannot be reached, refuses the key, answers nonsense).
    pub async fn open(api: Api, clock: Arc<dyn Clock>) -> Result<Session, String> {
        let mut conn = Conn::detached(api, clock);
        conn.read_recent().await?;
        Ok(Session { conn: Mutex::new(conn) })
    }

    /// The run `arg` names: its number (`#` optional), its Prefect id, or
    /// its Prefect name (`encouraging-elephant`).
    pub async fn resolve(&self, arg: &str) -> Result<RunId, String> {
        let arg = arg.trim();
        let mut c = self.conn.lock().await;
        if let Ok(n) = arg.trim_start_matches('#').parse::<RunId>()
            && c.tr.uuid(n).is_some()
        {
            return Ok(n);
        }
        let by_name = |c: &Conn| {
            c.tr.runs()
                .iter()
                .find(|t| t.run.external.as_ref().is_some_and(|x| x.id == arg || x.name == arg))
                .map(|t| t.run.id)
        };
        if let Some(n) = by_name(&c) {
            return Ok(n);
        }
        let looks_like_id = arg.len() == 36 && arg.chars().all(|ch| ch.is_ascii_hexdigit() || ch == '-');
        let id = if looks_like_id {
            arg.to_string()
        } else {
            let found = c.api.flow_runs(2, 0, json!({"name": {"any_": [arg]}})).await?;
            match &found[..] {
                [one] => one.id.clone(),
                [] => return Err(format!("no flow run named or numbered {arg:?}")),
                _ => {
                    return Err(format!("several flow runs are named {arg:?}: give its id"));
                }
            }
        };
        c.read_run(&id).await?;
        c.tr.uuid(model::run_number(&id)).map(|_| model::run_number(&id)).ok_or_else(|| format!("no flow run {id}"))
    }

    /// Answer a command as the runs pane's are answered.
    pub async fn command(&self, cmd: WorkflowsCommand) -> Result<Value, String> {
        let mut c = self.conn.lock().await;
        commands::answer(&mut c, cmd).await
    }
}
