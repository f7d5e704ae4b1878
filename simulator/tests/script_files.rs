//! Script files: JSON and YAML load into the expected script and settings;
//! a bad file's error names the file, the line, the column and the problem.

use std::path::{Path, PathBuf};

use serde_json::json;
use toolcall_sim::{Latency, ModelLatency, Script, ScriptFile, ScriptFileError, ScriptedCall};

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts")
}

/// A file of this name and text in a fresh temporary folder.
fn write_temp(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "toolcall-sim-script-files-{}-{}",
        std::process::id(),
        name.replace('.', "_")
    ));
    std::fs::create_dir_all(&dir).expect("create a temp folder");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write the temp file");
    path
}

#[test]
fn weather_json_loads_script_and_settings() {
    let file = ScriptFile::load(scripts_dir().join("weather.json")).expect("weather.json loads");
    assert_eq!(
        file.script,
        Script::new()
            .tool_calls([
                ScriptedCall::new("get_weather", json!({"city": "Paris", "unit": "celsius"})),
                ScriptedCall::new("get_weather", json!({"city": "Oslo", "unit": "celsius"})),
            ])
            .text("It is 18 °C and sunny in Paris, and 9 °C with rain in Oslo.")
    );
    assert_eq!(file.seed, Some(42));
    assert_eq!(
        file.model_latency,
        Some(ModelLatency {
            time_to_first_token: Latency::Fixed { ms: 200.0 },
            per_token: Latency::Uniform {
                min_ms: 5.0,
                max_ms: 15.0
            },
        })
    );
    assert_eq!(file.faults, None);
    assert_eq!(file.chunking, None);
    let sim = file.simulator();
    assert_eq!(sim.seed(), 42);
    assert_eq!(sim.remaining_turns(), 2);
}

/// The error of a file, and its text.
fn load_error(name: &str, text: &str) -> (ScriptFileError, String, PathBuf) {
    let path = write_temp(name, text);
    let error = ScriptFile::load(&path).expect_err("a bad file");
    let shown = error.to_string();
    (error, shown, path)
}

#[test]
fn bad_json_names_file_line_column_and_problem() {
    // An unknown key on line 3.
    let (error, shown, path) = load_error(
        "unknown_key.json",
        "{\"turns\": [\n  {\"text\": \"hi\"},\n  {\"txt\": \"typo\"}\n]}\n",
    );
    assert_eq!(error.path(), path);
    let (line, column) = error.location().expect("a place");
    assert_eq!(line, 3);
    assert!(column > 0);
    let prefix = format!("{}:3:{column}: ", path.display());
    assert!(shown.starts_with(&prefix), "{shown}");
    assert!(shown.contains("unknown field `txt`"), "{shown}");

    // Broken syntax: a missing comma on line 2 (found at column 18).
    let (error, shown, _) = load_error(
        "syntax.json",
        "{\"turns\": [\n  {\"text\": \"hi\"} {\"text\": \"again\"}\n]}\n",
    );
    assert_eq!(error.location(), Some((2, 18)), "{shown}");
    assert!(shown.contains("expected"), "{shown}");

    // A turn that makes no sense, in the script's own words; JSON places
    // it where the turn ends (it is checked once read whole).
    let (error, shown, _) = load_error(
        "empty_calls.json",
        "{\"turns\": [\n  {\"tool_calls\": []}\n]}",
    );
    assert_eq!(error.location(), Some((3, 1)), "{shown}");
    assert!(shown.contains("`tool_calls` is empty"), "{shown}");
}

#[test]
fn unreadable_and_unknown_files_are_named() {
    let missing = scripts_dir().join("no_such_script.json");
    let error = ScriptFile::load(&missing).expect_err("missing");
    assert!(matches!(error, ScriptFileError::Read { .. }));
    assert!(error.to_string().contains("no_such_script.json"), "{error}");

    let error = ScriptFile::load("script.toml").expect_err("not a script format");
    assert!(matches!(error, ScriptFileError::UnknownFormat { .. }));
    assert!(
        error.to_string().contains("script.toml") && error.to_string().contains(".yaml"),
        "{error}"
    );
}

/// YAML files (feature `yaml`, on by default).
#[cfg(feature = "yaml")]
mod yaml {
    use super::*;
    use toolcall_sim::{Fault, ScriptFormat, Turn};

