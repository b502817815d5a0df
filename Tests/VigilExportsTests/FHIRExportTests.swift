import Foundation
import Logging
import Testing
import VigilExports
import VigilModel
import VigilProjections
import VigilStore
import VigilTestSupport

/// FHIR exports of real logs in real stores, validated by a FHIR library (fhir.resources, R4B models) and checked
/// value by value.
@Suite struct FHIRExportTests {
    /// Exports `events` (stored in a fresh store) and returns the text and the store's entries.
    func export(
        _ events: [VerifiedEvent], keys: TestKeys, selection: FHIRExport.Selection,
        format: FHIRExport.Format = .bundle, in folder: String
    ) async throws -> (text: String, entries: [StoredEntry], count: Int) {
        let store = try EventStore.open(
            path: folder + "/vigil.sqlite", anchors: keys.anchors, logger: Logger(label: "t"))
        _ = await store.append(events)
        let entries = try await store.entries(after: 0, limit: 100_000)
        var export = FHIRExport(
            selection: selection, format: format, anchors: try await store.anchorHistory(),
            checkpoint: LogCheckpoint(
                origin: "clinic.test/vigil", size: UInt64(entries.count), rootHash: Array(repeating: 0, count: 32)),
            generatedAt: Timestamp(rfc3339: "2026-11-29T12:00:00Z")!)
        var text = ""
        try await FHIRExport.run(
            &export, fetch: { after, limit in try await store.entries(after: after, limit: limit) }
        ) {
            text += $0
        }
        await store.close()
        return (text, entries, export.resourceCount)
    }

    /// Runs the validator on the text; returns its counts per resource type.
    func validate(_ text: String, name: String, in folder: String) async throws -> [String: Int] {
        let path = folder + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let report = try await FHIRValidator.check(path)
        #expect(report.valid, "the FHIR library refused the export: \(report.problems)")
        return report.counts
    }

    func resources(of bundle: String) throws -> [JSONValue] {
        guard case .object(let root) = try JSONParser.parse(Array(bundle.utf8)),
            case .array(let entries)? = root["entry"]
        else { throw UnexpectedAnswer("not a bundle") }
        return entries.compactMap { if case .object(let entry) = $0 { entry["resource"] } else { nil } }
    }

    @Test func aCourseExportsAsAValidBundleWithEveryCodeAndUnit() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let course = Course(keys: keys)
            let (text, entries, count) = try await export(
                course.verified, keys: keys, selection: .participant(Course.participant), in: folder)
            let counts = try await validate(text, name: "course.json", in: folder)
            #expect(counts.values.reduce(0, +) == count)
            #expect(counts["Patient"] == 1 && counts["ResearchSubject"] == 1 && counts["Medication"] == 1)
            #expect(counts["AdverseEvent"] == 1)
            let resources = try resources(of: text)

            func all(_ type: String) -> [JSONValue] { resources.filter { $0["resourceType"]?.text == type } }
            func code(_ resource: JSONValue) -> String? { resource["code"]?["coding"]?[0]?["code"]?.text }
            // Vital signs: LOINC codes and UCUM units, value by value.
            let panel = try #require(all("Observation").first { code($0) == "85354-9" })
            #expect(panel["category"]?[0]?["coding"]?[0]?["code"]?.text == "vital-signs")
            #expect(panel["component"]?[0]?["code"]?["coding"]?[0]?["code"]?.text == "8480-6")
            #expect(panel["component"]?[0]?["valueQuantity"]?["code"]?.text == "mm[Hg]")
            #expect(panel["component"]?[0]?["valueQuantity"]?["value"]?.text == "142")
            #expect(panel["component"]?[1]?["code"]?["coding"]?[0]?["code"]?.text == "8462-4")
            #expect(panel["component"]?[1]?["valueQuantity"]?["value"]?.text == "88")
            let heart = try #require(all("Observation").first { code($0) == "8867-4" })
            #expect(heart["valueQuantity"]?["code"]?.text == "/min")
            #expect(heart["valueQuantity"]?["system"]?.text == "http://unitsofmeasure.org")
            let temperature = try #require(all("Observation").first { code($0) == "8310-5" })
            #expect(temperature["valueQuantity"]?["code"]?.text == "Cel")
            #expect(temperature["effectiveDateTime"]?.text?.hasPrefix("2026-") == true)
            // Doses, from the lot's Medication.
            let dispense = try #require(all("MedicationDispense").first)
            #expect(dispense["quantity"]?["code"]?.text == "mg")
            #expect(dispense["performer"]?[0]?["actor"]?["display"]?.text == "Phil Pharmacist")
            #expect(all("Medication").first?["batch"]?["lotNumber"]?.text == "L-9")
            #expect(all("Medication").first?["code"]?["text"]?.text == "MDMA HCl")
            // PHQ-9 as a QuestionnaireResponse with the LOINC items and total.
            let phq9 = try #require(all("QuestionnaireResponse").first)
            #expect(phq9["questionnaire"]?.text == "http://loinc.org/q/44249-1")
            #expect(phq9["item"]?[9]?["linkId"]?.text == "44261-6")
            #expect(phq9["item"]?[9]?["answer"]?[0]?["valueInteger"]?.text == "9")
            // The adverse event: seriousness, severity, the clock, the filed report.
            let event = try #require(all("AdverseEvent").first)
            #expect(event["seriousness"]?["coding"]?[0]?["code"]?.text == "serious")
            #expect(event["severity"]?["coding"]?[0]?["code"]?.text == "severe")
            #expect(text.contains("expedited-report-due") && text.contains("expedited-report-reference"))

