//! Popups: the help overlay, the command palette and messages.

use ratatui::crossterm::event::KeyEvent;

use super::input::LineInput;
use super::pane::Hint;
use crate::actions::{KeyContext, UserAction};
use crate::config::keymap::{Keymap, format_keys};
use crate::text::rank::{Rank, Ranker};

/// One row of the help overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelpRow {
    pub context: &'static str,
    pub keys: String,
    pub action: &'static str,
    pub desc: String,
}

#[derive(Debug, Clone)]
pub struct HelpState {
    pub filter: LineInput,
    pub all: Vec<HelpRow>,
    /// Indices into `all` that pass the filter.
    pub shown: Vec<usize>,
    pub selected: usize,
}

/// One palette entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaletteItem {
    pub action: UserAction,
    pub keys: String,
}

#[derive(Clone)]
pub struct PaletteState {
    pub query: LineInput,
    pub items: Vec<PaletteItem>,
    /// (index into items, matched char positions in the action name) best first;
    /// map them with [`crate::text::char_ranges`].
    pub matches: Vec<(usize, Vec<u32>)>,
    pub selected: usize,
}

impl std::fmt::Debug for PaletteState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaletteState").field("query", &self.query.text()).field("matches", &self.matches.len()).finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageState {
    pub title: String,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Overlay {
    Help(Box<HelpState>),
    Palette(Box<PaletteState>),
    Message(MessageState),
    /// Every source with its headline figures; Enter shows the selected one.
    Fleet {
        selected: usize,
    },
    /// Which signal to send to a process of `source`, then "send it?".
    Signal(Box<SignalPopup>),
    /// A one-line question; Enter sends an annotation to `source`.
    Annotate {
        source: String,
        input: Box<LineInput>,
    },
    /// A popup of the tools pane (confirm, export, chaining); handled there.
    Tools(Box<crate::app::panes::tools::ToolsPopup>),
    /// Acknowledge with a note, or silence for a while; handled by the alerts pane.
    Alert(Box<AlertPopup>),
    /// A popup of the workflows pane (start form, confirm, approve/reject); handled there.
    Workflows(Box<crate::app::panes::workflows::WfPopup>),
    /// The chat pane's tool choice or a waiting call's argument form; handled there.
    ChatTools(Box<crate::app::panes::chat::ChatToolsPopup>),
    /// The chat pane's model picker; handled by the chat pane.
    ChatModels(Box<crate::app::panes::chat::ModelPicker>),
    /// "Quit now?" while the in-process engine has `runs` in flight.
    QuitConfirm {
        runs: usize,
        /// What quitting does to them and how to resume them (keys from the keymap).
        lines: Vec<String>,
    },
}

/// Choosing a signal for process `pid` (`name`) of `source`; Enter on a
/// signal asks to confirm (`confirming`), `y`/Enter sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalPopup {
    pub source: String,
    pub pid: u32,
    pub name: String,
    pub selected: usize,
    pub confirming: bool,
}

/// The alerts pane's popups.
#[derive(Debug, Clone)]
pub enum AlertPopup {
    Ack {
        source: String,
        alert: String,
        note: Box<LineInput>,
    },
    Silence(Box<crate::app::panes::silence::SilenceDraft>),
    /// "Are you sure?" before `command` goes to `source`; Enter sends it.
    Confirm {
        source: String,
        command: crate::protocol::Command,
        question: String,
    },
}

impl AlertPopup {
    /// A key for the popup's focused field.
    pub fn key(&mut self, key: KeyEvent) -> bool {
        match self {
            AlertPopup::Ack { note, .. } => note.input(key),
            AlertPopup::Silence(d) => d.key(key),
            AlertPopup::Confirm { .. } => false,
        }
    }

    /// Pasted text for the popup's focused field.
    pub fn paste(&mut self, text: &str) -> bool {
        match self {
            AlertPopup::Ack { note, .. } => note.paste(text),
            AlertPopup::Silence(d) => d.paste(text),
            AlertPopup::Confirm { .. } => false,
        }
    }
}

