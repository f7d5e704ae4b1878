//! The clinical database: embedded SQLite by default (a file under `target/`,
//! created and seeded on first run), PostgreSQL when `DATABASE_URL` says so.
//!
//! Both go through one `sqlx::AnyPool` with the same SQL (`$1` placeholders
//! work in both), so every query below is written once.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::Serialize;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Row};

/// How long to wait for the database to answer a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The database the tools query: a pool shared by every call.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    /// Where the data lives, for people (passwords removed).
    pub location: String,
}

/// Why the database could not be opened.
#[derive(Debug)]
pub enum DbError {
    /// `DATABASE_URL` names a database this example does not speak.
    Unsupported(String),
    /// The database could not be reached or refused the connection.
    Connect {
        /// The URL, password removed.
        url: String,
        /// What the driver said.
        source: sqlx::Error,
    },
    /// Creating or seeding the tables failed.
    Setup(sqlx::Error),
    /// The directory for the SQLite file could not be created.
    Directory(PathBuf, std::io::Error),
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Unsupported(url) => write!(
                f,
                "DATABASE_URL={url} is not supported: use postgres://user:password@host/db, \
                 or unset it for the embedded SQLite database"
            ),
            DbError::Connect { url, source } => {
                write!(f, "cannot connect to the database at {url}: {source}")
            }
            DbError::Setup(e) => write!(f, "cannot create the example's tables: {e}"),
            DbError::Directory(dir, e) => write!(f, "cannot create {}: {e}", dir.display()),
        }
    }
}

impl std::error::Error for DbError {}

impl Db {
    /// Open the database `configured` names (`DATABASE_URL`), or the
    /// embedded SQLite file `target/patient_summary.sqlite3`; create and seed
    /// its tables if absent.
    pub async fn open(configured: Option<&str>) -> Result<Db, DbError> {
        let url = match configured {
            Some(url) if is_postgres(url) || url.starts_with("sqlite:") => url.to_owned(),
            Some(url) => return Err(DbError::Unsupported(redact(url))),
            None => {
                let dir = target_dir();
                std::fs::create_dir_all(&dir).map_err(|e| DbError::Directory(dir.clone(), e))?;
                sqlite_url(&dir.join("patient_summary.sqlite3"))
            }
        };
        Db::connect(&url).await
    }

