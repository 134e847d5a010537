//! An argument form generated from a tool's JSON Schema: strings (single or
//! multi-line), numbers, booleans, enums, arrays and nested objects, with
//! defaults and inline validation.

use ratatui::crossterm::event::{KeyCode, KeyEvent};
use serde_json::{Map, Value};

use crate::app::input::TextInput;

/// How a field is edited and how its text becomes a value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Text {
        multiline: bool,
    },
    Integer,
    Number,
    Bool,
    /// One of these values (cycled with Space / ←→).
    Enum(Vec<Value>),
    /// One item per line, each typed as `item` ("string", "integer", "number", "boolean").
    List {
        item: String,
    },
    /// Free JSON (objects without declared properties, arrays of objects).
    Json,
    /// No declared type: JSON when the text is JSON (`5`, `{"a":1}`), else the text.
    Any,
    /// A heading for a nested object's fields.
    Group,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Property names from the root, e.g. `["headers", "accept"]`.
    pub path: Vec<String>,
    pub kind: FieldKind,
    pub required: bool,
    pub description: String,
    /// Editable text for text-like kinds; `"true"`/`"false"` for booleans; the
    /// chosen value's JSON for enums; empty = not given.
    pub text: String,
    pub error: Option<String>,
    /// The schema's default (what the tool uses when the field is left empty).
    pub default: Option<Value>,
    /// Shown but not editable, with why (a rerun's input only reused steps read).
    pub fixed: Option<String>,
    minimum: Option<f64>,
    maximum: Option<f64>,
}

impl Field {
    pub fn label(&self) -> &str {
        self.path.last().map_or("", String::as_str)
    }

    pub fn depth(&self) -> usize {
        self.path.len().saturating_sub(1)
    }

    /// The field's value, `None` when left empty, or what is wrong with it.
    pub fn value(&self) -> Result<Option<Value>, String> {
        let t = self.text.trim();
        if t.is_empty() && !matches!(self.kind, FieldKind::Text { .. }) || self.text.is_empty() {
            return if self.required { Err("required".into()) } else { Ok(None) };
        }
        let v = match &self.kind {
            FieldKind::Group => return Ok(None),
            FieldKind::Text { .. } => Value::String(self.text.clone()),
            FieldKind::Integer => Value::from(t.parse::<i64>().map_err(|_| format!("{t:?} is not a whole number"))?),
            FieldKind::Number => {
                let n = t.parse::<f64>().ok().filter(|n| n.is_finite()).ok_or(format!("{t:?} is not a number"))?;
                Value::from(n)
            }
            FieldKind::Bool => Value::Bool(t == "true"),
            FieldKind::Enum(_) => serde_json::from_str(t).map_err(|e| e.to_string())?,
            FieldKind::List { item } => {
                let mut items = Vec::new();
                for (i, line) in self.text.lines().map(str::trim).filter(|l| !l.is_empty()).enumerate() {
                    items.push(typed(item, line).map_err(|e| format!("item {}: {e}", i + 1))?);
                }
                Value::Array(items)
            }
            FieldKind::Json => serde_json::from_str(t).map_err(|e| format!("not JSON: {e}"))?,
            FieldKind::Any => serde_json::from_str(t).unwrap_or_else(|_| Value::String(self.text.clone())),
        };
        if let Some(n) = v.as_f64() {
            if let Some(min) = self.minimum.filter(|m| n < *m) {
                return Err(format!("must be at least {min}"));
            }
            if let Some(max) = self.maximum.filter(|m| n > *m) {
                return Err(format!("must be at most {max}"));
            }
        }
        Ok(Some(v))
    }

    /// A field the user can select and change (not a heading, not fixed).
    pub fn editable(&self) -> bool {
        self.kind != FieldKind::Group && self.fixed.is_none()
    }

    /// Is this field edited in a text editor (as opposed to toggled)?
    pub fn is_text(&self) -> bool {
        !matches!(self.kind, FieldKind::Bool | FieldKind::Enum(_) | FieldKind::Group)
    }

    pub fn multiline(&self) -> bool {
        matches!(self.kind, FieldKind::Text { multiline: true } | FieldKind::List { .. } | FieldKind::Json)
    }