impl Overlay {
    /// Status-bar hints while this popup is open: what Enter does here and
    /// how to move (a form's fields, a list's rows), or only how to close it.
    pub fn hints(&self) -> Vec<Hint> {
        use UserAction as U;
        match self {
            Overlay::Alert(p) => match &**p {
                AlertPopup::Silence(d) => {
                    let mut v = vec![
                        Hint::Bound(U::Close, Some("cancel")),
                        Hint::Bound(U::Confirm, Some("create")),
                        Hint::Bound(U::FocusNext, Some("next field")),
                    ];
                    if d.field == crate::app::panes::silence::SilenceField::Duration {
                        v.push(Hint::Fixed("←/→", "duration"));
                    }
                    v
                }
                AlertPopup::Ack { .. } => {
                    vec![Hint::Bound(U::Close, Some("cancel")), Hint::Bound(U::Confirm, Some("record"))]
                }
                AlertPopup::Confirm { .. } => {
                    vec![Hint::Bound(U::Confirm, Some("yes, do it")), Hint::Bound(U::Close, Some("no, keep it"))]
                }
            },
            Overlay::Workflows(p) => {
                use crate::app::panes::workflows::WfPopup;
                match &**p {
                    WfPopup::Start { form, .. } if form.editing.is_some() => {
                        vec![Hint::Fixed("editing", ""), Hint::Fixed("Enter/Esc", "done")]
                    }
                    WfPopup::Start { on_start: true, rerun, .. } => vec![
                        Hint::Bound(U::Confirm, Some(if rerun.is_some() { "rerun" } else { "start" })),
                        Hint::Bound(U::Up, Some("inputs")),
                        Hint::Bound(U::Close, Some("cancel")),
                    ],
                    WfPopup::Start { .. } => vec![
                        Hint::Bound(U::Confirm, Some("edit")),
                        Hint::Bound(U::Down, Some("next (last: start)")),
                        Hint::Bound(U::Close, Some("cancel")),
                    ],
                    WfPopup::Confirm { .. } => {
                        vec![Hint::Bound(U::Confirm, Some("yes, do it")), Hint::Bound(U::Close, Some("no, keep it"))]
                    }
                    WfPopup::Decide { approve, .. } => vec![
                        Hint::Bound(U::Confirm, Some(if *approve { "approve" } else { "reject" })),
                        Hint::Bound(U::Close, Some("cancel")),
                    ],
                }
            }
            Overlay::ChatTools(p) => super::chat_tools::hints(p),
            // A message has nothing to run or move through.
            Overlay::Message(_) => vec![Hint::Bound(U::Close, Some("close"))],
            Overlay::QuitConfirm { .. } => {
                vec![Hint::Bound(U::Confirm, Some("quit")), Hint::Bound(U::Close, Some("stay"))]
            }
            Overlay::Signal(p) if p.confirming => {
                vec![Hint::Fixed("y", "send"), Hint::Fixed("n/Esc", "back to the list")]
            }
            Overlay::Signal(_) => vec![
                Hint::Bound(U::Confirm, Some("choose")),
                Hint::Bound(U::Close, Some("cancel")),
                Hint::Bound(U::Down, None),
                Hint::Bound(U::Up, None),
            ],
            Overlay::Tools(p) => {
                use crate::app::panes::tools::ToolsPopup as T;
                let (enter, list) = match &**p {
                    T::Confirm { .. } => ("yes, run it", false),
                    T::Export { .. } => ("write the file", true),
                    T::ChainFilter { .. } => ("pick the next tool", false),
                    T::ChainArg { .. } => ("choose", true),
                    T::SaveChain { .. } => ("save", false),
                };
                let mut v = vec![Hint::Bound(U::Confirm, Some(enter)), Hint::Bound(U::Close, Some("cancel"))];
                if list {
                    v.extend([Hint::Bound(U::Down, None), Hint::Bound(U::Up, None)]);
                }
                v
            }
            Overlay::Annotate { .. } => {
                vec![Hint::Bound(U::Confirm, Some("record")), Hint::Bound(U::Close, Some("cancel"))]
            }
            Overlay::ChatModels(_) => vec![
                Hint::Bound(U::Confirm, Some("ask it first")),
                Hint::Bound(U::Close, Some("cancel")),
                Hint::Bound(U::Down, None),
                Hint::Bound(U::Up, None),
            ],
            Overlay::Fleet { .. } => vec![
                Hint::Bound(U::Confirm, Some("show")),
                Hint::Bound(U::Close, None),
                Hint::Bound(U::Down, None),
                Hint::Bound(U::Up, None),
            ],
            // Help and the palette run the selected row's action.
            Overlay::Help(_) | Overlay::Palette(_) => vec![
                Hint::Bound(U::Close, None),
                Hint::Bound(U::Confirm, Some("run")),
                Hint::Bound(U::Down, None),
                Hint::Bound(U::Up, None),
            ],
        }
    }

