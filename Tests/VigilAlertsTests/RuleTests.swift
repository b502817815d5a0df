import Foundation
import Testing
import VigilAlerts
import VigilModel
import VigilProjections
import VigilTestSupport

/// Read models in a real SQLite file of their own, removed with the harness.
final class HarnessViews: Sendable {
    let folder: String
    let database: ProjectionDatabase

    init() {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-rules-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        database = try! ProjectionDatabase.open(path: folder + "/views.sqlite")
    }

    deinit {
        try? database.close()
        try? FileManager.default.removeItem(atPath: folder)
    }
}

/// Applies events to the read models on disk and evaluates the rules on each, as the engine does: in one
/// transaction per event, the rules reading the views just after it.
struct RuleHarness {
    let views = HarnessViews()
    var settings = RuleSettings()
    var position: Int64 = 0
    let start = Timestamp(rfc3339: "2026-03-02T09:00:00Z")!
    let participant = "P-0100"
    var session = "P-0100-S1"

    func at(minutes: Double, days: Double = 0) -> Timestamp {
        start.adding(microseconds: Int64((days * 1440 + minutes) * 60_000_000))
    }

    /// Applies one event (with this many witness signatures) and returns what the rules raise for it.
    @discardableResult
    mutating func apply(
        _ data: EventData, at time: Timestamp, session: String? = nil, participant: String? = nil, witnesses: Int = 0
    ) -> [AlertCandidate] {
        let payload = EventPayload(
            id: .v7(at: time), occurredAt: time, participant: participant ?? self.participant,
            session: data.type.requiresSession || session != nil ? (session ?? self.session) : nil, data: data
        )
        position += 1
        let event = StoredEvent(
            position: position, recordedAt: time, signers: (0...witnesses).map { _ in SigningKey().id },
            payload: payload)
        return try! views.database.writeBlocking(settings: settings) { views in
            try views.apply(event)
            return try Rules.evaluate(event, views: views.tables, settings: settings)
        }
    }

    /// The deadlines that have passed at `now`, as the scheduler would raise them.
    func due(_ now: Timestamp) -> [AlertCandidate] {
        try! views.database.readBlocking { try Deadlines.due(views: $0, now: now, settings: settings) }
    }

    mutating func startSession(_ id: String, number: Int = 1, day: Double = 0) {
        session = id
        apply(.sessionStarted(SessionStarted(number: number)), at: at(minutes: 0, days: day))
    }

    /// Whether lot L-1 has a receipt on record; the first dose receives stock when it has none.
    var stocked = false

    mutating func receive(_ mg: Int, at time: Timestamp) {
        apply(
            .inventoryReceived(
                InventoryReceived(lot: "L-1", substance: "MDMA HCl", quantity: Milligrams(mg), supplier: "Acme")),
            at: time, participant: nil)
        stocked = true
    }

    mutating func dose(_ mg: Double, _ kind: DoseKind, minutes: Double, day: Double = 0) -> [AlertCandidate] {
        if !stocked { receive(100_000, at: at(minutes: -1, days: -1)) }
        return apply(
            .doseDispensed(DoseDispensed(lot: "L-1", dose: Milligrams(micrograms: Int64(mg * 1000)), kind: kind)),
            at: at(minutes: minutes, days: day))
    }

    mutating func vitals(
        systolic: Double? = nil, diastolic: Double? = nil, heartRate: Double? = nil, temperature: Double? = nil,
        minutes: Double
    ) -> [AlertCandidate] {
        apply(
            .vitalsRecorded(
                VitalsRecorded(
                    systolic: systolic, diastolic: diastolic, heartRate: heartRate, temperatureC: temperature)),
            at: at(minutes: minutes))
    }
}

func summary(_ candidates: [AlertCandidate]) -> [String] {
    candidates.map { "\($0.rule.rawValue):\($0.severity.rawValue)" }
}

@Suite struct VitalSignRuleTests {
    @Test(
        arguments: [
            (159.0, 99.0, [String]()), (160.0, 99.0, ["hypertension:urgent"]), (159.0, 100.0, ["hypertension:urgent"]),
            (185.0, 110.0, ["hypertension:urgent"]),
        ] as [(Double, Double, [String])])
    func hypertensionAfterTheFirstDose(systolic: Double, diastolic: Double, expected: [String]) {
        var harness = RuleHarness()
        harness.startSession("P-0100-S1")
        _ = harness.dose(120, .initial, minutes: 10)
        #expect(summary(harness.vitals(systolic: systolic, diastolic: diastolic, minutes: 40)) == expected)
    }

