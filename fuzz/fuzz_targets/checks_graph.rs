//! The checks graph: `DependencyLayer::check` / `Checked::layer` builders
//! with `after`, `timeout`, `deadline` and `require` in any order, over any
//! names (unknown, duplicate, cyclic, forward references). `build()` never
//! panics and refuses exactly the graphs that are refused: a setting before
//! any check, a duplicate name, an unknown `after` name (each the first in
//! declaration order), or a real cycle. A layer that builds answers one
//! request, on a paused tokio clock, with the inner service's 2xx or a
//! problem whose `status` is the HTTP status, and:
//! - a check starts only once every check it runs after succeeded and every
//!   requirement it runs after was recorded as succeeded, and at most once;
//! - the inner service is called exactly when every requirement and check
//!   succeeded, and then sees each check recorded as succeeded;
//! - a 424 names a prerequisite of the layer.

#![no_main]

#[path = "input.rs"]
mod input;

use std::cell::Cell;
use std::collections::HashSet;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use input::Input;
use libfuzzer_sys::fuzz_target;
use tower::{service_fn, Layer, ServiceExt};
use tower_failed_dependency::checks::{ChecksBuilder, GraphError, RequestHead};
use tower_failed_dependency::{Dependencies, DependencyLayer, Failure, Name, Outcome};

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    /// Set right before a panic the target causes on purpose (a check that
    /// panics), so that libFuzzer's hook does not count it as a crash.
    static EXPECTED_PANIC: Cell<bool> = const { Cell::new(false) };
}

/// libFuzzer's hook aborts on every panic; a panic the target causes on
/// purpose, and the layer catches, is let through.
fn allow_expected_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !EXPECTED_PANIC.with(|expected| expected.replace(false)) {
                abort(info);
            }
        }));
    });
}

fn panic_on_purpose() -> ! {
    EXPECTED_PANIC.with(|expected| expected.set(true));
    std::panic::panic_any("a check panicked on purpose")
}

const NAMES: &[&str] = &["a", "b", "c", "d", "auth", "A", "\u{e9}", ""];
const TEXT: &[&str] = &["a", "b", "-", " ", "\"", "\u{e9}", "\u{0}"];

fn name(input: &mut Input<'_>) -> String {
    if input.one_in(8) {
        input.text(3, TEXT)
    } else {
        input.pick(NAMES).to_owned()
    }
}

/// What a check does.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    Pass,
    /// Succeeds with a value for the request's extensions.
    Value(u32),
    /// Fails as if its dependency answered this status.
    Refuse(u16),
    Unavailable,
    Pass2After(u64),
    FailAfter(u64),
    /// Never ends: its timeout (or the deadline) ends it.
    Pending,
    PanicInFuture,
    PanicBeforeFuture,
}

impl Behaviour {
    fn of(input: &mut Input<'_>) -> Self {
        match input.below_or(8) {
            0 => Self::Pass,
            1 => Self::Value(input.range(0, 9) as u32),
            2 => Self::Refuse(input.pick(&[400, 401, 403, 404, 409, 500, 502, 503, 504, 200])),
            3 => Self::Unavailable,
            4 => Self::Pass2After(input.range(0, 20_000)),
            5 => Self::FailAfter(input.range(0, 20_000)),
            6 => Self::Pending,
            7 => Self::PanicInFuture,
            _ => Self::PanicBeforeFuture,
        }
    }
}

/// What happened to the checks of one request.
#[derive(Debug, Default)]
struct Log {
    started: Vec<String>,
    succeeded: Vec<String>,
    failed: Vec<String>,
    /// What the inner service saw, when it was called: the record and the
    /// value a check inserted.
    called: Option<(Option<Dependencies>, Option<u32>)>,
}

type Shared = Arc<Mutex<Log>>;
type Checking<T> = Pin<Box<dyn Future<Output = Result<T, Failure>> + Send>>;

