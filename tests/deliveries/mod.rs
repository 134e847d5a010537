//! Waiting for the engine to announce a delivery attempt (tests of notifiers).

use std::sync::Arc;
use std::time::Duration;

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
