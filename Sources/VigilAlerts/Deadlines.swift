public import VigilModel
public import VigilProjections

/// The time-driven rules: deadlines derived from the read models, judged against the wall clock.
///
/// Every deadline is a function of the log (a session's start, an adverse event's Day 0, a lot's last count),
/// so after a restart or a rebuild the same deadlines come out, and each alert keeps the identity and the
/// time of its deadline: none is lost, none is raised twice.
public enum Deadlines {
    public static func due(state: ProjectionState, now: Timestamp, settings: RuleSettings) -> [AlertCandidate] {
        var found: [AlertCandidate] = []
        found += missedFollowUps(state: state, now: now, settings: settings)
        found += expeditedReports(state: state, now: now, settings: settings)
        found += overdueInventories(state: state, now: now, settings: settings)
        return found
    }

    static let day: Int64 = 86_400_000_000

    /// A day d after a session is over at the clinic's midnight ending the session's date + d.
    static func missedFollowUps(state: ProjectionState, now: Timestamp, settings: RuleSettings) -> [AlertCandidate] {
        guard settings.followUpDays > 0 else { return [] }
        let offset = Int64(settings.utcOffsetMinutes) * 60_000_000
        var found: [AlertCandidate] = []
        for session in state.sessions.values {
            guard let started = session.startedAt, let cause = session.startedEventID else { continue }
            let sessionDay = (started.microsecondsSinceEpoch + offset).floorDivided(by: day)
            let checked = Set(state.participants[session.participant]?.moodChecks[session.id]?.map(\.day) ?? [])
            for followUp in 1...settings.followUpDays where !checked.contains(followUp) {
                let end = Timestamp(microsecondsSinceEpoch: (sessionDay + Int64(followUp) + 1) * day - offset)
                guard now >= end else { break }
                let date = CalendarDate(daysSinceEpoch: sessionDay + Int64(followUp))
                found.append(
                    AlertCandidate(
                        rule: .missedFollowUp, severity: .warn, participant: session.participant, session: session.id,
                        causes: [cause],
                        message: "no mood check for day \(followUp) after session \(session.id) (\(date.iso8601))",
                        at: end,
                        identity: "\(AlertRule.missedFollowUp.rawValue)|\(session.id)|\(followUp)"
                    )
                )
            }
        }
        return found
    }

    /// Reminders before an expedited report is due, and overdue once the day has passed unreported.
    static func expeditedReports(state: ProjectionState, now: Timestamp, settings: RuleSettings) -> [AlertCandidate] {
        var found: [AlertCandidate] = []
        for event in state.adverseEvents.values where event.isOpen {
            guard let days = event.reportDays, let due = event.reportDueAt else { continue }
            let reminderDay =
                days == 7 ? settings.reminderDayForSevenDayReports : settings.reminderDayForFifteenDayReports
            let reminder = event.awareAt.adding(seconds: Int64(reminderDay) * 86_400)
            if now >= due {
                found.append(
                    AlertCandidate(
                        rule: .expeditedReportDue, severity: .critical, participant: event.participant, session: nil,
                        causes: [event.reportedEventID],
                        message:
                            "expedited safety report for \(event.aeId) (\(event.term)) is overdue: due \(due.rfc3339), Day 0 \(event.awareAt.rfc3339)",
                        at: due, identity: "\(AlertRule.expeditedReportDue.rawValue)|\(event.key)|overdue"
                    )
                )
            } else if now >= reminder {
                found.append(
                    AlertCandidate(
                        rule: .expeditedReportDue, severity: .urgent, participant: event.participant, session: nil,
                        causes: [event.reportedEventID],
                        message:
                            "expedited safety report for \(event.aeId) (\(event.term)) is due by \(due.rfc3339) (\(days)-day clock, Day 0 \(event.awareAt.rfc3339))",
                        at: reminder, identity: "\(AlertRule.expeditedReportDue.rawValue)|\(event.key)|reminder"
                    )
                )
            }
        }
        return found
    }

    /// A lot with stock and no physical count for longer than the biennial period.
    static func overdueInventories(state: ProjectionState, now: Timestamp, settings: RuleSettings) -> [AlertCandidate] {
        var found: [AlertCandidate] = []
        for lot in state.lots.values where lot.onHand.micrograms > 0 {
            let since: (at: Timestamp, eventID: EventID)? =
                lot.lastCount.map { ($0.at, $0.eventID) } ?? lot.firstReceipt
            guard let since else { continue }
            let due = since.at.adding(seconds: Int64(settings.inventoryOverdueDays) * 86_400)
            guard now >= due else { continue }
            found.append(
                AlertCandidate(
                    rule: .inventoryOverdue, severity: .warn, participant: nil, session: nil, causes: [since.eventID],
                    message:
                        "lot \(lot.lot): no physical count since \(since.at.rfc3339) (\(settings.inventoryOverdueDays) days)",
                    at: due,
                    identity: "\(AlertRule.inventoryOverdue.rawValue)|\(lot.lot)|\(since.eventID)"
                )
            )
        }
        return found
    }
}