/// The check's future: it logs how it ended.
fn checking<T: Send + 'static>(
    behaviour: Behaviour,
    name: String,
    log: Shared,
    value: T,
) -> Checking<T> {
    Box::pin(async move {
        let result = match behaviour {
            Behaviour::Pass | Behaviour::Value(_) => Ok(value),
            Behaviour::Refuse(status) => Err(Failure::rejected(
                StatusCode::from_u16(status).expect("a status"),
            )),
            Behaviour::Unavailable => Err(Failure::unavailable().with_detail("down")),
            Behaviour::Pass2After(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(value)
            }
            Behaviour::FailAfter(ms) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Err(Failure::timeout())
            }
            Behaviour::Pending => std::future::pending().await,
            Behaviour::PanicInFuture => panic_on_purpose(),
            Behaviour::PanicBeforeFuture => unreachable!("panicked before its future"),
        };
        let mut log = log.lock().unwrap();
        match &result {
            Ok(_) => log.succeeded.push(name),
            Err(_) => log.failed.push(name),
        }
        result
    })
}

/// The builder, before and after its first check.
enum Builder {
    Layer(DependencyLayer),
    Checks(Box<ChecksBuilder>),
}

impl Builder {
    fn check(self, name: String, behaviour: Behaviour, log: &Shared) -> Self {
        let started = move |name: &String, log: &Shared| {
            log.lock().unwrap().started.push(name.clone());
            if let Behaviour::PanicBeforeFuture = behaviour {
                panic_on_purpose();
            }
        };
        let log = Arc::clone(log);
        let key = name.clone();
        let builder = match behaviour {
            Behaviour::Value(value) => {
                let check = move |_: RequestHead| {
                    started(&name, &log);
                    checking(behaviour, name.clone(), Arc::clone(&log), value)
                };
                match self {
                    Self::Layer(layer) => layer.check(key, check),
                    Self::Checks(builder) => (*builder).check(key, check),
                }
            }
            _ => {
                let check = move |_: RequestHead| {
                    started(&name, &log);
                    checking(behaviour, name.clone(), Arc::clone(&log), ())
                };
                match self {
                    Self::Layer(layer) => layer.check(key, check),
                    Self::Checks(builder) => (*builder).check(key, check),
                }
            }
        };
        Self::Checks(Box::new(builder))
    }
}

/// A check as declared, and what is expected of the graph.
#[derive(Debug)]
struct Declared {
    name: String,
    after: Vec<String>,
    timeout: u64,
    behaviour: Behaviour,
}

/// What `build` must say of the declared graph, without its cycles.
fn expected_refusal(
    misplaced: Option<&'static str>,
    required: &[String],
    checks: &[Declared],
) -> Option<GraphError> {
    if let Some(setting) = misplaced {
        return Some(GraphError::NoCheckYet(setting));
    }
    let mut seen: Vec<&String> = Vec::new();
    for name in required.iter().chain(checks.iter().map(|c| &c.name)) {
        if seen.contains(&name) {
            return Some(GraphError::Duplicate(Name::from(name.clone())));
        }
        seen.push(name);
    }
    for check in checks {
        for after in &check.after {
            if !checks.iter().any(|c| &c.name == after) && !required.contains(after) {
                return Some(GraphError::UnknownAfter {
                    check: check.name.clone().into(),
                    unknown: after.clone().into(),
                });
            }
        }
    }
    None
}

/// Whether `from` reaches `to` by `after` edges between checks.
fn reaches(checks: &[Declared], from: &str, to: &str) -> bool {
    let mut stack = vec![from.to_owned()];
    let mut seen = HashSet::new();
    while let Some(name) = stack.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(check) = checks.iter().find(|c| c.name == name) else {
            continue;
        };
        for after in &check.after {
            if after == to {
                return true;
            }
            stack.push(after.clone());
        }
    }
    false
}

fn has_cycle(checks: &[Declared]) -> bool {
    checks.iter().any(|c| reaches(checks, &c.name, &c.name))
}