            // Every clinical resource has a Provenance whose target is in the bundle; its entity names the log
            // position and leaf hash, and its signatures verify against the stored envelope.
            let ids = Set(resources.compactMap { $0["id"]?.text })
            let provenances = all("Provenance")
            #expect(provenances.count == resources.count - provenances.count - 2, "all but Patient and Medication")
            for provenance in provenances {
                let target = try #require(provenance["target"]?[0]?["reference"]?.text)
                #expect(ids.contains(String(target.dropFirst("urn:uuid:".count))))
                let position = try #require(provenance["entity"]?[0]?["what"]?["identifier"]?["value"]?.text)
                let entry = try #require(entries.first { String($0.position) == position })
                #expect(provenance["entity"]?[0]?["extension"]?[0]?["valueString"]?.text == Hex.encode(entry.leafHash))
                #expect(
                    provenance["entity"]?[0]?["extension"]?[1]?["valueString"]?.text?.hasPrefix("clinic.test/vigil")
                        == true)
                let envelope = try Envelope.decode(entry.envelope)
                let signature = try #require(provenance["signature"]?[0]?["data"]?.text)
                #expect(Base64.decode(signature) == envelope.signatures[0].signature)
                #expect(
                    provenance["signature"]?[0]?["who"]?["identifier"]?["value"]?.text
                        == envelope.signatures[0].keyID.hex)
            }
        }
    }

    @Test func ndjsonHasOneValidResourcePerLine() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let (text, _, count) = try await export(
                Course(keys: keys).verified, keys: keys, selection: .participant(Course.participant), format: .ndjson,
                in: folder)
            #expect(text.split(separator: "\n").count == count)
            #expect(text.contains(#""reference":"Patient/"#), "relative references, for loading into a server")
            let counts = try await validate(text, name: "course.ndjson", in: folder)
            #expect(counts.values.reduce(0, +) == count)
        }
    }

    @Test func edgeCasesValidate() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let now = Timestamp(rfc3339: "2026-06-01T10:00:00Z")!
            let p = "P-0042"
            func event(_ data: EventData, _ time: Timestamp, session: String? = nil) -> VerifiedEvent {
                keys.signed(data, participant: p, session: session, at: time)
            }
            let registrations = keys.verifiedRegistrations(at: now)
            let events =
                registrations + [
                    // No vitals at all; a fatal adverse event entered late (occurred before it was recorded); a C-SSRS
                    // screener with questions 3-5 not asked; a mood score alone.
                    event(
                        .participantEnrolled(
                            ParticipantEnrolled(site: "SITE-9", medications: [], timeZone: "Europe/Oslo")), now),
                    event(
                        .adverseEventReported(
                            AdverseEventReported(
                                aeId: "AE-7", term: "Cardiac arrest", onset: CalendarDate(iso8601: "2026-05-20")!,
                                severity: 5,
                                serious: true, criteria: [.death], expected: false, suspected: true,
                                awareAt: Timestamp(rfc3339: "2026-05-21T08:00:00Z")!)), now.adding(seconds: 60)),
                    event(
                        .adverseEventUpdated(AdverseEventUpdated(aeId: "AE-7", outcome: .fatal)),
                        now.adding(seconds: 120)),
                    event(
                        .moodCheckCompleted(
                            MoodCheckCompleted(day: 1, cssrs: CSSRSAnswers(q1: false, q2: false, q6: false), mood: 6)),
                        now.adding(seconds: 180), session: "P-0042-S1"),
                ]
            let (text, _, _) = try await export(events, keys: keys, selection: .participant(p), in: folder)
            let counts = try await validate(text, name: "edge.json", in: folder)
            #expect(counts["Observation"] == 1, "the mood score only")
            let event = try #require(try resources(of: text).first { $0["resourceType"]?.text == "AdverseEvent" })
            #expect(event["outcome"]?["coding"]?[0]?["code"]?.text == "fatal")
            #expect(text.contains("expedited-report-due") && text.contains("2026-05-28T08:00:00"), "7-day clock")
            // The update is part of the adverse event's provenance.
            let provenance = try #require(
                try resources(of: text).first {
                    $0["resourceType"]?.text == "Provenance"
                        && $0["target"]?[0]?["reference"]?.text == "urn:uuid:" + (event["id"]?.text ?? "")
                })
            #expect(provenance["entity"]?[1] != nil)
        }
    }

    @Test func aBundleOfTenThousandResourcesValidates() async throws {
        try await withTemporaryDirectory { folder in
            let keys = TestKeys()
            let log = await randomLog(keys: keys, count: 15_000)
            let (text, _, count) = try await export(
                log, keys: keys,
                selection: .period(
                    from: Timestamp(microsecondsSinceEpoch: 0), to: Timestamp(rfc3339: "2100-01-01T00:00:00Z")!),
                in: folder)
            #expect(count >= 10_000, "\(count) resources")
            let counts = try await validate(text, name: "random.json", in: folder)
            #expect(counts.values.reduce(0, +) == count)
        }
    }
}

extension JSONValue {
    var text: String? {
        switch self {
        case .string(let text): text
        case .number(let number): number.literal
        default: nil
        }
    }
}