    #[test]
    fn patient_yaml_loads_script_and_settings() {
        let file =
            ScriptFile::load(scripts_dir().join("patient.yaml")).expect("patient.yaml loads");
        let id = json!({"patient_id": "P-001"});
        assert_eq!(
            file.script,
            Script::new()
                .tool_calls([
                    ScriptedCall::new("get_patient_demographics", id.clone())
                        .id("call_demographics"),
                    ScriptedCall::new("get_active_medications", id.clone()).id("call_medications"),
                    ScriptedCall::new("get_allergies", id).id("call_allergies"),
                    ScriptedCall::new(
                        "get_recent_labs",
                        json!({"patient_id": "P-001", "limit": 5})
                    )
                    .id("call_labs"),
                ])
                .fault(Fault::RateLimited {
                    retry_after_ms: 1500
                })
                .auto()
        );
        assert_eq!(file.seed, Some(7));
        assert_eq!(
            file.model_latency,
            Some(ModelLatency {
                time_to_first_token: Latency::LogNormal {
                    median_ms: 350.0,
                    sigma: 0.3
                },
                per_token: Latency::Fixed { ms: 4.0 },
            })
        );
        assert_eq!(
            Script::from_file(scripts_dir().join("patient.yaml")).expect("loads"),
            file.script
        );
    }

    #[test]
    fn json_and_yaml_of_the_same_script_agree() {
        let json_text = r#"{"turns": [
        {"tool_calls": [{"id": "c1", "name": "f", "arguments": {"a": [1, 2]}}], "text": "calling"},
        {"text": "done", "fault": {"kind": "stall", "ms": 250}}
    ], "faults": {"server_error": 0.25}}"#;
        let yaml_text = "
turns:
  - text: calling
    tool_calls:
      - id: c1
        name: f
        arguments: {a: [1, 2]}
  - text: done
    fault: {kind: stall, ms: 250}
faults:
  server_error: 0.25
";
        let from_json = ScriptFile::parse(json_text, ScriptFormat::Json, "a.json").expect("json");
        let from_yaml = ScriptFile::parse(yaml_text, ScriptFormat::Yaml, "a.yaml").expect("yaml");
        assert_eq!(from_json, from_yaml);
        assert_eq!(
            from_json.script.turns,
            vec![
                Turn::tool_calls([ScriptedCall::raw("f", r#"{"a":[1,2]}"#).id("c1")])
                    .with_text("calling"),
                Turn::text("done").with_fault(Fault::Stall { ms: 250 }),
            ]
        );
        let faults = from_json.faults.expect("faults");
        assert_eq!(faults.server_error, 0.25);
        assert_eq!(faults.rate_limited, 0.0);
    }

    #[test]
    fn bad_yaml_names_file_line_column_and_problem() {
        // A wrong type on line 2, column 7.
        let (error, shown, path) = load_error("wrong_seed.yaml", "turns: []\nseed: soon\n");
        assert_eq!(error.path(), path);
        assert_eq!(error.location(), Some((2, 7)), "{shown}");
        assert!(
            shown.starts_with(&format!("{}:2:7: ", path.display())),
            "{shown}"
        );
        assert!(shown.contains("invalid type: string \"soon\""), "{shown}");

        // Inside a turn (read whole before it is checked), the place is the
        // turn's and the message names the path to the field.
        let (error, shown, _) = load_error(
            "wrong_type.yaml",
            "turns:\n  - text: hi\n  - text: late\n    fault: {kind: stall, ms: soon}\n",
        );
        assert_eq!(error.location(), Some((3, 5)), "{shown}");
        assert!(shown.contains("turns[1]: invalid type"), "{shown}");

        // Broken syntax: a tab and an unclosed flow mapping.
        let (error, shown, _) = load_error("syntax.yml", "turns:\n  - {text: hi\n");
        assert!(error.location().is_some(), "{shown}");
        assert!(shown.contains("syntax.yml:"), "{shown}");

        // A missing `turns`.
        let (_, shown, _) = load_error("no_turns.yaml", "seed: 3\n");
        assert!(shown.contains("missing field `turns`"), "{shown}");
    }
}

#[cfg(not(feature = "yaml"))]
#[test]
fn yaml_without_the_feature_says_so() {
    let error = ScriptFile::load(scripts_dir().join("patient.yaml")).expect_err("no YAML support");
    assert!(matches!(error, ScriptFileError::YamlDisabled { .. }));
    let shown = error.to_string();
    assert!(
        shown.contains("patient.yaml") && shown.contains("`yaml` feature"),
        "{shown}"
    );
}
