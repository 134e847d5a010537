//! `opsdeck ack ALERT [--note TEXT]`: acknowledge an alert of the local
//! engine from the shell — the command a notification (email) names.
//!
//! With an opsdeck holding the data directory (a TUI or `serve`), the
//! acknowledgement goes to it through its control socket, as the alerts
//! pane's `a` does (it is announced and stops the notifications at once).
//! Otherwise the saved alert state is read from the store, acknowledged and
//! written back: the next start has it.
//!
//! Exit codes: 0 acknowledged, 1 refused (no such alert, resolved already,
//! `--read-only`, unreadable state), 2 bad usage.

use std::process::ExitCode;

use super::{fail, holder_answers, out_line};
use crate::clock::{Clock, SystemClock};
use crate::config::Paths;
use crate::engine::alerts::core::AlertCore;
use crate::engine::alerts::rules;
use crate::engine::store::{DEFAULT_CACHE_BYTES, LOCK_GRACE, Store, StoreError};
use crate::protocol::{AlertsCommand, Command};

#[derive(Debug, clap::Args)]
pub struct AckArgs {
    /// The alert's id, as notifications and the alerts pane show it (quote it: `'api{team=web}'`).
    pub alert: String,
    /// Why, or what you are doing about it.
    #[arg(long, default_value = "")]
    pub note: String,
}

pub fn ack(args: &AckArgs, paths: &Paths, read_only: bool) -> ExitCode {
    if read_only {
        return fail("--read-only: acknowledging an alert is refused");
    }
    let now = SystemClock.now_ms();
    let command = AlertsCommand::Ack {
        alert: canonical_id(&args.alert),
        note: args.note.clone(),
        by: crate::runtime::user_name(),
        at: Some(now),
    };
    let answer = match Store::open_unless_held(&paths.data_dir, DEFAULT_CACHE_BYTES, holder_answers(paths), LOCK_GRACE)
    {
        Ok(store) => in_store(&store, paths, command, now),
        Err(e @ StoreError::Locked { .. }) => via_holder(paths, command, &e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match answer {
        Ok(()) => {
            out_line!("acknowledged {}", args.alert);
            ExitCode::SUCCESS
        }
        Err(e) if e.starts_with("no alert") => fail(format!(
            "{e}\n  hint: give the id as the notification or the alerts pane shows it (quoted: 'api{{team=web}}')"
        )),
        Err(e) => fail(e),
    }
}

/// The alert id as opsdeck writes it (`rule{a=1,b=2}`: labels sorted by
/// name, unquoted) for an id written in another order, with spaces, or in
/// Prometheus's form (`api{team="web"}`); anything else as given.
fn canonical_id(id: &str) -> String {
    let id = id.trim();
    let Some((rule, rest)) = id.split_once('{') else { return id.to_string() };
    let Some(body) = rest.strip_suffix('}') else { return id.to_string() };
    let mut labels = std::collections::BTreeMap::new();
    for pair in body.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = pair.split_once('=') else { return id.to_string() };
        let v = v.trim();
        let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
        if labels.insert(k.trim().to_string(), v.to_string()).is_some() {
            return id.to_string();
        }
    }
    crate::protocol::alerts::Alert::make_id(rule.trim(), &labels)
}

/// Nobody runs: acknowledge in the saved state.
fn in_store(store: &Store, paths: &Paths, command: AlertsCommand, now: i64) -> Result<(), String> {
    let (set, _) = rules::load(Some(&paths.alerts_dir()));
    let mut core = AlertCore::new(set, Some(store));
    if let Some(p) = core.restore_problems.first() {
        return Err(p.clone());
    }
    core.command(command, now)?;
    let (_, persist) = core.update(now);
    persist.write(store).map_err(|e| format!("saving the alert state in {}: {e}", paths.data_dir.display()))
}

/// An opsdeck holds the data directory (`locked` says so): it acknowledges,
/// and what it refuses is said in its words.
fn via_holder(paths: &Paths, command: AlertsCommand, locked: &str) -> Result<(), String> {
    let path = paths.control_socket();
    let client = crate::remote::control::ControlClient::connect(&path)
        .map_err(|e| format!("{locked}\n  and it does not answer on its control socket {}: {e}", path.display()))?;
    let id = format!("ack-{}", std::process::id());
    client.command(&id, Command::Alerts(command)).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::canonical_id;

    #[test]
    fn ids_are_taken_in_any_label_order_and_in_prometheus_form() {
        for written in [
            "api{team=web,env=prod}",
            "api{env=prod, team=web}",
            "api{team=\"web\",env=\"prod\"}",
            " api{env=prod,team=web} ",
        ] {
            assert_eq!(canonical_id(written), "api{env=prod,team=web}", "{written}");
        }
        assert_eq!(canonical_id("api"), "api");
        assert_eq!(canonical_id("api{}"), "api");
        // Not a label list: as given.
        for odd in ["api{team}", "api{a=1,a=2}", "api{team=web", "weird}{"] {
            assert_eq!(canonical_id(odd), odd);
        }
    }
}
