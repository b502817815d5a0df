// Checks the console's signing code (Sources/VigilConsole/Assets/console.js) under node's WebCrypto:
// PAE, base64, UUIDv7, the alert-note event and the DSSE envelope, verified independently by node:crypto.
//
//   node Tests/Browser/sign_check.mjs
//
// With a running vigild it also proves that the daemon accepts what the console signs:
//   VIGIL_URL=http://127.0.0.1:PORT VIGILCTL=path/to/vigilctl VIGIL_ADMIN_KEY=admin.key \
//   [VIGIL_ALERT_ID=<uuid of an open alert> VIGIL_TOKEN=<officer token>] node Tests/Browser/sign_check.mjs
// It makes a key as the console does, registers it as a safety_officer with vigilctl (signed by the admin key),
// posts a signed alert.acknowledged to /v1/events, and checks that a forged signature and an unregistered key
// are refused (bad_signature, unknown_key). Exits non-zero on any failure.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { createHash, KeyObject, verify as nodeVerify } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const consoleJS = path.join(here, "..", "..", "Sources", "VigilConsole", "Assets", "console.js");
const vigil = createRequire(import.meta.url)(consoleJS);

let passed = 0;
let failed = 0;
async function check(name, body) {
    try {
        await body();
        passed++;
        console.log(`PASS ${name}`);
    } catch (error) {
        failed++;
        console.log(`FAIL ${name}: ${error && error.stack ? error.stack : error}`);
    }
}
function equal(actual, expected, what) {
    if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
function ok(condition, what) {
    if (!condition) throw new Error(what);
}
const text = (bytes) => new TextDecoder().decode(bytes);

await check("PAE matches the DSSE specification's example", () => {
    equal(text(vigil.pae("http://example.com/HelloWorld", vigil.utf8("hello world"))),
        "DSSEv1 29 http://example.com/HelloWorld 11 hello world", "PAE");
});

await check("PAE counts bytes, not characters", () => {
    const payload = vigil.utf8('{"note":"Ærø – ok ✓ 𝄞"}');
    equal(text(vigil.pae(vigil.PAYLOAD_TYPE, payload)),
        `DSSEv1 32 application/vnd.vigil.event+json ${payload.length} {"note":"Ærø – ok ✓ 𝄞"}`, "PAE");
    ok(payload.length > '{"note":"Ærø – ok ✓ 𝄞"}'.length, "multi-byte payload");
});

await check("base64 is standard and padded", () => {
    equal(vigil.base64Encode(new Uint8Array([])), "", "empty");
    equal(vigil.base64Encode(vigil.utf8("f")), "Zg==", "f");
    equal(vigil.base64Encode(vigil.utf8("fo")), "Zm8=", "fo");
    equal(vigil.base64Encode(vigil.utf8("foo")), "Zm9v", "foo");
    equal(vigil.base64Encode(new Uint8Array([0xfb, 0xff])), "+/8=", "+/");
    const big = new Uint8Array(100000).map((_, i) => (i * 7) & 0xff);
    equal(vigil.base64Encode(big), Buffer.from(big).toString("base64"), "100 kB");
    equal(Buffer.compare(Buffer.from(vigil.base64Decode(vigil.base64Encode(big))), Buffer.from(big)), 0, "round trip");
});

await check("UUIDv7 matches RFC 9562's example and is lowercase, version 7, variant 10", () => {
    const random = new Uint8Array([0x0c, 0xc3, 0x18, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f]);
    equal(vigil.uuidv7(0x017f22e279b0, random), "017f22e2-79b0-7cc3-98c4-dc0c0c07398f", "RFC 9562 A.6");
    const a = vigil.uuidv7();
    ok(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(a), `format: ${a}`);
    const later = vigil.uuidv7(Date.now() + 5);
    ok(later > a, "time-ordered");
});

await check("RFC 3339 time is UTC with Z and whole seconds", () => {
    equal(vigil.rfc3339(new Date(Date.UTC(2026, 10, 21, 10, 15, 0, 789))), "2026-11-21T10:15:00Z", "time");
});

await check("the alert-note event has exactly id, type, occurredAt and data {alertId, note}", () => {
    const alertId = "0192F8A2-7B3C-7DEF-8123-456789ABCDEF";
    const event = vigil.alertNoteEvent("alert.acknowledged", alertId, "seen <b>&</b>");
    equal(Object.keys(event).join(","), "id,type,occurredAt,data", "fields");
    equal(Object.keys(event.data).join(","), "alertId,note", "data fields");
    equal(event.data.alertId, alertId.toLowerCase(), "alertId");
    equal(event.data.note, "seen <b>&</b>", "note");
    equal(vigil.alertNoteEvent("alert.resolved", alertId, "done").type, "alert.resolved", "resolved");
    for (const [type, id, note] of [["vitals.recorded", alertId, "x"], ["alert.resolved", "nope", "x"],
        ["alert.resolved", alertId, "  \n "]]) {
        let threw = false;
        try { vigil.alertNoteEvent(type, id, note); } catch { threw = true; }
        ok(threw, `refuses ${type} ${id} ${JSON.stringify(note)}`);
    }
});

const key = await vigil.makeOfficerKey();

await check("the officer key: private half not extractable, key id is SHA-256 of the raw public key", async () => {
    equal(key.privateKey.extractable, false, "private key extractable");
    const raw = Buffer.from(key.publicKeyBase64, "base64");
    equal(raw.length, 32, "raw public key length");
    equal(key.keyid, createHash("sha256").update(raw).digest("hex"), "keyid");
    ok(/^[0-9a-f]{64}$/.test(key.keyid), "lowercase hex");
});

await check("the envelope has exactly three fields and verifies with node:crypto over PAE", async () => {
    const event = vigil.alertNoteEvent("alert.acknowledged", vigil.uuidv7(), "Vitals rechecked ✓");
    const envelope = await vigil.signEnvelope(vigil.payloadBytes(event), key.privateKey, key.keyid);
    equal(Object.keys(envelope).join(","), "payloadType,payload,signatures", "fields");
    equal(envelope.payloadType, "application/vnd.vigil.event+json", "payloadType");
    equal(envelope.signatures.length, 1, "one signature");
    equal(Object.keys(envelope.signatures[0]).join(","), "keyid,sig", "signature fields");
    const payload = Buffer.from(envelope.payload, "base64");
    equal(JSON.stringify(JSON.parse(payload.toString("utf8"))), JSON.stringify(event), "payload");
    const sig = Buffer.from(envelope.signatures[0].sig, "base64");
    equal(sig.length, 64, "signature length");
    const signed = Buffer.concat([Buffer.from(`DSSEv1 32 application/vnd.vigil.event+json ${payload.length} `), payload]);
    ok(nodeVerify(null, signed, KeyObject.from(key.publicKey), sig), "node:crypto verifies the signature");
    ok(!nodeVerify(null, Buffer.concat([signed, Buffer.from(" ")]), KeyObject.from(key.publicKey), sig),
        "a changed PAE does not verify");
});

// ---- Against a running vigild (optional) ---------------------------------------------------------------------

const { VIGIL_URL, VIGILCTL, VIGIL_ADMIN_KEY, VIGIL_ALERT_ID, VIGIL_TOKEN } = process.env;
if (VIGIL_URL && VIGILCTL && VIGIL_ADMIN_KEY) {
    const base = VIGIL_URL.replace(/\/$/, "");
    const post = async (envelope) => {
        const response = await fetch(`${base}/v1/events`, {
            method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(envelope),
        });
        return { status: response.status, body: await response.json() };
    };
    const ack = async (signer, note) => vigil.signEnvelope(
        vigil.payloadBytes(vigil.alertNoteEvent("alert.acknowledged", VIGIL_ALERT_ID || vigil.uuidv7(), note)),
        signer.privateKey, signer.keyid);

    await check("vigild refuses the console's key before it is registered (unknown_key)", async () => {
        const answer = await post(await ack(key, "before registration"));
        equal(answer.body.error && answer.body.error.code, "unknown_key", `answer ${JSON.stringify(answer)}`);
    });

    await check("vigilctl registers the console's key as a safety_officer", () => {
        const run = (args, input) => execFileSync(VIGILCTL, args, { input, env: process.env, encoding: "utf8" });
        const data = JSON.stringify({ publicKey: key.publicKeyBase64, name: "Console Officer (sign_check)", role: "safety_officer" });
        const event = run(["event", "key.registered", "--data", data]);
        const tmp = mkdtempSync(path.join(os.tmpdir(), "sign_check-"));
        const eventFile = path.join(tmp, "register.json");
        const envelopeFile = path.join(tmp, "register.dsse.json");
        writeFileSync(eventFile, event);
        writeFileSync(envelopeFile, run(["sign", "--key", VIGIL_ADMIN_KEY, eventFile]));
        console.log("  " + run(["submit", envelopeFile]).trim().replace(/\n/g, "\n  "));
        rmSync(tmp, { recursive: true, force: true });
    });

    await check("vigild refuses a forged signature (bad_signature)", async () => {
        const envelope = await ack(key, "forged");
        const sig = Buffer.from(envelope.signatures[0].sig, "base64");
        sig[0] ^= 1;
        envelope.signatures[0].sig = sig.toString("base64");
        const answer = await post(envelope);
        equal(answer.body.error && answer.body.error.code, "bad_signature", `answer ${JSON.stringify(answer)}`);
    });

    await check("vigild refuses an unregistered key (unknown_key)", async () => {
        const stranger = await vigil.makeOfficerKey();
        const answer = await post(await ack(stranger, "stranger"));
        equal(answer.body.error && answer.body.error.code, "unknown_key", `answer ${JSON.stringify(answer)}`);
    });

    let stored = null;
    await check("vigild accepts the console-signed alert.acknowledged (signature and key id check out)", async () => {
        const envelope = await ack(key, "Acknowledged from sign_check: <script>window.__pwned=1</script>");
        const answer = await post(envelope);
        console.log(`  POST /v1/events -> ${answer.status} ${JSON.stringify(answer.body)}`);
        const code = answer.body.error && answer.body.error.code;
        ok(!["bad_signature", "unknown_key", "malformed_envelope", "forbidden_type", "revoked_key"].includes(code),
            `refused on signature grounds: ${code}`);
        if (VIGIL_ALERT_ID) {
            equal(answer.status, 201, "stored");
            stored = answer.body;
            const again = await post(envelope);
            equal(again.status, 200, "same bytes again: duplicate");
            equal(again.body.position, answer.body.position, "same position");
        }
    });

    if (VIGIL_ALERT_ID && VIGIL_TOKEN) {
        await check("GET /v1/alerts/<id> shows it acknowledged by the console's key", async () => {
            ok(stored, "nothing stored");
            let alert = null;
            for (let i = 0; i < 50; i++) {
                const response = await fetch(`${base}/v1/alerts/${VIGIL_ALERT_ID}`, {
                    headers: { Authorization: `Bearer ${VIGIL_TOKEN}` },
                });
                alert = await response.json();
                if (alert.acknowledged) break;
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            ok(alert && alert.acknowledged, `not acknowledged: ${JSON.stringify(alert)}`);
            equal(alert.acknowledged.keyid, key.keyid, "acknowledged by");
            equal(alert.acknowledged.position, stored.position, "position");
        });
    }
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
