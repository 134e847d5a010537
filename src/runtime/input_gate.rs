//! The input thread's gate: while a child process (an editor) has the
//! terminal, the input thread must not read it, or it would take the keys
//! typed into the child. [`pause`] returns once the thread is parked (it
//! polls in short slices, so that is within one slice); [`resume`] lets it
//! read again.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// How long the input thread waits for input before it looks at the gate:
/// four wake-ups a second when idle, and an editor starts within a slice.
pub const SLICE: Duration = Duration::from_millis(250);

#[derive(Default)]
struct Gate {
    paused: bool,
    parked: bool,
}

static GATE: Mutex<Gate> = Mutex::new(Gate { paused: false, parked: false });
static CHANGED: Condvar = Condvar::new();

fn lock() -> std::sync::MutexGuard<'static, Gate> {
    GATE.lock().unwrap_or_else(|p| p.into_inner())
}

/// The input thread, before each read: park while the gate is paused.
pub fn wait_open() {
    let mut g = lock();
    while g.paused {
        g.parked = true;
        CHANGED.notify_all();
        g = CHANGED.wait(g).unwrap_or_else(|p| p.into_inner());
    }
    g.parked = false;
}

/// Stop the input thread reading; returns once it is parked, or after
/// `within` (no input thread: tests, or it ended).
pub fn pause(within: Duration) {
    let mut g = lock();
    g.paused = true;
    let (g, _) = CHANGED.wait_timeout_while(g, within, |g| !g.parked).unwrap_or_else(|p| p.into_inner());
    drop(g);
}

/// Let the input thread read again.
pub fn resume() {
    let mut g = lock();
    g.paused = false;
    // A pause right after this waits for the thread to park again.
    g.parked = false;
    CHANGED.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_waits_for_the_reader_to_park_and_resume_lets_it_go() {
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for _ in 0..3 {
                wait_open();
                tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        rx.recv().unwrap();
        pause(Duration::from_secs(5));
        assert!(lock().parked, "the reader is parked when pause returns");
        // Parked: nothing more is read until resumed.
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        resume();
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        reader.join().unwrap();
        assert!(!lock().paused);
    }
}
