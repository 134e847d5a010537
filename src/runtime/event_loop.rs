//! The update/render loop, with its inputs and outputs behind small seams so
//! it runs headless: messages come from one inbox, frames go to a [`Screen`],
//! effects to an [`Effects`]. A test feeds messages, closes the inbox and
//! asserts the effects and the last frame (see the tests below).

use std::io;
use std::time::Duration;

use ratatui::crossterm::event::{Event as TermEvent, MouseButton, MouseEventKind};
use ratatui::layout::Rect;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::Msg;
use super::effects::Effects;
use crate::app::{self, Action, AppState, Ctx, Effect, MouseInput};
use crate::clock::Clock;
use crate::config::keymap::Keymap;
use crate::config::settings::Config;
use crate::config::theme::Theme;

/// At most one frame per this interval (~60 fps).
pub const FRAME_GAP: Duration = Duration::from_millis(16);

/// What the reducer and the views read that `reload` can replace.
pub struct Looks {
    pub config: Config,
    pub theme: Theme,
    pub keymap: Keymap,
}

/// Where frames go: the terminal, or a test's buffer.
pub trait Screen {
    fn draw(&mut self, state: &AppState, theme: &Theme) -> io::Result<()>;
    /// Give the terminal back to the shell until the user resumes (C-z).
    fn suspend(&mut self) -> io::Result<()>;
    /// Forget what is on the screen; the next frame paints every cell.
    fn repaint_all(&mut self) -> io::Result<()>;
    /// Give the terminal to a child process (an editor) until [`Screen::take_back`].
    fn hand_over(&mut self) -> io::Result<()>;
    /// Take the terminal back from the child: every cell is painted by the
    /// next frame. Returns the terminal's size (it may have changed meanwhile).
    fn take_back(&mut self) -> io::Result<(u16, u16)>;
    /// After the first frame was drawn (test hooks of the supervisor).
    fn first_frame(&mut self) {}
}

impl Screen for super::terminal::Term {
    fn draw(&mut self, state: &AppState, theme: &Theme) -> io::Result<()> {
        ratatui::Terminal::draw(self, |f| crate::ui::render(f, state, theme)).map(|_| ())
    }

    fn suspend(&mut self) -> io::Result<()> {
        super::terminal::suspend(self)
    }

    fn repaint_all(&mut self) -> io::Result<()> {
        super::terminal::repaint_all(self)
    }

    fn hand_over(&mut self) -> io::Result<()> {
        super::terminal::hand_over()
    }

    fn take_back(&mut self) -> io::Result<(u16, u16)> {
        super::terminal::take_back(self)
    }

    fn first_frame(&mut self) {
        #[cfg(unix)]
        super::supervisor::test_hooks_after_first_frame();
    }
}

/// Run until the user quits, input ends (`Msg::TermClosed`), or every sender
/// of the inbox is gone. Each wake handles every message waiting, then draws
/// at most one frame (no closer than [`FRAME_GAP`] to the last); a `Tick`
/// arrives at each minute of `clock`.
pub async fn run(
    state: &mut AppState,
    looks: &mut Looks,
    inbox: &mut mpsc::Receiver<Msg>,
    screen: &mut impl Screen,
    effects: &mut impl Effects,
    clock: &dyn Clock,
) -> io::Result<()> {
    let mut last_frame: Option<Instant> = None;
    let mut first_frame = true;
    loop {
        if state.dirty {
            let due = last_frame.map_or(Instant::now(), |l| l + FRAME_GAP);
            if Instant::now() >= due {
                screen.draw(state, &looks.theme)?;
                state.dirty = false;
                last_frame = Some(Instant::now());
                if std::mem::take(&mut first_frame) {
                    screen.first_frame();
                }
            }
        }
        let frame_due = state.dirty.then(|| last_frame.map_or(Instant::now(), |l| l + FRAME_GAP));
        let now_ms = clock.now_ms();
        let next_minute = Instant::now() + Duration::from_millis((60_000 - now_ms.rem_euclid(60_000)) as u64);
        let first = tokio::select! {
            m = inbox.recv() => m,
            _ = tokio::time::sleep_until(frame_due.unwrap_or(next_minute)), if frame_due.is_some() => continue,
            _ = tokio::time::sleep_until(next_minute) => Some(Msg::Tick),
        };
        let Some(first) = first else {
            // Every sender is gone: the frame owed is drawn, then the loop ends.
            if state.dirty {
                screen.draw(state, &looks.theme)?;
                state.dirty = false;
            }
            return Ok(());
        };
        let mut batch = vec![first];
        while let Ok(m) = inbox.try_recv() {
            batch.push(m);
        }
        for m in batch {
            let action = match m {
                Msg::TermClosed => return Ok(()),
                Msg::Tick => Action::Tick,
                Msg::Events(evs) => Action::Events(evs),
                Msg::Action(a) => a,
                Msg::Reloaded(outcome) => {
                    let action = super::reload::apply(looks, *outcome);
                    if matches!(action, Action::Reloaded { warnings: Some(_), .. }) {
                        effects.reloaded(&looks.config);
                    }
                    action
                }
                Msg::Term(ev) => {
                    let screen = Rect::new(0, 0, state.size.0, state.size.1);
                    match term_action(ev, screen, state) {
                        Some(a) => a,
                        None => continue,
                    }
                }
            };
            // What the loop's own effects answer is handled before the next message.
            let mut todo = vec![action];
            while let Some(action) = todo.pop() {
                let ctx = Ctx { now: clock.now_ms(), keymap: &looks.keymap, config: &looks.config };
                let mut quit = false;
                for effect in app::update(state, action, &ctx) {
                    match effect {
                        Effect::Quit => quit = true,
                        Effect::Suspend => {
                            screen.suspend()?;
                            state.dirty = true;
                        }
                        Effect::Redraw => {
                            screen.repaint_all()?;
                            state.dirty = true;
                        }
                        Effect::EditFile { path, editor, then } => {
                            let (said, size) = super::editor::edit_file(screen, &editor, &path).await;
                            state.dirty = true;
                            // Popped last: runs after the notice.
                            todo.extend(then.map(|a| Action::Chat(crate::app::panes::chat::ChatAction::Draft(a))));
                            todo.push(match said {
                                Ok(done) => Action::Notice(done),
                                Err(why) => Action::Message { title: "The editor".into(), lines: vec![why] },
                            });
                            if let Some((w, h)) = size.filter(|s| *s != state.size) {
                                todo.push(Action::Resize(w, h));
                            }
                        }
                        other => effects.apply(other),
                    }
                }
                if quit {
                    return Ok(());
                }
            }
        }
    }
}

/// Terminal events become actions; mouse positions are hit-tested here.
fn term_action(ev: TermEvent, screen: Rect, state: &AppState) -> Option<Action> {
    match ev {
        TermEvent::Key(k) => Some(Action::Key(k)),
        TermEvent::Paste(s) => Some(Action::Paste(s)),
        TermEvent::Resize(w, h) => Some(Action::Resize(w, h)),
        TermEvent::Mouse(m) => {
            let (target, item) = crate::ui::hit_test(screen, state, m.column, m.row)?;
            match m.kind {
                MouseEventKind::Down(MouseButton::Left) => Some(Action::Mouse(MouseInput::Click(target, item))),
                MouseEventKind::ScrollUp => Some(Action::Mouse(MouseInput::ScrollUp(target))),
                MouseEventKind::ScrollDown => Some(Action::Mouse(MouseInput::ScrollDown(target))),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
#[path = "event_loop/tests.rs"]
mod tests;