    @Test func beforeTheFirstDose140Over90CallsForCaution() {
        var harness = RuleHarness()
        harness.startSession("P-0100-S1")
        #expect(summary(harness.vitals(systolic: 139, diastolic: 89, minutes: 5)).isEmpty)
        #expect(summary(harness.vitals(systolic: 140, diastolic: 85, minutes: 6)) == ["hypertension:warn"])
        #expect(summary(harness.vitals(systolic: 130, diastolic: 90, minutes: 7)) == ["hypertension:warn"])
        _ = harness.dose(120, .initial, minutes: 10)
        #expect(
            summary(harness.vitals(systolic: 150, diastolic: 95, minutes: 40)).isEmpty,
            "after dosing 150/95 is expected")
    }

    @Test(
        arguments: [
            (100.0, [String]()), (101.0, ["tachycardia:warn"]), (120.0, ["tachycardia:warn"]),
            (121.0, ["tachycardia:urgent"]),
        ] as [(Double, [String])])
    func tachycardia(rate: Double, expected: [String]) {
        var harness = RuleHarness()
        harness.startSession("P-0100-S1")
        #expect(summary(harness.vitals(heartRate: rate, minutes: 30)) == expected)
    }

    @Test func threeFastReadingsInASessionAreUrgent() {
        var harness = RuleHarness()
        harness.startSession("P-0100-S1")
        #expect(summary(harness.vitals(heartRate: 105, minutes: 30)) == ["tachycardia:warn"])
        #expect(summary(harness.vitals(heartRate: 99, minutes: 40)).isEmpty)
        #expect(summary(harness.vitals(heartRate: 108, minutes: 50)) == ["tachycardia:warn"])
        #expect(summary(harness.vitals(heartRate: 102, minutes: 60)) == ["tachycardia:urgent"])
    }

    @Test(
        arguments: [
            (37.9, [String]()), (38.0, ["temperature:warn"]), (39.0, ["temperature:warn"]),
            (39.1, ["temperature:urgent"]),
            (40.0, ["temperature:urgent"]), (40.1, ["temperature:critical"]),
        ] as [(Double, [String])])
    func temperature(celsius: Double, expected: [String]) {
        var harness = RuleHarness()
        harness.startSession("P-0100-S1")
        #expect(summary(harness.vitals(temperature: celsius, minutes: 30)) == expected)
    }

    @Test func thresholdsComeFromTheSettings() {
        var harness = RuleHarness()
        harness.settings.hypertensionSystolic = 150
        harness.startSession("P-0100-S1")
        _ = harness.dose(120, .initial, minutes: 10)
        #expect(summary(harness.vitals(systolic: 150, diastolic: 80, minutes: 40)) == ["hypertension:urgent"])
    }
}

