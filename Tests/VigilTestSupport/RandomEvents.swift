package import VigilModel

/// Random valid events of every catalogue type, from any random number generator.
///
/// Values cover each field's whole accepted range (and the optional fields' absence), so a round trip
/// through JSON exercises the decoder and the encoder on more than the happy path.
package enum RandomEvents {
    package static func payload(using rng: inout some RandomNumberGenerator, now: Timestamp) -> EventPayload {
        let type = EventType.allCases.randomElement(using: &rng)!
        let time = Timestamp(
            microsecondsSinceEpoch: now.microsecondsSinceEpoch
                - Int64.random(in: 0...(400 * 86_400_000_000), using: &rng))
        let participant = code("P-", using: &rng)
        let session = participant + "-S" + String(Int.random(in: 1...9, using: &rng))
        let data = self.data(type, time: time, using: &rng)
        let needsParticipant = type.requiresParticipant || Bool.random(using: &rng)
        let needsSession = type.requiresSession || (needsParticipant && Bool.random(using: &rng))
        return EventPayload(
            id: EventID(high: rng.next(), low: rng.next()), occurredAt: time,
            participant: needsParticipant ? participant : nil, session: needsSession ? session : nil, data: data
        )
    }

    static func code(_ prefix: String, using rng: inout some RandomNumberGenerator) -> String {
        let characters = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789-_./")
        let length = Int.random(in: 1...20, using: &rng)
        return prefix + String((0..<length).map { _ in characters.randomElement(using: &rng)! })
    }

    static func text(using rng: inout some RandomNumberGenerator, maxLength: Int = 60) -> String {
        // Letters, accents, symbols, an emoji, quotes and a backslash: whatever JSON must escape or carry as UTF-8.
        let characters = Array("abc XYZ éüß 中文 🧪 \"quoted\" back\\slash\ttab\nline 0123")
        let length = Int.random(in: 1...maxLength, using: &rng)
        let text = String((0..<length).map { _ in characters.randomElement(using: &rng)! })
        return text.contains(where: { !$0.isWhitespace }) ? text : "x" + text
    }

    static func milligrams(_ range: ClosedRange<Int64>, using rng: inout some RandomNumberGenerator) -> Milligrams {
        Milligrams(micrograms: Int64.random(in: range, using: &rng))
    }

    /// Half the time nil, otherwise `make`'s value.
    static func maybe<T, R: RandomNumberGenerator>(_ rng: inout R, _ make: (inout R) -> T) -> T? {
        Bool.random(using: &rng) ? make(&rng) : nil
    }

    static func reading(_ range: ClosedRange<Double>, using rng: inout some RandomNumberGenerator) -> Double {
        // Readings as devices send them: whole numbers or one decimal.
        (Double.random(in: range, using: &rng) * 10).rounded(.down) / 10
    }

    static func data(_ type: EventType, time: Timestamp, using rng: inout some RandomNumberGenerator) -> EventData {
        switch type {
        case .keyRegistered:
            return .keyRegistered(
                KeyRegistered(
                    publicKey: SigningKey().publicKey, name: text(using: &rng),
                    role: Role.registrable.randomElement(using: &rng)!
                )
            )
        case .keyRevoked:
            return .keyRevoked(KeyRevoked(keyID: SigningKey().id, reason: text(using: &rng)))
        case .participantEnrolled:
            let count = Int.random(in: 0...4, using: &rng)
            var medications: [Medication] = []
            for _ in 0..<count {
                medications.append(Medication(name: text(using: &rng), serotonergic: Bool.random(using: &rng)))
            }
            return .participantEnrolled(
                ParticipantEnrolled(site: text(using: &rng, maxLength: 20), medications: medications))
        case .participantMedicationChanged:
            return .participantMedicationChanged(
                MedicationChanged(
                    name: text(using: &rng), serotonergic: Bool.random(using: &rng),
                    action: MedicationAction.allCases.randomElement(using: &rng)!
                )
            )
        case .sessionStarted:
            return .sessionStarted(
                SessionStarted(number: Int.random(in: ValidationLimits.sessionNumberRange, using: &rng)))
        case .sessionEnded:
            return .sessionEnded(SessionEnded())
        case .inventoryReceived:
            return .inventoryReceived(
                InventoryReceived(
                    lot: code("L-", using: &rng), substance: text(using: &rng, maxLength: 30),
                    quantity: milligrams(1...1_000_000_000, using: &rng), supplier: text(using: &rng)
                )
            )
        case .doseDispensed:
            return .doseDispensed(
                DoseDispensed(
                    lot: code("L-", using: &rng), dose: milligrams(1...250_000, using: &rng),
                    kind: DoseKind.allCases.randomElement(using: &rng)!
                )
            )
        case .doseWasted:
            return .doseWasted(
                DoseWasted(
                    lot: code("L-", using: &rng), quantity: milligrams(1...500_000, using: &rng),
                    reason: text(using: &rng)))
        case .inventoryDestroyed:
            return .inventoryDestroyed(
                InventoryDestroyed(
                    lot: code("L-", using: &rng), quantity: milligrams(1...5_000_000, using: &rng),
                    method: text(using: &rng),
                    form41: code("F41-", using: &rng)
                )
            )
        case .inventoryCounted:
            return .inventoryCounted(
                InventoryCounted(lot: code("L-", using: &rng), counted: milligrams(0...1_000_000_000, using: &rng)))
        case .inventoryLossReported:
            return .inventoryLossReported(
                InventoryLossReported(
                    lossId: code("LOSS-", using: &rng), lot: code("L-", using: &rng),
                    quantity: milligrams(1...5_000_000, using: &rng),
                    kind: LossKind.allCases.randomElement(using: &rng)!,
                    discoveredAt: time))
        case .inventoryLossReportFiled:
            return .inventoryLossReportFiled(
                InventoryLossReportFiled(
                    lossId: code("LOSS-", using: &rng), reference: text(using: &rng), filedAt: time))
        case .vitalsRecorded:
            var vitals = VitalsRecorded(
                systolic: maybe(&rng) { reading(100...300, using: &$0) },
                diastolic: maybe(&rng) { reading(20...99, using: &$0) },
                heartRate: maybe(&rng) { reading(20...300, using: &$0) },
                temperatureC: maybe(&rng) { reading(30...45, using: &$0) },
                spo2: maybe(&rng) { reading(50...100, using: &$0) }
            )
            if vitals.systolic == nil && vitals.diastolic == nil && vitals.heartRate == nil
                && vitals.temperatureC == nil
                && vitals.spo2 == nil
            {
                vitals.heartRate = 72
            }
            return .vitalsRecorded(vitals)
        case .adverseEventReported:
            let serious = Bool.random(using: &rng)
            var criteria =
                serious
                ? Array(SeriousnessCriterion.allCases.shuffled(using: &rng).prefix(Int.random(in: 1...3, using: &rng)))
                : []
            let severity = Int.random(in: 1...5, using: &rng)
            if severity == 5 && !criteria.contains(.death) { criteria.append(.death) }
            return .adverseEventReported(
                AdverseEventReported(
                    aeId: code("AE-", using: &rng), term: text(using: &rng),
                    onset: CalendarDate(daysSinceEpoch: time.microsecondsSinceEpoch / 86_400_000_000),
                    severity: severity, serious: serious || severity == 5, criteria: criteria,
                    expected: Bool.random(using: &rng),
                    suspected: Bool.random(using: &rng), awareAt: time
                )
            )
        case .adverseEventUpdated:
            var update = AdverseEventUpdated(
                aeId: code("AE-", using: &rng), outcome: AdverseEventOutcome.allCases.randomElement(using: &rng))
            update.severity = maybe(&rng) { Int.random(in: 1...4, using: &$0) }
            update.term = maybe(&rng) { text(using: &$0) }
            if Bool.random(using: &rng) {
                update.serious = true
                update.criteria = [SeriousnessCriterion.allCases.randomElement(using: &rng)!]
            }
            return .adverseEventUpdated(update)
        case .adverseEventSubmitted:
            return .adverseEventSubmitted(
                AdverseEventSubmitted(aeId: code("AE-", using: &rng), submittedAt: time, reference: text(using: &rng)))
        case .moodCheckCompleted:
            var phq9: [Int]?
            if Bool.random(using: &rng) { phq9 = (0..<9).map { _ in Int.random(in: 0...3, using: &rng) } }
            var cssrs: CSSRSAnswers?
            if Bool.random(using: &rng) {
                cssrs = CSSRSAnswers(
                    q1: Bool.random(using: &rng), q2: Bool.random(using: &rng),
                    q3: maybe(&rng) { Bool.random(using: &$0) }, q4: maybe(&rng) { Bool.random(using: &$0) },
                    q5: maybe(&rng) { Bool.random(using: &$0) }, q6: Bool.random(using: &rng)
                )
            }
            var check = MoodCheckCompleted(
                day: Int.random(in: ValidationLimits.followUpDayRange, using: &rng), phq9: phq9, cssrs: cssrs,
                mood: maybe(&rng) { Int.random(in: 0...10, using: &$0) }
            )
            if check.phq9 == nil && check.cssrs == nil && check.mood == nil { check.mood = 5 }
            return .moodCheckCompleted(check)
        case .alertRaised:
            return .alertRaised(
                AlertRaised(
                    alertId: EventID(high: rng.next(), low: rng.next()),
                    rule: AlertRule.allCases.randomElement(using: &rng)!,
                    severity: AlertSeverity.allCases.randomElement(using: &rng)!,
                    participant: maybe(&rng) { code("P-", using: &$0) },
                    causes: (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                        EventID(high: rng.next(), low: rng.next())
                    },
                    message: text(using: &rng)
                )
            )
        case .alertAcknowledged:
            return .alertAcknowledged(
                AlertAcknowledged(alertId: EventID(high: rng.next(), low: rng.next()), note: text(using: &rng)))
        case .alertResolved:
            return .alertResolved(
                AlertResolved(alertId: EventID(high: rng.next(), low: rng.next()), note: text(using: &rng)))
        }
    }
}
