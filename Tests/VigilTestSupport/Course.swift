package import VigilModel
package import VigilStore

/// A realistic course of treatment for one participant, with values worked out by hand in the comments, so
/// read models can be checked against arithmetic rather than against themselves.
///
/// - Lot L-9: 10,000 mg received. Dispensed 80 + 40 (session 1), 120 + 60 (session 2), 120 + 60 (session 3) =
///   480 mg. Wasted 2.5 mg (witnessed). On hand 10,000 − 480 − 2.5 = 9,517.5 mg. Counted 9,515 mg after
///   session 3: difference −2.5 mg.
/// - Session 1 (day 0): initial 80 mg at 10:00, supplemental 40 mg at 11:40 (100 min), running totals 80, 120;
///   vitals at 10:30 (142/88, 96/min, 37.4 C) and 12:00 (150/95, 104/min, 37.8 C): peaks 150/95, 104, 37.8.
///   Mood checks on days 1 and 2 (PHQ-9 total 9, then 4).
/// - Session 2 (day 28): 120 mg at 10:00 + 60 mg at 11:35 (95 min): total 180 mg.
/// - Session 3 (day 56): 120 + 60 mg; vitals 128/82 at 10:45: the latest vitals.
/// - Adverse event AE-1 (day 28): serious (hospitalization), unexpected, suspected: expedited report due 15
///   days after Day 0 (awareAt, day 28 at 18:00); submitted on day 35.
/// - One alert (hypertension, from the 12:00 reading of session 1), acknowledged then resolved by the officer.
package struct Course: Sendable {
    package let keys: TestKeys
    /// 10:00 UTC on the day of session 1.
    package let start: Timestamp
    package let alertId: EventID
    package let events: [(payload: EventPayload, author: SigningKey, witnesses: [SigningKey])]

    package static let participant = "P-0007"

    package init(keys: TestKeys, start: Timestamp = Timestamp(rfc3339: "2026-01-05T10:00:00Z")!) {
        self.keys = keys
        self.start = start
        let p = Course.participant
        func at(day: Int, minutes: Int) -> Timestamp { start.adding(seconds: Int64(day * 86_400 + minutes * 60)) }
        func event(
            _ data: EventData, _ time: Timestamp, session: String? = nil, participant: String? = p
        ) -> EventPayload {
            Fixtures.payload(data, participant: participant, session: session, at: time)
        }
        func dose(_ mg: Int, _ kind: DoseKind) -> EventData {
            .doseDispensed(DoseDispensed(lot: "L-9", dose: Milligrams(mg), kind: kind))
        }
        func vitals(_ s: Double, _ d: Double, _ hr: Double, _ t: Double) -> EventData {
            .vitalsRecorded(VitalsRecorded(systolic: s, diastolic: d, heartRate: hr, temperatureC: t))
        }
        let alertId = EventID.v7(at: start)
        self.alertId = alertId
        var events: [(EventPayload, SigningKey, [SigningKey])] = []
        events.append(
            (
                event(
                    .inventoryReceived(
                        InventoryReceived(
                            lot: "L-9", substance: "MDMA HCl", quantity: Milligrams(10_000), supplier: "Acme Pharma")),
                    at(day: -7, minutes: 0), participant: nil),
                keys.pharmacist, []
            )
        )
        events.append(
            (
                event(
                    .participantEnrolled(
                        ParticipantEnrolled(
                            site: "SITE-01", medications: [Medication(name: "propranolol", serotonergic: false)])),
                    at(day: -14, minutes: 0)),
                keys.clinician, []
            )
        )
        for (number, day) in [(1, 0), (2, 28), (3, 56)] {
            let s = "\(p)-S\(number)"
            events.append(
                (
                    event(.sessionStarted(SessionStarted(number: number)), at(day: day, minutes: -30), session: s),
                    keys.clinician, []
                ))
            let (initial, supplemental, gap) = number == 1 ? (80, 40, 100) : (120, 60, number == 2 ? 95 : 100)
            events.append((event(dose(initial, .initial), at(day: day, minutes: 0), session: s), keys.pharmacist, []))
            if number == 1 {
                events.append(
                    (event(vitals(142, 88, 96, 37.4), at(day: day, minutes: 30), session: s), keys.device, []))
            }
            events.append(
                (event(dose(supplemental, .supplemental), at(day: day, minutes: gap), session: s), keys.pharmacist, []))
            if number == 1 {
                let high = event(vitals(150, 95, 104, 37.8), at(day: day, minutes: 120), session: s)
                events.append((high, keys.device, []))
                events.append(
                    (
                        event(
                            .alertRaised(
                                AlertRaised(
                                    alertId: alertId, rule: .hypertension, severity: .warn, participant: p,
                                    causes: [high.id], message: "BP 150/95")),
                            at(day: day, minutes: 120)
                        ), keys.daemon, []
                    )
                )
                events.append(
                    (
                        event(
                            .alertAcknowledged(AlertAcknowledged(alertId: alertId, note: "site called")),
                            at(day: day, minutes: 125), participant: nil), keys.officer, []
                    ))
                events.append(
                    (
                        event(
                            .alertResolved(AlertResolved(alertId: alertId, note: "BP normal at 14:00")),
                            at(day: day, minutes: 240), participant: nil), keys.officer, []
                    ))
                events.append(
                    (
                        event(
                            .doseWasted(
                                DoseWasted(
                                    lot: "L-9", quantity: Milligrams(micrograms: 2_500), reason: "capsule residue")),
                            at(day: day, minutes: 130)), keys.pharmacist, [keys.clinician]
                    )
                )
            }
            if number == 3 {
                events.append(
                    (event(vitals(128, 82, 78, 36.9), at(day: day, minutes: 45), session: s), keys.clinician, []))
            }
            events.append(
                (event(.sessionEnded(SessionEnded()), at(day: day, minutes: 420), session: s), keys.clinician, []))
            if number == 1 {
                events.append(
                    (
                        event(
                            .moodCheckCompleted(MoodCheckCompleted(day: 1, phq9: [1, 1, 1, 2, 1, 1, 1, 1, 0])),
                            at(day: 1, minutes: 0), session: s), keys.clinician, []
                    ))
                events.append(
                    (
                        event(
                            .moodCheckCompleted(MoodCheckCompleted(day: 2, phq9: [1, 1, 0, 1, 0, 0, 1, 0, 0])),
                            at(day: 2, minutes: 0), session: s), keys.clinician, []
                    ))
            }
            if number == 2 {
                let awareAt = at(day: 28, minutes: 480)
                events.append(
                    (
                        event(
                            .adverseEventReported(
                                AdverseEventReported(
                                    aeId: "AE-1", term: "Hypertensive urgency",
                                    onset: CalendarDate(
                                        daysSinceEpoch: awareAt.microsecondsSinceEpoch / 86_400_000_000),
                                    severity: 3, serious: true, criteria: [.hospitalization], expected: false,
                                    suspected: true, awareAt: awareAt
                                )
                            ), awareAt, session: s
                        ), keys.clinician, []
                    )
                )
                events.append(
                    (
                        event(
                            .adverseEventSubmitted(
                                AdverseEventSubmitted(
                                    aeId: "AE-1", submittedAt: at(day: 35, minutes: 0), reference: "IND-1-SR-1")),
                            at(day: 35, minutes: 0)), keys.officer, []
                    ))
            }
        }
        events.append(
            (
                event(
                    .inventoryCounted(InventoryCounted(lot: "L-9", counted: Milligrams(9_515))),
                    at(day: 57, minutes: 0), participant: nil), keys.pharmacist, [keys.pharmacist2]
            ))
        self.events = events.map { (payload: $0.0, author: $0.1, witnesses: $0.2) }
    }

    /// The events ready for the store, after the cast's registrations.
    package var verified: [VerifiedEvent] {
        keys.registrable.map {
            Fixtures.verified(
                Fixtures.registration(
                    of: $0.key, role: $0.role, name: $0.name, at: start.adding(seconds: -30 * 86_400)), by: keys.admin)
        }
            + events.map { Fixtures.verified($0.payload, by: $0.author, witnesses: $0.witnesses) }
    }
}
