//! Waiting for the engine to announce a delivery attempt (tests of notifiers).

use std::sync::Arc;
use std::time::Duration;

use opsdeck::clock::SystemClock;
use opsdeck::engine::alerts::rules::{self, RuleSet};
use opsdeck::engine::store::Store;
use opsdeck::engine::{Engine, EngineConfig};
use opsdeck::protocol::Event;
use opsdeck::protocol::alerts::Delivery;

/// A failure bound, not a synchronisation.
const LIMIT: Duration = Duration::from_secs(60);

/// The first delivery the engine announces that `want` accepts (the ones
/// before it are skipped); panics after a minute.
pub async fn announced(
    rx: &mut tokio::sync::broadcast::Receiver<Arc<opsdeck::protocol::Envelope>>,
    want: impl Fn(&Delivery) -> bool,
) -> Delivery {
    tokio::time::timeout(LIMIT, async {
        loop {
            let env = match rx.recv().await {
                Ok(e) => e,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("bus closed: {e}"),
            };
            if let Event::Alerts(u) = &env.event
                && let Some(d) = u.deliveries.iter().find(|d| want(d))
            {
                return d.clone();
            }
        }
    })
    .await
    .expect("a delivery announced within the limit")
}

/// An engine (store in memory, the system clock) and its bus, with the rules
/// of one health check `api` (labels `team=web`, probed every 200 ms) of a
/// loopback `port` nobody listens on yet: bind it to make the check pass.
pub struct FailingCheck {
    pub port: u16,
    pub rules: RuleSet,
    pub dir: tempfile::TempDir,
    pub engine: Engine,
    pub bus: tokio::sync::broadcast::Receiver<Arc<opsdeck::protocol::Envelope>>,
}

/// See [`FailingCheck`]; the alert engine is not started (the caller picks its notifiers).
pub fn failing_check() -> FailingCheck {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let src = format!(
        "[[check]]\nname = \"api\"\ntcp = \"127.0.0.1:{port}\"\ninterval = \"200ms\"\ntimeout = \"1s\"\nlabels = {{ team = \"web\" }}\n"
    );
    let rules = rules::parse("t.toml", &src).expect("rules");
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::new(Store::temporary().expect("store"), EngineConfig::default(), Arc::new(SystemClock))
        .expect("engine");
    let bus = engine.subscribe();
    FailingCheck { port, rules, dir, engine, bus }
}