@Suite struct DoseRuleTests {
    @Test func theRegimenItself() {
        var harness = RuleHarness()
        harness.startSession("P-0100-S1")
        #expect(summary(harness.dose(80, .initial, minutes: 0)).isEmpty)
        #expect(summary(harness.dose(40, .supplemental, minutes: 100)).isEmpty)
        harness.startSession("P-0100-S2", number: 2, day: 28)
        #expect(summary(harness.dose(120, .initial, minutes: 0, day: 28)).isEmpty)
        #expect(
            summary(harness.dose(60, .supplemental, minutes: 150, day: 28)).isEmpty,
            "150 min is inside the window; 180 mg total is allowed")
    }

    @Test func dosesOutsideTheRegimen() {
        var harness = RuleHarness()
        harness.startSession("P-0100-S1")
        #expect(summary(harness.dose(100, .initial, minutes: 0)) == ["dose_regimen:warn"])
        #expect(
            summary(harness.dose(60, .supplemental, minutes: 120)) == ["dose_regimen:warn"], "60 is not half of 100")
        var second = RuleHarness()
        second.startSession("P-0100-S1")
        #expect(summary(second.dose(40, .supplemental, minutes: 0)) == ["dose_regimen:warn"], "no initial dose")
        var third = RuleHarness()
        third.startSession("P-0100-S1")
        _ = third.dose(120, .initial, minutes: 0)
        #expect(
            summary(third.dose(61, .supplemental, minutes: 120)) == ["dose_regimen:warn", "dose_regimen:urgent"],
            "not half, and 181 mg in total")
    }

    @Test(arguments: [(89.0, true), (90.0, false), (150.0, false), (151.0, true)] as [(Double, Bool)])
    func supplementalTiming(minutes: Double, fires: Bool) {
        var harness = RuleHarness()
        harness.startSession("P-0100-S1")
        _ = harness.dose(120, .initial, minutes: 0)
        #expect(
            summary(harness.dose(60, .supplemental, minutes: minutes)) == (fires ? ["supplemental_timing:warn"] : []))
    }

    @Test func aThirdAdministrationAndAFourthSession() {
        var harness = RuleHarness()
        harness.startSession("P-0100-S1")
        _ = harness.dose(80, .initial, minutes: 0)
        _ = harness.dose(40, .supplemental, minutes: 100)
        #expect(summary(harness.dose(40, .supplemental, minutes: 140)).contains("dose_count:urgent"))
        for number in 2...3 { harness.startSession("P-0100-S\(number)", number: number, day: Double(number - 1) * 28) }
        let fourth = harness.apply(
            .sessionStarted(SessionStarted(number: 4)), at: harness.at(minutes: 0, days: 84), session: "P-0100-S4")
        #expect(summary(fourth) == ["dose_count:warn"])
    }

    @Test(arguments: [(20.9, true), (21.0, false)] as [(Double, Bool)])
    func sessionSpacing(days: Double, fires: Bool) {
        var harness = RuleHarness()
        harness.startSession("P-0100-S1")
        let second = harness.apply(
            .sessionStarted(SessionStarted(number: 2)), at: harness.at(minutes: 0, days: days), session: "P-0100-S2")
        #expect(summary(second) == (fires ? ["session_spacing:warn"] : []))
    }

    @Test func dosingOnASerotonergicDrugIsCritical() {
        var harness = RuleHarness()
        harness.apply(
            .participantEnrolled(
                ParticipantEnrolled(site: "S1", medications: [Medication(name: "sertraline", serotonergic: true)])),
            at: harness.at(minutes: -10_000))
        harness.startSession("P-0100-S1")
        let fired = harness.dose(80, .initial, minutes: 0)
        #expect(summary(fired) == ["serotonergic_comedication:critical"])
        #expect(fired.first?.message.contains("sertraline") == true)
        harness.apply(
            .participantMedicationChanged(MedicationChanged(name: "sertraline", serotonergic: true, action: .stopped)),
            at: harness.at(minutes: -5000, days: 28))
        harness.startSession("P-0100-S2", number: 2, day: 28)
        #expect(summary(harness.dose(80, .initial, minutes: 0, day: 28)).isEmpty)
    }
}

@Suite struct ClinicalRuleTests {
    @Test func seriousAdverseEventsAreCritical() {
        var harness = RuleHarness()
        func report(_ id: String, serious: Bool) -> [AlertCandidate] {
            harness.apply(
                .adverseEventReported(
                    AdverseEventReported(
                        aeId: id, term: "Syncope", onset: CalendarDate(iso8601: "2026-03-02")!,
                        severity: serious ? 3 : 1, serious: serious,
                        criteria: serious ? [.hospitalization] : [], expected: false, suspected: true,
                        awareAt: harness.at(minutes: 60)
                    )
                ), at: harness.at(minutes: 60)
            )
        }
        #expect(summary(report("AE-1", serious: false)).isEmpty)
        let fired = report("AE-2", serious: true)
        #expect(summary(fired) == ["serious_adverse_event:critical"])
        #expect(fired.first?.message.contains("due in 15 days") == true)
    }

