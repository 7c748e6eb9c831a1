//! The one error collector the validator of each table writes to, so that a file with
//! several mistakes gets them all at once, each located as `FILE:LINE:COLUMN`.

use std::ops::Range;

use toml::Spanned;

use super::schedule::{self, ScheduleSpec};
use super::{ConfigError, ConfigErrors, line_column};

/// The file's text, its name for messages, and the mistakes found so far.
pub(super) struct Collector<'a> {
    pub(super) text: &'a str,
    file: &'a str,
    errors: Vec<ConfigError>,
}

impl<'a> Collector<'a> {
    pub(super) fn new(text: &'a str, file: &'a str) -> Self {
        Collector {
            text,
            file,
            errors: Vec::new(),
        }
    }

    /// A mistake at `span` (bytes of the file's text).
    pub(super) fn error(
        &self,
        span: Range<usize>,
        message: String,
        hint: Option<String>,
    ) -> ConfigError {
        let (line, column) = line_column(self.text, span.start);
        ConfigError {
            file: self.file.to_string(),
            line,
            column,
            message,
            hint,
        }
    }

    pub(super) fn push(&mut self, span: Range<usize>, message: String, hint: Option<String>) {
        let error = self.error(span, message, hint);
        self.errors.push(error);
    }

    /// A mistake about a value serde gave without its span: located at its first occurrence
    /// in the text (the start of the file when it is a default).
    pub(super) fn push_at(&mut self, needle: &str, message: String, hint: Option<String>) {
        let start = self.text.find(needle).unwrap_or(0);
        self.push(start..start + needle.len(), message, hint);
    }

    /// A count or a duration that must not be 0; `table` completes the message
    /// (" de [mail]").
    pub(super) fn positive(&mut self, key: &str, value: u64, table: &str) {
        if value == 0 {
            self.push_at(key, format!("`{key}`{table} doit être supérieur à 0"), None);
        }
    }

    /// Checks every expression of a schedule where it is written; returns their texts.
    pub(super) fn schedule(&mut self, spec: &Spanned<ScheduleSpec>) -> Vec<String> {
        let (texts, problems) = schedule::check(spec, self.text);
        for (span, message) in problems {
            self.push(span, message, Some(crate::cron::SYNTAX_HINT.into()));
        }
        texts
    }

    /// The configuration when no mistake was found, else every mistake.
    pub(super) fn finish<T>(self, value: T) -> Result<T, ConfigErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(ConfigErrors(self.errors))
        }
    }
}
