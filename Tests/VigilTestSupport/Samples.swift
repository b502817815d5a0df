package import VigilModel

/// One valid event of every type of catalogue v1, in a plausible order for a course of treatment.
package enum Samples {
    package static func everyType(
        keys: TestKeys, at time: Timestamp = Fixtures.now()
    ) -> [(payload: EventPayload, author: SigningKey, witnesses: [SigningKey])] {
        let day = CalendarDate(daysSinceEpoch: time.microsecondsSinceEpoch / 86_400_000_000)
        let p = "P-0007", s = "P-0007-S1"
        let alert = EventID.v7(at: time)
        func event(_ data: EventData, participant: String? = nil, session: String? = nil) -> EventPayload {
            Fixtures.payload(data, participant: participant, session: session, at: time)
        }
        return [
            (
                event(
                    .keyRegistered(KeyRegistered(publicKey: SigningKey().publicKey, name: "Dr. New", role: .clinician))),
                keys.admin, []
            ),
            (event(.keyRevoked(KeyRevoked(keyID: keys.device.id, reason: "device retired"))), keys.admin, []),
            (
                event(
                    .participantEnrolled(
                        ParticipantEnrolled(
                            site: "SITE-01", medications: [Medication(name: "propranolol", serotonergic: false)])
                    ), participant: p
                ), keys.clinician, []
            ),
            (
                event(
                    .participantMedicationChanged(
                        MedicationChanged(name: "sertraline", serotonergic: true, action: .stopped)), participant: p),
                keys.clinician, []
            ),
            (event(.sessionStarted(SessionStarted(number: 1)), participant: p, session: s), keys.clinician, []),
            (
                event(
                    .inventoryReceived(
                        InventoryReceived(
                            lot: "L-9", substance: "MDMA HCl", quantity: Milligrams(10_000), supplier: "Acme"))),
                keys.pharmacist, []
            ),
            (
                event(
                    .doseDispensed(DoseDispensed(lot: "L-9", dose: Milligrams(120), kind: .initial)), participant: p,
                    session: s), keys.pharmacist, []
            ),
            (
                event(
                    .vitalsRecorded(
                        VitalsRecorded(systolic: 142, diastolic: 88, heartRate: 96, temperatureC: 37.4, spo2: 98)),
                    participant: p, session: s), keys.clinician, []
            ),
            (
                event(
                    .doseDispensed(DoseDispensed(lot: "L-9", dose: Milligrams(60), kind: .supplemental)),
                    participant: p, session: s), keys.pharmacist, []
            ),
            (
                event(
                    .doseWasted(
                        DoseWasted(lot: "L-9", quantity: Milligrams(micrograms: 2_500), reason: "partial capsule")),
                    participant: p), keys.pharmacist, [keys.clinician]
            ),
            (event(.sessionEnded(SessionEnded()), participant: p, session: s), keys.clinician, []),
            (
                event(.inventoryCounted(InventoryCounted(lot: "L-9", counted: Milligrams(micrograms: 9_817_500)))),
                keys.pharmacist, [keys.pharmacist2]
            ),
            (
                event(
                    .inventoryDestroyed(
                        InventoryDestroyed(
                            lot: "L-9", quantity: Milligrams(100), method: "incineration", form41: "F41-2026-003"))),
                keys.pharmacist, [keys.pharmacist2, keys.clinician]
            ),
            (
                event(
                    .inventoryLossReported(
                        InventoryLossReported(
                            lossId: "LOSS-2026-01", lot: "L-9", quantity: Milligrams(40), kind: .theft,
                            discoveredAt: time))),
                keys.pharmacist, [keys.clinician]
            ),
            (
                event(
                    .inventoryLossReportFiled(
                        InventoryLossReportFiled(lossId: "LOSS-2026-01", reference: "DEA-106-0042", filedAt: time))),
                keys.officer, []
            ),
            (
                event(
                    .adverseEventReported(
                        AdverseEventReported(
                            aeId: "AE-1", term: "Hypertension", onset: day, severity: 3, serious: true,
                            criteria: [.hospitalization],
                            expected: false, suspected: true, awareAt: time
                        )
                    ), participant: p
                ), keys.clinician, []
            ),
            (
                event(
                    .adverseEventUpdated(AdverseEventUpdated(aeId: "AE-1", severity: 2, outcome: .recovering)),
                    participant: p), keys.officer, []
            ),
            (
                event(
                    .adverseEventSubmitted(
                        AdverseEventSubmitted(aeId: "AE-1", submittedAt: time, reference: "IND-123-SR-1")),
                    participant: p), keys.officer, []
            ),
            (
                event(
                    .moodCheckCompleted(
                        MoodCheckCompleted(
                            day: 2, phq9: [1, 1, 0, 2, 1, 0, 0, 1, 0],
                            cssrs: CSSRSAnswers(q1: false, q2: false, q6: false), mood: 6)
                    ), participant: p, session: s
                ), keys.clinician, []
            ),
            (
                event(
                    .alertRaised(
                        AlertRaised(
                            alertId: alert, rule: .hypertension, severity: .urgent, participant: p,
                            causes: [EventID.v7(at: time)], message: "BP above threshold")
                    ), participant: p
                ), keys.daemon, []
            ),
            (event(.alertAcknowledged(AlertAcknowledged(alertId: alert, note: "called the site"))), keys.officer, []),
            (event(.alertResolved(AlertResolved(alertId: alert, note: "BP back to baseline"))), keys.officer, []),
        ]
    }
}