    /// Set from a value (defaults, re-runs, chaining).
    pub fn set_value(&mut self, v: &Value) {
        self.text = match (&self.kind, v) {
            (FieldKind::Text { .. }, Value::String(s)) => s.clone(),
            (FieldKind::List { .. }, Value::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join("\n"),
            (FieldKind::Json, v) => serde_json::to_string_pretty(v).unwrap_or_default(),
            (_, Value::String(s)) if !matches!(self.kind, FieldKind::Enum(_)) => s.clone(),
            (_, v) => v.to_string(),
        };
        self.error = None;
    }
}

fn typed(ty: &str, s: &str) -> Result<Value, String> {
    match ty {
        "integer" => s.parse::<i64>().map(Value::from).map_err(|_| format!("{s:?} is not a whole number")),
        "number" => s.parse::<f64>().map(Value::from).map_err(|_| format!("{s:?} is not a number")),
        "boolean" => s.parse::<bool>().map(Value::Bool).map_err(|_| format!("{s:?} is not true or false")),
        _ => Ok(Value::String(s.to_string())),
    }
}

/// Property names that usually hold long text.
const LONG_TEXT: &[&str] = &["body", "content", "text", "input", "data", "script", "json"];

fn kind_of(name: &str, p: &Value) -> FieldKind {
    if let Some(choices) = p.get("enum").and_then(Value::as_array) {
        return FieldKind::Enum(choices.clone());
    }
    let ty = match p.get("type") {
        Some(Value::String(t)) => t.as_str(),
        // ["string", "null"]: the first non-null type.
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null").unwrap_or("string"),
        None if p.get("properties").is_none() => return FieldKind::Any,
        _ => "string",
    };
    match ty {
        "integer" => FieldKind::Integer,
        "number" => FieldKind::Number,
        "boolean" => FieldKind::Bool,
        "array" => match p.pointer("/items/type").and_then(Value::as_str) {
            Some(t @ ("string" | "integer" | "number" | "boolean")) => FieldKind::List { item: t.into() },
            _ => FieldKind::Json,
        },
        "object" if p.get("properties").and_then(Value::as_object).is_some_and(|m| !m.is_empty()) => FieldKind::Group,
        "object" => FieldKind::Json,
        _ => {
            let long = p.get("x-multiline").and_then(Value::as_bool).unwrap_or(false)
                || p.get("maxLength").and_then(Value::as_u64).is_some_and(|n| n > 200)
                || LONG_TEXT.contains(&name.to_ascii_lowercase().as_str());
            FieldKind::Text { multiline: long }
        }
    }
}

/// The form of one tool.
#[derive(Debug, Clone)]
pub struct Form {
    pub tool: String,
    pub fields: Vec<Field>,
    pub selected: usize,
    /// The field being edited (text kinds).
    pub editing: Option<TextInput>,
    /// Where a field's value came from when it was chained in, e.g. `← run #3 | .body`.
    pub notes: Vec<(usize, String)>,
}

impl Form {
    pub fn new(tool: &str, schema: &Value) -> Form {
        let mut fields = Vec::new();
        collect(schema, &mut Vec::new(), &mut fields, 0);
        let selected = fields.iter().position(Field::editable).unwrap_or(0);
        Form { tool: tool.into(), fields, selected, editing: None, notes: Vec::new() }
    }

    /// Fill fields from earlier arguments (a re-run or a history entry); a field
    /// the arguments leave out shows its default, which is what the tool used.
    pub fn fill(&mut self, args: &Value) {
        for f in &mut self.fields {
            if f.kind == FieldKind::Group {
                continue;
            }
            let ptr = format!("/{}", f.path.join("/"));
            match args.pointer(&ptr).or(f.default.as_ref()) {
                Some(v) => f.set_value(&v.clone()),
                None => f.text.clear(),
            }
        }
    }

    /// Index of the field at a path.
    pub fn find(&self, path: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.path.join(".") == path)
    }

