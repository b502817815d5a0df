package import VigilModel
package import VigilProjections

/// The time-driven rules: the deadlines the views keep (``ViewTables/Deadline``), judged against the wall clock.
///
/// Every deadline is a function of the log (a session's start, an adverse event's Day 0, a lot's last count)
/// and of the settings, and each alert keeps the identity and the time of its deadline: after a restart or a
/// rebuild the same alerts come out, none lost, none raised twice. Only deadlines that have passed are read,
/// through an index, so the cost follows what is due, not the length of the history.
package enum Deadlines {
    package static func due(views: ViewTables, now: Timestamp, settings: RuleSettings) throws -> [AlertCandidate] {
        var found: [AlertCandidate] = []
        for deadline in try views.deadlines(dueBy: now) {
            switch deadline.kind {
            case .followUp:
                found += try missedFollowUps(deadline, views: views, now: now, settings: settings)
            case .reportReminder, .reportOverdue:
                if let candidate = try expeditedReport(deadline, views: views, now: now, settings: settings) {
                    found.append(candidate)
                }
            case .inventory:
                if let candidate = try overdueInventory(deadline, views: views, settings: settings) {
                    found.append(candidate)
                }
            case .lossReport:
                if let candidate = try overdueLossReport(deadline, views: views) { found.append(candidate) }
            }
        }
        return found
    }

    /// Each day of the session's follow-up that is over with no mood check, from the first one still open.
    static func missedFollowUps(
        _ deadline: ViewTables.Deadline, views: ViewTables, now: Timestamp, settings: RuleSettings
    ) throws -> [AlertCandidate] {
        guard let first = deadline.day, first <= settings.followUpDays,
            let session = try views.session(deadline.subject),
            let started = session.startedAt, let cause = session.startedEvent
        else { return [] }
        let schedule = settings.followUp(participantZone: try views.participant(session.participant)?.timeZone)
        let checked = Set(try views.moodChecks(session: session.id, participant: session.participant).map(\.day))
        var found: [AlertCandidate] = []
        for day in first...schedule.days where !checked.contains(day) {
            let end = schedule.end(of: day, sessionStart: started)
            guard now >= end else { break }
            let date = schedule.date(of: day, sessionStart: started)
            found.append(
                AlertCandidate(
                    rule: .missedFollowUp, severity: .warn, participant: session.participant, session: session.id,
                    causes: [cause],
                    message: "no mood check for day \(day) after session \(session.id) (\(date.iso8601))",
                    at: end, identity: AlertIdentity.missedFollowUp(session: session.id, day: day)))
        }
        return found
    }

    /// A reminder before an expedited report is due, or its overdue alert once the day has passed unreported
    /// (then the reminder is not raised any more).
    static func expeditedReport(
        _ deadline: ViewTables.Deadline, views: ViewTables, now: Timestamp, settings: RuleSettings
    ) throws -> AlertCandidate? {
        guard let participant = deadline.participant,
            let event = try views.adverseEvent(participant: participant, aeId: deadline.subject), event.open,
            let days = event.reportDays, let due = event.reportDueAt
        else { return nil }
        if now >= due {
            guard deadline.kind == .reportOverdue else { return nil }
            return AlertCandidate(
                rule: .expeditedReportDue, severity: .critical, participant: event.participant, session: nil,
                causes: [event.reportedEventId],
                message:
                    "expedited safety report for \(event.aeId) (\(event.term)) is overdue: due \(due.rfc3339), Day 0 \(event.awareAt.rfc3339)",
                at: due, identity: AlertIdentity.expeditedReport(adverseEvent: event.key, overdue: true))
        }
        guard deadline.kind == .reportReminder else { return nil }
        return AlertCandidate(
            rule: .expeditedReportDue, severity: .urgent, participant: event.participant, session: nil,
            causes: [event.reportedEventId],
            message:
                "expedited safety report for \(event.aeId) (\(event.term)) is due by \(due.rfc3339) (\(days)-day clock, Day 0 \(event.awareAt.rfc3339))",
            at: deadline.dueAt, identity: AlertIdentity.expeditedReport(adverseEvent: event.key, overdue: false))
    }

    /// A lot with stock and no physical count for longer than the biennial period.
    static func overdueInventory(
        _ deadline: ViewTables.Deadline, views: ViewTables, settings: RuleSettings
    ) throws -> AlertCandidate? {
        guard let clock = try views.inventoryClock(deadline.subject), clock.onHand.micrograms > 0,
            let since = clock.since
        else { return nil }
        return AlertCandidate(
            rule: .inventoryOverdue, severity: .warn, participant: nil, session: nil, causes: [since.event],
            message:
                "lot \(deadline.subject): no physical count since \(since.at.rfc3339) (\(settings.inventoryOverdueDays) days)",
            at: deadline.dueAt, identity: AlertIdentity.inventoryOverdue(lot: deadline.subject, since: since.event))
    }

    /// A theft or loss still without a DEA Form 106 reference once its business day has passed.
    static func overdueLossReport(_ deadline: ViewTables.Deadline, views: ViewTables) throws -> AlertCandidate? {
        guard let loss = try views.loss(deadline.subject), loss.reference == nil else { return nil }
        return AlertCandidate(
            rule: .lossReportDue, severity: .critical, participant: nil, session: nil, causes: [loss.eventId],
            message:
                "\(loss.kind.rawValue) of \(loss.quantityMg) mg from lot \(loss.lot) (loss \(loss.lossId)) is not reported to the DEA: Form 106 was due by \(deadline.dueAt.rfc3339)",
            at: deadline.dueAt, identity: AlertIdentity.lossReport(lossId: loss.lossId, overdue: true))
    }
}
