// TEMPORARY SHIM (overwritten by the themes module)
use ratatui::style::Style;
use crate::config::error::ConfigError;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role { Text, TextDim, TextAccent, Border, BorderFocused, Title, TitleFocused, StatusBar, StatusOk, StatusWarn, StatusFailed, StatusInfo, ChartAxis, ChartLabel, ChartSeries1, ChartSeries2, ChartSeries3, ChartSeries4, ChartSeries5, ChartSeries6, ChartWarn, ChartCrit, GaugeFill, GaugeEmpty, TableHeader, Selection, HintKey, HintDesc, PopupBorder, PopupTitle, Input, InputCursor, Match, Error }
pub struct Theme;
impl Theme {
    pub fn bundled_names() -> &'static [&'static str] { &[] }
    pub fn load(_n: &str, _u: Option<&std::path::Path>, _nc: bool) -> Result<Theme, ConfigError> { Ok(Theme) }
    pub fn fallback(_nc: bool) -> Theme { Theme }
    pub fn name(&self) -> &str { "" }
    pub fn style(&self, _r: Role) -> Style { Style::default() }
    pub fn check_all(_u: Option<&std::path::Path>) -> Vec<ConfigError> { vec![] }
}
