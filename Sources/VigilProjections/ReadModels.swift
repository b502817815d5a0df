package import VigilModel

/// Answers the read API from the views on disk: each answer is read in one transaction (one checkpoint, named
/// in `asOf`), through indexes, and what depends on the time of the question (the follow-up grid) is judged
/// with the settings in force when it is asked.
package struct ReadModels: Sendable {
    package let database: ProjectionDatabase
    let settings: Reloadable<RuleSettings>

    package init(database: ProjectionDatabase, settings: Reloadable<RuleSettings> = Reloadable(.default)) {
        self.database = database
        self.settings = settings
    }

    /// Alerts in log order, a page of at most `limit` raised after `after`; `next` asks for the following page.
    package func alerts(
        status: AlertView.Status?, participant: String? = nil, rule: AlertRule? = nil, severity: AlertSeverity? = nil,
        after: Int64 = 0, limit: Int = 200
    ) async throws -> AlertList {
        try await database.read { views in
            var alerts = try views.alerts(
                status: status, participant: participant, rule: rule, severity: severity, after: after,
                limit: limit + 1)
            let more = alerts.count > limit
            if more { alerts.removeLast() }
            return AlertList(
                alerts: alerts, asOf: try views.checkpoint().position, next: more ? alerts.last?.position : nil)
        }
    }

    /// Alerts raised after a log position, in log order (for a live stream that reconnects).
    /// The alerts whose id begins with `prefix` (lowercase hex, no dashes), at most `limit`.
    package func alerts(idPrefix prefix: String, limit: Int) async throws -> [AlertView] {
        try await database.read { try $0.alerts(idPrefix: prefix, limit: limit) }
    }

    /// One alert by its id.
    package func alert(_ id: EventID) async throws -> AlertView? {
        try await database.read { try $0.alert(id) }
    }

    package func alerts(after position: Int64) async throws -> [AlertView] {
        try await database.read { try $0.alerts(after: position) }
    }

    /// The most pressing open alerts (most severe, then longest waiting), at most `limit`, without `rules`.
    package func mostPressingOpenAlerts(excluding rules: [AlertRule] = [], limit: Int) async throws -> [AlertView] {
        try await database.read { try $0.mostPressingOpenAlerts(excluding: rules, limit: limit) }
    }

    /// How many alerts of each severity wait for an officer (neither acknowledged nor resolved).
    package func openAlertCounts() async throws -> [AlertSeverity: Int] {
        try await database.read { try $0.openAlertCounts() }
    }

    /// Participants in code order: a page of at most `limit` after `code`.
    package func participants(after code: String = "", limit: Int) async throws -> [ViewTables.ParticipantRecord] {
        try await database.read { try $0.participants(after: code, limit: limit) }
    }

    /// The log positions of a participant's events, newest first (a page of at most `limit` before `position`).
    package func timeline(of participant: String, before position: Int64 = .max, limit: Int) async throws -> [Int64] {
        try await database.read { try $0.timeline(of: participant, before: position, limit: limit) }
    }

    /// A lot's running balance, newest first (a page of at most `limit` before `position`).
    package func movements(
        of lot: String, before position: Int64 = .max, limit: Int
    ) async throws
        -> [ViewTables.LotMovement]
    {
        try await database.read { try $0.movements(of: lot, before: position, limit: limit) }
    }

    /// One lot, if the log names it.
    package func lot(_ lot: String) async throws -> LotView? {
        try await database.read { try $0.lot(lot) }
    }

    /// The printed names behind key ids (Part 11, 11.50), for the keys given.
    package func signers(_ keys: Set<KeyID>) async throws -> [KeyID: SignerView] {
        try await database.read { views in
            var found: [KeyID: SignerView] = [:]
            for key in keys { found[key] = try views.signer(key) }
            return found
        }
    }

    package func inventory() async throws -> LotList {
        try await database.read { views in
            LotList(lots: try views.lots(), losses: try views.losses(), asOf: try views.checkpoint().position)
        }
    }

    package func adverseEvents(openOnly: Bool) async throws -> AdverseEventList {
        try await database.read { views in
            AdverseEventList(
                adverseEvents: try views.adverseEvents(openOnly: openOnly), asOf: try views.checkpoint().position)
        }
    }

    package func session(_ id: String) async throws -> SessionView? {
        try await database.read { try $0.sessionView(id) }
    }

    /// A participant, with the follow-up grid as of `now`.
    package func participant(_ code: String, now: Timestamp) async throws -> ParticipantView? {
        let settings = settings.value
        return try await database.read { try $0.participantView(code, settings: settings, now: now) }
    }
}