    /// Validate every field; the arguments, or false with errors set inline.
    pub fn args(&mut self) -> Option<Value> {
        let mut root = Map::new();
        let mut ok = true;
        for f in &mut self.fields {
            match f.value() {
                Ok(Some(v)) => {
                    f.error = None;
                    insert(&mut root, &f.path, v);
                }
                Ok(None) => f.error = None,
                // Not the user's to fix: sent as it was, or left out.
                Err(_) if f.fixed.is_some() => f.error = None,
                Err(e) => {
                    f.error = Some(e);
                    ok = false;
                }
            }
        }
        if !ok {
            if let Some(i) = self.fields.iter().position(|f| f.error.is_some()) {
                self.selected = i;
            }
            return None;
        }
        Some(Value::Object(root))
    }

    pub fn error_count(&self) -> usize {
        self.fields.iter().filter(|f| f.error.is_some()).count()
    }

    pub fn current(&self) -> Option<&Field> {
        self.fields.get(self.selected)
    }

    /// Move the selection, skipping group headings.
    pub fn move_by(&mut self, d: i32) -> bool {
        let n = self.fields.len() as i32;
        let mut i = self.selected as i32;
        loop {
            i += d;
            if i < 0 || i >= n {
                return false;
            }
            if self.fields[i as usize].editable() {
                self.selected = i as usize;
                return true;
            }
        }
    }

    /// Enter: edit a text field, toggle a boolean, step an enum.
    pub fn activate(&mut self) -> bool {
        let Some(f) = self.fields.get_mut(self.selected).filter(|f| f.fixed.is_none()) else { return false };
        match &f.kind {
            FieldKind::Bool | FieldKind::Enum(_) => cycle(f, 1),
            FieldKind::Group => false,
            _ => {
                self.editing = Some(TextInput::new(&f.text));
                true
            }
        }
    }

    /// ←/→ on a boolean or enum.
    pub fn step(&mut self, d: i32) -> bool {
        self.fields.get_mut(self.selected).filter(|f| f.fixed.is_none()).is_some_and(|f| cycle(f, d))
    }

    /// A key while editing. Esc keeps the text; Enter keeps it in a one-line field.
    pub fn edit_key(&mut self, key: KeyEvent) -> bool {
        let Some(ed) = &mut self.editing else { return false };
        let multiline = self.fields.get(self.selected).is_some_and(Field::multiline);
        let finish = key.code == KeyCode::Esc || (key.code == KeyCode::Enter && !multiline);
        if !finish {
            let changed = ed.input(key);
            self.recheck();
            return changed;
        }
        self.finish_edit()
    }

    pub fn paste(&mut self, text: &str) -> bool {
        let changed = self.editing.as_mut().is_some_and(|ed| ed.paste(text));
        self.recheck();
        changed
    }

    /// Validate the edited field's text as it is now, so its mark
    /// (`✗ required`, `✗ "x" is not a number`) follows each change.
    fn recheck(&mut self) {
        let Some(ed) = &self.editing else { return };
        if let Some(f) = self.fields.get_mut(self.selected) {
            let mut now = f.clone();
            now.text = ed.text();
            f.error = now.value().err();
        }
    }

    /// Finish the edit of the selected field, keeping its text and
    /// validating it (leaving a field); whether one was being edited.
    pub fn finish_edit(&mut self) -> bool {
        let Some(ed) = self.editing.take() else { return false };
        if let Some(f) = self.fields.get_mut(self.selected) {
            f.text = ed.text();
            f.error = f.value().err();
        }
        true
    }

    /// Make the field at `path` fixed (shown, not editable) with `why`; the
    /// selection leaves it. Whether any field is left to edit.
    pub fn fix(&mut self, path: &str, why: &str) -> bool {
        if let Some(i) = self.find(path) {
            self.fields[i].fixed = Some(why.to_string());
            self.fields[i].error = None;
        }
        if self.fields.get(self.selected).is_some_and(|f| !f.editable()) {
            match self.fields.iter().position(Field::editable) {
                Some(i) => self.selected = i,
                None => return false,
            }
        }
        true
    }
}

