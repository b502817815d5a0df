import Foundation
package import GRDB
package import VigilModel

/// Applies events to the views, in place, inside one write transaction (a flush).
///
/// Each event changes only the rows it concerns, through their keys: a reading is one row inserted, a dose one
/// row and one lot updated. Nothing is rewritten whole and nothing is held in memory between events, so the
/// cost of an event does not depend on how long the log or a session is. Deadlines of the alert scheduler are
/// kept in step in the same transaction: the next open follow-up day of each session, the clock of each open
/// expedited report, the biennial count of each lot with stock.
///
/// Total, like the log it follows: an event that refers to something unknown (a dose for a session never
/// started) still counts where it can.
package final class ViewWriter {
    package let tables: ViewTables
    let db: Database
    /// The rule settings the deadlines are derived with.
    package let settings: RuleSettings
    /// Alerts acknowledged or resolved in this flush, as they now stand: for live subscribers.
    package private(set) var updatedAlerts: [AlertView] = []
    /// Alerts whose `alert.raised` this flush applied, whichever node appended them: for live subscribers.
    package private(set) var raisedAlerts: [AlertView] = []
    /// The alerts this flush decided that the log does not hold yet, in order (their payloads, unsigned).
    package private(set) var decidedAlerts: [EventPayload] = []
    /// Rows this flush already made sure exist: most events of a flush concern the same few sessions.
    private var ensuredParticipants: Set<String> = []
    private var ensuredSessions: Set<SessionLink> = []

    private struct SessionLink: Hashable {
        var participant: String
        var session: String
    }

    package init(_ db: Database, settings: RuleSettings) {
        self.db = db
        self.tables = ViewTables(db)
        self.settings = settings
    }

    // MARK: - Checkpoint

    package func setCheckpoint(position: Int64, evaluated: Int64, now: Timestamp) throws {
        try db.run(
            "UPDATE checkpoint SET position = ?, evaluated = ?, updated_at = ? WHERE id = 1", position, evaluated,
            now.microsecondsSinceEpoch)
    }

    /// Records a trust anchor as a signer (registered at 0) unless the key is known already.
    package func seed(_ anchor: TrustAnchor) throws {
        try db.run(
            "INSERT OR IGNORE INTO signers (key_id, name, role, registered_at) VALUES (?, ?, ?, 0)", anchor.keyID,
            anchor.name, anchor.role.rawValue)
    }

    // MARK: - Applying events

    package func apply(_ event: StoredEvent) throws {
        try applyToViews(event)
        try recordInTimeline(event)
        try recordMovement(event)
    }

    private func applyToViews(_ event: StoredEvent) throws {
        let payload = event.payload
        let time = payload.occurredAt.microsecondsSinceEpoch
        switch payload.data {
        case .keyRegistered(let body):
            try db.run(
                "INSERT OR REPLACE INTO signers (key_id, name, role, registered_at) VALUES (?, ?, ?, ?)", body.keyID,
                body.name, body.role.rawValue, event.position)
        case .keyRevoked(let body):
            try db.run("UPDATE signers SET revoked_at = ? WHERE key_id = ?", event.position, body.keyID)
        case .participantEnrolled(let body):
            guard let code = payload.participant else { break }
            try db.run(
                """
                INSERT INTO participants (code, enrolled_at, site, time_zone) VALUES (?1, ?2, ?3, ?4)
                ON CONFLICT (code) DO UPDATE SET enrolled_at = ?2, site = ?3, time_zone = ?4
                """, code, time, body.site, body.timeZone)
            try db.run("DELETE FROM medications WHERE participant = ?", code)
            for medication in body.medications {
                try db.run(
                    "INSERT OR REPLACE INTO medications (participant, name, serotonergic, since) VALUES (?, ?, ?, ?)",
                    code, medication.name, medication.serotonergic, time)
            }
        case .participantMedicationChanged(let body):
            guard let code = payload.participant else { break }
            try ensureParticipant(code)
            switch body.action {
            case .started:
                try db.run(
                    "INSERT OR REPLACE INTO medications (participant, name, serotonergic, since) VALUES (?, ?, ?, ?)",
                    code, body.name, body.serotonergic, time)
            case .stopped:
                try db.run("DELETE FROM medications WHERE participant = ? AND name = ?", code, body.name)
            }
        case .sessionStarted(let body):
            guard let id = try ensureSession(event) else { break }
            try db.run(
                "UPDATE sessions SET number = ?, started_at = ?, started_event = ? WHERE id = ?", body.number, time,
                payload.id, id)
            try scheduleFollowUp(session: id)
        case .sessionEnded:
            guard let id = try ensureSession(event) else { break }
            try db.run("UPDATE sessions SET ended_at = ? WHERE id = ?", time, id)
        case .inventoryReceived(let body):
            try ensureLot(body.lot, at: time)
            try db.run(
                """
                UPDATE lots SET received = received + ?, substance = COALESCE(substance, ?),
                first_receipt_at = COALESCE(first_receipt_at, ?), first_receipt_event = COALESCE(first_receipt_event, ?)
                WHERE lot = ?
                """, body.quantity.micrograms, body.substance, time, payload.id, body.lot)
            try scheduleInventory(lot: body.lot)
        case .doseDispensed(let body):
            try ensureLot(body.lot, at: time)
            try takeFromLot(body.lot, dispensed: body.dose.micrograms)
            if let id = try ensureSession(event) {
                try db.run(
                    "INSERT INTO doses (session, at, position, event_id, dose, kind, lot) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    id, time, event.position, payload.id, body.dose.micrograms, body.kind.rawValue, body.lot)
            }
        case .doseWasted(let body):
            try ensureLot(body.lot, at: time)
            try takeFromLot(body.lot, wasted: body.quantity.micrograms)
        case .inventoryDestroyed(let body):
            try ensureLot(body.lot, at: time)
            try takeFromLot(body.lot, destroyed: body.quantity.micrograms)
        case .inventoryLossReported(let body):
            try ensureLot(body.lot, at: time)
            try takeFromLot(body.lot, lost: body.quantity.micrograms)
            // A loss id names one loss: a second report under the same id still takes its quantity from the
            // lot (the record shows what was reported), while the register and its clock keep the first.
            try db.run(
                """
                INSERT OR IGNORE INTO losses (loss_id, lot, quantity, kind, discovered_at, reported_position,
                reported_event) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, body.lossId, body.lot, body.quantity.micrograms, body.kind.rawValue,
                body.discoveredAt.microsecondsSinceEpoch, event.position, payload.id)
            try scheduleLossReport(body.lossId)
        case .inventoryLossReportFiled(let body):
            try db.run(
                """
                UPDATE losses SET reference = ?, filed_at = ?, filed_position = ? WHERE loss_id = ? AND reference IS NULL
                """, body.reference, body.filedAt.microsecondsSinceEpoch, event.position, body.lossId)
            try scheduleLossReport(body.lossId)
        case .inventoryCounted(let body):
            try ensureLot(body.lot, at: time)
            try db.run(
                """
                UPDATE lots SET count_counted = ?, count_expected = received - dispensed - wasted - destroyed - lost,
                count_at = ?, count_position = ?, count_witnessed = ?, count_event = ? WHERE lot = ?
                """, body.counted.micrograms, time, event.position, event.witnessCount > 0, payload.id, body.lot)
            try scheduleInventory(lot: body.lot)
        case .vitalsRecorded(let body):
            guard let id = try ensureSession(event), let participant = payload.participant else { break }
            try db.run(
                """
                INSERT INTO vitals (session, at, position, participant, systolic, diastolic, heart_rate, temperature, spo2)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, id, time, event.position, participant, body.systolic, body.diastolic, body.heartRate,
                body.temperatureC, body.spo2)
        case .adverseEventReported(let body):
            guard let code = payload.participant else { break }
            try ensureParticipant(code)
            try db.run(
                """
                INSERT OR REPLACE INTO adverse_events (participant, ae_id, term, onset, severity, serious, criteria,
                expected, suspected, aware_at, session, reported_position, reported_event, open)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, code, body.aeId, body.term, body.onset.daysSinceEpoch, body.severity, body.serious,
                body.criteria.map(\.rawValue).joined(separator: ","), body.expected, body.suspected,
                body.awareAt.microsecondsSinceEpoch, payload.session, event.position, payload.id,
                body.serious && !body.expected && body.suspected)
            if payload.session != nil, let id = try ensureSession(event) {
                try db.run(
                    "INSERT OR IGNORE INTO session_adverse_events (session, ae_id, position) VALUES (?, ?, ?)", id,
                    body.aeId, event.position)
            }
            try scheduleReport(participant: code, aeId: body.aeId)
        case .adverseEventUpdated(let body):
            guard let code = payload.participant, let view = try tables.adverseEvent(participant: code, aeId: body.aeId)
            else { break }
            try update(view.updated(by: body))
        case .adverseEventSubmitted(let body):
            guard let code = payload.participant, let view = try tables.adverseEvent(participant: code, aeId: body.aeId)
            else { break }
            try update(view.submitted(body))
        case .moodCheckCompleted(let body):
            guard let session = payload.session, let code = payload.participant else { break }
            try ensureParticipant(code)
            try db.run(
                "INSERT OR IGNORE INTO participant_sessions (participant, session, position) VALUES (?, ?, ?)", code,
                session, event.position)
            try db.run(
                """
                INSERT INTO mood_checks (session, position, participant, day, at, phq9_total, phq9_item9,
                cssrs_high_risk, mood) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, session, event.position, code, body.day, time, body.phq9?.reduce(0, +), body.phq9?.last,
                body.cssrs.map { $0.q4 == true || $0.q5 == true || $0.q6 }, body.mood)
            try scheduleFollowUp(session: session)
        case .alertRaised(let body):
            let participant = body.participant ?? payload.participant
            if let participant { try ensureParticipant(participant) }
            try db.run(
                """
                INSERT OR REPLACE INTO alerts (alert_id, position, rule, severity, participant, session, causes, message,
                raised_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')
                """, body.alertId, event.position, body.rule.rawValue, body.severity.rawValue, participant,
                payload.session, Data(body.causes.flatMap(\.bytes)), body.message, time)
            try db.run("DELETE FROM outbox WHERE alert_id = ?", body.alertId)
            raisedAlerts.append(AlertView(raised: body, payload: payload, position: event.position))
            try deadlineRaised(body.alertId)
        case .alertAcknowledged(let body):
            try act(on: body.note, event: event, resolving: false)
        case .alertResolved(let body):
            try act(on: body.note, event: event, resolving: true)
        }
    }

    /// Files the event under the participant it concerns: the one it names, or for an alert's handling, the
    /// alert's participant.
    private func recordInTimeline(_ event: StoredEvent) throws {
        let participant: String?
        switch event.payload.data {
        case .alertRaised(let body): participant = body.participant ?? event.payload.participant
        case .alertAcknowledged(let body): participant = try alertParticipant(body.note.alertId)
        case .alertResolved(let body): participant = try alertParticipant(body.note.alertId)
        default: participant = event.payload.participant
        }
        guard let participant else { return }
        try db.run("INSERT OR IGNORE INTO timeline (participant, position) VALUES (?, ?)", participant, event.position)
    }

    private func alertParticipant(_ alert: EventID) throws -> String? {
        try db.value(String.self, "SELECT participant FROM alerts WHERE alert_id = ?", alert)
    }

    /// Records a change of a lot's perpetual balance, with the balance after it; a count records what was counted.
    private func recordMovement(_ event: StoredEvent) throws {
        let lot: String
        var change: Int64 = 0
        var counted: Int64?
        switch event.payload.data {
        case .inventoryReceived(let body): (lot, change) = (body.lot, body.quantity.micrograms)
        case .doseDispensed(let body): (lot, change) = (body.lot, -body.dose.micrograms)
        case .doseWasted(let body): (lot, change) = (body.lot, -body.quantity.micrograms)
        case .inventoryDestroyed(let body): (lot, change) = (body.lot, -body.quantity.micrograms)
        case .inventoryLossReported(let body): (lot, change) = (body.lot, -body.quantity.micrograms)
        case .inventoryCounted(let body): (lot, counted) = (body.lot, body.counted.micrograms)
        default: return
        }
        try db.run(
            """
            INSERT OR IGNORE INTO lot_movements (lot, position, at, change, balance, counted)
            SELECT lot, ?, ?, ?, received - dispensed - wasted - destroyed - lost, ? FROM lots WHERE lot = ?
            """, event.position, event.payload.occurredAt.microsecondsSinceEpoch, change, counted, lot)
    }

    private func ensureParticipant(_ code: String) throws {
        guard ensuredParticipants.insert(code).inserted else { return }
        try db.run("INSERT OR IGNORE INTO participants (code) VALUES (?)", code)
    }

    /// The event's session (created if unknown) linked to its participant; nil without both.
    private func ensureSession(_ event: StoredEvent) throws -> String? {
        guard let id = event.payload.session, let participant = event.payload.participant else { return nil }
        guard ensuredSessions.insert(SessionLink(participant: participant, session: id)).inserted else { return id }
        try ensureParticipant(participant)
        try db.run("INSERT OR IGNORE INTO sessions (id, participant) VALUES (?, ?)", id, participant)
        try db.run(
            "INSERT OR IGNORE INTO participant_sessions (participant, session, position) VALUES (?, ?, ?)",
            participant, id, event.position)
        return id
    }

    private func ensureLot(_ lot: String, at time: Int64) throws {
        try db.run(
            """
            INSERT INTO lots (lot, last_activity) VALUES (?1, ?2)
            ON CONFLICT (lot) DO UPDATE SET last_activity = MAX(COALESCE(last_activity, ?2), ?2)
            """, lot, time)
    }

    /// Takes a quantity from a lot; a lot left with nothing on hand needs no biennial count any more.
    private func takeFromLot(
        _ lot: String, dispensed: Int64 = 0, wasted: Int64 = 0, destroyed: Int64 = 0, lost: Int64 = 0
    ) throws {
        let onHand = try db.value(
            Int64.self,
            """
            UPDATE lots SET dispensed = dispensed + ?, wasted = wasted + ?, destroyed = destroyed + ?, lost = lost + ?
            WHERE lot = ? RETURNING received - dispensed - wasted - destroyed - lost
            """, dispensed, wasted, destroyed, lost, lot)
        if let onHand, onHand <= 0 { try clearDeadline(.inventory, participant: nil, lot) }
    }

    private func update(_ view: AdverseEventView) throws {
        try db.run(
            """
            UPDATE adverse_events SET term = ?, onset = ?, severity = ?, serious = ?, criteria = ?, expected = ?,
            suspected = ?, aware_at = ?, outcome = ?, submitted_at = ?, reference = ?, open = ?
            WHERE participant = ? AND ae_id = ?
            """, view.term, view.onset.daysSinceEpoch, view.severity, view.serious,
            view.criteria.map(\.rawValue).joined(separator: ","), view.expected, view.suspected,
            view.awareAt.microsecondsSinceEpoch, view.outcome?.rawValue, view.submittedAt?.microsecondsSinceEpoch,
            view.reference, view.open, view.participant, view.aeId)
        try scheduleReport(participant: view.participant, aeId: view.aeId)
    }

    /// Records an acknowledgement or a resolution, once each, by the author of `event`.
    private func act(on note: AlertNote, event: StoredEvent, resolving: Bool) throws {
        let prefix = resolving ? "resolve" : "ack"
        let status = resolving ? "'resolved'" : "CASE status WHEN 'open' THEN 'acknowledged' ELSE status END"
        try db.run(
            """
            UPDATE alerts SET \(prefix)_key = ?, \(prefix)_name = ?, \(prefix)_at = ?, \(prefix)_note = ?,
            \(prefix)_position = ?, status = \(status) WHERE alert_id = ? AND \(prefix)_key IS NULL
            """, event.author, try tables.signerName(event.author), event.payload.occurredAt.microsecondsSinceEpoch,
            note.note, event.position, note.alertId)
        if db.changesCount > 0, let view = try tables.alert(note.alertId) { updatedAlerts.append(view) }
    }

    // MARK: - Outbox

    /// Records an alert the rules decided on, to be signed and appended once this flush commits. With `stored`,
    /// the log holds it already (a replay met it again): it only keeps its place until it is projected.
    package func enqueue(alert payload: EventPayload, rule: AlertRule, severity: AlertSeverity, stored: Bool) throws {
        try db.run(
            "INSERT OR IGNORE INTO outbox (alert_id, rule, severity, session, payload, stored) VALUES (?, ?, ?, ?, ?, ?)",
            payload.id, rule.rawValue, severity.rawValue, payload.session, Data(payload.jsonBytes), stored)
        if !stored { decidedAlerts.append(payload) }
    }

    // MARK: - Deadlines

    /// Derives every deadline again from the views (after the settings they depend on changed).
    package func rescheduleAll() throws {
        try db.execute(sql: "DELETE FROM deadlines")
        for id in try db.rows("SELECT id FROM sessions WHERE started_at IS NOT NULL", row: { $0[0] as String }) {
            try scheduleFollowUp(session: id)
        }
        let open = try db.rows("SELECT participant, ae_id FROM adverse_events WHERE open = 1") {
            (participant: $0[0] as String, aeId: $0[1] as String)
        }
        for event in open { try scheduleReport(participant: event.participant, aeId: event.aeId) }
        for lot in try db.rows("SELECT lot FROM lots", row: { $0[0] as String }) { try scheduleInventory(lot: lot) }
        for loss in try db.rows("SELECT loss_id FROM losses WHERE reference IS NULL", row: { $0[0] as String }) {
            try scheduleLossReport(loss)
        }
    }

    private func setDeadline(
        _ kind: ViewTables.Deadline.Kind, participant: String?, _ subject: String, day: Int? = nil, due: Timestamp,
        alert: EventID
    ) throws {
        try db.run(
            """
            INSERT OR REPLACE INTO deadlines (key, kind, participant, subject, day, due_at, alert_id)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, ViewTables.Deadline.key(kind, participant: participant, subject), kind.rawValue, participant, subject,
            day, due.microsecondsSinceEpoch, alert)
    }

    private func clearDeadline(_ kind: ViewTables.Deadline.Kind, participant: String?, _ subject: String) throws {
        try db.run(
            "DELETE FROM deadlines WHERE key = ?", ViewTables.Deadline.key(kind, participant: participant, subject))
    }

    /// The first follow-up day of a started session with neither a mood check nor a missed-follow-up alert.
    private func scheduleFollowUp(session id: String) throws {
        guard let session = try tables.session(id) else { return }
        guard settings.followUpDays > 0, let started = session.startedAt, session.startedEvent != nil else {
            return try clearDeadline(.followUp, participant: session.participant, id)
        }
        let schedule = settings.followUp(participantZone: try tables.participant(session.participant)?.timeZone)
        let checked = Set(try tables.moodChecks(session: id, participant: session.participant).map(\.day))
        for day in 1...settings.followUpDays where !checked.contains(day) {
            let alert = AlertIdentity.alertID(AlertIdentity.missedFollowUp(session: id, day: day))
            guard try !tables.isKnown(alert: alert) else { continue }
            return try setDeadline(
                .followUp, participant: session.participant, id, day: day,
                due: schedule.end(of: day, sessionStart: started), alert: alert)
        }
        try clearDeadline(.followUp, participant: session.participant, id)
    }

    /// The reminder and the due date of an open expedited report, until each is raised or the report filed.
    private func scheduleReport(participant: String, aeId: String) throws {
        func clear() throws {
            try clearDeadline(.reportReminder, participant: participant, aeId)
            try clearDeadline(.reportOverdue, participant: participant, aeId)
        }
        guard let view = try tables.adverseEvent(participant: participant, aeId: aeId), view.open,
            let days = view.reportDays, let due = view.reportDueAt
        else { return try clear() }
        let overdue = AlertIdentity.alertID(AlertIdentity.expeditedReport(adverseEvent: view.key, overdue: true))
        if try tables.isKnown(alert: overdue) { return try clear() }
        try setDeadline(.reportOverdue, participant: participant, aeId, due: due, alert: overdue)
        let reminder = AlertIdentity.alertID(AlertIdentity.expeditedReport(adverseEvent: view.key, overdue: false))
        if try tables.isKnown(alert: reminder) {
            return try clearDeadline(.reportReminder, participant: participant, aeId)
        }
        let reminderDay =
            days == 7 ? settings.reminderDayForSevenDayReports : settings.reminderDayForFifteenDayReports
        try setDeadline(
            .reportReminder, participant: participant, aeId,
            due: view.awareAt.adding(seconds: Int64(reminderDay) * 86_400), alert: reminder)
    }

    /// The biennial count of a lot with stock, counted from its last count or its first receipt.
    private func scheduleInventory(lot: String) throws {
        guard let clock = try tables.inventoryClock(lot), clock.onHand.micrograms > 0, let since = clock.since else {
            return try clearDeadline(.inventory, participant: nil, lot)
        }
        let alert = AlertIdentity.alertID(AlertIdentity.inventoryOverdue(lot: lot, since: since.event))
        if try tables.isKnown(alert: alert) { return try clearDeadline(.inventory, participant: nil, lot) }
        try setDeadline(
            .inventory, participant: nil, lot,
            due: since.at.adding(seconds: Int64(settings.inventoryOverdueDays) * 86_400),
            alert: alert)
    }

    /// The DEA Form 106 report of a theft or loss: due by the end of the business day after its discovery (in the
    /// clinic's zone), until a reference is recorded or the overdue alert is raised.
    private func scheduleLossReport(_ lossId: String) throws {
        guard let loss = try tables.loss(lossId), loss.reference == nil else {
            return try clearDeadline(.lossReport, participant: nil, lossId)
        }
        let alert = AlertIdentity.alertID(AlertIdentity.lossReport(lossId: lossId, overdue: true))
        if try tables.isKnown(alert: alert) { return try clearDeadline(.lossReport, participant: nil, lossId) }
        try setDeadline(
            .lossReport, participant: nil, lossId,
            due: settings.lossReportDue(discoveredAt: loss.discoveredAt), alert: alert)
    }

    /// An alert was projected: the deadline it answered moves on.
    private func deadlineRaised(_ alert: EventID) throws {
        let rows = try db.rows("SELECT kind, participant, subject FROM deadlines WHERE alert_id = ?", alert) {
            (kind: $0[0] as String, participant: $0[1] as String?, subject: $0[2] as String)
        }
        for (kind, participant, subject) in rows {
            switch ViewTables.Deadline.Kind(rawValue: kind) {
            case .followUp: try scheduleFollowUp(session: subject)
            case .reportReminder, .reportOverdue:
                if let participant { try scheduleReport(participant: participant, aeId: subject) }
            case .inventory: try scheduleInventory(lot: subject)
            case .lossReport: try scheduleLossReport(subject)
            case nil: break
            }
        }
    }
}