    @Test func cssrsAnswers() {
        var harness = RuleHarness()
        harness.startSession("P-0100-S1")
        func check(_ answers: CSSRSAnswers) -> [String] {
            summary(
                harness.apply(
                    .moodCheckCompleted(MoodCheckCompleted(day: 1, cssrs: answers)), at: harness.at(minutes: 0, days: 1)
                ))
        }
        #expect(check(CSSRSAnswers(q1: true, q2: true, q3: true, q4: false, q5: false, q6: false)).isEmpty)
        #expect(
            check(CSSRSAnswers(q1: true, q2: true, q3: true, q4: true, q5: false, q6: false)) == [
                "cssrs_high_risk:critical"
            ])
        #expect(
            check(CSSRSAnswers(q1: false, q2: true, q3: false, q4: false, q5: true, q6: false)) == [
                "cssrs_high_risk:critical"
            ])
        #expect(check(CSSRSAnswers(q1: false, q2: false, q6: true)) == ["cssrs_high_risk:critical"])
    }

    @Test func phq9Scores() {
        var harness = RuleHarness()
        harness.startSession("P-0100-S1")
        func check(_ answers: [Int]) -> [String] {
            summary(
                harness.apply(
                    .moodCheckCompleted(MoodCheckCompleted(day: 2, phq9: answers)), at: harness.at(minutes: 0, days: 2))
            )
        }
        #expect(check([2, 2, 2, 2, 2, 2, 2, 0, 0]).isEmpty, "14 points")
        #expect(check([2, 2, 2, 2, 2, 2, 2, 1, 0]) == ["phq9:warn"], "15 points")
        #expect(check([0, 0, 0, 0, 0, 0, 0, 0, 1]) == ["phq9:urgent"], "item 9")
    }

    @Test func lowMoodAgainstTheBaseline() {
        var harness = RuleHarness()
        harness.startSession("P-0100-S1")
        harness.apply(.moodCheckCompleted(MoodCheckCompleted(day: 0, mood: 8)), at: harness.at(minutes: 300))
        func mood(_ value: Int, day: Int) -> [String] {
            summary(
                harness.apply(
                    .moodCheckCompleted(MoodCheckCompleted(day: day, mood: value)),
                    at: harness.at(minutes: 0, days: Double(day))))
        }
        #expect(mood(6, day: 1).isEmpty)
        #expect(mood(5, day: 2) == ["low_mood:warn"])
        #expect(mood(2, day: 4).isEmpty, "day 4 is outside the window")
    }
}

@Suite struct CustodyRuleTests {
    @Test func countsAgainstThePerpetualBalance() {
        var harness = RuleHarness()
        harness.receive(1000, at: harness.at(minutes: 0))
        harness.startSession("P-0100-S1")
        _ = harness.dose(120, .initial, minutes: 10)
        let exact = harness.apply(
            .inventoryCounted(InventoryCounted(lot: "L-1", counted: Milligrams(880))), at: harness.at(minutes: 60),
            witnesses: 1)
        #expect(summary(exact).isEmpty)
        let short = harness.apply(
            .inventoryCounted(InventoryCounted(lot: "L-1", counted: Milligrams(micrograms: 879_999))),
            at: harness.at(minutes: 70), witnesses: 1)
        #expect(summary(short) == ["count_discrepancy:urgent"])
    }

