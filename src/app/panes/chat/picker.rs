//! The model picker: a popup listing the configured models (provider,
//! price when configured, which one heads the fallback chain), filtered as
//! you type; Enter makes the selected one the model asked first in the
//! open conversation, kept with it.

use super::{ChatEffect, ChatState};
use crate::app::Effect;
use crate::app::input::LineInput;
use crate::protocol::chat::ModelRef;
use crate::text::rank::{Rank, Ranker};

/// One model offered.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRow {
    pub model: ModelRef,
    /// Prices per million input and output tokens (`None`: not configured).
    pub price: (Option<f64>, Option<f64>),
    /// The head of the configured chain (asked first when nothing is chosen).
    pub head: bool,
    /// The one asked first now.
    pub chosen: bool,
}

/// The picker's state.
#[derive(Debug, Clone)]
pub struct ModelPicker {
    pub filter: LineInput,
    pub rows: Vec<ModelRow>,
    /// Rows that pass the filter, best first, with the matched char
    /// positions in `provider/model` (map them with [`crate::text::char_ranges`]).
    pub shown: Vec<(usize, Vec<u32>)>,
    pub selected: usize,
}

impl ModelPicker {
    /// The picker over `chat`'s models, the chosen one selected.
    pub fn new(chat: &ChatState) -> ModelPicker {
        let chosen = chat.chosen.as_ref().or(chat.models.first());
        let rows: Vec<ModelRow> = chat
            .models
            .iter()
            .enumerate()
            .map(|(i, m)| ModelRow {
                model: m.clone(),
                price: chat.prices.get(&m.provider).copied().unwrap_or((None, None)),
                head: i == 0,
                chosen: Some(m) == chosen,
            })
            .collect();
        let mut p =
            ModelPicker { filter: LineInput::new("type to filter models"), rows, shown: Vec::new(), selected: 0 };
        p.refilter();
        p.selected = p.shown.iter().position(|(i, _)| p.rows[*i].chosen).unwrap_or(0);
        p
    }

    /// Rows that match the filter (nucleo on `provider/model`), best first;
    /// the first is selected.
    pub fn refilter(&mut self) -> bool {
        let mut ranker = Ranker::new(self.filter.text());
        let mut scored: Vec<(Rank, usize, Vec<u32>)> = self
            .rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| ranker.rank(&r.model.to_string(), &[]).map(|(k, hits)| (k, i, hits)))
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        self.shown = scored.into_iter().map(|(_, i, hits)| (i, hits)).collect();
        self.selected = 0;
        true
    }

    /// The selected model, if any row is shown.
    pub fn selected_model(&self) -> Option<&ModelRef> {
        self.shown.get(self.selected).map(|(i, _)| &self.rows[*i].model)
    }
}

impl ChatState {
    /// Ask `model` first in the open conversation from now on (`None`: the
    /// configured chain); kept with the conversation (saved now if it is).
    pub fn choose_model(&mut self, model: Option<ModelRef>, effects: &mut Vec<Effect>) {
        self.chosen = model.clone();
        if self.conv.meta.model != model {
            self.conv.meta.model = model.clone();
            if !self.conv.meta.id.is_empty() {
                effects.push(Effect::Chat(ChatEffect::SetModel { id: self.conv.meta.id.clone(), model }));
            }
        }
    }

    /// The model an opened conversation asks first: its own if still
    /// configured; else the chain head, and a notice saying so.
    pub fn restore_model(&mut self) -> Option<String> {
        match &self.conv.meta.model {
            Some(m) if self.models.contains(m) => {
                self.chosen = Some(m.clone());
                None
            }
            Some(m) => {
                let notice = format!(
                    "{m}, this conversation's model, is not configured any more: asking {} first \
                     (M picks another; add it back to config.toml to use it)",
                    self.models.first().map_or_else(|| "no model".to_string(), ToString::to_string)
                );
                self.chosen = None;
                Some(notice)
            }
            None => {
                self.chosen = None;
                None
            }
        }
    }
}