    /// Help for the focused context first, then global and popup keys.
    pub fn help(keymap: &Keymap, focused: KeyContext) -> Overlay {
        let mut all = Vec::new();
        let mut order = vec![focused];
        order.extend(KeyContext::ALL.into_iter().filter(|c| *c != focused));
        for ctx in order {
            for b in keymap.bindings(ctx) {
                all.push(HelpRow {
                    context: ctx.name(),
                    keys: format_keys(&b.keys),
                    action: b.action.name(),
                    desc: b.desc.clone(),
                });
            }
        }
        let shown = (0..all.len()).collect();
        Overlay::Help(Box::new(HelpState { filter: LineInput::new("type to filter"), all, shown, selected: 0 }))
    }

    /// The actions that apply now (`applies`: the focused pane's and the
    /// global ones, in the present state), with their key in `ctxs` if bound.
    pub fn palette(keymap: &Keymap, ctxs: &[KeyContext], applies: impl Fn(UserAction) -> bool) -> Overlay {
        let items: Vec<PaletteItem> = UserAction::ALL
            .iter()
            .filter(|a| !matches!(a, UserAction::Close | UserAction::Confirm | UserAction::CommandPalette))
            .filter(|a| !a.is_motion() && applies(**a))
            .map(|a| PaletteItem {
                action: *a,
                keys: keymap.binding_for(ctxs, *a).map(|b| format_keys(&b.keys)).unwrap_or_default(),
            })
            .collect();
        let mut p = PaletteState { query: LineInput::new("type an action"), matches: Vec::new(), items, selected: 0 };
        p.rematch();
        Overlay::Palette(Box::new(p))
    }

    pub fn message(title: impl Into<String>, lines: Vec<String>) -> Overlay {
        Overlay::Message(MessageState { title: title.into(), lines })
    }

    pub fn has_input(&self) -> bool {
        match self {
            Overlay::Help(_) | Overlay::Palette(_) | Overlay::Annotate { .. } => true,
            Overlay::Tools(p) => p.has_input(),
            Overlay::Alert(_) => true,
            Overlay::Workflows(p) => p.has_input(),
            Overlay::ChatTools(p) => p.has_input(),
            Overlay::ChatModels(_) => true,
            Overlay::Message(_) | Overlay::Fleet { .. } | Overlay::Signal(_) | Overlay::QuitConfirm { .. } => false,
        }
    }

