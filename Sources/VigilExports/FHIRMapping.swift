import Crypto
package import VigilModel
package import VigilProjections

/// Where a record stands in the signed log: what each exported resource's Provenance names.
package struct LogSource: Sendable {
    package struct Signature: Sendable {
        package var keyID: KeyID
        /// The holder's printed name, as registered in the log.
        package var name: String
        /// The 64-byte Ed25519 signature over the event's DSSE PAE.
        package var bytes: [UInt8]
    }

    package var position: Int64
    package var recordedAt: Timestamp
    package var eventID: EventID
    /// RFC 9162 leaf hash of the stored entry.
    package var leafHash: [UInt8]
    /// The author's signature first, then the witnesses'.
    package var signatures: [Signature]

    package init(position: Int64, recordedAt: Timestamp, eventID: EventID, leafHash: [UInt8], signatures: [Signature]) {
        self.position = position
        self.recordedAt = recordedAt
        self.eventID = eventID
        self.leafHash = leafHash
        self.signatures = signatures
    }
}

/// Vigil's events as FHIR R4 resources: a pure function of each event, its place in the log and its signers.
///
/// Codes and units are in one table, docs/exports.md: LOINC for vital signs and the PHQ-9, UCUM units, the HL7
/// terminology code systems for seriousness, severity and outcome, ASTM E1762 for the meaning of signatures.
/// Every id is derived from what the resource is about, so the same log always exports the same bundle.
package enum FHIRMapping {
    package static let loinc = "http://loinc.org"
    package static let ucum = "http://unitsofmeasure.org"
    static let base = "urn:vigil:fhir:"

    /// How references are written: `urn:uuid:` inside a Bundle (resolved through each entry's fullUrl), `Type/id`
    /// in NDJSON for loading into a FHIR server.
    package enum References: Sendable {
        case bundle
        case relative
    }

    /// A resource id (a UUID) derived from what the resource is about.
    package static func id(_ key: String) -> String {
        var bytes = Array(SHA256.hash(data: Array(("vigil.fhir|" + key).utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return EventID(bytes: bytes)!.description
    }

    package static func reference(_ type: String, _ id: String, _ style: References) -> JSONValue {
        .object(JSONObject(["reference": .string(style == .bundle ? "urn:uuid:\(id)" : "\(type)/\(id)")]))
    }

    package static func patientID(_ participant: String) -> String { id("Patient|\(participant)") }
    package static func medicationID(lot: String) -> String { id("Medication|\(lot)") }

    static func coding(_ system: String, _ code: String, _ display: String? = nil) -> JSONValue {
        var object = JSONObject(["system": .string(system), "code": .string(code)])
        if let display { object["display"] = .string(display) }
        return .object(object)
    }

    static func concept(_ codings: [JSONValue], text: String? = nil) -> JSONValue {
        var object = JSONObject(["coding": .array(codings)])
        if let text { object["text"] = .string(text) }
        return .object(object)
    }

    static func quantity(_ value: Double, unit: String, code: String) -> JSONValue {
        .object(
            JSONObject([
                "value": .number(JSONNumber(value)), "unit": .string(unit), "system": .string(ucum),
                "code": .string(code),
            ]))
    }

    static func milligrams(_ value: Milligrams) -> JSONValue {
        .object(
            JSONObject([
                "value": .number(value.jsonNumber), "unit": .string("mg"), "system": .string(ucum),
                "code": .string("mg"),
            ]))
    }

    static func extensionValue(_ name: String, _ key: String, _ value: JSONValue) -> JSONValue {
        .object(JSONObject(["url": .string(base + name), key: value]))
    }

    // MARK: - Participants

    /// The pseudonymous participant: the code as an identifier, nothing else.
    package static func patient(_ participant: String) -> JSONObject {
        JSONObject([
            "resourceType": .string("Patient"), "id": .string(patientID(participant)),
            "identifier": .array([
                .object(JSONObject(["system": .string(base + "participant"), "value": .string(participant)]))
            ]),
        ])
    }

    package static func researchSubject(
        _ participant: String, body: ParticipantEnrolled, at time: Timestamp, references: References
    ) -> JSONObject {
        JSONObject([
            "resourceType": .string("ResearchSubject"), "id": .string(id("ResearchSubject|\(participant)")),
            "status": .string("on-study"),
            "period": .object(JSONObject(["start": .string(time.rfc3339)])),
            "study": .object(JSONObject(["display": .string("site \(body.site)")])),
            "individual": reference("Patient", patientID(participant), references),
        ])
    }

    // MARK: - Vital signs

    /// One Observation per measurement (vital-signs profile): the blood-pressure panel with its two components,
    /// heart rate, body temperature, oxygen saturation.
    package static func observations(
        _ body: VitalsRecorded, event: EventPayload, references: References
    ) -> [JSONObject] {
        guard let participant = event.participant else { return [] }
        func observation(_ kind: String, code: JSONValue, extra: JSONObject) -> JSONObject {
            var object = JSONObject([
                "resourceType": .string("Observation"), "id": .string(id("Observation|\(event.id)|\(kind)")),
                "status": .string("final"),
                "category": .array([
                    concept(
                        [
                            coding(
                                "http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs",
                                "Vital Signs")
                        ])
                ]),
                "code": code, "subject": reference("Patient", patientID(participant), references),
                "effectiveDateTime": .string(event.occurredAt.rfc3339),
            ])
            for member in extra.members { object[member.key] = member.value }
            return object
        }
        var found: [JSONObject] = []
        if body.systolic != nil || body.diastolic != nil {
            var components: [JSONValue] = []
            for (value, code, display) in [
                (body.systolic, "8480-6", "Systolic blood pressure"),
                (body.diastolic, "8462-4", "Diastolic blood pressure"),
            ] {
                guard let value else { continue }
                components.append(
                    .object(
                        JSONObject([
                            "code": concept([coding(loinc, code, display)]),
                            "valueQuantity": quantity(value, unit: "mmHg", code: "mm[Hg]"),
                        ])))
            }
            found.append(
                observation(
                    "bp", code: concept([coding(loinc, "85354-9", "Blood pressure panel")], text: "Blood pressure"),
                    extra: JSONObject(["component": .array(components)])))
        }
        let single: [(Double?, String, String, String, String, String)] = [
            (body.heartRate, "hr", "8867-4", "Heart rate", "/min", "/min"),
            (body.temperatureC, "temp", "8310-5", "Body temperature", "Cel", "Cel"),
            (body.spo2, "spo2", "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%"),
        ]
        for (value, kind, code, display, unit, ucumCode) in single {
            guard let value else { continue }
            found.append(
                observation(
                    kind, code: concept([coding(loinc, code, display)], text: display),
                    extra: JSONObject(["valueQuantity": quantity(value, unit: unit, code: ucumCode)])))
        }
        return found
    }

    // MARK: - Doses

    /// The lot as a Medication (its batch), which dispenses and adverse events refer to.
    package static func medication(lot: String, substance: String?) -> JSONObject {
        JSONObject([
            "resourceType": .string("Medication"), "id": .string(medicationID(lot: lot)),
            "code": .object(JSONObject(["text": .string(substance ?? "controlled substance, lot \(lot)")])),
            "batch": .object(JSONObject(["lotNumber": .string(lot)])),
        ])
    }

    package static func dispense(
        _ body: DoseDispensed, event: EventPayload, pharmacist: LogSource.Signature, references: References
    ) -> JSONObject? {
        guard let participant = event.participant else { return nil }
        var object = JSONObject([
            "resourceType": .string("MedicationDispense"), "id": .string(id("MedicationDispense|\(event.id)")),
            "status": .string("completed"),
            "medicationReference": reference("Medication", medicationID(lot: body.lot), references),
            "subject": reference("Patient", patientID(participant), references),
            "performer": .array([.object(JSONObject(["actor": actor(pharmacist)]))]),
            "quantity": milligrams(body.dose),
            "whenHandedOver": .string(event.occurredAt.rfc3339),
        ])
        var note = "\(body.kind.rawValue) dose"
        if let session = event.session { note += ", session \(session)" }
        object["note"] = .array([.object(JSONObject(["text": .string(note)]))])
        return object
    }

    /// A signer as a FHIR actor: the key id as identifier, the printed name as display.
    static func actor(_ signature: LogSource.Signature) -> JSONValue {
        .object(
            JSONObject([
                "identifier": .object(
                    JSONObject(["system": .string(base + "keyid"), "value": .string(signature.keyID.hex)])),
                "display": .string(signature.name),
            ]))
    }

    // MARK: - Adverse events

    /// The register's entry as an AdverseEvent, with the CTCAE grade, the E2A criteria and the regulatory clock as
    /// extensions (R4's AdverseEvent has no element for them).
    package static func adverseEvent(
        _ view: AdverseEventView, recordedAt: Timestamp, references: References
    )
        -> JSONObject
    {
        let (severity, severityDisplay) =
            view.severity <= 1 ? ("mild", "Mild") : view.severity == 2 ? ("moderate", "Moderate") : ("severe", "Severe")
        var extensions: [JSONValue] = [
            extensionValue("ctcae-grade", "valueInteger", .number(JSONNumber(view.severity)))
        ]
        for criterion in view.criteria {
            extensions.append(extensionValue("seriousness-criterion", "valueCode", .string(criterion.rawValue)))
        }
        extensions.append(extensionValue("day-zero", "valueDateTime", .string(view.awareAt.rfc3339)))
        if let due = view.reportDueAt {
            extensions.append(extensionValue("expedited-report-due", "valueDateTime", .string(due.rfc3339)))
        }
        if let submitted = view.submittedAt {
            extensions.append(extensionValue("expedited-report-submitted", "valueDateTime", .string(submitted.rfc3339)))
        }
        if let reference = view.reference {
            extensions.append(extensionValue("expedited-report-reference", "valueString", .string(reference)))
        }
        var object = JSONObject([
            "resourceType": .string("AdverseEvent"), "id": .string(id("AdverseEvent|\(view.key)")),
            "extension": .array(extensions),
            "identifier": .object(JSONObject(["system": .string(base + "ae"), "value": .string(view.aeId)])),
            "actuality": .string("actual"),
            "event": .object(JSONObject(["text": .string(view.term)])),
            "subject": reference("Patient", patientID(view.participant), references),
            "date": .string(view.onset.iso8601),
            "detected": .string(view.awareAt.rfc3339),
            "recordedDate": .string(recordedAt.rfc3339),
            "seriousness": concept([
                coding(
                    "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness",
                    view.serious ? "serious" : "non-serious", view.serious ? "Serious" : "Non-serious")
            ]),
            "severity": concept([
                coding("http://terminology.hl7.org/CodeSystem/adverse-event-severity", severity, severityDisplay)
            ]),
        ])
        if let outcome = view.outcome {
            let code = outcome == .resolvedWithSequelae ? "resolvedWithSequelae" : outcome.rawValue
            object["outcome"] = concept([
                coding("http://terminology.hl7.org/CodeSystem/adverse-event-outcome", code)
            ])
        }
        if view.suspected {
            object["suspectEntity"] = .array([
                .object(JSONObject(["instance": .object(JSONObject(["display": .string("MDMA (study drug)")]))]))
            ])
        }
        return object
    }

    // MARK: - Questionnaires

    /// PHQ-9 item codes (LOINC), in the questionnaire's order; the total is 44261-6.
    package static let phq9Items = [
        "44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8",
    ]

    /// The PHQ-9 and C-SSRS answers as QuestionnaireResponses, and the self-rated mood as an Observation.
    package static func moodCheck(
        _ body: MoodCheckCompleted, event: EventPayload, references: References
    )
        -> [JSONObject]
    {
        guard let participant = event.participant else { return [] }
        let subject = reference("Patient", patientID(participant), references)
        func response(_ kind: String, questionnaire: String, items: [JSONValue]) -> JSONObject {
            JSONObject([
                "resourceType": .string("QuestionnaireResponse"),
                "id": .string(id("QuestionnaireResponse|\(event.id)|\(kind)")),
                "questionnaire": .string(questionnaire), "status": .string("completed"), "subject": subject,
                "authored": .string(event.occurredAt.rfc3339), "item": .array(items),
            ])
        }
        func item(_ linkId: String, _ answer: JSONObject) -> JSONValue {
            .object(JSONObject(["linkId": .string(linkId), "answer": .array([.object(answer)])]))
        }
        var found: [JSONObject] = []
        if let phq9 = body.phq9 {
            var items = zip(phq9Items, phq9).map { item($0, JSONObject(["valueInteger": .number(JSONNumber($1))])) }
            items.append(item("44261-6", JSONObject(["valueInteger": .number(JSONNumber(phq9.reduce(0, +)))])))
            found.append(response("phq9", questionnaire: "http://loinc.org/q/44249-1", items: items))
        }
        if let cssrs = body.cssrs {
            let answers: [(String, Bool?)] = [
                ("q1", cssrs.q1), ("q2", cssrs.q2), ("q3", cssrs.q3), ("q4", cssrs.q4), ("q5", cssrs.q5),
                ("q6", cssrs.q6),
            ]
            let items = answers.compactMap { name, value in
                value.map { item(name, JSONObject(["valueBoolean": .bool($0)])) }
            }
            found.append(response("cssrs", questionnaire: base + "questionnaire:cssrs-screener", items: items))
        }
        if let mood = body.mood {
            found.append(
                JSONObject([
                    "resourceType": .string("Observation"), "id": .string(id("Observation|\(event.id)|mood")),
                    "status": .string("final"),
                    "code": .object(JSONObject(["text": .string("Self-rated mood, 0 (worst) to 10 (best)")])),
                    "subject": subject, "effectiveDateTime": .string(event.occurredAt.rfc3339),
                    "valueInteger": .number(JSONNumber(mood)),
                ]))
        }
        return found
    }

    // MARK: - Provenance

    /// ASTM E1762 signature types: the author's signature, and a witness's to the event.
    static let authorSignature = coding("urn:iso-astm:E1762-95:2013", "1.2.840.10065.1.12.1.1", "Author's Signature")
    static let witnessSignature = coding(
        "urn:iso-astm:E1762-95:2013", "1.2.840.10065.1.12.1.9", "Event Witness Signature")

    /// The resource's Provenance: every log entry it derives from (position, leaf hash, the checkpoint that
    /// includes it), every signer (key id, printed name, the meaning of the signature) and the signatures
    /// themselves, which verify against the stored envelope.
    package static func provenance(
        of target: JSONObject, sources: [LogSource], checkpoint: LogCheckpoint?, references: References
    ) -> JSONObject? {
        guard case .string(let type)? = target["resourceType"], case .string(let targetID)? = target["id"],
            let last = sources.last
        else { return nil }
        var agents: [JSONValue] = []
        var signatures: [JSONValue] = []
        var entities: [JSONValue] = []
        for source in sources {
            for (index, signature) in source.signatures.enumerated() {
                let author = index == 0
                agents.append(
                    .object(
                        JSONObject([
                            "type": concept([
                                coding(
                                    "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                    author ? "author" : "attester", author ? "Author" : "Attester")
                            ]),
                            "who": actor(signature),
                        ])))
                signatures.append(
                    .object(
                        JSONObject([
                            "type": .array([author ? authorSignature : witnessSignature]),
                            "when": .string(source.recordedAt.rfc3339), "who": actor(signature),
                            "targetFormat": .string("application/vnd.vigil.event+json"),
                            "data": .string(Base64.encode(signature.bytes)),
                        ])))
            }
            var extensions: [JSONValue] = [
                extensionValue("leaf-hash", "valueString", .string(Hex.encode(source.leafHash)))
            ]
            if let checkpoint, checkpoint.size >= UInt64(source.position) {
                extensions.append(
                    extensionValue(
                        "checkpoint", "valueString",
                        .string("\(checkpoint.origin) \(checkpoint.size) \(Base64.encode(checkpoint.rootHash))")))
            }
            entities.append(
                .object(
                    JSONObject([
                        "extension": .array(extensions), "role": .string("source"),
                        "what": .object(
                            JSONObject([
                                "identifier": .object(
                                    JSONObject([
                                        "system": .string(base + "log-position"),
                                        "value": .string(String(source.position)),
                                    ])),
                                "display": .string("event \(source.eventID)"),
                            ])),
                    ])))
        }
        return JSONObject([
            "resourceType": .string("Provenance"), "id": .string(id("Provenance|\(type)|\(targetID)")),
            "target": .array([reference(type, targetID, references)]),
            "recorded": .string(last.recordedAt.rfc3339),
            "agent": .array(agents), "entity": .array(entities), "signature": .array(signatures),
        ])
    }
}
