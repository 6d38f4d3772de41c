//! The one expression environment: strict undefined, a fuel limit, our filters, no I/O.
//! It is global because it holds no per-flow state (value maps and lookups travel in the
//! evaluation context), so every flow compiles against the same filters and tests.

use std::sync::OnceLock;

use minijinja::{Environment, ErrorKind, UndefinedBehavior};

/// Instructions one field expression may execute. A heavy real mapping uses well under
/// 1,000; the limit stops a runaway `range()` or a huge list filter, not real work.
pub const FUEL_PER_FIELD: u64 = 50_000;

/// The most bytes one field's value may hold, and the most text one of our filters may
/// build. MiniJinja charges the data its own operators and filters create against the fuel;
/// our filters refuse to build more than this before allocating, so no expression allocates
/// more than a few megabytes whatever the record holds.
pub const MAX_FIELD_BYTES: usize = 1 << 20;

/// The shared environment.
pub fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL_PER_FIELD));
        crate::filters::register(&mut env);
        env
    })
}

/// Whether `name` is a filter, test or function of the environment. Filters are resolved
/// only when an expression runs, so `ferry check` asks the environment by probing.
pub fn has_filter(name: &str) -> bool {
    probe(&format!("none | {name}"), ErrorKind::UnknownFilter)
}

/// Whether `name` is a test (`x is name`).
pub fn has_test(name: &str) -> bool {
    probe(&format!("none is {name}"), ErrorKind::UnknownTest)
}

/// Whether `name` is a global function.
pub fn has_function(name: &str) -> bool {
    probe(&format!("{name}()"), ErrorKind::UnknownFunction)
}

fn probe(source: &str, unknown: ErrorKind) -> bool {
    match environment().compile_expression_owned(source.to_owned()) {
        Ok(expr) => !matches!(expr.eval(()), Err(e) if e.kind() == unknown),
        Err(_) => false,
    }
}
