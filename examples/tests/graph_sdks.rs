//! `BatchLayer` driven by the real Microsoft Graph SDKs over loopback: the
//! JavaScript SDK (`@microsoft/microsoft-graph-client` 3.0.7, Node) and the
//! Python core SDK (`msgraph-core` 1.5.2). Each test serves a small API
//! behind `BatchLayer::new()` on 127.0.0.1, runs the SDK's driver script
//! against it (examples/interop/graph-js/graph_batch.mjs,
//! examples/interop/graph-python/graph_batch.py), which builds its batches
//! and reads the answers with the SDK's own batch API only and prints one
//! JSON document of what the SDK sent and gave back, and checks that
//! document here: every assertion is in this file.
//!
//! The SDKs are installed by `scripts/setup.sh` (npm ci from the lockfile;
//! a virtual environment at target/interop/venv from the hash-pinned
//! requirements.txt); without them these tests fail and say so.
//!
//! ```text
//! scripts/setup.sh
//! cargo test -p tower-failed-dependency-examples --test graph_sdks -- --nocapture
//! ```
//!
//! Every check is run and the failures are listed together, so one run says
//! everything that differs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Json, Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tower_failed_dependency::batch::BatchLayer;
use tower_failed_dependency::Problem;

/// How long one driver may run before it is killed.
const DRIVER_TIMEOUT: Duration = Duration::from_secs(90);

/// Non-UTF-8 bytes, for an octet-stream answer.
const RAW: [u8; 5] = [0, 159, 146, 150, 255];

// ---------------------------------------------------------------------------
// The service.

/// What `POST /echo/{tag}` received.
#[derive(Clone, Debug)]
struct Echo {
    tag: String,
    content_type: Option<String>,
    body: Vec<u8>,
}

/// What the handlers and the outermost layer saw.
#[derive(Default)]
struct Record {
    /// Each `POST /echo/{tag}`.
    echoes: Vec<Echo>,
    /// The `Content-Type` of each `/$batch` request, as it came in.
    batch_content_types: Vec<Option<String>>,
}

type Seen = Arc<Mutex<Record>>;

fn router(seen: Seen) -> Router {
    Router::new()
        .route("/users", post(create_user))
        .route("/users/{id}", get(read_user).patch(update_user))
        .route("/health", get(|| async { Json(json!({"status": "up"})) }))
        .route("/echo/{tag}", post(echo))
        .route("/headers", get(echo_headers))
        .route("/binary/utf8", get(|| async { octets(b"hello") }))
        .route("/binary/raw", get(|| async { octets(&RAW) }))
        .route("/latin1", get(latin1))
        .route(
            "/text",
            get(|| async { ([(header::CONTENT_TYPE, "text/plain")], "hello") }),
        )
        .with_state(seen)
}

async fn create_user(Json(user): Json<Value>) -> Result<Response, Problem> {
    let email = user["email"].as_str().unwrap_or_default().to_owned();
    if email == "taken@example.com" {
        return Err(Problem::new(StatusCode::CONFLICT)
            .with_title("Conflict")
            .with_detail("The email is already taken."));
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": "7", "email": email})),
    )
        .into_response())
}

async fn update_user(UrlPath(id): UrlPath<String>, Json(update): Json<Value>) -> Json<Value> {
    Json(json!({"id": id, "display_name": update["display_name"]}))
}

async fn read_user(UrlPath(id): UrlPath<String>) -> Json<Value> {
    Json(json!({"id": id, "display_name": format!("User {id}")}))
}

async fn echo(
    State(seen): State<Seen>,
    UrlPath(tag): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let received = body.len();
    seen.lock().unwrap().echoes.push(Echo {
        tag,
        content_type,
        body: body.to_vec(),
    });
    Json(json!({"received": received}))
}

async fn echo_headers(headers: HeaderMap) -> Json<Value> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Json(json!({"x-custom": get("x-custom"), "accept": get("accept")}))
}

fn octets(bytes: &'static [u8]) -> Response {
    ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
}

/// A header whose value has a byte over 0x7F: `caf\xE9`, "café" in latin-1.
async fn latin1() -> Response {
    let mut response = Json(json!({"ok": true})).into_response();
    response.headers_mut().insert(
        "x-raw",
        HeaderValue::from_bytes(b"caf\xE9").expect("a valid header value"),
    );
    response
}

