import Foundation
import Hummingbird
import VigilHTTP
import VigilModel
import VigilProjections

extension Console {
    /// One lot: its balance, a chart of the running balance with the physical counts, and its ledger (every
    /// receipt, dispense, waste, destruction, loss and count, newest first, with who signed and witnessed it).
    func lot(_ lot: String, _ request: Request, _ viewer: ConsoleSessions.Session) async throws -> Response {
        guard let view = try await readModels.lot(lot) else {
            throw APIError(.notFound, code: "not_found", "no lot with that code")
        }
        let before = try VigilAPI.integerParameter(
            request.uri.queryParameters["before"], name: "before", default: .max, range: 1...Int64.max)
        let pageSize = 100
        let movements = try await readModels.movements(of: lot, before: before, limit: pageSize)
        let events = try await eventRows(at: movements.map(\.position))
        struct Movement {
            let event: EventRow
            let change: String
            let balance: String
            let counted: String
            let discrepancy: Bool
        }
        struct Model {
            let lot: String
            let substance: String
            let onHand: String
            let received: String
            let taken: String
            let chart: String
            let movements: [Movement]
            let older: String?
            let from: String
            let to: String
        }
        let taken = view.dispensedMg + view.wastedMg + view.destroyedMg + view.lostMg
        let today = CalendarDate(daysSinceEpoch: clock.now().microsecondsSinceEpoch.floorDivided(by: 86_400_000_000))
        let model = Model(
            lot: view.lot, substance: view.substance ?? "", onHand: Format.mg(view.onHandMg),
            received: Format.mg(view.receivedMg), taken: Format.mg(taken),
            chart: BalanceChart(movements: Array(movements.reversed())).svg,
            movements: zip(movements, events).map { movement, event in
                Movement(
                    event: event,
                    change: movement.counted == nil
                        ? (movement.change > Milligrams(0) ? "+" : "") + Format.mg(movement.change) : "",
                    balance: Format.mg(movement.balance), counted: movement.counted.map(Format.mg) ?? "",
                    discrepancy: movement.counted.map { $0 != movement.balance } ?? false)
            },
            older: movements.count == pageSize
                ? "/console/lots/\(Format.pathComponent(lot))?before=\(movements.last!.position)" : nil,
            from: CalendarDate(daysSinceEpoch: today.daysSinceEpoch - 90).iso8601, to: today.iso8601)
        return page("lot", title: "Lot \(view.lot)", model: model, viewer: viewer, current: "/console/inventory")
    }
}