    /// Open the database at this URL (`sqlite:` or `postgres://`) and make
    /// sure its tables exist and hold the example's patients.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let location = redact(url);
        let connect_error = |source| DbError::Connect {
            url: location.clone(),
            source,
        };
        let options: AnyConnectOptions = url.parse().map_err(connect_error)?;
        // One direct connection first: the pool retries a refused connection
        // until its timeout and then reports only the timeout, while this
        // says why (refused, bad password, unknown database...).
        let first = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
            .await
            .map_err(|_| connect_error(sqlx::Error::PoolTimedOut))?
            .map_err(connect_error)?;
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        drop(first);
        let db = Db {
            pool,
            location: if is_postgres(url) {
                format!("PostgreSQL at {location}")
            } else {
                format!("SQLite at {}", sqlite_path(url))
            },
        };
        db.create_and_seed().await.map_err(DbError::Setup)?;
        Ok(db)
    }

    /// Create the tables if absent and insert the example's patients (a
    /// no-op when they are there: the inserts skip existing rows).
    async fn create_and_seed(&self) -> Result<(), sqlx::Error> {
        for statement in SCHEMA {
            sqlx::query(statement).execute(&self.pool).await?;
        }
        let seeded: i64 = sqlx::query("SELECT COUNT(*) FROM patients")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        if seeded >= PATIENTS.len() as i64 {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for p in PATIENTS {
            sqlx::query(
                "INSERT INTO patients (id, name, birth_date, sex, blood_type) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(p.id)
            .bind(p.name)
            .bind(p.birth_date)
            .bind(p.sex)
            .bind(p.blood_type)
            .execute(&mut *tx)
            .await?;
        }
        for (patient, drug, dose, frequency, since, status) in MEDICATIONS {
            sqlx::query(
                "INSERT INTO medications (patient_id, drug, dose, frequency, started_on, status) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(patient)
            .bind(drug)
            .bind(dose)
            .bind(frequency)
            .bind(since)
            .bind(status)
            .execute(&mut *tx)
            .await?;
        }
        for (patient, substance, reaction, severity) in ALLERGIES {
            sqlx::query(
                "INSERT INTO allergies (patient_id, substance, reaction, severity) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(patient)
            .bind(substance)
            .bind(reaction)
            .bind(severity)
            .execute(&mut *tx)
            .await?;
        }
        for (patient, test, value, unit, range, flag, taken_on) in LABS {
            sqlx::query(
                "INSERT INTO labs (patient_id, test, value, unit, reference_range, flag, taken_on) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(patient)
            .bind(test)
            .bind(value)
            .bind(unit)
            .bind(range)
            .bind(flag)
            .bind(taken_on)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// The patient's demographics, or `None` when there is no such patient.
    pub async fn demographics(
        &self,
        patient_id: &str,
    ) -> Result<Option<Demographics>, sqlx::Error> {
        let row =
            sqlx::query("SELECT id, name, birth_date, sex, blood_type FROM patients WHERE id = $1")
                .bind(patient_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| {
            Ok(Demographics {
                patient_id: row.try_get("id")?,
                name: row.try_get("name")?,
                birth_date: row.try_get("birth_date")?,
                sex: row.try_get("sex")?,
                blood_type: row.try_get("blood_type")?,
            })
        })
        .transpose()
    }

    /// Whether the patient exists.
    pub async fn has_patient(&self, patient_id: &str) -> Result<bool, sqlx::Error> {
        let row = sqlx::query("SELECT id FROM patients WHERE id = $1")
            .bind(patient_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// The patient's active medications, oldest prescription first.
    pub async fn active_medications(
        &self,
        patient_id: &str,
    ) -> Result<Vec<Medication>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT drug, dose, frequency, started_on FROM medications \
             WHERE patient_id = $1 AND status = 'active' ORDER BY started_on, drug",
        )
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Medication {
                    drug: row.try_get("drug")?,
                    dose: row.try_get("dose")?,
                    frequency: row.try_get("frequency")?,
                    started_on: row.try_get("started_on")?,
                })
            })
            .collect()
    }

    /// The patient's recorded allergies, most severe first.
    pub async fn allergies(&self, patient_id: &str) -> Result<Vec<Allergy>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT substance, reaction, severity FROM allergies WHERE patient_id = $1 \
             ORDER BY CASE severity WHEN 'severe' THEN 0 WHEN 'moderate' THEN 1 ELSE 2 END, substance",
        )
        .bind(patient_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Allergy {
                    substance: row.try_get("substance")?,
                    reaction: row.try_get("reaction")?,
                    severity: row.try_get("severity")?,
                })
            })
            .collect()
    }

    /// The patient's `limit` most recent lab results, newest first.
    pub async fn recent_labs(
        &self,
        patient_id: &str,
        limit: u32,
    ) -> Result<Vec<LabResult>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT test, value, unit, reference_range, flag, taken_on FROM labs \
             WHERE patient_id = $1 ORDER BY taken_on DESC, test LIMIT $2",
        )
        .bind(patient_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LabResult {
                    test: row.try_get("test")?,
                    value: row.try_get("value")?,
                    unit: row.try_get("unit")?,
                    reference_range: row.try_get("reference_range")?,
                    flag: row.try_get("flag")?,
                    taken_on: row.try_get("taken_on")?,
                })
            })
            .collect()
    }
}