fn outcome(input: &mut Input<'_>) -> Option<Outcome> {
    match input.below_or(3) {
        0 => None,
        1 => Some(Outcome::Succeeded),
        2 => Some(Outcome::Failed(Failure::unavailable())),
        _ => Some(Outcome::Skipped {
            because: name(input).into(),
        }),
    }
}

fuzz_target!(|data: &[u8]| {
    allow_expected_panics();
    let mut input = Input::new(data);
    let log: Shared = Arc::default();
    let mut builder = if input.one_in(2) {
        Builder::Layer(DependencyLayer::new())
    } else {
        Builder::Checks(Box::new(
            tower_failed_dependency::checks::Checked::<()>::layer(),
        ))
    };
    let mut required: Vec<String> = Vec::new();
    let mut checks: Vec<Declared> = Vec::new();
    let mut misplaced = None;
    let mut deadline = None;
    for _ in 0..input.below_or(12) {
        builder = match (input.below_or(4), builder) {
            (0, builder) => {
                let (name, behaviour) = (name(&mut input), Behaviour::of(&mut input));
                checks.push(Declared {
                    name: name.clone(),
                    after: Vec::new(),
                    timeout: 10_000,
                    behaviour,
                });
                builder.check(name, behaviour, &log)
            }
            (1, Builder::Checks(builder)) => {
                let names: Vec<String> = (0..input.below_or(3)).map(|_| name(&mut input)).collect();
                match checks.last_mut() {
                    Some(last) => last.after.extend(names.iter().cloned()),
                    None => misplaced = Some("after"),
                }
                Builder::Checks(Box::new(builder.after(names)))
            }
            (2, Builder::Checks(builder)) => {
                let ms = input.range(0, 20_000);
                match checks.last_mut() {
                    Some(last) => last.timeout = ms,
                    None => misplaced = Some("timeout"),
                }
                Builder::Checks(Box::new(builder.timeout(Duration::from_millis(ms))))
            }
            (3, Builder::Checks(builder)) => {
                let ms = input.range(0, 20_000);
                deadline = Some(ms);
                Builder::Checks(Box::new(builder.deadline(Duration::from_millis(ms))))
            }
            (_, builder) => {
                let name = name(&mut input);
                if !required.contains(&name) {
                    required.push(name.clone());
                }
                match builder {
                    Builder::Layer(layer) => Builder::Layer(layer.require(name)),
                    Builder::Checks(builder) => Builder::Checks(Box::new(builder.require(name))),
                }
            }
        };
    }
    let Builder::Checks(builder) = builder else {
        return;
    };
    let refusal = expected_refusal(misplaced, &required, &checks);
    let layer = match (builder.build(), refusal) {
        (Err(error), Some(expected)) => {
            assert_eq!(error, expected);
            return;
        }
        (Err(GraphError::Cycle(cycle)), None) => {
            assert!(has_cycle(&checks), "a cycle reported where there is none");
            assert!(
                cycle.len() >= 2 && cycle.first() == cycle.last(),
                "{cycle:?}"
            );
            for pair in cycle.windows(2) {
                let check = checks.iter().find(|c| *c.name == *pair[0]).unwrap();
                assert!(
                    check.after.iter().any(|a| *a == *pair[1]),
                    "{cycle:?}: {} does not run after {}",
                    pair[0],
                    pair[1]
                );
            }
            return;
        }
        (Err(error), None) => panic!("refused with {error:?}"),
        (Ok(_), Some(expected)) => panic!("built, though {expected:?}"),
        (Ok(layer), None) => {
            assert!(!has_cycle(&checks), "a cycle was built");
            layer
        }
    };

    // One request, with an outer record for the requirements.
    let mut record = Dependencies::new();
    for _ in 0..input.below_or(4) {
        let name = name(&mut input);
        if let Some(outcome) = outcome(&mut input) {
            record.record(name, outcome);
        }
    }
    let inner_status = input.pick(&[200u16, 201, 204]);
    let inner = {
        let log = Arc::clone(&log);
        service_fn(move |request: Request<Full<Bytes>>| {
            let seen = (
                request.extensions().get::<Dependencies>().cloned(),
                request.extensions().get::<u32>().copied(),
            );
            log.lock().unwrap().called = Some(seen);
            let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
            *response.status_mut() = StatusCode::from_u16(inner_status).unwrap();
            async move { Ok::<_, Infallible>(response) }
        })
    };
    let mut request = Request::new(Full::new(Bytes::new()));
    request.extensions_mut().insert(record.clone());
    let service = layer.layer(inner);
    let (status, media, body) = RUNTIME.with(|runtime| {
        runtime.block_on(async {
            let response = service.oneshot(request).await.unwrap();
            let status = response.status();
            let media = response.headers().get(CONTENT_TYPE).cloned();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, media, body)
        })
    });

    let log = log.lock().unwrap();
    let succeeded_outside = |name: &str| matches!(record.get(name), Some(Outcome::Succeeded));
    let mut once = HashSet::new();
    for name in &log.started {
        assert!(once.insert(name), "'{name}' started twice");
        let check = checks.iter().find(|c| c.name == *name).unwrap();
        for after in &check.after {
            if checks.iter().any(|c| c.name == *after) {
                assert!(
                    log.succeeded.contains(after),
                    "'{name}' started though '{after}' did not succeed"
                );
            } else {
                assert!(
                    succeeded_outside(after),
                    "'{name}' started though the requirement '{after}' was not met"
                );
            }
        }
    }
    match &log.called {
        Some((seen, value)) => {
            assert_eq!(status.as_u16(), inner_status);
            assert!(required.iter().all(|name| succeeded_outside(name)));
            let seen = seen.as_ref().expect("the record reaches the inner service");
            for check in &checks {
                assert!(
                    log.succeeded.contains(&check.name),
                    "{} did not pass",
                    check.name
                );
                assert!(
                    matches!(seen.get(&check.name), Some(Outcome::Succeeded)),
                    "{} is recorded as {:?}",
                    check.name,
                    seen.get(&check.name)
                );
            }
            let values: Vec<u32> = checks
                .iter()
                .filter_map(|c| match c.behaviour {
                    Behaviour::Value(v) => Some(v),
                    _ => None,
                })
                .collect();
            assert_eq!(value.is_some(), !values.is_empty());
            if let Some(value) = value {
                assert!(values.contains(value));
            }
        }
        None => {
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{status} without the inner service"
            );
            let media = media.expect("a problem has a Content-Type");
            assert_eq!(media, "application/problem+json");
            let problem: serde_json::Value = serde_json::from_slice(&body).expect("JSON problem");
            assert_eq!(problem["status"], status.as_u16());
            if status == StatusCode::FAILED_DEPENDENCY {
                let dependency = problem["dependency"].as_str().expect("a dependency");
                // A requirement an outer layer skipped is refused naming
                // what it was skipped because of.
                let because = record.iter().filter_map(|(_, outcome)| match outcome {
                    Outcome::Skipped { because } => Some(because),
                    _ => None,
                });
                assert!(
                    required.iter().any(|r| r == dependency)
                        || checks.iter().any(|c| c.name == dependency)
                        || because.clone().any(|b| b == dependency),
                    "424 names '{dependency}', not a prerequisite of the layer"
                );
            }
        }
    }
    // When no time bound is close, whether the request passes is known.
    let clear = deadline.is_none()
        && checks.iter().all(|c| match c.behaviour {
            Behaviour::Pass2After(ms) | Behaviour::FailAfter(ms) => ms != c.timeout,
            _ => true,
        });
    if clear {
        let passes = required.iter().all(|name| succeeded_outside(name))
            && checks.iter().all(|c| match c.behaviour {
                Behaviour::Pass | Behaviour::Value(_) => true,
                Behaviour::Pass2After(ms) => ms < c.timeout,
                _ => false,
            });
        assert_eq!(log.called.is_some(), passes, "{checks:?} {record:?}");
    }
});
