import Crypto

/// The id of an alert, derived from what makes it distinct (its identity: rule, subject, cause or deadline).
///
/// The same identity always gives the same id, so an alert raised again (after a restart, a rebuild, or by a
/// second node) is the same event: the store answers duplicate, never a second alert. The id is a UUIDv8 made
/// from the SHA-256 of `vigil.alert|` and the identity.
package enum AlertIdentity {
    package static func alertID(_ identity: String) -> EventID {
        var bytes = Array(SHA256.hash(data: Array(("vigil.alert|" + identity).utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return EventID(bytes: bytes)!
    }

    /// Day `day` after a session had no mood check by its end.
    package static func missedFollowUp(session: String, day: Int) -> String {
        "\(AlertRule.missedFollowUp.rawValue)|\(session)|\(day)"
    }

    /// An expedited report's reminder (before it is due) or its overdue alert, by the register's key.
    package static func expeditedReport(adverseEvent key: String, overdue: Bool) -> String {
        "\(AlertRule.expeditedReportDue.rawValue)|\(key)|\(overdue ? "overdue" : "reminder")"
    }

    /// A lot without a physical count for the biennial period, counted from the event that started the clock.
    package static func inventoryOverdue(lot: String, since: EventID) -> String {
        "\(AlertRule.inventoryOverdue.rawValue)|\(lot)|\(since)"
    }

    /// A theft or loss's DEA Form 106 report: the reminder raised when it is recorded, or its overdue alert.
    package static func lossReport(lossId: String, overdue: Bool) -> String {
        "\(AlertRule.lossReportDue.rawValue)|\(lossId)|\(overdue ? "overdue" : "reminder")"
    }
}