/// Who the patient is.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Demographics {
    /// The patient's id (`P-NNNNN`).
    pub patient_id: String,
    /// Full name.
    pub name: String,
    /// Date of birth, `YYYY-MM-DD`.
    pub birth_date: String,
    /// `female`, `male` or `other`.
    pub sex: String,
    /// ABO/Rh blood type, when known.
    pub blood_type: Option<String>,
}

/// One active prescription.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Medication {
    /// Drug name.
    pub drug: String,
    /// Dose per intake.
    pub dose: String,
    /// How often.
    pub frequency: String,
    /// First prescribed, `YYYY-MM-DD`.
    pub started_on: String,
}

/// One recorded allergy.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Allergy {
    /// What the patient reacts to.
    pub substance: String,
    /// How they react.
    pub reaction: String,
    /// `mild`, `moderate` or `severe`.
    pub severity: String,
}

/// One lab measurement.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct LabResult {
    /// The test's name.
    pub test: String,
    /// The measured value.
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// The normal range, in the same unit.
    pub reference_range: String,
    /// `normal`, `high` or `low`.
    pub flag: String,
    /// When the sample was taken, `YYYY-MM-DD`.
    pub taken_on: String,
}

/// The tables, in the SQL both SQLite and PostgreSQL accept.
const SCHEMA: [&str; 4] = [
    "CREATE TABLE IF NOT EXISTS patients (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        birth_date TEXT NOT NULL,
        sex TEXT NOT NULL,
        blood_type TEXT
    )",
    "CREATE TABLE IF NOT EXISTS medications (
        patient_id TEXT NOT NULL REFERENCES patients (id),
        drug TEXT NOT NULL,
        dose TEXT NOT NULL,
        frequency TEXT NOT NULL,
        started_on TEXT NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (patient_id, drug)
    )",
    "CREATE TABLE IF NOT EXISTS allergies (
        patient_id TEXT NOT NULL REFERENCES patients (id),
        substance TEXT NOT NULL,
        reaction TEXT NOT NULL,
        severity TEXT NOT NULL,
        PRIMARY KEY (patient_id, substance)
    )",
    "CREATE TABLE IF NOT EXISTS labs (
        patient_id TEXT NOT NULL REFERENCES patients (id),
        test TEXT NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        unit TEXT NOT NULL,
        reference_range TEXT NOT NULL,
        flag TEXT NOT NULL,
        taken_on TEXT NOT NULL,
        PRIMARY KEY (patient_id, test, taken_on)
    )",
];

struct Patient {
    id: &'static str,
    name: &'static str,
    birth_date: &'static str,
    sex: &'static str,
    blood_type: Option<&'static str>,
}

/// Fictional patients.
const PATIENTS: [Patient; 3] = [
    Patient {
        id: "P-00001",
        name: "Ada Okafor",
        birth_date: "1958-03-14",
        sex: "female",
        blood_type: Some("A+"),
    },
    Patient {
        id: "P-00002",
        name: "Jonas Lindqvist",
        birth_date: "1971-11-02",
        sex: "male",
        blood_type: Some("O-"),
    },
    Patient {
        id: "P-00003",
        name: "Mei Tanaka",
        birth_date: "1990-07-21",
        sex: "female",
        blood_type: None,
    },
];

/// (patient, drug, dose, frequency, started on, status)
const MEDICATIONS: [(&str, &str, &str, &str, &str, &str); 8] = [
    (
        "P-00001",
        "Metformin",
        "1000 mg",
        "twice daily",
        "2016-05-10",
        "active",
    ),
    (
        "P-00001",
        "Lisinopril",
        "10 mg",
        "once daily",
        "2018-09-01",
        "active",
    ),
    (
        "P-00001",
        "Atorvastatin",
        "20 mg",
        "once daily at night",
        "2019-02-15",
        "active",
    ),
    (
        "P-00001",
        "Amoxicillin",
        "500 mg",
        "three times daily",
        "2024-01-03",
        "stopped",
    ),
    (
        "P-00002",
        "Salbutamol inhaler",
        "100 mcg",
        "as needed",
        "2010-04-20",
        "active",
    ),
    (
        "P-00002",
        "Fluticasone inhaler",
        "250 mcg",
        "twice daily",
        "2012-06-11",
        "active",
    ),
    (
        "P-00002",
        "Ibuprofen",
        "400 mg",
        "as needed",
        "2023-08-30",
        "stopped",
    ),
    (
        "P-00003",
        "Levothyroxine",
        "75 mcg",
        "once daily before breakfast",
        "2021-03-08",
        "active",
    ),
];

