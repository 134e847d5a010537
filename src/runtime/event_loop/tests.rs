//! The loop, headless: a test screen, an effect recorder, messages fed
//! through the inbox (time is paused, so frame pacing and the minute tick
//! cost nothing and wait for nothing).

use crate::protocol::MetricsCommand;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::clock::FixedClock;

/// 2026-12-05 10:00:30 UTC: half a minute before the next tick.
const NOW: i64 = 1_796_464_830_000;

/// Frames go to a buffer; suspends, repaints and hand-overs are counted.
struct TestScreen {
    term: Terminal<TestBackend>,
    frames: usize,
    suspended: usize,
    repainted: usize,
    /// Times the terminal was handed to a child, and taken back.
    handed: usize,
    taken: usize,
}

impl TestScreen {
    fn new() -> Self {
        let term = Terminal::new(TestBackend::new(80, 24)).unwrap();
        TestScreen { term, frames: 0, suspended: 0, repainted: 0, handed: 0, taken: 0 }
    }

    fn text(&self) -> String {
        let buf = self.term.backend().buffer();
        buf.content()
            .chunks(buf.area.width as usize)
            .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
            .collect()
    }
}

impl Screen for TestScreen {
    fn draw(&mut self, state: &AppState, theme: &Theme) -> io::Result<()> {
        self.frames += 1;
        self.term.draw(|f| crate::ui::render(f, state, theme)).map(|_| ()).map_err(|e| match e {})
    }
    fn suspend(&mut self) -> io::Result<()> {
        self.suspended += 1;
        Ok(())
    }
    fn repaint_all(&mut self) -> io::Result<()> {
        self.repainted += 1;
        Ok(())
    }
    fn hand_over(&mut self) -> io::Result<()> {
        assert_eq!(self.handed, self.taken, "handed over while a child had it");
        self.handed += 1;
        Ok(())
    }
    fn take_back(&mut self) -> io::Result<(u16, u16)> {
        self.taken += 1;
        self.repainted += 1;
        Ok((100, 30))
    }
}

/// The effects the loop handed on, in order.
#[derive(Default)]
struct Recorder(Vec<Effect>);

impl Effects for Recorder {
    fn apply(&mut self, effect: Effect) {
        self.0.push(effect);
    }
}

struct Harness {
    state: AppState,
    looks: Looks,
    screen: TestScreen,
    effects: Recorder,
}

impl Harness {
    fn new() -> Self {
        let looks = Looks { config: Config::default(), theme: Theme::fallback(false), keymap: Keymap::fallback() };
        let ctx = Ctx { now: NOW, keymap: &looks.keymap, config: &looks.config };
        let mut state = AppState::new(&ctx);
        state.size = (80, 24);
        Harness { state, looks, screen: TestScreen::new(), effects: Recorder::default() }
    }

    /// Feed `msgs` (the inbox then closes) and run the loop to its end.
    async fn run(&mut self, msgs: Vec<Msg>) {
        let (tx, mut rx) = mpsc::channel(msgs.len().max(1));
        for m in msgs {
            tx.try_send(m).unwrap();
        }
        drop(tx);
        let ended =
            run(&mut self.state, &mut self.looks, &mut rx, &mut self.screen, &mut self.effects, &FixedClock(NOW));
        ended.await.unwrap();
    }
}

fn key(code: KeyCode, mods: KeyModifiers) -> Msg {
    Msg::Term(TermEvent::Key(KeyEvent::new(code, mods)))
}

fn ch(c: char) -> Msg {
    key(KeyCode::Char(c), KeyModifiers::NONE)
}

#[tokio::test(start_paused = true)]
async fn keys_become_effects_the_loop_keeps_its_own_and_q_ends_it() {
    let mut h = Harness::new();
    h.run(vec![
        ch(']'),
        key(KeyCode::Char('z'), KeyModifiers::CONTROL),
        key(KeyCode::Char('l'), KeyModifiers::CONTROL),
        ch('q'),
        // Never read: the loop ended at q.
        ch('['),
    ])
    .await;
    assert!(
        matches!(&h.effects.0[..], [Effect::SaveUi { key, value }] if key == "metrics.prefs" && value.contains(r#""window":"15m""#)),
        "{:?}",
        h.effects.0
    );
    assert_eq!((h.screen.suspended, h.screen.repainted), (1, 1), "suspend and redraw are the screen's");
    assert_eq!(h.state.metrics.window, crate::config::settings::Window::M15, "[ after q was not handled");
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_messages_is_one_frame_and_a_closed_inbox_ends_after_drawing_it() {
    let mut h = Harness::new();
    let mut burst: Vec<Msg> = (0..200).map(|_| ch('j')).collect();
    burst.push(Msg::Action(Action::Notice("deploy 42 is out".into())));
    h.run(burst).await;
    assert_eq!(h.screen.frames, 2, "the first frame, then one for the whole burst");
    assert!(h.screen.text().contains("deploy 42 is out"), "{}", h.screen.text());
    assert!(h.effects.0.is_empty(), "{:?}", h.effects.0);
}

#[tokio::test(start_paused = true)]
async fn the_end_of_input_ends_the_loop_without_handling_what_follows() {
    let mut h = Harness::new();
    h.run(vec![Msg::TermClosed, ch(']')]).await;
    assert!(h.effects.0.is_empty(), "{:?}", h.effects.0);
    assert_eq!(h.state.metrics.window, crate::config::settings::Window::M5);
}

#[tokio::test(start_paused = true)]
async fn a_command_effect_reaches_the_executor_with_its_source_and_id() {
    let mut h = Harness::new();
    (h.state.instance, h.state.user) = ("t1".into(), "ops".into());
    let mut msgs = vec![ch('a')];
    msgs.extend("deploy v42".chars().map(ch));
    msgs.push(key(KeyCode::Enter, KeyModifiers::NONE));
    h.run(msgs).await;
    let want = crate::protocol::Command::Metrics(MetricsCommand::Annotate {
        text: "deploy v42".into(),
        author: "ops".into(),
        at: Some(NOW),
    });
    assert_eq!(h.effects.0, vec![Effect::Command { source: "local".into(), id: "t1-1".into(), command: want }]);
}

#[path = "edit_tests.rs"]
mod edit_tests;
