import Testing
import VigilAlerts
import VigilModel
import VigilProjections
import VigilTestSupport

@Suite struct DeadlineTests {
    func summary(_ candidates: [AlertCandidate]) -> [String] {
        candidates.map { "\($0.rule.rawValue):\($0.severity.rawValue):\($0.message.prefix(40))" }.sorted()
    }

    @Test func aFollowUpDayIsMissedAtTheEndOfThatDay() {
        var harness = RuleHarness()
        harness.startSession("P-0100-S1")  // 2026-03-02 09:00 UTC
        harness.apply(.moodCheckCompleted(MoodCheckCompleted(day: 1, mood: 7)), at: harness.at(minutes: 0, days: 1))
        func due(_ text: String) -> [AlertCandidate] {
            harness.due(Timestamp(rfc3339: text)!)
        }
        #expect(due("2026-03-04T23:59:59Z").isEmpty, "day 1 was checked; day 2 is not over yet")
        let missed = due("2026-03-05T00:00:00Z")
        #expect(missed.count == 1)
        #expect(missed.first?.rule == .missedFollowUp && missed.first?.severity == .warn)
        #expect(missed.first?.message.contains("day 2") == true)
        #expect(missed.first?.at == Timestamp(rfc3339: "2026-03-05T00:00:00Z"))
        #expect(due("2026-03-10T00:00:00Z").count == 6, "days 2-7 missed")
        #expect(due("2026-04-01T00:00:00Z").count == 6, "nothing after day 7")
        // The same deadline always gives the same alert.
        #expect(
            due("2026-03-05T00:00:00Z").first?.alertId
                == due("2026-03-09T12:00:00Z").first { $0.message.contains("day 2") }?.alertId)
    }

    @Test func theClinicsMidnightEndsTheDay() {
        var harness = RuleHarness()
        harness.settings.timeZone = CivilZone(utcOffsetMinutes: -300)  // UTC-5
        harness.startSession("P-0100-S1")  // 2026-03-02 04:00 local
        let due = harness.due(Timestamp(rfc3339: "2026-03-04T04:59:59Z")!)
        #expect(due.isEmpty)
        let later = harness.due(Timestamp(rfc3339: "2026-03-04T05:00:00Z")!)
        #expect(later.count == 1)
    }

    func report(_ harness: inout RuleHarness, _ criteria: [SeriousnessCriterion], awareAt: Timestamp) {
        harness.apply(
            .adverseEventReported(
                AdverseEventReported(
                    aeId: "AE-9", term: "Seizure", onset: CalendarDate(iso8601: "2026-03-02")!,
                    severity: criteria.contains(.death) ? 5 : 3,
                    serious: true, criteria: criteria, expected: false, suspected: true, awareAt: awareAt
                )
            ), at: awareAt
        )
    }

    @Test func fifteenDayReportsRemindOnDay12AndAreOverdueOnDay15() {
        var harness = RuleHarness()
        let dayZero = harness.at(minutes: 0)
        report(&harness, [.hospitalization], awareAt: dayZero)
        func due(days: Double) -> [String] {
            summary(harness.due(dayZero.adding(microseconds: Int64(days * 86_400_000_000))))
        }
        #expect(due(days: 11.99).isEmpty)
        #expect(due(days: 12) == ["expedited_report_due:urgent:expedited safety report for AE-9 (Seizur"])
        #expect(due(days: 15) == ["expedited_report_due:critical:expedited safety report for AE-9 (Seizur"])
        harness.apply(
            .adverseEventSubmitted(
                AdverseEventSubmitted(aeId: "AE-9", submittedAt: dayZero.adding(seconds: 86_400 * 14), reference: "R")),
            at: dayZero.adding(seconds: 86_400 * 14))
        #expect(due(days: 20).isEmpty, "submitted: the clock stops")
    }

    @Test func lifeThreateningReportsRunOnASevenDayClock() {
        var harness = RuleHarness()
        let dayZero = harness.at(minutes: 0)
        report(&harness, [.lifeThreatening], awareAt: dayZero)
        let reminder = harness.due(dayZero.adding(seconds: 5 * 86_400))
        #expect(reminder.map(\.severity) == [.urgent])
        let overdue = harness.due(dayZero.adding(seconds: 7 * 86_400))
        #expect(overdue.map(\.severity) == [.critical])
    }

    @Test func aLotWithoutACountForTwoYearsIsOverdue() {
        var harness = RuleHarness()
        let received = harness.at(minutes: 0)
        harness.apply(
            .inventoryReceived(
                InventoryReceived(lot: "L-7", substance: "MDMA HCl", quantity: Milligrams(500), supplier: "Acme")),
            at: received, participant: nil)
        #expect(harness.due(received.adding(seconds: 729 * 86_400)).isEmpty)
        let due = harness.due(received.adding(seconds: 730 * 86_400))
        #expect(due.map(\.rule) == [.inventoryOverdue])
        let counted = received.adding(seconds: 700 * 86_400)
        harness.apply(
            .inventoryCounted(InventoryCounted(lot: "L-7", counted: Milligrams(500))), at: counted, participant: nil,
            witnesses: 1)
        #expect(harness.due(received.adding(seconds: 800 * 86_400)).isEmpty, "counted on day 700")
    }

    /// A participant enrolled in their own zone: each follow-up day ends at their midnight, on the short day the
    /// clocks go forward and on the long day they go back.
    @Test(arguments: [
        // Europe/Oslo springs forward on Sunday 2026-03-29: that day lasts 23 hours.
        ("Europe/Oslo", "2026-03-28T10:00:00+01:00", "2026-03-29T22:00:00Z", "2026-03-30T22:00:00Z"),
        // America/New_York falls back on Sunday 2026-11-01: that day lasts 25 hours.
        ("America/New_York", "2026-10-31T10:00:00-04:00", "2026-11-02T05:00:00Z", "2026-11-03T05:00:00Z"),
    ])
    func followUpDaysEndAtTheParticipantsMidnightAcrossDaylightSaving(
        zone: String, start: String, dayOneEnds: String, dayTwoEnds: String
    ) {
        var harness = RuleHarness()
        let started = Timestamp(rfc3339: start)!
        harness.apply(
            .participantEnrolled(ParticipantEnrolled(site: "SITE-01", medications: [], timeZone: zone)),
            at: started.adding(seconds: -86_400))
        harness.session = "P-0100-S1"
        harness.apply(.sessionStarted(SessionStarted(number: 1)), at: started)
        let dayOne = Timestamp(rfc3339: dayOneEnds)!
        #expect(harness.due(dayOne.adding(microseconds: -1)).isEmpty)
        let missed = harness.due(dayOne)
        #expect(missed.count == 1 && missed.first?.at == dayOne, "day 1 ends at local midnight: \(missed)")
        let dayTwo = Timestamp(rfc3339: dayTwoEnds)!
        #expect(harness.due(dayTwo.adding(microseconds: -1)).count == 1)
        #expect(harness.due(dayTwo).count == 2)
        // The participant view's grid counts the same days in the same zone.
        let view = try! harness.views.database.readBlocking {
            try $0.participantView("P-0100", settings: harness.settings, now: dayOne)
        }
        #expect(view?.timeZone == zone)
        #expect(view?.followUp.first?.days.prefix(2).map(\.status) == [.missing, .due])
    }

    @Test func anEnrolmentTimeZoneMustBeOneTheDatabaseKnows() {
        let context = ValidationContext(limits: .default, now: Fixtures.now())
        let event = Fixtures.payload(
            .participantEnrolled(ParticipantEnrolled(site: "S", medications: [], timeZone: "Mars/Olympus_Mons")),
            participant: "P-1", at: Fixtures.now())
        #expect(throws: FieldError.self) { try EventPayload.decode(event.jsonBytes, context: context) }
        #expect((try? EventPayload.decode(event.jsonBytes, context: .replay)) != nil, "stored events stay readable")
    }
}