/// Serves the router behind `BatchLayer::new()` on 127.0.0.1; the batch
/// layer wraps the whole router, so every part is routed like a request of
/// its own.
async fn serve() -> (SocketAddr, Seen) {
    let seen = Seen::default();
    let outer = seen.clone();
    let app = tower::ServiceBuilder::new()
        .map_response(|response: axum::http::Response<_>| response.map(Body::new))
        .map_request(move |request: axum::http::Request<Body>| {
            if request.uri().path() == "/$batch" {
                let content_type = request
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                outer.lock().unwrap().batch_content_types.push(content_type);
            }
            request
        })
        .layer(BatchLayer::new())
        .service(router(seen.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let make = axum::ServiceExt::<axum::http::Request<Body>>::into_make_service(app);
    tokio::spawn(async move { axum::serve(listener, make).await });
    (addr, seen)
}

// ---------------------------------------------------------------------------
// Running a driver.

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("examples/ has a parent")
        .to_path_buf()
}

/// Runs `program args` in the workspace root, killed after
/// [`DRIVER_TIMEOUT`]; returns the JSON document it printed.
async fn run_driver(program: PathBuf, args: Vec<String>) -> Value {
    let shown = format!("{} {}", program.display(), args.join(" "));
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(&program)
            .args(&args)
            .current_dir(workspace())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): is it installed? scripts/setup.sh installs the SDKs",
                    program.display()
                )
            });
        // Read both pipes on threads of their own, so a chatty driver cannot
        // block on a full pipe while it is waited for.
        let mut stdout = child.stdout.take().expect("stdout piped");
        let mut stderr = child.stderr.take().expect("stderr piped");
        let out = std::thread::spawn(move || {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut stdout, &mut buf).ok();
            buf
        });
        let err = std::thread::spawn(move || {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut stderr, &mut buf).ok();
            buf
        });
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for the driver") {
                break Some(status);
            }
            if started.elapsed() > DRIVER_TIMEOUT {
                child.kill().ok();
                child.wait().ok();
                break None;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        (status, out.join().unwrap(), err.join().unwrap())
    })
    .await
    .expect("the driver's thread");
    let (status, stdout, stderr) = output;
    let stderr = String::from_utf8_lossy(&stderr);
    let Some(status) = status else {
        panic!(
            "{shown} did not finish within {DRIVER_TIMEOUT:?} and was killed\nstderr:\n{stderr}"
        );
    };
    assert!(
        status.success(),
        "{shown} failed ({status})\nstderr:\n{stderr}"
    );
    let stdout = String::from_utf8_lossy(&stdout);
    let document: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("{shown} printed no JSON document ({e}):\n{stdout}\nstderr:\n{stderr}")
    });
    println!(
        "{shown}\n{}",
        serde_json::to_string_pretty(&document).unwrap()
    );
    document
}

// ---------------------------------------------------------------------------
// Checks: each one is run; the failures are reported together.

#[derive(Default)]
struct Checks {
    failed: Vec<String>,
    passed: usize,
}

impl Checks {
    fn check(&mut self, ok: bool, what: impl Into<String>) {
        if ok {
            self.passed += 1;
        } else {
            self.failed.push(what.into());
        }
    }

    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, actual: T, expected: T) {
        let ok = actual == expected;
        self.check(ok, format!("{what}: got {actual:?}, expected {expected:?}"));
    }

    fn finish(self, sdk: &str) {
        println!(
            "{sdk}: {} checks passed, {} failed",
            self.passed,
            self.failed.len()
        );
        if !self.failed.is_empty() {
            panic!(
                "{sdk}: {} of {} checks failed:\n  - {}",
                self.failed.len(),
                self.passed + self.failed.len(),
                self.failed.join("\n  - ")
            );
        }
    }
}

/// Standard base64 (`+`, `/`, `=` padding), strictly: what JavaScript's
/// `atob` and Python's `b64decode` read. `None` for anything else.
fn standard_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A header's value from a JSON object of headers, the name compared
/// without case.
fn header_value<'a>(headers: &'a Value, name: &str) -> Option<&'a str> {
    headers
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .and_then(|(_, value)| value.as_str())
}

/// The part `id` of a raw batch answer `{"responses": [...]}`.
fn raw_part<'a>(raw: &'a Value, id: &str) -> &'a Value {
    raw["responses"]
        .as_array()
        .and_then(|parts| parts.iter().find(|part| part["id"] == id))
        .unwrap_or(&Value::Null)
}

