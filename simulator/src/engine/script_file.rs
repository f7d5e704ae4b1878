//! Script files: a [`Script`] and, optionally, the simulator's settings
//! (seed, model latency, fault rates, chunking, model names), read from JSON
//! or YAML, the format chosen by the file's extension.
//!
//! ```yaml
//! seed: 7
//! model_latency:
//!   time_to_first_token: {kind: fixed, ms: 300}
//!   per_token: {kind: normal, mean_ms: 20, std_dev_ms: 5}
//! turns:
//!   - tool_calls:
//!       - {name: get_weather, arguments: {city: Paris}}
//!   - text: It is sunny in Paris.
//! ```
//!
//! A file that cannot be read gets an error naming the file, the line and
//! column, and the problem: `weather.json:4:7: unknown field ...`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::engine::Chunking;
use crate::engine::fault::FaultRates;
use crate::engine::fixture::Fixtures;
use crate::engine::latency::ModelLatency;
use crate::engine::script::{Script, Turn};
use crate::engine::simulator::{SimBuilder, Simulator};

/// The language of a script file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptFormat {
    /// JSON (`.json`).
    Json,
    /// YAML (`.yaml`, `.yml`); needs the `yaml` feature (on by default).
    Yaml,
}

impl ScriptFormat {
    /// The format a file's extension names, if any.
    pub fn from_path(path: &Path) -> Option<ScriptFormat> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "json" => Some(ScriptFormat::Json),
            "yaml" | "yml" => Some(ScriptFormat::Yaml),
            _ => None,
        }
    }
}

impl std::fmt::Display for ScriptFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ScriptFormat::Json => "JSON",
            ScriptFormat::Yaml => "YAML",
        })
    }
}

/// A script file's contents: the script, and the settings it fixes.
/// Settings left out keep the simulator's defaults (or the caller's).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptFile {
    /// The turns, in order (`turns: [...]`).
    #[serde(rename = "turns", deserialize_with = "script_turns")]
    pub script: Script,
    /// The seed of every random draw.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The model's time to first token and time per token.
    #[serde(default)]
    pub model_latency: Option<ModelLatency>,
    /// Faults drawn at random, by rate.
    #[serde(default)]
    pub faults: Option<FaultRates>,
    /// How streamed replies are cut into chunks.
    #[serde(default)]
    pub chunking: Option<Chunking>,
    /// The names `GET /v1/models` lists.
    #[serde(default)]
    pub models: Option<Vec<String>>,
}

fn script_turns<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Script, D::Error> {
    Ok(Script {
        turns: Vec::<Turn>::deserialize(deserializer)?,
    })
}

impl ScriptFile {
    /// Read a script file, JSON or YAML by its extension.
    pub fn load(path: impl AsRef<Path>) -> Result<ScriptFile, ScriptFileError> {
        load(path.as_ref())
    }

    /// Parse a script file's text; `path` only names it in errors.
    pub fn parse(
        text: &str,
        format: ScriptFormat,
        path: impl AsRef<Path>,
    ) -> Result<ScriptFile, ScriptFileError> {
        parse(text, format, path.as_ref())
    }

    /// Set the script and every setting the file gives on this builder.
    pub fn configure(&self, mut builder: SimBuilder) -> SimBuilder {
        builder = builder.script(self.script.clone());
        if let Some(seed) = self.seed {
            builder = builder.seed(seed);
        }
        if let Some(latency) = &self.model_latency {
            builder = builder.model_latency(latency.clone());
        }
        if let Some(faults) = &self.faults {
            builder = builder.faults(faults.clone());
        }
        if let Some(chunking) = &self.chunking {
            builder = builder.chunking(chunking.clone());
        }
        if let Some(models) = &self.models {
            builder = builder.models(models.iter().cloned());
        }
        builder
    }

    /// A simulator following this file.
    pub fn simulator(&self) -> Simulator {
        self.configure(SimBuilder::default()).build()
    }
}

impl Script {
    /// Read the script of a script file (JSON or YAML by its extension),
    /// ignoring the settings it may also hold.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Script, ScriptFileError> {
        ScriptFile::load(path).map(|file| file.script)
    }
}

impl Fixtures {
    /// Read a fixtures file (`{"fixtures": [...]}` or a list), JSON or YAML
    /// by its extension.
    pub fn load(path: impl AsRef<Path>) -> Result<Fixtures, ScriptFileError> {
        load(path.as_ref())
    }

    /// Parse a fixtures file's text; `path` only names it in errors.
    pub fn parse(
        text: &str,
        format: ScriptFormat,
        path: impl AsRef<Path>,
    ) -> Result<Fixtures, ScriptFileError> {
        parse(text, format, path.as_ref())
    }
}

