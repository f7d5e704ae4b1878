//! `ToolSet::definitions()` for 100 `#[tool]`s: cached at build, so reading
//! them costs no schema generation. `openai_tools()` (JSON building) and the
//! build itself (schemars and the strict rewrite, 100 times) are measured
//! beside it for scale.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use schemars::JsonSchema;
use serde::Deserialize;
use toolcall::{ToolSet, tool};

/// A filter on one field.
#[derive(Deserialize, JsonSchema)]
struct Filter {
    /// Field name.
    field: String,
    /// Values that match.
    values: Vec<String>,
    /// At most this many.
    max: Option<u32>,
}

/// How urgent.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Priority {
    /// Now.
    High,
    /// Later.
    Low,
}

/// 100 tools with one signature and 100 names.
macro_rules! define_tools {
    ($($name:ident)*) => {
        $(
            /// Search the records: a benchmark tool with a realistic schema.
            #[tool]
            async fn $name(
                /// Free-text query.
                query: String,
                /// Most results to return.
                limit: Option<u32>,
                /// Filters, all of which must match.
                filters: Vec<Filter>,
                priority: Priority,
            ) -> usize {
                let _ = (priority, limit);
                query.len() + filters.iter().map(|f| f.field.len() + f.values.len() + f.max.unwrap_or(0) as usize).sum::<usize>()
            }
        )*

        /// A tool set of all of them.
        fn build() -> ToolSet {
            ToolSet::builder()
                .tools(toolcall::tools![$($name),*])
                .build()
                .expect("the bench tools are valid")
        }
    };
}

define_tools!(t000 t001 t002 t003 t004 t005 t006 t007 t008 t009 t010 t011 t012 t013 t014 t015 t016 t017 t018 t019 t020 t021 t022 t023 t024 t025 t026 t027 t028 t029 t030 t031 t032 t033 t034 t035 t036 t037 t038 t039 t040 t041 t042 t043 t044 t045 t046 t047 t048 t049 t050 t051 t052 t053 t054 t055 t056 t057 t058 t059 t060 t061 t062 t063 t064 t065 t066 t067 t068 t069 t070 t071 t072 t073 t074 t075 t076 t077 t078 t079 t080 t081 t082 t083 t084 t085 t086 t087 t088 t089 t090 t091 t092 t093 t094 t095 t096 t097 t098 t099);

fn definitions(c: &mut Criterion) {
    let tools = build();
    assert_eq!(tools.len(), 100);
    let mut group = c.benchmark_group("100 tools");
    group.bench_function("definitions (cached)", |b| {
        b.iter(|| black_box(black_box(&tools).definitions()).len())
    });
    group.bench_function("openai_tools (JSON values)", |b| {
        b.iter(|| black_box(&tools).openai_tools())
    });
    group.bench_function("openai_tools serialised", |b| {
        b.iter(|| serde_json::to_string(black_box(&tools).openai_tools()).expect("JSON"))
    });
    group.bench_function("build (schema generation)", |b| b.iter(build));
    group.finish();
}

criterion_group!(benches, definitions);
criterion_main!(benches);