/// Checks the 424 of part `id` on the wire: a problem naming `dependency`,
/// its status and the `root_cause`.
fn check_424(
    c: &mut Checks,
    scenario: &str,
    raw: &Value,
    id: &str,
    dependency: &str,
    dependency_status: u64,
    root_cause: &str,
) {
    let part = raw_part(raw, id);
    let at = format!("{scenario}: raw part {id}");
    c.eq(&format!("{at} status"), part["status"].as_u64(), Some(424));
    let content_type = header_value(&part["headers"], "content-type").unwrap_or_default();
    c.check(
        content_type.starts_with("application/problem+json"),
        format!("{at} Content-Type: got {content_type:?}, expected application/problem+json"),
    );
    let body = &part["body"];
    c.eq(
        &format!("{at} body.dependency"),
        body["dependency"].as_str(),
        Some(dependency),
    );
    c.eq(
        &format!("{at} body.dependency_status"),
        body["dependency_status"].as_u64(),
        Some(dependency_status),
    );
    c.eq(
        &format!("{at} body.root_cause"),
        body["root_cause"].as_str(),
        Some(root_cause),
    );
}

/// The part headers on the wire name `Content-Type` in Graph's spelling
/// (the JavaScript SDK reads no other).
fn check_graph_content_type(c: &mut Checks, scenario: &str, raw: &Value, id: &str, expected: &str) {
    let headers = &raw_part(raw, id)["headers"];
    let value = headers
        .get("Content-Type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    c.check(
        value.starts_with(expected),
        format!("{scenario}: raw part {id} headers[\"Content-Type\"] (Graph's spelling): got {value:?} in {headers}, expected {expected}"),
    );
}

fn echoed(seen: &Seen, tag: &str) -> Option<Echo> {
    seen.lock()
        .unwrap()
        .echoes
        .iter()
        .find(|echo| echo.tag == tag)
        .cloned()
}

/// Every `/$batch` request the SDK sent was `Content-Type: application/json`
/// (the batch answers 415 to anything else).
fn check_batch_content_types(c: &mut Checks, seen: &Seen, batches: usize) {
    let types = seen.lock().unwrap().batch_content_types.clone();
    c.eq("number of /$batch requests", types.len(), batches);
    for content_type in types {
        let content_type = content_type.unwrap_or_default();
        c.check(
            content_type.starts_with("application/json"),
            format!(
                "a /$batch request's Content-Type: got {content_type:?}, expected application/json"
            ),
        );
    }
}

