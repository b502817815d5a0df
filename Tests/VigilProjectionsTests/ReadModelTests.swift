import Foundation
import Logging
import Metrics
import ServiceLifecycle
import Testing
import VigilModel
import VigilProjections
import VigilStore
import VigilTestSupport

/// A store holding the course, and its read models built by the offline rebuild.
func withCourse(_ body: (Course, EventStore, ReadModels, String) async throws -> Void) async throws {
    try await withTemporaryDirectory { folder in
        let course = Course(keys: TestKeys())
        let store = try EventStore.open(
            path: folder + "/vigil.sqlite", anchors: course.keys.anchors, logger: Logger(label: "test"))
        let outcomes = await store.append(course.verified)
        #expect(outcomes.allSatisfy { if case .stored = $0 { true } else { false } }, "\(outcomes)")
        await store.close()
        let viewsPath = folder + "/vigil.projections.sqlite"
        let report = try await ProjectionRebuild.run(storePath: folder + "/vigil.sqlite", projectionsPath: viewsPath)
        #expect(report.undecodable.isEmpty)
        let views = try ProjectionDatabase.open(path: viewsPath)
        let models = ReadModels(database: views)
        try await body(course, store, models, folder)
        try views.close()
    }
}

/// A view in its one JSON encoding, parsed back: the assertions read what a client of the API reads.
func json(_ view: some Encodable) throws -> JSONValue {
    try JSONParser.parse(Array(try ViewCoding.encode(view)))
}

func json(_ view: (some Encodable)?) throws -> JSONValue? {
    try view.map { try json($0) }
}

extension JSONValue {
    var text: String? { if case .string(let text) = self { text } else { nil } }
    var number: String? { if case .number(let number) = self { number.literal } else { nil } }
    var count: Int { if case .array(let items) = self { items.count } else { 0 } }
}

@Suite struct ReadModelTests {
    @Test func inventoryBalancesByHand() async throws {
        try await withCourse { _, _, models, _ in
            let lot = try #require(try json(await models.inventory())["lots"]?[0])
            #expect(lot["lot"]?.text == "L-9")
            #expect(lot["substance"]?.text == "MDMA HCl")
            #expect(lot["receivedMg"]?.number == "10000")
            #expect(lot["dispensedMg"]?.number == "480")
            #expect(lot["wastedMg"]?.number == "2.5")
            #expect(lot["destroyedMg"]?.number == "0")
            #expect(lot["onHandMg"]?.number == "9517.5")
            #expect(lot["lastCount"]?["countedMg"]?.number == "9515")
            #expect(lot["lastCount"]?["expectedMg"]?.number == "9517.5")
            #expect(lot["lastCount"]?["differenceMg"]?.number == "-2.5")
            #expect(lot["lastCount"]?["witnessed"] == .bool(true))
        }
    }

    @Test func sessionsShowDosesRunningTotalsAndVitalPeaks() async throws {
        try await withCourse { course, _, models, _ in
            let first = try #require(try json(await models.session("P-0007-S1")))
            #expect(first["number"]?.number == "1")
            #expect(first["totalDoseMg"]?.number == "120")
            #expect(first["doses"]?[0]?["doseMg"]?.number == "80")
            #expect(first["doses"]?[0]?["runningTotalMg"]?.number == "80")
            #expect(first["doses"]?[0]?["minutesFromInitialDose"]?.number == "0")
            #expect(first["doses"]?[1]?["kind"]?.text == "supplemental")
            #expect(first["doses"]?[1]?["runningTotalMg"]?.number == "120")
            #expect(first["doses"]?[1]?["minutesFromInitialDose"]?.number == "100")
            #expect(first["vitals"]?.count == 2)
            #expect(first["vitals"]?[0]?["minutesFromInitialDose"]?.number == "30")
            #expect(first["peaks"]?["systolic"]?.number == "150")
            #expect(first["peaks"]?["diastolic"]?.number == "95")
            #expect(first["peaks"]?["heartRate"]?.number == "104")
            #expect(first["peaks"]?["temperatureC"]?.number == "37.8")
            #expect(first["initialDoseAt"]?.text == course.start.rfc3339)
            let second = try #require(try json(await models.session("P-0007-S2")))
            #expect(second["totalDoseMg"]?.number == "180")
            #expect(second["doses"]?[1]?["minutesFromInitialDose"]?.number == "95")
            #expect(second["adverseEvents"] == .array([.string("AE-1")]))
            #expect(try await models.session("P-0007-S9") == nil)
        }
    }

