// Vigil console: the little the server-rendered pages cannot do on their own.
//
//  1. The officer's key (/console/key): an Ed25519 key pair made by WebCrypto, the private half not extractable,
//     kept in this browser's IndexedDB ("vigil-console" / "keys" / "officer").
//  2. Signed actions (form.sign-action): alert.acknowledged and alert.resolved events, signed in the browser as
//     DSSE envelopes (docs/protocol.md, sections 1 and 2) and posted to /v1/events; the signature authenticates.
//  3. Live updates (main#main[data-live="alerts"]): the alert stream (/console/stream) triggers a re-fetch of
//     this page, whose #main replaces the current one's.
//
// Plain script, no framework, no build step, nothing inline (the pages' CSP allows only 'self'). Every page works
// without it, except signing and live updates. The pure functions at the top are also loaded by node for tests
// (Tests/Browser/sign_check.mjs): `require("console.js")` gives them.
(function () {
    "use strict";

    const PAYLOAD_TYPE = "application/vnd.vigil.event+json";
    const SIGNED_TYPES = new Set(["alert.acknowledged", "alert.resolved"]);
    const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

    // ---- Pure functions (no DOM) ------------------------------------------------------------------------------

    function utf8(text) {
        return new TextEncoder().encode(text);
    }

    function concatBytes(parts) {
        let length = 0;
        for (const part of parts) length += part.length;
        const out = new Uint8Array(length);
        let offset = 0;
        for (const part of parts) {
            out.set(part, offset);
            offset += part.length;
        }
        return out;
    }

    /** DSSE's pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(payload) SP payload (byte lengths). */
    function pae(payloadType, payloadBytes) {
        const typeBytes = utf8(payloadType);
        return concatBytes([
            utf8("DSSEv1 " + typeBytes.length + " "), typeBytes,
            utf8(" " + payloadBytes.length + " "), payloadBytes,
        ]);
    }

    /** Standard base64 (+/), padded, no whitespace. */
    function base64Encode(bytes) {
        let binary = "";
        const chunk = 0x8000;
        for (let i = 0; i < bytes.length; i += chunk) {
            binary += String.fromCharCode.apply(null, bytes.subarray(i, i + chunk));
        }
        return btoa(binary);
    }

    function base64Decode(text) {
        const binary = atob(text);
        const out = new Uint8Array(binary.length);
        for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
        return out;
    }

    function hex(bytes) {
        let out = "";
        for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
        return out;
    }

    /**
     * A UUIDv7 (RFC 9562), lowercase: 48 bits of Unix milliseconds, version 7, variant 10, 74 random bits.
     * `random` (10 bytes or more) is for tests; by default the bytes come from crypto.getRandomValues.
     */
    function uuidv7(nowMs, random) {
        const ms = nowMs === undefined ? Date.now() : nowMs;
        const bytes = new Uint8Array(16);
        const rand = random || crypto.getRandomValues(new Uint8Array(10));
        let t = Math.floor(ms);
        for (let i = 5; i >= 0; i--) {
            bytes[i] = t % 256;
            t = Math.floor(t / 256);
        }
        bytes.set(rand.subarray(0, 10), 6);
        bytes[6] = 0x70 | (bytes[6] & 0x0f);
        bytes[8] = 0x80 | (bytes[8] & 0x3f);
        const h = hex(bytes);
        return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
    }

    /** RFC 3339 in UTC with Z, whole seconds: 2026-11-21T10:15:00Z. */
    function rfc3339(date) {
        return (date || new Date()).toISOString().replace(/\.\d+Z$/, "Z");
    }

    /**
     * The event an officer signs to answer an alert: alert.acknowledged or alert.resolved, data {alertId, note}
     * (docs/protocol.md's catalogue: no participant, no session). Throws on what the daemon would refuse anyway.
     */
    function alertNoteEvent(type, alertId, note, options) {
        const opts = options || {};
        if (!SIGNED_TYPES.has(type)) throw new Error("cannot sign an event of type " + type);
        if (!UUID_PATTERN.test(alertId || "")) throw new Error("the alert id is not a UUID");
        if (typeof note !== "string" || note.trim() === "") throw new Error("write a note first");
        return {
            id: opts.id || uuidv7(),
            type: type,
            occurredAt: opts.occurredAt || rfc3339(),
            data: { alertId: alertId.toLowerCase(), note: note },
        };
    }

    /** The event's payload bytes: its JSON, UTF-8. */
    function payloadBytes(event) {
        return utf8(JSON.stringify(event));
    }

    /** Lowercase hex SHA-256 of the raw 32-byte public key. */
    async function keyIdOf(rawPublicKey) {
        return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", rawPublicKey)));
    }

    /** The DSSE envelope of `payload` (bytes), signed by one Ed25519 key (`privateKey` a CryptoKey). */
    async function signEnvelope(payload, privateKey, keyid) {
        const signature = await crypto.subtle.sign({ name: "Ed25519" }, privateKey, pae(PAYLOAD_TYPE, payload));
        return {
            payloadType: PAYLOAD_TYPE,
            payload: base64Encode(payload),
            signatures: [{ keyid: keyid, sig: base64Encode(new Uint8Array(signature)) }],
        };
    }

    /** A fresh officer key: {privateKey (not extractable), publicKey, publicKeyBase64, keyid, createdAt}. */
    async function makeOfficerKey() {
        const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
        const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
        return {
            privateKey: pair.privateKey,
            publicKey: pair.publicKey,
            publicKeyBase64: base64Encode(raw),
            keyid: await keyIdOf(raw),
            createdAt: rfc3339(),
        };
    }

    const pure = {
        PAYLOAD_TYPE, utf8, pae, base64Encode, base64Decode, hex, uuidv7, rfc3339, alertNoteEvent, payloadBytes,
        keyIdOf, signEnvelope, makeOfficerKey,
    };

    if (typeof module !== "undefined" && module.exports) {
        module.exports = pure;
    }
    if (typeof document === "undefined" || typeof window === "undefined") return;

    // ---- Key storage (IndexedDB) ------------------------------------------------------------------------------

    const DB_NAME = "vigil-console";
    const STORE = "keys";
    const RECORD = "officer";

    function openDatabase() {
        return new Promise(function (resolve, reject) {
            if (!window.indexedDB) {
                reject(new Error("this browser offers no IndexedDB here (a private window may turn it off)"));
                return;
            }
            const request = indexedDB.open(DB_NAME, 1);
            request.onupgradeneeded = function () {
                if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE);
            };
            request.onsuccess = function () { resolve(request.result); };
            request.onerror = function () { reject(request.error || new Error("IndexedDB refused to open")); };
            request.onblocked = function () { reject(new Error("IndexedDB is blocked by another tab of this console")); };
        });
    }

    async function withStore(mode, action) {
        const db = await openDatabase();
        try {
            return await new Promise(function (resolve, reject) {
                const transaction = db.transaction(STORE, mode);
                const request = action(transaction.objectStore(STORE));
                let result;
                request.onsuccess = function () { result = request.result; };
                transaction.oncomplete = function () { resolve(result); };
                transaction.onerror = function () { reject(transaction.error || request.error); };
                transaction.onabort = function () { reject(transaction.error || new Error("IndexedDB aborted")); };
            });
        } finally {
            db.close();
        }
    }

    async function loadKey() {
        const record = await withStore("readonly", function (store) { return store.get(RECORD); });
        if (!record || !record.privateKey || !record.keyid || !record.publicKeyBase64) return null;
        return record;
    }

    function saveKey(record) {
        return withStore("readwrite", function (store) { return store.put(record, RECORD); });
    }

    function cryptoProblem() {
        if (!window.isSecureContext || !window.crypto || !crypto.subtle) {
            return "This page is not a secure context (HTTPS, or http://localhost), so the browser offers no " +
                "WebCrypto here: open the console over HTTPS to make a key and sign.";
        }
        return null;
    }

    function setText(element, text) {
        if (element) element.textContent = text;
    }

    const REGISTRATION_NOTE = "An admin must register this public key as a safety_officer (a key.registered " +
        "event) before the log accepts its signatures.";

    // ---- Officer key page -------------------------------------------------------------------------------------

    function setUpKeyPage(section) {
        const button = document.getElementById("make-key");
        const publicKey = document.getElementById("public-key");
        const keyId = document.getElementById("key-id");
        const status = document.getElementById("key-status");

        function show(record) { // without a key, the server's placeholder ("none yet") stays
            if (record) {
                setText(publicKey, record.publicKeyBase64);
                setText(keyId, record.keyid);
            }
            if (section) section.dataset.hasKey = record ? "true" : "false";
        }

        const problem = cryptoProblem();
        if (problem) {
            setText(status, problem);
            if (button) button.disabled = true;
            return;
        }

        loadKey().then(function (record) {
            show(record);
            setText(status, record
                ? "This browser holds the officer key below" +
                    (record.createdAt ? " (made " + record.createdAt + ")" : "") + ". " + REGISTRATION_NOTE
                : "This browser holds no officer key yet. Make one; then " + REGISTRATION_NOTE.charAt(0).toLowerCase() +
                    REGISTRATION_NOTE.slice(1));
        }, function (error) {
            setText(status, "Could not read the stored key: " + error.message);
        });

        if (!button) return;
        button.addEventListener("click", async function () {
            button.disabled = true;
            try {
                const existing = await loadKey().catch(function () { return null; });
                if (existing && !window.confirm(
                    "Replace this browser's officer key (" + existing.keyid.slice(0, 16) + "…)? The old private key " +
                    "is deleted: this browser can no longer sign with it. Events it signed stay valid; ask an " +
                    "admin to revoke it (key.revoked) and to register the new one.")) {
                    return;
                }
                setText(status, "Making a key…");
                const record = await makeOfficerKey();
                await saveKey(record);
                show(record);
                setText(status, "New key made and kept in this browser (the private key cannot be exported). " +
                    REGISTRATION_NOTE + " Give the admin the public key above.");
            } catch (error) {
                const unsupported = error && (error.name === "NotSupportedError" || error.name === "TypeError");
                setText(status, unsupported
                    ? "This browser cannot make Ed25519 keys with WebCrypto; use a current Chromium, Firefox or Safari."
                    : "Could not make a key: " + (error && error.message ? error.message : String(error)));
            } finally {
                button.disabled = false;
            }
        });
    }

    // ---- Signed actions ---------------------------------------------------------------------------------------

    let signing = 0; // forms being signed or posted: live refreshes wait for them
    let reloadPending = false; // a signature was stored and the page reloads: live refreshes stop

    const ERROR_HINTS = {
        unknown_key: "This browser's key is not registered yet: an admin must register its public key " +
            "(/console/key) as a safety_officer.",
        revoked_key: "This browser's key was revoked: make a new one on /console/key and have it registered.",
        forbidden_type: "This browser's key is registered with a role that may not sign this: it must be a " +
            "safety_officer's.",
        bad_signature: "The signature did not verify: make a new key on /console/key and have it registered.",
    };

    function statusWithLink(status, text, linkText) {
        if (!status) return;
        status.textContent = text + " ";
        const link = document.createElement("a");
        link.href = "/console/key";
        link.textContent = linkText;
        status.appendChild(link);
    }

    function submitButtons(form) {
        return form.querySelectorAll('button:not([type]), button[type="submit"], input[type="submit"]');
    }

    async function signAndSubmit(form) {
        const status = form.querySelector(".sign-status");
        const buttons = submitButtons(form);
        const type = form.dataset.type;
        const alertId = form.dataset.alertId;
        const noteField = form.elements.namedItem("note");
        const note = noteField && "value" in noteField ? noteField.value : "";

        const problem = cryptoProblem();
        if (problem) {
            setText(status, problem);
            return;
        }
        if (note.trim() === "") {
            setText(status, "Write a note first.");
            if (noteField && noteField.focus) noteField.focus();
            return;
        }

        signing++;
        buttons.forEach(function (button) { button.disabled = true; });
        form.setAttribute("aria-busy", "true");
        let reloading = false;
        try {
            const key = await loadKey();
            if (!key) {
                statusWithLink(status, "This browser holds no officer key: make one and have an admin register it " +
                    "as a safety_officer, then sign here.", "Make a key on /console/key");
                return;
            }
            // A retry of the same note after a network failure sends the same bytes: the daemon answers it as a
            // duplicate (200, the original position) if the first attempt was in fact stored.
            let body = form.vigilPending && form.vigilPending.note === note && form.vigilPending.keyid === key.keyid
                ? form.vigilPending.body : null;
            if (!body) {
                setText(status, "Signing…");
                const event = alertNoteEvent(type, alertId, note);
                const envelope = await signEnvelope(payloadBytes(event), key.privateKey, key.keyid);
                body = JSON.stringify(envelope);
                form.vigilPending = { note: note, keyid: key.keyid, body: body };
            }
            setText(status, "Sending…");
            let response;
            try {
                response = await fetch("/v1/events", {
                    method: "POST",
                    headers: { "Content-Type": "application/json", "Accept": "application/json" },
                    body: body,
                    credentials: "same-origin",
                    cache: "no-store",
                });
            } catch (error) {
                setText(status, "Could not reach Vigil (" + error.message + "). Nothing is known to be stored: " +
                    "send again; the same signed record is sent, so it cannot be stored twice.");
                return;
            }
            let answer = null;
            try {
                answer = await response.json();
            } catch (_) {
                answer = null;
            }
            if (response.status === 201 || response.status === 200) {
                form.vigilPending = null;
                const position = answer && answer.position !== undefined ? answer.position : "?";
                const what = type === "alert.resolved" ? "Resolution" : "Acknowledgement";
                setText(status, (response.status === 200 && answer && answer.duplicate
                    ? what + " was already stored, at position " : what + " signed and stored at position ") +
                    position + " of the log. Reloading…");
                form.dataset.signed = "true";
                reloading = true;
                reloadPending = true;
                setTimeout(function () { window.location.reload(); }, 1000);
                return;
            }
            if (response.status < 500 && response.status !== 408 && response.status !== 429) {
                form.vigilPending = null; // refused: a new attempt is signed afresh
            }
            const error = answer && answer.error ? answer.error : {};
            const code = error.code || "http_" + response.status;
            const message = error.message || response.statusText || "refused";
            const hint = ERROR_HINTS[code];
            setText(status, "Refused: " + code + ": " + message + (hint ? (/[.!?]$/.test(message) ? " " : ". ") + hint : ""));
            form.dataset.errorCode = code;
        } catch (error) {
            setText(status, "Could not sign: " + (error && error.message ? error.message : String(error)));
        } finally {
            signing--;
            form.removeAttribute("aria-busy");
            if (!reloading) buttons.forEach(function (button) { button.disabled = false; });
        }
    }

    // Delegated, so forms that arrive with a live refresh work too.
    document.addEventListener("submit", function (event) {
        const form = event.target instanceof Element ? event.target.closest("form.sign-action") : null;
        if (!form) return;
        event.preventDefault();
        if (form.getAttribute("aria-busy") === "true") return;
        signAndSubmit(form);
    });

    // ---- Live updates -----------------------------------------------------------------------------------------

    function setUpLive(main) {
        if (typeof EventSource === "undefined") return;
        const MIN_INTERVAL_MS = 1000;
        let lastRefresh = 0;
        let timer = null;
        let inFlight = false;
        let again = false;
        let liveText = null;

        // #live-status may sit inside #main: a refresh brings the server's text back, so it is set again after.
        function liveStatus(text) {
            liveText = text;
            setText(document.getElementById("live-status"), text);
        }

        function schedule() {
            if (inFlight) {
                again = true;
                return;
            }
            if (timer !== null) return;
            const wait = Math.max(0, lastRefresh + MIN_INTERVAL_MS - Date.now());
            timer = setTimeout(function () {
                timer = null;
                refresh();
            }, wait);
        }

        async function refresh() {
            if (reloadPending) return;
            if (signing > 0) { // don't pull a form out from under a signature in progress
                timer = setTimeout(function () { timer = null; refresh(); }, MIN_INTERVAL_MS);
                return;
            }
            inFlight = true;
            lastRefresh = Date.now();
            try {
                const response = await fetch(window.location.href, {
                    credentials: "same-origin",
                    headers: { "Accept": "text/html" },
                    cache: "no-store",
                });
                if (!response.ok) return;
                const type = response.headers.get("Content-Type") || "";
                if (type.indexOf("text/html") === -1) return;
                const fetched = new DOMParser().parseFromString(await response.text(), "text/html");
                const next = fetched.getElementById("main");
                const current = document.getElementById("main");
                if (!next || !current || reloadPending) return; // e.g. signed out: the sign-in page has no #main
                replaceMain(current, next);
                if (liveText !== null) liveStatus(liveText);
            } catch (_) {
                // A failed refresh leaves the page as it was; the next event tries again.
            } finally {
                inFlight = false;
                if (again) {
                    again = false;
                    schedule();
                }
            }
        }

        // Keeps what the officer was typing (notes in sign-action forms) and where the focus was.
        function replaceMain(current, next) {
            const drafts = new Map();
            current.querySelectorAll("form.sign-action").forEach(function (form) {
                const field = form.elements.namedItem("note");
                if (field && "value" in field && field.value !== "") {
                    drafts.set(formKey(form), field.value);
                }
            });
            const active = document.activeElement;
            const activeForm = active && current.contains(active) && active.closest
                ? active.closest("form.sign-action") : null;
            const activeKey = activeForm ? formKey(activeForm) : null;
            const activeName = active && active.name ? active.name : null;

            current.replaceChildren.apply(current, Array.from(next.childNodes, function (node) {
                return document.importNode(node, true);
            }));

            current.querySelectorAll("form.sign-action").forEach(function (form) {
                const key = formKey(form);
                const field = form.elements.namedItem("note");
                if (field && "value" in field && drafts.has(key)) field.value = drafts.get(key);
                if (key === activeKey && activeName) {
                    const again = form.elements.namedItem(activeName);
                    if (again && again.focus) again.focus();
                }
            });
        }

        function formKey(form) {
            return (form.dataset.type || "") + "|" + (form.dataset.alertId || "");
        }

        const source = new EventSource("/console/stream");
        source.addEventListener("open", function () { liveStatus("Live: connected"); });
        source.addEventListener("error", function () {
            liveStatus(source.readyState === EventSource.CLOSED
                ? "Live: disconnected (reload the page)" : "Live: reconnecting…");
        });
        source.addEventListener("alert", schedule);
        source.addEventListener("alert-updated", schedule);
    }

    // ---- Start ------------------------------------------------------------------------------------------------

    function start() {
        const keySection = document.getElementById("officer-key");
        if (keySection) setUpKeyPage(keySection);
        const main = document.getElementById("main");
        if (main && main.dataset.live === "alerts") setUpLive(main);
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
})();
