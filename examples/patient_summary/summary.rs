//! The typed answer `--typed` asks for: what a dashboard shows of a
//! patient, read straight into Rust types instead of prose.

use serde::Deserialize;

/// A patient's summary, as the model gives it back.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct PatientSummary {
    /// Who the patient is.
    pub demographics: Demographics,
    /// Active medications.
    pub medications: Vec<Medication>,
    /// Known allergies.
    pub allergies: Vec<Allergy>,
    /// Recent lab results.
    pub labs: Vec<Lab>,
    /// What a physician should look at first (interactions, abnormal labs).
    pub flags: Vec<String>,
}

/// Who the patient is.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Demographics {
    /// Full name.
    pub name: String,
    /// Age in years.
    pub age: u32,
    /// Sex as recorded.
    pub sex: String,
}

/// One active medication.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Medication {
    /// Drug name.
    pub name: String,
    /// Dose, as prescribed.
    pub dose: String,
}

/// One allergy.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Allergy {
    /// What the patient is allergic to.
    pub substance: String,
    /// How bad the reaction is.
    pub severity: Severity,
}

/// An allergy's severity.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Mild.
    Mild,
    /// Moderate.
    Moderate,
    /// Severe.
    Severe,
}

/// One lab result.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Lab {
    /// The test.
    pub test: String,
    /// Its value.
    pub value: f64,
    /// Whether it is out of range.
    pub abnormal: bool,
}

/// The dashboard's view: one line per fact, every field shown.
impl std::fmt::Display for PatientSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = &self.demographics;
        writeln!(f, "patient      {}, {} years, {}", d.name, d.age, d.sex)?;
        for m in &self.medications {
            writeln!(f, "medication   {} ({})", m.name, m.dose)?;
        }
        for a in &self.allergies {
            writeln!(f, "allergy      {} ({:?})", a.substance, a.severity)?;
        }
        for l in &self.labs {
            let mark = if l.abnormal { "  <- abnormal" } else { "" };
            writeln!(f, "lab          {} = {}{mark}", l.test, l.value)?;
        }
        for flag in &self.flags {
            writeln!(f, "flag         {flag}")?;
        }
        Ok(())
    }
}