    @Test func participantsShowMedicationsVitalsAlertsAndTheFollowUpGrid() async throws {
        try await withCourse { course, _, models, _ in
            // Asked on day 3 after session 1: days 1-2 checked, 3 due, 4-7 upcoming.
            let dayThree = course.start.adding(seconds: 3 * 86_400)
            let participant = try #require(try json(await models.participant(Course.participant, now: dayThree)))
            #expect(participant["site"]?.text == "SITE-01")
            #expect(participant["medications"]?[0]?["name"]?.text == "propranolol")
            #expect(participant["serotonergicActive"] == .bool(false))
            #expect(participant["sessions"] == .array(["P-0007-S1", "P-0007-S2", "P-0007-S3"].map(JSONValue.string)))
            #expect(participant["latestVitals"]?["systolic"]?.number == "128")
            #expect(participant["latestVitals"]?["session"]?.text == "P-0007-S3")
            #expect(participant["openAlerts"] == .array([]), "the course's only alert was resolved")
            let grid = try #require(participant["followUp"]?[0]?["days"])
            let states = (0..<7).compactMap { grid[$0]?["status"]?.text }
            #expect(states == ["checked", "checked", "due", "upcoming", "upcoming", "upcoming", "upcoming"])
            #expect(grid[0]?["date"]?.text == "2026-01-06")
            // Asked at the end of the course: session 1's days 3-7 were missed.
            let later = try #require(
                try json(await models.participant(Course.participant, now: course.start.adding(seconds: 70 * 86_400))))
            let laterStates = (0..<7).compactMap { later["followUp"]?[0]?["days"]?[$0]?["status"]?.text }
            #expect(laterStates == ["checked", "checked", "missing", "missing", "missing", "missing", "missing"])
            #expect(try await models.participant("P-9999", now: dayThree) == nil)
        }
    }

    @Test func theAdverseEventRegisterCarriesTheRegulatoryClock() async throws {
        try await withCourse { course, _, models, _ in
            let all = try json(await models.adverseEvents(openOnly: false))
            let event = try #require(all["adverseEvents"]?[0])
            let dayZero = course.start.adding(seconds: 28 * 86_400 + 480 * 60)
            #expect(event["awareAt"]?.text == dayZero.rfc3339)
            #expect(event["requiresExpeditedReport"] == .bool(true))
            #expect(event["reportDays"]?.number == "15")
            #expect(event["reportDueAt"]?.text == dayZero.adding(seconds: 15 * 86_400).rfc3339)
            #expect(event["submittedAt"]?.text == course.start.adding(seconds: 35 * 86_400).rfc3339)
            #expect(event["open"] == .bool(false))
            #expect(try json(await models.adverseEvents(openOnly: true))["adverseEvents"]?.count == 0)
        }
    }

    @Test func alertsShowWhoActedAndWhen() async throws {
        try await withCourse { course, _, models, _ in
            let resolved = try json(await models.alerts(status: .resolved))
            let alert = try #require(resolved["alerts"]?[0])
            #expect(alert["alertId"]?.text == course.alertId.description)
            #expect(alert["rule"]?.text == "hypertension")
            #expect(alert["status"]?.text == "resolved")
            #expect(alert["acknowledged"]?["name"]?.text == "Sam Safety")
            #expect(alert["acknowledged"]?["note"]?.text == "site called")
            #expect(alert["resolved"]?["at"]?.text == course.start.adding(seconds: 240 * 60).rfc3339)
            #expect(try json(await models.alerts(status: .open))["alerts"]?.count == 0)
            #expect(try json(await models.alerts(status: nil, participant: Course.participant))["alerts"]?.count == 1)
        }
    }
}
