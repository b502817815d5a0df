public import VigilModel

/// Answers the read API from the views on disk, adding what depends on the time of the question.
public struct ReadModels: Sendable {
    public let database: ProjectionDatabase
    /// The position the views reflect, for `asOf` in answers.
    let position: @Sendable () -> Int64
    /// Days of the follow-up grid end at midnight at this offset from UTC (the clinic's zone).
    public var utcOffsetSeconds: Int64

    public init(database: ProjectionDatabase, utcOffsetSeconds: Int64 = 0, position: @escaping @Sendable () -> Int64) {
        self.database = database
        self.utcOffsetSeconds = utcOffsetSeconds
        self.position = position
    }

    private func wrap(_ name: String, _ values: [JSONValue]) -> JSONValue {
        .object(JSONObject([name: .array(values), "asOf": .number(JSONNumber(position()))]))
    }

    public func alerts(status: AlertView.Status?, participant: String? = nil) async throws -> JSONValue {
        var conditions: [String] = []
        var arguments: [String] = []
        if let status {
            conditions.append("status = ?")
            arguments.append(status.rawValue)
        }
        if let participant {
            conditions.append("participant = ?")
            arguments.append(participant)
        }
        let documents = try await database.documents(
            .alerts, where: conditions.isEmpty ? "1" : conditions.joined(separator: " AND "), arguments: arguments,
            orderBy: "position"
        )
        return wrap("alerts", documents)
    }

    public func inventory() async throws -> JSONValue {
        wrap("lots", try await database.documents(.inventory))
    }

    public func adverseEvents(openOnly: Bool) async throws -> JSONValue {
        let documents = try await database.documents(.adverseEvents, where: openOnly ? "open = 1" : "1", arguments: [])
        return wrap("adverseEvents", documents)
    }

    public func session(_ id: String) async throws -> JSONValue? {
        guard case .object(var object)? = try await database.document(.sessions, key: id) else { return nil }
        object["asOf"] = .number(JSONNumber(position()))
        return .object(object)
    }

    /// A participant, with the follow-up grid of days 1-7 after each session as of `now`.
    public func participant(_ code: String, now: Timestamp) async throws -> JSONValue? {
        guard case .object(var object)? = try await database.document(.participants, key: code) else { return nil }
        var grid: [JSONValue] = []
        if case .array(let sessions)? = object["sessions"] {
            for case .string(let id) in sessions {
                guard case .object(let session)? = try await database.document(.sessions, key: id),
                    case .string(let started)? = session["startedAt"], let startedAt = Timestamp(rfc3339: started)
                else { continue }
                var checked = Set<Int>()
                if case .object(let checks)? = object["moodChecks"], case .array(let list)? = checks[id] {
                    for case .object(let check) in list {
                        if case .number(let day)? = check["day"], let value = day.integerValue {
                            checked.insert(Int(value))
                        }
                    }
                }
                grid.append(followUp(session: id, startedAt: startedAt, checked: checked, now: now))
            }
        }
        object["followUp"] = .array(grid)
        object["asOf"] = .number(JSONNumber(position()))
        return .object(object)
    }

    /// Days 1-7 after a session: checked, missing (the day is over with no mood check), due (today) or upcoming.
    func followUp(session: String, startedAt: Timestamp, checked: Set<Int>, now: Timestamp) -> JSONValue {
        let offset = utcOffsetSeconds * 1_000_000
        let startDay = (startedAt.microsecondsSinceEpoch + offset).floorDivided(by: 86_400_000_000)
        let today = (now.microsecondsSinceEpoch + offset).floorDivided(by: 86_400_000_000)
        let days: [JSONValue] = (1...7).map { day in
            let date = startDay + Int64(day)
            let state: String
            if checked.contains(day) {
                state = "checked"
            } else if date < today {
                state = "missing"
            } else if date == today {
                state = "due"
            } else {
                state = "upcoming"
            }
            return .object(
                JSONObject([
                    "day": .number(JSONNumber(day)), "date": .string(CalendarDate(daysSinceEpoch: date).iso8601),
                    "status": .string(state),
                ])
            )
        }
        return .object(JSONObject(["session": .string(session), "days": .array(days)]))
    }
}
