//! `opsdeck check-status [NAME] [--json]`: each health check's uptime over
//! the last 24 hours, 7 days and 30 days, and its newest outages, as a text
//! table or JSON (issue 15).
//!
//! The figures come from the data directory's store when it is free (read
//! as the engine reads it at start), or from the opsdeck holding it (a TUI
//! or `serve`), through its control socket: the alert state it announces.
//! Either way the same computation (engine/alerts/uptime.rs) makes them.
//!
//! Exit codes: 0 shown, 1 no such check or the data could not be read, 2 bad usage.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};

use super::{err_line, fail, holder_answers, out_line};
use crate::clock::{Clock, SystemClock};
use crate::config::Paths;
use crate::engine::alerts::rules::{self, Probe};
use crate::engine::alerts::uptime::UptimeBook;
use crate::engine::store::{DEFAULT_CACHE_BYTES, LOCK_GRACE, Store, StoreError};
use crate::protocol::uptime::{OUTAGES_SHOWN, Uptime, pct_text};
use crate::protocol::{Event, Topic, Ts};

/// How long the holder has to send its alert state.
const HOLDER_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, clap::Args)]
pub struct CheckStatusArgs {
    /// Only this check (also one no longer configured, while its history is kept).
    pub name: Option<String>,
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// One check as shown.
struct Shown {
    name: String,
    /// What it probes (`tcp db:5432`); `None` for a check no longer configured.
    target: Option<String>,
    uptime: Uptime,
}

/// Where the figures came from.
enum Origin {
    Store,
    Holder,
}

pub fn check_status(args: &CheckStatusArgs, paths: &Paths) -> ExitCode {
    let now = SystemClock.now_ms();
    let (checks, from) = match read(paths, now) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let checks: Vec<Shown> = match &args.name {
        None => checks.into_iter().filter(|c| c.target.is_some()).collect(),
        Some(n) => checks.into_iter().filter(|c| &c.name == n).collect(),
    };
    if let (Some(n), true, Origin::Holder) = (&args.name, checks.is_empty(), &from) {
        return fail(format!(
            "the running opsdeck has no health check named {n:?}\n  hint: it knows its configured checks; the \
             history of a check no longer configured is shown when no opsdeck holds the data directory"
        ));
    }
    if let (Some(n), true) = (&args.name, checks.is_empty()) {
        return fail(format!(
            "no health check named {n:?} and no uptime history under that name\n  hint: `opsdeck check-status` lists the checks; checks are `[[check]]` entries in {}",
            paths.alerts_dir().display()
        ));
    }
    if args.json {
        out_line!("{}", to_json(&checks, &from, now));
    } else {
        print_text(&checks, &from, now);
    }
    ExitCode::SUCCESS
}

/// Every configured check (and every stored history) with its figures.
fn read(paths: &Paths, now: Ts) -> Result<(Vec<Shown>, Origin), String> {
    if !paths.data_dir.join("db").exists() {
        return Ok((from_book(paths, &UptimeBook::default(), now), Origin::Store));
    }
    match Store::open_unless_held(&paths.data_dir, DEFAULT_CACHE_BYTES, holder_answers(paths), LOCK_GRACE) {
        Ok(store) => {
            let mut problems = Vec::new();
            let book = UptimeBook::load(&store, &mut problems);
            if let Some(p) = problems.first() {
                return Err(format!("{}: {p}", paths.data_dir.display()));
            }
            Ok((from_book(paths, &book, now), Origin::Store))
        }
        Err(e @ StoreError::Locked { .. }) => from_holder(paths).map_err(|c| format!("{e}\n  and {c}")),
        Err(e) => Err(e.to_string()),
    }
}

/// The configured checks with the book's figures, then the book's other histories.
fn from_book(paths: &Paths, book: &UptimeBook, now: Ts) -> Vec<Shown> {
    let (set, errors) = rules::load(Some(&paths.alerts_dir()));
    for e in &errors {
        err_line!("warning: {e}");
    }
    let mut out: Vec<Shown> = set
        .checks
        .iter()
        .map(|c| Shown {
            name: c.name.clone(),
            target: Some(target(&c.probe)),
            uptime: book.status_at(&c.name, now, OUTAGES_SHOWN),
        })
        .collect();
    let others: Vec<String> = book.names().filter(|n| !out.iter().any(|c| c.name == *n)).map(String::from).collect();
    out.extend(others.into_iter().map(|name| Shown {
        uptime: book.status_at(&name, now, OUTAGES_SHOWN),
        name,
        target: None,
    }));
    out
}

fn target(p: &Probe) -> String {
    match p {
        Probe::Http { url, .. } => format!("http {url}"),
        Probe::Tcp { addr } => format!("tcp {addr}"),
        Probe::Dns { name } => format!("dns {name}"),
    }
}

/// The checks as the opsdeck holding the data directory announces them.
fn from_holder(paths: &Paths) -> Result<(Vec<Shown>, Origin), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let path = paths.control_socket();
    rt.block_on(async move {
        use crate::remote::control::{Followed, follow_topics};
        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let task = tokio::spawn(follow_topics(path.clone(), vec![Topic::Alerts], tx));
        let found = tokio::time::timeout(HOLDER_WAIT, async {
            while let Some(f) = rx.recv().await {
                match f {
                    Followed::Events(evs) => {
                        let update = evs.iter().find_map(|e| match &e.event {
                            Event::Alerts(u) if e.source == crate::protocol::LOCAL_SOURCE => Some(u.clone()),
                            _ => None,
                        });
                        if let Some(u) = update {
                            return Ok(u);
                        }
                    }
                    Followed::Lost { error, .. } => {
                        return Err(format!("it does not answer on its control socket {}: {error}", path.display()));
                    }
                    Followed::Attached | Followed::Reset => {}
                }
            }
            Err("its control socket closed".to_string())
        })
        .await;
        task.abort();
        let u = found.map_err(|_| {
            format!("it sent no alert state within {} s (is its alert engine running?)", HOLDER_WAIT.as_secs())
        })??;
        let checks = u
            .rules
            .into_iter()
            .filter(|r| r.kind == "check")
            .map(|r| Shown { target: Some(r.detail), uptime: r.uptime.unwrap_or_default(), name: r.name })
            .collect();
        Ok((checks, Origin::Holder))
    })
}

