package import VigilModel
package import VigilProjections

/// The event-driven safety rules of docs/safety-rules.md, evaluated on each event once it is projected.
///
/// Clinical timing (minutes since the initial dose, days after a session) comes from `occurredAt`; the views
/// are read just after the event was applied, in the same transaction, and only what a rule needs for the event
/// in hand is read, through an index. No clock.
package enum Rules {
    package static func evaluate(
        _ event: StoredEvent, views: ViewTables, settings: RuleSettings
    ) throws -> [AlertCandidate] {
        let payload = event.payload
        let at = event.recordedAt
        let participant = payload.participant
        let session = payload.session
        func candidate(
            _ rule: AlertRule, _ severity: AlertSeverity, _ message: String, identity: String? = nil,
            quiet: Bool = false
        ) -> AlertCandidate {
            AlertCandidate(
                rule: rule, severity: severity, participant: participant, session: session, causes: [payload.id],
                message: message, at: at,
                identity: identity.map { "\(rule.rawValue)|\($0)" }, quietWhileOpenInSession: quiet
            )
        }
        var found: [AlertCandidate] = []
        switch payload.data {
        case .doseDispensed(let body):
            found += try doseRules(
                body, event: event, views: views, settings: settings, make: { candidate($0, $1, $2, identity: $3) })
            found += try stockRule(event, lot: body.lot, quantity: body.dose, views: views) { candidate($0, $1, $2) }
            found += witnessRule(
                event, lot: body.lot, required: settings.dispenseWitnessRequired ? 1 : 0,
                make: { candidate($0, $1, $2) })
        case .sessionStarted(let body):
            guard let code = participant, let id = session, try views.participant(code) != nil else { break }
            let started = payload.occurredAt
            let sessions = try views.sessionIDs(of: code).compactMap { try views.session($0) }
            let earlier = sessions.filter { $0.id != id }.compactMap(\.startedAt).filter { $0 < started }.max()
            if let earlier {
                let days = Double(started.microsecondsSinceEpoch - earlier.microsecondsSinceEpoch) / 86_400_000_000
                if days < settings.minDaysBetweenSessions {
                    found.append(
                        candidate(
                            .sessionSpacing, .warn,
                            "session \(id) starts \(format(days)) days after the previous one (at least \(format(settings.minDaysBetweenSessions)) expected)"
                        )
                    )
                }
            }
            let started_ = sessions.filter { $0.startedAt != nil }.count
            if started_ > settings.maxSessionsPerCourse || body.number > settings.maxSessionsPerCourse {
                found.append(
                    candidate(
                        .doseCount, .warn,
                        "session \(id) is session \(max(started_, body.number)) of the course (at most \(settings.maxSessionsPerCourse) expected)",
                        identity: "course|\(payload.id)"
                    )
                )
            }
        case .vitalsRecorded(let body):
            // The reading's session exists in the views: applying the reading made sure of it.
            found += try vitalsRules(
                body, time: payload.occurredAt, session: participant == nil ? nil : session, views: views,
                settings: settings
            ) {
                rule, severity, message, identity in
                candidate(rule, severity, message, identity: identity, quiet: true)
            }
        case .adverseEventReported, .adverseEventUpdated:
            let aeId: String
            switch payload.data {
            case .adverseEventReported(let body): aeId = body.aeId
            case .adverseEventUpdated(let body): aeId = body.aeId
            default: aeId = ""
            }
            guard let code = participant, let view = try views.adverseEvent(participant: code, aeId: aeId), view.serious
            else { break }
            let criteria = view.criteria.map(\.rawValue).joined(separator: ", ")
            var message =
                "serious adverse event \(view.aeId) (\(view.term)): \(criteria); Day 0 \(view.awareAt.rfc3339)"
            if let days = view.reportDays, let due = view.reportDueAt {
                message += "; expedited report due in \(days) days, by \(due.rfc3339)"
            }
            found.append(candidate(.seriousAdverseEvent, .critical, message, identity: "ae|\(view.key)"))
        case .moodCheckCompleted(let body):
            if let answers = body.cssrs, answers.q4 == true || answers.q5 == true || answers.q6 {
                let which = [("Q4", answers.q4 == true), ("Q5", answers.q5 == true), ("Q6", answers.q6)].filter(\.1)
                    .map(\.0)
                found.append(
                    candidate(
                        .cssrsHighRisk, .critical,
                        "C-SSRS yes to \(which.joined(separator: ", ")) on day \(body.day): imminent risk, same-day assessment"
                    ))
            }
            if let phq9 = body.phq9 {
                if phq9[8] > 0 {
                    found.append(
                        candidate(
                            .phq9, .urgent,
                            "PHQ-9 item 9 (self-harm thoughts) answered \(phq9[8]) on day \(body.day): same-day follow-up"
                        ))
                }
                let total = phq9.reduce(0, +)
                if total >= settings.phq9WarnTotal {
                    found.append(
                        candidate(
                            .phq9, .warn, "PHQ-9 total \(total) on day \(body.day) (at least \(settings.phq9WarnTotal))"
                        ))
                }
            }
            if let mood = body.mood, (1...max(1, settings.lowMoodWindowDays)).contains(body.day),
                settings.lowMoodWindowDays > 0,
                let code = participant, let id = session,
                let baseline = try moodBaseline(of: code, session: id, views: views),
                baseline - Double(mood) >= Double(settings.lowMoodDrop)
            {
                found.append(
                    candidate(
                        .lowMood, .warn,
                        "mood \(mood)/10 on day \(body.day) after session \(id), baseline \(format(baseline))")
                )
            }
        case .inventoryCounted(let body):
            if let count = try views.lot(body.lot)?.lastCount, count.eventId == payload.id {
                let difference = Double(count.differenceMg.micrograms) / 1000
                if abs(difference) > settings.countToleranceMg {
                    found.append(
                        candidate(
                            .countDiscrepancy, .urgent,
                            "lot \(body.lot): counted \(count.countedMg) mg, perpetual balance \(count.expectedMg) mg (difference \(count.differenceMg) mg)"
                        )
                    )
                }
            }
            found += witnessRule(event, lot: body.lot, make: { candidate($0, $1, $2) })
        case .doseWasted(let body):
            found += try stockRule(event, lot: body.lot, quantity: body.quantity, views: views) {
                candidate($0, $1, $2)
            }
            found += witnessRule(event, lot: body.lot, make: { candidate($0, $1, $2) })
        case .inventoryDestroyed(let body):
            found += try stockRule(event, lot: body.lot, quantity: body.quantity, views: views) {
                candidate($0, $1, $2)
            }
            found += witnessRule(event, lot: body.lot, make: { candidate($0, $1, $2) })
        case .inventoryLossReported(let body):
            found += try stockRule(event, lot: body.lot, quantity: body.quantity, views: views) {
                candidate($0, $1, $2)
            }
            found += witnessRule(event, lot: body.lot, make: { candidate($0, $1, $2) })
            if let loss = try views.loss(body.lossId), loss.eventId == payload.id, loss.reference == nil {
                let due = settings.lossReportDue(discoveredAt: loss.discoveredAt)
                found.append(
                    AlertCandidate(
                        rule: .lossReportDue, severity: .urgent, participant: nil, session: nil, causes: [payload.id],
                        message:
                            "\(body.kind.rawValue) of \(body.quantity) mg from lot \(body.lot) (loss \(body.lossId)): report it to the DEA on Form 106 by \(due.rfc3339), one business day after its discovery",
                        at: at, identity: AlertIdentity.lossReport(lossId: body.lossId, overdue: false)))
            }
        default:
            break
        }
        return found
    }

    // MARK: - Doses

    static func doseRules(
        _ body: DoseDispensed, event: StoredEvent, views: ViewTables, settings: RuleSettings,
        make: (AlertRule, AlertSeverity, String, String?) -> AlertCandidate
    ) throws -> [AlertCandidate] {
        let payload = event.payload
        var found: [AlertCandidate] = []
        let mg = Double(body.dose.micrograms) / 1000
        let session = try payload.session.flatMap { try views.session($0) }
        let doses = try session.map { try views.doses(in: $0.id) } ?? []
        let initial = doses.first { $0.kind == .initial && $0.eventId != payload.id }
        switch body.kind {
        case .initial:
            if !settings.initialDosesMg.contains(mg) {
                let regimen = settings.initialDosesMg.map(format).joined(separator: " or ")
                found.append(
                    make(.doseRegimen, .warn, "initial dose \(body.dose) mg is not in the regimen (\(regimen) mg)", nil)
                )
            }
        case .supplemental:
            if let initial {
                let expected = Double(initial.doseMg.micrograms) / 2000
                if abs(mg - expected) > 0.0005 {
                    found.append(
                        make(
                            .doseRegimen, .warn,
                            "supplemental dose \(body.dose) mg is not half the initial \(initial.doseMg) mg", nil)
                    )
                }
                let minutes =
                    Double(payload.occurredAt.microsecondsSinceEpoch - initial.at.microsecondsSinceEpoch) / 60_000_000
                if minutes < settings.supplementalMinMinutes || minutes > settings.supplementalMaxMinutes {
                    found.append(
                        make(
                            .supplementalTiming, .warn,
                            "supplemental dose \(format(minutes)) min after the initial one (window \(format(settings.supplementalMinMinutes))-\(format(settings.supplementalMaxMinutes)) min)",
                            nil
                        )
                    )
                }
            } else {
                found.append(
                    make(
                        .doseRegimen, .warn, "supplemental dose \(body.dose) mg without an initial dose in the session",
                        nil))
            }
        }
        if let session {
            let totalDose = doses.last?.runningTotalMg ?? .zero
            let total = Double(totalDose.micrograms) / 1000
            if total > settings.maxSessionTotalMg {
                found.append(
                    make(
                        .doseRegimen, .urgent,
                        "session total \(totalDose) mg exceeds \(format(settings.maxSessionTotalMg)) mg",
                        "total|\(payload.id)")
                )
            }
            if doses.count > settings.maxDosesPerSession {
                found.append(
                    make(
                        .doseCount, .urgent,
                        "administration \(doses.count) in session \(session.id) (at most \(settings.maxDosesPerSession) expected)",
                        "session|\(payload.id)"
                    )
                )
            }
        }
        if let code = payload.participant {
            let serotonergic = try views.medications(of: code).filter(\.serotonergic)
            if !serotonergic.isEmpty {
                found.append(
                    make(
                        .serotonergicComedication, .critical,
                        "dosed while on serotonergic medication: \(serotonergic.map(\.name).joined(separator: ", ")) (washout required)",
                        nil
                    )
                )
            }
        }
        return found
    }

    // MARK: - Vital signs

    /// `session`: the reading's session, when it has one in the views.
    static func vitalsRules(
        _ body: VitalsRecorded, time: Timestamp, session: String?, views: ViewTables, settings: RuleSettings,
        make: (AlertRule, AlertSeverity, String, String?) -> AlertCandidate
    ) throws -> [AlertCandidate] {
        var found: [AlertCandidate] = []
        let pressure = "\(body.systolic.map(format) ?? "-")/\(body.diastolic.map(format) ?? "-") mmHg"
        if (body.systolic ?? 0) >= settings.hypertensionSystolic
            || (body.diastolic ?? 0) >= settings.hypertensionDiastolic
        {
            found.append(
                make(
                    .hypertension, .urgent,
                    "blood pressure \(pressure) (at or above \(format(settings.hypertensionSystolic))/\(format(settings.hypertensionDiastolic)))",
                    nil
                )
            )
        } else if (body.systolic ?? 0) >= settings.cautionSystolic || (body.diastolic ?? 0) >= settings.cautionDiastolic
        {
            let beforeFirstDose = try session.flatMap { try views.initialDoseAt(in: $0) }.map { time < $0 } ?? true
            if beforeFirstDose {
                found.append(
                    make(
                        .hypertension, .warn,
                        "blood pressure \(pressure) before the first dose (at or above \(format(settings.cautionSystolic))/\(format(settings.cautionDiastolic))): dosing caution",
                        nil
                    )
                )
            }
        }
        if let rate = body.heartRate {
            if rate > settings.tachycardiaUrgentAbove {
                found.append(
                    make(
                        .tachycardia, .urgent,
                        "heart rate \(format(rate))/min (above \(format(settings.tachycardiaUrgentAbove)))", nil))
            } else if rate > settings.tachycardiaWarnAbove {
                let fast =
                    try session.map { try views.readings(in: $0, heartRateAbove: settings.tachycardiaWarnAbove) } ?? 1
                if fast >= settings.tachycardiaUrgentCount {
                    found.append(
                        make(
                            .tachycardia, .urgent,
                            "\(fast) readings above \(format(settings.tachycardiaWarnAbove))/min in the session (latest \(format(rate))/min)",
                            nil
                        )
                    )
                } else {
                    found.append(
                        make(
                            .tachycardia, .warn,
                            "heart rate \(format(rate))/min (above \(format(settings.tachycardiaWarnAbove)))", nil))
                }
            }
        }
        if let temperature = body.temperatureC {
            let severity: AlertSeverity? =
                temperature > settings.temperatureCriticalAboveC
                ? .critical
                : temperature > settings.temperatureUrgentAboveC
                    ? .urgent : temperature >= settings.temperatureWarnAtC ? .warn : nil
            if let severity {
                found.append(make(.temperature, severity, "temperature \(format(temperature)) C", nil))
            }
        }
        return found
    }

    // MARK: - Witnesses and mood

    /// `inventory_negative`: a quantity taken from a lot never received, or more than its perpetual balance held.
    /// The event is stored all the same (the record shows what happened); the alert names the shortfall.
    static func stockRule(
        _ event: StoredEvent, lot: String, quantity: Milligrams, views: ViewTables,
        make: (AlertRule, AlertSeverity, String) -> AlertCandidate
    ) throws -> [AlertCandidate] {
        guard let view = try views.lot(lot) else { return [] }
        let type = event.payload.type.rawValue
        if !view.received {
            return [
                make(
                    .inventoryNegative, .critical,
                    "\(type) of \(quantity) mg names lot \(lot), which has no receipt on record; its balance is now \(view.onHandMg) mg"
                )
            ]
        }
        guard view.onHandMg.micrograms < 0 else { return [] }
        let before = view.onHandMg + quantity
        let short = Milligrams(micrograms: quantity.micrograms - max(before.micrograms, 0))
        return [
            make(
                .inventoryNegative, .critical,
                "\(type) of \(quantity) mg from lot \(lot) exceeds its perpetual balance of \(before) mg by \(short) mg; the balance is now \(view.onHandMg) mg"
            )
        ]
    }

    static func witnessRule(
        _ event: StoredEvent, lot: String, required: Int? = nil,
        make: (AlertRule, AlertSeverity, String) -> AlertCandidate
    ) -> [AlertCandidate] {
        let required = required ?? event.payload.type.requiredWitnesses
        let present = event.witnessCount
        guard present < required else { return [] }
        return [
            make(
                .missingWitness, .urgent,
                "\(event.payload.type.rawValue) of lot \(lot) has \(present) witness signature\(present == 1 ? "" : "s"), \(required) required"
            )
        ]
    }

    /// The participant's baseline mood: the session day's (day 0) check if there is one, else the mean of
    /// every mood recorded for the participant's earlier sessions.
    static func moodBaseline(of code: String, session: String, views: ViewTables) throws -> Double? {
        if let dayZero = try views.moodChecks(session: session, participant: code).first(where: { $0.day == 0 })?.mood {
            return Double(dayZero)
        }
        let earlier = try views.sessionIDs(of: code).prefix { $0 != session }
            .flatMap { try views.moodChecks(session: $0, participant: code) }.compactMap(\.mood)
        guard !earlier.isEmpty else { return nil }
        return Double(earlier.reduce(0, +)) / Double(earlier.count)
    }

    /// A number without a trailing ".0", one decimal otherwise.
    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int64(value)) : String((value * 10).rounded() / 10)
    }
}
