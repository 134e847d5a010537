//! D20: alert rules reload while the engine runs — from a change in the rules
//! folder (file watcher) and on request — keeping the rules in force when
//! the new ones have an error, and resolving the alerts of removed rules.

use std::sync::Arc;
use std::time::Duration;

use opsdeck::clock::SystemClock;
use opsdeck::engine::alerts::reload::RulesReload;
use opsdeck::engine::alerts::rules;
use opsdeck::engine::store::Store;
use opsdeck::engine::tools::Registry;
use opsdeck::engine::{Engine, EngineConfig};
use opsdeck::protocol::Event;
use opsdeck::protocol::alerts::AlertState;
use tokio::time::timeout;

/// A failure bound, not a synchronisation.
const LIMIT: Duration = Duration::from_secs(20);

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Wait for an `alerts` event in which alert `id` is in `state`.
async fn until_alert(
    bus: &mut tokio::sync::broadcast::Receiver<Arc<opsdeck::protocol::Envelope>>,
    id: &str,
    state: AlertState,
) {
    timeout(LIMIT, async {
        loop {
            let Ok(env) = bus.recv().await else { continue };
            if let Event::Alerts(u) = &env.event
                && u.alerts.iter().any(|a| a.id == id && a.state == state)
            {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{id} never became {state:?}"));
}

fn rule_names(engine: &Engine) -> Vec<String> {
    let Some(env) = engine.alerts_event() else { return Vec::new() };
    let Event::Alerts(u) = &env.event else { return Vec::new() };
    u.rules.iter().map(|r| r.name.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_rules_folder_is_applied_and_a_broken_one_keeps_the_rules_in_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("web.toml");
    let port = closed_port();
    std::fs::write(&file, format!("[[check]]\nname = \"api\"\ntcp = \"127.0.0.1:{port}\"\ninterval = \"200ms\"\n"))
        .expect("write");
    let (set, errors) = rules::load(Some(dir.path()));
    assert!(errors.is_empty(), "{errors:?}");
    let engine = Engine::new(Store::temporary().expect("store"), EngineConfig::default(), Arc::new(SystemClock))
        .expect("engine");
    let mut bus = engine.subscribe();
    let registry = Registry::with_builtins(opsdeck::jq::JqRunner::new(env!("CARGO_BIN_EXE_opsdeck")));
    engine.start_alerts(set, registry, &[], dir.path());
    until_alert(&mut bus, "api", AlertState::Firing).await;

    let mut changes = engine.watch_rules(dir.path().to_path_buf()).expect("watch");
    // A new file appears and the check is removed from the old one.
    std::fs::write(
        dir.path().join("extra.toml"),
        "[[rule]]\nname = \"cpu_very_high\"\ncondition = \"cpu.total > 99\"\n",
    )
    .expect("write");
    std::fs::write(&file, "").expect("write");
    let outcome = loop {
        match timeout(LIMIT, changes.recv()).await.expect("a reload after the change").expect("watching") {
            RulesReload::Applied(d) if d.removed.contains(&"check api".to_string()) => break d,
            RulesReload::Applied(_) => continue, // the first of the two writes, seen alone
            other => panic!("{other:?}"),
        }
    };
    assert!(outcome.added.contains(&"rule cpu_very_high".to_string()), "{outcome}");
    until_alert(&mut bus, "api", AlertState::Resolved).await;
    assert!(rule_names(&engine).contains(&"cpu_very_high".to_string()));

    // A broken file: nothing is applied, every problem is located.
    std::fs::write(dir.path().join("broken.toml"), "[[rule]]\nname = \"x\"\ncondition = \"cpu.total >\"\n")
        .expect("write");
    match timeout(LIMIT, changes.recv()).await.expect("a reload after the change").expect("watching") {
        RulesReload::Kept(errors) => {
            let text = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
            assert!(text.contains("broken.toml:3:"), "located: {text}");
        }
        other => panic!("a broken file was applied: {other:?}"),
    }
    let names = rule_names(&engine);
    assert!(names.contains(&"cpu_very_high".to_string()) && !names.contains(&"x".to_string()), "{names:?}");
    engine.shutdown();
}
