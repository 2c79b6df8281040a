// Drives tower-failed-dependency's BatchLayer with the Microsoft Graph
// JavaScript SDK 3.0.7, through the SDK's own batch API only:
// `BatchRequestContent` (with `addDependency`) builds each batch,
// `Client.api("/$batch").post` sends it, `BatchResponseContent` reads every
// answer (`getResponseById`, `getResponses`).
//
//   node examples/interop/graph-js/graph_batch.mjs http://127.0.0.1:PORT
//
// Prints one JSON document on stdout: per scenario, what the SDK put on the
// wire (`getContent()`), the batch answer the SDK's client parsed (`raw`),
// and per part id what `BatchResponseContent` gave back: the status, the
// headers as its `Response` exposes them, the body as text, as JSON when
// `Response.json()` reads it, and as bytes (hex). The assertions are all in
// examples/tests/graph_sdks.rs; this script only records.
//
// Node 20 has a global fetch, Request, Response and Blob, so no polyfill
// (isomorphic-fetch) is needed; it has no FileReader (see "binary" below).

import graph from "@microsoft/microsoft-graph-client";

const { Client, BatchRequestContent, BatchResponseContent } = graph;

const base = process.argv[2];
if (!base) {
    console.error("usage: node graph_batch.mjs http://127.0.0.1:PORT");
    process.exit(2);
}

// The SDK's client, pointed at the local service: no version segment, and a
// token provider that is never asked (the authentication handler only adds a
// token for Graph's own hosts).
const client = Client.init({
    baseUrl: base,
    defaultVersion: "",
    authProvider: (done) => done(null, "interop-token"),
});

// The SDK's BatchRequestContent reads each part from a fetch `Request`; Node's
// Request wants an absolute URL, and getRequestData strips the origin again.
const request = (path, init) => new Request(`${base}${path}`, init);

const hex = (bytes) => Buffer.from(bytes).toString("hex");

// What BatchResponseContent's Response object gives back.
async function readPart(response) {
    const headers = {};
    response.headers.forEach((value, name) => {
        headers[name] = value;
    });
    const bytes = new Uint8Array(await response.clone().arrayBuffer());
    const text = await response.clone().text();
    let json = null;
    let jsonError = null;
    try {
        json = await response.clone().json();
    } catch (e) {
        jsonError = String(e.name);
    }
    // What a JavaScript caller does with a base64 body: atob, the standard
    // alphabet only (it throws on base64url's '-' and '_').
    let atobHex = null;
    let atobError = null;
    try {
        atobHex = hex(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)));
    } catch (e) {
        atobError = String(e.name);
    }
    return {
        status: response.status,
        headers,
        text,
        bytes_hex: hex(bytes),
        json,
        json_error: jsonError,
        atob_hex: atobHex,
        atob_error: atobError,
    };
}

// Builds, sends and reads one batch; every failure is recorded, not thrown,
// so the Rust side sees what happened.
async function run(build) {
    const out = {};
    let content;
    try {
        const batch = build();
        content = await batch.getContent();
        out.sent = content;
    } catch (e) {
        out.build_error = `${e.name}: ${e.message}`;
        return out;
    }
    let raw;
    try {
        raw = await client.api("/$batch").post(content);
        out.raw = raw;
    } catch (e) {
        out.post_error = { name: e.name, statusCode: e.statusCode, message: e.message, body: e.body ?? null };
        return out;
    }
    try {
        const answers = new BatchResponseContent(raw);
        out.parts = {};
        for (const [id, response] of answers.getResponses()) {
            out.parts[id] = await readPart(response);
        }
        // getResponseById finds each part by its id.
        out.by_id = {};
        for (const id of content.requests.map((r) => r.id)) {
            const response = answers.getResponseById(id);
            out.by_id[id] = response === undefined ? null : response.status;
        }
    } catch (e) {
        out.read_error = `${e.name}: ${e.message}`;
    }
    return out;
}

const json = { "Content-Type": "application/json" };

const scenarios = {};

// A create that fails (409, the email is taken) and an update that depends
// on it: the update is not run and answers 424.
scenarios.chain = await run(() => {
    const batch = new BatchRequestContent();
    batch.addRequest({
        id: "create",
        request: request("/users", { method: "POST", headers: json, body: JSON.stringify({ email: "taken@example.com" }) }),
    });
    batch.addRequest({
        id: "update",
        request: request("/users/taken@example.com", {
            method: "PATCH",
            headers: json,
            body: JSON.stringify({ display_name: "Ada" }),
        }),
    });
    batch.addDependency("update", "create");
    return batch;
});

// Independent GETs: JSON, octet-stream (UTF-8 and not), text, and a part
// with custom headers the handler echoes.
scenarios.parallel = await run(() => {
    const batch = new BatchRequestContent();
    batch.addRequest({ id: "user1", request: request("/users/1") });
    batch.addRequest({ id: "user2", request: request("/users/2") });
    batch.addRequest({ id: "health", request: request("/health") });
    batch.addRequest({ id: "utf8", request: request("/binary/utf8") });
    batch.addRequest({ id: "raw", request: request("/binary/raw") });
    batch.addRequest({ id: "text", request: request("/text") });
    batch.addRequest({
        id: "custom",
        request: request("/headers", { headers: { "X-Custom": "custom-value", Accept: "application/json" } }),
    });
    return batch;
});

// A part answering a header byte over 0x7F, alone: the SDK builds every
// part's Response in BatchResponseContent's constructor, and Node's Headers
// throw on a character over U+00FF (a U+FFFD replacement, say), which would
// lose the whole batch's answers.
scenarios.latin1 = await run(() => {
    const batch = new BatchRequestContent();
    batch.addRequest({ id: "latin1", request: request("/latin1") });
    return batch;
});

// A JSON body and a binary body, each posted to /echo, which records what it
// received. On Node the SDK cannot build the binary one: getRequestBody tries
// `Request.json()`, then, Blob being defined, `new FileReader()`, which Node
// does not have; the ReferenceError is swallowed and the part goes out with
// no body at all (and its Content-Type header).
scenarios.bodies = await run(() => {
    const batch = new BatchRequestContent();
    batch.addRequest({
        id: "json",
        request: request("/echo/json", { method: "POST", headers: json, body: JSON.stringify({ hello: "world" }) }),
    });
    return batch;
});
scenarios.binary = await run(() => {
    const batch = new BatchRequestContent();
    batch.addRequest({
        id: "binary",
        request: request("/echo/binary", {
            method: "POST",
            headers: { "Content-Type": "application/octet-stream" },
            body: new Uint8Array([0, 159, 146, 150, 255]),
        }),
    });
    return batch;
});

const out = {
    sdk: "@microsoft/microsoft-graph-client",
    version: JSON.parse(
        await (await import("node:fs/promises")).readFile(
            new URL("./node_modules/@microsoft/microsoft-graph-client/package.json", import.meta.url),
        ),
    ).version,
    node: process.version,
    globals: { fetch: typeof fetch, Blob: typeof Blob, FileReader: typeof FileReader, atob: typeof atob },
    scenarios,
};
process.stdout.write(JSON.stringify(out) + "\n");
