//! The four clinical tools, each recording its runs in a SQLite
//! side-effect table (`effects`) with the idempotency key it was handed.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};
use toolcall::{State, ToolSet, tool, tools};

/// What the tools share: the effects table and each tool's latency.
#[derive(Clone)]
pub struct Clinic {
    pub db: Option<SqlitePool>,
    /// Latency of demographics, medications, allergies, labs.
    pub latency: [Duration; 4],
}

pub async fn open(path: &str) -> SqlitePool {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
        .expect("a sqlite url")
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePool::connect_with(options)
        .await
        .expect("open sqlite");
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS effects (
            tool TEXT NOT NULL, call_key TEXT NOT NULL, phase TEXT NOT NULL, pid INTEGER NOT NULL)",
    )
    .execute(&pool)
    .await
    .expect("create the effects table");
    pool
}

impl Clinic {
    async fn record(&self, tool: &str, phase: &str) {
        let Some(db) = &self.db else { return };
        let key = toolcall_restate::idempotency_key().unwrap_or_default();
        sqlx::query("INSERT INTO effects (tool, call_key, phase, pid) VALUES (?, ?, ?, ?)")
            .bind(tool)
            .bind(key)
            .bind(phase)
            .bind(i64::from(std::process::id()))
            .execute(db)
            .await
            .expect("record an effect");
    }

    async fn run(&self, tool: &str, slot: usize, patient_id: &str) -> String {
        self.record(tool, "start").await;
        tokio::time::sleep(self.latency[slot]).await;
        self.record(tool, "end").await;
        format!("{tool} of {patient_id}: fine")
    }
}

/// Get a patient's demographics.
#[tool]
async fn get_patient_demographics(
    State(clinic): State<Clinic>,
    /// Patient ID
    patient_id: String,
) -> String {
    clinic.run("get_patient_demographics", 0, &patient_id).await
}

/// Get a patient's active medications.
#[tool]
async fn get_active_medications(
    State(clinic): State<Clinic>,
    /// Patient ID
    patient_id: String,
) -> String {
    clinic.run("get_active_medications", 1, &patient_id).await
}

/// Get a patient's allergies.
#[tool]
async fn get_allergies(
    State(clinic): State<Clinic>,
    /// Patient ID
    patient_id: String,
) -> String {
    clinic.run("get_allergies", 2, &patient_id).await
}

/// Get a patient's recent lab results.
#[tool]
async fn get_recent_labs(
    State(clinic): State<Clinic>,
    /// Patient ID
    patient_id: String,
) -> String {
    clinic.run("get_recent_labs", 3, &patient_id).await
}

pub fn toolset(clinic: Clinic) -> ToolSet {
    ToolSet::builder()
        .tools(tools![
            get_patient_demographics,
            get_active_medications,
            get_allergies,
            get_recent_labs
        ])
        .state(clinic)
        .build()
        .expect("the clinical tools")
}

/// `(tool, call_key, phase)` rows, in insertion order.
pub async fn effects(db: &SqlitePool) -> Vec<(String, String, String)> {
    sqlx::query_as("SELECT tool, call_key, phase FROM effects ORDER BY rowid")
        .fetch_all(db)
        .await
        .expect("read the effects")
}