// ---------------------------------------------------------------------------
// The JavaScript SDK.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_javascript_sdk_batches() {
    let root = workspace();
    let dir = root.join("examples/interop/graph-js");
    assert!(
        dir.join("node_modules/@microsoft/microsoft-graph-client/package.json")
            .is_file(),
        "the Graph JavaScript SDK is not installed in {}: run scripts/setup.sh",
        dir.display()
    );
    let (addr, seen) = serve().await;
    let base = format!("http://{addr}");
    let doc = run_driver(
        PathBuf::from("node"),
        vec![dir.join("graph_batch.mjs").display().to_string(), base],
    )
    .await;
    let mut c = Checks::default();
    c.eq("SDK version", doc["version"].as_str(), Some("3.0.7"));
    let s = &doc["scenarios"];
    for name in ["chain", "parallel", "latin1", "bodies", "binary"] {
        for error in ["build_error", "post_error", "read_error"] {
            c.check(
                s[name][error].is_null(),
                format!("{name}: the SDK reported {error}: {}", s[name][error]),
            );
        }
    }

    // Create, then update depending on it; the create fails.
    let chain = &s["chain"];
    let sent = &chain["sent"]["requests"];
    // BatchRequestContent.getRequestData strips the origin off an absolute
    // Request URL ("/" + the rest) and keeps lower-case header names (fetch
    // Headers); getContent writes addDependency's ids as `dependsOn`.
    c.eq(
        "chain: sent create url",
        sent[0]["url"].as_str(),
        Some("/users"),
    );
    c.eq(
        "chain: sent update dependsOn",
        &sent[1]["dependsOn"],
        &json!(["create"]),
    );
    c.eq(
        "chain: sent create body (JSON embedded)",
        &sent[0]["body"],
        &json!({"email": "taken@example.com"}),
    );
    c.eq(
        "chain: create status",
        chain["parts"]["create"]["status"].as_u64(),
        Some(409),
    );
    c.eq(
        "chain: update status",
        chain["parts"]["update"]["status"].as_u64(),
        Some(424),
    );
    check_424(
        &mut c,
        "chain",
        &chain["raw"],
        "update",
        "create",
        409,
        "create",
    );
    // BatchResponseContent.createResponseObject stringifies a body only when
    // headers["Content-Type"] is exactly application/json; a problem+json
    // object goes to `new Response(object)`, whose text is "[object Object]".
    // That is the SDK's reading of every problem; the wire is checked above.
    c.eq(
        "chain: update body as the SDK reads it",
        chain["parts"]["update"]["text"].as_str(),
        Some("[object Object]"),
    );

    // Independent GETs.
    let parallel = &s["parallel"];
    let parts = &parallel["parts"];
    for id in ["user1", "user2", "health", "utf8", "raw", "text", "custom"] {
        c.eq(
            &format!("parallel: {id} status"),
            parts[id]["status"].as_u64(),
            Some(200),
        );
        c.eq(
            &format!("parallel: getResponseById({id})"),
            parallel["by_id"][id].as_u64(),
            Some(200),
        );
    }
    for id in ["user1", "health", "custom"] {
        check_graph_content_type(&mut c, "parallel", &parallel["raw"], id, "application/json");
    }
    // JSON bodies read back as objects: needs `Content-Type` spelled so.
    c.eq(
        "parallel: user1 json",
        &parts["user1"]["json"],
        &json!({"id": "1", "display_name": "User 1"}),
    );
    c.eq(
        "parallel: user2 json",
        &parts["user2"]["json"],
        &json!({"id": "2", "display_name": "User 2"}),
    );
    c.eq(
        "parallel: health json",
        &parts["health"]["json"],
        &json!({"status": "up"}),
    );
    c.eq(
        "parallel: custom headers reached the handler",
        &parts["custom"]["json"],
        &json!({"x-custom": "custom-value", "accept": "application/json"}),
    );
    // Octet-stream answers: the SDK hands the part body string over as the
    // Response's text, undecoded; it is standard base64, which atob reads.
    for (id, bytes) in [("utf8", &b"hello"[..]), ("raw", &RAW[..])] {
        let text = parts[id]["text"].as_str().unwrap_or_default();
        c.eq(
            &format!("parallel: {id} body, standard base64 decoded"),
            standard_base64(text),
            Some(bytes.to_vec()),
        );
        c.eq(
            &format!("parallel: {id} body through atob"),
            parts[id]["atob_hex"].as_str(),
            Some(hex(bytes).as_str()),
        );
    }
    // A text/plain answer is a JSON string, which the SDK's Response gives
    // back as its text.
    c.eq(
        "parallel: text body",
        parts["text"]["text"].as_str(),
        Some("hello"),
    );

    // The latin-1 byte, written as the code point U+00E9, reads back through
    // the Response's Headers as "café" (a U+FFFD there makes Node's Headers
    // throw in BatchResponseContent's constructor: a read_error above).
    let latin1 = &s["latin1"];
    c.eq(
        "latin1: status",
        latin1["parts"]["latin1"]["status"].as_u64(),
        Some(200),
    );
    c.eq(
        "latin1: x-raw on the wire",
        header_value(&raw_part(&latin1["raw"], "latin1")["headers"], "x-raw"),
        Some("café"),
    );
    c.eq(
        "latin1: x-raw through the SDK",
        header_value(&latin1["parts"]["latin1"]["headers"], "x-raw"),
        Some("café"),
    );

    // A JSON request body reaches the handler as that JSON.
    let bodies = &s["bodies"];
    c.eq(
        "bodies: json status",
        bodies["parts"]["json"]["status"].as_u64(),
        Some(200),
    );
    c.eq(
        "bodies: json answer read back",
        &bodies["parts"]["json"]["json"],
        &json!({"received": 17}),
    );
    match echoed(&seen, "json") {
        Some(echo) => {
            c.eq(
                "bodies: json Content-Type received",
                echo.content_type.as_deref(),
                Some("application/json"),
            );
            c.eq(
                "bodies: json body received",
                serde_json::from_slice::<Value>(&echo.body).ok(),
                Some(json!({"hello": "world"})),
            );
        }
        None => c.check(false, "bodies: /echo/json was not called"),
    }

    // A binary request body: the SDK cannot build it on Node. getRequestBody
    // (lib/src/content/BatchRequestContent.js) tries Request.json(), then,
    // `typeof Blob !== "undefined"`, `new FileReader()`: Node 20 has Blob but
    // no FileReader, the ReferenceError is swallowed, and the part goes out
    // with its Content-Type and no body (the Buffer branch, which would
    // base64 the bytes, is never reached). What the SDK sent is asserted;
    // the handler then sees an empty body.
    c.eq(
        "node: typeof FileReader",
        doc["globals"]["FileReader"].as_str(),
        Some("undefined"),
    );
    let binary = &s["binary"];
    let sent = &binary["sent"]["requests"][0];
    c.check(
        sent.get("body").is_none(),
        format!("binary: the SDK sent no body on Node, got {}", sent["body"]),
    );
    c.eq(
        "binary: sent content-type",
        sent["headers"]["content-type"].as_str(),
        Some("application/octet-stream"),
    );
    c.eq(
        "binary: status",
        binary["parts"]["binary"]["status"].as_u64(),
        Some(200),
    );
    match echoed(&seen, "binary") {
        Some(echo) => c.eq("binary: body received", echo.body, Vec::new()),
        None => c.check(false, "binary: /echo/binary was not called"),
    }

    // Five batches, each posted by the SDK's client as application/json.
    check_batch_content_types(&mut c, &seen, 5);

    c.finish("Graph JavaScript SDK");
}