fn rfc3339(ts: Ts) -> Value {
    chrono::DateTime::from_timestamp_millis(ts).map_or(Value::Null, |d| json!(d.to_rfc3339()))
}

fn to_json(checks: &[Shown], from: &Origin, now: Ts) -> Value {
    let checks: Vec<Value> = checks
        .iter()
        .map(|c| {
            let outages: Vec<Value> = c
                .uptime
                .outages
                .iter()
                .map(|o| {
                    // A check no longer configured is not probed: its open outage has no end to tell.
                    let open = o.end.is_none();
                    let known = !open || c.target.is_some();
                    json!({
                        "start": rfc3339(o.start),
                        "end": o.end.map_or(Value::Null, rfc3339),
                        "ongoing": open && known,
                        "duration_s": if known { json!(o.duration_ms(now) / 1000) } else { Value::Null },
                        "first_error": o.first_error,
                    })
                })
                .collect();
            json!({
                "name": c.name,
                "target": c.target,
                "configured": c.target.is_some(),
                "uptime_pct": { "24h": c.uptime.pct_24h, "7d": c.uptime.pct_7d, "30d": c.uptime.pct_30d },
                "outages": outages,
            })
        })
        .collect();
    let source = match from {
        Origin::Store => "store",
        Origin::Holder => "running opsdeck",
    };
    json!({ "at": rfc3339(now), "source": source, "checks": checks })
}

fn print_text(checks: &[Shown], from: &Origin, now: Ts) {
    if checks.is_empty() {
        out_line!("no health checks configured (add a `[[check]]` to a rule file; see docs/alerts.md)");
        return;
    }
    let w = checks.iter().map(|c| crate::text::width(&c.name)).max().unwrap_or(0).max(5);
    out_line!("{:<w$}  {:>7} {:>7} {:>7}  TARGET", "CHECK", "24H", "7D", "30D");
    for c in checks {
        let [d, wk, m] = c.uptime.pcts().map(pct_text);
        let target = crate::text::clean(c.target.as_deref().unwrap_or("(no longer configured)"));
        let pad = w.saturating_sub(crate::text::width(&c.name));
        out_line!("{}{}  {d:>7} {wk:>7} {m:>7}  {target}", crate::text::clean(&c.name), " ".repeat(pad));
        for o in &c.uptime.outages {
            let at = |ts: Ts| {
                chrono::DateTime::from_timestamp_millis(ts)
                    .map_or_else(String::new, |d| d.format("%Y-%m-%d %H:%M:%S").to_string())
            };
            let probed = c.target.is_some();
            let end = match o.end {
                Some(end) => at(end),
                None if probed => "ongoing".to_string(),
                None => "not probed since".to_string(),
            };
            let err = o.first_error.as_deref().map(crate::text::clean).unwrap_or_default();
            let dur = if o.end.is_some() || probed {
                crate::ui::widgets::fmt::age(o.duration_ms(now))
            } else {
                "—".to_string()
            };
            out_line!("  outage {} → {end:<19}  {dur:>6}  {err}", at(o.start));
        }
    }
    if matches!(from, Origin::Holder) {
        out_line!("(times UTC; from the running opsdeck that holds the data directory)");
    } else {
        out_line!("(times UTC)");
    }
}