fn cycle(f: &mut Field, d: i32) -> bool {
    match &f.kind {
        FieldKind::Bool => {
            f.text = if f.text == "true" { "false".into() } else { "true".into() };
        }
        FieldKind::Enum(choices) if !choices.is_empty() => {
            let now = serde_json::from_str::<Value>(f.text.trim()).ok();
            let cur = choices.iter().position(|c| Some(c) == now.as_ref());
            let n = choices.len() as i32;
            let next = match cur {
                Some(i) => (i as i32 + d).rem_euclid(n),
                None if d >= 0 => 0,
                None => n - 1,
            };
            f.text = choices[next as usize].to_string();
        }
        _ => return false,
    }
    f.error = None;
    true
}

fn collect(schema: &Value, path: &mut Vec<String>, out: &mut Vec<Field>, depth: usize) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else { return };
    let required: Vec<&str> =
        schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    // Required first, then in schema order.
    let mut names: Vec<&String> = props.keys().collect();
    names.sort_by_key(|n| !required.contains(&n.as_str()));
    for name in names {
        let p = &props[name];
        path.push(name.clone());
        let kind = kind_of(name, p);
        let mut f = Field {
            path: path.clone(),
            kind: kind.clone(),
            required: required.contains(&name.as_str()),
            description: p.get("description").and_then(Value::as_str).unwrap_or_default().to_string(),
            text: String::new(),
            error: None,
            default: p.get("default").cloned(),
            fixed: None,
            minimum: p.get("minimum").and_then(Value::as_f64),
            maximum: p.get("maximum").and_then(Value::as_f64),
        };
        if let Some(d) = p.get("default") {
            f.set_value(d);
        }
        out.push(f);
        if kind == FieldKind::Group && depth < 4 {
            collect(p, path, out, depth + 1);
        }
        path.pop();
    }
}

