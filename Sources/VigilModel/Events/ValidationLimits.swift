/// Plausibility limits applied when an event is accepted.
///
/// The physical ranges (blood pressure, temperature and so on) are fixed: a value outside them is a typo or
/// a broken device, never a reading. The dose and quantity ceilings and the clock skew are configurable.
package struct ValidationLimits: Sendable, Equatable {
    /// The largest single dose accepted, in mg (`limits.maxDoseMg`). Default 250 mg, above the largest
    /// phase 3 session total (180 mg); the regimen rule alerts well before it.
    package var maxDose: Milligrams
    /// The largest quantity accepted in one inventory event, in mg (`limits.maxQuantityMg`). Default 1 kg.
    package var maxQuantity: Milligrams
    /// How far in the future `occurredAt` may lie, in seconds (`limits.maxFutureSkewSeconds`). Default 300.
    package var maxFutureSkewSeconds: Int64

    package init(
        maxDose: Milligrams = Milligrams(250),
        maxQuantity: Milligrams = Milligrams(1_000_000),
        maxFutureSkewSeconds: Int64 = 300
    ) {
        self.maxDose = maxDose
        self.maxQuantity = maxQuantity
        self.maxFutureSkewSeconds = maxFutureSkewSeconds
    }

    package static let `default` = ValidationLimits()

    package static let systolicRange: ClosedRange<Double> = 40...300
    package static let diastolicRange: ClosedRange<Double> = 20...200
    package static let heartRateRange: ClosedRange<Double> = 20...300
    package static let temperatureRange: ClosedRange<Double> = 30...45
    package static let spo2Range: ClosedRange<Double> = 50...100
    package static let sessionNumberRange: ClosedRange<Int> = 1...99
    package static let followUpDayRange: ClosedRange<Int> = 0...90
    package static let moodRange: ClosedRange<Int> = 0...10
    package static let ctcaeGradeRange: ClosedRange<Int> = 1...5
}

/// What a payload is checked against: the limits, and the current time for the future-skew check.
package struct ValidationContext: Sendable {
    package var limits: ValidationLimits
    /// The time of receipt; nil when replaying stored events, whose times were checked when they arrived.
    package var now: Timestamp?

    package init(limits: ValidationLimits, now: Timestamp?) {
        self.limits = limits
        self.now = now
    }

    /// For reading events already in the log: no skew check and no configurable ceilings, so a later change
    /// of configuration never makes a stored event unreadable.
    package static let replay = ValidationContext(
        limits: ValidationLimits(
            maxDose: Milligrams(micrograms: .max),
            maxQuantity: Milligrams(micrograms: .max),
            maxFutureSkewSeconds: .max
        ),
        now: nil
    )

    /// Refuses a time later than `now` plus the allowed skew.
    func checkNotInFuture(_ time: Timestamp, path: String) throws(FieldError) {
        guard let now, limits.maxFutureSkewSeconds < Int64.max / 1_000_000 else { return }
        if time > now.adding(seconds: limits.maxFutureSkewSeconds) {
            throw FieldError(
                path: path,
                reason: "lies in the future (more than \(limits.maxFutureSkewSeconds) s after the server's clock)"
            )
        }
    }
}