/// (patient, substance, reaction, severity); P-00003 has none on record.
const ALLERGIES: [(&str, &str, &str, &str); 3] = [
    (
        "P-00001",
        "Penicillin",
        "hives and facial swelling",
        "severe",
    ),
    ("P-00001", "Latex", "contact dermatitis", "mild"),
    ("P-00002", "Aspirin", "bronchospasm", "moderate"),
];

/// (patient, test, value, unit, reference range, flag, taken on)
const LABS: [(&str, &str, f64, &str, &str, &str, &str); 12] = [
    (
        "P-00001",
        "HbA1c",
        7.4,
        "%",
        "4.0-5.6",
        "high",
        "2025-05-02",
    ),
    (
        "P-00001",
        "LDL cholesterol",
        2.1,
        "mmol/L",
        "<3.0",
        "normal",
        "2025-05-02",
    ),
    (
        "P-00001",
        "eGFR",
        68.0,
        "mL/min/1.73m2",
        ">60",
        "normal",
        "2025-05-02",
    ),
    (
        "P-00001",
        "Potassium",
        5.3,
        "mmol/L",
        "3.5-5.1",
        "high",
        "2025-05-02",
    ),
    (
        "P-00001",
        "HbA1c",
        7.9,
        "%",
        "4.0-5.6",
        "high",
        "2024-11-18",
    ),
    (
        "P-00001",
        "eGFR",
        71.0,
        "mL/min/1.73m2",
        ">60",
        "normal",
        "2024-11-18",
    ),
    (
        "P-00002",
        "Eosinophils",
        0.6,
        "10^9/L",
        "0.0-0.5",
        "high",
        "2025-03-12",
    ),
    ("P-00002", "CRP", 4.0, "mg/L", "<5", "normal", "2025-03-12"),
    (
        "P-00002",
        "Hemoglobin",
        14.8,
        "g/dL",
        "13.5-17.5",
        "normal",
        "2025-03-12",
    ),
    (
        "P-00003",
        "TSH",
        2.9,
        "mIU/L",
        "0.4-4.0",
        "normal",
        "2025-04-22",
    ),
    (
        "P-00003",
        "Free T4",
        14.1,
        "pmol/L",
        "10-22",
        "normal",
        "2025-04-22",
    ),
    (
        "P-00003",
        "TSH",
        6.8,
        "mIU/L",
        "0.4-4.0",
        "high",
        "2024-10-07",
    ),
];

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, else `target/` beside the
/// workspace's `Cargo.toml`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
    }
}

/// A `sqlite:` URL for this file, created if missing. The path is
/// percent-encoded where sqlx would read a URL's syntax.
fn sqlite_url(path: &Path) -> String {
    let mut url = String::from("sqlite://");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => url.push_str("%25"),
            '?' => url.push_str("%3F"),
            '#' => url.push_str("%23"),
            c => url.push(c),
        }
    }
    url.push_str("?mode=rwc");
    url
}

/// The file a `sqlite:` URL names, for display.
fn sqlite_path(url: &str) -> String {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or(path);
    path.replace("%3F", "?")
        .replace("%23", "#")
        .replace("%25", "%")
}

/// The URL without its password, to print it.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or("");
            let hidden = if credentials.contains(':') {
                ":***"
            } else {
                ""
            };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_owned(),
    }
}