/// Read a file of `T`, JSON or YAML by its extension.
fn load<T: DeserializeOwned>(path: &Path) -> Result<T, ScriptFileError> {
    let Some(format) = ScriptFormat::from_path(path) else {
        return Err(ScriptFileError::UnknownFormat {
            path: path.to_owned(),
        });
    };
    let text = std::fs::read_to_string(path).map_err(|source| ScriptFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, format, path)
}

fn parse<T: DeserializeOwned>(
    text: &str,
    format: ScriptFormat,
    path: &Path,
) -> Result<T, ScriptFileError> {
    match format {
        ScriptFormat::Json => serde_json::from_str(text).map_err(|error| {
            let (line, column) = (error.line(), error.column());
            let message = error.to_string();
            ScriptFileError::parse(path, line, column, &message)
        }),
        ScriptFormat::Yaml => parse_yaml(text, path),
    }
}

#[cfg(feature = "yaml")]
fn parse_yaml<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, ScriptFileError> {
    serde_norway::from_str(text).map_err(|error| {
        let (line, column) = error
            .location()
            .map_or((0, 0), |at| (at.line(), at.column()));
        let message = error.to_string();
        ScriptFileError::parse(path, line, column, &message)
    })
}

#[cfg(not(feature = "yaml"))]
fn parse_yaml<T>(_text: &str, path: &Path) -> Result<T, ScriptFileError> {
    Err(ScriptFileError::YamlDisabled {
        path: path.to_owned(),
    })
}

/// Why a script file could not be used. Displayed as `FILE:LINE:COLUMN: problem`
/// when the problem has a place in the file.
#[derive(Debug)]
pub enum ScriptFileError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The extension is none of `.json`, `.yaml`, `.yml`.
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A YAML file, but this build has no YAML support (feature `yaml`).
    YamlDisabled {
        /// The file.
        path: PathBuf,
    },
    /// The text is not a valid script.
    Parse {
        /// The file.
        path: PathBuf,
        /// The line, from 1 (0 when the parser gave no place).
        line: usize,
        /// The column, from 1 (0 when the parser gave no place).
        column: usize,
        /// The problem.
        message: String,
    },
}

impl ScriptFileError {
    fn parse(path: &Path, line: usize, column: usize, message: &str) -> Self {
        // The parsers append the place to their message: keep it once, in front.
        let suffix = format!(" at line {line} column {column}");
        let message = message.strip_suffix(suffix.as_str()).unwrap_or(message);
        ScriptFileError::Parse {
            path: path.to_owned(),
            line,
            column,
            message: message.to_owned(),
        }
    }

    /// The file at fault.
    pub fn path(&self) -> &Path {
        match self {
            ScriptFileError::Read { path, .. }
            | ScriptFileError::UnknownFormat { path }
            | ScriptFileError::YamlDisabled { path }
            | ScriptFileError::Parse { path, .. } => path,
        }
    }

    /// The line and column of the problem, from 1, when it has a place.
    pub fn location(&self) -> Option<(usize, usize)> {
        match self {
            ScriptFileError::Parse { line, column, .. } if *line > 0 => Some((*line, *column)),
            _ => None,
        }
    }
}

impl std::fmt::Display for ScriptFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = self.path().display();
        match self {
            ScriptFileError::Read { source, .. } => {
                write!(f, "{path}: cannot read the script file: {source}")
            }
            ScriptFileError::UnknownFormat { .. } => write!(
                f,
                "{path}: unknown script format: the file name must end in .json, .yaml or .yml"
            ),
            ScriptFileError::YamlDisabled { .. } => write!(
                f,
                "{path}: YAML script files need toolcall-sim's `yaml` feature; use JSON or enable it"
            ),
            ScriptFileError::Parse {
                line,
                column,
                message,
                ..
            } => match self.location() {
                Some(_) => write!(f, "{path}:{line}:{column}: {message}"),
                None => write!(f, "{path}: {message}"),
            },
        }
    }
}

impl std::error::Error for ScriptFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ScriptFileError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_from_extension() {
        assert_eq!(
            ScriptFormat::from_path(Path::new("a/b.JSON")),
            Some(ScriptFormat::Json)
        );
        assert_eq!(
            ScriptFormat::from_path(Path::new("b.yml")),
            Some(ScriptFormat::Yaml)
        );
        assert_eq!(ScriptFormat::from_path(Path::new("b.toml")), None);
        assert_eq!(ScriptFormat::from_path(Path::new("json")), None);
    }

    #[test]
    fn json_error_keeps_the_place_once() {
        let error = ScriptFile::parse(
            "{\"turns\": [\n  {\"txt\": 1}\n]}",
            ScriptFormat::Json,
            "s.json",
        )
        .expect_err("unknown field");
        let text = error.to_string();
        assert!(text.starts_with("s.json:2:"), "{text}");
        assert!(text.contains("txt"), "{text}");
        assert!(!text.contains(" at line "), "{text}");
    }
}