    @Test func witnessesThatAreMissing() {
        var harness = RuleHarness()
        harness.receive(1000, at: harness.at(minutes: 0))
        let waste = EventData.doseWasted(DoseWasted(lot: "L-1", quantity: Milligrams(2), reason: "spilled"))
        #expect(summary(harness.apply(waste, at: harness.at(minutes: 1))) == ["missing_witness:urgent"])
        #expect(summary(harness.apply(waste, at: harness.at(minutes: 2), witnesses: 1)).isEmpty)
        let destruction = EventData.inventoryDestroyed(
            InventoryDestroyed(lot: "L-1", quantity: Milligrams(10), method: "incineration", form41: "F41"))
        #expect(
            summary(harness.apply(destruction, at: harness.at(minutes: 3), participant: nil, witnesses: 1)) == [
                "missing_witness:urgent"
            ])
        #expect(summary(harness.apply(destruction, at: harness.at(minutes: 4), participant: nil, witnesses: 2)).isEmpty)
    }

    @Test func aDispenseWitnessIsRequiredOnlyWhereThePolicySaysSo() {
        var harness = RuleHarness()
        harness.startSession("P-0100-S1")
        #expect(summary(harness.dose(120, .initial, minutes: 0)).isEmpty, "no witness, none required")
        harness.settings.dispenseWitnessRequired = true
        harness.startSession("P-0100-S2", number: 2, day: 28)
        #expect(summary(harness.dose(120, .initial, minutes: 0, day: 28)) == ["missing_witness:urgent"])
        let witnessed = harness.apply(
            .doseDispensed(DoseDispensed(lot: "L-1", dose: Milligrams(60), kind: .supplemental)),
            at: harness.at(minutes: 100, days: 28), witnesses: 1)
        #expect(summary(witnessed).isEmpty)
    }

    @Test func stockThatGoesNegativeIsCriticalAndNamesTheShortfall() {
        var harness = RuleHarness()
        harness.receive(100, at: harness.at(minutes: 0))
        harness.startSession("P-0100-S1")
        let first = harness.dose(80, .initial, minutes: 10)
        #expect(summary(first).isEmpty)
        let beyond = harness.dose(40, .supplemental, minutes: 100)
        #expect(summary(beyond) == ["inventory_negative:critical"])
        #expect(beyond[0].message.contains("exceeds its perpetual balance of 20 mg by 20 mg"))
        #expect(beyond[0].message.contains("the balance is now -20 mg"))
        let unknown = harness.apply(
            .doseWasted(DoseWasted(lot: "L-404", quantity: Milligrams(5), reason: "spilled")),
            at: harness.at(minutes: 120), witnesses: 1)
        #expect(summary(unknown) == ["inventory_negative:critical"])
        #expect(unknown[0].message.contains("names lot L-404, which has no receipt on record"))
        let lot = try! harness.views.database.readBlocking { try $0.lot("L-1") }
        #expect(lot?.onHandMg == Milligrams(-20), "the dispense is stored and counted all the same")
    }

    @Test func aLossOnAFridayIsDueOnMondayUntilTheReferenceIsFiled() {
        var harness = RuleHarness()
        harness.settings.timeZone = CivilZone(identifier: "America/New_York")!
        harness.receive(1000, at: harness.at(minutes: 0))
        // Friday 2026-03-06, 16:30 in New York.
        let discovered = Timestamp(rfc3339: "2026-03-06T16:30:00-05:00")!
        let report = harness.apply(
            .inventoryLossReported(
                InventoryLossReported(
                    lossId: "LOSS-1", lot: "L-1", quantity: Milligrams(50), kind: .theft, discoveredAt: discovered)),
            at: discovered, participant: nil, witnesses: 1)
        #expect(summary(report) == ["loss_report_due:urgent"])
        #expect(report[0].message.contains("by 2026-03-10T04:00:00.000000Z"), "the end of Monday in New York")
        #expect(summary(harness.due(Timestamp(rfc3339: "2026-03-09T23:59:00-04:00")!)).isEmpty)
        let overdue = harness.due(Timestamp(rfc3339: "2026-03-10T00:00:00-04:00")!)
        #expect(summary(overdue) == ["loss_report_due:critical"])
        harness.apply(
            .inventoryLossReportFiled(
                InventoryLossReportFiled(
                    lossId: "LOSS-1", reference: "DEA-106-0042",
                    filedAt: Timestamp(rfc3339: "2026-03-09T10:00:00-04:00")!)),
            at: Timestamp(rfc3339: "2026-03-09T10:00:00-04:00")!, participant: nil)
        #expect(summary(harness.due(Timestamp(rfc3339: "2026-03-20T00:00:00Z")!)).isEmpty, "the reference clears it")
        let lot = try! harness.views.database.readBlocking { try $0.lot("L-1") }
        #expect(lot?.lostMg == Milligrams(50) && lot?.onHandMg == Milligrams(950))
    }

    @Test func businessDaysSkipTheWeekend() {
        let oslo = CivilZone(identifier: "Europe/Oslo")!
        let wednesday = Timestamp(rfc3339: "2026-03-04T09:00:00+01:00")!
        #expect(oslo.endOfNextBusinessDay(after: wednesday) == Timestamp(rfc3339: "2026-03-06T00:00:00+01:00")!)
        let saturday = Timestamp(rfc3339: "2026-03-07T09:00:00+01:00")!
        #expect(oslo.endOfNextBusinessDay(after: saturday) == Timestamp(rfc3339: "2026-03-10T00:00:00+01:00")!)
    }
}