fn insert(root: &mut Map<String, Value>, path: &[String], v: Value) {
    match path {
        [] => {}
        [last] => {
            root.insert(last.clone(), v);
        }
        [head, rest @ ..] => {
            let entry = root.entry(head.clone()).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = entry {
                insert(m, rest, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::KeyModifiers;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type":"object","required":["url"],"properties":{
            "method":{"type":"string","enum":["GET","POST"],"default":"GET"},
            "url":{"type":"string","description":"address"},
            "timeout_ms":{"type":"integer","minimum":1,"maximum":60000},
            "follow":{"type":"boolean","default":true},
            "body":{"type":"string"},
            "tags":{"type":"array","items":{"type":"string"}},
            "headers":{"type":"object"},
            "retry":{"type":"object","properties":{"times":{"type":"integer","default":2},"backoff":{"type":"number"}}}}})
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn fields_follow_the_schema_with_defaults_required_first() {
        let f = Form::new("http", &schema());
        let labels: Vec<_> = f.fields.iter().map(|f| f.path.join(".")).collect();
        assert_eq!(labels[0], "url");
        assert!(labels.contains(&"retry.times".to_string()));
        let get = |p: &str| f.fields[f.find(p).unwrap()].clone();
        assert_eq!(get("method").text, "\"GET\"");
        assert_eq!(get("follow").kind, FieldKind::Bool);
        assert_eq!(get("body").kind, FieldKind::Text { multiline: true });
        assert_eq!(get("tags").kind, FieldKind::List { item: "string".into() });
        assert_eq!(get("headers").kind, FieldKind::Json);
        assert_eq!(get("retry").kind, FieldKind::Group);
        assert_eq!(f.selected, 0);
    }

    #[test]
    fn validation_is_inline_and_args_nest() {
        let mut f = Form::new("http", &schema());
        assert_eq!(f.args(), None);
        assert_eq!(f.fields[0].error.as_deref(), Some("required"));
        f.fields[0].text = "https://x".into();
        let t = f.find("timeout_ms").unwrap();
        f.fields[t].text = "0".into();
        assert_eq!(f.args(), None);
        assert_eq!(f.fields[t].error.as_deref(), Some("must be at least 1"));
        assert_eq!(f.selected, t, "the first error is selected");
        f.fields[t].text = "500".into();
        let tags = f.find("tags").unwrap();
        f.fields[tags].text = "a\n\nb".into();
        let h = f.find("headers").unwrap();
        f.fields[h].text = "{\"accept\": \"*/*\"}".into();
        let args = f.args().unwrap();
        assert_eq!(
            args,
            json!({"url":"https://x","method":"GET","timeout_ms":500,"follow":true,"tags":["a","b"],
                   "headers":{"accept":"*/*"},"retry":{"times":2}})
        );
        f.fields[h].text = "{nope".into();
        assert_eq!(f.args(), None);
        assert!(f.fields[h].error.as_deref().unwrap().starts_with("not JSON"));
    }

    #[test]
    fn editing_toggling_and_filling() {
        let mut f = Form::new("http", &schema());
        assert!(f.activate());
        for c in "h".chars() {
            f.edit_key(key(KeyCode::Char(c)));
        }
        assert!(f.edit_key(key(KeyCode::Enter)), "Enter ends a one-line edit");
        assert!(f.editing.is_none());
        assert_eq!(f.fields[0].text, "h");
        let m = f.find("method").unwrap();
        f.selected = m;
        assert!(f.activate());
        assert_eq!(f.fields[m].text, "\"POST\"");
        assert!(f.step(1));
        assert_eq!(f.fields[m].text, "\"GET\"");
        let b = f.find("body").unwrap();
        f.selected = b;
        f.activate();
        f.edit_key(key(KeyCode::Char('a')));
        f.edit_key(key(KeyCode::Enter));
        f.edit_key(key(KeyCode::Char('b')));
        assert!(f.editing.is_some(), "Enter is a newline in a multi-line field");
        f.edit_key(key(KeyCode::Esc));
        assert_eq!(f.fields[b].text, "a\nb");
        f.fill(&json!({"url":"u2","retry":{"times":5}}));
        assert_eq!(f.fields[0].text, "u2");
        assert_eq!(f.fields[f.find("retry.times").unwrap()].text, "5");
        assert_eq!(f.fields[b].text, "", "fields missing from the args are emptied");
        assert_eq!(f.fields[f.find("method").unwrap()].text, "\"GET\"", "or show their default");
    }

    #[test]
    fn marks_follow_each_change_of_the_edited_field() {
        let mut f = Form::new("http", &schema());
        assert_eq!(f.args(), None);
        assert_eq!(f.fields[0].error.as_deref(), Some("required"));
        f.activate();
        f.edit_key(key(KeyCode::Char('h')));
        assert_eq!(f.fields[0].error, None, "filled: no longer marked, before Enter");
        f.edit_key(key(KeyCode::Backspace));
        assert_eq!(f.fields[0].error.as_deref(), Some("required"));
        f.paste("https://x");
        assert_eq!(f.fields[0].error, None, "a paste is a change too");
        assert!(f.finish_edit());
        assert_eq!((f.fields[0].text.as_str(), f.editing.is_none()), ("https://x", true));
    }

    #[test]
    fn server_schemas_get_the_right_fields() {
        // As an MCP tool's schema arrives after normalising ($ref, anyOf with null).
        let raw = json!({"type":"object","$defs":{"Q":{"type":"object","properties":{"text":{"type":"string"}}}},
            "properties":{"query":{"$ref":"#/$defs/Q"},"filter":{"$ref":"#/$defs/Free"},
            "limit":{"anyOf":[{"type":"integer"},{"type":"null"}]},"note":{"description":"untyped"}}});
        let f = Form::new("s/search", &crate::engine::tools::schema::normalize(&raw));
        let kind = |n: &str| f.fields[f.find(n).unwrap_or_else(|| panic!("{n}"))].kind.clone();
        assert_eq!(kind("query"), FieldKind::Group);
        assert_eq!(kind("limit"), FieldKind::Integer);
        assert_eq!(kind("note"), FieldKind::Any);
        assert_eq!(kind("filter"), FieldKind::Any, "an unknown reference takes any JSON");
        let mut note = f.fields[f.find("note").unwrap()].clone();
        note.text = "{\"a\":1}".into();
        assert_eq!(note.value(), Ok(Some(json!({"a": 1}))));
        note.text = "disk".into();
        assert_eq!(note.value(), Ok(Some(json!("disk"))));
    }
}
