//! A clinic's tools as a downstream crate writes them: methods of a service
//! that holds its data (as an application holds a pool and a client),
//! beside a free-fn tool, both taking configuration as `State<T>`.
#![deny(warnings, missing_docs, unused_qualifications)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use toolcall::{State, tool, tool_methods};

/// Settings every tool can read, supplied to the `ToolSet` as state.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long a lookup takes (a database round trip).
    pub latency: Duration,
}

/// A documented allergy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Allergy {
    /// What the patient reacts to.
    pub substance: String,
    /// How badly.
    pub severity: String,
}

/// Why a lookup failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError(pub String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The patient records: a stand-in for a connection pool.
#[derive(Debug, Default)]
pub struct PatientService {
    allergies: HashMap<String, Vec<Allergy>>,
    lookups: AtomicUsize,
}

impl PatientService {
    /// A service over these records.
    pub fn new(allergies: HashMap<String, Vec<Allergy>>) -> Self {
        PatientService {
            allergies,
            lookups: AtomicUsize::new(0),
        }
    }

    /// How many lookups ran.
    pub fn lookups(&self) -> usize {
        self.lookups.load(Ordering::Relaxed)
    }
}

#[tool_methods]
impl PatientService {
    /// Get documented drug allergies.
    #[tool(timeout = "2s", read_only)]
    pub async fn get_allergies(
        &self,
        State(settings): State<Settings>,
        /// Patient ID (format: P-NNNNN)
        patient_id: String,
    ) -> Result<Vec<Allergy>, DbError> {
        tokio::time::sleep(settings.latency).await;
        self.lookups.fetch_add(1, Ordering::Relaxed);
        self.allergies
            .get(&patient_id)
            .cloned()
            .ok_or_else(|| DbError(format!("no patient {patient_id}")))
    }

    /// Count the patients on record.
    #[tool(name = "patient_count", exclusive)]
    pub fn count(&self) -> usize {
        self.allergies.len()
    }
}

/// Convert a dose from milligrams to grams.
#[tool(idempotent)]
pub async fn milligrams_to_grams(
    State(settings): State<Settings>,
    /// Milligrams.
    milligrams: f64,
) -> f64 {
    tokio::time::sleep(settings.latency).await;
    milligrams / 1000.0
}
