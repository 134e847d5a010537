//! The seeded states with hostile text wherever text from outside lands:
//! process names and commands, host and mount names, tool names and
//! descriptions, MCP server states, tool output (with an active search),
//! alert summaries, labels, rule targets, probe errors, silence comments,
//! delivery errors, and a notice.

use opsdeck::app::panes::tools::{ServerLine, ToolsAction};
use opsdeck::app::{Action, AppState, BoxId, update};
use opsdeck::protocol::tools::{ToolInfo, ToolRun};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{NOW, Seed};

/// `K` (U+212A KELVIN SIGN) and `İ` (U+0130): lowercasing changes their byte
/// lengths but not the line's.
pub const KELVIN_LINE: &str = "\u{212A}ab\u{130}\u{130}";

impl Seed {
    /// `alerts_state()` with `text` in every outside string, and the tools
    /// pane showing a run whose output holds `text`, searched for `query`.
    pub fn hostile_state(&self, text: &str, query: &str) -> AppState {
        let ctx = self.ctx();
        let mut s = self.alerts_state();
        if let Some(h) = s.metrics.sources.first_mut().and_then(|src| src.latest.as_mut()) {
            h.hostname = text.into();
            h.disks[0].mount = text.into();
            for p in &mut h.procs {
                p.name = text.into();
                p.cmd = format!("{text} --flag {text}");
                p.status = text.into();
            }
        }
        s.metrics.rebuild_procs();
        for u in s.alerts.sources.values_mut() {
            for a in &mut u.alerts {
                a.summary = text.into();
                a.labels.insert("label".into(), text.into());
            }
            for r in &mut u.rules {
                r.detail = text.into();
                r.last_error = Some(text.into());
            }
            for x in &mut u.silences {
                x.comment = text.into();
                x.created_by = text.into();
            }
            for d in &mut u.deliveries {
                d.error = Some(text.into());
            }
        }
        let mut catalog: Vec<ToolInfo> =
            opsdeck::engine::tools::Registry::with_builtins(opsdeck::jq::JqRunner::new(env!("CARGO_BIN_EXE_opsdeck")))
                .specs()
                .into_iter()
                .map(|t| t.info())
                .collect();
        catalog.push(ToolInfo {
            name: format!("srv/{text}"),
            description: text.into(),
            schema: serde_json::json!({"type": "object", "properties": {text: {"type": "string", "description": text}}}),
            mutating: true,
            source: text.into(),
        });
        update(&mut s, Action::Tools(ToolsAction::Catalog(catalog)), &ctx);
        let server = ServerLine { name: text.into(), state: text.into(), ok: false };
        update(&mut s, Action::Tools(ToolsAction::Servers(vec![server])), &ctx);
        let run = ToolRun {
            tool: format!("srv/{text}"),
            source: text.into(),
            args: serde_json::json!({ "q": text }),
            started: NOW - 1000,
            duration_ms: 5,
            ok: false,
            outcome: serde_json::Value::String(text.into()),
            output: vec![text.into(), KELVIN_LINE.into(), format!("{KELVIN_LINE}\t{text}"), text.repeat(40)],
            truncated: false,
            origin: Default::default(),
        };
        update(&mut s, Action::Tools(ToolsAction::History(vec![run])), &ctx);
        update(&mut s, Action::User(opsdeck::app::UserAction::FocusPane3), &ctx);
        let key = |s: &mut AppState, code: KeyCode| {
            update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)), &ctx);
        };
        s.focus = BoxId::ToolHistory;
        key(&mut s, KeyCode::Enter);
        s.focus = BoxId::ToolOutput;
        key(&mut s, KeyCode::Char('/'));
        update(&mut s, Action::Paste(query.into()), &ctx);
        key(&mut s, KeyCode::Enter);
        s.notice = Some((NOW, text.into()));
        s.dirty = false;
        s
    }
}