// ---------------------------------------------------------------------------
// The Python core SDK.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_python_sdk_batches() {
    let root = workspace();
    let python = root.join("target/interop/venv/bin/python");
    assert!(
        python.is_file(),
        "the Graph Python SDK's virtual environment is missing ({}): run scripts/setup.sh",
        python.display()
    );
    let (addr, seen) = serve().await;
    let base = format!("http://{addr}");
    let script = root.join("examples/interop/graph-python/graph_batch.py");
    let doc = run_driver(python, vec![script.display().to_string(), base.clone()]).await;
    let mut c = Checks::default();
    c.eq("SDK version", doc["version"].as_str(), Some("1.5.2"));
    let s = &doc["scenarios"];
    for name in ["chain", "answers", "binary_body"] {
        for error in ["build_error", "post_error"] {
            c.check(
                s[name][error].is_null(),
                format!("{name}: the SDK reported {error}: {}", s[name][error]),
            );
        }
        c.eq(
            &format!("{name}: outer status"),
            s[name]["outer_status"].as_u64(),
            Some(200),
        );
        c.eq(
            &format!("{name}: outer Content-Type sent"),
            s[name]["sent_content_type"].as_str(),
            Some("application/json"),
        );
    }

    // Issue 19: create (409), update depends_on create, read depends_on
    // update. BatchRequestItem.serialize writes the dependency as
    // `depends_on`, and the part URL absolute (RequestInformation.url as
    // given: BatchRequestItem.__init__ does not strip the origin).
    let chain = &s["chain"];
    let sent = &chain["sent"]["requests"];
    c.eq(
        "chain: sent update depends_on",
        &sent[1]["depends_on"],
        &json!(["create"]),
    );
    c.check(
        sent[1].get("dependsOn").is_none(),
        "chain: the SDK writes no dependsOn",
    );
    c.eq(
        "chain: sent create url (absolute)",
        sent[0]["url"].as_str(),
        Some(format!("{base}/users").as_str()),
    );
    c.eq(
        "chain: status codes",
        &chain["status_codes"],
        &json!({"create": 409, "update": 424, "read": 424}),
    );
    check_424(
        &mut c,
        "chain",
        &chain["raw"],
        "update",
        "create",
        409,
        "create",
    );
    check_424(
        &mut c,
        "chain",
        &chain["raw"],
        "read",
        "update",
        424,
        "create",
    );
    // BatchResponseItem's "body" deserializer is JsonParseNode.get_bytes_value,
    // which gives None for anything but a string: the SDK returns no body
    // for a JSON (problem) part, so the 424s are checked on the wire above.
    for id in ["create", "update", "read"] {
        c.eq(
            &format!("chain: {id} body as the SDK reads it"),
            &chain["parts"][id]["body_hex"],
            &Value::Null,
        );
    }
    let update_type = chain["parts"]["update"]["content_type"]
        .as_str()
        .unwrap_or_default();
    c.check(
        update_type.starts_with("application/problem+json"),
        format!("chain: update content_type through the SDK: {update_type:?}"),
    );

    // Independent parts.
    let answers = &s["answers"];
    let parts = &answers["parts"];
    for id in ["user1", "utf8", "raw", "latin1", "relative", "lower"] {
        c.eq(
            &format!("answers: {id} status"),
            parts[id]["status"].as_u64(),
            Some(200),
        );
    }
    check_graph_content_type(
        &mut c,
        "answers",
        &answers["raw"],
        "user1",
        "application/json",
    );
    c.eq(
        "answers: user1 body as the SDK reads it (None: JSON)",
        &parts["user1"]["body_hex"],
        &Value::Null,
    );
    c.eq(
        "answers: relative url sent",
        answers["sent"]["requests"][4]["url"].as_str(),
        Some("users/2"),
    );
    c.eq(
        "answers: lower-case method sent",
        answers["sent"]["requests"][5]["method"].as_str(),
        Some("get"),
    );
    c.eq(
        "answers: relative url answered",
        &raw_part(&answers["raw"], "relative")["body"],
        &json!({"id": "2", "display_name": "User 2"}),
    );
    // Octet-stream answers: get_bytes_value is base64.b64decode, standard
    // alphabet; the SDK gives back the original bytes.
    c.eq(
        "answers: utf8 bytes",
        parts["utf8"]["body_hex"].as_str(),
        Some(hex(b"hello").as_str()),
    );
    c.eq(
        "answers: raw bytes",
        parts["raw"]["body_hex"].as_str(),
        Some(hex(&RAW).as_str()),
    );
    // The latin-1 byte reads back as U+00E9.
    c.eq(
        "answers: latin1 x-raw",
        header_value(&parts["latin1"]["headers"], "x-raw"),
        Some("café"),
    );

    // A binary request body. BatchRequestItem.serialize json.loads every
    // body: one that is JSON but not an object is written as standard
    // base64 (base64.b64encode), which must reach the handler as the
    // original bytes.
    let binary = &s["binary_body"];
    c.eq(
        "binary_body: sent body (standard base64)",
        binary["sent"]["requests"][0]["body"].as_str(),
        Some("Iu+/vyI="),
    );
    c.eq(
        "binary_body: status",
        binary["parts"]["binary"]["status"].as_u64(),
        Some(200),
    );
    match echoed(&seen, "binary") {
        Some(echo) => {
            c.eq(
                "binary_body: Content-Type received",
                echo.content_type.as_deref(),
                Some("application/octet-stream"),
            );
            c.eq(
                "binary_body: bytes received",
                hex(&echo.body),
                hex(b"\"\xef\xbf\xbf\""),
            );
        }
        None => c.check(false, "binary_body: /echo/binary was not called"),
    }

    // Bytes that are not JSON text cannot be sent by this SDK at all: the
    // json.loads in BatchRequestItem.serialize raises before anything is
    // sent.
    let not_json = &s["not_json_body"];
    let error = not_json["post_error"].as_str().unwrap_or_default();
    c.check(
        error.starts_with("UnicodeDecodeError") || error.starts_with("JSONDecodeError"),
        format!("not_json_body: the SDK's json.loads refuses the bytes, got {error:?}"),
    );
    c.check(
        not_json["sent"].is_null(),
        "not_json_body: nothing was sent",
    );
    c.check(
        echoed(&seen, "raw").is_none(),
        "not_json_body: /echo/raw was not called",
    );

    // A text/plain answer is a JSON string on the wire; the SDK reads every
    // string body with base64.b64decode (JsonParseNode._get_bytes_value), so
    // "hello" (not base64) fails the reading of the whole batch.
    let text = &s["text_answer"];
    c.eq(
        "text_answer: raw body on the wire",
        raw_part(&text["raw"], "text")["body"].as_str(),
        Some("hello"),
    );
    let error = text["post_error"].as_str().unwrap_or_default();
    c.check(
        error.starts_with("Error:"),
        format!("text_answer: the SDK's b64decode fails (binascii.Error), got {error:?}"),
    );

    // Four batches reached the service (not_json_body never left the SDK),
    // each posted by BatchRequestBuilder as application/json.
    check_batch_content_types(&mut c, &seen, 4);

    c.finish("Graph Python SDK");
}

#[test]
fn standard_base64_reads_only_the_standard_alphabet() {
    assert_eq!(standard_base64("aGVsbG8="), Some(b"hello".to_vec()));
    assert_eq!(standard_base64("AJ+Slv8="), Some(RAW.to_vec()));
    assert_eq!(
        standard_base64("Iu+/vyI="),
        Some(b"\"\xef\xbf\xbf\"".to_vec())
    );
    assert_eq!(standard_base64(""), Some(Vec::new()));
    assert_eq!(standard_base64("AJ-Slv8="), None);
    assert_eq!(standard_base64("AJ+Slv8"), None);
    assert_eq!(standard_base64("hello"), None);
}