    /// A key for the text input; returns whether anything changed.
    pub fn input(&mut self, key: KeyEvent, _keymap: &Keymap) -> bool {
        match self {
            Overlay::Help(h) => h.filter.input(key) && h.refilter(),
            Overlay::Palette(p) => p.query.input(key) && p.rematch(),
            Overlay::Annotate { input, .. } => input.input(key),
            Overlay::Tools(p) => p.input(key),
            Overlay::Alert(p) => p.key(key),
            Overlay::Workflows(p) => p.key(key),
            Overlay::ChatTools(p) => p.key(key),
            Overlay::ChatModels(p) => p.filter.input(key) && p.refilter(),
            Overlay::Message(_) | Overlay::Fleet { .. } | Overlay::Signal(_) | Overlay::QuitConfirm { .. } => false,
        }
    }

    pub fn paste(&mut self, text: &str, _keymap: &Keymap) -> bool {
        match self {
            Overlay::Help(h) => h.filter.paste(text) && h.refilter(),
            Overlay::Palette(p) => p.query.paste(text) && p.rematch(),
            Overlay::Annotate { input, .. } => input.paste(text),
            Overlay::Tools(p) => p.paste(text),
            Overlay::Alert(p) => p.paste(text),
            Overlay::Workflows(p) => p.paste(text),
            Overlay::ChatTools(p) => p.paste(text),
            Overlay::ChatModels(p) => p.filter.paste(text) && p.refilter(),
            Overlay::Message(_) | Overlay::Fleet { .. } | Overlay::Signal(_) | Overlay::QuitConfirm { .. } => false,
        }
    }

    /// Apply a bound action; returns (close the overlay, action to run after closing).
    pub fn on_action(&mut self, a: UserAction, _keymap: &Keymap) -> (bool, Option<UserAction>) {
        let (sel, len) = match self {
            Overlay::Help(h) => (&mut h.selected, h.shown.len()),
            Overlay::Palette(p) => (&mut p.selected, p.matches.len()),
            Overlay::Message(_)
            | Overlay::QuitConfirm { .. }
            | Overlay::Fleet { .. }
            | Overlay::Signal(_)
            | Overlay::Annotate { .. }
            | Overlay::Tools(_)
            | Overlay::Alert(_)
            | Overlay::Workflows(_)
            | Overlay::ChatModels(_)
            | Overlay::ChatTools(_) => {
                return (matches!(a, UserAction::Close | UserAction::Confirm | UserAction::Quit), None);
            }
        };
        if super::list::apply(a, sel, len, super::list::PAGE).is_some() {
            return (false, None);
        }
        match a {
            UserAction::Close => return (true, None),
            UserAction::Confirm => {
                return match self {
                    Overlay::Palette(p) => (true, p.matches.get(p.selected).map(|(i, _)| p.items[*i].action)),
                    // Enter on a row of help runs its action, as the palette does.
                    Overlay::Help(h) => {
                        (true, h.shown.get(h.selected).and_then(|i| UserAction::from_name(h.all[*i].action)))
                    }
                    _ => (true, None),
                };
            }
            _ => {}
        }
        (false, None)
    }
}

impl HelpState {
    /// Rows that match the filter, best first ([`crate::text::rank`]): an
    /// action's name, then its keys, description and context.
    fn refilter(&mut self) -> bool {
        let mut ranker = Ranker::new(self.filter.text());
        let mut ranked: Vec<(Rank, usize)> = self
            .all
            .iter()
            .enumerate()
            .filter_map(|(i, r)| ranker.rank(r.action, &[&r.keys, &r.desc, r.context]).map(|(k, _)| (k, i)))
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        self.shown = ranked.into_iter().map(|(_, i)| i).collect();
        self.selected = 0;
        true
    }
}

impl PaletteState {
    /// Actions that match the query, best first ([`crate::text::rank`]).
    fn rematch(&mut self) -> bool {
        self.selected = 0;
        let mut ranker = Ranker::new(self.query.text());
        let mut scored: Vec<(Rank, usize, Vec<u32>)> = self
            .items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                ranker.rank(item.action.name(), &[item.action.desc(), &item.keys]).map(|(k, hits)| (k, i, hits))
            })
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        self.matches = scored.into_iter().map(|(_, i, idx)| (i, idx)).collect();
        true
    }
}
