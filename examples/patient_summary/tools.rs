//! The four clinical tools. Each is a plain async fn: `#[tool]` turns it into
//! a tool the model can call (its name, its doc comment as the description,
//! its parameters' `///` comments in the JSON schema), and `State<Db>` hands
//! it the database pool without a global.

use std::fmt;
use std::sync::Arc;

use toolcall::{State, Tool, tool};
use toolcall_sim::Latency;

use crate::db::{Allergy, Db, Demographics, LabResult, Medication};

/// Simulated network latency of each tool, as if the records lived behind
/// a hospital's API; the simulator adds it around the real tools
/// (`toolcall_sim::with_latency`), so the gain of running the calls at once
/// shows. The tools themselves stay plain database queries.
pub const LATENCY_MS: [(&str, u64); 4] = [
    ("get_patient_demographics", 200),
    ("get_active_medications", 180),
    ("get_allergies", 150),
    ("get_recent_labs", 220),
];

/// The four tools, each behind its simulated network latency
/// ([`LATENCY_MS`]): what the example's agent and its MCP server offer.
pub fn with_network_latency() -> Vec<Arc<dyn Tool>> {
    toolcall::tools![
        get_patient_demographics,
        get_active_medications,
        get_allergies,
        get_recent_labs,
    ]
    .into_iter()
    .map(|tool| {
        let ms = LATENCY_MS
            .iter()
            .find(|(name, _)| *name == tool.name())
            .map_or(0, |(_, ms)| *ms);
        Arc::new(toolcall_sim::with_latency(tool, Latency::fixed_ms(ms))) as Arc<dyn Tool>
    })
    .collect()
}

/// Lab results returned when the model gives no `limit`.
pub const DEFAULT_LAB_LIMIT: u32 = 5;
/// The most lab results one call returns.
pub const MAX_LAB_LIMIT: u32 = 50;

/// Get a patient's demographics: name, date of birth, sex and blood type.
#[tool(read_only, idempotent, open_world = false)]
pub async fn get_patient_demographics(
    State(db): State<Db>,
    /// Patient ID (format: P-NNNNN, e.g. P-00001)
    patient_id: String,
) -> Result<Demographics, ToolFailure> {
    check_id(&patient_id)?;
    db.demographics(&patient_id)
        .await?
        .ok_or(ToolFailure::NoSuchPatient(patient_id))
}

/// Get the medications a patient currently takes (stopped ones are left
/// out), with dose, frequency and start date.
#[tool(read_only, idempotent, open_world = false)]
pub async fn get_active_medications(
    State(db): State<Db>,
    /// Patient ID (format: P-NNNNN, e.g. P-00001)
    patient_id: String,
) -> Result<Vec<Medication>, ToolFailure> {
    existing_patient(&db, &patient_id).await?;
    Ok(db.active_medications(&patient_id).await?)
}

/// Get a patient's recorded allergies, most severe first. An empty list
/// means no known allergies.
#[tool(read_only, idempotent, open_world = false)]
pub async fn get_allergies(
    State(db): State<Db>,
    /// Patient ID (format: P-NNNNN, e.g. P-00001)
    patient_id: String,
) -> Result<Vec<Allergy>, ToolFailure> {
    existing_patient(&db, &patient_id).await?;
    Ok(db.allergies(&patient_id).await?)
}

/// Get a patient's most recent lab results, newest first, each flagged
/// normal, high or low against its reference range.
#[tool(read_only, idempotent, open_world = false)]
pub async fn get_recent_labs(
    State(db): State<Db>,
    /// Patient ID (format: P-NNNNN, e.g. P-00001)
    patient_id: String,
    /// How many results, newest first (default 5, at most 50).
    limit: Option<u32>,
) -> Result<Vec<LabResult>, ToolFailure> {
    existing_patient(&db, &patient_id).await?;
    let limit = limit.unwrap_or(DEFAULT_LAB_LIMIT).clamp(1, MAX_LAB_LIMIT);
    Ok(db.recent_labs(&patient_id, limit).await?)
}

/// Why a tool could not answer; the model reads this text.
#[derive(Debug)]
pub enum ToolFailure {
    /// The id is not of the form `P-NNNNN`.
    BadId(String),
    /// No patient has this id.
    NoSuchPatient(String),
    /// The database failed.
    Database(sqlx::Error),
}

impl fmt::Display for ToolFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolFailure::BadId(id) => write!(
                f,
                "`{id}` is not a patient id: ids look like P-00001 (P, a dash, five digits)"
            ),
            ToolFailure::NoSuchPatient(id) => write!(f, "no patient with id {id}"),
            ToolFailure::Database(e) => write!(f, "the database failed: {e}"),
        }
    }
}

impl From<sqlx::Error> for ToolFailure {
    fn from(e: sqlx::Error) -> Self {
        ToolFailure::Database(e)
    }
}

fn check_id(patient_id: &str) -> Result<(), ToolFailure> {
    let digits = patient_id.strip_prefix("P-").unwrap_or("");
    if digits.len() == 5 && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ToolFailure::BadId(patient_id.to_owned()))
    }
}

async fn existing_patient(db: &Db, patient_id: &str) -> Result<(), ToolFailure> {
    check_id(patient_id)?;
    if db.has_patient(patient_id).await? {
        Ok(())
    } else {
        Err(ToolFailure::NoSuchPatient(patient_id.to_owned()))
    }
}
