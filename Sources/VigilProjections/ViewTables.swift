import Foundation
package import GRDB
package import VigilModel

/// Typed reads of the views' tables, on one connection: inside a flush's transaction (what the safety rules
/// read, seeing every event of the flush applied so far) or in a read transaction (what the API answers).
///
/// Every read goes through an index and touches only the rows it returns; none scans a table.
package struct ViewTables {
    package let db: Database

    package init(_ db: Database) {
        self.db = db
    }

    // MARK: - Checkpoint

    /// How far the views reflect the log, and how far the safety rules have run.
    package struct Checkpoint: Sendable, Equatable {
        package var position: Int64
        package var evaluated: Int64
    }

    package func checkpoint() throws -> Checkpoint {
        try db.rows("SELECT position, evaluated FROM checkpoint WHERE id = 1") {
            Checkpoint(position: $0[0], evaluated: $0[1])
        }.first ?? Checkpoint(position: 0, evaluated: 0)
    }

    // MARK: - Signers

    /// The printed name behind a key id, for records and exports.
    package func signerName(_ key: KeyID) throws -> String {
        try db.value(String.self, "SELECT name FROM signers WHERE key_id = ?", key) ?? "unknown key \(key.short)"
    }

    package func signers() throws -> [SignerView] {
        try db.rows(
            "SELECT key_id, name, role, registered_at, revoked_at FROM signers ORDER BY key_id", row: Self.signer)
    }

    /// One signer by key id, if registered.
    package func signer(_ key: KeyID) throws -> SignerView? {
        try db.rows(
            "SELECT key_id, name, role, registered_at, revoked_at FROM signers WHERE key_id = ?", key, row: Self.signer
        ).first
    }

    static func signer(_ row: SQLRow) throws -> SignerView {
        SignerView(
            keyid: try KeyID(blob: row[0]), name: row[1], role: try Self.enumeration(row[2]), registeredAt: row[3],
            revokedAt: row[4])
    }

    // MARK: - Lots

    static let lotColumns = """
        lot, substance, received, dispensed, wasted, destroyed, last_activity, count_counted, count_expected, \
        count_at, count_position, count_witnessed, count_event, lost, first_receipt_event IS NOT NULL
        """

    package func lot(_ lot: String) throws -> LotView? {
        try db.rows("SELECT \(Self.lotColumns) FROM lots WHERE lot = ?", lot, row: Self.lot).first
    }

    package func lots() throws -> [LotView] {
        try db.rows("SELECT \(Self.lotColumns) FROM lots ORDER BY lot", row: Self.lot)
    }

    static func lot(_ row: SQLRow) throws -> LotView {
        let received = Milligrams(micrograms: row[2])
        let dispensed = Milligrams(micrograms: row[3])
        let wasted = Milligrams(micrograms: row[4])
        let destroyed = Milligrams(micrograms: row[5])
        let lost = Milligrams(micrograms: row[13])
        var count: LotView.Count?
        if let counted = row[7] as Int64? {
            let expected = Milligrams(micrograms: row[8])
            count = LotView.Count(
                countedMg: Milligrams(micrograms: counted), expectedMg: expected,
                differenceMg: Milligrams(micrograms: counted) - expected, at: Timestamp(micros: row[9]),
                position: row[10], witnessed: row[11], eventId: try EventID(blob: row[12]))
        }
        return LotView(
            lot: row[0], substance: row[1], receivedMg: received, dispensedMg: dispensed, wastedMg: wasted,
            destroyedMg: destroyed, lostMg: lost, onHandMg: received - dispensed - wasted - destroyed - lost,
            received: row[14], lastCount: count, lastActivity: (row[6] as Int64?).map(Timestamp.init(micros:)))
    }

    /// Where a lot's biennial inventory clock starts: its last count, or else its first receipt.
    package func inventoryClock(_ lot: String) throws -> (onHand: Milligrams, since: (at: Timestamp, event: EventID)?)?
    {
        try db.rows(
            """
            SELECT received - dispensed - wasted - destroyed - lost, count_at, count_event, first_receipt_at,
            first_receipt_event FROM lots WHERE lot = ?
            """, lot
        ) { row -> (onHand: Milligrams, since: (at: Timestamp, event: EventID)?) in
            let onHand = Milligrams(micrograms: row[0])
            if let at = row[1] as Int64? { return (onHand, (Timestamp(micros: at), try EventID(blob: row[2]))) }
            if let at = row[3] as Int64? { return (onHand, (Timestamp(micros: at), try EventID(blob: row[4]))) }
            return (onHand, nil)
        }.first
    }

    // MARK: - Losses

    static let lossColumns = """
        loss_id, lot, quantity, kind, discovered_at, reported_position, reported_event, reference, filed_at, \
        filed_position
        """

    /// A change of a lot's perpetual balance, or a physical count, as the log ordered it.
    package struct LotMovement: Sendable, Equatable {
        package var position: Int64
        package var at: Timestamp
        /// Received (positive) or taken (negative); zero for a count.
        package var change: Milligrams
        /// The perpetual balance after it.
        package var balance: Milligrams
        /// What a physical count found.
        package var counted: Milligrams?
    }

    /// A lot's movements, newest first: at most `limit` before `position`.
    package func movements(of lot: String, before position: Int64, limit: Int) throws -> [LotMovement] {
        try db.rows(
            """
            SELECT position, at, change, balance, counted FROM lot_movements WHERE lot = ? AND position < ?
            ORDER BY position DESC LIMIT ?
            """, lot, position, limit
        ) { row in
            LotMovement(
                position: row[0], at: Timestamp(micros: row[1]), change: Milligrams(micrograms: row[2]),
                balance: Milligrams(micrograms: row[3]), counted: (row[4] as Int64?).map(Milligrams.init(micrograms:)))
        }
    }

    package func loss(_ id: String) throws -> LossView? {
        try db.rows("SELECT \(Self.lossColumns) FROM losses WHERE loss_id = ?", id, row: Self.loss).first
    }

    /// Every reported loss, in the order they were recorded.
    package func losses() throws -> [LossView] {
        try db.rows("SELECT \(Self.lossColumns) FROM losses ORDER BY reported_position", row: Self.loss)
    }

    static func loss(_ row: SQLRow) throws -> LossView {
        LossView(
            lossId: row[0], lot: row[1], quantityMg: Milligrams(micrograms: row[2]), kind: try enumeration(row[3]),
            discoveredAt: Timestamp(micros: row[4]), position: row[5], eventId: try EventID(blob: row[6]),
            reference: row[7], filedAt: (row[8] as Int64?).map(Timestamp.init(micros:)), filedPosition: row[9])
    }

    // MARK: - Participants

    package struct ParticipantRecord: Sendable, Equatable {
        package var code: String
        package var enrolledAt: Timestamp?
        package var site: String?
        /// The IANA zone the enrolment named, if any.
        package var timeZone: String?
    }

    package func participant(_ code: String) throws -> ParticipantRecord? {
        try db.rows("SELECT enrolled_at, site, time_zone FROM participants WHERE code = ?", code) { row in
            ParticipantRecord(
                code: code, enrolledAt: (row[0] as Int64?).map(Timestamp.init(micros:)), site: row[1],
                timeZone: row[2])
        }.first
    }

    /// The log positions of the events that concern a participant, newest first: at most `limit` before
    /// `position`.
    package func timeline(of participant: String, before position: Int64, limit: Int) throws -> [Int64] {
        try db.rows(
            "SELECT position FROM timeline WHERE participant = ? AND position < ? ORDER BY position DESC LIMIT ?",
            participant, position, limit
        ) { $0[0] }
    }

    /// Participants in code order, a page of at most `limit` after `code`.
    package func participants(after code: String, limit: Int) throws -> [ParticipantRecord] {
        try db.rows(
            "SELECT code, enrolled_at, site, time_zone FROM participants WHERE code > ? ORDER BY code LIMIT ?", code,
            limit
        ) { row in
            ParticipantRecord(
                code: row[0], enrolledAt: (row[1] as Int64?).map(Timestamp.init(micros:)), site: row[2],
                timeZone: row[3])
        }
    }

    /// Current medications, by name.
    package func medications(of participant: String) throws -> [MedicationView] {
        try db.rows(
            "SELECT name, serotonergic, since FROM medications WHERE participant = ? ORDER BY name", participant
        ) { row in
            MedicationView(name: row[0], serotonergic: row[1], since: Timestamp(micros: row[2]))
        }
    }

    /// The participant's session ids in the order they first appeared in the log.
    package func sessionIDs(of participant: String) throws -> [String] {
        try db.rows(
            "SELECT session FROM participant_sessions WHERE participant = ? ORDER BY position", participant
        ) { $0[0] }
    }

    /// The participant's mood checks for one session, in log order.
    package func moodChecks(session: String, participant: String) throws -> [MoodCheckView] {
        try db.rows(
            """
            SELECT day, at, phq9_total, phq9_item9, cssrs_high_risk, mood FROM mood_checks
            WHERE session = ? AND participant = ? ORDER BY position
            """, session, participant
        ) { row in
            MoodCheckView(
                day: row[0], at: Timestamp(micros: row[1]), phq9Total: row[2],
                phq9Item9: row[3], cssrsHighRisk: row[4], mood: row[5])
        }
    }

    /// The participant's latest reading (in time, then log order) across their sessions.
    package func latestVitals(of participant: String) throws -> VitalsReading? {
        var latest: VitalsReading?
        for session in try sessionIDs(of: participant) {
            guard
                let reading = try db.rows(
                    """
                    SELECT \(Self.vitalsColumns) FROM vitals WHERE session = ? AND participant = ?
                    ORDER BY at DESC, position DESC LIMIT 1
                    """, session, participant, row: { Self.reading($0, initialDoseAt: nil) }
                ).first
            else { continue }
            if let current = latest, (current.at, current.position) > (reading.at, reading.position) { continue }
            latest = reading
        }
        return latest
    }

    /// Alerts of the participant not yet resolved, in id order.
    package func unresolvedAlertIDs(of participant: String) throws -> [EventID] {
        try db.rows(
            "SELECT alert_id FROM alerts WHERE participant = ? AND status <> 'resolved' ORDER BY alert_id", participant
        ) { try EventID(blob: $0[0]) }
    }

    /// The whole participant view, with the follow-up grid as of `now` under `settings`, in the participant's
    /// own time zone.
    package func participantView(_ code: String, settings: RuleSettings, now: Timestamp) throws -> ParticipantView? {
        guard let record = try participant(code) else { return nil }
        let schedule = settings.followUp(participantZone: record.timeZone)
        let medications = try medications(of: code)
        let sessions = try sessionIDs(of: code)
        var moodChecks: [String: [MoodCheckView]] = [:]
        var grids: [FollowUpGrid] = []
        for id in sessions {
            let checks = try self.moodChecks(session: id, participant: code)
            if !checks.isEmpty { moodChecks[id] = checks }
            guard let started = try session(id)?.startedAt else { continue }
            let checked = Set(checks.map(\.day))
            let days = schedule.days > 0 ? Array(1...schedule.days) : []
            grids.append(
                FollowUpGrid(
                    session: id,
                    days: days.map { day in
                        FollowUpDay(
                            day: day, date: schedule.date(of: day, sessionStart: started),
                            status: schedule.status(
                                of: day, sessionStart: started, checked: checked.contains(day), now: now))
                    }))
        }
        return ParticipantView(
            code: code, enrolledAt: record.enrolledAt, site: record.site, timeZone: schedule.zone.identifier,
            medications: medications,
            serotonergicActive: medications.contains(where: \.serotonergic), sessions: sessions,
            latestVitals: try latestVitals(of: code), moodChecks: moodChecks,
            openAlerts: try unresolvedAlertIDs(of: code), followUp: grids, asOf: try checkpoint().position)
    }

    // MARK: - Sessions

    package struct SessionRecord: Sendable, Equatable {
        package var id: String
        package var participant: String
        package var number: Int?
        package var startedAt: Timestamp?
        /// The `session.started` event: the cause of follow-up alerts.
        package var startedEvent: EventID?
        package var endedAt: Timestamp?
    }

    package func session(_ id: String) throws -> SessionRecord? {
        try db.rows(
            "SELECT participant, number, started_at, started_event, ended_at FROM sessions WHERE id = ?", id
        ) { row in
            SessionRecord(
                id: id, participant: row[0], number: row[1],
                startedAt: (row[2] as Int64?).map(Timestamp.init(micros:)),
                startedEvent: try (row[3] as Data?).map(EventID.init(blob:)),
                endedAt: (row[4] as Int64?).map(Timestamp.init(micros:)))
        }.first
    }

    /// The session's doses in time order (then log order), with running totals and minutes from the first
    /// initial dose.
    package func doses(in session: String) throws -> [DoseView] {
        var total = Milligrams.zero
        var doses = try db.rows(
            "SELECT event_id, at, position, dose, kind, lot FROM doses WHERE session = ? ORDER BY at, position", session
        ) { row in
            let dose = Milligrams(micrograms: row[3])
            total = total + dose
            return DoseView(
                eventId: try EventID(blob: row[0]), at: Timestamp(micros: row[1]),
                position: row[2],
                doseMg: dose, kind: try Self.enumeration(row[4]), lot: row[5], runningTotalMg: total)
        }
        let initial = doses.first { $0.kind == .initial }?.at
        for index in doses.indices {
            doses[index].minutesFromInitialDose = initial.flatMap { Self.minutes(from: $0, to: doses[index].at) }
        }
        return doses
    }

    /// The time of the session's first initial dose, in time order.
    package func initialDoseAt(in session: String) throws -> Timestamp? {
        try db.value(
            Int64.self, "SELECT at FROM doses WHERE session = ? AND kind = 'initial' ORDER BY at, position LIMIT 1",
            session
        ).map(Timestamp.init(micros:))
    }

    static let vitalsColumns = "at, session, position, systolic, diastolic, heart_rate, temperature, spo2"

    /// The session's readings in time order (then log order).
    package func vitals(in session: String, initialDoseAt: Timestamp?) throws -> [VitalsReading] {
        try db.rows("SELECT \(Self.vitalsColumns) FROM vitals WHERE session = ? ORDER BY at, position", session) {
            Self.reading($0, initialDoseAt: initialDoseAt)
        }
    }

    /// How many of the session's readings have a heart rate above `rate`.
    package func readings(in session: String, heartRateAbove rate: Double) throws -> Int {
        Int(
            try db.value(Int64.self, "SELECT COUNT(*) FROM vitals WHERE session = ? AND heart_rate > ?", session, rate)
                ?? 0)
    }

    static func reading(_ row: SQLRow, initialDoseAt: Timestamp?) -> VitalsReading {
        let at = Timestamp(micros: row[0])
        return VitalsReading(
            at: at, session: row[1], position: row[2], systolic: row[3], diastolic: row[4], heartRate: row[5],
            temperatureC: row[6], spo2: row[7],
            minutesFromInitialDose: initialDoseAt.flatMap { minutes(from: $0, to: at) })
    }

    /// The adverse events reported for the session, in log order.
    package func adverseEventIDs(in session: String) throws -> [String] {
        try db.rows("SELECT ae_id FROM session_adverse_events WHERE session = ? ORDER BY position", session) { $0[0] }
    }

    package func sessionView(_ id: String) throws -> SessionView? {
        guard let record = try session(id) else { return nil }
        let doses = try doses(in: id)
        let initial = doses.first { $0.kind == .initial }?.at
        let vitals = try vitals(in: id, initialDoseAt: initial)
        return SessionView(
            id: id, participant: record.participant, number: record.number, startedAt: record.startedAt,
            endedAt: record.endedAt, totalDoseMg: doses.last?.runningTotalMg ?? .zero, initialDoseAt: initial,
            doses: doses, vitals: vitals, peaks: VitalsPeaks(vitals), adverseEvents: try adverseEventIDs(in: id),
            asOf: try checkpoint().position)
    }

    /// Minutes from `start` to `time`, one decimal; nil before `start`.
    static func minutes(from start: Timestamp, to time: Timestamp) -> Double? {
        guard time >= start else { return nil }
        let minutes = Double(time.microsecondsSinceEpoch - start.microsecondsSinceEpoch) / 60_000_000
        return (minutes * 10).rounded() / 10
    }

    // MARK: - Adverse events

    static let adverseEventColumns = """
        participant, ae_id, term, onset, severity, serious, criteria, expected, suspected, aware_at, session, \
        outcome, submitted_at, reference, reported_position, reported_event
        """

    package func adverseEvent(participant: String, aeId: String) throws -> AdverseEventView? {
        try db.rows(
            "SELECT \(Self.adverseEventColumns) FROM adverse_events WHERE participant = ? AND ae_id = ?", participant,
            aeId, row: Self.adverseEvent
        ).first
    }

    /// The register in key order; only events whose expedited report is due and not filed, with `openOnly`.
    package func adverseEvents(openOnly: Bool) throws -> [AdverseEventView] {
        try db.rows(
            """
            SELECT \(Self.adverseEventColumns) FROM adverse_events \(openOnly ? "WHERE open = 1" : "")
            ORDER BY participant, ae_id
            """, row: Self.adverseEvent)
    }

    static func adverseEvent(_ row: SQLRow) throws -> AdverseEventView {
        let criteria: String = row[6]
        return AdverseEventView(
            participant: row[0], aeId: row[1], term: row[2], onset: CalendarDate(daysSinceEpoch: row[3]),
            severity: row[4], serious: row[5],
            criteria: try criteria.split(separator: ",").map { try enumeration(String($0)) },
            expected: row[7], suspected: row[8], awareAt: Timestamp(micros: row[9]), session: row[10],
            outcome: try (row[11] as String?).map { try enumeration($0) },
            submittedAt: (row[12] as Int64?).map(Timestamp.init(micros:)), reference: row[13],
            reportedPosition: row[14], reportedEventId: try EventID(blob: row[15]))
    }

    // MARK: - Alerts

    static let alertColumns = """
        alert_id, position, rule, severity, participant, session, causes, message, raised_at, \
        ack_key, ack_name, ack_at, ack_note, ack_position, resolve_key, resolve_name, resolve_at, resolve_note, \
        resolve_position
        """

    package func alert(_ id: EventID) throws -> AlertView? {
        try db.rows("SELECT \(Self.alertColumns) FROM alerts WHERE alert_id = ?", id, row: Self.alert).first
    }

    /// Alerts whose id begins with `prefix` (lowercase hex digits, 1 to 32 of them), at most `limit`, in id
    /// order: a range read on the key, whatever the number of alerts.
    package func alerts(idPrefix prefix: String, limit: Int) throws -> [AlertView] {
        guard (1...32).contains(prefix.utf8.count),
            let low = Hex.decode(prefix + String(repeating: "0", count: 32 - prefix.utf8.count)),
            let high = Hex.decode(prefix + String(repeating: "f", count: 32 - prefix.utf8.count))
        else { return [] }
        return try db.rows(
            "SELECT \(Self.alertColumns) FROM alerts WHERE alert_id BETWEEN ? AND ? ORDER BY alert_id LIMIT ?",
            Data(low), Data(high), limit, row: Self.alert)
    }

    /// Alerts in log order, raised after a position: of one status, participant, rule and severity (each
    /// optional), at most `limit` of them.
    package func alerts(
        status: AlertView.Status? = nil, participant: String? = nil, rule: AlertRule? = nil,
        severity: AlertSeverity? = nil, after position: Int64 = 0, limit: Int = .max
    ) throws -> [AlertView] {
        var conditions = ["position > ?1"]
        if status != nil { conditions.append("status = ?2") }
        if participant != nil { conditions.append("participant = ?3") }
        if rule != nil { conditions.append("rule = ?4") }
        if severity != nil { conditions.append("severity = ?5") }
        let sql = """
            SELECT \(Self.alertColumns) FROM alerts WHERE \(conditions.joined(separator: " AND "))
            ORDER BY position LIMIT ?6
            """
        return try db.rows(
            sql, position, status?.rawValue, participant, rule?.rawValue, severity?.rawValue, limit, row: Self.alert)
    }

    /// The most pressing open alerts: most severe first, then the longest waiting; at most `limit`, leaving out
    /// the rules named. Reads the open alerts only (through `alerts_status`), never the whole table.
    package func mostPressingOpenAlerts(excluding rules: [AlertRule] = [], limit: Int) throws -> [AlertView] {
        let excluded = rules.map { "'\($0.rawValue)'" }.joined(separator: ", ")
        let sql = """
            SELECT \(Self.alertColumns) FROM alerts WHERE status = 'open' \(rules.isEmpty ? "" : "AND rule NOT IN (\(excluded))")
            ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'urgent' THEN 1 WHEN 'warn' THEN 2 ELSE 3 END,
            raised_at, position LIMIT ?
            """
        return try db.rows(sql, limit, row: Self.alert)
    }

    /// How many alerts of each severity are open (neither acknowledged nor resolved); every severity is present.
    package func openAlertCounts() throws -> [AlertSeverity: Int] {
        var counts = Dictionary(uniqueKeysWithValues: AlertSeverity.allCases.map { ($0, 0) })
        for (severity, count) in try db.rows(
            "SELECT severity, count(*) FROM alerts WHERE status = 'open' GROUP BY severity",
            row: { row -> (AlertSeverity, Int) in (try Self.enumeration(row[0]), row[1]) })
        {
            counts[severity] = count
        }
        return counts
    }

    /// Severities of the alerts of `rule` for `session` not yet resolved.
    package func unresolvedSeverities(rule: AlertRule, session: String) throws -> [AlertSeverity] {
        try db.rows(
            "SELECT severity FROM alerts WHERE session = ? AND rule = ? AND status <> 'resolved'", session,
            rule.rawValue
        ) { try Self.enumeration($0[0]) }
    }

    static func alert(_ row: SQLRow) throws -> AlertView {
        func action(_ first: Int) throws -> AlertAction? {
            guard let key = row[first] as Data? else { return nil }
            return AlertAction(
                keyid: try KeyID(blob: key), name: row[first + 1], at: Timestamp(micros: row[first + 2]),
                note: row[first + 3], position: row[first + 4])
        }
        let causes = (row[6] as Data)
        return AlertView(
            alertId: try EventID(blob: row[0]), rule: try enumeration(row[2]),
            severity: try enumeration(row[3]), participant: row[4], session: row[5],
            causes: try stride(from: 0, to: causes.count, by: 16).map {
                try EventID(blob: causes[causes.startIndex + $0..<causes.startIndex + $0 + 16])
            },
            message: row[7], raisedAt: Timestamp(micros: row[8]), position: row[1],
            acknowledged: try action(9), resolved: try action(14))
    }

    // MARK: - Outbox

    /// Whether an alert is in the views or decided and on its way to the log.
    package func isKnown(alert id: EventID) throws -> Bool {
        try db.value(
            Int64.self,
            """
            SELECT EXISTS (SELECT 1 FROM alerts WHERE alert_id = ?1) OR EXISTS (SELECT 1 FROM outbox WHERE alert_id = ?1)
            """, id) == 1
    }

    /// Severities of the alerts of `rule` for `session` decided but not yet projected.
    package func pendingSeverities(rule: AlertRule, session: String) throws -> [AlertSeverity] {
        try db.rows("SELECT severity FROM outbox WHERE session = ? AND rule = ?", session, rule.rawValue) {
            try Self.enumeration($0[0])
        }
    }

    /// One alert of the outbox: its payload, not yet signed.
    package struct OutboxEntry: Sendable, Equatable {
        package var alertId: EventID
        package var payload: [UInt8]
    }

    /// The alerts decided and not yet appended to the log, in the order they were decided.
    package func unsentAlerts() throws -> [OutboxEntry] {
        try db.rows("SELECT alert_id, payload FROM outbox WHERE stored = 0 ORDER BY seq") {
            OutboxEntry(alertId: try EventID(blob: $0[0]), payload: [UInt8]($0[1] as Data))
        }
    }

    // MARK: - Deadlines

    /// A pending deadline of the alert scheduler.
    package struct Deadline: Sendable, Equatable {
        package enum Kind: String, Sendable {
            /// The next unchecked follow-up day after a session (`subject`: the session id).
            case followUp = "follow_up"
            /// The reminder before an expedited report is due (`subject`: the adverse event's id).
            case reportReminder = "report_reminder"
            /// An expedited report's due date (`subject`: the adverse event's id).
            case reportOverdue = "report_overdue"
            /// A lot's biennial inventory (`subject`: the lot).
            case inventory
            /// A theft or loss not yet reported to the DEA by its due time (`subject`: the loss id).
            case lossReport = "loss_report"
        }

        package var kind: Kind
        /// The participant of a follow-up or a report.
        package var participant: String?
        package var subject: String
        /// For a follow-up: the first day still open.
        package var day: Int?
        package var dueAt: Timestamp
        package var alertId: EventID
    }

    /// Deadlines that have passed at `now`, earliest first.
    package func deadlines(dueBy now: Timestamp, limit: Int = 1000) throws -> [Deadline] {
        try db.rows(
            """
            SELECT kind, participant, subject, day, due_at, alert_id FROM deadlines WHERE due_at <= ?
            ORDER BY due_at LIMIT ?
            """, now.microsecondsSinceEpoch, limit, row: Self.deadline)
    }

    static func deadline(_ row: SQLRow) throws -> Deadline {
        Deadline(
            kind: try enumeration(row[0]), participant: row[1], subject: row[2], day: row[3],
            dueAt: Timestamp(micros: row[4]), alertId: try EventID(blob: row[5]))
    }

    // MARK: - Decoding columns

    static func enumeration<E: RawRepresentable>(_ text: String) throws -> E where E.RawValue == String {
        guard let value = E(rawValue: text) else {
            throw ViewError("the views hold an unknown \(E.self) value; rebuild them (vigilctl rebuild)")
        }
        return value
    }
}

extension ViewTables.Deadline {
    /// The row's key: one deadline of each kind per subject.
    static func key(_ kind: Kind, participant: String?, _ subject: String) -> String {
        [kind.rawValue, participant ?? "", subject].joined(separator: "|")
    }
}

/// The views' file holds something this version cannot read.
package struct ViewError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

extension Timestamp {
    init(micros: Int64) { self.init(microsecondsSinceEpoch: micros) }
}

extension EventID {
    init(blob: Data) throws {
        guard let id = EventID(bytes: blob) else { throw ViewError("the views hold an event id that is not 16 bytes") }
        self = id
    }
}

extension KeyID {
    init(blob: Data) throws {
        guard blob.count == 32, let id = KeyID(hex: Hex.encode(blob)) else {
            throw ViewError("the views hold a key id that is not 32 bytes")
        }
        self = id
    }
}
