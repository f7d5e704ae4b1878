//! Generation settings: one provider-neutral set (temperature, top_p, the
//! most output tokens, seed, stop sequences, reasoning, a user tag), set
//! on the [`Agent`](crate::Agent), overridable per run, carried on
//! [`ChatRequest`](crate::ChatRequest). Each provider maps them to its own
//! fields in one place and refuses, by name, what it does not have
//! ([`ModelError::Unsupported`](crate::ModelError::Unsupported)): a setting is never dropped silently.

use serde::{Deserialize, Serialize};

/// How hard a reasoning model thinks before it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Effort {
    /// The least (OpenAI `minimal`).
    Minimal,
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
}

impl Effort {
    /// The wire name (`low`, `medium`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Effort::Minimal => "minimal",
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
        }
    }
}

/// Reasoning, as a level (OpenAI `reasoning_effort` / `reasoning.effort`,
/// Anthropic `output_config.effort`) or a token budget (Anthropic
/// extended thinking's `budget_tokens`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reasoning {
    /// A level of effort.
    Effort(Effort),
    /// A budget of thinking tokens.
    BudgetTokens(u32),
}

/// Generation settings, provider-neutral; every one unset by default
/// (the API's own default). Build with the methods:
///
/// ```
/// use toolcall_runtime::{Effort, Settings};
///
/// let settings = Settings::new().temperature(0.2).max_tokens(800).stop(["END"]).effort(Effort::Low);
/// assert_eq!(settings.max_tokens, Some(800));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Settings {
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// The most tokens of output (Chat `max_completion_tokens`, Responses
    /// `max_output_tokens`, Anthropic `max_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// A seed for sampling (Chat Completions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Texts that end the answer (Chat `stop`, Anthropic `stop_sequences`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    /// Reasoning effort or thinking budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<Reasoning>,
    /// A tag for the end user (OpenAI `safety_identifier`, Anthropic
    /// `metadata.user_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl Settings {
    /// No setting: every one is the API's default.
    pub fn new() -> Self {
        Settings::default()
    }

    /// Sampling temperature.
    pub fn temperature(mut self, value: f32) -> Self {
        self.temperature = Some(value);
        self
    }

    /// Nucleus sampling.
    pub fn top_p(mut self, value: f32) -> Self {
        self.top_p = Some(value);
        self
    }

    /// The most tokens of output.
    pub fn max_tokens(mut self, value: u32) -> Self {
        self.max_tokens = Some(value);
        self
    }

    /// A sampling seed.
    pub fn seed(mut self, value: i64) -> Self {
        self.seed = Some(value);
        self
    }

    /// Stop sequences.
    pub fn stop<S: Into<String>>(mut self, sequences: impl IntoIterator<Item = S>) -> Self {
        self.stop = sequences.into_iter().map(Into::into).collect();
        self
    }

    /// A reasoning effort.
    pub fn effort(mut self, effort: Effort) -> Self {
        self.reasoning = Some(Reasoning::Effort(effort));
        self
    }

    /// A thinking budget in tokens.
    pub fn thinking_budget(mut self, tokens: u32) -> Self {
        self.reasoning = Some(Reasoning::BudgetTokens(tokens));
        self
    }

    /// An end-user tag.
    pub fn user(mut self, tag: impl Into<String>) -> Self {
        self.user = Some(tag.into());
        self
    }

    /// These settings with each one `over` sets taken from it (a per-run override).
    pub fn merged(&self, over: &Settings) -> Settings {
        Settings {
            temperature: over.temperature.or(self.temperature),
            top_p: over.top_p.or(self.top_p),
            max_tokens: over.max_tokens.or(self.max_tokens),
            seed: over.seed.or(self.seed),
            stop: if over.stop.is_empty() {
                self.stop.clone()
            } else {
                over.stop.clone()
            },
            reasoning: over.reasoning.or(self.reasoning),
            user: over.user.clone().or_else(|| self.user.clone()),
        }
    }

    /// Whether no setting is set.
    pub fn is_empty(&self) -> bool {
        *self == Settings::default()
    }
}

/// The error a provider answers for a setting (or a request feature) it
/// does not have.
#[cfg(any(feature = "openai-client", feature = "anthropic", feature = "gemini"))]
pub(crate) fn unsupported(setting: &'static str, provider: &'static str) -> crate::ModelError {
    crate::ModelError::Unsupported { setting, provider }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_overrides_what_it_sets_and_keeps_the_rest() {
        let agent = Settings::new().temperature(0.1).stop(["a"]).user("u1");
        let run = Settings::new().temperature(0.9).max_tokens(5);
        let merged = agent.merged(&run);
        assert_eq!(merged.temperature, Some(0.9));
        assert_eq!(merged.max_tokens, Some(5));
        assert_eq!(merged.stop, vec!["a".to_owned()]);
        assert_eq!(merged.user.as_deref(), Some("u1"));
        assert!(Settings::new().is_empty());
        assert!(!merged.is_empty());
    }
}
